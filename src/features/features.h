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
    FEATURES_MEL,     /* (S, n_mels, frames) */
    FEATURES_WAVEFORM /* (S, 1, samples) at audio.sample_rate */
} features_kind;

typedef struct {
    features_kind kind;
    melspec_config mel;         /* for FEATURES_MEL; its sample_rate wins over audio's */
    audio_decode_options audio; /* channel policy, offset/duration, resampling */
} features_options;

/* Mel features of the Melon preset, mono (S 1, D 48): the mel model's input. */
void features_options_default(features_options *opt);
/* A line that identifies the options that change the numbers (kind, mel
 * settings, rate, channels, offset, duration, resampler): a store made with
 * another line is stale. */
void features_options_describe(const features_options *opt, char *buf, size_t size);
/* "mel" / "waveform" -> kind. */
mrnet_status features_kind_parse(const char *name, features_kind *kind);

typedef struct {
    float *data;        /* (S, D, T) */
    int S, D;
    int64_t T;
    double frame_rate;  /* frames per second along T (0 unknown, e.g. npy input) */
    bool from_npy;
    char warning[256];  /* non-fatal problem ("" if none): silent, truncated, all zeros */
} features;

/* Computes the features of path. m: a melspec made from opt->mel, shared
 * between threads, or NULL to make one for this call. For .npy input the
 * array must be (D, T) or (S, D, T) with D = n_mels (mel kind); offset and
 * duration are applied in frames of the mel hop. */
mrnet_status features_extract_file(const char *path, const features_options *opt, const melspec *m, features *out);
void features_free(features *f);

/* True when path ends in .npy (case-insensitive). */
bool features_is_npy(const char *path);

#endif
