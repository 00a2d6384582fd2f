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
#include "mrnet/mrnet.h"

typedef enum { MRNET_MEL_SCALE_HTK, MRNET_MEL_SCALE_SLANEY } mrnet_mel_scale;
typedef enum { MRNET_MEL_NORM_NONE, MRNET_MEL_NORM_SLANEY } mrnet_mel_norm;
typedef enum { MRNET_MEL_PAD_REFLECT, MRNET_MEL_PAD_CONSTANT } mrnet_mel_pad;
/* NONE: the mel power itself. LN: ln(mult*x + offset). LOG10: log10(mult*x +
 * offset) (Essentia/musicnn use log10(1 + 10000 x)). DB: 10*log10(max(x,
 * amin)) (power) or 20*log10 (power 1), floored at max - top_db when top_db
 * > 0, like torchaudio's AmplitudeToDB and librosa's power_to_db (ref 1). */
typedef enum { MRNET_MEL_LOG_NONE, MRNET_MEL_LOG_LN, MRNET_MEL_LOG_LOG10, MRNET_MEL_LOG_DB } mrnet_mel_log;

typedef struct {
    int sample_rate;    /* Hz of the samples given to mrnet_melspec_compute */
    int n_fft;          /* FFT size; n_fft/2+1 frequency bins */
    int win_length;     /* Hann window length, <= n_fft, centred in the frame */
    int hop_length;     /* samples between frames */
    int n_mels;         /* mel bands (D) */
    float f_min, f_max; /* filterbank range in Hz; f_max <= 0 means sample_rate/2 */
    float power;        /* exponent of |X|: 2 power, 1 magnitude */
    bool center;        /* pad n_fft/2 both sides so frame t is centred at t*hop */
    mrnet_mel_pad pad_mode;   /* padding used when center */
    mrnet_mel_scale scale;
    mrnet_mel_norm norm;
    bool window_normalize; /* Essentia Windowing(normalized=True): scale window to sum 2 */
    mrnet_mel_log log;
    float log_mult, log_offset; /* for LN/LOG10 */
    float amin, top_db;         /* for DB; top_db <= 0: no floor */
} mrnet_mel_config;

typedef enum {
    MRNET_MEL_PRESET_MELON,      /* the Melon Playlist Dataset's 48-band setting */
    MRNET_MEL_PRESET_TORCHAUDIO, /* torchaudio.transforms.MelSpectrogram() defaults */
    MRNET_MEL_PRESET_LIBROSA     /* librosa.feature.melspectrogram() defaults (>= 0.10) */
} mrnet_mel_preset;

/* Fills every field from a preset. */
void mrnet_mel_config_preset(mrnet_mel_config *cfg, mrnet_mel_preset preset);
/* "melon", "torchaudio", "librosa" -> preset; MRNET_ERR_ARG names the bad one. */
mrnet_status mrnet_mel_preset_parse(const char *name, mrnet_mel_preset *preset);
/* Checks every field; names the first bad one. */
mrnet_status mrnet_mel_config_validate(const mrnet_mel_config *cfg);
/* A one-line description of every field (for stores and file metadata), e.g.
 * "sr=16000 n_fft=512 ...". Two configs produce the same string iff equal. */
void mrnet_mel_config_describe(const mrnet_mel_config *cfg, char *buf, size_t size);

/* Mel scale conversions (scalar, double precision). */
double mel_from_hz(double hz, mrnet_mel_scale scale);
double mel_to_hz(double mel, mrnet_mel_scale scale);

typedef struct mrnet_melspec mrnet_melspec;

mrnet_status mrnet_melspec_create(const mrnet_mel_config *cfg, mrnet_melspec **out);
void mrnet_melspec_free(mrnet_melspec *m);
const mrnet_mel_config *mrnet_melspec_get_config(const mrnet_melspec *m);
/* Frames produced for n samples (0 when too short without centering). */
int64_t mrnet_melspec_frames(const mrnet_melspec *m, int64_t n_samples);
/* Dense filterbank (n_freqs = n_fft/2+1, n_mels), torchaudio's layout; for
 * tests. Returns n_freqs. dst may be NULL to ask the size. */
int melspec_filterbank(const mrnet_melspec *m, float *dst);

/* in (n) -> out (n_mels, T) row-major, T = mrnet_melspec_frames(m, n) > 0.
 * Thread-safe for a shared m. MRNET_ERR_ARG when the input gives no frame,
 * MRNET_ERR_NUMERIC on non-finite input. */
mrnet_status mrnet_melspec_compute(const mrnet_melspec *m, const float *samples, int64_t n, float *out);

#endif
