/* Loading WavLM weights from safetensors (spec 11): the configuration comes
 * from the tensor shapes, every tensor's presence, dtype and shape is checked
 * before anything is copied, and the weights are converted to float32,
 * folded and laid out for the forward (frontend/wavlm.h).
 *
 * Loader rules (spec 11.3): an optional "wavlm." prefix (checkpoints of
 * WavLMFor... heads); the positional conv's weight_g / weight_v or, from
 * newer PyTorch, parametrizations.weight.original0 / original1; F32, F16 or
 * BF16; masked_spec_embed and head tensors are never looked up, so ignored.
 *
 * The fingerprint is FNV-1a 64 over, first, the two settings that no shape
 * shows (the conv strides and max_distance, as int32), then the folded
 * float32 weights (little-endian bytes) in the HF layout, tensor by tensor
 * in the order of plan_model(): the gate linear as its folded (2, d_h) and
 * (2), the positional conv as its folded weight (D, D / G, K) in place of g
 * and v. It therefore names the computation's values, not the file's dtype
 * or key spelling, and does not change if the forward's internal layout
 * does. */
#include "frontend/wavlm.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/safetensors.h"

#define NAME_LEN 128
/* Largest size read from a shape: keeps every product below in range. */
#define DIM_MAX (1 << 20)
#define POS_PREFIX "encoder.pos_conv_embed.conv."

typedef enum {
    ENTRY_PLAIN,  /* copied as is */
    ENTRY_TAPS,   /* conv weight (out, in, k) -> taps (k, out, in) */
    ENTRY_GATE_W, /* (8, d_h) -> (2, d_h): rows 0-3 and 4-7 summed */
    ENTRY_GATE_B, /* (8) -> (2) */
    ENTRY_POS_G,  /* weight-norm g (1, 1, K): kept by the loader, folded into v */
    ENTRY_POS_V   /* weight-norm v (D, D/G, K) -> folded W stored (D, K, D/G) */
} entry_kind;

typedef struct {
    char name[NAME_LEN]; /* HF key without prefix */
    entry_kind kind;
    int ndim;
    int64_t shape[4];
    float *dst;
    const mrnet_st_tensor *t; /* found in the file (check_entries) */
} wavlm_entry;

typedef struct {
    const mrnet_st_file *f;
    const char *prefix; /* "" or "wavlm." */
} wavlm_source;

uint64_t wavlm_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- finding tensors -------------------------------------------------------- */

/* The newer PyTorch spelling of a weight-norm tensor, or NULL. */
static const char *alternative_name(const char *name)
{
    if (!strcmp(name, POS_PREFIX "weight_g"))
        return POS_PREFIX "parametrizations.weight.original0";
    if (!strcmp(name, POS_PREFIX "weight_v"))
        return POS_PREFIX "parametrizations.weight.original1";
    return NULL;
}

static const mrnet_st_tensor *source_find(const wavlm_source *s, const char *name)
{
    char full[NAME_LEN + 8];
    snprintf(full, sizeof full, "%s%s", s->prefix, name);
    const mrnet_st_tensor *t = mrnet_st_find(s->f, full);
    const char *alt = alternative_name(name);
    if (!t && alt) {
        snprintf(full, sizeof full, "%s%s", s->prefix, alt);
        t = mrnet_st_find(s->f, full);
    }
    return t;
}

static mrnet_status missing(const wavlm_source *s, const char *name)
{
    const char *alt = alternative_name(name);
    if (alt)
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s%s' (or '%s%s') is missing", s->f->path,
                          s->prefix, name, s->prefix, alt);
    return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s%s' is missing", s->f->path, s->prefix, name);
}

/* A tensor that must exist with ndim dimensions, each in [1, DIM_MAX]: the
 * ones the configuration is read from. */
