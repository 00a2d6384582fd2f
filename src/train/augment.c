#include "train/augment.h"

#include "tensor/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t augment_random_start(uint64_t *rng, int64_t T, int64_t len)
{
    if (T <= len)
        return 0;
    return (int64_t)rng_below(rng, (uint64_t)(T - len + 1));
}

void mrnet_noise_default(mrnet_noise_config *cfg)
{
    cfg->p = 0.7f;
    cfg->mean_lo = -0.03f;
    cfg->mean_hi = 0.03f;
    cfg->std_lo = 0.05f;
    cfg->std_hi = 0.1f;
}

bool augment_noise_draw(uint64_t *rng, const mrnet_noise_config *cfg, float *mean, float *std)
{
    if (!(rng_uniform(rng) < cfg->p))
        return false;
    *mean = rng_uniform_range(rng, cfg->mean_lo, cfg->mean_hi);
    *std = rng_uniform_range(rng, cfg->std_lo, cfg->std_hi);
    return true;
}

void augment_noise_add(uint64_t *rng, float mean, float std, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += mean + std * rng_normal(rng);
}

bool augment_gaussian_noise(uint64_t *rng, const mrnet_noise_config *cfg, float *x, size_t n)
{
    float mean, std;
    if (!augment_noise_draw(rng, cfg, &mean, &std))
        return false;
    augment_noise_add(rng, mean, std, x, n);
    return true;
}

/* Mean of every (plane, feature) over time: mean (P, D). */
static void feature_means(const float *x, int P, int64_t T, int D, float *mean)
{
    for (int p = 0; p < P; p++)
        for (int d = 0; d < D; d++) {
            double sum = 0;
            for (int64_t t = 0; t < T; t++)
                sum += x[((size_t)p * T + t) * D + d];
            mean[(size_t)p * D + d] = (float)(sum / (double)T);
        }
}

static int64_t draw_width(uint64_t *rng, int64_t max, int64_t limit)
{
    int64_t w = (int64_t)rng_below(rng, (uint64_t)max + 1);
    return w < limit ? w : limit;
}

void augment_mask(uint64_t *rng, float *x, int P, int64_t T, int D, int n_time, int64_t max_frames,
                  int n_freq, int max_bands)
{
    if ((n_time <= 0 || max_frames <= 0) && (n_freq <= 0 || max_bands <= 0))
        return;
    float *mean = malloc((size_t)P * D * sizeof(float));
    if (!mean) /* masking is an augmentation: without memory the batch goes unmasked */
        return;
    feature_means(x, P, T, D, mean);
    for (int k = 0; k < n_time && max_frames > 0; k++) {
        int64_t w = draw_width(rng, max_frames, T);
        int64_t t0 = (int64_t)rng_below(rng, (uint64_t)(T - w + 1));
        for (int p = 0; p < P; p++)
            for (int64_t t = t0; t < t0 + w; t++)
                for (int d = 0; d < D; d++)
                    x[((size_t)p * T + t) * D + d] = mean[(size_t)p * D + d];
    }
    for (int k = 0; k < n_freq && max_bands > 0; k++) {
        int w = (int)draw_width(rng, max_bands, D);
        int d0 = (int)rng_below(rng, (uint64_t)(D - w + 1));
        for (int p = 0; p < P; p++)
            for (int64_t t = 0; t < T; t++)
                for (int d = d0; d < d0 + w; d++)
                    x[((size_t)p * T + t) * D + d] = mean[(size_t)p * D + d];
    }
    free(mean);
}

/* Gamma(a, 1) by Marsaglia and Tsang (2000); for a < 1 through
 * Gamma(a + 1) * U^(1/a). */
static double draw_gamma(uint64_t *rng, double a)
{
    if (a < 1.0) {
        double u;
        do
            u = rng_uniform(rng);
        while (u <= 0.0);
        return draw_gamma(rng, a + 1.0) * pow(u, 1.0 / a);
    }
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rng_normal(rng), v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        double u = rng_uniform(rng);
        if (u > 0.0 && log(u) < 0.5 * x * x + d - d * v + d * log(v))
            return d * v;
    }
}

double augment_mixup_weight(uint64_t *rng, double alpha)
{
    double x = draw_gamma(rng, alpha), y = draw_gamma(rng, alpha);
    double lambda = x + y > 0.0 ? x / (x + y) : 0.5;
    return lambda < 0.5 ? 1.0 - lambda : lambda;
}

double augment_mixup_pairs(uint64_t *rng, double alpha, int B, int *partner)
{
    const double lambda = augment_mixup_weight(rng, alpha);
    for (int b = 0; b < B; b++)
        partner[b] = b;
    for (int b = B - 1; b > 0; b--) { /* Fisher-Yates */
        int j = (int)rng_below(rng, (uint64_t)b + 1), tmp = partner[b];
        partner[b] = partner[j];
        partner[j] = tmp;
    }
    return lambda;
}

void augment_mix(double lambda, float *x, const float *xp, size_t n)
{
    const float a = (float)lambda, b1 = (float)(1.0 - lambda);
    for (size_t i = 0; i < n; i++)
        x[i] = a * x[i] + b1 * xp[i];
}

void augment_mixup(uint64_t *rng, double alpha, float *x, size_t slot, float *targets, int B,
                   int K, int *partner, float *x_copy, float *targets_copy)
{
    if (B < 2)
        return;
    const double lambda = augment_mixup_pairs(rng, alpha, B, partner);
    float *x0 = x_copy, *q0 = targets_copy;
    memcpy(x0, x, (size_t)B * slot * sizeof *x);
    memcpy(q0, targets, (size_t)B * K * sizeof *targets);
    const float a = (float)lambda, b1 = (float)(1.0 - lambda);
    for (int b = 0; b < B; b++) {
        const float *xp = x0 + (size_t)partner[b] * slot, *qp = q0 + (size_t)partner[b] * K;
        float *xb = x + (size_t)b * slot, *qb = targets + (size_t)b * K;
        augment_mix(lambda, xb, xp, slot);
        for (int k = 0; k < K; k++)
            qb[k] = a * qb[k] + b1 * qp[k];
    }
}

void augment_soft_targets(const int *labels, int B, int K, double smoothing, float *targets)
{
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++)
            targets[(size_t)b * K + k] =
                (float)((k == labels[b] ? 1.0 - smoothing : 0.0) + smoothing / K);
}
