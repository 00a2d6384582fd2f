#include "features/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tensor/npy.h"
#include "tensor/error.h"

void mrnet_features_options_default(mrnet_features_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->kind = MRNET_FEATURES_MEL;
    mrnet_mel_config_preset(&opt->mel, MRNET_MEL_PRESET_MELON);
    mrnet_audio_options_default(&opt->audio);
    opt->audio.channels = MRNET_CHANNELS_MONO;
    opt->audio.sample_rate = opt->mel.sample_rate;
}

void mrnet_features_options_wavlm(mrnet_features_options *opt, const char *weights)
{
    mrnet_features_options_default(opt);
    opt->kind = MRNET_FEATURES_WAVLM;
    opt->audio.channels = MRNET_CHANNELS_STEREO;
    opt->audio.sample_rate = MRNET_WAVLM_SAMPLE_RATE;
    opt->wavlm.window_seconds = MRNET_WAVLM_WINDOW_SECONDS;
    if (weights)
        snprintf(opt->wavlm.weights, sizeof opt->wavlm.weights, "%s", weights);
}

int mrnet_features_options_layers(const mrnet_features_options *opt)
{
    if (opt->kind != MRNET_FEATURES_WAVLM)
        return 1;
    if (opt->wavlm.n_mix != 0)
        return 1;
    return opt->wavlm.model ? mrnet_wavlm_states(opt->wavlm.model) : 13;
}

/* The recorded fingerprint must be the loaded weights'. */
static mrnet_status check_fingerprint(mrnet_features_options *opt)
{
    const mrnet_wavlm_options *w = &opt->wavlm;
    const char *fp = mrnet_wavlm_fingerprint(w->model);
    if (w->n_mix < 0) { /* uniform: one weight of 1 per state (MRNet's initial w) */
        opt->wavlm.n_mix = mrnet_wavlm_states(w->model);
        for (int l = 0; l < opt->wavlm.n_mix && l < MRNET_WAVLM_MAX_STATES; l++)
            opt->wavlm.mix[l] = 1.0f;
    }
    if (w->fingerprint[0] && strcmp(w->fingerprint, fp) != 0)
        return mrnet_fail(MRNET_ERR_ARG,
                          "%s: these WavLM weights (fingerprint %s) are not the ones the features were made with "
                          "(%s)", w->weights[0] ? w->weights : "WavLM weights", fp, w->fingerprint);
    if (w->n_mix > 0 && w->n_mix != mrnet_wavlm_states(w->model))
        return mrnet_fail(MRNET_ERR_ARG, "%s: the pre-mix has %d weights but the model has %d hidden states",
                          w->weights, w->n_mix, mrnet_wavlm_states(w->model));
    snprintf(opt->wavlm.fingerprint, sizeof opt->wavlm.fingerprint, "%s", fp);
    return MRNET_OK;
}

mrnet_status mrnet_features_options_load(mrnet_features_options *opt, mrnet_wavlm **model)
{
    *model = NULL;
    if (opt->kind != MRNET_FEATURES_WAVLM)
        return MRNET_OK;
    if (!opt->wavlm.model) {
        if (!opt->wavlm.weights[0])
            return mrnet_fail(MRNET_ERR_ARG, "WavLM features need the weight file (--wavlm WEIGHTS; "
                              "tools/convert_wavlm.py makes it from pytorch_model.bin)");
        MRNET_TRY(mrnet_wavlm_load(opt->wavlm.weights, model));
        opt->wavlm.model = *model;
    }
    mrnet_status s = check_fingerprint(opt);
    if (s != MRNET_OK && *model) {
        mrnet_wavlm_free(*model);
        *model = NULL;
        opt->wavlm.model = NULL;
    }
    return s;
}

mrnet_status mrnet_features_kind_parse(const char *name, mrnet_features_kind *kind)
{
    if (!strcmp(name, "mel"))
        *kind = MRNET_FEATURES_MEL;
    else if (!strcmp(name, "waveform") || !strcmp(name, "wave"))
        *kind = MRNET_FEATURES_WAVEFORM;
    else if (!strcmp(name, "wavlm"))
        *kind = MRNET_FEATURES_WAVLM;
    else
        return mrnet_fail(MRNET_ERR_ARG, "unknown feature kind '%s' (mel, waveform, wavlm)", name);
    return MRNET_OK;
}

static const char *kind_name(mrnet_features_kind kind)
{
    return kind == MRNET_FEATURES_MEL ? "mel" : kind == MRNET_FEATURES_WAVLM ? "wavlm" : "waveform";
}

