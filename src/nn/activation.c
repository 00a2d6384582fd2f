/* Elementwise activations and the softmax over the last axis. Elementwise
 * loops split over threads freely (no reductions); the softmax reduces each
 * row inside one thread, in double, so results do not depend on the thread
 * count. Every backward reads its forward's OUTPUT, so no input is cached. */
#include "nn/nn.h"

#include <math.h>

#include "nn/reduce.h"

#ifdef MRNET_HAVE_MVEC
/* glibc ships vector expf (libmvec) but declares it only under -ffast-math;
 * declared here, GCC calls it from the vectorised softmax and sigmoid loops
 * (4 to 16 lanes, within 4 ulp of expf): the attention's softmax was a
 * twentieth of inference at C 128, all in scalar expf. */
__attribute__((simd("notinbranch"))) float expf(float);
#endif

#define ACT_PARALLEL_MIN 65536

// x (n) -> y (n) = max(x, 0); y may alias x
void relu_forward(const float *x, float *y, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// dy (n) -> dx (n) = dy * (y > 0); dx may alias dy. At x = 0 the gradient is 0,
// as PyTorch's threshold_backward.
void relu_backward(const float *y, const float *dy, float *dx, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) { /* dy read unconditionally: a blend, not a branch */
        const float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
}

// x (n) -> y (n) = tanh(x)
void tanh_forward(const float *x, float *y, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

// dy (n) -> dx (n) = dy * (1 - y^2)
void tanh_backward(const float *y, const float *dy, float *dx, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

// x (n) -> y (n) = 1 / (1 + exp(-x)), without overflow for large |x|
void sigmoid_forward(const float *x, float *y, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        if (v >= 0.0f) {
            y[i] = 1.0f / (1.0f + expf(-v));
        } else {
            const float e = expf(v);
            y[i] = e / (1.0f + e);
        }
    }
}

// dy (n) -> dx (n) = dy * y * (1 - y)
void sigmoid_backward(const float *y, const float *dy, float *dx, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

// x (rows,T) -> y (rows,T), softmax over t; y may alias x. The row maximum is
// subtracted first so expf never overflows.
void softmax_forward(const float *x, float *y, size_t rows, int T)
{
#pragma omp parallel for schedule(static) if (rows * (size_t)T >= ACT_PARALLEL_MIN)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)T;
        float *yr = y + r * (size_t)T;
        float mx = xr[0];
        for (int t = 1; t < T; t++)
            mx = xr[t] > mx ? xr[t] : mx;
        for (int t = 0; t < T; t++)
            yr[t] = expf(xr[t] - mx);
        const float inv = (float)(1.0 / reduce_sum(yr, T));
        for (int t = 0; t < T; t++)
            yr[t] *= inv;
    }
}

// dy (rows,T) -> dx (rows,T) = y * (dy - sum_t(dy * y)); dx may alias dy
void softmax_backward(const float *y, const float *dy, float *dx, size_t rows, int T)
{
#pragma omp parallel for schedule(static) if (rows * (size_t)T >= ACT_PARALLEL_MIN)
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * (size_t)T, *dr = dy + r * (size_t)T;
        float *dxr = dx + r * (size_t)T;
        const float d = (float)reduce_dot(dr, yr, T);
        for (int t = 0; t < T; t++)
            dxr[t] = yr[t] * (dr[t] - d);
    }
}