static mrnet_status find_ranked(const wavlm_source *s, const char *name, int ndim,
                                const mrnet_st_tensor **out)
{
    const mrnet_st_tensor *t = source_find(s, name);
    if (!t)
        return missing(s, name);
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->shape[i] >= 1 && t->shape[i] <= DIM_MAX;
    if (!ok) {
        char got[128];
        return mrnet_fail(MRNET_ERR_SHAPE,
                          "%s: tensor '%s' has shape %s, expected %d dimensions of 1 to %d",
                          s->f->path, t->name,
                          mrnet_shape_string(t->ndim, t->shape, got, sizeof got), ndim, DIM_MAX);
    }
    *out = t;
    return MRNET_OK;
}

/* ---- configuration ---------------------------------------------------------- */

/* "[5, 2, 2]" or "5,2,2" (tools/wavlm_ref.py writes the latter): exactly n
 * integers >= 1. */
static mrnet_status parse_strides(const char *path, const char *text, int n, int *out)
{
    const char *p = text + strspn(text, " [");
    int count = 0;
    while (count < n) {
        char *end;
        const long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > DIM_MAX)
            break;
        out[count++] = (int)v;
        p = end + strspn(end, " ");
        if (*p != ',')
            break;
        p++;
    }
    p += strspn(p, " ]");
    if (count == n && *p == '\0')
        return MRNET_OK;
    return mrnet_fail(MRNET_ERR_FORMAT,
                      "%s: metadata conv_stride '%s' is not a list of %d positive integers", path,
                      text, n);
}

static mrnet_status read_conv_config(const wavlm_source *s, mrnet_wavlm_config *c)
{
    char name[NAME_LEN];
    const mrnet_st_tensor *t;
    for (c->conv_layers = 0;; c->conv_layers++) {
        snprintf(name, sizeof name, "feature_extractor.conv_layers.%d.conv.weight", c->conv_layers);
        if (!source_find(s, name))
            break;
        if (c->conv_layers == MRNET_WAVLM_MAX_CONV)
            return mrnet_fail(MRNET_ERR_UNSUPPORTED, "%s: more than %d conv layers ('%s%s')",
                              s->f->path, MRNET_WAVLM_MAX_CONV, s->prefix, name);
    }
    /* The Large layout normalises every conv layer and is pre-LN: another model. */
    if (source_find(s, "feature_extractor.conv_layers.1.layer_norm.weight"))
        return mrnet_fail(
            MRNET_ERR_UNSUPPORTED,
            "%s: tensor '%sfeature_extractor.conv_layers.1.layer_norm.weight': a layer-norm "
            "feature encoder (the WavLM Large layout) is not supported, only Base",
            s->f->path, s->prefix);
    if (source_find(s, "feature_extractor.conv_layers.0.conv.bias"))
        return mrnet_fail(
            MRNET_ERR_UNSUPPORTED,
            "%s: tensor '%sfeature_extractor.conv_layers.0.conv.bias': conv biases in the "
            "feature encoder are not supported (Base+ has none)",
            s->f->path, s->prefix);
    for (int i = 0; i < c->conv_layers; i++) {
        snprintf(name, sizeof name, "feature_extractor.conv_layers.%d.conv.weight", i);
        MRNET_TRY(find_ranked(s, name, 3, &t));
        if (i == 0)
            c->conv_dim = (int)t->shape[0];
        c->conv_kernel[i] = (int)t->shape[2];
    }
    static const int standard[] = {5, 2, 2, 2, 2, 2, 2};
    const char *meta = mrnet_st_meta(s->f, "conv_stride");
    if (meta)
        return parse_strides(s->f->path, meta, c->conv_layers, c->conv_stride);
    if (c->conv_layers != 7)
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s: %d conv layers and no metadata 'conv_stride': the standard strides "
                          "5,2,2,2,2,2,2 are for 7 layers",
                          s->f->path, c->conv_layers);
    memcpy(c->conv_stride, standard, sizeof standard);
    return MRNET_OK;
}

