/* Files that are never left half-written: write to "<path>.tmp.<pid>", fsync,
 * then rename over <path>. A failure (full disk included) removes the
 * temporary and leaves any old <path> untouched. */
#ifndef MRNET_TENSOR_FILEIO_H
#define MRNET_TENSOR_FILEIO_H

#include <stdio.h>
#include <mrnet/io.h>

/* Reads a whole file into a malloc'd buffer (NUL-terminated; *size excludes
 * the NUL). max_bytes guards against absurd files. */
mrnet_status read_whole_file(const char *path, size_t max_bytes, char **data, size_t *size);

#endif
