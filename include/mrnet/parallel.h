/* mrnet/parallel.h: runs over several processes (MPI)
 *
 * Training and extraction take a collective, the few operations a
 * data-parallel run needs, as plain function pointers: the library's rooms
 * never call MPI themselves, and a program may bring its own communicator
 * (a test's fake, another launcher). mrnet_mpi_init gives the one over
 * MPI_COMM_WORLD when the library is built with MPI (CMake MRNET_MPI). */
#ifndef MRNET_PARALLEL_H
#define MRNET_PARALLEL_H

#include <stdbool.h>
#include <stddef.h>
#include <mrnet/common.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct mrnet_collective {
    int rank, size; /* this process, of size (0 <= rank < size) */
    /* Adds buf (n values) in place over every process: all get the sum. */
    void (*sum_double)(void *ctx, double *buf, size_t n);
    void (*sum_float)(void *ctx, float *buf, size_t n);
    /* Copies root's bytes into every other process's buf. */
    void (*broadcast)(void *ctx, void *buf, size_t bytes, int root);
    void *ctx;
} mrnet_collective;

/* Collective agreement on failure: every process passes its own status (its
 * message in mrnet_last_error()); all return the status of the lowest rank
 * that failed, or MRNET_OK when none did, and on failure every process's
 * mrnet_last_error() is "rank R: <that rank's message>". A NULL or
 * one-process collective returns st unchanged. */
mrnet_status mrnet_collective_agree(const mrnet_collective *c, mrnet_status st);

/* This build can run under MPI. */
bool mrnet_mpi_built(void);
/* The environment of an MPI launcher (mpirun, srun) that started more than
 * one process: how a build without MPI knows to refuse. */
bool mrnet_mpi_launched(void);
/* MPI_Init (threads: calls from the main thread only) and the collective of
 * MPI_COMM_WORLD. MRNET_ERR_UNSUPPORTED in a build without MPI. Errors of
 * MPI itself abort the job (MPI's default), so no process waits forever on
 * a dead one. */
mrnet_status mrnet_mpi_init(int *argc, char ***argv, mrnet_collective *world);
/* MPI_Finalize, when mrnet_mpi_init succeeded; else nothing. */
void mrnet_mpi_finalize(void);
/* Ends every process of the job (MPI_Abort) with this exit code. */
void mrnet_mpi_abort(int code);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