static mrnet_status read_encoder_config(const wavlm_source *s, mrnet_wavlm_config *c)
{
    const mrnet_st_tensor *t;
    MRNET_TRY(find_ranked(s, "feature_projection.projection.weight", 2, &t));
    c->hidden = (int)t->shape[0];
    MRNET_TRY(find_ranked(s, "encoder.layers.0.attention.rel_attn_embed.weight", 2, &t));
    c->buckets = (int)t->shape[0];
    c->heads = (int)t->shape[1];
    MRNET_TRY(find_ranked(s, "encoder.layers.0.feed_forward.intermediate_dense.weight", 2, &t));
    c->ffn = (int)t->shape[0];
    char name[NAME_LEN];
    for (c->layers = 1;; c->layers++) {
        snprintf(name, sizeof name, "encoder.layers.%d.attention.q_proj.weight", c->layers);
        if (!source_find(s, name) || c->layers == DIM_MAX)
            break;
    }
    MRNET_TRY(find_ranked(s, POS_PREFIX "weight_v", 3, &t));
    c->pos_kernel = (int)t->shape[2];
    if (c->hidden % t->shape[1] != 0) {
        char got[128];
        return mrnet_fail(MRNET_ERR_SHAPE,
                          "%s: tensor '%s' has shape %s: %lld channels per group do not "
                          "divide the width %d",
                          s->f->path, t->name,
                          mrnet_shape_string(t->ndim, t->shape, got, sizeof got),
                          (long long)t->shape[1], c->hidden);
    }
    c->pos_groups = c->hidden / (int)t->shape[1];
    /* HF's config name, or the one tools/wavlm_ref.py records */
    c->max_distance = 800;
    const char *key = "max_bucket_distance", *meta = mrnet_st_meta(s->f, key);
    if (!meta)
        meta = mrnet_st_meta(s->f, key = "max_distance");
    if (meta) {
        char *end;
        long v = strtol(meta, &end, 10);
        if (end == meta || *end || v < 1 || v > INT_MAX)
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: metadata %s '%s' is not a positive integer",
                              s->f->path, key, meta);
        c->max_distance = (int)v;
    }
    if (c->hidden % c->heads != 0)
        return mrnet_fail(
            MRNET_ERR_SHAPE,
            "%s: width %d (feature_projection.projection.weight) is not a "
            "multiple of the %d heads (encoder.layers.0.attention.rel_attn_embed.weight)",
            s->f->path, c->hidden, c->heads);
    /* the log-spaced buckets need max_exact = buckets / 4 >= 1 below max_distance */
    if (c->buckets < 4 || c->max_distance <= c->buckets / 4)
        return mrnet_fail(MRNET_ERR_SHAPE,
                          "%s: %d position buckets with max distance %d: need at least 4 "
                          "buckets and a distance above buckets / 4",
                          s->f->path, c->buckets, c->max_distance);
    return MRNET_OK;
}

/* ---- the tensor table ---------------------------------------------------------- */

typedef struct {
    float *base; /* NULL while measuring */
    size_t used; /* floats */
} carver;

/* n floats, each tensor starting on a 64-byte boundary. */
static float *carve(carver *c, size_t n)
{
    float *p = c->base ? c->base + c->used : NULL;
    c->used += (n + 15) / 16 * 16;
    return p;
}

typedef struct {
    wavlm_entry *e; /* NULL while counting */
    int n;
    carver cv;
} table;

/* Appends an entry: its destination is `dst`, or `floats` newly carved when
 * floats > 0; returns the destination (NULL while measuring). */
static float *add_entry(table *tb, entry_kind kind, float *dst, size_t floats, int ndim,
                        const int64_t *shape, const char *fmt, ...) MRNET_PRINTF(7, 8);
static float *add_entry(table *tb, entry_kind kind, float *dst, size_t floats, int ndim,
                        const int64_t *shape, const char *fmt, ...)
{
    if (floats)
        dst = carve(&tb->cv, floats);
    if (tb->e) {
        wavlm_entry *e = &tb->e[tb->n];
        memset(e, 0, sizeof *e);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->name, sizeof e->name, fmt, ap);
        va_end(ap);
        e->kind = kind;
        e->ndim = ndim;
        memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
        e->dst = dst;
    }
    tb->n++;
    return dst;
}

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
/* A tensor copied as is into `floats` of its own. */
#define PLAIN(floats, shape_ndim, shape, ...)                                                      \
    add_entry(tb, ENTRY_PLAIN, NULL, floats, shape_ndim, shape, __VA_ARGS__)

