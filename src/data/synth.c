/* The synthetic styles: a few instruments rendered additively into the
 * clip, and one arranger per style. Plain float math, no allocation except
 * one scratch buffer per clip (noise-rock's distortion bus). */
#include "data/synth.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/rng.h"

const char *const synth_style_names[SYNTH_STYLES] = {"ballad", "techno", "waltz", "jazz",
                                                     "noise-rock"};

int synth_style_index(const char *name)
{
    for (int i = 0; i < SYNTH_STYLES; i++)
        if (strcmp(name, synth_style_names[i]) == 0)
            return i;
    return -1;
}

#define TWO_PI 6.283185307179586f

typedef struct {
    float *out;
    size_t n;
    float sr;
    uint64_t rng;
} canvas;

static float uniform(canvas *c, float lo, float hi) { return rng_uniform_range(&c->rng, lo, hi); }
static int below(canvas *c, int n) { return (int)rng_below(&c->rng, (uint64_t)n); }
static bool chance(canvas *c, float p) { return rng_uniform(&c->rng) < p; }
static float white(canvas *c) { return 2.0f * rng_uniform(&c->rng) - 1.0f; }
static float midi_hz(float m) { return 440.0f * powf(2.0f, (m - 69.0f) / 12.0f); }

/* Sample range [s0, s1) of an event at t0 lasting len seconds, clipped. */
static bool span(const canvas *c, float t0, float len, size_t *s0, size_t *s1)
{
    if (t0 < 0)
        t0 = 0;
    double a = floor((double)t0 * c->sr), b = ceil((double)(t0 + len) * c->sr);
    if (a >= (double)c->n || b <= a)
        return false;
    *s0 = (size_t)a;
    *s1 = b > (double)c->n ? c->n : (size_t)b;
    return true;
}

typedef enum { WAVE_SINE, WAVE_TRIANGLE, WAVE_SAW, WAVE_SQUARE } wave;

static float oscillator(wave w, float phase) /* phase in [0, 1) */
{
    switch (w) {
    case WAVE_SINE: return sinf(TWO_PI * phase);
    case WAVE_TRIANGLE: return 4.0f * fabsf(phase - 0.5f) - 1.0f;
    case WAVE_SAW: return 2.0f * phase - 1.0f;
    case WAVE_SQUARE: return phase < 0.5f ? 1.0f : -1.0f;
    }
    return 0;
}

/* A held note: linear attack, sustain, linear release at the end. */
static void note_held(canvas *c, float *dst, float t0, float dur, float hz, float amp, wave w,
                      float attack, float release)
{
    size_t s0, s1;
    if (hz <= 0 || hz >= 0.45f * c->sr || !span(c, t0, dur, &s0, &s1))
        return;
    float phase = 0, step = hz / c->sr;
    for (size_t i = s0; i < s1; i++) {
        float t = (float)(i - s0) / c->sr;
        float env = fminf(1.0f, t / attack) * fminf(1.0f, (dur - t) / release);
        dst[i] += amp * fmaxf(env, 0.0f) * oscillator(w, phase);
        phase += step;
        phase -= floorf(phase);
    }
}

/* A struck note: instant attack, exponential decay with time constant tau. */
static void note_struck(canvas *c, float *dst, float t0, float hz, float amp, wave w, float tau)
{
    size_t s0, s1;
    if (hz <= 0 || hz >= 0.45f * c->sr || !span(c, t0, 5 * tau, &s0, &s1))
        return;
    float phase = 0, step = hz / c->sr, env = amp, k = expf(-1.0f / (tau * c->sr));
    for (size_t i = s0; i < s1; i++) {
        float click = i - s0 < 16 ? (float)(i - s0) / 16 : 1.0f; /* no DC step */
        dst[i] += env * click * oscillator(w, phase);
        env *= k;
        phase += step;
        phase -= floorf(phase);
    }
}

