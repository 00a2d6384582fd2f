/* The public API's contract at its edges: functions that take any input
 * without trapping, results documented for invalid arguments, and every
 * failure of a public function setting its own message (a stale one from an
 * earlier failure would name the wrong problem). */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrnet/mrnet.h"

/* Leaves a known message behind (a failure with its own text), so that a
 * later failure that sets none shows up as this one. */
#define SENTINEL "sentinel-route"
static void set_sentinel(void)
{
    unsigned mask;
    assert_int_equal(mrnet_parse_routes(SENTINEL, &mask), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), SENTINEL));
}

/* ---- derived sizes ---------------------------------------------------------- */

static void expect_no_sizes(const mrnet_config *cfg)
{
    assert_int_equal(mrnet_config_width(cfg), 0);
    assert_int_equal(mrnet_config_se_bottleneck(cfg), 0);
    assert_int_equal(mrnet_config_asp_hidden(cfg), 0);
    assert_int_not_equal(mrnet_config_validate(cfg), MRNET_OK);
}

static void derived_sizes_any_config(void **state)
{
    (void)state;
    mrnet_config cfg;
    mrnet_config_default(&cfg, 10);
    assert_int_equal(mrnet_config_width(&cfg), 192);       /* 3 * 512 / 8 */
    assert_int_equal(mrnet_config_se_bottleneck(&cfg), 32); /* (1536 / 16) / 3 */
    assert_int_equal(mrnet_config_asp_hidden(&cfg), 32);    /* 512 / 16 */

    /* All zero: the divisors scale and se_groups are 0 (this raised SIGFPE). */
    memset(&cfg, 0, sizeof cfg);
    expect_no_sizes(&cfg);

    /* All negative. */
    memset(&cfg, 0xff, sizeof cfg); /* every field -1 */
    expect_no_sizes(&cfg);
    cfg = (mrnet_config){.channels = -512, .scale = -8, .se_groups = -3};
    expect_no_sizes(&cfg);

    /* Good channels, bad divisors: the sizes that need them are 0. */
    mrnet_config_default(&cfg, 10);
    cfg.scale = 0;
    cfg.se_groups = 0;
    assert_int_equal(mrnet_config_width(&cfg), 0);
    assert_int_equal(mrnet_config_se_bottleneck(&cfg), 0);
    assert_int_equal(mrnet_config_asp_hidden(&cfg), 32);
    cfg.scale = INT_MIN;
    cfg.se_groups = INT_MIN;
    assert_int_equal(mrnet_config_width(&cfg), 0);
    assert_int_equal(mrnet_config_se_bottleneck(&cfg), 0);

    /* Channels whose 3C overflows an int: no overflow, no trap. */
    mrnet_config_default(&cfg, 10);
    cfg.channels = INT_MAX;
    cfg.scale = 1;
    assert_int_equal(mrnet_config_width(&cfg), 0); /* 3 * INT_MAX does not fit */
    cfg.scale = 8;
    assert_int_equal(mrnet_config_width(&cfg), (int)(3 * (int64_t)INT_MAX / 8));
    assert_int_equal(mrnet_config_asp_hidden(&cfg), INT_MAX / 16);
    assert_int_not_equal(mrnet_config_validate(&cfg), MRNET_OK);
}

/* ---- a small model ---------------------------------------------------------- */

static mrnet_config small_config(void)
{
    mrnet_config cfg;
    mrnet_config_default(&cfg, 3);
    cfg.in_dim = 5;
    cfg.n_layers = 2;
    cfg.channels = 32;
    cfg.embed = 8;
    return cfg;
}

static mrnet_model *small_model(void)
{
    mrnet_config cfg = small_config();
    mrnet_model *m;
    assert_int_equal(mrnet_model_create(&cfg, 1, &m), MRNET_OK);
    return m;
}

/* ---- dropout ------------------------------------------------------------------ */

static void expect_bad_dropout(mrnet_model *m, float p, const char *named)
{
    float before = mrnet_model_dropout(m);
    assert_int_equal(mrnet_model_set_dropout(m, p), MRNET_ERR_ARG);
    const char *msg = mrnet_last_error();
    if (!strstr(msg, "dropout") || !strstr(msg, named))
        fail_msg("dropout %g: message '%s' does not name the value '%s'", (double)p, msg, named);
    assert_true(mrnet_model_dropout(m) == before); /* unchanged */
}