/* " wavlm=<fingerprint> states=all|mix:w0,w1,.. window=30" */
static void describe_wavlm(const mrnet_wavlm_options *w, char *buf, size_t size)
{
    int k = snprintf(buf, size, " wavlm=%s states=", w->fingerprint[0] ? w->fingerprint : "unknown");
    if (w->n_mix <= 0)
        k += snprintf(buf + k, size > (size_t)k ? size - (size_t)k : 0, w->n_mix ? "uniform" : "all");
    for (int l = 0; l < w->n_mix && (size_t)k < size; l++)
        k += snprintf(buf + k, size - (size_t)k, "%s%.9g", l ? "," : "mix:", (double)w->mix[l]);
    if ((size_t)k < size)
        snprintf(buf + k, size - (size_t)k, " window=%.9g", w->window_seconds);
}

void mrnet_features_options_describe(const mrnet_features_options *opt, char *buf, size_t size)
{
    static const char *const quality[] = {"qq", "hq", "vhq"};
    int rate = opt->kind == MRNET_FEATURES_MEL ? opt->mel.sample_rate : opt->audio.sample_rate;
    int k = snprintf(buf, size, "kind=%s rate=%d channels=%s offset=%.9g duration=%.9g resample=%s",
                     kind_name(opt->kind), rate, mrnet_channels_name(opt->audio.channels),
                     opt->audio.offset, opt->audio.duration, quality[opt->audio.quality % 3]);
    if (k < 0 || (size_t)k + 2 >= size)
        return;
    if (opt->kind == MRNET_FEATURES_MEL) {
        buf[k] = ' ';
        mrnet_mel_config_describe(&opt->mel, buf + k + 1, size - (size_t)k - 1);
    } else if (opt->kind == MRNET_FEATURES_WAVLM) {
        describe_wavlm(&opt->wavlm, buf + k, size - (size_t)k);
    }
}

bool features_is_npy(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && !strcasecmp(path + n - 4, ".npy");
}

void mrnet_features_free(mrnet_features *f)
{
    if (!f)
        return;
    free(f->data);
    f->data = NULL;
}

static bool all_zero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f)
            return false;
    return true;
}

static mrnet_status npy_features(const char *path, const mrnet_features_options *opt, mrnet_features *out)
{
    npy_header h;
    float *data = NULL;
    MRNET_TRY(npy_load_f32(path, &h, &data));
    int64_t S, D, T;
    if (h.ndim == 2) {
        S = 1;
        D = h.shape[0];
        T = h.shape[1];
    } else if (h.ndim == 3) {
        S = h.shape[0];
        D = h.shape[1];
        T = h.shape[2];
    } else {
        free(data);
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: npy features must be (D, T) or (S, D, T), found %d dimensions", path,
                          h.ndim);
    }
    if (opt->kind == MRNET_FEATURES_MEL && D != opt->mel.n_mels) {
        free(data);
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: npy features have %lld bands, the settings ask for %d (n_mels)", path,
                          (long long)D, opt->mel.n_mels);
    }
    if (S < 1 || D < 1 || T < 1 || S > 64) {
        free(data);
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: npy features of shape (%lld, %lld, %lld) hold no usable frames",
                          path, (long long)S, (long long)D, (long long)T);
    }
    int want_s = opt->audio.channels == MRNET_CHANNELS_MONO ? 1 : opt->audio.channels == MRNET_CHANNELS_STEREO ? 2 : 0;
    if (want_s && S > want_s) { /* an 8-channel file must not enter a mono store; 1 into stereo is kept, as before */
        free(data);
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: npy features have %lld channels, the settings ask for %s (%d)", path,
                          (long long)S, mrnet_channels_name(opt->audio.channels), want_s);
    }
    /* offset/duration in frames of the mel hop. */
    double fps = opt->kind == MRNET_FEATURES_MEL ? (double)opt->mel.sample_rate / opt->mel.hop_length : 0.0;
    /* compared as doubles first: a huge offset or duration must not overflow the conversion */
    bool past_end = fps > 0 && !(opt->audio.offset * fps < (double)T);
    int64_t t0 = fps > 0 && !past_end ? (int64_t)llround(opt->audio.offset * fps) : 0;
    int64_t len = fps > 0 && opt->audio.duration > 0 && opt->audio.duration * fps < (double)T
                      ? (int64_t)llround(opt->audio.duration * fps)
                      : T - t0;
    if (past_end || t0 >= T) {
        free(data);
        return mrnet_fail(MRNET_ERR_ARG, "%s: offset %.3f s is past the end (%lld frames)", path, opt->audio.offset,
                          (long long)T);
    }
    if (t0 + len > T)
        len = T - t0;
    if (t0 > 0 || len < T) {
        for (int64_t r = 0; r < S * D; r++)
            memmove(data + r * len, data + r * T + t0, sizeof(float) * (size_t)len);
        T = len;
    }
    out->data = data;
    out->S = (int)S;
    out->L = 1;
    out->D = (int)D;
    out->T = T;
    out->frame_rate = fps;
    out->from_npy = true;
    if (all_zero(data, (size_t)(S * D * T)))
        snprintf(out->warning, sizeof out->warning, "all values are zero");
    return MRNET_OK;
}

