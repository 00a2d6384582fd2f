/* Shared by the libFuzzer targets (fuzz/fuzz_<name>.c): a per-process
 * temporary folder, removed at exit, and a helper that writes the input to a
 * file in it, since mrnet's parsers read paths. Built only with clang
 * (-DMRNET_FUZZ=ON or tools/fuzz.sh). */
#ifndef MRNET_FUZZ_COMMON_H
#define MRNET_FUZZ_COMMON_H
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>

static char fuzz_dir_path[256];

static int fuzz_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void fuzz_rm_dir(void)
{
    if (fuzz_dir_path[0])
        nftw(fuzz_dir_path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The process's temporary folder (created on the first call). */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_path[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/mrnet-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(fuzz_dir_path)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fuzz_rm_dir);
    }
    return fuzz_dir_path;
}

/* Writes data to <fuzz_dir>/name and returns the path (static buffer per call site). */
static inline void fuzz_write(char *path, size_t path_size, const char *name, const uint8_t *data, size_t size)
{
    snprintf(path, path_size, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

#endif
