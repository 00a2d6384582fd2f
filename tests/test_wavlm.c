/* The WavLM front end without a reference (src/frontend/): the facts of the
 * spec that need no PyTorch, the loader's rules and errors, the argument
 * checks, and properties of the forward (the layer mix, thread counts, a
 * model shared by threads).
 *
 * Weights: the tiny configuration of the golden files (conv_dim 32, hidden
 * 64, 4 heads, 3 layers), regenerated from seed 7 (tests/wavlm_seeded.h);
 * test_wavlm_golden checks that they are the golden file's, bit for bit.
 * Variants of that file (prefix, key spellings, dtypes, broken tensors) are
 * rewritten with the safetensors writer. */
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/wavlm.h"
#include "tensor/safetensors.h"
#include "wavlm_seeded.h"

/* ---- helpers ---------------------------------------------------------------------- */

static const char *tiny_weights(void)
{
    static char path[512];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s", test_path("tiny.safetensors"));
        const mrnet_wavlm_config c = seeded_tiny_config();
        if (seeded_write_weights(&c, SEEDED_TINY_SEED, path, NULL) != MRNET_OK)
            fail_msg("writing %s: %s", path, mrnet_last_error());
    }
    return path;
}

static mrnet_wavlm *load_ok(const char *path)
{
    mrnet_wavlm *m = NULL;
    if (mrnet_wavlm_load(path, &m) != MRNET_OK)
        fail_msg("mrnet_wavlm_load(%s): %s", path, mrnet_last_error());
    return m;
}

/* Loading must fail with `want`, a NULL model and a message that names the
 * file and holds each NULL-terminated fragment. */
static void expect_load_error(const char *path, mrnet_status want, ...)
{
    mrnet_wavlm *m = (mrnet_wavlm *)1;
    mrnet_status st = mrnet_wavlm_load(path, &m);
    if (st == MRNET_OK)
        fail_msg("%s: loaded a broken weight file", path);
    assert_null(m);
    const char *msg = mrnet_last_error();
    if (st != want)
        fail_msg("%s: status %s, expected %s (%s)", path, mrnet_status_name(st),
                 mrnet_status_name(want), msg);
    if (!strstr(msg, path))
        fail_msg("message does not name the file %s: %s", path, msg);
    va_list ap;
    va_start(ap, want);
    test_expect_fragments("message", msg, ap);
    va_end(ap);
}

/* hidden states (L+1, T, D) of the seeded input of n samples; caller frees */
static float *run_states(const mrnet_wavlm *m, int64_t n)
{
    float *wave = malloc((size_t)n * sizeof *wave);
    const size_t size = (size_t)mrnet_wavlm_states(m) * mrnet_wavlm_frames(m, n) * m->cfg.hidden;
    float *states = malloc(size * sizeof *states);
    assert_non_null(wave);
    assert_non_null(states);
    seeded_input(wave, n, SEEDED_TINY_SEED);
    if (mrnet_wavlm_hidden_states(m, wave, n, states) != MRNET_OK)
        fail_msg("hidden_states(%lld): %s", (long long)n, mrnet_last_error());
    free(wave);
    return states;
}

static size_t states_size(const mrnet_wavlm *m, int64_t n)
{
    return (size_t)mrnet_wavlm_states(m) * mrnet_wavlm_frames(m, n) * m->cfg.hidden;
}

/* ---- variant files ------------------------------------------------------------------ */

typedef struct {
    const char *prefix;   /* before every model key */
    int parametrizations; /* weight_g / weight_v -> parametrizations.weight.original0 / 1 */
    mrnet_dtype dtype;    /* F32 (0), F16 or BF16 */
    mrnet_dtype round_to; /* F16 or BF16: values rounded to that type, stored in dtype */
    const char *drop;     /* a tensor left out */
    const char *cut;      /* a tensor whose last dimension loses one */
    const char *extra;    /* a tensor added, (4, 4) */
    const char *meta_key, *meta_value;
    void (*edit)(const char *name, float *x, int64_t n); /* on every tensor's values */
} variant;

static uint16_t float_to_bf16(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    b += 0x7fffu + ((b >> 16) & 1u); /* round to nearest even (finite values) */
    return (uint16_t)(b >> 16);
}