static void kick(canvas *c, float t0, float amp)
{
    size_t s0, s1;
    if (!span(c, t0, 0.35f, &s0, &s1))
        return;
    float phase = 0;
    for (size_t i = s0; i < s1; i++) {
        float t = (float)(i - s0) / c->sr;
        float hz = 48.0f + 110.0f * expf(-t / 0.035f); /* pitch drop */
        c->out[i] += amp * expf(-t / 0.12f) * sinf(TWO_PI * phase);
        phase += hz / c->sr;
        phase -= floorf(phase);
    }
}

/* Noise burst (snare, clap, crash): white noise with an optional tone. */
static void snare(canvas *c, float t0, float amp, float tau, float tone_hz)
{
    size_t s0, s1;
    if (!span(c, t0, 5 * tau, &s0, &s1))
        return;
    float env = amp, k = expf(-1.0f / (tau * c->sr)), phase = 0;
    for (size_t i = s0; i < s1; i++) {
        float t = (float)(i - s0) / c->sr;
        float body = tone_hz > 0 ? 0.5f * expf(-t / 0.04f) * sinf(TWO_PI * phase) : 0.0f;
        c->out[i] += env * (0.8f * white(c) + body);
        env *= k;
        phase += tone_hz / c->sr;
        phase -= floorf(phase);
    }
}

/* Hi-hat: first-difference (high-passed) noise. */
static void hat(canvas *c, float t0, float amp, float tau)
{
    size_t s0, s1;
    if (!span(c, t0, 5 * tau, &s0, &s1))
        return;
    float env = amp, k = expf(-1.0f / (tau * c->sr)), prev = 0;
    for (size_t i = s0; i < s1; i++) {
        float x = white(c);
        c->out[i] += env * 0.6f * (x - prev);
        prev = x;
        env *= k;
    }
}

/* Ride cymbal: bright noise wash plus inharmonic partials (the "ping"). */
static void ride(canvas *c, float t0, float amp)
{
    static const float partials[] = {2310, 3170, 4650, 5430};
    size_t s0, s1;
    if (!span(c, t0, 1.0f, &s0, &s1))
        return;
    float prev = 0;
    for (size_t i = s0; i < s1; i++) {
        float t = (float)(i - s0) / c->sr, x = white(c), ping = 0;
        for (int p = 0; p < 4; p++)
            if (partials[p] < 0.45f * c->sr)
                ping += sinf(TWO_PI * partials[p] * t);
        c->out[i] += amp * (0.35f * expf(-t / 0.2f) * (x - prev) + 0.12f * expf(-t / 0.35f) * ping);
        prev = x;
    }
}

/* Karplus-Strong plucked string: a noise-filled delay line, averaged. */
static void pluck(canvas *c, float t0, float hz, float amp, float decay, float len)
{
    enum { MAX_DELAY = 4096 };
    float line[MAX_DELAY];
    size_t s0, s1;
    if (hz <= 0 || !span(c, t0, len, &s0, &s1))
        return;
    int L = (int)lroundf(c->sr / hz);
    if (L < 2 || L > MAX_DELAY)
        return;
    for (int i = 0; i < L; i++)
        line[i] = white(c);
    int pos = 0;
    for (size_t i = s0; i < s1; i++) {
        int next = pos + 1 == L ? 0 : pos + 1;
        float y = line[pos];
        line[pos] = decay * 0.5f * (line[pos] + line[next]);
        c->out[i] += amp * y;
        pos = next;
    }
}

/* ---- harmony ---- */

static const int major_scale[7] = {0, 2, 4, 5, 7, 9, 11};

/* Semitones of scale degree d (any integer) of the major scale. */
static int degree(int d)
{
    int octave = d >= 0 ? d / 7 : -((-d + 6) / 7);
    return 12 * octave + major_scale[d - 7 * octave];
}

/* Diatonic chord on degree d: triad (3 notes) or seventh chord (4). */
static void chord(int root_midi, int d, int notes, float *out_midi)
{
    for (int i = 0; i < notes; i++)
        out_midi[i] = (float)(root_midi + degree(d + 2 * i));
}

