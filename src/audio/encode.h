/* Writing audio files with libsndfile (the demo set's clips). */
#ifndef MRNET_AUDIO_ENCODE_H
#define MRNET_AUDIO_ENCODE_H

#include <stdbool.h>
#include <stdint.h>
#include <mrnet/audio.h>

/* Interleaved (frames, channels) float samples -> a 16-bit PCM WAV at path,
 * atomically (a temporary, fsync, rename): a failure, full disk included,
 * leaves no file and any old one untouched. */
mrnet_status audio_write_wav16(const char *path, const float *x, int channels, int64_t frames, int rate);

/* Whether path is a complete audio file of this rate, channel count and
 * length (files are renamed into place only when whole, so a match is a
 * clip written earlier). */
bool audio_wav_matches(const char *path, int rate, int channels, int64_t frames);

#endif
