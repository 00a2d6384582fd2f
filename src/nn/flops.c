/* The GEMM FLOP counter and the machine's sgemm rate (mrnet/bench.h). */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <time.h>

#include "nn/nn.h"
#include <mrnet/bench.h>

static int counting;
static int64_t total_flops;
static int64_t largest_flops, largest[3];

void nn_count_gemm(int64_t M, int64_t N, int64_t K)
{
    if (!__atomic_load_n(&counting, __ATOMIC_RELAXED))
        return;
    int64_t f = 2 * M * N * K;
    __atomic_fetch_add(&total_flops, f, __ATOMIC_RELAXED);
    if (f > __atomic_load_n(&largest_flops, __ATOMIC_RELAXED)) {
#pragma omp critical(mrnet_flops)
        if (f > largest_flops) {
            largest[0] = M;
            largest[1] = N;
            largest[2] = K;
            __atomic_store_n(&largest_flops, f, __ATOMIC_RELAXED);
        }
    }
}

void mrnet_flops_start(void)
{
    __atomic_store_n(&total_flops, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&largest_flops, 0, __ATOMIC_RELAXED);
    largest[0] = largest[1] = largest[2] = 0;
    __atomic_store_n(&counting, 1, __ATOMIC_RELEASE);
}

double mrnet_flops_stop(int64_t largest_mnk[3])
{
    __atomic_store_n(&counting, 0, __ATOMIC_RELEASE);
    if (largest_mnk) {
#pragma omp critical(mrnet_flops)
        for (int i = 0; i < 3; i++)
            largest_mnk[i] = largest[i];
    }
    return (double)__atomic_load_n(&total_flops, __ATOMIC_RELAXED);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double mrnet_sgemm_gflops(int64_t M, int64_t N, int64_t K, double seconds)
{
    if (M < 1 || N < 1 || K < 1)
        return 0;
    double flops = 0, wall = 0;
    int failed = 0;
#pragma omp parallel reduction(+ : flops) reduction(| : failed)
    {
        float *a = malloc(sizeof(float) * (size_t)(M * K)), *b = malloc(sizeof(float) * (size_t)(K * N)),
              *c = calloc((size_t)(M * N), sizeof(float));
        if (!a || !b || !c)
            failed = 1;
        for (int64_t i = 0; !failed && i < M * K; i++)
            a[i] = (float)(i % 7) * 0.01f;
        for (int64_t i = 0; !failed && i < K * N; i++)
            b[i] = (float)(i % 5) * 0.01f;
#pragma omp barrier
        double t0 = now(), t = t0;
        int reps = 0;
        while (!failed && (t - t0 < seconds || reps < 3)) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, a, (int)K, b,
                        (int)N, 0.0f, c, (int)N);
            reps++;
            t = now();
        }
        flops += 2.0 * (double)M * (double)N * (double)K * reps;
#pragma omp master
        wall = t - t0;
        free(a);
        free(b);
        free(c);
    }
    return failed || wall <= 0 ? 0 : flops / wall / 1e9;
}
