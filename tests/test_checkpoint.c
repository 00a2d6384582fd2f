/* Checkpoints (src/model/checkpoint.c): save and load give back the same
 * model bit for bit (tensors, configuration, labels, dropped routes); the
 * release's state-dict files are read by shape; and every malformed
 * checkpoint is refused with a message naming the file and the tensor or
 * metadata field. Malformed files are a good checkpoint rewritten with
 * mrnet_st_writer with exactly one thing changed (rewrite()). Files carry a format
 * version (mrnet.format, and train.format in a training state): unversioned
 * ones load, newer ones are refused. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrnet/mrnet.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"
#include "train/train_state.h"

static mrnet_config small_config(void)
{
    mrnet_config cfg;
    mrnet_config_default(&cfg, 3);
    cfg.in_dim = 5;
    cfg.in_channels = 2;
    cfg.n_layers = 2;
    cfg.channels = 32;
    cfg.embed = 8;
    cfg.dilations[0] = 1;
    cfg.dilations[1] = 3;
    cfg.dilations[2] = 2;
    return cfg;
}

/* A small model whose running statistics and counters are not the initial
 * ones, so a loader that skipped them would be caught. */
static mrnet_model *small_model(uint64_t seed)
{
    mrnet_config cfg = small_config();
    mrnet_model *m = NULL;
    assert_int_equal(mrnet_model_create(&cfg, seed, &m), MRNET_OK);
    uint64_t rng = seed * 7 + 1;
    for (int i = 0; i < mrnet_model_tensor_count(m); i++) {
        const mrnet_tensor_info *t = mrnet_model_tensor(m, i);
        if (t->kind == MRNET_TENSOR_COUNTER)
            *t->count = 5 + i;
        else if (t->kind == MRNET_TENSOR_RUNNING_STAT)
            for (size_t k = 0; k < t->numel; k++)
                t->data[k] = strstr(t->name, "running_var") ? rng_uniform_range(&rng, 0.5f, 1.5f)
                                                            : rng_uniform_range(&rng, -0.1f, 0.1f);
    }
    return m;
}

/* test_path() rotates through a few buffers: keep a copy. */
static const char *save_small(const char *name, mrnet_model *m)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 512, "%s", test_path(name));
    if (mrnet_model_save(m, path, NULL) != MRNET_OK)
        fail_msg("saving %s: %s", path, mrnet_last_error());
    return path;
}

static mrnet_model *load_ok(const char *path, int hint)
{
    mrnet_model *m = NULL;
    if (mrnet_model_load(path, hint, &m) != MRNET_OK)
        fail_msg("loading %s: %s", path, mrnet_last_error());
    return m;
}

static void assert_same_config(const mrnet_config *a, const mrnet_config *b)
{
    assert_int_equal(a->in_dim, b->in_dim);
    assert_int_equal(a->in_channels, b->in_channels);
    assert_int_equal(a->n_layers, b->n_layers);
    assert_int_equal(a->channels, b->channels);
    assert_int_equal(a->embed, b->embed);
    assert_int_equal(a->classes, b->classes);
    for (int i = 0; i < MRNET_BLOCKS; i++)
        assert_int_equal(a->dilations[i], b->dilations[i]);
    assert_int_equal(a->scale, b->scale);
    assert_int_equal(a->se_groups, b->se_groups);
    assert_int_equal(a->route_weights, b->route_weights);
}

/* Same tensor table and bit-identical values, statistics and counters. */
static void assert_same_tensors(const mrnet_model *a, const mrnet_model *b)
{
    assert_int_equal(mrnet_model_tensor_count(a), mrnet_model_tensor_count(b));
    for (int i = 0; i < mrnet_model_tensor_count(a); i++) {
        const mrnet_tensor_info *x = mrnet_model_tensor(a, i), *y = mrnet_model_tensor(b, i);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->ndim, y->ndim);
        assert_int_equal(x->numel, y->numel);
        assert_memory_equal(x->shape, y->shape, (size_t)x->ndim * sizeof x->shape[0]);
        if (x->kind == MRNET_TENSOR_COUNTER)
            assert_int_equal(*x->count, *y->count);
        else if (memcmp(x->data, y->data, x->numel * sizeof(float)) != 0)
            fail_msg("tensor '%s' differs after the round trip", x->name);
    }
}

