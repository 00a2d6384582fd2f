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
#include "audio/decode.h"
#include "features/melspec.h"
#include "mrnet/mrnet.h"

typedef enum {
    MRNET_FEATURES_MEL,     /* (S, n_mels, frames) */
    MRNET_FEATURES_WAVEFORM /* (S, 1, samples) at audio.sample_rate */
} mrnet_features_kind;

typedef struct {
    mrnet_features_kind kind;
    mrnet_mel_config mel;         /* for MRNET_FEATURES_MEL; its sample_rate wins over audio's */
    mrnet_audio_options audio; /* channel policy, offset/duration, resampling */
} mrnet_features_options;

/* Mel features of the Melon preset, mono (S 1, D 48): the mel model's input. */
void mrnet_features_options_default(mrnet_features_options *opt);
/* A line that identifies the options that change the numbers (kind, mel
 * settings, rate, channels, offset, duration, resampler): a store made with
 * another line is stale. */
void mrnet_features_options_describe(const mrnet_features_options *opt, char *buf, size_t size);
/* "mel" / "waveform" -> kind. */
mrnet_status mrnet_features_kind_parse(const char *name, mrnet_features_kind *kind);

typedef struct {
    float *data;        /* (S, D, T) */
    int S, D;
    int64_t T;
    double frame_rate;  /* frames per second along T (0 unknown, e.g. npy input) */
    bool from_npy;
    char warning[256];  /* non-fatal problem ("" if none): silent, truncated, all zeros */
} mrnet_features;

/* Computes the features of path. m: a melspec made from opt->mel, shared
 * between threads, or NULL to make one for this call. For .npy input the
 * array must be (D, T) or (S, D, T) with D = n_mels (mel kind); offset and
 * duration are applied in frames of the mel hop. */
mrnet_status mrnet_features_from_file(const char *path, const mrnet_features_options *opt, const mrnet_melspec *m, mrnet_features *out);
void mrnet_features_free(mrnet_features *f);

/* True when path ends in .npy (case-insensitive). */
bool features_is_npy(const char *path);

#endif
