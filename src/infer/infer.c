#include "infer/infer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/features_parse.h"
#include "nn/nn.h"
#include "tensor/error.h"

mrnet_status mrnet_view_parse(const char *name, mrnet_view *view)
{
    static const char *const names[] = {"crop", "windows", "full"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) {
            *view = (mrnet_view)i;
            return MRNET_OK;
        }
    return mrnet_fail(MRNET_ERR_ARG, "unknown view '%s' (crop, windows, full)", name);
}

const char *mrnet_view_name(mrnet_view view)
{
    return view == MRNET_VIEW_CROP ? "crop" : view == MRNET_VIEW_WINDOWS ? "windows" : "full";
}

static int64_t store_frames(void *ctx, int item)
{
    mrnet_store_source_ctx *c = ctx;
    return mrnet_store_get(c->store, c->entries[item])->T;
}

static mrnet_status store_read(void *ctx, int item, int64_t t0, int64_t len, float *dst)
{
    mrnet_store_source_ctx *c = ctx;
    return mrnet_store_read(c->store, c->entries[item], t0, len, dst);
}

static const char *store_name(void *ctx, int item)
{
    mrnet_store_source_ctx *c = ctx;
    return mrnet_store_get(c->store, c->entries[item])->source;
}

mrnet_feature_source mrnet_store_source(mrnet_store_source_ctx *ctx, int n_entries)
{
    mrnet_feature_source s = {.n_items = n_entries, .frames = store_frames, .read = store_read, .ctx = ctx,
                              .name = store_name};
    if (n_entries > 0) {
        const mrnet_store_entry *e = mrnet_store_get(ctx->store, ctx->entries[0]);
        s.S = e->S;
        s.L = e->L;
        s.D = e->D;
    }
    return s;
}

void mrnet_features_to_input(const float *feat, int planes, int D, int64_t len, float *input)
{
    for (int s = 0; s < planes; s++)
        for (int d = 0; d < D; d++) {
            const float *row = feat + ((size_t)s * D + d) * (size_t)len;
            float *out = input + (size_t)s * (size_t)len * D + d;
            for (int64_t t = 0; t < len; t++)
                out[(size_t)t * D] = row[t];
        }
}

static int source_layers(const mrnet_feature_source *src) { return src->L > 0 ? src->L : 1; }

/* One forward pass over a batch of windows. */
typedef struct {
    int item;
    int64_t t0, len;
} window;

typedef struct {
    mrnet_model *model;
    const mrnet_feature_source *src;
    float *feat, *input, *logits, *emb, *p;
    float *probs, *embeddings;
    int *counts;
    mrnet_window_fn on_window;
    void *window_ctx;
} eval_run;

/* Finite logits, or an error naming the item: NaN would be printed, scored
 * and averaged as if it were a prediction. */
static mrnet_status check_logits(const eval_run *r, const window *w, int n)
{
    int K = mrnet_model_config(r->model)->classes;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < K; k++) {
            float v = r->logits[(size_t)i * K + k];
            if (isfinite(v))
                continue;
            char item[32];
            snprintf(item, sizeof item, "item %d", w[i].item);
            const char *name = r->src->name ? r->src->name(r->src->ctx, w[i].item) : item;
            return mrnet_fail(MRNET_ERR_NUMERIC,
                              "%s: logit %d of the window at frame %lld is %s: the model's weights "
                              "or statistics are not finite or overflow",
                              name, k, (long long)w[i].t0, isnan(v) ? "NaN" : "infinite");
        }
    return MRNET_OK;
}

static mrnet_status run_batch(eval_run *r, const window *w, int n)
{
    const mrnet_config *cfg = mrnet_model_config(r->model);
    int planes = r->src->S * source_layers(r->src), D = r->src->D, K = cfg->classes, E = cfg->embed;
    int64_t len = w[0].len;
    size_t slot = (size_t)planes * D * (size_t)len;
    for (int i = 0; i < n; i++) {
        MRNET_TRY(r->src->read(r->src->ctx, w[i].item, w[i].t0, len, r->feat));
        mrnet_features_to_input(r->feat, planes, D, len, r->input + (size_t)i * slot);
    }
    MRNET_TRY(mrnet_forward(r->model, r->input, n, (int)len, false, r->emb, r->logits));
    MRNET_TRY(check_logits(r, w, n));
    for (int i = 0; i < n; i++) {
        int item = w[i].item;
        softmax_forward(r->logits + (size_t)i * K, r->p, 1, K);
        for (int k = 0; k < K; k++)
            r->probs[(size_t)item * K + k] += r->p[k];
        if (r->embeddings)
            for (int e = 0; e < E; e++)
                r->embeddings[(size_t)item * E + e] += r->emb[(size_t)i * E + e];
        r->counts[item]++;
        if (r->on_window)
            r->on_window(r->window_ctx, item, w[i].t0, len, r->p);
    }
    return MRNET_OK;
}