/* The tensors of one transformer layer; q, k and v land in one (3D, D) matrix. */
static void plan_layer(table *tb, const mrnet_wavlm_config *c, int l, wavlm_layer *ly)
{
    const int64_t D = c->hidden, F = c->ffn, H = c->heads, dh = D / H;
    const size_t DD = (size_t)D * D;
    float *qkv_w = carve(&tb->cv, 3 * DD), *qkv_b = carve(&tb->cv, 3 * (size_t)D);
    static const char *const qkv[] = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) {
        add_entry(tb, ENTRY_PLAIN, qkv_w ? qkv_w + i * DD : NULL, 0, 2, SHAPE(D, D),
                  "encoder.layers.%d.attention.%s_proj.weight", l, qkv[i]);
        add_entry(tb, ENTRY_PLAIN, qkv_b ? qkv_b + i * D : NULL, 0, 1, SHAPE(D),
                  "encoder.layers.%d.attention.%s_proj.bias", l, qkv[i]);
    }
    ly->qkv_w = qkv_w;
    ly->qkv_b = qkv_b;
    ly->out_w = PLAIN(DD, 2, SHAPE(D, D), "encoder.layers.%d.attention.out_proj.weight", l);
    ly->out_b = PLAIN(D, 1, SHAPE(D), "encoder.layers.%d.attention.out_proj.bias", l);
    ly->gate_const =
        PLAIN(H, 4, SHAPE(1, H, 1, 1), "encoder.layers.%d.attention.gru_rel_pos_const", l);
    ly->gate_w = add_entry(tb, ENTRY_GATE_W, NULL, 2 * dh, 2, SHAPE(8, dh),
                           "encoder.layers.%d.attention.gru_rel_pos_linear.weight", l);
    ly->gate_b = add_entry(tb, ENTRY_GATE_B, NULL, 2, 1, SHAPE(8),
                           "encoder.layers.%d.attention.gru_rel_pos_linear.bias", l);
    ly->attn_ln_w = PLAIN(D, 1, SHAPE(D), "encoder.layers.%d.layer_norm.weight", l);
    ly->attn_ln_b = PLAIN(D, 1, SHAPE(D), "encoder.layers.%d.layer_norm.bias", l);
    ly->ffn_in_w = PLAIN((size_t)F * D, 2, SHAPE(F, D),
                         "encoder.layers.%d.feed_forward.intermediate_dense.weight", l);
    ly->ffn_in_b =
        PLAIN(F, 1, SHAPE(F), "encoder.layers.%d.feed_forward.intermediate_dense.bias", l);
    ly->ffn_out_w = PLAIN((size_t)D * F, 2, SHAPE(D, F),
                          "encoder.layers.%d.feed_forward.output_dense.weight", l);
    ly->ffn_out_b = PLAIN(D, 1, SHAPE(D), "encoder.layers.%d.feed_forward.output_dense.bias", l);
    ly->final_ln_w = PLAIN(D, 1, SHAPE(D), "encoder.layers.%d.final_layer_norm.weight", l);
    ly->final_ln_b = PLAIN(D, 1, SHAPE(D), "encoder.layers.%d.final_layer_norm.bias", l);
}

/* Every tensor, in fingerprint order, with its expected shape and (when
 * tb->cv.base is set) its place in the model; tb->n becomes the number of
 * entries and tb->cv.used the floats of the model. pos_g receives g. */
