/* BatchNorm1d as PyTorch 1.13: training normalises with the batch mean and the
 * biased variance over (B, T) and moves the running statistics towards the
 * batch's mean and UNBIASED variance (momentum m: r = (1-m) r + m batch).
 * Evaluation normalises with the running statistics.
 *
 * Channel c of sample b is the contiguous row x[(b*C + c)*T .. +T]; one thread
 * owns a channel and sums its B rows in order, in double, so the statistics do
 * not depend on the thread count. A NULL weight/bias acts as 1/0. */
#include "nn/nn.h"

#include <math.h>

#define BN_PARALLEL_MIN 32768

static const float *bn_row(const float *x, int b, int c, int C, int T)
{
    return x + ((size_t)b * C + c) * T;
}

// x (B,C,T), channel c -> mean and biased variance over (B,T), two passes in double
static void bn_channel_stats(const float *x, int c, int B, int C, int T, double *mean,
                             double *var)
{
    double sum = 0.0;
    for (int b = 0; b < B; b++) {
        const float *row = bn_row(x, b, c, C, T);
        for (int t = 0; t < T; t++)
            sum += row[t];
    }
    const double n = (double)B * T, mu = sum / n;
    double ss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *row = bn_row(x, b, c, C, T);
        for (int t = 0; t < T; t++) {
            const double d = row[t] - mu;
            ss += d * d;
        }
    }
    *mean = mu;
    *var = ss / n;
}

// y[b,c,:] = (x[b,c,:] - mean) * scale + shift for one channel c
static void bn_channel_apply(const float *x, float *y, int c, int B, int C, int T, float mean,
                             float scale, float shift)
{
    for (int b = 0; b < B; b++) {
        const float *xr = bn_row(x, b, c, C, T);
        float *yr = y + ((size_t)b * C + c) * T;
        for (int t = 0; t < T; t++)
            yr[t] = (xr[t] - mean) * scale + shift;
    }
}

// train: x (B,C,T) -> y (B,C,T); caches mean (C), rstd (C); updates running stats
void batchnorm_forward_train(const batchnorm_params *p, const float *x, float *y, int B,
                             int T, float *mean, float *rstd)
{
    const int C = p->channels;
    const double n = (double)B * T;
#pragma omp parallel for schedule(static) if ((size_t)B * C * T >= BN_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        double mu, var;
        bn_channel_stats(x, c, B, C, T, &mu, &var);
        const double rs = 1.0 / sqrt(var + (double)p->eps);
        mean[c] = (float)mu;
        rstd[c] = (float)rs;
        const float w = p->weight ? p->weight[c] : 1.0f;
        const float sh = p->bias ? p->bias[c] : 0.0f;
        bn_channel_apply(x, y, c, B, C, T, (float)mu, w * (float)rs, sh);
        if (p->running_mean) {
            const float m = p->momentum;
            /* PyTorch stores the unbiased variance; n > 1 is the caller's check. */
            const double unbiased = n > 1.0 ? var * n / (n - 1.0) : var;
            p->running_mean[c] = (1.0f - m) * p->running_mean[c] + m * (float)mu;
            p->running_var[c] = (1.0f - m) * p->running_var[c] + m * (float)unbiased;
        }
    }
}

// eval: x (B,C,T) -> y (B,C,T) = (x - running_mean) / sqrt(running_var + eps) * w + b
void batchnorm_forward_eval(const batchnorm_params *p, const float *x, float *y, int B,
                            int T)
{
    const int C = p->channels;
#pragma omp parallel for schedule(static) if ((size_t)B * C * T >= BN_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        const float rs = (float)(1.0 / sqrt((double)p->running_var[c] + (double)p->eps));
        const float w = p->weight ? p->weight[c] : 1.0f;
        const float sh = p->bias ? p->bias[c] : 0.0f;
        bn_channel_apply(x, y, c, B, C, T, p->running_mean[c], w * rs, sh);
    }
}

// train-mode backward: dy (B,C,T) -> dx (B,C,T) =, dweight (C) +=, dbias (C) +=
// With xhat = (x - mean) rstd and N = B*T:
//   dx = w rstd (dy - mean(dy) - xhat mean(dy xhat)).
// The two sums are read before dx is written, so dx may alias dy.
void batchnorm_backward(const batchnorm_params *p, const float *x, const float *mean,
                        const float *rstd, const float *dy, float *dx, float *dweight,
                        float *dbias, int B, int T)
{
    const int C = p->channels;
    const double n = (double)B * T;
#pragma omp parallel for schedule(static) if ((size_t)B * C * T >= BN_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        const float mu = mean[c], rs = rstd[c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int b = 0; b < B; b++) {
            const float *xr = bn_row(x, b, c, C, T), *dr = bn_row(dy, b, c, C, T);
            for (int t = 0; t < T; t++) {
                sum_dy += dr[t];
                sum_dy_xhat += (double)dr[t] * ((xr[t] - mu) * rs);
            }
        }
        if (dbias)
            dbias[c] += (float)sum_dy;
        if (dweight)
            dweight[c] += (float)sum_dy_xhat;
        const float w = p->weight ? p->weight[c] : 1.0f;
        const float k = w * rs, mdy = (float)(sum_dy / n), mdx = (float)(sum_dy_xhat / n);
        for (int b = 0; b < B; b++) {
            const float *xr = bn_row(x, b, c, C, T), *dr = bn_row(dy, b, c, C, T);
            float *dxr = dx + ((size_t)b * C + c) * T;
            for (int t = 0; t < T; t++)
                dxr[t] = k * (dr[t] - mdy - (xr[t] - mu) * rs * mdx);
        }
    }
}
