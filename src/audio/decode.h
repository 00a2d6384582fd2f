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

#endif