/* ---- WavLM ------------------------------------------------------------------ */

/* Window k of the input: samples [start, start + len), first frame t0.
 * Windows lie on the whole input's frame grid (see mrnet_wavlm_options). */
typedef struct {
    int64_t start, len, t0;
} wavlm_window;

static int64_t wavlm_window_samples(const mrnet_wavlm_options *w)
{
    int64_t hop = 320, W = (int64_t)(w->window_seconds * MRNET_WAVLM_SAMPLE_RATE) / hop * hop;
    return W >= 400 ? W : 0; /* 0: one pass over the whole input */
}

static int64_t wavlm_windows(const mrnet_wavlm_options *w, int64_t n, wavlm_window *win, int64_t max)
{
    int64_t W = wavlm_window_samples(w), count = 0, start = 0;
    while (start < n) {
        int64_t rest = n - start, len = rest;
        if (W > 0 && rest >= W + W / 2)
            len = W + 80; /* 400 - 320: the receptive field beyond the last hop */
        if (count < max)
            win[count] = (wavlm_window){start, len, start / 320};
        count++;
        if (len == rest)
            break;
        start += W;
    }
    return count;
}

int64_t features_wavlm_segments(const mrnet_wavlm_options *w, int64_t n, int64_t *starts, int64_t *lens, int64_t max)
{
    int64_t count = wavlm_windows(w, n, NULL, 0);
    wavlm_window *win = count <= max ? malloc(sizeof *win * (size_t)(count > 0 ? count : 1)) : NULL;
    if (win) {
        wavlm_windows(w, n, win, count);
        for (int64_t k = 0; k < count; k++) {
            starts[k] = win[k].start;
            lens[k] = win[k].len;
        }
        free(win);
    }
    return count;
}

/* states (L, T, D) of one window into out (L, D, T_total) at frame t0. */
static void put_states(const float *states, int L, int64_t T, int D, float *out, int64_t T_total, int64_t t0)
{
    for (int l = 0; l < L; l++)
        for (int64_t t = 0; t < T; t++) {
            const float *src = states + ((size_t)l * (size_t)T + (size_t)t) * (size_t)D;
            float *dst = out + (size_t)l * (size_t)D * (size_t)T_total + (size_t)(t0 + t);
            for (int d = 0; d < D; d++)
                dst[(size_t)d * (size_t)T_total] = src[d];
        }
}

/* One channel (n samples): every window through the encoder into out
 * (L, D, T_total); scratch holds one window's states (L, T, D). */
static mrnet_status wavlm_channel(const mrnet_wavlm_options *w, const float *x, int64_t n, float *scratch,
                                  float *out, int64_t T_total)
{
    const mrnet_wavlm *m = w->model;
    int D = mrnet_wavlm_get_config(m)->hidden, L = w->n_mix > 0 ? 1 : mrnet_wavlm_states(m);
    int64_t count = wavlm_windows(w, n, NULL, 0);
    wavlm_window *win = malloc(sizeof *win * (size_t)count);
    if (!win)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    wavlm_windows(w, n, win, count);
    mrnet_status s = MRNET_OK;
    for (int64_t k = 0; k < count && s == MRNET_OK; k++) {
        const float *wave = x + win[k].start;
        int64_t T = mrnet_wavlm_frames(m, win[k].len);
        s = w->n_mix > 0 ? mrnet_wavlm_mixed(m, wave, win[k].len, w->mix, scratch)
                         : mrnet_wavlm_hidden_states(m, wave, win[k].len, scratch);
        if (s == MRNET_OK)
            put_states(scratch, L, T, D, out, T_total, win[k].t0);
    }
    free(win);
    return s;
}

