/* Features of one file, as `mrnet features` and `mrnet extract` make them:
 * an audio file is decoded (audio/decode.h), resampled and turned into a
 * log-mel spectrogram per channel (audio/melspec.h), or kept as a waveform;
 * a .npy file (the Melon set's mel-spectrograms) is read and validated.
 * The result is always (S, D, T) float32: S channels, D bands (1 for a
 * waveform), T frames (samples for a waveform). */
#ifndef MRNET_FEATURES_FEATURES_H
#define MRNET_FEATURES_FEATURES_H

#include <stdbool.h>
#include <stdint.h>
#include <mrnet/features.h>
#include "audio/decode.h"
#include "features/melspec.h"

/* The features of decoded audio, which this call owns and frees; name is
 * for messages. */
mrnet_status features_of_audio(const char *name, mrnet_audio *audio, const mrnet_features_options *opt,
                               const mrnet_melspec *m, mrnet_features *out);
/* The encoder windows of n samples (mrnet_wavlm_options): their count, and
 * when it is <= max, their starts and lengths in samples. */
int64_t features_wavlm_segments(const mrnet_wavlm_options *w, int64_t n, int64_t *starts, int64_t *lens, int64_t max);

/* True when path ends in .npy (case-insensitive). */
bool features_is_npy(const char *path);

#endif
