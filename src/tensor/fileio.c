#include "tensor/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tensor/error.h"

/* ---- safe writes ----------------------------------------------------------------
 *
 * A regular file (or a missing one) is replaced: the bytes go to a fresh
 * temporary ".NAME.tmp.<pid>.<random>" in the target's folder, created with
 * O_CREAT|O_EXCL|O_NOFOLLOW so that nothing planted there (a symlink, a file
 * of another user) is ever followed or reused; commit fsyncs it, renames it
 * over the target and fsyncs the folder, so the new name survives a crash.
 * Anything else that exists at the path is written through, never replaced:
 * a device (/dev/null), a FIFO, a socket's /proc link, or the file open as
 * standard output or error (/dev/stdout with stdout redirected to a file).
 * A symlink to a regular file has its target replaced and stays a link. */

/* 64 unpredictable bits for a temporary's name. */
static unsigned long long random_bits(void)
{
    unsigned long long r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    /* no entropy yet (early boot): the name only has to be fresh, O_EXCL makes it safe */
    static _Atomic unsigned long long counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 30) ^ (uintptr_t)&ts;
    r ^= ++counter * 0x9e3779b97f4a7c15ULL;
    return r * 0xbf58476d1ce4e5b9ULL;
}

/* "dir/name" -> dir ("." when there is no slash) and the start of name. */
static void split_path(const char *path, char *dir, size_t dir_size, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dir_size, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dir_size, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, dir_size, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

/* The pid in a temporary's name of base, or 0 when name is not one: ours
 * ".BASE.tmp.<pid>.<hex>" or the older "BASE.tmp.<pid>". */
static long temporary_pid(const char *name, const char *base)
{
    size_t n = strlen(base);
    const char *rest;
    bool ours = name[0] == '.' && !strncmp(name + 1, base, n) && !strncmp(name + 1 + n, ".tmp.", 5);
    if (ours)
        rest = name + 1 + n + 5;
    else if (!strncmp(name, base, n) && !strncmp(name + n, ".tmp.", 5))
        rest = name + n + 5;
    else
        return 0;
    char *end;
    errno = 0;
    long pid = strtol(rest, &end, 10);
    if (errno || end == rest || pid <= 0 || rest[0] == '-' || rest[0] == '+')
        return 0;
    if (ours) {
        if (*end != '.' || !end[1])
            return 0;
        for (const char *p = end + 1; *p; p++)
            if (!strchr("0123456789abcdef", *p))
                return 0;
        return pid;
    }
    return *end == '\0' ? pid : 0;
}

/* Temporaries of base in dir left by processes that are gone (a kill, a
 * crash): removed. A live pid (or one we may not signal) keeps its file. */
static void remove_stale_temporaries(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        long pid = temporary_pid(e->d_name, base);
        if (pid <= 0 || pid == (long)getpid() || pid != (long)(pid_t)pid)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

void remove_stale_temporaries_of(const char *path)
{
    char dir[4096];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    remove_stale_temporaries(dir, base);
}

static bool same_file(const struct stat *a, int fd)
{
    struct stat b;
    return fstat(fd, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/* Writes straight into what is at the path (device, FIFO, standard stream). */
static mrnet_status open_direct(mrnet_atomic_file *af, const struct stat *sb)
{
    int fd = -1;
    for (int std = STDOUT_FILENO; std <= STDERR_FILENO && fd < 0; std++)
        if (same_file(sb, std)) { /* at the stream's position, after what it holds */
            fflush(std == STDOUT_FILENO ? stdout : stderr);
            fd = fcntl(std, F_DUPFD_CLOEXEC, 3);
            if (fd < 0)
                return mrnet_fail(MRNET_ERR_IO, "%s: cannot write: %s", af->path, strerror(errno));
        }
    if (fd < 0 && (fd = open(af->path, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open for writing: %s", af->path, strerror(errno));
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        close(fd);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", af->path);
    }
    af->direct = 1;
    return MRNET_OK;
}

mrnet_status mrnet_atomic_open(mrnet_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    if (!path || !path[0])
        return mrnet_fail(MRNET_ERR_ARG, "empty output file name");
    if (!strcmp(path, "-"))
        return mrnet_fail(MRNET_ERR_ARG, "-: standard output is not accepted for this output "
                          "(binary, picture or folder): give a file name");
    size_t len = strlen(path);
    if (len >= sizeof af->path)
        return mrnet_fail(MRNET_ERR_ARG, "%s: path too long", path);
    if (path[len - 1] == '/')
        return mrnet_fail(MRNET_ERR_ARG, "%s: names a folder, not a file", path);
    memcpy(af->path, path, len + 1);
    memcpy(af->dest, path, len + 1);
    struct stat lsb, sb;
    bool exists = false;
    if (lstat(path, &lsb) == 0) {
        bool link = S_ISLNK(lsb.st_mode);
        if (stat(path, &sb) != 0)
            return mrnet_fail(MRNET_ERR_IO, "%s: a symbolic link to a missing file (%s): remove "
                              "it or give another name", path, strerror(errno));
        if (S_ISDIR(sb.st_mode))
            return mrnet_fail(MRNET_ERR_IO, "%s: is a folder", path);
        if (!S_ISREG(sb.st_mode) || same_file(&sb, STDOUT_FILENO) || same_file(&sb, STDERR_FILENO))
            return open_direct(af, &sb);
        if (link && !realpath(path, af->dest))
            return mrnet_fail(MRNET_ERR_IO, "%s: cannot resolve the link: %s", path, strerror(errno));
        exists = true;
    } else if (errno != ENOENT) {
        return mrnet_fail(MRNET_ERR_IO, "%s: %s", path, strerror(errno));
    }
    char dir[sizeof af->dest];
    const char *base;
    split_path(af->dest, dir, sizeof dir, &base);
    remove_stale_temporaries(dir, base);
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        int n = snprintf(af->tmp_path, sizeof af->tmp_path, "%.*s.%s.tmp.%ld.%016llx",
                         (int)(base - af->dest), af->dest, base, (long)getpid(), random_bits());
        if (n < 0 || (size_t)n >= sizeof af->tmp_path)
            return mrnet_fail(MRNET_ERR_ARG, "%s: path too long", path);
        fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int err = errno;
        af->tmp_path[0] = '\0';
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot create a temporary in %s: %s", path, dir,
                          strerror(err));
    }
    if (exists) /* the replacement keeps the permissions of what it replaces */
        (void)fchmod(fd, sb.st_mode & 07777);
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        close(fd);
        unlink(af->tmp_path);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    }
    return MRNET_OK;
}

void mrnet_atomic_write(mrnet_atomic_file *af, const void *data, size_t n)
{
    if (af->failed || n == 0)
        return;
    if (fwrite(data, 1, n, af->f) != n)
        af->failed = errno ? errno : EIO;
}

/* The folder's entry for a renamed file reaches the disk (POSIX leaves it to
 * the folder's own fsync). File systems that cannot sync a folder say EINVAL. */
static int sync_folder(const char *path)
{
    char dir[4096];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int err = fsync(fd) == 0 || errno == EINVAL || errno == EROFS ? 0 : errno;
    close(fd);
    return err;
}

static mrnet_status commit_direct(mrnet_atomic_file *af)
{
    int err = af->failed;
    if (!err && fflush(af->f) != 0)
        err = errno ? errno : EIO;
    if (fclose(af->f) != 0 && !err)
        err = errno ? errno : EIO;
    af->f = NULL;
    if (err)
        return mrnet_fail(MRNET_ERR_IO, "%s: write failed: %s", af->path, strerror(err));
    return MRNET_OK;
}

mrnet_status mrnet_atomic_commit(mrnet_atomic_file *af)
{
    if (af->direct)
        return commit_direct(af);
    int err = af->failed;
    if (!err && fflush(af->f) != 0)
        err = errno;
    if (!err && fsync(fileno(af->f)) != 0)
        err = errno;
    if (fclose(af->f) != 0 && !err)
        err = errno;
    af->f = NULL;
    if (!err && rename(af->tmp_path, af->dest) != 0)
        err = errno;
    if (err) {
        unlink(af->tmp_path);
        return mrnet_fail(MRNET_ERR_IO, "%s: write failed: %s (the previous file, if any, is unchanged)",
                          af->path, strerror(err));
    }
    if ((err = sync_folder(af->dest)) != 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: written, but its folder could not be synced: %s",
                          af->path, strerror(err));
    return MRNET_OK;
}

void mrnet_atomic_abort(mrnet_atomic_file *af)
{
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
    }
    if (!af->direct && af->tmp_path[0])
        unlink(af->tmp_path);
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

mrnet_status dir_lock(const char *dir, const char *what, int *fd)
{
    char path[4096 + 16];
    snprintf(path, sizeof path, "%s/.mrnet.lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (*fd < 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot create the lock file: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char owner[32] = "";
        ssize_t got = pread(*fd, owner, sizeof owner - 1, 0);
        owner[got > 0 ? got : 0] = '\0';
        owner[strcspn(owner, "\n")] = '\0';
        close(*fd);
        *fd = -1;
        if (err == EWOULDBLOCK)
            return mrnet_fail(MRNET_ERR_IO, "%s: another mrnet (pid %s) is writing here; wait for it or use "
                              "another folder (%s not started)", dir, owner[0] ? owner : "?", what);
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot lock: %s", path, strerror(err));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)n, 0) != n) {
        /* the pid is only for the message; the lock holds without it */
    }
    return MRNET_OK;
}

void dir_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}