static void plan_model(mrnet_wavlm *m, table *tb, float *pos_g)
{
    const mrnet_wavlm_config *c = &m->cfg;
    const int64_t C = c->conv_dim, D = c->hidden, K = c->pos_kernel, cin = D / c->pos_groups;
    const int64_t k0 = c->conv_kernel[0];
    tb->n = 0;
    m->conv0_taps = add_entry(tb, ENTRY_TAPS, NULL, (size_t)C * k0, 3, SHAPE(C, 1, k0),
                              "feature_extractor.conv_layers.0.conv.weight");
    m->gn_w = PLAIN(C, 1, SHAPE(C), "feature_extractor.conv_layers.0.layer_norm.weight");
    m->gn_b = PLAIN(C, 1, SHAPE(C), "feature_extractor.conv_layers.0.layer_norm.bias");
    for (int i = 1; i < c->conv_layers; i++) {
        const int64_t k = c->conv_kernel[i];
        m->conv_taps[i] = add_entry(tb, ENTRY_TAPS, NULL, (size_t)(C * C * k), 3, SHAPE(C, C, k),
                                    "feature_extractor.conv_layers.%d.conv.weight", i);
    }
    m->fp_ln_w = PLAIN(C, 1, SHAPE(C), "feature_projection.layer_norm.weight");
    m->fp_ln_b = PLAIN(C, 1, SHAPE(C), "feature_projection.layer_norm.bias");
    m->fp_w = PLAIN((size_t)(D * C), 2, SHAPE(D, C), "feature_projection.projection.weight");
    m->fp_b = PLAIN(D, 1, SHAPE(D), "feature_projection.projection.bias");
    add_entry(tb, ENTRY_POS_G, pos_g, 0, 3, SHAPE(1, 1, K), POS_PREFIX "weight_g");
    m->pos_w = add_entry(tb, ENTRY_POS_V, NULL, (size_t)(D * K * cin), 3, SHAPE(D, cin, K),
                         POS_PREFIX "weight_v");
    m->pos_b = PLAIN(D, 1, SHAPE(D), POS_PREFIX "bias");
    m->enc_ln_w = PLAIN(D, 1, SHAPE(D), "encoder.layer_norm.weight");
    m->enc_ln_b = PLAIN(D, 1, SHAPE(D), "encoder.layer_norm.bias");
    m->rel_embed = PLAIN((size_t)c->buckets * c->heads, 2, SHAPE(c->buckets, c->heads),
                         "encoder.layers.0.attention.rel_attn_embed.weight");
    for (int l = 0; l < c->layers; l++)
        plan_layer(tb, c, l, &m->layer[l]);
}

/* ---- checking and copying ------------------------------------------------------- */

/* Presence, dtype and shape of every entry, before any copy; returns the
 * largest numel through *max_numel. */
static mrnet_status check_entries(const wavlm_source *s, wavlm_entry *e, int n, int64_t *max_numel)
{
    *max_numel = 0;
    for (int i = 0; i < n; i++) {
        const mrnet_st_tensor *t = source_find(s, e[i].name);
        if (!t)
            return missing(s, e[i].name);
        if (t->dtype != MRNET_F32 && t->dtype != MRNET_F16 && t->dtype != MRNET_BF16)
            return mrnet_fail(MRNET_ERR_SHAPE,
                              "%s: tensor '%s' has dtype %s, expected F32, F16 or BF16", s->f->path,
                              t->name, mrnet_dtype_name(t->dtype));
        int ok = t->ndim == e[i].ndim;
        for (int d = 0; ok && d < t->ndim; d++)
            ok = t->shape[d] == e[i].shape[d];
        if (!ok) {
            char want[128], got[128];
            return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s",
                              s->f->path, t->name,
                              mrnet_shape_string(t->ndim, t->shape, got, sizeof got),
                              mrnet_shape_string(e[i].ndim, e[i].shape, want, sizeof want));
        }
        e[i].t = t;
        *max_numel = t->numel > *max_numel ? t->numel : *max_numel;
    }
    return MRNET_OK;
}

