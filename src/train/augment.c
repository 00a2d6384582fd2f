#include "train/augment.h"

#include <string.h>

#include "tensor/rng.h"

void mrnet_crop_wrap(const float *src, int channels, int64_t T, int64_t t0, int64_t len, float *dst)
{
    if (T <= 0 || len <= 0)
        return;
    for (int c = 0; c < channels; c++) {
        const float *s = src + (size_t)c * (size_t)T;
        float *d = dst + (size_t)c * (size_t)len;
        int64_t pos = t0 % T, k = 0;
        while (k < len) {
            int64_t run = T - pos < len - k ? T - pos : len - k;
            memcpy(d + k, s + pos, sizeof(float) * (size_t)run);
            k += run;
            pos = 0;
        }
    }
}

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

bool augment_gaussian_noise(uint64_t *rng, const mrnet_noise_config *cfg, float *x, size_t n)
{
    if (!(rng_uniform(rng) < cfg->p))
        return false;
    float mean = rng_uniform_range(rng, cfg->mean_lo, cfg->mean_hi);
    float std = rng_uniform_range(rng, cfg->std_lo, cfg->std_hi);
    for (size_t i = 0; i < n; i++)
        x[i] += mean + std * rng_normal(rng);
    return true;
}

int64_t mrnet_window_count(int64_t T, int64_t len, int64_t hop)
{
    if (T <= len || hop <= 0)
        return 1;
    return 1 + (T - len + hop - 1) / hop;
}

int64_t mrnet_window_start(int64_t T, int64_t len, int64_t hop, int64_t index)
{
    if (T <= len || hop <= 0)
        return 0;
    int64_t start = index * hop;
    return start > T - len ? T - len : start;
}
