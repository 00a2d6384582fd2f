/* Channel slices of (B, channels, T) tensors: MRNet splits and concatenates
 * along channels, which is not contiguous across the batch, so these copy
 * B runs of n*T floats. They are pure memory traffic between the GEMMs:
 * above SLICE_PARALLEL_MIN floats the runs are shared among the threads
 * (run on one, the other core waited; 2 % of a C 128 training step). */
#ifndef MRNET_MODEL_SLICES_H
#define MRNET_MODEL_SLICES_H

#include <stddef.h>
#include <string.h>

#define SLICE_PARALLEL_MIN 65536

/* dst[b, dst_off + c, t] = src[b, src_off + c, t] for c < n */
static inline void slice_copy(float *dst, int dst_ch, int dst_off, const float *src, int src_ch,
                              int src_off, int n, int B, int T)
{
    size_t run = (size_t)n * (size_t)T;
#pragma omp parallel for schedule(static) if (run * (size_t)B >= SLICE_PARALLEL_MIN)
    for (int b = 0; b < B; b++)
        memcpy(dst + ((size_t)b * dst_ch + dst_off) * T, src + ((size_t)b * src_ch + src_off) * T,
               run * sizeof(float));
}

/* dst[b, dst_off + c, t] += src[b, src_off + c, t] for c < n */
static inline void slice_add(float *dst, int dst_ch, int dst_off, const float *src, int src_ch,
                             int src_off, int n, int B, int T)
{
    size_t run = (size_t)n * (size_t)T;
#pragma omp parallel for schedule(static) if (run * (size_t)B >= SLICE_PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
        float *d = dst + ((size_t)b * dst_ch + dst_off) * T;
        const float *s = src + ((size_t)b * src_ch + src_off) * T;
        for (size_t i = 0; i < run; i++)
            d[i] += s[i];
    }
}

/* dst = a + b elementwise over n values */
static inline void add_into(float *dst, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= SLICE_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dst[i] = a[i] + b[i];
}

/* dst += src elementwise over n values */
static inline void add_to(float *dst, const float *src, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= SLICE_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

/* dst = src over n values, shared among the threads when large */
static inline void copy_floats(float *dst, const float *src, size_t n)
{
    const size_t chunk = 16384;
#pragma omp parallel for schedule(static) if (n >= 4 * SLICE_PARALLEL_MIN)
    for (size_t i = 0; i < n; i += chunk)
        memcpy(dst + i, src + i, (n - i < chunk ? n - i : chunk) * sizeof(float));
}

#endif
