/* mrnet/features.h: the features MRNet reads (log-mel or waveform), of files
 * and of PCM in memory, with the settings a store or checkpoint records. */
#ifndef MRNET_FEATURES_H
#define MRNET_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mrnet/common.h>
#include <mrnet/audio.h>
#include <mrnet/frontend.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Log-mel spectrograms: periodic Hann window, FFTW r2c, sparse triangular mel
 * filterbank, optional log. The filterbank follows torchaudio's
 * melscale_fbanks / librosa's filters.mel (same formulas), so the presets
 * reproduce torchaudio.transforms.MelSpectrogram() and
 * librosa.feature.melspectrogram() defaults.
 *
 * One melspec object may be shared by several threads: mrnet_melspec_compute uses
 * FFTW's new-array execute with buffers of its own, so results do not depend
 * on which thread computes them. */

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

typedef struct mrnet_melspec mrnet_melspec;
/* The centre frequency (Hz) of each of the n_mels bands, lowest first:
 * the peaks of the filterbank's triangles (for axes). */
mrnet_status mrnet_mel_band_hz(const mrnet_mel_config *cfg, double *centre_hz);
/* n feature values of cfg's log (none, ln, log10, dB) as decibels,
 * 10 log10 of the power (or of mult * power + offset): what a picture's
 * colours and --image-range are in. Power at or below 1e-10 is -100 dB. */
void mrnet_mel_values_to_db(const mrnet_mel_config *cfg, const float *in, float *out, size_t n);
mrnet_status mrnet_melspec_create(const mrnet_mel_config *cfg, mrnet_melspec **out);
void mrnet_melspec_free(mrnet_melspec *m);
const mrnet_mel_config *mrnet_melspec_get_config(const mrnet_melspec *m);
/* Frames produced for n samples (0 when too short without centering). */
int64_t mrnet_melspec_frames(const mrnet_melspec *m, int64_t n_samples);

/* in (n) -> out (n_mels, T) row-major, T = mrnet_melspec_frames(m, n) > 0.
 * Thread-safe for a shared m. MRNET_ERR_ARG when the input gives no frame,
 * MRNET_ERR_NUMERIC on non-finite input. */
mrnet_status mrnet_melspec_compute(const mrnet_melspec *m, const float *samples, int64_t n, float *out);

/* Features of one file, as `mrnet features` and `mrnet extract` make them:
 * an audio file is decoded (audio/decode.h), resampled and turned into a
 * log-mel spectrogram per channel (mrnet_melspec above), or kept as a waveform;
 * a .npy file (the Melon set's mel-spectrograms) is read and validated.
 * The result is always (S, L, D, T) float32: S channels, L stacked
 * layers (WavLM's hidden states; 1 otherwise), D bands (1 for a waveform,
 * 768 for WavLM), T frames (samples for a waveform). */

typedef enum {
    MRNET_FEATURES_MEL,      /* (S, n_mels, frames) */
    MRNET_FEATURES_WAVEFORM, /* (S, 1, samples) at audio.sample_rate */
    MRNET_FEATURES_WAVLM     /* (S, L, 768, frames): WavLM Base+ hidden states, 16 kHz, 50 frames/s */
} mrnet_features_kind;

#define MRNET_WAVLM_MAX_STATES 32
#define MRNET_WAVLM_WINDOW_SECONDS 30.0

/* Settings of the WavLM front end.
 * - States: all of them (L = 13, what MRNet's learned layer mix reads), or
 *   a fixed pre-mix (L = 1: sum of mix[l] * state l) for users who freeze
 *   the mix, 13 times less disk.
 * - Long inputs: the encoder runs on consecutive windows of window_seconds
 *   (30 s, the paper's clip length) laid on the whole input's frame grid: window k
 *   covers samples [kW, kW + W + 80), giving frames [kW/320, (k+1)W/320);
 *   the last window runs to the end and absorbs a remainder shorter than
 *   W / 2. Memory is then bounded by the window, not the track; an input
 *   up to 1.5 W long is computed in one pass, exactly as the paper does. */