static float *random_input(const mrnet_config *cfg, int B, int T, uint64_t seed)
{
    size_t n = (size_t)B * cfg->in_channels * cfg->n_layers * T * cfg->in_dim;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t k = 0; k < n; k++)
        x[k] = rng_uniform_range(&seed, -2.0f, 2.0f);
    return x;
}

/* ---- round trips --------------------------------------------------------------- */

static void save_load_identical(void **state)
{
    (void)state;
    mrnet_model *a = small_model(11);
    char *labels[3] = {"rock", "jazz \"cool\"", "chanson/ünïcode"};
    assert_int_equal(mrnet_model_set_labels(a, labels, 3), MRNET_OK);
    const char *extra[] = {"note", "first save", "epoch", "12", NULL};
    const char *path = test_path("round_trip.ckpt");
    assert_int_equal(mrnet_model_save(a, path, extra), MRNET_OK);
    mrnet_model *b = load_ok(path, 0);

    assert_same_config(mrnet_model_config(a), mrnet_model_config(b));
    assert_int_equal(mrnet_model_param_count(a, true), mrnet_model_param_count(b, true));
    assert_same_tensors(a, b);
    for (int k = 0; k < 3; k++)
        assert_string_equal(mrnet_model_label(b, k), labels[k]);
    assert_null(mrnet_model_label(b, 3));
    assert_int_equal(mrnet_model_drop_routes(b), 0);

    /* Eval outputs bit for bit (same code, same values, same order). */
    const mrnet_config *cfg = mrnet_model_config(a);
    int B = 3, T = 17;
    float *x = random_input(cfg, B, T, 5);
    float ea[3 * 8], eb[3 * 8], la[3 * 3], lb[3 * 3];
    assert_int_equal(mrnet_forward(a, x, B, T, false, ea, la), MRNET_OK);
    assert_int_equal(mrnet_forward(b, x, B, T, false, eb, lb), MRNET_OK);
    assert_memory_equal(ea, eb, sizeof ea);
    assert_memory_equal(la, lb, sizeof la);
    assert_true(test_max_abs(la, 9) > 0);

    /* The file itself: release names, I64 scalar counters, metadata. */
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(path, &f), MRNET_OK);
    assert_string_equal(mrnet_st_meta(f, "format"), "mrnet");
    assert_string_equal(mrnet_st_meta(f, "mrnet.format"), "1");
    assert_string_equal(mrnet_st_meta(f, "note"), "first save");
    assert_string_equal(mrnet_st_meta(f, "epoch"), "12");
    assert_non_null(mrnet_st_meta(f, "mrnet.config"));
    assert_non_null(mrnet_st_meta(f, "mrnet.labels"));
    assert_null(mrnet_st_meta(f, "mrnet.drop_routes"));
    const mrnet_st_tensor *t = mrnet_st_find(f, "bn6.num_batches_tracked");
    assert_non_null(t);
    assert_int_equal(t->dtype, MRNET_I64);
    assert_int_equal(t->ndim, 0);
    assert_int_equal(f->n_tensors, mrnet_model_tensor_count(a));
    mrnet_st_close(f);

    /* Saving the loaded model again gives the same bytes. */
    const char *again = test_path("round_trip_again.ckpt");
    assert_int_equal(mrnet_model_save(b, again, extra), MRNET_OK);
    mrnet_model *c = load_ok(again, 0);
    assert_same_tensors(a, c);
    FILE *fa = fopen(path, "rb"), *fb = fopen(again, "rb");
    assert_non_null(fa);
    assert_non_null(fb);
    for (;;) {
        int ca = fgetc(fa), cb = fgetc(fb);
        assert_int_equal(ca, cb);
        if (ca == EOF)
            break;
    }
    fclose(fa);
    fclose(fb);

    free(x);
    mrnet_model_free(a);
    mrnet_model_free(b);
    mrnet_model_free(c);
}