static void dropout_range(void **state)
{
    (void)state;
    mrnet_model *m = small_model();
    assert_true(mrnet_model_dropout(m) == 0.5f);
    assert_int_equal(mrnet_model_set_dropout(m, 0.0f), MRNET_OK);
    assert_true(mrnet_model_dropout(m) == 0.0f);
    assert_int_equal(mrnet_model_set_dropout(m, 0.25f), MRNET_OK);
    assert_int_equal(mrnet_model_set_dropout(m, nextafterf(1.0f, 0.0f)), MRNET_OK);
    assert_int_equal(mrnet_model_set_dropout(m, 0.25f), MRNET_OK);

    expect_bad_dropout(m, NAN, "nan");
    expect_bad_dropout(m, -0.5f, "-0.5");
    expect_bad_dropout(m, -INFINITY, "inf");
    expect_bad_dropout(m, 1.0f, "1");
    expect_bad_dropout(m, 1.5f, "1.5");
    expect_bad_dropout(m, INFINITY, "inf");
    expect_bad_dropout(m, (float)0.99999999, "1"); /* rounds to 1 in float */
    assert_true(mrnet_model_dropout(m) == 0.25f);
    mrnet_model_free(m);
}

/* ---- named kinds and buffers ------------------------------------------------- */

/* Every tensor's kind is one of the three, with the matching pointers set,
 * and the kinds account for the parameter count. */
static void tensor_kinds(void **state)
{
    (void)state;
    mrnet_model *m = small_model();
    size_t params = 0;
    int seen[3] = {0};
    for (int i = 0; i < mrnet_model_tensor_count(m); i++) {
        const mrnet_tensor_info *t = mrnet_model_tensor(m, i);
        switch (t->kind) {
        case MRNET_TENSOR_PARAMETER:
            assert_non_null(t->data);
            assert_non_null(t->grad);
            assert_null(t->count);
            params += t->numel;
            break;
        case MRNET_TENSOR_RUNNING_STAT:
            assert_non_null(t->data);
            assert_null(t->grad);
            assert_non_null(strstr(t->name, "running_"));
            break;
        case MRNET_TENSOR_COUNTER:
            assert_non_null(t->count);
            assert_null(t->data);
            assert_non_null(strstr(t->name, "num_batches_tracked"));
            break;
        default:
            fail_msg("tensor '%s' has kind %d", t->name, (int)t->kind);
        }
        seen[t->kind]++;
    }
    assert_int_equal(params, mrnet_model_param_count(m, true));
    assert_true(seen[0] > 0 && seen[1] == 2 * seen[2] && seen[2] > 0);
    assert_int_equal(mrnet_model_find_tensor(m, "w_all")->kind, MRNET_TENSOR_PARAMETER);
    assert_int_equal(mrnet_model_find_tensor(m, "bn5.running_var")->kind,
                     MRNET_TENSOR_RUNNING_STAT);
    assert_int_equal(mrnet_model_find_tensor(m, "bn5.num_batches_tracked")->kind,
                     MRNET_TENSOR_COUNTER);
    mrnet_model_free(m);
}

static void adamw_buffers(void **state)
{
    (void)state;
    /* With and without amsgrad: all three buffers exist (max_exp_avg_sq
     * stays zero without it, and checkpoints always carry it). */
    for (int ams = 0; ams <= 1; ams++) {
        mrnet_adamw *opt;
        assert_int_equal(mrnet_adamw_create(4, 0.9, 0.999, 1e-8, 0, ams, &opt), MRNET_OK);
        float p[4] = {1, 2, 3, 4};
        const float g[4] = {0.5f, -1, 2, 0};
        mrnet_adamw_step(opt, p, g, 1e-3);
        float *m = mrnet_adamw_state(opt, MRNET_ADAMW_EXP_AVG);
        float *v = mrnet_adamw_state(opt, MRNET_ADAMW_EXP_AVG_SQ);
        float *vmax = mrnet_adamw_state(opt, MRNET_ADAMW_MAX_EXP_AVG_SQ);
        assert_non_null(m);
        assert_non_null(v);
        assert_non_null(vmax);
        assert_true(m != v && v != vmax && m != vmax);
        assert_float_equal(m[0], 0.05f, 1e-7);     /* (1 - 0.9) g */
        assert_float_equal(v[2], 0.004f, 1e-7);    /* (1 - 0.999) g^2 */
        assert_float_equal(vmax[2], ams ? 0.004f : 0.0f, 1e-7);

        /* A value that names no buffer: NULL and a message naming it. */
        set_sentinel();
        assert_null(mrnet_adamw_state(opt, (mrnet_adamw_buffer)3));
        assert_non_null(strstr(mrnet_last_error(), "buffer 3"));
        assert_null(mrnet_adamw_state(opt, (mrnet_adamw_buffer)-1));
        assert_non_null(strstr(mrnet_last_error(), "buffer -1"));
        mrnet_adamw_free(opt);
    }
}

