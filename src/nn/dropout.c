/* Inverted dropout as torch.nn.Dropout in training: an element is dropped when
 * rng_uniform() < p and the survivors are scaled by 1/(1-p), so evaluation is
 * the identity.
 *
 * The mask is drawn in fixed chunks of DROPOUT_CHUNK elements: one rng_next()
 * of the caller's state gives a base, and chunk k draws from its own stream
 * rng_derive(base, k). A seed therefore reproduces the mask whatever the thread
 * count, and the chunks can be drawn in parallel: drawing 22M values serially
 * (the first dropout at the paper's size) took ~170 ms on one core. */
#include "nn/nn.h"

#include "tensor/rng.h"

#define DROPOUT_CHUNK 4096
#define DROPOUT_PARALLEL_MIN 65536

// x (n) -> y (n) = x * mask, mask (n) in {0, 1/(1-p)}; y may alias x.
// p = 0 draws nothing and gives ones; p >= 1 gives zeros (PyTorch's p = 1).
void dropout_forward(const float *x, float *y, float *mask, size_t n, float p,
                     uint64_t *rng_state)
{
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
    const size_t chunks = (n + DROPOUT_CHUNK - 1) / DROPOUT_CHUNK;
#pragma omp parallel for schedule(static) if (n >= DROPOUT_PARALLEL_MIN)
    for (size_t k = 0; k < chunks; k++) {
        uint64_t s = rng_derive(base, k);
        const size_t end = (k + 1) * DROPOUT_CHUNK < n ? (k + 1) * DROPOUT_CHUNK : n;
        for (size_t i = k * DROPOUT_CHUNK; i < end; i++) {
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