static int64_t max_frames(const mrnet_feature_source *src)
{
    int64_t m = 1;
    for (int i = 0; i < src->n_items; i++) {
        int64_t T = src->frames(src->ctx, i);
        m = T > m ? T : m;
    }
    return m;
}

static mrnet_status evaluate_all(eval_run *r, const mrnet_infer_options *o, window *batch)
{
    const mrnet_feature_source *src = r->src;
    int n = 0;
    for (int item = 0; item < src->n_items; item++) {
        int64_t T = src->frames(src->ctx, item);
        if (T < 1)
            return mrnet_fail(MRNET_ERR_FORMAT, "item %d has no frames", item);
        if (o->view == MRNET_VIEW_FULL) { /* lengths differ: one item per pass */
            window w = {item, 0, T};
            MRNET_TRY(run_batch(r, &w, 1));
            continue;
        }
        int64_t hop = o->hop > 0 ? o->hop : (o->crop / 2 > 0 ? o->crop / 2 : 1);
        int64_t count = o->view == MRNET_VIEW_CROP ? 1 : mrnet_window_count(T, o->crop, hop);
        for (int64_t k = 0; k < count; k++) {
            int64_t t0 = o->view == MRNET_VIEW_CROP ? 0 : mrnet_window_start(T, o->crop, hop, k);
            batch[n++] = (window){item, t0, o->crop};
            if (n == o->batch) {
                MRNET_TRY(run_batch(r, batch, n));
                n = 0;
            }
        }
    }
    return n ? run_batch(r, batch, n) : MRNET_OK;
}

mrnet_status mrnet_infer_source(mrnet_model *model, const mrnet_feature_source *src, const mrnet_infer_options *o,
                             float *probs, float *embeddings, mrnet_window_fn on_window,
                             void *window_ctx)
{
    const mrnet_config *cfg = mrnet_model_config(model);
    int K = cfg->classes, E = cfg->embed;
    if (src->n_items == 0)
        return MRNET_OK;
    int L = source_layers(src);
    if (src->S != cfg->in_channels || src->D != cfg->in_dim || L != cfg->n_layers)
        return mrnet_fail(MRNET_ERR_SHAPE,
                          "features are (S %d, L %d, D %d) but the model takes (S %d, L %d, D %d)",
                          src->S, L, src->D, cfg->in_channels, cfg->n_layers, cfg->in_dim);
    if (o->batch < 1 || (o->view != MRNET_VIEW_FULL && o->crop < 1))
        return mrnet_fail(MRNET_ERR_ARG, "evaluation needs a batch and crop length >= 1");
    int64_t len = o->view == MRNET_VIEW_FULL ? max_frames(src) : o->crop;
    int B = o->view == MRNET_VIEW_FULL ? 1 : o->batch;
    size_t slot = (size_t)src->S * L * src->D * (size_t)len;
    eval_run r = {.model = model, .src = src, .probs = probs, .embeddings = embeddings,
                  .on_window = on_window, .window_ctx = window_ctx};
    r.feat = malloc(slot * sizeof(float));
    r.input = malloc((size_t)B * slot * sizeof(float));
    r.logits = malloc((size_t)B * K * sizeof(float));
    r.emb = malloc((size_t)B * E * sizeof(float));
    r.p = malloc((size_t)K * sizeof(float));
    r.counts = calloc((size_t)src->n_items, sizeof(int));
    window *batch = malloc((size_t)B * sizeof(window));
    mrnet_status st = MRNET_OK;
    if (!r.feat || !r.input || !r.logits || !r.emb || !r.p || !r.counts || !batch)
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory for evaluation (%d x %lld frames)", B,
                        (long long)len);
    if (st == MRNET_OK)
        st = mrnet_model_reserve(model, B, (int)len);
    if (st == MRNET_OK) {
        memset(probs, 0, (size_t)src->n_items * K * sizeof(float));
        if (embeddings)
            memset(embeddings, 0, (size_t)src->n_items * E * sizeof(float));
        st = evaluate_all(&r, o, batch);
    }
    for (int i = 0; st == MRNET_OK && i < src->n_items; i++) {
        float inv = 1.0f / (float)(r.counts[i] ? r.counts[i] : 1);
        for (int k = 0; k < K; k++)
            probs[(size_t)i * K + k] *= inv;
        for (int e = 0; embeddings && e < E; e++)
            embeddings[(size_t)i * E + e] *= inv;
    }
    free(r.feat);
    free(r.input);
    free(r.logits);
    free(r.emb);
    free(r.p);
    free(r.counts);
    free(batch);
    return st;
}

int mrnet_argmax(const float *p, int K)
{
    int best = 0;
    for (int k = 1; k < K; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