/* ---- version ------------------------------------------------------------------ */

static void version(void **state)
{
    (void)state;
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", MRNET_VERSION_MAJOR, MRNET_VERSION_MINOR,
             MRNET_VERSION_PATCH);
    assert_string_equal(want, MRNET_VERSION_STRING);
    assert_string_equal(mrnet_version(), MRNET_VERSION_STRING);
    assert_int_equal(mrnet_version_number(),
                     MRNET_VERSION_MAJOR * 10000 + MRNET_VERSION_MINOR * 100 + MRNET_VERSION_PATCH);
    int major, minor, patch;
    char end;
    assert_int_equal(sscanf(mrnet_version(), "%d.%d.%d%c", &major, &minor, &patch, &end), 3);
    assert_int_equal(mrnet_version_number(), major * 10000 + minor * 100 + patch);

    /* The tool prints the linked library's version and nothing else. */
    assert_int_equal(test_run_cli("--version"), 0);
    char line[80];
    snprintf(line, sizeof line, "mrnet %s\n", mrnet_version());
    assert_string_equal(test_cli_output(), line);
    assert_string_equal(line, "mrnet 0.1.0\n");
}

/* ---- every failure sets its own message ---------------------------------------- */

/* Runs `call` after leaving the sentinel message; the call must fail with
 * `want`, replace the message and name each NULL-terminated fragment. */
#define EXPECT_FAIL(call, want, ...)                                  \
    do {                                                              \
        set_sentinel();                                               \
        mrnet_status got_ = (call);                                   \
        check_failure(got_, want, #call, __VA_ARGS__, (const char *)NULL); \
    } while (0)

static void check_failure(mrnet_status got, mrnet_status want, const char *call, ...)
{
    const char *msg = mrnet_last_error();
    if (got != want)
        fail_msg("%s: %s, expected %s (%s)", call, mrnet_status_name(got),
                 mrnet_status_name(want), msg);
    if (strstr(msg, SENTINEL))
        fail_msg("%s failed without a message of its own (still '%s')", call, msg);
    va_list ap;
    va_start(ap, call);
    test_expect_fragments(call, msg, ap);
    va_end(ap);
}

static float *input_of(const mrnet_config *cfg, int B, int T)
{
    size_t n = (size_t)B * cfg->in_channels * cfg->n_layers * T * cfg->in_dim;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t k = 0; k < n; k++)
        x[k] = sinf(0.1f * (float)k);
    return x;
}

static void config_failures(void **state)
{
    (void)state;
    mrnet_config cfg;
    mrnet_config_default(&cfg, 10);
    cfg.scale = 0;
    EXPECT_FAIL(mrnet_config_validate(&cfg), MRNET_ERR_ARG, "scale = 0");
    mrnet_config_default(&cfg, 10);
    cfg.se_groups = 5; /* 1536 is not divisible by 5 */
    EXPECT_FAIL(mrnet_config_validate(&cfg), MRNET_ERR_ARG, "se_groups = 5");
    mrnet_config_default(&cfg, 10);
    cfg.channels = 16;
    cfg.scale = 16;
    cfg.se_groups = 6; /* W = 3, bottleneck (48 / 16) / 6 = 0 */
    EXPECT_FAIL(mrnet_config_validate(&cfg), MRNET_ERR_ARG, "too small");

    unsigned mask;
    EXPECT_FAIL(mrnet_parse_routes("L1,Q7", &mask), MRNET_ERR_ARG, "'Q7'");
    EXPECT_FAIL(mrnet_parse_routes("L1,L2,L3,H,M1,M2,M3", &mask), MRNET_ERR_ARG, "every route");

    char buf[8];
    mrnet_config_default(&cfg, 10);
    EXPECT_FAIL(mrnet_config_to_json(&cfg, buf, sizeof buf), MRNET_ERR_ARG, "8 bytes");
    EXPECT_FAIL(mrnet_config_from_json("{\"scale\": ", &cfg), MRNET_ERR_FORMAT, "JSON");
    EXPECT_FAIL(mrnet_config_from_json(NULL, &cfg), MRNET_ERR_FORMAT, "JSON");
    EXPECT_FAIL(mrnet_config_from_json("{\"embed\": \"x\"}", &cfg), MRNET_ERR_FORMAT, "'embed'");
    mrnet_config_default(&cfg, 10);
    EXPECT_FAIL(mrnet_config_from_json("{\"scale\": 99}", &cfg), MRNET_ERR_ARG, "scale = 99");
}

