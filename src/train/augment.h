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
/* Its two halves: whether to apply, and the mean and std (false: no noise);
 * then the values, from any stream (one per example keeps a batch's noise
 * the same however it is shared between processes). */
bool augment_noise_draw(uint64_t *rng, const mrnet_noise_config *cfg, float *mean, float *std);
void augment_noise_add(uint64_t *rng, float mean, float std, float *x, size_t n);

/* SpecAugment-style masking of one example x (P, T, D) (P planes of T frames
 * of D features, the model input's layout): n_time masks of a uniform width
 * in [0, max_frames] across all features, then n_freq masks of a width in
 * [0, max_bands] across all frames. A masked value becomes the mean of its
 * (plane, feature) over the T frames, which the input normalisation maps to
 * zero. */
void augment_mask(uint64_t *rng, float *x, int P, int64_t T, int D, int n_time, int64_t max_frames,
                  int n_freq, int max_bands);

/* ---- soft targets (beyond the paper) ---- */

/* targets (B, K): one-hot rows of labels smoothed towards uniform:
 * (1 - smoothing) onehot + smoothing / K. */
void augment_soft_targets(const int *labels, int B, int K, double smoothing, float *targets);

/* A mixup weight: lambda ~ Beta(alpha, alpha), folded to [0.5, 1] so each
 * example stays the larger part of its mix (its label keeps the majority). */
double augment_mixup_weight(uint64_t *rng, double alpha);
/* augment_mixup's draws: lambda, then the partner of each of B rows. */
double augment_mixup_pairs(uint64_t *rng, double alpha, int B, int *partner);
/* x (n) = lambda x + (1 - lambda) xp */
void augment_mix(double lambda, float *x, const float *xp, size_t n);

/* Mixup (Zhang et al. 2018) of a batch x (B, slot) with targets (B, K): one
 * lambda for the batch (augment_mixup_weight) and a random permutation; row b
 * becomes lambda row b + (1 - lambda) row partner(b), in x and in targets.
 * partner (B), x_copy (B, slot) and targets_copy (B, K) are scratch. B < 2
 * leaves the batch as it is. */
void augment_mixup(uint64_t *rng, double alpha, float *x, size_t slot, float *targets, int B,
                   int K, int *partner, float *x_copy, float *targets_copy);

#endif
