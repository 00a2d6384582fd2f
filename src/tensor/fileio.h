/* Files that are never left half-written: write to "<path>.tmp.<pid>", fsync,
 * then rename over <path>. A failure (full disk included) removes the
 * temporary and leaves any old <path> untouched. */
#ifndef MRNET_TENSOR_FILEIO_H
#define MRNET_TENSOR_FILEIO_H

#include <stdio.h>
#include "mrnet/mrnet.h"

typedef struct {
    FILE *f;
    char path[4096];
    char tmp_path[4096 + 32];
    int failed; /* set by mrnet_atomic_write on a short write */
} mrnet_atomic_file;

mrnet_status mrnet_atomic_open(mrnet_atomic_file *af, const char *path);
/* fwrite that records failure (checked at commit). */
void mrnet_atomic_write(mrnet_atomic_file *af, const void *data, size_t n);
/* Flushes, fsyncs and renames; on any error removes the temporary. */
mrnet_status mrnet_atomic_commit(mrnet_atomic_file *af);
/* Gives up: closes and removes the temporary. */
void mrnet_atomic_abort(mrnet_atomic_file *af);

/* mkdir -p: creates path and any missing parents (mode 0777 & ~umask). */
mrnet_status mrnet_make_dirs(const char *path);

/* Reads a whole file into a malloc'd buffer (NUL-terminated; *size excludes
 * the NUL). max_bytes guards against absurd files. */
mrnet_status read_whole_file(const char *path, size_t max_bytes, char **data, size_t *size);

#endif