static float bf16_to_float(uint16_t h)
{
    const uint32_t b = (uint32_t)h << 16;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static const char *rename_key(const char *name, const variant *v, char *buf, size_t size)
{
    const char *g = "encoder.pos_conv_embed.conv.weight_g",
               *vv = "encoder.pos_conv_embed.conv.weight_v";
    const char *base = name;
    if (v->parametrizations && !strcmp(name, g))
        base = "encoder.pos_conv_embed.conv.parametrizations.weight.original0";
    else if (v->parametrizations && !strcmp(name, vv))
        base = "encoder.pos_conv_embed.conv.parametrizations.weight.original1";
    snprintf(buf, size, "%s%s", v->prefix ? v->prefix : "", base);
    return buf;
}

/* Rewrites the tiny weights as test_path(file) under the variant's rules. */
static const char *write_variant(const char *file, const variant *v)
{
    mrnet_st_file *src = NULL;
    assert_int_equal(mrnet_st_open(tiny_weights(), &src), MRNET_OK);
    mrnet_st_writer *w = mrnet_st_writer_create();
    void **bufs = calloc((size_t)src->n_tensors + 1, sizeof *bufs);
    assert_non_null(w);
    assert_non_null(bufs);
    for (int i = 0; i < src->n_tensors; i++) {
        const mrnet_st_tensor *t = &src->tensors[i];
        if (v->drop && !strcmp(t->name, v->drop))
            continue;
        int64_t shape[MRNET_ST_MAX_DIMS], numel = t->numel;
        memcpy(shape, t->shape, sizeof shape);
        if (v->cut && !strcmp(t->name, v->cut)) {
            numel = numel / shape[t->ndim - 1] * (shape[t->ndim - 1] - 1);
            shape[t->ndim - 1]--;
        }
        float *x = malloc((size_t)t->numel * sizeof *x);
        assert_non_null(x);
        assert_int_equal(mrnet_st_copy_to_f32(src, t, x, t->numel), MRNET_OK);
        if (v->edit)
            v->edit(t->name, x, t->numel);
        for (int64_t k = 0; v->round_to && k < numel; k++)
            x[k] = v->round_to == MRNET_F16 ? mrnet_half_to_float(mrnet_float_to_half(x[k]))
                                            : bf16_to_float(float_to_bf16(x[k]));
        void *data = x;
        if (v->dtype == MRNET_F16 || v->dtype == MRNET_BF16) {
            uint16_t *h = malloc((size_t)numel * sizeof *h);
            assert_non_null(h);
            for (int64_t k = 0; k < numel; k++)
                h[k] = v->dtype == MRNET_F16 ? mrnet_float_to_half(x[k]) : float_to_bf16(x[k]);
            free(x);
            data = h;
        }
        bufs[i] = data;
        char name[256];
        assert_int_equal(mrnet_st_writer_add(w, rename_key(t->name, v, name, sizeof name), v->dtype,
                                             t->ndim, shape, data),
                         MRNET_OK);
    }
    static const float extra[16];
    if (v->extra)
        assert_int_equal(mrnet_st_writer_add(w, v->extra, MRNET_F32, 2, (int64_t[]){4, 4}, extra),
                         MRNET_OK);
    if (v->meta_key)
        assert_int_equal(mrnet_st_writer_meta(w, v->meta_key, v->meta_value), MRNET_OK);
    const char *path = test_path(file);
    assert_int_equal(mrnet_st_writer_save(w, path), MRNET_OK);
    mrnet_st_writer_free(w);
    for (int i = 0; i < src->n_tensors; i++)
        free(bufs[i]);
    free(bufs);
    mrnet_st_close(src);
    return path;
}

/* ---- spec facts ------------------------------------------------------------------------ */

static int bucket(int r) { return wavlm_bucket(r, 320, 800); }

static void relative_buckets(void **state)
{
    (void)state;
    assert_int_equal(bucket(0), 0);
    assert_int_equal(bucket(-1), 1);
    assert_int_equal(bucket(1), 161);
    assert_int_equal(bucket(-79), 79);
    assert_int_equal(bucket(79), 239);
    assert_int_equal(bucket(-80), 80);
    /* first |r| of each bucket offset 80..159 (spec 8.1) */
    static const int first[] = {
        80,  83,  85,  88,  90,  93,  96,  98,  101, 104, 107, 110, 114, 117, 120, 124,
        127, 131, 135, 139, 143, 147, 151, 156, 160, 165, 170, 175, 180, 185, 190, 196,
        201, 207, 213, 220, 226, 233, 239, 246, 253, 261, 268, 276, 284, 293, 301, 310,
        319, 328, 338, 348, 358, 368, 379, 390, 401, 413, 425, 438, 450, 464, 477, 491,
        505, 520, 535, 551, 567, 583, 600, 618, 636, 655, 674, 693, 714, 734, 756, 778};
    assert_int_equal(sizeof first / sizeof first[0], 80);
    for (int k = 0; k < 80; k++) {
        const int a = first[k];
        if (bucket(-a) != 80 + k || bucket(a) != 240 + k || bucket(-(a - 1)) != 79 + k)
            fail_msg("|r| = %d: buckets %d, %d (|r| - 1: %d), expected %d, %d (%d)", a, bucket(-a),
                     bucket(a), bucket(-(a - 1)), 80 + k, 240 + k, 79 + k);
    }
    assert_int_equal(bucket(-777), 158);
    assert_int_equal(bucket(-778), 159);
    assert_int_equal(bucket(778), 319);
    int prev = 0;
    for (int a = 0; a <= 200000; a++) {
        const int neg = bucket(-a), pos = bucket(a);
        if (neg == 160 || pos == 160)
            fail_msg("|r| = %d reaches bucket 160", a);
        if (neg < prev || (a > 0 && pos != neg + 160) || neg > 159)
            fail_msg("|r| = %d: buckets %d and %d (previous %d)", a, neg, pos, prev);
        prev = neg;
    }
    assert_int_equal(bucket(-200000), 159);
}

/* floor((L - k) / s) + 1 layer by layer, as the spec's table */
static int64_t frames_by_layer(int64_t n, int64_t *len)
{
    static const int k[] = {10, 3, 3, 3, 3, 2, 2}, s[] = {5, 2, 2, 2, 2, 2, 2};
    for (int i = 0; i < 7; i++) {
        n = n >= k[i] ? (n - k[i]) / s[i] + 1 : 0;
        len[i] = n;
    }
    return n;
}

static void frame_counts(void **state)
{
    (void)state;
    mrnet_wavlm *m = load_ok(tiny_weights());
    int64_t len[7], got[MRNET_WAVLM_MAX_CONV];
    for (int64_t n = 0; n <= 481000; n += n < 40000 ? 1 : 7) {
        const int64_t by_layer = frames_by_layer(n, len),
                      closed = n >= 400 ? (n - 400) / 320 + 1 : 0;
        if (by_layer != closed || mrnet_wavlm_frames(m, n) != closed)
            fail_msg(
                "n = %lld: %lld frames layer by layer, %lld by the formula, %lld from the model",
                (long long)n, (long long)by_layer, (long long)closed,
                (long long)mrnet_wavlm_frames(m, n));
    }
    /* spec 10's table */
    static const int64_t table[3][8] = {{16000, 3199, 1599, 799, 399, 199, 99, 49},
                                        {96000, 19199, 9599, 4799, 2399, 1199, 599, 299},
                                        {480000, 95999, 47999, 23999, 11999, 5999, 2999, 1499}};
    for (int r = 0; r < 3; r++) {
        wavlm_conv_lengths(&m->cfg, table[r][0], got);
        for (int i = 0; i < 7; i++)
            assert_int_equal(got[i], table[r][i + 1]);
    }
    assert_int_equal(mrnet_wavlm_frames(m, 399), 0);
    assert_int_equal(mrnet_wavlm_frames(m, 400), 1);
    assert_int_equal(mrnet_wavlm_frames(m, -5), 0);
    assert_int_equal(mrnet_wavlm_frames(NULL, 16000), 0);
    mrnet_wavlm_free(m);
}

/* The configuration read from the shapes, and the two folds of the loader. */
static void config_and_folds(void **state)
{
    (void)state;
    mrnet_wavlm *m = load_ok(tiny_weights());
    const mrnet_wavlm_config *c = mrnet_wavlm_get_config(m), want = seeded_tiny_config();
    assert_memory_equal(c, &want, sizeof want);
    assert_int_equal(mrnet_wavlm_states(m), 4);
    assert_int_equal(strlen(mrnet_wavlm_fingerprint(m)), 16);

    mrnet_st_file *f = NULL;
    assert_int_equal(mrnet_st_open(tiny_weights(), &f), MRNET_OK);
    const float *g, *v, *gw, *gb;
    const int D = c->hidden, K = c->pos_kernel, cin = D / c->pos_groups, dh = D / c->heads;
    assert_int_equal(
        mrnet_st_get_f32(f, "encoder.pos_conv_embed.conv.weight_g", 3, (int64_t[]){1, 1, K}, &g),
        0);
    assert_int_equal(
        mrnet_st_get_f32(f, "encoder.pos_conv_embed.conv.weight_v", 3, (int64_t[]){D, cin, K}, &v),
        0);
    /* weight norm over all output and input channels of tap j (spec 6):
     * every folded tap has norm |g[j]| and v's direction */
    for (int j = 0; j < K; j++) {
        double ss = 0.0, vv = 0.0;
        for (int o = 0; o < D; o++)
            for (int i = 0; i < cin; i++) {
                const double w = m->pos_w[((size_t)o * K + j) * cin + i];
                ss += w * w;
                vv += (double)v[((size_t)o * cin + i) * K + j] * v[((size_t)o * cin + i) * K + j];
            }
        if (fabs(sqrt(ss) - fabs(g[j])) > 1e-5 * fabs(g[j]))
            fail_msg("tap %d: folded norm %.9g, |g| %.9g", j, sqrt(ss), fabs(g[j]));
        for (int o = 0; o < D; o += 7) {
            const double want_w = g[j] * v[((size_t)o * cin + 3) * K + j] / sqrt(vv);
            assert_true(fabs(m->pos_w[((size_t)o * K + j) * cin + 3] - want_w) <=
                        1e-6 * (fabs(want_w) + 1e-3));
        }
    }
    /* the gate's 8 rows summed 4 + 4 (spec 8.3) */
    assert_int_equal(mrnet_st_get_f32(f, "encoder.layers.1.attention.gru_rel_pos_linear.weight", 2,
                                      (int64_t[]){8, dh}, &gw),
                     0);
    assert_int_equal(mrnet_st_get_f32(f, "encoder.layers.1.attention.gru_rel_pos_linear.bias", 1,
                                      (int64_t[]){8}, &gb),
                     0);
    for (int half = 0; half < 2; half++) {
        float b = 0.0f;
        for (int r = 0; r < 4; r++)
            b += gb[half * 4 + r];
        assert_true(fabsf(m->layer[1].gate_b[half] - b) <= 1e-6f);
        for (int k = 0; k < dh; k++) {
            float w = 0.0f;
            for (int r = 0; r < 4; r++)
                w += gw[(half * 4 + r) * dh + k];
            assert_true(fabsf(m->layer[1].gate_w[half * dh + k] - w) <= 1e-6f);
        }
    }
    mrnet_st_close(f);
    mrnet_wavlm_free(m);
}

static void unit_groupnorm(const char *name, float *x, int64_t n)
{
    if (!strcmp(name, "feature_extractor.conv_layers.0.layer_norm.weight"))
        for (int64_t i = 0; i < n; i++)
            x[i] = 1.0f;
    if (!strcmp(name, "feature_extractor.conv_layers.0.layer_norm.bias"))
        memset(x, 0, (size_t)n * sizeof *x);
}

/* GroupNorm over the whole utterance (spec 4), against conv layer 0
 * computed here in double from the file's weights: with gamma 1 and beta 0,
 * every channel of the normalised output has mean 0 and variance
 * var / (var + eps), and equals (x - mean) / sqrt(var + eps). 6 s: the
 * forward's layer-0 passes run in ten chunks. */
static void groupnorm_whole_utterance(void **state)
{
    (void)state;
    const char *path = write_variant("gn.safetensors", &(variant){.edit = unit_groupnorm});
    mrnet_wavlm *m = load_ok(path);
    const int64_t n = 96000, T0 = 19199;
    const int C = m->cfg.conv_dim;
    float *wave = malloc(n * sizeof *wave), *norm = malloc((size_t)C * T0 * sizeof *norm);
    float *act = malloc((size_t)C * T0 * sizeof *act);
    float *states = malloc(states_size(m, n) * sizeof *states);
    double *x = malloc(T0 * sizeof *x);
    seeded_input(wave, n, SEEDED_TINY_SEED);
    assert_int_equal(
        wavlm_forward(m, wave, n,
                      &(wavlm_outputs){.states = states, .conv0 = act, .conv0_norm = norm}),
        MRNET_OK);
    mrnet_st_file *f = NULL;
    const float *w0;
    assert_int_equal(mrnet_st_open(path, &f), MRNET_OK);
    assert_int_equal(mrnet_st_get_f32(f, "feature_extractor.conv_layers.0.conv.weight", 3,
                                      (int64_t[]){C, 1, 10}, &w0),
                     MRNET_OK);
    double worst = 0.0;
    for (int c = 0; c < C; c++) {
        double sum = 0.0, ss = 0.0, got_sum = 0.0, got_ss = 0.0;
        for (int64_t t = 0; t < T0; t++) {
            x[t] = 0.0;
            for (int j = 0; j < 10; j++)
                x[t] += (double)w0[c * 10 + j] * wave[t * 5 + j];
            sum += x[t];
            got_sum += norm[(size_t)c * T0 + t];
        }
        const double mean = sum / T0, got_mean = got_sum / T0;
        for (int64_t t = 0; t < T0; t++) {
            ss += (x[t] - mean) * (x[t] - mean);
            got_ss += (norm[(size_t)c * T0 + t] - got_mean) * (norm[(size_t)c * T0 + t] - got_mean);
        }
        const double var = ss / T0, rstd = 1.0 / sqrt(var + 1e-5);
        if (fabs(got_mean) > 1e-5 || fabs(got_ss / T0 - var / (var + 1e-5)) > 1e-5)
            fail_msg("channel %d: mean %.3g, variance %.6f, expected 0 and %.6f", c, got_mean,
                     got_ss / T0, var / (var + 1e-5));
        for (int64_t t = 0; t < T0; t++) {
            const float y = norm[(size_t)c * T0 + t];
            const double err = fabs(y - (x[t] - mean) * rstd);
            worst = err > worst ? err : worst;
            if (t % 97 == 0)
                assert_float_equal(act[(size_t)c * T0 + t],
                                   0.5f * y * (1.0f + erff(y / sqrtf(2.0f))), 1e-6);
        }
    }
    if (worst > 1e-5)
        fail_msg("normalised conv layer 0 differs by %.3g from the double reference", worst);
    mrnet_st_close(f);
    free(x);
    free(states);
    free(act);
    free(norm);
    free(wave);
    mrnet_wavlm_free(m);
}

/* ---- the loader ------------------------------------------------------------------------ */

/* Same values under another spelling: the same fingerprint and identical states. */
static void expect_same_model(const mrnet_wavlm *a, const char *path, const float *want, int64_t n)
{
    mrnet_wavlm *b = load_ok(path);
    assert_memory_equal(&a->cfg, &b->cfg, sizeof a->cfg);
    assert_string_equal(mrnet_wavlm_fingerprint(a), mrnet_wavlm_fingerprint(b));
    float *got = run_states(b, n);
    assert_memory_equal(got, want, states_size(b, n) * sizeof *got);
    free(got);
    mrnet_wavlm_free(b);
}

static void loader_spellings(void **state)
{
    (void)state;
    const int64_t n = 16000;
    mrnet_wavlm *m = load_ok(tiny_weights());
    float *want = run_states(m, n);
    /* a WavLMFor... checkpoint: every key under "wavlm.", head tensors beside */
    expect_same_model(m,
                      write_variant("prefix.safetensors",
                                    &(variant){.prefix = "wavlm.", .extra = "classifier.weight"}),
                      want, n);
    expect_same_model(m, write_variant("param.safetensors", &(variant){.parametrizations = 1}),
                      want, n);
    expect_same_model(
        m, write_variant("both.safetensors", &(variant){.prefix = "wavlm.", .parametrizations = 1}),
        want, n);
    expect_same_model(
        m,
        write_variant("stride.safetensors",
                      &(variant){.meta_key = "conv_stride", .meta_value = "[5, 2, 2, 2, 2, 2, 2]"}),
        want, n);
    mrnet_wavlm *far = load_ok(write_variant(
        "dist.safetensors", &(variant){.meta_key = "max_bucket_distance", .meta_value = "1280"}));
    assert_int_equal(far->cfg.max_distance, 1280);
    /* the same weights, another computation */
    assert_string_not_equal(mrnet_wavlm_fingerprint(far), mrnet_wavlm_fingerprint(m));
    /* the key tools/wavlm_ref.py writes */
    mrnet_wavlm *far2 = load_ok(write_variant(
        "dist2.safetensors", &(variant){.meta_key = "max_distance", .meta_value = "1280"}));
    assert_string_equal(mrnet_wavlm_fingerprint(far2), mrnet_wavlm_fingerprint(far));
    mrnet_wavlm_free(far2);
    mrnet_wavlm_free(far);
    free(want);
    mrnet_wavlm_free(m);
}

/* F16 and BF16 files, converted on load: exactly the model of an F32 file
 * holding the same (rounded) values; against the F32 original, the hidden
 * states move by about the dtype's rounding. */
static void loader_dtypes(void **state)
{
    (void)state;
    const int64_t n = 16000;
    mrnet_wavlm *m = load_ok(tiny_weights());
    float *want = run_states(m, n);
    const struct {
        mrnet_dtype dtype;
        double tolerance;
    } cases[] = {{MRNET_F16, 0.02}, {MRNET_BF16, 0.15}};
    for (int k = 0; k < 2; k++) {
        const mrnet_dtype dt = cases[k].dtype;
        mrnet_wavlm *r = load_ok(write_variant("r32.safetensors", &(variant){.round_to = dt}));
        float *rounded = run_states(r, n);
        expect_same_model(r,
                          write_variant("r16.safetensors", &(variant){.round_to = dt, .dtype = dt}),
                          rounded, n);
        mrnet_wavlm_free(r);
        free(rounded);

        mrnet_wavlm *h = load_ok(write_variant("half.safetensors", &(variant){.dtype = dt}));
        assert_string_not_equal(mrnet_wavlm_fingerprint(h), mrnet_wavlm_fingerprint(m));
        float *got = run_states(h, n);
        const double err = test_max_abs_diff(got, want, states_size(m, n));
        if (err > cases[k].tolerance)
            fail_msg("%s: hidden states differ by %.3g from F32's (tolerance %.3g)",
                     mrnet_dtype_name(dt), err, cases[k].tolerance);
        print_message("%s weights: hidden states within %.3g of F32's\n", mrnet_dtype_name(dt),
                      err);
        free(got);
        mrnet_wavlm_free(h);
    }
    free(want);
    mrnet_wavlm_free(m);
}

static void poison_k_proj(const char *name, float *x, int64_t n)
{
    if (!strcmp(name, "encoder.layers.2.attention.k_proj.weight"))
        x[n / 2] = NAN;
}

static void loader_errors(void **state)
{
    (void)state;
    const char *p;
    p = write_variant("missing.safetensors",
                      &(variant){.drop = "encoder.layers.1.attention.k_proj.bias"});
    expect_load_error(p, MRNET_ERR_SHAPE, "'encoder.layers.1.attention.k_proj.bias'", "missing",
                      NULL);
    p = write_variant(
        "missing_prefixed.safetensors",
        &(variant){.prefix = "wavlm.", .drop = "encoder.layers.0.final_layer_norm.weight"});
    expect_load_error(p, MRNET_ERR_SHAPE, "'wavlm.encoder.layers.0.final_layer_norm.weight'",
                      "missing", NULL);
    p = write_variant(
        "missing_v.safetensors",
        &(variant){.parametrizations = 1, .drop = "encoder.pos_conv_embed.conv.weight_v"});
    expect_load_error(p, MRNET_ERR_SHAPE, "'encoder.pos_conv_embed.conv.weight_v'",
                      "'encoder.pos_conv_embed.conv.parametrizations.weight.original1'", "missing",
                      NULL);
    p = write_variant("cut.safetensors",
                      &(variant){.cut = "encoder.layers.2.feed_forward.output_dense.weight"});
    expect_load_error(p, MRNET_ERR_SHAPE, "'encoder.layers.2.feed_forward.output_dense.weight'",
                      "(64, 127)", "expected (64, 128)", NULL);
    p = write_variant("cut_g.safetensors",
                      &(variant){.cut = "encoder.pos_conv_embed.conv.weight_g"});
    expect_load_error(p, MRNET_ERR_SHAPE, "'encoder.pos_conv_embed.conv.weight_g'", "(1, 1, 15)",
                      "expected (1, 1, 16)", NULL);
    p = write_variant("cut_gn.safetensors",
                      &(variant){.cut = "feature_extractor.conv_layers.0.layer_norm.bias"});
    expect_load_error(p, MRNET_ERR_SHAPE, "'feature_extractor.conv_layers.0.layer_norm.bias'",
                      "(31)", "expected (32)", NULL);
    p = write_variant("nan.safetensors", &(variant){.edit = poison_k_proj});
    expect_load_error(p, MRNET_ERR_NUMERIC, "'encoder.layers.2.attention.k_proj.weight'",
                      "non-finite", NULL);
    p = write_variant("large.safetensors",
                      &(variant){.extra = "feature_extractor.conv_layers.1.layer_norm.weight"});
    expect_load_error(p, MRNET_ERR_UNSUPPORTED, "conv_layers.1.layer_norm.weight", "Large", NULL);
    p = write_variant("bad_stride.safetensors",
                      &(variant){.meta_key = "conv_stride", .meta_value = "5,2,2"});
    expect_load_error(p, MRNET_ERR_FORMAT, "conv_stride", "'5,2,2'", NULL);
    p = write_variant("bad_dist.safetensors",
                      &(variant){.meta_key = "max_bucket_distance", .meta_value = "far"});
    expect_load_error(p, MRNET_ERR_FORMAT, "max_bucket_distance", NULL);

    /* a file cut short, a file of garbage, no file */
    FILE *f = fopen(tiny_weights(), "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    rewind(f);
    unsigned char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    p = test_path("truncated.safetensors");
    assert_int_equal(test_write_file(p, bytes, (size_t)size - 1000), 0);
    expect_load_error(p, MRNET_ERR_FORMAT, NULL);
    uint64_t s = 99;
    for (long i = 0; i < 4096; i++)
        bytes[i] = (unsigned char)seeded_next(&s);
    p = test_path("garbage.safetensors");
    assert_int_equal(test_write_file(p, bytes, 4096), 0);
    expect_load_error(p, MRNET_ERR_FORMAT, NULL);
    free(bytes);
    p = test_path("no/such/weights.safetensors");
    expect_load_error(p, MRNET_ERR_IO, NULL);

    mrnet_wavlm *m = (mrnet_wavlm *)1;
    assert_int_equal(mrnet_wavlm_load(NULL, &m), MRNET_ERR_ARG);
    assert_null(m);
    assert_int_equal(mrnet_wavlm_load(tiny_weights(), NULL), MRNET_ERR_ARG);
    mrnet_wavlm_free(NULL);
}

/* ---- the forward's contract ------------------------------------------------------------- */

static void bad_inputs(void **state)
{
    (void)state;
    mrnet_wavlm *m = load_ok(tiny_weights());
    const int64_t n = 16000;
    float *wave = malloc(n * sizeof *wave), *states = malloc(states_size(m, n) * sizeof *states);
    float w[4] = {0.25f, 0.25f, 0.25f, 0.25f};
    seeded_input(wave, n, SEEDED_TINY_SEED);
    assert_int_equal(mrnet_wavlm_hidden_states(m, wave, 399, states), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "399 samples"));
    assert_int_equal(mrnet_wavlm_hidden_states(m, wave, 0, states), MRNET_ERR_ARG);
    assert_int_equal(mrnet_wavlm_mixed(m, wave, 120, w, states), MRNET_ERR_ARG);
    assert_int_equal(mrnet_wavlm_hidden_states(NULL, wave, n, states), MRNET_ERR_ARG);
    assert_int_equal(mrnet_wavlm_hidden_states(m, NULL, n, states), MRNET_ERR_ARG);
    assert_int_equal(mrnet_wavlm_hidden_states(m, wave, n, NULL), MRNET_ERR_ARG);
    assert_int_equal(mrnet_wavlm_mixed(m, wave, n, NULL, states), MRNET_ERR_ARG);
    wave[1234] = NAN;
    assert_int_equal(mrnet_wavlm_hidden_states(m, wave, n, states), MRNET_ERR_NUMERIC);
    assert_non_null(strstr(mrnet_last_error(), "sample 1234"));
    wave[1234] = INFINITY;
    assert_int_equal(mrnet_wavlm_mixed(m, wave, n, w, states), MRNET_ERR_NUMERIC);
    wave[1234] = 0.0f;
    w[2] = NAN;
    assert_int_equal(mrnet_wavlm_mixed(m, wave, n, w, states), MRNET_ERR_NUMERIC);
    /* digital silence: every GroupNorm variance 0, the output finite */
    memset(wave, 0, n * sizeof *wave);
    assert_int_equal(mrnet_wavlm_hidden_states(m, wave, n, states), MRNET_OK);
    for (size_t i = 0; i < states_size(m, n); i++)
        if (!isfinite(states[i]))
            fail_msg("silence: state value %zu is %g", i, states[i]);
    /* the shortest input: one frame */
    assert_int_equal(mrnet_wavlm_hidden_states(m, wave, 400, states), MRNET_OK);
    assert_int_equal(mrnet_wavlm_hidden_states(m, wave, 719, states), MRNET_OK);
    free(states);
    free(wave);
    mrnet_wavlm_free(m);
}

/* The layer mix equals the weighted sum of the hidden states, summed in
 * layer order. */
static void mixed_equals_sum(void **state)
{
    (void)state;
    mrnet_wavlm *m = load_ok(tiny_weights());
    const int64_t n = 96000, T = mrnet_wavlm_frames(m, n);
    const size_t TD = (size_t)T * m->cfg.hidden;
    float *states = run_states(m, n), *wave = malloc(n * sizeof *wave),
          *mixed = malloc(TD * sizeof *mixed);
    float *want = malloc(TD * sizeof *want);
    const float w[4] = {0.4f, -0.1f, 0.25f, 0.7f};
    seeded_input(wave, n, SEEDED_TINY_SEED);
    assert_int_equal(mrnet_wavlm_mixed(m, wave, n, w, mixed), MRNET_OK);
    for (size_t i = 0; i < TD; i++) {
        float acc = 0.0f;
        for (int l = 0; l < 4; l++)
            acc += w[l] * states[l * TD + i];
        want[i] = acc;
    }
    const double err = test_max_abs_diff(mixed, want, TD);
    if (err > 1e-6)
        fail_msg("mixed differs from the weighted sum of the states by %.3g", err);
    free(want);
    free(mixed);
    free(wave);
    free(states);
    mrnet_wavlm_free(m);
}

/* One thread, two threads, and two calls at once on one shared model agree
 * up to float reordering inside OpenBLAS. */
static void threads_agree(void **state)
{
    (void)state;
    mrnet_wavlm *m = load_ok(tiny_weights());
    const int64_t n = 96000;
    const size_t size = states_size(m, n);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    float *one = run_states(m, n);
    omp_set_num_threads(2);
    float *two = run_states(m, n);
    float *shared[2] = {NULL, NULL};
#pragma omp parallel num_threads(2)
    shared[omp_get_thread_num()] = run_states(m, n);
    omp_set_num_threads(saved);
    const double err_two = test_max_abs_diff(one, two, size);
    const double err_a = test_max_abs_diff(one, shared[0], size);
    const double err_b = shared[1] ? test_max_abs_diff(one, shared[1], size) : 0.0;
    if (err_two > 1e-5 || err_a > 1e-5 || err_b > 1e-5)
        fail_msg("thread counts disagree: 1 vs 2 threads %.3g, shared model %.3g and %.3g", err_two,
                 err_a, err_b);
    free(one);
    free(two);
    free(shared[0]);
    free(shared[1]);
    mrnet_wavlm_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relative_buckets), cmocka_unit_test(frame_counts),
        cmocka_unit_test(config_and_folds), cmocka_unit_test(groupnorm_whole_utterance),
        cmocka_unit_test(loader_spellings), cmocka_unit_test(loader_dtypes),
        cmocka_unit_test(loader_errors),    cmocka_unit_test(bad_inputs),
        cmocka_unit_test(mixed_equals_sum), cmocka_unit_test(threads_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
