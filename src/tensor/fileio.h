/* Files that are never left half-written and never clobber a device, a
 * FIFO or a planted link: mrnet_atomic_open and friends (mrnet/io.h). */
#ifndef MRNET_TENSOR_FILEIO_H
#define MRNET_TENSOR_FILEIO_H

#include <stdio.h>
#include <mrnet/io.h>

/* Reads a whole file into a malloc'd buffer (NUL-terminated; *size excludes
 * the NUL). max_bytes guards against absurd files. */
mrnet_status read_whole_file(const char *path, size_t max_bytes, char **data, size_t *size);

#endif
