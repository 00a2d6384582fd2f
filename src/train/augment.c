#include "train/augment.h"

#include "tensor/rng.h"

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