static void model_failures(void **state)
{
    (void)state;
    mrnet_config cfg = small_config();
    cfg.classes = 0;
    mrnet_model *m = (mrnet_model *)&cfg;
    EXPECT_FAIL(mrnet_model_create(&cfg, 1, &m), MRNET_ERR_ARG, "classes = 0");
    assert_null(m);

    m = small_model();
    cfg = *mrnet_model_config(m);
    EXPECT_FAIL(mrnet_model_reserve(m, 0, 10), MRNET_ERR_ARG, "batch 0", "positive");
    EXPECT_FAIL(mrnet_model_reserve(m, 2, -1), MRNET_ERR_ARG, "frames -1");
    /* 2^62 frames: refused before the size wraps around (it used to report a
     * wrapped, small size). */
    EXPECT_FAIL(mrnet_model_reserve(m, INT_MAX, INT_MAX), MRNET_ERR_NOMEM, "workspace", "frames");
    EXPECT_FAIL(mrnet_model_set_dropout(m, 2.0f), MRNET_ERR_ARG, "dropout", "2");
    EXPECT_FAIL(mrnet_model_set_drop_routes(m, 0x7f), MRNET_ERR_ARG, "0x7f");
    EXPECT_FAIL(mrnet_model_set_drop_routes(m, 0x80), MRNET_ERR_ARG, "0x80");
    char *labels[2] = {"a", "b"};
    EXPECT_FAIL(mrnet_model_set_labels(m, labels, 2), MRNET_ERR_ARG, "2 label names", "3 classes");
    char *holes[3] = {"a", NULL, "c"};
    EXPECT_FAIL(mrnet_model_set_labels(m, holes, 3), MRNET_ERR_ARG, "label name 1", "NULL");

    int B = 2, T = 9;
    float *x = input_of(&cfg, B, T);
    float logits[2 * 3];
    EXPECT_FAIL(mrnet_forward(m, x, 0, T, false, NULL, logits), MRNET_ERR_SHAPE, "batch 0");
    EXPECT_FAIL(mrnet_forward(m, x, B, 0, false, NULL, logits), MRNET_ERR_SHAPE, "frames 0");
    EXPECT_FAIL(mrnet_forward(m, x, 1, T, true, NULL, logits), MRNET_ERR_SHAPE, "at least 2");
    x[7] = NAN;
    EXPECT_FAIL(mrnet_forward(m, x, B, T, false, NULL, logits), MRNET_ERR_NUMERIC, "value 7",
                "NaN");
    x[7] = INFINITY;
    EXPECT_FAIL(mrnet_forward(m, x, B, T, false, NULL, logits), MRNET_ERR_NUMERIC, "infinite");
    x[7] = 0;

    int labels_ok[2] = {0, 2}, labels_bad[2] = {0, 3};
    double loss;
    EXPECT_FAIL(mrnet_backward(m, labels_ok, NULL, &loss), MRNET_ERR_ARG, "no training forward");
    assert_int_equal(mrnet_forward(m, x, B, T, true, NULL, logits), MRNET_OK);
    EXPECT_FAIL(mrnet_backward(m, labels_bad, NULL, &loss), MRNET_ERR_ARG, "label 3",
                "sample 1");
    const float zero_weights[3] = {0, 0, 0};
    EXPECT_FAIL(mrnet_backward(m, labels_ok, zero_weights, &loss), MRNET_ERR_ARG,
                "class weights");
    assert_int_equal(mrnet_backward(m, labels_ok, NULL, &loss), MRNET_OK);

    /* soft targets: rows must be distributions; one-hot rows equal the hard loss */
    const float onehot[6] = {1, 0, 0, 0, 0, 1}, short_row[6] = {0.5f, 0, 0, 0, 0, 1},
                negative[6] = {1.5f, -0.5f, 0, 0, 0, 1}, nan_row[6] = {NAN, 0, 0, 0, 0, 1};
    EXPECT_FAIL(mrnet_backward_soft(m, onehot, NULL, &loss), MRNET_ERR_ARG, "no training forward");
    assert_int_equal(mrnet_forward(m, x, B, T, true, NULL, logits), MRNET_OK);
    EXPECT_FAIL(mrnet_backward_soft(m, short_row, NULL, &loss), MRNET_ERR_ARG, "sample 0",
                "sum to 0.5");
    EXPECT_FAIL(mrnet_backward_soft(m, negative, NULL, &loss), MRNET_ERR_ARG, "target 0", "1.5");
    EXPECT_FAIL(mrnet_backward_soft(m, nan_row, NULL, &loss), MRNET_ERR_ARG, "target 0", "nan");
    EXPECT_FAIL(mrnet_backward_soft(m, onehot, zero_weights, &loss), MRNET_ERR_ARG,
                "class weights");
    double soft_loss; /* the same forward (dropout's stream included) as a hard backward */
    mrnet_model_set_rng(m, 42);
    assert_int_equal(mrnet_forward(m, x, B, T, true, NULL, logits), MRNET_OK);
    assert_int_equal(mrnet_backward(m, labels_ok, NULL, &loss), MRNET_OK);
    mrnet_model_set_rng(m, 42);
    assert_int_equal(mrnet_forward(m, x, B, T, true, NULL, logits), MRNET_OK);
    assert_int_equal(mrnet_backward_soft(m, onehot, NULL, &soft_loss), MRNET_OK);
    assert_true(fabs(soft_loss - loss) <= 1e-6 * fabs(loss));
    free(x);
    mrnet_model_free(m);
}

