#include "tensor/rng.h"

#include <math.h>

uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

float rng_uniform(uint64_t *state)
{
    return (float)(rng_next(state) >> 40) * (1.0f / 16777216.0f);
}

float rng_uniform_range(uint64_t *state, float lo, float hi)
{
    return lo + (hi - lo) * rng_uniform(state);
}

float rng_normal(uint64_t *state)
{
    /* 53-bit uniforms; u1 in (0, 1] keeps the log finite. */
    double u1 = ((double)(rng_next(state) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t rng_below(uint64_t *state, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = rng_next(state);
    } while (r >= limit);
    return r % n;
}

uint64_t rng_derive(uint64_t seed, uint64_t stream)
{
    uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    rng_next(&s);
    return rng_next(&s);
}
