/* A checkpoint with its feature settings: classify and embed files, PCM and
 * features (mrnet/infer.h). */
#include <mrnet/infer.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/safetensors.h"
#include "features/features.h"

struct mrnet_classifier {
    mrnet_model *model;
    mrnet_features_options features;
    bool recorded;        /* the checkpoint names its feature settings */
    mrnet_melspec *mel;   /* made once for mel settings, shared by every call */
    mrnet_wavlm *wavlm;   /* WavLM weights, loaded by mrnet_classifier_set_wavlm */
    char **labels;        /* K names, "class<k>" where the checkpoint has none */
};

void mrnet_classify_options_default(mrnet_classify_options *opt)
{
    opt->view = MRNET_VIEW_WINDOWS;
    opt->crop_seconds = 6;
    opt->hop_seconds = 3;
    opt->batch = 32;
}

/* "mrnet.features" of the checkpoint, or the default (Melon) settings. */
static mrnet_status checkpoint_features(const char *checkpoint, mrnet_features_options *fo, bool *recorded)
{
    mrnet_st_file *f;
    MRNET_TRY(mrnet_st_open(checkpoint, &f));
    const char *line = mrnet_st_meta(f, "mrnet.features");
    mrnet_status st = MRNET_OK;
    *recorded = line != NULL;
    if (line)
        st = mrnet_features_options_parse(line, fo);
    else
        mrnet_features_options_default(fo);
    mrnet_st_close(f);
    return st == MRNET_OK ? st : mrnet_fail_context(st, "%s: metadata mrnet.features", checkpoint);
}

static mrnet_status copy_labels(mrnet_classifier *c)
{
    int K = mrnet_model_config(c->model)->classes;
    c->labels = calloc((size_t)K, sizeof(char *));
    if (!c->labels)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d class names", K);
    for (int k = 0; k < K; k++) {
        const char *name = mrnet_model_label(c->model, k);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "class%d", k);
        c->labels[k] = strdup(name ? name : fallback);
        if (!c->labels[k])
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for class names");
    }
    return MRNET_OK;
}

mrnet_status mrnet_classifier_open(const char *checkpoint, mrnet_classifier **out)
{
    *out = NULL;
    mrnet_classifier *c = calloc(1, sizeof *c);
    if (!c)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", checkpoint);
    mrnet_status st = mrnet_model_load(checkpoint, 0, &c->model);
    if (st == MRNET_OK)
        st = checkpoint_features(checkpoint, &c->features, &c->recorded);
    if (st == MRNET_OK && c->features.kind == MRNET_FEATURES_MEL)
        st = mrnet_melspec_create(&c->features.mel, &c->mel);
    if (st == MRNET_OK)
        st = copy_labels(c);
    if (st != MRNET_OK) {
        mrnet_classifier_free(c);
        return st;
    }
    *out = c;
    return MRNET_OK;
}

void mrnet_classifier_free(mrnet_classifier *c)
{
    if (!c)
        return;
    if (c->labels && c->model)
        for (int k = 0; k < mrnet_model_config(c->model)->classes; k++)
            free(c->labels[k]);
    free(c->labels);
    mrnet_melspec_free(c->mel);
    mrnet_wavlm_free(c->wavlm);
    mrnet_model_free(c->model);
    free(c);
}

mrnet_status mrnet_classifier_set_wavlm(mrnet_classifier *c, const char *weights)
{
    if (c->features.kind != MRNET_FEATURES_WAVLM)
        return MRNET_OK;
    mrnet_features_options fo = c->features;
    snprintf(fo.wavlm.weights, sizeof fo.wavlm.weights, "%s", weights ? weights : "");
    fo.wavlm.model = NULL;
    mrnet_wavlm *m;
    MRNET_TRY(mrnet_features_options_load(&fo, &m));
    mrnet_wavlm_free(c->wavlm);
    c->wavlm = m;
    c->features = fo;
    return MRNET_OK;
}

/* Audio needs the front end the checkpoint was trained with. */
static mrnet_status check_front_end(const mrnet_classifier *c)
{
    if (c->features.kind == MRNET_FEATURES_WAVLM && !c->features.wavlm.model)
        return mrnet_fail(MRNET_ERR_ARG, "this checkpoint reads WavLM features (weights %s): give the WavLM weight "
                          "file (--wavlm WEIGHTS, mrnet_classifier_set_wavlm)",
                          c->features.wavlm.fingerprint[0] ? c->features.wavlm.fingerprint : "unknown");
    return MRNET_OK;
}