static void drop_routes_round_trip(void **state)
{
    (void)state;
    mrnet_model *a = small_model(12);
    unsigned mask;
    assert_int_equal(mrnet_parse_routes("L2,M1,M3", &mask), MRNET_OK);
    assert_int_equal(mrnet_model_set_drop_routes(a, mask), MRNET_OK);
    const char *path = save_small("drop.ckpt", a);
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(path, &f), MRNET_OK);
    assert_string_equal(mrnet_st_meta(f, "mrnet.drop_routes"), "L2,M1,M3");
    mrnet_st_close(f);
    mrnet_model *b = load_ok(path, 0);
    assert_int_equal(mrnet_model_drop_routes(b), mask);
    assert_null(mrnet_model_label(b, 0)); /* no labels stored, none invented */
    mrnet_model_free(a);
    mrnet_model_free(b);
}

/* The release-format file (state dicts only, no metadata) holds the tiny_a
 * checkpoint's values; the configuration comes from the shapes. */
static void release_file(void **state)
{
    (void)state;
    mrnet_model *ckpt = load_ok(test_source_path("tests/golden/tiny_a.ckpt.safetensors"), 0);
    mrnet_model *rel = load_ok(test_source_path("tests/golden/tiny_a.release.safetensors"), 0);
    assert_same_config(mrnet_model_config(ckpt), mrnet_model_config(rel));
    assert_same_tensors(ckpt, rel);
    assert_int_equal(mrnet_model_param_count(rel, false), 79842);
    assert_null(mrnet_model_label(rel, 0));
    assert_non_null(mrnet_model_label(ckpt, 0));
    mrnet_model_free(ckpt);
    mrnet_model_free(rel);
}

