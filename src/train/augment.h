/* The training recipe's data views and augmentation (mrnet.md, "Training
 * recipe"), on planar (C, T) arrays: C channels (or S*D feature rows) of T
 * samples (or frames). Everything random takes an explicit rng state
 * (tensor/rng.h), so a seed reproduces a run exactly.
 *
 *   training:    augment_random_start + mrnet_crop_wrap (6 s, wrap padding),
 *                then augment_gaussian_noise once per mini-batch
 *   validation:  mrnet_crop_wrap from t0 = 0 (the first 6 s), mrnet/infer.h
 *   evaluation:  the whole track, or mrnet_window_* sliding windows */
#ifndef MRNET_TRAIN_AUGMENT_H
#define MRNET_TRAIN_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mrnet/infer.h>
#include <mrnet/train.h>

/* Start of a random training crop: uniform in [0, T - len] when T > len,
 * else 0 (the clip is wrap-padded instead). */
int64_t augment_random_start(uint64_t *rng, int64_t T, int64_t len);

/* With probability p draws one mean m and one standard deviation s, then adds
 * N(m, s^2) i.i.d. to each of the n values (call it on a whole mini-batch for
 * the release's behaviour, or per example). Returns whether it applied. The
 * number of draws depends only on n and the outcome, never on threads. */
bool augment_gaussian_noise(uint64_t *rng, const mrnet_noise_config *cfg, float *x, size_t n);

/* SpecAugment-style masking of one example x (P, T, D) (P planes of T frames
 * of D features, the model input's layout): n_time masks of a uniform width
 * in [0, max_frames] across all features, then n_freq masks of a width in
 * [0, max_bands] across all frames. A masked value becomes the mean of its
 * (plane, feature) over the T frames, which the input normalisation maps to
 * zero. */
void augment_mask(uint64_t *rng, float *x, int P, int64_t T, int D, int n_time, int64_t max_frames,
                  int n_freq, int max_bands);

#endif
