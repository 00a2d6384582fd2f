/* Audio decoding with libsndfile (WAV, FLAC, Ogg Vorbis, Opus, MP3, AU,
 * AIFF and the rest libsndfile reads) to planar float32 in [-1, 1], with an
 * explicit channel policy, partial reads and resampling (audio/resample.h).
 *
 * Bad input never crashes: a missing, empty, garbage, zero-channel or
 * undecodable file is an error naming the file; a file that decodes only
 * partly (truncated) or is entirely silent decodes with a warning. */
#ifndef MRNET_AUDIO_DECODE_H
#define MRNET_AUDIO_DECODE_H

#include <stdint.h>
#include "audio/resample.h"
#include "mrnet/mrnet.h"

typedef enum {
    AUDIO_CHANNELS_STEREO, /* two channels: mono duplicated (the MRNet recipe); >2: the first two */
    AUDIO_CHANNELS_MONO,   /* mean of all channels */
    AUDIO_CHANNELS_KEEP    /* as many as the file has */
} audio_channels;

typedef struct {
    int sample_rate;          /* target rate in Hz; 0 keeps the file's rate */
    audio_channels channels;
    double offset;            /* seconds from the start (>= 0) */
    double duration;          /* seconds to read; <= 0 reads to the end */
    resample_quality quality;
} audio_decode_options;

/* 16 kHz, stereo (mono duplicated), whole file, soxr HQ. */
void audio_decode_options_default(audio_decode_options *opt);
/* "stereo", "mono", "keep" -> policy; MRNET_ERR_ARG otherwise. */
mrnet_status audio_channels_parse(const char *name, audio_channels *out);
const char *audio_channels_name(audio_channels c);

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
} audio_buffer;

typedef struct {
    int channels, sample_rate;
    int64_t frames;      /* -1 when unknown */
    char format[64];
} audio_info;

/* Header facts without decoding. */
mrnet_status audio_probe(const char *path, audio_info *info);
/* Decodes [offset, offset + duration) of path. Seeks where the format
 * allows instead of decoding the skipped part. */
mrnet_status audio_decode(const char *path, const audio_decode_options *opt, audio_buffer *out);
void audio_buffer_free(audio_buffer *b);

#endif
