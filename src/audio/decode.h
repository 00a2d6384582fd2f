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
#include <mrnet/audio.h>
#include "audio/resample.h"

/* Whether path opens with libsndfile and yields at least one frame; why
 * receives the reason when not (for dataset checks that skip, not fail). */
bool audio_is_readable(const char *path, char *why, size_t why_size);

/* What FFmpeg decoded: interleaved (frames, channels) float samples at the
 * stream's rate, from offset seconds, at most duration seconds (0: all). */
typedef struct {
    float *samples;
    int64_t frames;
    int64_t file_frames; /* from the container's duration; -1 unknown */
    int channels, rate;
    char format[64];          /* "mov,mp4,m4a,3gp,3g2,mj2, aac (FFmpeg)" */
    char decode_error[160];   /* set when decoding broke off (the samples before it kept) */
    bool offset_past_end;
} audio_ffmpeg_result;

/* MRNET_ERR_FORMAT with FFmpeg's reason (no path: the caller names the
 * file and what libsndfile said), MRNET_ERR_UNSUPPORTED past max_frames or
 * in a build without FFmpeg. */
mrnet_status audio_ffmpeg_read(const char *path, double offset, double duration, int64_t (*max_frames)(int, int),
                               audio_ffmpeg_result *res);

#endif