/* ---- styles ---- */

typedef struct {
    float beat;     /* seconds per beat */
    int key;        /* MIDI note of the tonic, varies per clip */
    float mix[4];   /* per-part gains, varied per clip */
    int first_bar;  /* where in the progression the clip starts */
    bool extra;     /* style-specific optional part (the ballad's beat) */
} clip_params;

static void ballad(canvas *c, const clip_params *p)
{
    static const int progressions[3][4] = {{0, 4, 5, 3}, {0, 5, 3, 4}, {5, 3, 0, 4}};
    const int *prog = progressions[below(c, 3)];
    float bar = 4 * p->beat, total = (float)c->n / c->sr;
    for (int b = 0; b * bar < total; b++) {
        float notes[3], t0 = b * bar;
        chord(p->key, prog[(b + p->first_bar) % 4], 3, notes);
        for (int i = 0; i < 3; i++)
            note_held(c, c->out, t0, bar + 0.3f, midi_hz(notes[i]), 0.10f * p->mix[0], WAVE_SINE,
                      0.45f, 0.5f);
        note_held(c, c->out, t0, bar, midi_hz(notes[0] - 12), 0.14f * p->mix[1], WAVE_SINE, 0.2f,
                  0.4f);
        if (p->mix[3] > 0 && p->extra) { /* a soft pop-ballad beat: kick on 1, brush on 3 */
            kick(c, t0, 0.35f * p->mix[3]);
            snare(c, t0 + 2 * p->beat, 0.12f * p->mix[3], 0.12f, 0);
        }
        /* a slow melody over the chord: half and quarter notes */
        for (float t = 0; t < bar - 0.01f;) {
            float len = (chance(c, 0.5f) ? 2 : 1) * p->beat;
            if (chance(c, 0.75f)) {
                float m = notes[below(c, 3)] + 12;
                note_held(c, c->out, t0 + t, len, midi_hz(m), 0.12f * p->mix[2], WAVE_SINE, 0.06f,
                          0.25f);
            }
            t += len;
        }
    }
}

static void techno(canvas *c, const clip_params *p)
{
    /* minor key: the relative minor's root is degree 5 of the major key */
    int root = p->key - 12 + degree(5) - 12;
    static const int bass_notes[5] = {0, 0, 12, 7, 3};
    bool steps[16];
    int step_note[16];
    for (int s = 0; s < 16; s++) {
        steps[s] = s % 4 == 2 || chance(c, 0.45f);
        step_note[s] = bass_notes[below(c, 5)];
    }
    bool clap = chance(c, 0.7f);
    float sixteenth = p->beat / 4, total = (float)c->n / c->sr;
    for (int s = 0; s * sixteenth < total; s++) {
        float t = s * sixteenth;
        int pos = s % 16;
        if (pos % 4 == 0)
            kick(c, t, 0.9f * p->mix[0]);
        if (pos % 4 == 2)
            hat(c, t, 0.35f * p->mix[1], 0.06f); /* open hat on the off-beat */
        else
            hat(c, t, (chance(c, 0.3f) ? 0.22f : 0.12f) * p->mix[1], 0.018f);
        if (clap && (pos == 4 || pos == 12))
            snare(c, t, 0.35f * p->mix[1], 0.07f, 0);
        if (steps[pos])
            note_struck(c, c->out, t, midi_hz((float)(root + step_note[pos])), 0.3f * p->mix[2],
                        WAVE_SAW, 0.07f);
    }
    /* a minor-chord stab every other bar */
    float bar = 4 * p->beat;
    for (int b = 1; b * bar < total; b += 2) {
        float notes[3];
        chord(p->key, 5, 3, notes);
        for (int i = 0; i < 3; i++)
            note_struck(c, c->out, b * bar + 2.5f * p->beat, midi_hz(notes[i]), 0.07f * p->mix[3],
                        WAVE_SAW, 0.15f);
    }
}

