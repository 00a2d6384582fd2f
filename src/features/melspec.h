/* Log-mel spectrograms: periodic Hann window, FFTW r2c, sparse triangular mel
 * filterbank, optional log. The filterbank follows torchaudio's
 * melscale_fbanks / librosa's filters.mel (same formulas), so the presets
 * reproduce torchaudio.transforms.MelSpectrogram() and
 * librosa.feature.melspectrogram() defaults.
 *
 * One melspec object may be shared by several threads: mrnet_melspec_compute uses
 * FFTW's new-array execute with buffers of its own, so results do not depend
 * on which thread computes them. */
#ifndef MRNET_FEATURES_MELSPEC_H
#define MRNET_FEATURES_MELSPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <mrnet/features.h>

/* Mel scale conversions (scalar, double precision). */
double mel_from_hz(double hz, mrnet_mel_scale scale);
double mel_to_hz(double mel, mrnet_mel_scale scale);

/* Dense filterbank (n_freqs = n_fft/2+1, n_mels), torchaudio's layout; for
 * tests. Returns n_freqs. dst may be NULL to ask the size. */
int melspec_filterbank(const mrnet_melspec *m, float *dst);

#endif
