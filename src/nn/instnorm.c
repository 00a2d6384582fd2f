/* InstanceNorm1d without affine parameters or running statistics (PyTorch's
 * default): each (sample, channel) row is normalised over time with its own
 * mean and biased variance. Rows are independent, one thread per row. */
#include "nn/nn.h"
#include "nn/reduce.h"

#include <math.h>

#define IN_PARALLEL_MIN 32768

// x (B,C,T) -> y (B,C,T), per (b,c) over T, biased variance; caches rstd (B*C)
void instnorm_forward(const float *x, float *y, float *rstd, int B, int C, int T, float eps)
{
    const long rows = (long)B * C;
#pragma omp parallel for schedule(static) if ((size_t)rows * T >= IN_PARALLEL_MIN)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * T;
        float *yr = y + (size_t)r * T;
        /* Two passes in double: the mean of a feature row can be large next to
         * its spread (WavLM hidden states), where sum-of-squares cancels. */
        const double mu = reduce_sum(xr, T) / T;
        const double ss = reduce_squares(xr, T, mu);
        const double rs = 1.0 / sqrt(ss / T + (double)eps);
        rstd[r] = (float)rs;
        const float m = (float)mu, s = (float)rs;
        for (int t = 0; t < T; t++)
            yr[t] = (xr[t] - m) * s;
    }
}

// dy (B,C,T) -> dx (B,C,T) =, from the normalised output y (= xhat):
//   dx = rstd (dy - mean_t(dy) - y mean_t(dy y)); dx may alias dy.
void instnorm_backward(const float *y, const float *rstd, const float *dy, float *dx, int B,
                       int C, int T)
{
    const long rows = (long)B * C;
#pragma omp parallel for schedule(static) if ((size_t)rows * T >= IN_PARALLEL_MIN)
    for (long r = 0; r < rows; r++) {
        const float *yr = y + (size_t)r * T, *dr = dy + (size_t)r * T;
        float *dxr = dx + (size_t)r * T;
        const double sum_dy = reduce_sum(dr, T), sum_dy_y = reduce_dot(dr, yr, T);
        const float s = rstd[r], mdy = (float)(sum_dy / T), mdyy = (float)(sum_dy_y / T);
        for (int t = 0; t < T; t++)
            dxr[t] = s * (dr[t] - mdy - yr[t] * mdyy);
    }
}

void featnorm_forward(const float *x, const float *mean, const float *std, float *y, long R, int P,
                      int T, int D)
{
#pragma omp parallel for schedule(static) if ((size_t)R * T * D >= IN_PARALLEL_MIN)
    for (long r = 0; r < R; r++) {
        const float *mu = mean + (size_t)(r % P) * D, *sd = std + (size_t)(r % P) * D;
        for (int t = 0; t < T; t++) {
            const float *xr = x + ((size_t)r * T + t) * D;
            float *yr = y + ((size_t)r * T + t) * D;
            for (int d = 0; d < D; d++)
                yr[d] = (xr[d] - mu[d]) / sd[d];
        }
    }
}