// v (D, Cin, K) -> W (D, Cin, K) = g[j] * v / ||v[:, :, j]|| (spec 6: the norm
// runs over all output and input channels of tap j), in place.
static mrnet_status fold_weight_norm(const char *path, const char *name, float *v, const float *g,
                                     int64_t D, int64_t cin, int64_t K)
{
    for (int64_t j = 0; j < K; j++) {
        double ss = 0.0;
        for (int64_t r = 0; r < D * cin; r++)
            ss += (double)v[r * K + j] * v[r * K + j];
        if (!(ss > 0.0))
            return mrnet_fail(MRNET_ERR_NUMERIC,
                              "%s: tensor '%s': tap %lld is all zeros, its weight norm "
                              "is undefined",
                              path, name, (long long)j);
        const float scale = g[j] / (float)sqrt(ss); /* as torch: v * (g / norm) */
        for (int64_t r = 0; r < D * cin; r++)
            v[r * K + j] *= scale;
    }
    return MRNET_OK;
}

// (8, dh) -> (2, dh) in place; rows = 8 for the weight, dh = 1 for the bias
static void fold_gate(float *x, int64_t dh)
{
    for (int half = 0; half < 2; half++)
        for (int64_t k = 0; k < dh; k++) {
            float acc = 0.0f;
            for (int r = 0; r < 4; r++)
                acc += x[(half * 4 + r) * dh + k];
            x[half * dh + k] = acc;
        }
}

// (out, in, k) -> (k, out, in)
static void store_taps(const float *w, float *taps, int64_t out, int64_t in, int64_t k)
{
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++)
            for (int64_t j = 0; j < k; j++)
                taps[(j * out + o) * in + i] = w[(o * in + i) * k + j];
}

// (D, cin, K) -> (D, K, cin): the im2col row of output o is [tap][channel]
static void store_pos(const float *w, float *dst, int64_t D, int64_t cin, int64_t K)
{
    for (int64_t o = 0; o < D; o++)
        for (int64_t c = 0; c < cin; c++)
            for (int64_t j = 0; j < K; j++)
                dst[(o * K + j) * cin + c] = w[(o * cin + c) * K + j];
}

/* One entry: to float32 in scratch, finite, folded, hashed, stored. */
static mrnet_status copy_entry(const wavlm_source *s, const wavlm_entry *e, const float *pos_g,
                               float *scratch, uint64_t *hash)
{
    const mrnet_st_tensor *t = e->t;
    MRNET_TRY(mrnet_st_copy_to_f32(s->f, t, scratch, t->numel));
    for (int64_t i = 0; i < t->numel; i++)
        if (!isfinite(scratch[i]))
            return mrnet_fail(MRNET_ERR_NUMERIC,
                              "%s: tensor '%s' holds a non-finite value at index %lld", s->f->path,
                              t->name, (long long)i);
    int64_t keep = t->numel;
    switch (e->kind) {
    case ENTRY_POS_G:
        memcpy(e->dst, scratch, (size_t)t->numel * sizeof(float));
        return MRNET_OK; /* hashed as part of the folded weight */
    case ENTRY_POS_V:
        MRNET_TRY(fold_weight_norm(s->f->path, t->name, scratch, pos_g, e->shape[0], e->shape[1],
                                   e->shape[2]));
        break;
    case ENTRY_GATE_W:
    case ENTRY_GATE_B:
        fold_gate(scratch, e->kind == ENTRY_GATE_W ? e->shape[1] : 1);
        keep = t->numel / 4;
        break;
    default:
        break;
    }
    *hash = wavlm_fnv1a(*hash, scratch, (size_t)keep * sizeof(float));
    if (e->kind == ENTRY_TAPS)
        store_taps(scratch, e->dst, e->shape[0], e->shape[1], e->shape[2]);
    else if (e->kind == ENTRY_POS_V)
        store_pos(scratch, e->dst, e->shape[0], e->shape[1], e->shape[2]);
    else
        memcpy(e->dst, scratch, (size_t)keep * sizeof(float));
    return MRNET_OK;
}

/* Three passes over the table: count and measure; names and shapes, all
 * checked before anything is allocated for the weights; places, copies. */
