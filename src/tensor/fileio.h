/* Files that are never left half-written and never clobber a device, a
 * FIFO or a planted link: mrnet_atomic_open and friends (mrnet/io.h). */
#ifndef MRNET_TENSOR_FILEIO_H
#define MRNET_TENSOR_FILEIO_H

#include <stdio.h>
#include <mrnet/io.h>

/* Reads a whole file into a malloc'd buffer (NUL-terminated; *size excludes
 * the NUL). max_bytes guards against absurd files. */
mrnet_status read_whole_file(const char *path, size_t max_bytes, char **data, size_t *size);

/* An advisory lock on a folder that one mrnet job writes (a store, a run
 * folder): flock on DIR/.mrnet.lock, which holds the owner's pid. Another
 * holder gives MRNET_ERR_IO naming the folder, what is going on (`what`,
 * e.g. "extraction") and the pid that holds it. The lock goes with the
 * process, so a killed job never leaves a stale one. *fd: -1 on failure. */
mrnet_status dir_lock(const char *dir, const char *what, int *fd);
void dir_unlock(int fd);

/* Removes the temporaries of path (mrnet_atomic_open's names) that processes
 * now gone left behind. mrnet_atomic_open does it before each write; a job
 * that may write nothing (a finished run resumed) calls it for its outputs. */
void remove_stale_temporaries_of(const char *path);

#endif