/* (S, L, 768, T) hidden states of decoded 16 kHz audio (freed here). */
static mrnet_status wavlm_features(const char *path, mrnet_audio *audio, const mrnet_features_options *opt,
                                   mrnet_features *out)
{
    mrnet_features_options local = *opt;
    mrnet_wavlm *own = NULL;
    mrnet_status s = mrnet_features_options_load(&local, &own);
    const mrnet_wavlm_options *w = &local.wavlm;
    int64_t n = audio->frames, T = s == MRNET_OK ? mrnet_wavlm_frames(w->model, n) : 0;
    if (s == MRNET_OK && audio->sample_rate != MRNET_WAVLM_SAMPLE_RATE)
        s = mrnet_fail(MRNET_ERR_ARG, "%s: WavLM reads 16 kHz audio, not %d Hz", path, audio->sample_rate);
    if (s == MRNET_OK && T < 1)
        s = mrnet_fail(MRNET_ERR_FORMAT, "%s: %.4f s of audio is shorter than WavLM's first frame (400 samples, "
                       "25 ms)", path, (double)n / audio->sample_rate);
    int L = s == MRNET_OK ? mrnet_features_options_layers(&local) : 1;
    int D = s == MRNET_OK ? mrnet_wavlm_get_config(w->model)->hidden : 0;
    float *data = NULL, *scratch = NULL;
    if (s == MRNET_OK) {
        int64_t W = wavlm_window_samples(w), longest = W > 0 && n >= W + W / 2 ? W + W / 2 + 320 : n;
        int64_t Tw = mrnet_wavlm_frames(w->model, longest);
        size_t per = (size_t)L * (size_t)D * (size_t)T;
        data = malloc(sizeof(float) * per * (size_t)audio->channels);
        scratch = malloc(sizeof(float) * (size_t)L * (size_t)D * (size_t)(Tw > T ? Tw : T));
        if (!data || !scratch)
            s = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for (%d, %d, %d, %lld) WavLM features", path,
                           audio->channels, L, D, (long long)T);
        for (int c = 0; c < audio->channels && s == MRNET_OK; c++) {
            s = wavlm_channel(w, audio->samples + (size_t)c * (size_t)n, n, scratch, data + per * (size_t)c, T);
            if (s != MRNET_OK)
                mrnet_fail_context(s, "%s", path);
        }
    }
    int channels = audio->channels;
    free(scratch);
    mrnet_audio_free(audio);
    mrnet_wavlm_free(own);
    if (s != MRNET_OK) {
        free(data);
        return s;
    }
    out->data = data;
    out->S = channels;
    out->L = L;
    out->D = D;
    out->T = T;
    out->frame_rate = MRNET_WAVLM_SAMPLE_RATE / 320.0;
    return MRNET_OK;
}

/* The features of decoded audio (owned and freed here); name is for
 * messages. */
mrnet_status features_of_audio(const char *path, mrnet_audio *audio, const mrnet_features_options *opt,
                               const mrnet_melspec *m, mrnet_features *out)
{
    snprintf(out->warning, sizeof out->warning, "%s", audio->warning);
    if (opt->kind == MRNET_FEATURES_WAVLM)
        return wavlm_features(path, audio, opt, out);
    if (opt->kind == MRNET_FEATURES_WAVEFORM) {
        out->data = audio->samples;
        out->S = audio->channels;
        out->L = 1;
        out->D = 1;
        out->T = audio->frames;
        out->frame_rate = audio->sample_rate;
        return MRNET_OK;
    }
    mrnet_melspec *own = NULL;
    if (!m) {
        mrnet_status s = mrnet_melspec_create(&opt->mel, &own);
        if (s != MRNET_OK) {
            mrnet_audio_free(audio);
            return s;
        }
        m = own;
    }
    int64_t T = mrnet_melspec_frames(m, audio->frames);
    mrnet_status s = MRNET_OK;
    float *data = NULL;
    if (T <= 0) {
        s = mrnet_fail(MRNET_ERR_FORMAT, "%s: %.4f s of audio is shorter than one analysis frame (%d samples)", path,
                       (double)audio->frames / audio->sample_rate, opt->mel.n_fft);
    } else {
        size_t per = (size_t)opt->mel.n_mels * (size_t)T;
        data = malloc(sizeof(float) * per * (size_t)audio->channels);
        if (!data)
            s = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for (%d, %d, %lld) features", path, audio->channels,
                           opt->mel.n_mels, (long long)T);
        for (int c = 0; c < audio->channels && s == MRNET_OK; c++) {
            s = mrnet_melspec_compute(m, audio->samples + (size_t)c * (size_t)audio->frames, audio->frames,
                                      data + per * (size_t)c);
            if (s != MRNET_OK)
                mrnet_fail_context(s, "%s", path);
        }
    }
    int channels = audio->channels;
    mrnet_audio_free(audio);
    mrnet_melspec_free(own);
    if (s != MRNET_OK) {
        free(data);
        return s;
    }
    out->data = data;
    out->S = channels;
    out->L = 1;
    out->D = opt->mel.n_mels;
    out->T = T;
    out->frame_rate = (double)opt->mel.sample_rate / opt->mel.hop_length;
    return MRNET_OK;
}