/* Rewrites the safetensors file at path with metadata key set to value
 * (added when absent; every tensor and the other keys as they were). */
static void rewrite_meta(const char *path, const char *key, const char *value)
{
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(path, &f), MRNET_OK);
    mrnet_st_writer *w = mrnet_st_writer_create();
    for (int i = 0; i < f->n_tensors; i++) {
        const mrnet_st_tensor *t = &f->tensors[i];
        assert_int_equal(mrnet_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data),
                         MRNET_OK);
    }
    for (int i = 0; i < f->n_meta; i++)
        assert_int_equal(mrnet_st_writer_meta(w, f->meta_keys[i], f->meta_values[i]), MRNET_OK);
    assert_int_equal(mrnet_st_writer_meta(w, key, value), MRNET_OK); /* replaced or added */
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    assert_int_equal(mrnet_st_writer_save(w, tmp), MRNET_OK);
    mrnet_st_writer_free(w);
    mrnet_st_close(f);
    assert_int_equal(rename(tmp, path), 0);
}

static void checkpoint_failures(void **state)
{
    (void)state;
    mrnet_model *m = small_model();
    char path[600];
    snprintf(path, sizeof path, "%s", test_path("no-such-folder/model.safetensors"));
    EXPECT_FAIL(mrnet_model_save(m, path, NULL), MRNET_ERR_IO, path);
    /* the model's own keys cannot be given by the caller */
    const char *extra[] = {"mrnet.labels", "[1]", NULL};
    snprintf(path, sizeof path, "%s", test_path("bad_labels.safetensors"));
    EXPECT_FAIL(mrnet_model_save(m, path, extra), MRNET_ERR_ARG, "mrnet.labels", "model's own");
    const char *extra_config[] = {"note", "fine", "mrnet.config", "{}", NULL};
    EXPECT_FAIL(mrnet_model_save(m, path, extra_config), MRNET_ERR_ARG, "mrnet.config");
    /* so a bad labels entry is made by rewriting a good file's header */
    assert_int_equal(mrnet_model_save(m, path, NULL), MRNET_OK);
    rewrite_meta(path, "mrnet.labels", "[1]");
    mrnet_model_free(m);

    mrnet_model *loaded = (mrnet_model *)path;
    EXPECT_FAIL(mrnet_model_load(path, 0, &loaded), MRNET_ERR_FORMAT, path, "mrnet.labels");
    assert_null(loaded);
    snprintf(path, sizeof path, "%s", test_path("absent.safetensors"));
    EXPECT_FAIL(mrnet_model_load(path, 0, &loaded), MRNET_ERR_IO, path);
    snprintf(path, sizeof path, "%s", test_path("garbage.safetensors"));
    assert_int_equal(test_write_file(path, "not a safetensors file at all", 29), 0);
    EXPECT_FAIL(mrnet_model_load(path, 0, &loaded), MRNET_ERR_FORMAT, path, "header length");
    /* a release file with the hint that cannot split its input channels */
    const char *rel = test_source_path("tests/golden/tiny_a.release.safetensors");
    EXPECT_FAIL(mrnet_model_load(rel, 5, &loaded), MRNET_ERR_SHAPE, rel, "divisible");
}

