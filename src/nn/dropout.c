/* Inverted dropout as torch.nn.Dropout in training: an element is dropped when
 * rng_uniform() < p and the survivors are scaled by 1/(1-p), so evaluation is
 * the identity. The mask is drawn serially from one RNG stream: one draw per
 * element in index order, so a seed reproduces the mask whatever the thread
 * count. */
#include "nn/nn.h"

#include "tensor/rng.h"

#define DROPOUT_PARALLEL_MIN 65536

// x (n) -> y (n) = x * mask, mask (n) in {0, 1/(1-p)}; y may alias x.
// p = 0 draws nothing and gives ones; p >= 1 gives zeros (PyTorch's p = 1).
void dropout_forward(const float *x, float *y, float *mask, size_t n, float p,
                     uint64_t *rng_state)
{
    if (p <= 0.0f) {
        for (size_t i = 0; i < n; i++)
            mask[i] = 1.0f;
    } else if (p >= 1.0f) {
        for (size_t i = 0; i < n; i++)
            mask[i] = 0.0f;
    } else {
        const float keep = 1.0f / (1.0f - p);
        for (size_t i = 0; i < n; i++)
            mask[i] = rng_uniform(rng_state) < p ? 0.0f : keep;
    }
#pragma omp parallel for schedule(static) if (n >= DROPOUT_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * mask[i];
}

// dy (n) -> dx (n) = dy * mask; dx may alias dy
void dropout_backward(const float *mask, const float *dy, float *dx, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= DROPOUT_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * mask[i];
}
