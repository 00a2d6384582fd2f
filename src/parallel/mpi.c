/* The collective over MPI_COMM_WORLD (mrnet/parallel.h): every use of MPI.
 * Sums and broadcasts go in buckets, so counts stay in MPI's int and one
 * call never pins more than a bucket of extra memory. */
#include "mrnet/parallel.h"

#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

/* What launchers set in every process they start, with the process count. */
static const char *const launcher_sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE",
                                             "MPI_LOCALNRANKS", "SLURM_NTASKS", NULL};

bool mrnet_mpi_launched(void)
{
    for (int i = 0; launcher_sizes[i]; i++) {
        const char *v = getenv(launcher_sizes[i]);
        if (v && atoi(v) > 1)
            return true;
    }
    return false;
}

#ifdef MRNET_HAVE_MPI
#include <mpi.h>

#define BUCKET (1 << 22) /* values per call */

static bool initialised;

bool mrnet_mpi_built(void) { return true; }

static void sum_double(void *ctx, double *buf, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i += BUCKET) {
        int count = (int)(n - i < BUCKET ? n - i : BUCKET);
        MPI_Allreduce(MPI_IN_PLACE, buf + i, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    }
}

static void sum_float(void *ctx, float *buf, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i += BUCKET) {
        int count = (int)(n - i < BUCKET ? n - i : BUCKET);
        MPI_Allreduce(MPI_IN_PLACE, buf + i, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
}

static void broadcast(void *ctx, void *buf, size_t bytes, int root)
{
    (void)ctx;
    for (size_t i = 0; i < bytes; i += BUCKET) {
        int count = (int)(bytes - i < BUCKET ? bytes - i : BUCKET);
        MPI_Bcast((char *)buf + i, count, MPI_BYTE, root, MPI_COMM_WORLD);
    }
}

mrnet_status mrnet_mpi_init(int *argc, char ***argv, mrnet_collective *world)
{
    memset(world, 0, sizeof *world);
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return mrnet_fail(MRNET_ERR_IO, "MPI could not start (MPI_Init_thread)");
    initialised = true;
    if (provided < MPI_THREAD_FUNNELED) {
        mrnet_mpi_finalize();
        return mrnet_fail(MRNET_ERR_UNSUPPORTED, "this MPI cannot run with threads (it provides "
                          "thread level %d)", provided);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &world->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world->size);
    world->sum_double = sum_double;
    world->sum_float = sum_float;
    world->broadcast = broadcast;
    return MRNET_OK;
}

void mrnet_mpi_finalize(void)
{
    if (initialised)
        MPI_Finalize();
    initialised = false;
}

void mrnet_mpi_abort(int code)
{
    if (initialised)
        MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

#else

bool mrnet_mpi_built(void) { return false; }

mrnet_status mrnet_mpi_init(int *argc, char ***argv, mrnet_collective *world)
{
    (void)argc;
    (void)argv;
    memset(world, 0, sizeof *world);
    return mrnet_fail(MRNET_ERR_UNSUPPORTED, "this mrnet is built without MPI: install "
                      "libopenmpi-dev and rebuild (CMake -DMRNET_MPI=ON) to run under mpirun");
}

void mrnet_mpi_finalize(void) {}

void mrnet_mpi_abort(int code) { exit(code); }

#endif