static mrnet_status load_weights(const wavlm_source *s, mrnet_wavlm *m)
{
    const mrnet_wavlm_config *c = &m->cfg;
    m->layer = calloc((size_t)c->layers, sizeof *m->layer);
    float *pos_g = malloc((size_t)c->pos_kernel * sizeof(float)), *scratch = NULL;
    table tb = {0};
    plan_model(m, &tb, pos_g);
    m->n_weights = tb.cv.used;
    tb.e = calloc((size_t)tb.n, sizeof *tb.e);
    mrnet_status st = MRNET_OK;
    if (!m->layer || !pos_g || !tb.e)
        st = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", s->f->path);
    int64_t max_numel = 0;
    if (st == MRNET_OK) {
        plan_model(m, &tb, pos_g);
        st = check_entries(s, tb.e, tb.n, &max_numel);
    }
    if (st == MRNET_OK) {
        m->weights = aligned_alloc(64, (m->n_weights * sizeof(float) + 63) / 64 * 64);
        scratch = malloc((size_t)max_numel * sizeof(float));
        if (!m->weights || !scratch)
            st = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for %zu weights", s->f->path,
                            m->n_weights);
    }
    if (st == MRNET_OK) {
        tb.cv = (carver){.base = m->weights};
        plan_model(m, &tb, pos_g);
        st = check_entries(s, tb.e, tb.n, &max_numel); /* finds them again for this table */
        uint64_t hash =
            wavlm_fnv1a(WAVLM_FNV_OFFSET, c->conv_stride, (size_t)c->conv_layers * sizeof(int));
        hash = wavlm_fnv1a(hash, &c->max_distance, sizeof c->max_distance);
        for (int i = 0; st == MRNET_OK && i < tb.n; i++)
            st = copy_entry(s, &tb.e[i], pos_g, scratch, &hash);
        snprintf(m->fingerprint, sizeof m->fingerprint, "%016llx", (unsigned long long)hash);
    }
    free(scratch);
    free(pos_g);
    free(tb.e);
    return st;
}

static mrnet_status load_from(const mrnet_st_file *f, mrnet_wavlm *m)
{
    wavlm_source s = {f, ""};
    const char *first = "feature_extractor.conv_layers.0.conv.weight";
    if (!source_find(&s, first)) {
        s.prefix = "wavlm.";
        if (!source_find(&s, first)) {
            s.prefix = "";
            return missing(&s, first);
        }
    }
    MRNET_TRY(read_conv_config(&s, &m->cfg));
    MRNET_TRY(read_encoder_config(&s, &m->cfg));
    return load_weights(&s, m);
}

mrnet_status mrnet_wavlm_load(const char *path, mrnet_wavlm **out)
{
    if (!out)
        return mrnet_fail(MRNET_ERR_ARG, "mrnet_wavlm_load: out is NULL");
    *out = NULL;
    if (!path)
        return mrnet_fail(MRNET_ERR_ARG, "mrnet_wavlm_load: path is NULL");
    mrnet_st_file *f;
    MRNET_TRY(mrnet_st_open(path, &f));
    mrnet_wavlm *m = calloc(1, sizeof *m);
    mrnet_status st = m ? load_from(f, m) : mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    mrnet_st_close(f);
    if (st != MRNET_OK) {
        mrnet_wavlm_free(m);
        return st;
    }
    *out = m;
    return MRNET_OK;
}

void mrnet_wavlm_free(mrnet_wavlm *m)
{
    if (!m)
        return;
    free(m->weights);
    free(m->layer);
    free(m);
}

const mrnet_wavlm_config *mrnet_wavlm_get_config(const mrnet_wavlm *m)
{
    return m ? &m->cfg : NULL;
}

const char *mrnet_wavlm_fingerprint(const mrnet_wavlm *m) { return m ? m->fingerprint : ""; }

int mrnet_wavlm_states(const mrnet_wavlm *m) { return m ? m->cfg.layers + 1 : 0; }
