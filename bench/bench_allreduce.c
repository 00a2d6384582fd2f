/* The gradient sum of a data-parallel step, alone: `mpirun -np N
 * bench_allreduce [MILLIONS]` sums MILLIONS (default 22.7, the paper's
 * model) million floats over the N processes, as trainer_sum_gradients does
 * (mrnet_collective.sum_float, 4 M-value buckets), and prints the median of
 * 7 sums in ms and the bus rate 2 (N - 1) / N * bytes / time (what a ring
 * all-reduce moves per process). Rank 0 prints; docs/SCALING.md. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mrnet/mrnet.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    mrnet_collective w;
    if (mrnet_mpi_init(&argc, &argv, &w) != MRNET_OK) {
        fprintf(stderr, "bench_allreduce: %s\n", mrnet_last_error());
        return 2;
    }
    double millions = argc > 1 ? atof(argv[1]) : 22.7;
    size_t n = (size_t)(millions * 1e6);
    float *g = malloc(n * sizeof *g);
    if (!g) {
        fprintf(stderr, "bench_allreduce: out of memory for %zu floats\n", n);
        mrnet_mpi_abort(1);
    }
    for (size_t i = 0; i < n; i++)
        g[i] = (float)((i % 1000) * 1e-6);
    double t[7];
    for (int r = -1; r < 7; r++) { /* one warm-up */
        double start = now_s();
        w.sum_float(w.ctx, g, n);
        double el = now_s() - start;
        w.sum_double(w.ctx, &el, 1); /* the mean of the processes' times */
        if (r >= 0)
            t[r] = el / w.size;
    }
    qsort(t, 7, sizeof *t, cmp);
    if (w.rank == 0)
        printf("{\"processes\":%d,\"floats\":%zu,\"ms\":%.3f,\"bus_gb_per_s\":%.3f}\n", w.size, n,
               t[3] * 1e3, 2.0 * (w.size - 1) / w.size * (double)n * 4 / t[3] / 1e9);
    free(g);
    mrnet_mpi_finalize();
    return 0;
}
