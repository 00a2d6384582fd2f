#include "tensor/fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor/error.h"

mrnet_status mrnet_atomic_open(mrnet_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path)
        return mrnet_fail(MRNET_ERR_ARG, "%s: path too long", path);
    strcpy(af->path, path);
    snprintf(af->tmp_path, sizeof af->tmp_path, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp_path, "wb");
    if (!af->f)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot create (writing %s): %s", path, af->tmp_path,
                          strerror(errno));
    return MRNET_OK;
}

void mrnet_atomic_write(mrnet_atomic_file *af, const void *data, size_t n)
{
    if (af->failed || n == 0)
        return;
    if (fwrite(data, 1, n, af->f) != n)
        af->failed = errno ? errno : EIO;
}

mrnet_status mrnet_atomic_commit(mrnet_atomic_file *af)
{
    int err = af->failed;
    if (!err && fflush(af->f) != 0)
        err = errno;
    if (!err && fsync(fileno(af->f)) != 0)
        err = errno;
    if (fclose(af->f) != 0 && !err)
        err = errno;
    af->f = NULL;
    if (!err && rename(af->tmp_path, af->path) != 0)
        err = errno;
    if (err) {
        remove(af->tmp_path);
        return mrnet_fail(MRNET_ERR_IO, "%s: write failed: %s (the previous file, if any, is unchanged)",
                          af->path, strerror(err));
    }
    return MRNET_OK;
}

void mrnet_atomic_abort(mrnet_atomic_file *af)
{
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
    }
    remove(af->tmp_path);
}

mrnet_status read_whole_file(const char *path, size_t max_bytes, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > max_bytes) {
            free(buf);
            fclose(f);
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: larger than %zu bytes", path, max_bytes);
        }
        if (got == 0 || n < cap) {
            if (ferror(f)) {
                free(buf);
                fclose(f);
                return mrnet_fail(MRNET_ERR_IO, "%s: read error", path);
            }
            if (feof(f))
                break;
        }
        if (n == cap) {
            char *bigger = realloc(buf, 2 * cap + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory reading the file", path);
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return MRNET_OK;
}

mrnet_status mrnet_make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return mrnet_fail(MRNET_ERR_ARG, "%s: bad folder name", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        struct stat sb;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return mrnet_fail(MRNET_ERR_IO, "%s: cannot create folder %s: %s", path, buf,
                              strerror(errno));
        if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return mrnet_fail(MRNET_ERR_IO, "%s: %s exists and is not a folder", path, buf);
        *p = saved;
        if (saved == '\0')
            return MRNET_OK;
    }
}
