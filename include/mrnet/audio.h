/* mrnet/audio.h: decoding audio files (libsndfile) and PCM in memory to
 * planar float32, with a channel policy, partial reads and resampling
 * (libsoxr). */
#ifndef MRNET_AUDIO_H
#define MRNET_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mrnet/common.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Sample-rate conversion with libsoxr (linear phase, delay compensated). */

typedef enum {
    MRNET_RESAMPLE_QUICK, /* soxr "QQ": cubic, for previews */
    MRNET_RESAMPLE_HQ,    /* soxr HQ: 20-bit precision, passband to ~0.91 Nyquist (default) */
    MRNET_RESAMPLE_VHQ    /* soxr VHQ: 28-bit precision */
} mrnet_resample_quality;

/* Audio decoding with libsndfile (WAV, FLAC, Ogg Vorbis, Opus, MP3, AU,
 * AIFF and the rest libsndfile reads) to planar float32 in [-1, 1], with an
 * explicit channel policy, partial reads and resampling (audio/resample.h).
 *
 * Bad input never crashes: a missing, empty, garbage, zero-channel or
 * undecodable file is an error naming the file; a file that decodes only
 * partly (truncated) or is entirely silent decodes with a warning. */

typedef enum {
    MRNET_CHANNELS_STEREO, /* two channels: mono duplicated (the MRNet recipe); >2: the first two */
    MRNET_CHANNELS_MONO,   /* mean of all channels */
    MRNET_CHANNELS_KEEP    /* as many as the file has */
} mrnet_channels;

/* Bounds on what one decode may hold (docs/RELIABILITY.md, "Bounded
 * memory"): a file's rate must lie in [MIN_RATE, MAX_RATE]; the decoded
 * part (the whole file, or --duration) may last at most MAX_SECONDS and hold
 * at most MAX_SAMPLES samples (frames x channels, before and after
 * resampling). Beyond them the decode is refused, naming the file; take a
 * part with offset and duration. */
#define MRNET_AUDIO_MIN_RATE 1000
#define MRNET_AUDIO_MAX_RATE 768000
#define MRNET_AUDIO_MAX_SECONDS 7200.0
#define MRNET_AUDIO_MAX_SAMPLES ((int64_t)7200 * 48000 * 2)

typedef struct {
    int sample_rate;          /* target rate in Hz; 0 keeps the file's rate */
    mrnet_channels channels;
    double offset;            /* seconds from the start (>= 0) */
    double duration;          /* seconds to read; <= 0 reads to the end */
    mrnet_resample_quality quality;
} mrnet_audio_options;

/* 16 kHz, stereo (mono duplicated), whole file, soxr HQ. */
void mrnet_audio_options_default(mrnet_audio_options *opt);
/* "stereo", "mono", "keep" -> policy; MRNET_ERR_ARG otherwise. */
mrnet_status mrnet_channels_parse(const char *name, mrnet_channels *out);
const char *mrnet_channels_name(mrnet_channels c);

typedef struct {
    float *samples;      /* planar (channels, frames) */
    int channels;
    int64_t frames;
    int sample_rate;
    int file_channels;   /* as stored in the file */
    int file_rate;
    int64_t file_frames; /* as the header says; -1 when unknown */
    char format[64];     /* e.g. "WAV PCM_16" */
    char warning[256];   /* non-fatal problem ("" if none): truncated, silent */
} mrnet_audio;

typedef struct {
    int channels, sample_rate;
    int64_t frames;      /* -1 when unknown */
    char format[64];
} mrnet_audio_info;

/* Whether this build decodes with FFmpeg too (m4a/AAC/ALAC, WMA, Matroska,
 * WebM, CAF, APE, WavPack; tried when libsndfile cannot open a file). */
bool mrnet_audio_has_ffmpeg(void);
/* Whether a file name has an audio extension this build reads: wav flac ogg
 * oga opus mp3 au snd aiff aif, and with FFmpeg m4a m4b mp4 aac alac wma mka
 * webm caf ape wv ac3 (case-insensitive). */
bool mrnet_audio_is_media_name(const char *path);

/* Header facts without decoding. */
mrnet_status mrnet_audio_probe(const char *path, mrnet_audio_info *info);
/* Decodes [offset, offset + duration) of path. Seeks where the format
 * allows instead of decoding the skipped part. */
mrnet_status mrnet_audio_decode(const char *path, const mrnet_audio_options *opt, mrnet_audio *out);
void mrnet_audio_free(mrnet_audio *b);
/* PCM in memory (interleaved (frames, channels) float samples at
 * sample_rate) through the same channel policy, offset, duration,
 * resampling and checks as a decoded file; format is "PCM float". */
mrnet_status mrnet_audio_from_pcm(const float *pcm, int channels, int64_t frames, int sample_rate,
                                  const mrnet_audio_options *opt, mrnet_audio *out);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