/* The decoding options the feature settings imply (mel: its own rate). */
static mrnet_audio_options decode_options(const mrnet_features_options *opt)
{
    mrnet_audio_options aopt = opt->audio;
    if (opt->kind == MRNET_FEATURES_MEL)
        aopt.sample_rate = opt->mel.sample_rate;
    return aopt;
}

/* ---- long files in bounded memory ------------------------------------------------ *
 *
 * A long file's log-mel is computed from segments of SEGMENT_SECONDS of
 * frames, each decoded (and resampled) with MARGIN_SECONDS more on both
 * sides; only the frames whose whole analysis window lies inside a segment's
 * decoded span are kept, so the resampler's and the frame padding's edges
 * never reach a kept frame. Segments start on source samples that fall on
 * the mel frame grid, so the frames are those of the whole file to float
 * rounding (tests/test_melspec.c). Memory: one segment's samples instead of
 * the file's (20 minutes of 44.1 kHz stereo: 0.4 GB of floats). */
#define SEGMENT_SECONDS 60.0
#define MARGIN_SECONDS 1.0
#define SEGMENT_MIN_SECONDS (3 * SEGMENT_SECONDS) /* shorter files are decoded whole */

typedef struct {
    int64_t frames, src_rate;
    int channels;
} long_file;

/* Whether path is long enough to be worth segments, and its facts. */
static bool is_long_file(const char *path, const mrnet_features_options *opt, long_file *lf)
{
    mrnet_audio_info info;
    if (opt->kind != MRNET_FEATURES_MEL || opt->audio.offset != 0 || opt->audio.duration != 0 ||
        mrnet_audio_probe(path, &info) != MRNET_OK || info.frames < 0 || info.sample_rate < 1)
        return false;
    if (strstr(info.format, "(FFmpeg)"))
        return false; /* FFmpeg's path decodes from the start for an offset: segments would cost n^2 */
    lf->frames = info.frames;
    lf->src_rate = info.sample_rate;
    return (double)info.frames / info.sample_rate > SEGMENT_MIN_SECONDS;
}

/* The first mel frame at or before t whose target-rate start sample (t * hop)
 * is a whole number of source samples; -1 if none close. */
static int64_t aligned_frame(int64_t t, int hop, int rate, int64_t src_rate)
{
    for (int64_t k = t; k >= 0 && k > t - 4096; k--)
        if (((k * hop) * src_rate) % rate == 0)
            return k;
    return -1;
}