static void optimizer_failures(void **state)
{
    (void)state;
    mrnet_adamw *opt = (mrnet_adamw *)&opt;
    EXPECT_FAIL(mrnet_adamw_create(4, 1.5, 0.999, 1e-8, 0, false, &opt), MRNET_ERR_ARG,
                "betas (1.5, 0.999)");
    assert_null(opt);
    EXPECT_FAIL(mrnet_adamw_create(4, 0.9, NAN, 1e-8, 0, false, &opt), MRNET_ERR_ARG, "nan");
    EXPECT_FAIL(mrnet_adamw_create(4, 0.9, 0.999, -1, 0, false, &opt), MRNET_ERR_ARG, "eps -1");
    EXPECT_FAIL(mrnet_adamw_create(4, 0.9, 0.999, 1e-8, -0.5, false, &opt), MRNET_ERR_ARG,
                "decay -0.5");
}

static void status_names(void **state)
{
    (void)state;
    static const mrnet_status all[] = {MRNET_OK,          MRNET_ERR_IO,
                                       MRNET_ERR_FORMAT,  MRNET_ERR_SHAPE,
                                       MRNET_ERR_ARG,     MRNET_ERR_NOMEM,
                                       MRNET_ERR_NUMERIC, MRNET_ERR_INTERRUPTED,
                                       MRNET_ERR_UNSUPPORTED};
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        const char *name = mrnet_status_name(all[i]);
        assert_non_null(name);
        assert_true(name[0] != '\0');
        assert_string_not_equal(name, "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(name, mrnet_status_name(all[j]));
    }
    assert_string_equal(mrnet_status_name(MRNET_OK), "ok");
    /* Out of range: a name, never NULL or a crash. */
    assert_string_equal(mrnet_status_name((mrnet_status)(MRNET_ERR_UNSUPPORTED + 1)),
                        "unknown error");
    assert_string_equal(mrnet_status_name((mrnet_status)1000), "unknown error");
    assert_string_equal(mrnet_status_name((mrnet_status)-1), "unknown error");
    assert_string_equal(mrnet_status_name((mrnet_status)INT_MIN), "unknown error");
}

/* The message is per thread: a fresh thread has none, and its failures do
 * not touch this thread's. */
static void *fail_in_thread(void *arg)
{
    char *seen = arg;
    snprintf(seen, 256, "%s", mrnet_last_error());
    unsigned mask;
    (void)mrnet_parse_routes("thread-route", &mask);
    return NULL;
}

static void message_per_thread(void **state)
{
    (void)state;
    set_sentinel();
    char seen[256] = "unset";
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fail_in_thread, seen), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_string_equal(seen, "");
    assert_non_null(strstr(mrnet_last_error(), SENTINEL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(derived_sizes_any_config),
        cmocka_unit_test(dropout_range),
        cmocka_unit_test(tensor_kinds),
        cmocka_unit_test(adamw_buffers),
        cmocka_unit_test(version),
        cmocka_unit_test(config_failures),
        cmocka_unit_test(model_failures),
        cmocka_unit_test(checkpoint_failures),
        cmocka_unit_test(optimizer_failures),
        cmocka_unit_test(status_names),
        cmocka_unit_test(message_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
