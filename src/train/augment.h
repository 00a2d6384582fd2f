/* The training recipe's data views and augmentation (mrnet.md, "Training
 * recipe"), on planar (C, T) arrays: C channels (or S*D feature rows) of T
 * samples (or frames). Everything random takes an explicit rng state
 * (tensor/rng.h), so a seed reproduces a run exactly.
 *
 *   training:    augment_random_start + mrnet_crop_wrap (6 s, wrap padding),
 *                then augment_gaussian_noise once per mini-batch
 *   validation:  mrnet_crop_wrap from t0 = 0 (the first 6 s)
 *   evaluation:  the whole track, or augment_window_* sliding windows */
#ifndef MRNET_TRAIN_AUGMENT_H
#define MRNET_TRAIN_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* src (C, T) -> dst (C, len) with dst[c][k] = src[c][(t0 + k) mod T]: a crop
 * that wraps to the start, which is the release's repeat padding when
 * T < len (np.pad mode 'wrap'). Requires T > 0, 0 <= t0. */
void mrnet_crop_wrap(const float *src, int channels, int64_t T, int64_t t0, int64_t len, float *dst);

/* Start of a random training crop: uniform in [0, T - len] when T > len,
 * else 0 (the clip is wrap-padded instead). */
int64_t augment_random_start(uint64_t *rng, int64_t T, int64_t len);

/* GaussianNoise(p=0.7, mean=[-0.03, 0.03], std=[0.05, 0.1]) of the release. */
typedef struct {
    float p;                 /* probability of applying */
    float mean_lo, mean_hi;  /* mean ~ U(mean_lo, mean_hi) */
    float std_lo, std_hi;    /* std ~ U(std_lo, std_hi) */
} mrnet_noise_config;

void mrnet_noise_default(mrnet_noise_config *cfg);
/* With probability p draws one mean m and one standard deviation s, then adds
 * N(m, s^2) i.i.d. to each of the n values (call it on a whole mini-batch for
 * the release's behaviour, or per example). Returns whether it applied. The
 * number of draws depends only on n and the outcome, never on threads. */
bool augment_gaussian_noise(uint64_t *rng, const mrnet_noise_config *cfg, float *x, size_t n);

/* Sliding windows of len with hop over T, the last one ending at T; T <= len
 * gives a single (wrap-padded) window at 0. */
int64_t mrnet_window_count(int64_t T, int64_t len, int64_t hop);
int64_t mrnet_window_start(int64_t T, int64_t len, int64_t hop, int64_t index);

#endif