mrnet_model *mrnet_classifier_model(mrnet_classifier *c) { return c->model; }
const mrnet_features_options *mrnet_classifier_features(const mrnet_classifier *c) { return &c->features; }
bool mrnet_classifier_has_feature_settings(const mrnet_classifier *c) { return c->recorded; }
int mrnet_classifier_classes(const mrnet_classifier *c) { return mrnet_model_config(c->model)->classes; }
int mrnet_classifier_embed_size(const mrnet_classifier *c) { return mrnet_model_config(c->model)->embed; }

const char *mrnet_classifier_label(const mrnet_classifier *c, int k)
{
    return k >= 0 && k < mrnet_classifier_classes(c) ? c->labels[k] : NULL;
}

/* ---- one track's features as a feature source -------------------------------- */

static int64_t memory_frames(void *ctx, int item)
{
    (void)item;
    return ((const mrnet_features *)ctx)->T;
}

static mrnet_status memory_read(void *ctx, int item, int64_t t0, int64_t len, float *dst)
{
    (void)item;
    const mrnet_features *f = ctx;
    mrnet_crop_wrap(f->data, f->S * (f->L > 0 ? f->L : 1) * f->D, f->T, t0, len, dst);
    return MRNET_OK;
}

typedef struct {
    mrnet_timeline_fn fn;
    void *ctx;
    double frame_rate;
} timeline;

static void on_window_frames(void *ctx, int item, int64_t t0, int64_t len, const float *probs)
{
    (void)item;
    timeline *t = ctx;
    double r = t->frame_rate > 0 ? t->frame_rate : 1;
    t->fn(t->ctx, (double)t0 / r, (double)(t0 + len) / r, probs);
}

static mrnet_status check_options(const mrnet_classify_options *o)
{
    if (!(o->crop_seconds > 0) || !isfinite(o->crop_seconds) || !(o->hop_seconds > 0) ||
        !isfinite(o->hop_seconds) || o->batch < 1 || (unsigned)o->view > MRNET_VIEW_FULL)
        return mrnet_fail(MRNET_ERR_ARG, "classify: crop %g s, hop %g s and batch %d must be positive",
                          o->crop_seconds, o->hop_seconds, o->batch);
    return MRNET_OK;
}

mrnet_status mrnet_classify_features(mrnet_classifier *c, const mrnet_features *f,
                                     const mrnet_classify_options *opt, float *probs,
                                     float *embedding, mrnet_timeline_fn on_window, void *ctx)
{
    mrnet_classify_options defaults;
    if (!opt) {
        mrnet_classify_options_default(&defaults);
        opt = &defaults;
    }
    MRNET_TRY(check_options(opt));
    const mrnet_config *cfg = mrnet_model_config(c->model);
    if (!f || !f->data || f->T < 1)
        return mrnet_fail(MRNET_ERR_ARG, "classify: no features");
    int L = f->L > 0 ? f->L : 1;
    if (f->S != cfg->in_channels || f->D != cfg->in_dim || L != cfg->n_layers)
        return mrnet_fail(MRNET_ERR_SHAPE, "features (S %d, L %d, D %d) do not fit the model (S %d, L %d, D %d)",
                          f->S, L, f->D, cfg->in_channels, cfg->n_layers, cfg->in_dim);
    double rate = f->frame_rate > 0 ? f->frame_rate : mrnet_features_options_frame_rate(&c->features);
    mrnet_infer_options io = {.view = opt->view, .crop = (int64_t)llround(opt->crop_seconds * rate),
                              .hop = (int64_t)llround(opt->hop_seconds * rate), .batch = opt->batch};
    if (io.crop < 1)
        io.crop = 1;
    int K = cfg->classes, E = cfg->embed;
    float *p = probs ? probs : malloc(sizeof(float) * (size_t)K);
    float *e = embedding ? embedding : malloc(sizeof(float) * (size_t)E);
    mrnet_status st = (!p || !e) ? mrnet_fail(MRNET_ERR_NOMEM, "classify: out of memory") : MRNET_OK;
    mrnet_feature_source src = {.n_items = 1, .S = f->S, .L = L, .D = f->D, .frames = memory_frames,
                                .read = memory_read, .ctx = (void *)f};
    timeline t = {on_window, ctx, rate};
    if (st == MRNET_OK)
        st = mrnet_infer_source(c->model, &src, &io, p, e, on_window ? on_window_frames : NULL, &t);
    if (p != probs)
        free(p);
    if (e != embedding)
        free(e);
    return st;
}

/* ---- WavLM audio in bounded memory ------------------------------------------ */

typedef struct {
    mrnet_timeline_fn fn;
    void *ctx;
    double offset; /* seconds of the segment's start */
} shifted_timeline;

static void on_window_shifted(void *ctx, double start, double end, const float *probs)
{
    shifted_timeline *t = ctx;
    t->fn(t->ctx, start + t->offset, end + t->offset, probs);
}