typedef struct {
    const mrnet_wavlm *model; /* loaded weights, borrowed, shareable between threads; NULL: loaded from weights per call */
    char weights[1024];       /* the weight file; not in the settings line (a copy elsewhere is the same front end) */
    char fingerprint[17];     /* mrnet_wavlm_fingerprint() of the weights; "" until known; checked when both are known */
    int n_mix;                /* 0: every state; else states to mix (must equal mrnet_wavlm_states()) */
    float mix[MRNET_WAVLM_MAX_STATES];
    double window_seconds;    /* MRNET_WAVLM_WINDOW_SECONDS */
} mrnet_wavlm_options;

typedef struct {
    mrnet_features_kind kind;
    mrnet_mel_config mel;         /* for MRNET_FEATURES_MEL; its sample_rate wins over audio's */
    mrnet_audio_options audio; /* channel policy, offset/duration, resampling */
    mrnet_wavlm_options wavlm;    /* for MRNET_FEATURES_WAVLM */
} mrnet_features_options;

/* Mel features of the Melon preset, mono (S 1, D 48): the mel model's input. */
void mrnet_features_options_default(mrnet_features_options *opt);
/* The paper's WavLM input: all 13 states of each stereo channel at 16 kHz
 * (mono files duplicated), weights from the file `weights` (may be NULL,
 * set later). */
void mrnet_features_options_wavlm(mrnet_features_options *opt, const char *weights);
/* Loads opt->wavlm.weights into *model when opt is WavLM and has no model
 * yet, sets opt->wavlm.model and checks the fingerprint the settings
 * recorded (MRNET_ERR_ARG: "made with other weights"). *model is NULL when
 * nothing was loaded; free it with mrnet_wavlm_free after the last use. */
mrnet_status mrnet_features_options_load(mrnet_features_options *opt, mrnet_wavlm **model);
/* L of the features these options make: 13 (or 1 pre-mixed) for WavLM, 1 otherwise. */
int mrnet_features_options_layers(const mrnet_features_options *opt);
/* A line that identifies the options that change the numbers (kind, mel
 * settings, rate, channels, offset, duration, resampler): a store made with
 * another line is stale. */
void mrnet_features_options_describe(const mrnet_features_options *opt, char *buf, size_t size);
/* "mel" / "waveform" / "wavlm" -> kind. */
mrnet_status mrnet_features_kind_parse(const char *name, mrnet_features_kind *kind);

typedef struct {
    float *data;        /* (S, L, D, T) */
    int S, L, D;        /* L 1 except for WavLM hidden states */
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
/* The same for PCM in memory: interleaved (frames, channels) float samples
 * in [-1, 1] at sample_rate Hz, taken through the settings' channel policy,
 * offset, duration and resampling like a decoded file. */
mrnet_status mrnet_features_from_pcm(const float *pcm, int channels, int64_t frames, int sample_rate,
                                     const mrnet_features_options *opt, const mrnet_melspec *m,
                                     mrnet_features *out);
void mrnet_features_free(mrnet_features *f);

/* The inverse of mrnet_features_options_describe(): a checkpoint records the line
 * of the store it was trained on ("mrnet.features"), and prediction on raw
 * audio rebuilds the same options from it, so the features match. */

/* Fills opt from a description line; MRNET_ERR_FORMAT names the bad token.
 * Round trip: describe(parse(line)) == line for any line describe wrote. */
mrnet_status mrnet_features_options_parse(const char *line, mrnet_features_options *opt);

/* Frames per second along T: sample_rate / hop for mel features, the sample
 * rate for waveforms. */
double mrnet_features_options_frame_rate(const mrnet_features_options *opt);

/* Frames per second from a store's or checkpoint's settings line ("rate=..
 * hop=.."); 0 when it cannot be told (features read from .npy files). */
double mrnet_features_settings_frame_rate(const char *settings);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
