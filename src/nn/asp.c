/* Attentive statistics pooling (release ASPLayer):
 *   h  = ReLU(conv_a(x))            (B,H,T)
 *   th = tanh(BN(h))                (B,H,T)
 *   a  = softmax_t(conv_b(th))      (B,C,T)
 *   mu = sum_t x a,  sg = sqrt(max(sum_t x^2 a - mu^2, 1e-4))
 * Built from the conv1d, batchnorm and activation ops of this folder; the only
 * code of its own is the weighted statistics and their gradient. */
#include "nn/nn.h"
#include "nn/reduce.h"

#include <math.h>
#include <string.h>

#define ASP_PARALLEL_MIN 32768
/* The release clamps the variance at 1e-4 before the square root. */
#define ASP_VAR_FLOOR 1e-4f

static conv1d_params asp_conv_a(const asp_params *p)
{
    return (conv1d_params){.in_ch = p->channels, .out_ch = p->hidden, .kernel = 1,
                           .dilation = 1, .weight = p->wa, .bias = p->ba};
}

static conv1d_params asp_conv_b(const asp_params *p)
{
    return (conv1d_params){.in_ch = p->hidden, .out_ch = p->channels, .kernel = 1,
                           .dilation = 1, .weight = p->wb, .bias = p->bb};
}

// x (B,C,T), a (B,C,T) -> mu, sg (B,C) cached and out (B,2C) = [mu, sg]
static void asp_weighted_stats(const float *x, const float *a, float *mu, float *sg,
                               float *out, int B, int C, int T)
{
    const long rows = (long)B * C;
#pragma omp parallel for schedule(static) if ((size_t)rows * T >= ASP_PARALLEL_MIN)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * T, *ar = a + (size_t)r * T;
        double s1, s2;
        reduce_weighted_moments(xr, ar, T, &s1, &s2);
        const float m = (float)s1, var = (float)(s2 - s1 * s1);
        const long b = r / C, c = r % C;
        mu[r] = m;
        sg[r] = sqrtf(var > ASP_VAR_FLOOR ? var : ASP_VAR_FLOOR);
        out[b * 2 * C + c] = mu[r];
        out[b * 2 * C + C + c] = sg[r];
    }
}

// x (B,C,T) -> out (B,2C); fills the cache (bn_mean/bn_rstd only when train)
void asp_forward(const asp_params *p, const float *x, float *out, asp_cache *c, int B, int T,
                 bool train)
{
    const conv1d_params ca = asp_conv_a(p), cb = asp_conv_b(p);
    const size_t nh = (size_t)B * p->hidden * T;
    conv1d_forward(&ca, x, c->h, B, T, NULL);
    relu_forward(c->h, c->h, nh);
    if (train)
        batchnorm_forward_train(&p->bn, c->h, c->th, B, T, c->bn_mean, c->bn_rstd);
    else
        batchnorm_forward_eval(&p->bn, c->h, c->th, B, T);
    tanh_forward(c->th, c->th, nh);
    conv1d_forward(&cb, c->th, c->a, B, T, NULL);
    softmax_forward(c->a, c->a, (size_t)B * p->channels, T);
    asp_weighted_stats(x, c->a, c->mu, c->sg, out, B, p->channels, T);
}

size_t asp_scratch_floats(const asp_params *p, int B, int T, int threads)
{
    /* the logits' gradient (B,C,T) + the hidden gradient (B,H,T) + the
     * convs' own scratch (per-thread weight gradients) */
    const conv1d_params ca = asp_conv_a(p), cb = asp_conv_b(p);
    size_t conv = conv1d_scratch_floats(&ca, T, threads);
    size_t conv_b = conv1d_scratch_floats(&cb, T, threads);
    return (size_t)B * (p->channels + p->hidden) * T + (conv > conv_b ? conv : conv_b);
}

// dout (B,2C) -> dlogit (B,C,T), the softmax input's gradient, and
// dx (B,C,T) += the direct part through x in mu and sg. Per row (b,c):
//   v = E[x^2] - mu^2, sg = sqrt(max(v, floor)): dv = dsg / (2 sg) where v is
//   above the floor, else 0 (clamp passes no gradient where it clamps);
//   dmu' = dmu - 2 mu dv;  da_t = dmu' x_t + dv x_t^2;
//   dx_t += a_t (dmu' + 2 dv x_t);  dlogit_t = a_t (da_t - sum_s da_s a_s).
// The whole batch in one parallel loop, not a team per sample between the
// per-sample GEMMs (see conv1d.c on OpenMP teams next to OpenBLAS).
static void asp_stats_backward(const float *x, const float *a, const float *mu,
                               const float *sg, const float *dout, float *dlogit, float *dx,
                               int B, int C, int T)
{
    const long rows = (long)B * C;
#pragma omp parallel for schedule(static) if ((size_t)rows * T >= ASP_PARALLEL_MIN)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * T, *ar = a + (size_t)r * T;
        float *gr = dlogit + (size_t)r * T, *dxr = dx + (size_t)r * T;
        const float *db = dout + (r / C) * 2 * C + r % C; /* dmu; dsg is C further */
        /* sg > sqrt(floor) when the variance passed the clamp (sqrtf is
         * monotone); this reads the cached sg instead of recomputing v. Only a
         * variance within rounding of the floor itself can differ from
         * PyTorch's (v >= floor) test. */
        const float dv = sg[r] > sqrtf(ASP_VAR_FLOOR) ? db[C] * 0.5f / sg[r] : 0.0f;
        const float dmu = db[0] - 2.0f * mu[r] * dv;
        for (int t = 0; t < T; t++) {
            gr[t] = (dmu + dv * xr[t]) * xr[t];
            dxr[t] += ar[t] * (dmu + 2.0f * dv * xr[t]);
        }
        const float d = (float)reduce_dot(gr, ar, T);
        for (int t = 0; t < T; t++)
            gr[t] = ar[t] * (gr[t] - d);
    }
}

// dout (B,2C) -> dx (B,C,T) +=, gradients +=. Needs a train-mode forward (its
// BN batch statistics). scratch: asp_scratch_floats(p, B, T, threads) floats.
void asp_backward(const asp_params *p, const asp_grads *g, const float *x, const asp_cache *c,
                  const float *dout, float *dx, int B, int T, float *scratch, int threads)
{
    const conv1d_params ca = asp_conv_a(p), cb = asp_conv_b(p);
    const size_t nh = (size_t)B * p->hidden * T;
    float *dlogit = scratch, *dth = scratch + (size_t)B * p->channels * T;
    float *conv_scratch = dth + nh;
    asp_stats_backward(x, c->a, c->mu, c->sg, dout, dlogit, dx, B, p->channels, T);
    memset(dth, 0, nh * sizeof(float));
    conv1d_backward(&cb, c->th, dlogit, dth, g->dwb, g->dbb, B, T, conv_scratch, threads);
    tanh_backward(c->th, dth, dth, nh);
    batchnorm_backward(&p->bn, c->h, c->bn_mean, c->bn_rstd, dth, dth, g->dbn_weight,
                       g->dbn_bias, B, T);
    relu_backward(c->h, dth, dth, nh);
    conv1d_backward(&ca, x, dth, dx, g->dwa, g->dba, B, T, conv_scratch, threads);
}