/* How much a segment of T frames counts in the track's mean: its windows
 * (windows view), its frames (full view). */
static double segment_weight(const mrnet_classify_options *o, int64_t T, double rate)
{
    if (o->view == MRNET_VIEW_FULL)
        return (double)T;
    int64_t crop = llround(o->crop_seconds * rate), hop = llround(o->hop_seconds * rate);
    return (double)mrnet_window_count(T, crop > 0 ? crop : 1, hop > 0 ? hop : 1);
}

/* A long track through WavLM: the encoder's segments (MRNET_WAVLM_WINDOW_SECONDS
 * on the frame grid, the last absorbing a remainder under half of one) are
 * turned into features and classified one at a time, so memory is bounded by
 * a segment; the track's probabilities and embedding are the mean over all
 * windows (full view: over segments weighted by frames; crop view: the first
 * segment, which holds the first crop). Consumes audio. */
static mrnet_status classify_segments(mrnet_classifier *c, const char *name, mrnet_audio *audio,
                                      const mrnet_classify_options *opt, float *probs, float *embedding,
                                      mrnet_timeline_fn on_window, void *ctx)
{
    mrnet_classify_options defaults;
    if (!opt) {
        mrnet_classify_options_default(&defaults);
        opt = &defaults;
    }
    int K = mrnet_classifier_classes(c), E = mrnet_classifier_embed_size(c);
    int64_t n = audio->frames, count = features_wavlm_segments(&c->features.wavlm, n, NULL, NULL, 0);
    int64_t *starts = malloc(sizeof(int64_t) * (size_t)count), *lens = malloc(sizeof(int64_t) * (size_t)count);
    float *p = malloc(sizeof(float) * (size_t)K), *e = malloc(sizeof(float) * (size_t)E);
    double *sum_p = calloc((size_t)K, sizeof(double)), *sum_e = calloc((size_t)E, sizeof(double)), total = 0;
    mrnet_status st = starts && lens && p && e && sum_p && sum_e ? MRNET_OK
                                                                 : mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", name);
    if (st == MRNET_OK)
        features_wavlm_segments(&c->features.wavlm, n, starts, lens, count);
    mrnet_features_options one_pass = c->features;
    one_pass.wavlm.window_seconds = 0;
    for (int64_t k = 0; k < count && st == MRNET_OK && (k == 0 || opt->view != MRNET_VIEW_CROP); k++) {
        mrnet_audio seg = *audio;
        seg.frames = lens[k];
        seg.warning[0] = '\0';
        seg.samples = malloc(sizeof(float) * (size_t)lens[k] * (size_t)audio->channels);
        if (!seg.samples) {
            st = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", name);
            break;
        }
        for (int ch = 0; ch < audio->channels; ch++)
            memcpy(seg.samples + (size_t)ch * (size_t)lens[k], audio->samples + (size_t)ch * (size_t)n + starts[k],
                   sizeof(float) * (size_t)lens[k]);
        mrnet_features f;
        st = features_of_audio(name, &seg, &one_pass, NULL, &f);
        if (st != MRNET_OK)
            break;
        shifted_timeline shift = {on_window, ctx, (double)starts[k] / MRNET_WAVLM_SAMPLE_RATE};
        st = mrnet_classify_features(c, &f, opt, p, e, on_window ? on_window_shifted : NULL, &shift);
        double w = segment_weight(opt, f.T, f.frame_rate);
        mrnet_features_free(&f);
        for (int i = 0; st == MRNET_OK && i < K; i++)
            sum_p[i] += w * p[i];
        for (int i = 0; st == MRNET_OK && i < E; i++)
            sum_e[i] += w * e[i];
        total += w;
    }
    for (int i = 0; st == MRNET_OK && probs && i < K; i++)
        probs[i] = (float)(sum_p[i] / total);
    for (int i = 0; st == MRNET_OK && embedding && i < E; i++)
        embedding[i] = (float)(sum_e[i] / total);
    mrnet_audio_free(audio);
    free(starts);
    free(lens);
    free(p);
    free(e);
    free(sum_p);
    free(sum_e);
    return st;
}

/* Decoded audio of a WavLM checkpoint: in segments when longer than one. */
static mrnet_status classify_wavlm_audio(mrnet_classifier *c, const char *name, mrnet_audio *audio,
                                         const mrnet_classify_options *opt, float *probs, float *embedding,
                                         mrnet_timeline_fn on_window, void *ctx, char *warning)
{
    if (warning)
        snprintf(warning, 256, "%s", audio->warning);
    if (features_wavlm_segments(&c->features.wavlm, audio->frames, NULL, NULL, 0) > 1)
        return classify_segments(c, name, audio, opt, probs, embedding, on_window, ctx);
    mrnet_features f;
    MRNET_TRY(features_of_audio(name, audio, &c->features, NULL, &f));
    mrnet_status st = mrnet_classify_features(c, &f, opt, probs, embedding, on_window, ctx);
    mrnet_features_free(&f);
    return st;
}