static void waltz(canvas *c, const clip_params *p)
{
    static const int prog[4] = {0, 3, 4, 0};
    float bar = 3 * p->beat, total = (float)c->n / c->sr;
    float decay = uniform(c, 0.990f, 0.997f);
    for (int b = 0; b * bar < total; b++) {
        float notes[4], t0 = b * bar;
        int d = prog[(b + p->first_bar) % 4];
        chord(p->key, d, d == 4 ? 4 : 3, notes); /* V7 */
        pluck(c, t0, midi_hz(notes[0] - 12), 0.5f * p->mix[0], decay, 1.2f);
        for (int beat = 1; beat < 3; beat++)
            for (int i = 0; i < (d == 4 ? 4 : 3); i++) /* a light strum */
                pluck(c, t0 + beat * p->beat + 0.012f * i, midi_hz(notes[i]), 0.2f * p->mix[1],
                      decay, 0.6f);
        if (chance(c, 0.8f)) /* melody: dotted or on the beat */
            pluck(c, t0 + (chance(c, 0.5f) ? 0 : 1.5f * p->beat), midi_hz(notes[below(c, 3)] + 12),
                  0.3f * p->mix[2], 0.996f, 1.0f);
    }
}

static void jazz(canvas *c, const clip_params *p)
{
    static const int prog[4] = {1, 4, 0, 0}; /* ii7 V7 Imaj7 Imaj7 */
    float bar = 4 * p->beat, swing = p->beat * 2.0f / 3.0f, total = (float)c->n / c->sr;
    for (int b = 0; b * bar < total; b++) {
        float notes[4], next[4], t0 = b * bar;
        chord(p->key, prog[(b + p->first_bar) % 4], 4, notes);
        chord(p->key, prog[(b + 1 + p->first_bar) % 4], 4, next);
        for (int beat = 0; beat < 4; beat++) {
            float t = t0 + beat * p->beat;
            ride(c, t, 0.22f * p->mix[0]);
            if (beat % 2 == 1) {
                ride(c, t + swing, 0.14f * p->mix[0]); /* the swung "ding-ga" */
                hat(c, t, 0.12f * p->mix[0], 0.03f);   /* hi-hat foot on 2 and 4 */
            }
            /* walking bass: root, chord tones, chromatic approach on 4 */
            float m = beat == 0   ? notes[0]
                      : beat == 3 ? next[0] + (chance(c, 0.5f) ? 1 : -1)
                                  : notes[1 + below(c, 3)];
            note_struck(c, c->out, t, midi_hz(m - 24), 0.45f * p->mix[1], WAVE_TRIANGLE, 0.3f);
            if (chance(c, 0.45f)) { /* comping on the swung off-beat */
                float tc = t + (chance(c, 0.6f) ? swing : 0);
                for (int i = 0; i < 4; i++)
                    note_held(c, c->out, tc, 0.6f * p->beat, midi_hz(notes[i]), 0.07f * p->mix[2],
                              WAVE_TRIANGLE, 0.01f, 0.08f);
            }
        }
    }
}

