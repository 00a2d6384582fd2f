/* Synthetic "music-like" labelled audio for the demo and for tests: five
 * styles that differ in tempo, metre, rhythm, timbre and harmony.
 *
 *   ballad      ~68 bpm 4/4, sine pads on major triads, soft sine melody
 *   techno      ~128 bpm, four-on-the-floor kick, hi-hats, 16th saw bass
 *   waltz       ~96 bpm 3/4, Karplus-Strong plucked bass and chords
 *   jazz        ~140 bpm swung ride, walking bass, diatonic 7th chords
 *   noise-rock  ~150 bpm distorted square power chords, dense snare noise
 *
 * Each clip varies in key, tempo (+-10 %), loudness, part mix, progression,
 * starting bar and noise floor, all drawn from a seeded generator, so clip i
 * of a style is the same for the same seed on every machine. */
#ifndef MRNET_DATA_SYNTH_H
#define MRNET_DATA_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include <mrnet/data.h>

typedef enum {
    SYNTH_BALLAD,
    SYNTH_TECHNO,
    SYNTH_WALTZ,
    SYNTH_JAZZ,
    SYNTH_NOISE_ROCK,
    SYNTH_STYLES
} synth_style;

/* "ballad", "techno", "waltz", "jazz", "noise-rock" */
extern const char *const synth_style_names[SYNTH_STYLES];
/* Index of a style name, or -1. */
int synth_style_index(const char *name);

/* Clip `index` of a style, mono, at sample_rate (8 000 .. 96 000 Hz), n
 * samples into out; values are finite and within [-1, 1]. */
mrnet_status synth_clip(synth_style style, int index, uint64_t seed, int sample_rate, float *out,
                        size_t n);

#endif