/* A track shorter than one window is repeated to fill it: say so, since a
 * 0.03-s fragment gets a confident-looking answer all the same. */
static void note_short(mrnet_classify_info *info, const mrnet_classify_options *opt)
{
    double window = opt ? opt->crop_seconds : 6.0;
    if (!(info->seconds < window) || (opt && opt->view == MRNET_VIEW_FULL))
        return;
    size_t n = strlen(info->warning);
    snprintf(info->warning + n, sizeof info->warning - n, "%sonly %.2f s of audio, shorter than the %g-s window "
             "(repeated to fill it)", n ? "; " : "", info->seconds, window);
}

mrnet_status mrnet_classify_file_info(mrnet_classifier *c, const char *path,
                                      const mrnet_classify_options *opt, float *probs, float *embedding,
                                      mrnet_timeline_fn on_window, void *ctx, mrnet_classify_info *info)
{
    mrnet_classify_info scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    mrnet_features f;
    if (!features_is_npy(path) && c->features.kind == MRNET_FEATURES_WAVLM) {
        MRNET_TRY(mrnet_fail_context(check_front_end(c), "%s", path));
        mrnet_audio audio;
        MRNET_TRY(mrnet_audio_decode(path, &c->features.audio, &audio));
        info->seconds = audio.sample_rate > 0 ? (double)audio.frames / audio.sample_rate : 0;
        mrnet_status st = classify_wavlm_audio(c, path, &audio, opt, probs, embedding, on_window, ctx, info->warning);
        note_short(info, opt);
        return st == MRNET_ERR_SHAPE ? mrnet_fail_context(st, "%s", path) : st;
    }
    MRNET_TRY(mrnet_features_from_file(path, &c->features, c->mel, &f));
    snprintf(info->warning, sizeof info->warning, "%s", f.warning);
    double rate = f.frame_rate > 0 ? f.frame_rate : mrnet_features_options_frame_rate(&c->features);
    info->seconds = rate > 0 ? (double)f.T / rate : 0;
    note_short(info, opt);
    mrnet_status st = mrnet_classify_features(c, &f, opt, probs, embedding, on_window, ctx);
    mrnet_features_free(&f);
    return st == MRNET_ERR_SHAPE || st == MRNET_ERR_NUMERIC ? mrnet_fail_context(st, "%s", path) : st;
}

mrnet_status mrnet_classify_file(mrnet_classifier *c, const char *path,
                                 const mrnet_classify_options *opt, float *probs, float *embedding,
                                 mrnet_timeline_fn on_window, void *ctx, char warning[256])
{
    mrnet_classify_info info;
    mrnet_status st = mrnet_classify_file_info(c, path, opt, probs, embedding, on_window, ctx, &info);
    if (warning)
        snprintf(warning, 256, "%s", st == MRNET_OK ? info.warning : "");
    return st;
}

mrnet_status mrnet_classify_pcm(mrnet_classifier *c, const float *pcm, int channels,
                                int64_t frames, int sample_rate,
                                const mrnet_classify_options *opt, float *probs, float *embedding,
                                mrnet_timeline_fn on_window, void *ctx)
{
    mrnet_features f;
    MRNET_TRY(check_front_end(c));
    if (c->features.kind == MRNET_FEATURES_WAVLM) {
        mrnet_audio audio;
        MRNET_TRY(mrnet_audio_from_pcm(pcm, channels, frames, sample_rate, &c->features.audio, &audio));
        return classify_wavlm_audio(c, "PCM input", &audio, opt, probs, embedding, on_window, ctx, NULL);
    }
    MRNET_TRY(mrnet_features_from_pcm(pcm, channels, frames, sample_rate, &c->features, c->mel, &f));
    mrnet_status st = mrnet_classify_features(c, &f, opt, probs, embedding, on_window, ctx);
    mrnet_features_free(&f);
    return st;
}

int mrnet_top_k(const float *scores, int K, int k, int *indices)
{
    int n = k < K ? k : K;
    for (int i = 0; i < n; i++) {
        int best = -1;
        for (int j = 0; j < K; j++) {
            bool used = false;
            for (int u = 0; u < i; u++)
                used |= indices[u] == j;
            if (!used && (best < 0 || scores[j] > scores[best]))
                best = j;
        }
        indices[i] = best;
    }
    return n < 0 ? 0 : n;
}