static mrnet_status segment_features(const char *path, const mrnet_features_options *opt, const mrnet_melspec *m,
                                     const long_file *lf, mrnet_features *out, bool *fallback)
{
    const mrnet_mel_config *c = &opt->mel;
    int rate = c->sample_rate, hop = c->hop_length, D = c->n_mels;
    int64_t n_target = (int64_t)llround((double)lf->frames * rate / (double)lf->src_rate);
    int64_t T_alloc = mrnet_melspec_frames(m, n_target), T = T_alloc;
    int64_t seg = (int64_t)llround(SEGMENT_SECONDS * rate / hop);
    int64_t margin = (int64_t)ceil(MARGIN_SECONDS * rate / hop) + c->n_fft / hop + 1;
    *fallback = false;
    float *data = NULL;
    int S = 0;
    bool silent = true;
    mrnet_status st = MRNET_OK;
    for (int64_t t0 = 0; st == MRNET_OK && t0 < T; t0 += seg) {
        int64_t t1 = t0 + seg < T ? t0 + seg : T;
        int64_t first = t0 > margin ? aligned_frame(t0 - margin, hop, rate, lf->src_rate) : 0;
        if (first < 0) {
            *fallback = true; /* no aligned start: decode whole */
            break;
        }
        mrnet_audio_options aopt = decode_options(opt);
        int64_t start_src = first * hop * lf->src_rate / rate;
        aopt.offset = (double)start_src / (double)lf->src_rate;
        aopt.duration = t1 >= T ? 0 : (double)((t1 + margin - first) * hop) / rate; /* the last: to the end */
        mrnet_audio audio;
        st = mrnet_audio_decode(path, &aopt, &audio);
        if (st != MRNET_OK)
            break;
        bool seg_silent = !strncmp(audio.warning, "silent", 6);
        silent &= seg_silent;
        if (audio.warning[0] && !seg_silent && !out->warning[0])
            snprintf(out->warning, sizeof out->warning, "%s", audio.warning);
        if (!data) {
            S = audio.channels;
            data = malloc(sizeof(float) * (size_t)S * (size_t)D * (size_t)T_alloc);
            if (!data)
                st = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for (%d, %d, %lld) features", path, S, D,
                                (long long)T_alloc);
        }
        int64_t local_T = mrnet_melspec_frames(m, audio.frames);
        float *local = st == MRNET_OK ? malloc(sizeof(float) * (size_t)D * (size_t)(local_T > 0 ? local_T : 1)) : NULL;
        if (st == MRNET_OK && !local)
            st = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
        int64_t lo = t0 - first, hi = t1 - first < local_T ? t1 - first : local_T; /* local frames kept */
        for (int ch = 0; st == MRNET_OK && ch < S && hi > lo; ch++) {
            st = mrnet_melspec_compute(m, audio.samples + (size_t)ch * (size_t)audio.frames, audio.frames, local);
            for (int d = 0; st == MRNET_OK && d < D; d++)
                memcpy(data + ((size_t)ch * D + d) * (size_t)T_alloc + t0, local + (size_t)d * local_T + lo,
                       sizeof(float) * (size_t)(hi - lo));
        }
        free(local);
        mrnet_audio_free(&audio);
        if (st == MRNET_OK && first + hi < t1) /* the file ended early (the header promised more) */
            T = hi > lo ? first + hi : t0;
    }
    if (st != MRNET_OK || *fallback || T <= 0) {
        free(data);
        if (st == MRNET_OK && !*fallback)
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s: no audio frames", path);
        return st;
    }
    if (T < T_alloc) {
        if (!out->warning[0])
            snprintf(out->warning, sizeof out->warning, "truncated: the header says %.3f s, decoded %.3f s",
                     (double)lf->frames / lf->src_rate, (double)T * hop / rate);
        for (size_t r = 1; r < (size_t)S * D; r++) /* rows of T_alloc -> rows of T */
            memmove(data + r * (size_t)T, data + r * (size_t)T_alloc, sizeof(float) * (size_t)T);
    }
    if (silent && !out->warning[0])
        snprintf(out->warning, sizeof out->warning, "silent: every sample is zero");
    out->data = data;
    out->S = S;
    out->L = 1;
    out->D = D;
    out->T = T;
    out->frame_rate = (double)rate / hop;
    return MRNET_OK;
}

mrnet_status mrnet_features_from_file(const char *path, const mrnet_features_options *opt, const mrnet_melspec *m,
                                      mrnet_features *out)
{
    memset(out, 0, sizeof *out);
    if (features_is_npy(path))
        return npy_features(path, opt, out);
    long_file lf;
    if (is_long_file(path, opt, &lf)) {
        mrnet_melspec *own = NULL;
        if (!m)
            MRNET_TRY(mrnet_melspec_create(&opt->mel, &own));
        bool fallback;
        mrnet_status st = segment_features(path, opt, m ? m : own, &lf, out, &fallback);
        mrnet_melspec_free(own);
        if (st != MRNET_OK || !fallback)
            return st;
        memset(out, 0, sizeof *out);
    }
    mrnet_audio_options aopt = decode_options(opt);
    mrnet_audio audio;
    MRNET_TRY(mrnet_audio_decode(path, &aopt, &audio));
    return features_of_audio(path, &audio, opt, m, out);
}

mrnet_status mrnet_features_from_pcm(const float *pcm, int channels, int64_t frames, int sample_rate,
                                     const mrnet_features_options *opt, const mrnet_melspec *m,
                                     mrnet_features *out)
{
    memset(out, 0, sizeof *out);
    mrnet_audio_options aopt = decode_options(opt);
    mrnet_audio audio;
    MRNET_TRY(mrnet_audio_from_pcm(pcm, channels, frames, sample_rate, &aopt, &audio));
    return features_of_audio("PCM input", &audio, opt, m, out);
}
