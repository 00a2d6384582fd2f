/* Log-mel spectrograms: periodic Hann window, FFTW r2c, sparse triangular mel
 * filterbank, optional log. The filterbank follows torchaudio's
 * melscale_fbanks / librosa's filters.mel (same formulas), so the presets
 * reproduce torchaudio.transforms.MelSpectrogram() and
 * librosa.feature.melspectrogram() defaults.
 *
 * One melspec object may be shared by several threads: melspec_compute uses
 * FFTW's new-array execute with buffers of its own, so results do not depend
 * on which thread computes them. */
#ifndef MRNET_FEATURES_MELSPEC_H
#define MRNET_FEATURES_MELSPEC_H

#include <stdbool.h>
#include <stdint.h>
#include "mrnet/mrnet.h"

typedef enum { MEL_SCALE_HTK, MEL_SCALE_SLANEY } mel_scale;
typedef enum { MEL_NORM_NONE, MEL_NORM_SLANEY } mel_norm;
typedef enum { MEL_PAD_REFLECT, MEL_PAD_CONSTANT } mel_pad;
/* NONE: the mel power itself. LN: ln(mult*x + offset). LOG10: log10(mult*x +
 * offset) (Essentia/musicnn use log10(1 + 10000 x)). DB: 10*log10(max(x,
 * amin)) (power) or 20*log10 (power 1), floored at max - top_db when top_db
 * > 0, like torchaudio's AmplitudeToDB and librosa's power_to_db (ref 1). */
typedef enum { MEL_LOG_NONE, MEL_LOG_LN, MEL_LOG_LOG10, MEL_LOG_DB } mel_log;

typedef struct {
    int sample_rate;    /* Hz of the samples given to melspec_compute */
    int n_fft;          /* FFT size; n_fft/2+1 frequency bins */
    int win_length;     /* Hann window length, <= n_fft, centred in the frame */
    int hop_length;     /* samples between frames */
    int n_mels;         /* mel bands (D) */
    float f_min, f_max; /* filterbank range in Hz; f_max <= 0 means sample_rate/2 */
    float power;        /* exponent of |X|: 2 power, 1 magnitude */
    bool center;        /* pad n_fft/2 both sides so frame t is centred at t*hop */
    mel_pad pad_mode;   /* padding used when center */
    mel_scale scale;
    mel_norm norm;
    bool window_normalize; /* Essentia Windowing(normalized=True): scale window to sum 2 */
    mel_log log;
    float log_mult, log_offset; /* for LN/LOG10 */
    float amin, top_db;         /* for DB; top_db <= 0: no floor */
} melspec_config;

typedef enum {
    MELSPEC_PRESET_MELON,      /* the Melon Playlist Dataset's 48-band setting */
    MELSPEC_PRESET_TORCHAUDIO, /* torchaudio.transforms.MelSpectrogram() defaults */
    MELSPEC_PRESET_LIBROSA     /* librosa.feature.melspectrogram() defaults (>= 0.10) */
} melspec_preset;

/* Fills every field from a preset. */
void melspec_config_preset(melspec_config *cfg, melspec_preset preset);
/* "melon", "torchaudio", "librosa" -> preset; MRNET_ERR_ARG names the bad one. */
mrnet_status melspec_preset_parse(const char *name, melspec_preset *preset);
/* Checks every field; names the first bad one. */
mrnet_status melspec_config_validate(const melspec_config *cfg);
/* A one-line description of every field (for stores and file metadata), e.g.
 * "sr=16000 n_fft=512 ...". Two configs produce the same string iff equal. */
void melspec_config_describe(const melspec_config *cfg, char *buf, size_t size);

/* Mel scale conversions (scalar, double precision). */
double mel_from_hz(double hz, mel_scale scale);
double mel_to_hz(double mel, mel_scale scale);

typedef struct melspec melspec;

mrnet_status melspec_create(const melspec_config *cfg, melspec **out);
void melspec_free(melspec *m);
const melspec_config *melspec_get_config(const melspec *m);
/* Frames produced for n samples (0 when too short without centering). */
int64_t melspec_frames(const melspec *m, int64_t n_samples);
/* Dense filterbank (n_freqs = n_fft/2+1, n_mels), torchaudio's layout; for
 * tests. Returns n_freqs. dst may be NULL to ask the size. */
int melspec_filterbank(const melspec *m, float *dst);

/* in (n) -> out (n_mels, T) row-major, T = melspec_frames(m, n) > 0.
 * Thread-safe for a shared m. MRNET_ERR_ARG when the input gives no frame,
 * MRNET_ERR_NUMERIC on non-finite input. */
mrnet_status melspec_compute(const melspec *m, const float *samples, int64_t n, float *out);

#endif
