/* Inverted dropout as torch.nn.Dropout in training: an element is dropped when
 * rng_uniform() < p and the survivors are scaled by 1/(1-p), so evaluation is
 * the identity.
 *
 * The mask is drawn in fixed chunks of DROPOUT_CHUNK elements: one rng_next()
 * of the caller's state gives a base, and chunk k of sample b draws from its
 * own stream rng_derive(rng_derive(base, sample0 + b), k). A seed therefore
 * reproduces the mask whatever the thread count and whichever process of a
 * data-parallel run holds the sample, and the chunks can be drawn in
 * parallel: drawing 22M values serially (the first dropout at the paper's
 * size) took ~170 ms on one core. */
#include "nn/nn.h"

#include "tensor/rng.h"

#define DROPOUT_CHUNK 4096
#define DROPOUT_PARALLEL_MIN 65536

// x (n) -> y (n) = x * mask, mask (n) in {0, 1/(1-p)}; y may alias x.
// p = 0 draws nothing and gives ones; p >= 1 gives zeros (PyTorch's p = 1).
void dropout_forward(const float *x, float *y, float *mask, size_t n, float p,
                     uint64_t *rng_state)
{
    dropout_forward_samples(x, y, mask, 1, n, p, rng_state, 0);
}

// x (B, n) -> y (B, n), mask (B, n); y may alias x
void dropout_forward_samples(const float *x, float *y, float *mask, int B, size_t per_sample,
                             float p, uint64_t *rng_state, long sample0)
{
    const size_t n = (size_t)B * per_sample;
    if (p <= 0.0f || p >= 1.0f) {
        const float m = p <= 0.0f ? 1.0f : 0.0f;
#pragma omp parallel for schedule(static) if (n >= DROPOUT_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) {
            mask[i] = m;
            y[i] = x[i] * m;
        }
        return;
    }
    const float keep = 1.0f / (1.0f - p);
    const uint64_t base = rng_next(rng_state);
    const size_t chunks = (per_sample + DROPOUT_CHUNK - 1) / DROPOUT_CHUNK;
    const size_t jobs = (size_t)B * chunks;
#pragma omp parallel for schedule(static) if (n >= DROPOUT_PARALLEL_MIN)
    for (size_t job = 0; job < jobs; job++) {
        const size_t b = job / chunks, k = job % chunks;
        uint64_t s = rng_derive(rng_derive(base, (uint64_t)(sample0 + (long)b)), k);
        const size_t start = b * per_sample + k * DROPOUT_CHUNK;
        const size_t end = b * per_sample +
                           ((k + 1) * DROPOUT_CHUNK < per_sample ? (k + 1) * DROPOUT_CHUNK : per_sample);
        for (size_t i = start; i < end; i++) {
            mask[i] = rng_uniform(&s) < p ? 0.0f : keep;
            y[i] = x[i] * mask[i];
        }
    }
}

// dy (n) -> dx (n) = dy * mask; dx may alias dy
void dropout_backward(const float *mask, const float *dy, float *dx, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= DROPOUT_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * mask[i];
}
