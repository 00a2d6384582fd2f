/* A small, seedable random number generator (SplitMix64). One uint64_t of
 * state, so a component's stream is reproducible from its seed and cheap to
 * save in a checkpoint. Not for cryptography. */
#ifndef MRNET_TENSOR_RNG_H
#define MRNET_TENSOR_RNG_H

#include <stdint.h>

uint64_t rng_next(uint64_t *state);
/* Uniform in [0, 1) with 24 random bits (exactly representable in float). */
float rng_uniform(uint64_t *state);
/* Uniform in [lo, hi). */
float rng_uniform_range(uint64_t *state, float lo, float hi);
/* Standard normal (Box-Muller, one value per call). */
float rng_normal(uint64_t *state);
/* Uniform integer in [0, n), n > 0 (rejection sampling, no modulo bias). */
uint64_t rng_below(uint64_t *state, uint64_t n);
/* An independent stream derived from a seed and a stream id. */
uint64_t rng_derive(uint64_t seed, uint64_t stream);

#endif
