/* Sample-rate conversion with libsoxr (linear phase, delay compensated). */
#ifndef MRNET_AUDIO_RESAMPLE_H
#define MRNET_AUDIO_RESAMPLE_H

#include <stdint.h>
#include <mrnet/audio.h>

/* Planar in (channels, in_frames) at in_rate -> planar out (channels,
 * *out_frames) at out_rate, malloc'd. *out_frames = round(in_frames *
 * out_rate / in_rate). Equal rates copy. Single-threaded (safe to call from
 * several threads at once). path is for messages (may be NULL). */
mrnet_status audio_resample(const char *path, const float *in, int channels, int64_t in_frames, int in_rate,
                            int out_rate, mrnet_resample_quality quality, float **out, int64_t *out_frames);

#endif
