/* BatchNorm1d as PyTorch 1.13: training normalises with the batch mean and the
 * biased variance over (B, T) and moves the running statistics towards the
 * batch's mean and UNBIASED variance (momentum m: r = (1-m) r + m batch).
 * Evaluation normalises with the running statistics.
 *
 * Channel c of sample b is the contiguous row x[(b*C + c)*T .. +T]; one thread
 * owns a channel and sums its B rows in order, in double, so the statistics do
 * not depend on the thread count. A NULL weight/bias acts as 1/0.
 * Synchronised BN (p->sync) adds each process's sums before using them: the
 * same two passes over the whole batch, in another order of additions. */
#include "nn/nn.h"

#include <math.h>

#include "nn/reduce.h"

#define BN_PARALLEL_MIN 32768

static const float *bn_row(const float *x, int b, int c, int C, int T)
{
    return x + ((size_t)b * C + c) * T;
}

// x (B,C,T), channel c -> sum over (B,T), in double
static double bn_channel_sum(const float *x, int c, int B, int C, int T)
{
    double sum = 0.0;
    for (int b = 0; b < B; b++)
        sum += reduce_sum(bn_row(x, b, c, C, T), T);
    return sum;
}

// x (B,C,T), channel c -> sum of squared deviations from mu over (B,T)
static double bn_channel_squares(const float *x, int c, int B, int C, int T, double mu)
{
    double ss = 0.0;
    for (int b = 0; b < B; b++)
        ss += reduce_squares(bn_row(x, b, c, C, T), T, mu);
    return ss;
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

// One channel's normalisation from its mean and biased variance: y, the
// caches, the running statistics (n values in the whole batch).
static void bn_channel_finish(const batchnorm_params *p, const float *x, float *y, int c, int B,
                              int T, double mu, double var, double n, float *mean, float *rstd)
{
    const double rs = 1.0 / sqrt(var + (double)p->eps);
    mean[c] = (float)mu;
    rstd[c] = (float)rs;
    const float w = p->weight ? p->weight[c] : 1.0f;
    const float sh = p->bias ? p->bias[c] : 0.0f;
    bn_channel_apply(x, y, c, B, p->channels, T, (float)mu, w * (float)rs, sh);
    if (p->running_mean) {
        const float m = p->momentum;
        /* PyTorch stores the unbiased variance; n > 1 is the caller's check. */
        const double unbiased = n > 1.0 ? var * n / (n - 1.0) : var;
        p->running_mean[c] = (1.0f - m) * p->running_mean[c] + m * (float)mu;
        p->running_var[c] = (1.0f - m) * p->running_var[c] + m * (float)unbiased;
    }
}

// Synchronised: the sums of every process's batch, two passes as below.
static void bn_forward_train_sync(const batchnorm_params *p, const float *x, float *y, int B,
                                  int T, float *mean, float *rstd)
{
    const int C = p->channels;
    double *acc = p->sync->scratch; /* (C) sums, then squares; [C]: the count */
#pragma omp parallel for schedule(static) if ((size_t)B * C * T >= BN_PARALLEL_MIN)
    for (int c = 0; c < C; c++)
        acc[c] = bn_channel_sum(x, c, B, C, T);
    acc[C] = (double)B * T;
    p->sync->sum(p->sync->ctx, acc, C + 1);
    const double n = acc[C];
    double *mu = acc + C + 1;
    for (int c = 0; c < C; c++)
        mu[c] = acc[c] / n;
#pragma omp parallel for schedule(static) if ((size_t)B * C * T >= BN_PARALLEL_MIN)
    for (int c = 0; c < C; c++)
        acc[c] = bn_channel_squares(x, c, B, C, T, mu[c]);
    p->sync->sum(p->sync->ctx, acc, C);
#pragma omp parallel for schedule(static) if ((size_t)B * C * T >= BN_PARALLEL_MIN)
    for (int c = 0; c < C; c++)
        bn_channel_finish(p, x, y, c, B, T, mu[c], acc[c] / n, n, mean, rstd);
}

// train: x (B,C,T) -> y (B,C,T); caches mean (C), rstd (C); updates running stats
void batchnorm_forward_train(const batchnorm_params *p, const float *x, float *y, int B,
                             int T, float *mean, float *rstd)
{
    if (p->sync) {
        bn_forward_train_sync(p, x, y, B, T, mean, rstd);
        return;
    }
    const int C = p->channels;
    const double n = (double)B * T;
#pragma omp parallel for schedule(static) if ((size_t)B * C * T >= BN_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        const double mu = bn_channel_sum(x, c, B, C, T) / n;
        const double var = bn_channel_squares(x, c, B, C, T, mu) / n;
        bn_channel_finish(p, x, y, c, B, T, mu, var, n, mean, rstd);
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

// Channel c's sums of dy and of dy * xhat over (B,T).
static void bn_channel_grad_sums(const float *x, const float *dy, int c, int B, int C, int T,
                                 float mu, float rs, double *sum_dy, double *sum_dy_xhat)
{
    double s1 = 0.0, s2 = 0.0;
    for (int b = 0; b < B; b++)
        reduce_bn_grad(bn_row(x, b, c, C, T), bn_row(dy, b, c, C, T), T, mu, rs, &s1, &s2);
    *sum_dy = s1;
    *sum_dy_xhat = s2;
}

// dx of channel c from the means of dy and dy * xhat over the whole batch
static void bn_channel_dx(const batchnorm_params *p, const float *x, const float *dy, float *dx,
                          int c, int B, int T, float mu, float rs, float mdy, float mdx)
{
    const int C = p->channels;
    const float w = p->weight ? p->weight[c] : 1.0f;
    const float k = w * rs;
    for (int b = 0; b < B; b++) {
        const float *xr = bn_row(x, b, c, C, T), *dr = bn_row(dy, b, c, C, T);
        float *dxr = dx + ((size_t)b * C + c) * T;
        for (int t = 0; t < T; t++)
            dxr[t] = k * (dr[t] - mdy - (xr[t] - mu) * rs * mdx);
    }
}

// train-mode backward: dy (B,C,T) -> dx (B,C,T) =, dweight (C) +=, dbias (C) +=
// With xhat = (x - mean) rstd and N = B*T:
//   dx = w rstd (dy - mean(dy) - xhat mean(dy xhat)).
// The two sums are read before dx is written, so dx may alias dy. With sync
// the means are over every process's batch; dweight and dbias keep this
// process's part (the gradient sum over processes adds the rest).
void batchnorm_backward(const batchnorm_params *p, const float *x, const float *mean,
                        const float *rstd, const float *dy, float *dx, float *dweight,
                        float *dbias, int B, int T)
{
    const int C = p->channels;
    const bool par = (size_t)B * C * T >= BN_PARALLEL_MIN;
    if (p->sync) {
        double *acc = p->sync->scratch; /* (2C): sums of dy, of dy xhat; [2C]: the count */
#pragma omp parallel for schedule(static) if (par)
        for (int c = 0; c < C; c++) {
            bn_channel_grad_sums(x, dy, c, B, C, T, mean[c], rstd[c], &acc[c], &acc[C + c]);
            if (dbias)
                dbias[c] += (float)acc[c];
            if (dweight)
                dweight[c] += (float)acc[C + c];
        }
        acc[2 * C] = (double)B * T;
        p->sync->sum(p->sync->ctx, acc, 2 * C + 1);
        const double n = acc[2 * C];
#pragma omp parallel for schedule(static) if (par)
        for (int c = 0; c < C; c++)
            bn_channel_dx(p, x, dy, dx, c, B, T, mean[c], rstd[c], (float)(acc[c] / n),
                          (float)(acc[C + c] / n));
        return;
    }
    const double n = (double)B * T;
#pragma omp parallel for schedule(static) if (par)
    for (int c = 0; c < C; c++) {
        double sum_dy, sum_dy_xhat;
        bn_channel_grad_sums(x, dy, c, B, C, T, mean[c], rstd[c], &sum_dy, &sum_dy_xhat);
        if (dbias)
            dbias[c] += (float)sum_dy;
        if (dweight)
            dweight[c] += (float)sum_dy_xhat;
        bn_channel_dx(p, x, dy, dx, c, B, T, mean[c], rstd[c], (float)(sum_dy / n),
                      (float)(sum_dy_xhat / n));
    }
}