static void in_channels_hint(void **state)
{
    (void)state;
    const char *rel = test_source_path("tests/golden/tiny_a.release.safetensors");
    /* tiny_a: fst_conv takes S*D = 12 inputs. */
    static const struct {
        int hint, S, D;
    } cases[] = {{0, 2, 6}, {2, 2, 6}, {1, 1, 12}, {3, 3, 4}, {12, 12, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mrnet_model *m = load_ok(rel, cases[i].hint);
        assert_int_equal(mrnet_model_config(m)->in_channels, cases[i].S);
        assert_int_equal(mrnet_model_config(m)->in_dim, cases[i].D);
        assert_int_equal(mrnet_model_param_count(m, false), 79842);
        mrnet_model_free(m);
    }
    mrnet_model *m = (mrnet_model *)1;
    assert_int_equal(mrnet_model_load(rel, 5, &m), MRNET_ERR_SHAPE);
    assert_null(m);
    assert_non_null(strstr(mrnet_last_error(), rel));
    assert_non_null(strstr(mrnet_last_error(), "divisible by 5"));

    /* A file with mrnet metadata knows its S: the hint does not apply. */
    m = load_ok(test_source_path("tests/golden/tiny_a.ckpt.safetensors"), 1);
    assert_int_equal(mrnet_model_config(m)->in_channels, 2);
    mrnet_model_free(m);
    /* tiny_b (L = 1) is read as mono when there is no metadata: covered by
     * the rewrite below, which drops tiny_b's metadata. */
}

/* ---- malformed checkpoints --------------------------------------------------------- */

typedef enum {
    CHANGE_NONE,
    CHANGE_DROP,     /* leave the tensor out */
    CHANGE_FLATTEN,  /* same values, shape (numel) */
    CHANGE_SHORTER,  /* first dimension one less */
    CHANGE_I32,      /* same shape, dtype I32 */
    CHANGE_F64,      /* same values as F64 (allowed) */
    CHANGE_F32_COUNT /* a counter stored as F32 */
} change_kind;

typedef struct {
    const char *tensor;   /* the tensor changed, or NULL */
    change_kind kind;
    long nonfinite_at;    /* >= 0: put `bad_value` there */
    float bad_value;
    const char *extra;    /* an extra tensor to add, or NULL */
    const char *meta_key; /* metadata to set (value NULL: remove) */
    const char *meta_value;
    bool drop_all_meta;
} change;

/* Copies src to test_path(dst_name) with one change; returns the path. */
static const char *rewrite(const char *src, const char *dst_name, change c)
{
    mrnet_st_file *f;
    if (mrnet_st_open(src, &f) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    mrnet_st_writer *w = mrnet_st_writer_create();
    void *owned[4] = {0};
    int n_owned = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const mrnet_st_tensor *t = &f->tensors[i];
        int64_t shape[MRNET_ST_MAX_DIMS];
        memcpy(shape, t->shape, sizeof shape);
        int ndim = t->ndim;
        mrnet_dtype dtype = t->dtype;
        const void *data = t->data;
        if (c.tensor && !strcmp(t->name, c.tensor)) {
            assert_true(n_owned < 3);
            size_t bytes = (size_t)t->numel * 8 + 8;
            void *buf = owned[n_owned++] = calloc(1, bytes);
            memcpy(buf, t->data, (size_t)t->numel * mrnet_dtype_size(t->dtype));
            data = buf;
            switch (c.kind) {
            case CHANGE_DROP: continue;
            case CHANGE_FLATTEN:
                ndim = 1;
                shape[0] = t->numel;
                break;
            case CHANGE_SHORTER: shape[0]--; break;
            case CHANGE_I32:
                assert_int_equal(t->dtype, MRNET_F32);
                for (int64_t k = 0; k < t->numel; k++)
                    ((int32_t *)buf)[k] = (int32_t)(((const float *)t->data)[k] * 100);
                dtype = MRNET_I32;
                break;
            case CHANGE_F64:
                assert_int_equal(t->dtype, MRNET_F32);
                for (int64_t k = 0; k < t->numel; k++)
                    ((double *)buf)[k] = ((const float *)t->data)[k];
                dtype = MRNET_F64;
                break;
            case CHANGE_F32_COUNT: {
                assert_int_equal(t->dtype, MRNET_I64);
                float v = (float)*(const int64_t *)t->data;
                memcpy(buf, &v, 4);
                dtype = MRNET_F32;
                break;
            }
            case CHANGE_NONE: break;
            }
            if (c.nonfinite_at >= 0)
                ((float *)buf)[c.nonfinite_at] = c.bad_value;
        }
        assert_int_equal(mrnet_st_writer_add(w, t->name, dtype, ndim, shape, data), MRNET_OK);
    }
    static const float extra_values[3] = {1, 2, 3};
    if (c.extra)
        assert_int_equal(mrnet_st_writer_add(w, c.extra, MRNET_F32, 1, (int64_t[]){3}, extra_values),
                         MRNET_OK);
    for (int i = 0; i < f->n_meta && !c.drop_all_meta; i++)
        if (!c.meta_key || strcmp(f->meta_keys[i], c.meta_key))
            assert_int_equal(mrnet_st_writer_meta(w, f->meta_keys[i], f->meta_values[i]), MRNET_OK);
    if (c.meta_key && c.meta_value)
        assert_int_equal(mrnet_st_writer_meta(w, c.meta_key, c.meta_value), MRNET_OK);
    const char *dst = test_path(dst_name);
    assert_int_equal(mrnet_st_writer_save(w, dst), MRNET_OK);
    mrnet_st_writer_free(w);
    for (int i = 0; i < n_owned; i++)
        free(owned[i]);
    mrnet_st_close(f);
    return dst;
}

/* Loading must fail with `want` (or any error when want is MRNET_OK) and
 * name the file and each NULL-terminated fragment. */
static void expect_load_error(const char *path, mrnet_status want, ...)
{
    mrnet_model *m = (mrnet_model *)1;
    mrnet_status st = mrnet_model_load(path, 0, &m);
    if (st == MRNET_OK) {
        mrnet_model_free(m);
        fail_msg("%s: a malformed checkpoint loaded", path);
    }
    assert_null(m);
    const char *msg = mrnet_last_error();
    if (want != MRNET_OK && st != want)
        fail_msg("%s: status %s, expected %s (%s)", path, mrnet_status_name(st),
                 mrnet_status_name(want), msg);
    if (!strstr(msg, path))
        fail_msg("message does not name %s: %s", path, msg);
    va_list ap;
    va_start(ap, want);
    test_expect_fragments("message", msg, ap);
    va_end(ap);
}

#define NO_CHANGE .nonfinite_at = -1

static void malformed_tensors(void **state)
{
    (void)state;
    mrnet_model *m = small_model(13);
    const char *good = save_small("good.ckpt", m);
    mrnet_model_free(m);

    /* The rewrite itself changes nothing. */
    m = load_ok(rewrite(good, "copy.ckpt", (change){NO_CHANGE}), 0);
    mrnet_model_free(m);

    expect_load_error(rewrite(good, "missing.ckpt",
                              (change){.tensor = "conv_blocks.1.convs.3.weight",
                                       .kind = CHANGE_DROP, NO_CHANGE}),
                      MRNET_ERR_FORMAT, "'conv_blocks.1.convs.3.weight'", "missing", NULL);
    expect_load_error(rewrite(good, "missing_head.ckpt",
                              (change){.tensor = "head.bn1.running_var", .kind = CHANGE_DROP,
                                       NO_CHANGE}),
                      MRNET_ERR_FORMAT, "'head.bn1.running_var'", NULL);
    expect_load_error(rewrite(good, "missing_count.ckpt",
                              (change){.tensor = "bn5.num_batches_tracked", .kind = CHANGE_DROP,
                                       NO_CHANGE}),
                      MRNET_ERR_FORMAT, "'bn5.num_batches_tracked'", NULL);
    /* fc6.weight is (E, 14C) = (8, 448). */
    expect_load_error(rewrite(good, "flat.ckpt",
                              (change){.tensor = "fc6.weight", .kind = CHANGE_FLATTEN, NO_CHANGE}),
                      MRNET_ERR_SHAPE, "'fc6.weight'", "(3584)", "(8, 448)", NULL);
    expect_load_error(rewrite(good, "shorter.ckpt",
                              (change){.tensor = "att.3.attention.4.bias",
                                       .kind = CHANGE_SHORTER, NO_CHANGE}),
                      MRNET_ERR_SHAPE, "'att.3.attention.4.bias'", "(31)", "(32)", NULL);
    expect_load_error(rewrite(good, "i32.ckpt",
                              (change){.tensor = "fst_conv.weight", .kind = CHANGE_I32,
                                       NO_CHANGE}),
                      MRNET_ERR_SHAPE, "'fst_conv.weight'", "I32", NULL);
    expect_load_error(rewrite(good, "f32_count.ckpt",
                              (change){.tensor = "bn6.num_batches_tracked",
                                       .kind = CHANGE_F32_COUNT, NO_CHANGE}),
                      MRNET_ERR_SHAPE, "'bn6.num_batches_tracked'", "F32", NULL);
    expect_load_error(rewrite(good, "nan.ckpt",
                              (change){.tensor = "att.2.attention.0.weight", .nonfinite_at = 17,
                                       .bad_value = NAN}),
                      MRNET_ERR_NUMERIC, "'att.2.attention.0.weight'", NULL);
    expect_load_error(rewrite(good, "inf.ckpt",
                              (change){.tensor = "bn5.running_var", .nonfinite_at = 0,
                                       .bad_value = -INFINITY}),
                      MRNET_ERR_NUMERIC, "'bn5.running_var'", NULL);
    expect_load_error(rewrite(good, "extra.ckpt",
                              (change){.extra = "conv_blocks.3.conv1.weight", NO_CHANGE}),
                      MRNET_ERR_FORMAT, "'conv_blocks.3.conv1.weight'", "unexpected", NULL);

    /* Tolerated: a float weight stored as F64, optimizer/training extras. */
    m = load_ok(rewrite(good, "f64.ckpt",
                        (change){.tensor = "fc6.weight", .kind = CHANGE_F64, NO_CHANGE}),
                0);
    mrnet_model *ref = load_ok(good, 0);
    assert_same_tensors(ref, m);
    mrnet_model_free(m);
    m = load_ok(rewrite(good, "optim.ckpt", (change){.extra = "optim.exp_avg", NO_CHANGE}), 0);
    mrnet_model_free(m);
    mrnet_model_free(ref);
}

static void malformed_metadata(void **state)
{
    (void)state;
    mrnet_model *m = small_model(14);
    const char *good = save_small("good_meta.ckpt", m);
    mrnet_model_free(m);

    expect_load_error(rewrite(good, "cfg_json.ckpt",
                              (change){.meta_key = "mrnet.config",
                                       .meta_value = "{\"in_dim\": 5, \"channels\": ", NO_CHANGE}),
                      MRNET_ERR_FORMAT, "mrnet.config", NULL);
    expect_load_error(rewrite(good, "cfg_array.ckpt",
                              (change){.meta_key = "mrnet.config", .meta_value = "[5, 2, 2]",
                                       NO_CHANGE}),
                      MRNET_ERR_FORMAT, "mrnet.config", NULL);
    expect_load_error(rewrite(good, "cfg_channels0.ckpt",
                              (change){.meta_key = "mrnet.config",
                                       .meta_value = "{\"in_dim\":5,\"in_channels\":2,"
                                                     "\"n_layers\":2,\"channels\":0,\"embed\":8,"
                                                     "\"classes\":3}",
                                       NO_CHANGE}),
                      MRNET_OK, "mrnet.config", "channels", NULL);
    expect_load_error(rewrite(good, "cfg_string.ckpt",
                              (change){.meta_key = "mrnet.config",
                                       .meta_value = "{\"in_dim\":\"five\"}", NO_CHANGE}),
                      MRNET_OK, "mrnet.config", "in_dim", NULL);
    expect_load_error(rewrite(good, "cfg_dilations.ckpt",
                              (change){.meta_key = "mrnet.config",
                                       .meta_value = "{\"dilations\":[1,3]}", NO_CHANGE}),
                      MRNET_OK, "mrnet.config", "dilations", NULL);
    /* route_weights: 0 or 1, named when not */
    char cfg[600];
    const mrnet_config small = small_config();
    for (int i = 0; i < 2; i++) {
        mrnet_config c = small;
        c.route_weights = MRNET_ROUTE_WEIGHTS_AFTER_NORM;
        assert_int_equal(mrnet_config_to_json(&c, cfg, sizeof cfg), MRNET_OK);
        char *at = strstr(cfg, "\"route_weights\":1}");
        assert_non_null(at);
        snprintf(at, sizeof cfg - (size_t)(at - cfg), "\"route_weights\":%s}", i ? "\"x\"" : "2");
        expect_load_error(rewrite(good, "cfg_route_weights.ckpt",
                                  (change){.meta_key = "mrnet.config", .meta_value = cfg,
                                           NO_CHANGE}),
                          i ? MRNET_ERR_FORMAT : MRNET_ERR_ARG, "mrnet.config", "route_weights",
                          NULL);
    }
    expect_load_error(rewrite(good, "cfg_fraction.ckpt",
                              (change){.meta_key = "mrnet.config",
                                       .meta_value = "{\"embed\":8.5}", NO_CHANGE}),
                      MRNET_OK, "mrnet.config", "embed", NULL);
    /* A valid configuration that does not match the tensors: the first
     * tensor whose shape differs is named. */
    expect_load_error(rewrite(good, "cfg_mismatch.ckpt",
                              (change){.meta_key = "mrnet.config",
                                       .meta_value = "{\"in_dim\":5,\"in_channels\":2,"
                                                     "\"n_layers\":3,\"channels\":32,\"embed\":8,"
                                                     "\"classes\":3,\"dilations\":[1,3,2]}",
                                       NO_CHANGE}),
                      MRNET_ERR_SHAPE, "'w'", NULL);

    expect_load_error(rewrite(good, "labels_count.ckpt",
                              (change){.meta_key = "mrnet.labels", .meta_value = "[\"a\",\"b\"]",
                                       NO_CHANGE}),
                      MRNET_ERR_FORMAT, "mrnet.labels", "3", NULL);
    expect_load_error(rewrite(good, "labels_object.ckpt",
                              (change){.meta_key = "mrnet.labels", .meta_value = "{\"a\":1}",
                                       NO_CHANGE}),
                      MRNET_ERR_FORMAT, "mrnet.labels", NULL);
    expect_load_error(rewrite(good, "labels_number.ckpt",
                              (change){.meta_key = "mrnet.labels", .meta_value = "[\"a\",2,\"c\"]",
                                       NO_CHANGE}),
                      MRNET_ERR_FORMAT, "mrnet.labels", NULL);
    expect_load_error(rewrite(good, "routes.ckpt",
                              (change){.meta_key = "mrnet.drop_routes", .meta_value = "L1,X9",
                                       NO_CHANGE}),
                      MRNET_OK, "mrnet.drop_routes", "X9", NULL);
    expect_load_error(rewrite(good, "routes_all.ckpt",
                              (change){.meta_key = "mrnet.drop_routes",
                                       .meta_value = "L1,L2,L3,H,M1,M2,M3", NO_CHANGE}),
                      MRNET_OK, "mrnet.drop_routes", NULL);

    /* No metadata: read as a release file by shape; without the head it is
     * not an MRNet checkpoint. */
    m = load_ok(rewrite(good, "no_meta.ckpt", (change){.drop_all_meta = true, NO_CHANGE}), 2);
    assert_same_config(mrnet_model_config(m), &(mrnet_config){5, 2, 2, 32, 8, 3, {2, 3, 4}, 8, 3, MRNET_INPUT_NORM_INSTANCE, MRNET_ROUTE_WEIGHTS_PAPER});
    mrnet_model_free(m);
    expect_load_error(rewrite(good, "no_meta_no_head.ckpt",
                              (change){.drop_all_meta = true, .tensor = "head.fc1.weight",
                                       .kind = CHANGE_DROP, NO_CHANGE}),
                      MRNET_ERR_FORMAT, "'head.fc1.weight'", NULL);

    /* tiny_b (L = 1) without metadata is a mono mel model: S 1, D 10. */
    m = load_ok(rewrite(test_source_path("tests/golden/tiny_b.ckpt.safetensors"),
                        "tiny_b_release.ckpt", (change){.drop_all_meta = true, NO_CHANGE}),
                0);
    assert_int_equal(mrnet_model_config(m)->in_channels, 1);
    assert_int_equal(mrnet_model_config(m)->in_dim, 10);
    mrnet_model_free(m);
}

/* ---- format versions -------------------------------------------------------------- */

static const char *const malformed_versions[] = {"0", "01", "-1", "+1", "1.0", " 1", "1 ",
                                                 "", "one", "0x1", NULL};

static void checkpoint_format(void **state)
{
    (void)state;
    mrnet_model *m = small_model(21);
    char good[512];
    snprintf(good, sizeof good, "%s", save_small("versioned.ckpt", m));
    mrnet_model_free(m);
    char version[16];
    snprintf(version, sizeof version, "%d", MRNET_CHECKPOINT_FORMAT);
    assert_string_equal(version, "2");
    /* a paper model is written as format 1, which older builds read */
    mrnet_st_file *written;
    assert_int_equal(mrnet_st_open(good, &written), MRNET_OK);
    assert_string_equal(mrnet_st_meta(written, "mrnet.format"), "1");
    mrnet_st_close(written);

    /* Unversioned (written before versions): the committed golden files
     * and a current file with the key removed. */
    mrnet_model_free(load_ok(test_source_path("tests/golden/tiny_a.ckpt.safetensors"), 0));
    mrnet_model_free(load_ok(test_source_path("tests/golden/tiny_b.ckpt.safetensors"), 0));
    mrnet_model_free(load_ok(test_source_path("tests/golden/tiny_c.ckpt.safetensors"), 0));
    mrnet_model_free(load_ok(rewrite(good, "unversioned.ckpt",
                                     (change){.meta_key = "mrnet.format", NO_CHANGE}),
                             0));
    mrnet_model_free(load_ok(rewrite(good, "v1.ckpt",
                                     (change){.meta_key = "mrnet.format", .meta_value = "1",
                                              NO_CHANGE}),
                             0));
    mrnet_model_free(load_ok(rewrite(good, "v2.ckpt",
                                     (change){.meta_key = "mrnet.format", .meta_value = "2",
                                              NO_CHANGE}),
                             0));

    /* Newer: unsupported, naming the file and both versions. */
    expect_load_error(rewrite(good, "v3.ckpt",
                              (change){.meta_key = "mrnet.format", .meta_value = "3", NO_CHANGE}),
                      MRNET_ERR_UNSUPPORTED, "format 3", "format 2", "mrnet.format", NULL);
    expect_load_error(rewrite(good, "v10.ckpt",
                              (change){.meta_key = "mrnet.format", .meta_value = "10",
                                       NO_CHANGE}),
                      MRNET_ERR_UNSUPPORTED, "format 10", "format 2", NULL);
    expect_load_error(rewrite(good, "vhuge.ckpt",
                              (change){.meta_key = "mrnet.format",
                                       .meta_value = "123456789012345678901234567890", NO_CHANGE}),
                      MRNET_ERR_UNSUPPORTED, "format 1234567890", "format 2)", NULL);

    /* Not a version at all. */
    for (int i = 0; malformed_versions[i]; i++)
        expect_load_error(rewrite(good, "vbad.ckpt",
                                  (change){.meta_key = "mrnet.format",
                                           .meta_value = malformed_versions[i], NO_CHANGE}),
                          MRNET_ERR_FORMAT, "mrnet.format", "not a format version", NULL);

    /* mrnet info shows it. */
    assert_int_equal(test_run_cli("info '%s'", good), 0);
    assert_non_null(strstr(test_cli_output(), "\nformat       1\n"));
    const char *v3 = rewrite(good, "v3.ckpt",
                             (change){.meta_key = "mrnet.format", .meta_value = "3", NO_CHANGE});
    assert_int_equal(test_run_cli("info '%s'", v3), 1);
    assert_non_null(strstr(test_cli_output(), "format 3"));
}

/* The training state's own version, train.format, next to mrnet.format. */
static void train_state_format(void **state)
{
    (void)state;
    mrnet_model *m = small_model(22);
    mrnet_adamw *opt;
    size_t n = mrnet_model_param_count(m, true);
    assert_int_equal(mrnet_adamw_create(n, 0.9, 0.999, 1e-8, 0, true, &opt), MRNET_OK);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "epoch", 3);
    char good[512];
    snprintf(good, sizeof good, "%s", test_path("last.safetensors"));
    if (train_state_save(good, m, opt, NULL, j, NULL) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    cJSON_Delete(j);

    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(good, &f), MRNET_OK);
    char version[16];
    snprintf(version, sizeof version, "%d", MRNET_TRAIN_STATE_FORMAT);
    assert_string_equal(mrnet_st_meta(f, "train.format"), version);
    assert_string_equal(mrnet_st_meta(f, "mrnet.format"), "1");
    mrnet_st_close(f);
    mrnet_model_free(load_ok(good, 0)); /* a training state is also a checkpoint */

    struct {
        const char *value; /* NULL: the key removed */
        mrnet_status want;
    } cases[] = {{"1", MRNET_OK},
                 {NULL, MRNET_OK},
                 {"2", MRNET_ERR_UNSUPPORTED},
                 {"07", MRNET_ERR_FORMAT},
                 {"x", MRNET_ERR_FORMAT}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = rewrite(good, "last_v.safetensors",
                                   (change){.meta_key = "train.format",
                                            .meta_value = cases[i].value, NO_CHANGE});
        cJSON *got = NULL;
        mrnet_status st = train_state_load(path, opt, NULL, &got);
        if (st != cases[i].want)
            fail_msg("train.format '%s': %s, expected %s (%s)",
                     cases[i].value ? cases[i].value : "(absent)", mrnet_status_name(st),
                     mrnet_status_name(cases[i].want), mrnet_last_error());
        if (st == MRNET_OK) {
            assert_int_equal(cJSON_GetObjectItem(got, "epoch")->valueint, 3);
        } else {
            const char *msg = mrnet_last_error();
            assert_non_null(strstr(msg, path));
            assert_non_null(strstr(msg, "train.format"));
            if (st == MRNET_ERR_UNSUPPORTED)
                assert_non_null(strstr(msg, "format 2"));
        }
        cJSON_Delete(got);
    }
    mrnet_adamw_free(opt);
    mrnet_model_free(m);
}

static void not_a_checkpoint(void **state)
{
    (void)state;
    const char *path = test_path("garbage.ckpt");
    assert_int_equal(test_write_file(path, "this is not a checkpoint at all", 31), 0);
    expect_load_error(path, MRNET_ERR_FORMAT, NULL);
    expect_load_error(test_path("absent.ckpt"), MRNET_ERR_IO, NULL);
    /* A valid safetensors file of something else. */
    expect_load_error(test_source_path("tests/golden/adamw.safetensors"), MRNET_ERR_FORMAT,
                      "not an MRNet checkpoint", NULL);

    mrnet_model *m = small_model(15);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/missing_dir/model.ckpt", test_tmpdir());
    assert_int_equal(mrnet_model_save(m, bad, NULL), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), bad));
    mrnet_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(save_load_identical), cmocka_unit_test(drop_routes_round_trip),
        cmocka_unit_test(release_file),        cmocka_unit_test(in_channels_hint),
        cmocka_unit_test(malformed_tensors),   cmocka_unit_test(malformed_metadata),
        cmocka_unit_test(not_a_checkpoint),    cmocka_unit_test(checkpoint_format),
        cmocka_unit_test(train_state_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
