/* mrnet/bench.h: measuring the library against the machine (mrnet bench).
 *
 * The FLOP counter counts the matrix products the library runs (every
 * convolution, linear and squeeze-excitation GEMM, forward and backward):
 * 2 M N K per product, what "conv + linear FLOPs" means in
 * docs/PERFORMANCE.md. Counting costs one relaxed atomic add per GEMM while
 * on, nothing while off. */
#ifndef MRNET_BENCH_H
#define MRNET_BENCH_H
#include <stdint.h>
#include <mrnet/common.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Resets the counter and starts counting (all threads). */
void mrnet_flops_start(void);
/* Stops; the FLOPs since start, and the (M, N, K) of the product with the
 * most FLOPs (may be NULL). */
double mrnet_flops_stop(int64_t largest_mnk[3]);

/* The machine's single-precision GEMM rate in GFLOP/s on an (M, N, K)
 * product as the library runs it: each of the OpenMP threads multiplies its
 * own matrices with one-threaded OpenBLAS, for at least `seconds`; the
 * rate is the sum. 0 when memory is short. */
double mrnet_sgemm_gflops(int64_t M, int64_t N, int64_t K, double seconds);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