static mrnet_status noise_rock(canvas *c, const clip_params *p)
{
    float *bus = calloc(c->n ? c->n : 1, sizeof *bus);
    if (!bus)
        return mrnet_fail(MRNET_ERR_NOMEM, "synth: out of memory for a %zu-sample clip", c->n);
    static const int pentatonic[5] = {0, 3, 5, 7, 10};
    int root = p->key - 12 - 9; /* a low minor-ish root */
    float eighth = p->beat / 2, bar = 4 * p->beat, total = (float)c->n / c->sr;
    int bar_root = root;
    for (int s = 0; s * eighth < total; s++) {
        float t = s * eighth;
        int pos = s % 8;
        if (pos == 0)
            bar_root = root + pentatonic[below(c, 5)];
        /* power chord: root, fifth, octave in squares, slightly detuned */
        static const float chord_notes[3] = {0, 7, 12};
        for (int i = 0; i < 3; i++)
            note_held(c, bus, t, eighth * 0.95f, midi_hz(bar_root + chord_notes[i] + 0.08f * i),
                      0.25f, WAVE_SQUARE, 0.003f, 0.02f);
        if (pos == 0 || pos == 4 || chance(c, 0.25f))
            kick(c, t, 0.8f * p->mix[0]);
        if (pos == 2 || pos == 6)
            snare(c, t, 0.6f * p->mix[1], 0.16f, 190);
        if (chance(c, 0.3f)) /* ghost and fill hits: dense snare noise */
            snare(c, t + (chance(c, 0.5f) ? eighth / 2 : 0), 0.3f * p->mix[1], 0.1f, 190);
        if (pos == 0 && fmodf(t, 2 * bar) < eighth)
            snare(c, t, 0.25f * p->mix[3], 0.6f, 0); /* crash */
    }
    float drive = uniform(c, 3, 6), gain = 0.45f * p->mix[2];
    for (size_t i = 0; i < c->n; i++)
        c->out[i] += gain * tanhf(drive * bus[i]);
    free(bus);
    return MRNET_OK;
}

/* ---- clip ---- */

static const float base_bpm[SYNTH_STYLES] = {68, 128, 96, 140, 150};

mrnet_status synth_clip(synth_style style, int index, uint64_t seed, int sample_rate, float *out,
                        size_t n)
{
    if ((int)style < 0 || style >= SYNTH_STYLES)
        return mrnet_fail(MRNET_ERR_ARG, "synth: unknown style %d", (int)style);
    if (sample_rate < 8000 || sample_rate > 96000)
        return mrnet_fail(MRNET_ERR_ARG, "synth: sample rate %d outside 8000..96000", sample_rate);
    if (index < 0)
        return mrnet_fail(MRNET_ERR_ARG, "synth: clip index %d", index);
    memset(out, 0, n * sizeof *out);
    canvas c = {out, n, (float)sample_rate,
                rng_derive(seed, (uint64_t)style * 1000003u + (uint64_t)index)};
    clip_params p;
    p.beat = 60.0f / (base_bpm[style] * uniform(&c, 0.9f, 1.1f));
    p.key = 57 + below(&c, 12);
    for (int i = 0; i < 4; i++)
        p.mix[i] = uniform(&c, 0.7f, 1.3f);
    p.first_bar = below(&c, 4);
    /* Arrangement: sometimes one part sits out (never the part that
     * carries the style), and the ballad sometimes gets a soft beat, so
     * that simple statistics overlap between styles. */
    static const int core_part[SYNTH_STYLES] = {0, 0, 1, 1, 2};
    if (chance(&c, 0.35f)) {
        int part = below(&c, 4);
        if (part != core_part[style])
            p.mix[part] = 0;
    }
    p.extra = chance(&c, 0.4f);
    switch (style) {
    case SYNTH_BALLAD: ballad(&c, &p); break;
    case SYNTH_TECHNO: techno(&c, &p); break;
    case SYNTH_WALTZ: waltz(&c, &p); break;
    case SYNTH_JAZZ: jazz(&c, &p); break;
    case SYNTH_NOISE_ROCK: MRNET_TRY(noise_rock(&c, &p)); break;
    default: break;
    }
    /* noise floor, then the clip's loudness as its peak level */
    float noise = uniform(&c, 0.002f, 0.012f) * (style == SYNTH_NOISE_ROCK ? 3 : 1);
    float peak = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] += noise * white(&c);
        peak = fmaxf(peak, fabsf(out[i]));
    }
    float scale = peak > 0 ? uniform(&c, 0.3f, 0.9f) / peak : 0.0f;
    for (size_t i = 0; i < n; i++)
        out[i] = fminf(1.0f, fmaxf(-1.0f, out[i] * scale));
    return MRNET_OK;
}
