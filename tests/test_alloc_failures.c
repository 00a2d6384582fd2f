/* Allocation-failure injection in the style of SQLite's (issue 11, item 6):
 * this program is linked with malloc, calloc, realloc, strdup and
 * aligned_alloc wrapped (-Wl,--wrap=..., CMakeLists.txt), and cJSON's
 * allocations routed through the same counter, so that the N-th allocation
 * of mrnet's code fails. For each operation (loading a checkpoint, computing
 * features, one training step, classifying audio) the sweep runs it once to
 * count its allocations, then once for every N of them with the N-th
 * failing: each must return an error with a message (never crash, never
 * report success), and afterwards the same process must still run it to the
 * same result. Under the ASan build LeakSanitizer checks at exit that no
 * failure path leaked. Allocations of the libraries mrnet calls (libsndfile,
 * FFTW, OpenBLAS) are not counted: they are not mrnet's code. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <mrnet/mrnet.h>

/* ---- the failing allocator ------------------------------------------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t count, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__real_aligned_alloc(size_t align, size_t n);

static long alloc_count;   /* allocations since counting began */
static long fail_at = -1;  /* the allocation that fails (1-based); -1: none */
static bool counting;
static bool failed_one;    /* the planned failure happened */

static bool should_fail(void)
{
    if (!counting)
        return false;
    if (++alloc_count == fail_at) {
        failed_one = true;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t count, size_t n) { return should_fail() ? NULL : __real_calloc(count, n); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return should_fail() ? NULL : __real_strdup(s); }
void *__wrap_aligned_alloc(size_t align, size_t n)
{
    return should_fail() ? NULL : __real_aligned_alloc(align, n);
}

static void *json_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }

static void count_from_now(long fail)
{
    alloc_count = 0;
    fail_at = fail;
    failed_one = false;
    counting = true;
}

static long stop_counting(void)
{
    counting = false;
    fail_at = -1;
    return alloc_count;
}

/* ---- the sweep -------------------------------------------------------------- */

typedef struct {
    const char *name;
    /* runs the operation; writes a result to compare (may be NULL) */
    mrnet_status (*run)(void *ctx, float *result);
    void *ctx;
    size_t result_size; /* floats */
} operation;

/* Runs op with allocation 1, 2, ..., count failing in turn. */
static void sweep(const operation *op)
{
    float *want = calloc(op->result_size + 1, sizeof(float));
    float *got = calloc(op->result_size + 1, sizeof(float));
    count_from_now(-1);
    mrnet_status st = op->run(op->ctx, want);
    long count = stop_counting();
    if (st != MRNET_OK)
        fail_msg("%s: fails without any injected failure: %s", op->name, mrnet_last_error());
    assert_true(count > 0);
    long errors = 0;
    char previous[64] = "no failure yet";
    for (long n = 1; n <= count; n++) {
        mrnet_fail(MRNET_ERR_ARG, "%s", previous); /* a stale message must not pass for a new one */
        count_from_now(n);
        st = op->run(op->ctx, got);
        stop_counting();
        if (!failed_one) /* the run allocated less this time: nothing was injected */
            continue;
        if (st == MRNET_OK)
            fail_msg("%s: allocation %ld of %ld failed, yet it reported success", op->name, n, count);
        const char *message = mrnet_last_error();
        if (!message || !message[0] || !strcmp(message, previous))
            fail_msg("%s: allocation %ld failed with status %d and no new message", op->name, n, st);
        errors++;
    }
    /* the process is still usable: the same result as before the sweep */
    memset(got, 0, (op->result_size + 1) * sizeof(float));
    assert_int_equal(op->run(op->ctx, got), MRNET_OK);
    if (op->result_size && memcmp(want, got, op->result_size * sizeof(float)) != 0)
        fail_msg("%s: after the sweep the result differs", op->name);
    print_message("%s: %ld allocations, each failed in turn: %ld errors reported\n", op->name,
                  count, errors);
    assert_true(errors > 0);
    free(want);
    free(got);
}

/* ---- the operations -------------------------------------------------------- */

static const char *golden_checkpoint(void)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s", test_source_path("tests/golden/tiny_a.ckpt.safetensors"));
    return path;
}

static mrnet_status load_checkpoint(void *ctx, float *result)
{
    (void)ctx;
    mrnet_model *m;
    MRNET_TRY(mrnet_model_load(golden_checkpoint(), 0, &m));
    const mrnet_tensor_info *t = mrnet_model_find_tensor(m, "fc6.weight");
    result[0] = t ? t->data[0] : NAN;
    mrnet_model_free(m);
    return MRNET_OK;
}

static float *tone(int64_t n, double hz)
{
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(0.3 * sin(2 * M_PI * hz * (double)i / 16000.0));
    return x;
}

static mrnet_status compute_features(void *ctx, float *result)
{
    const float *pcm = ctx;
    mrnet_features_options opt;
    mrnet_features_options_default(&opt);
    mrnet_features f;
    MRNET_TRY(mrnet_features_from_pcm(pcm, 1, 32000, 16000, &opt, NULL, &f));
    memcpy(result, f.data, 48 * sizeof(float)); /* the first frame */
    mrnet_features_free(&f);
    return MRNET_OK;
}

static mrnet_config small_config(void)
{
    mrnet_config cfg;
    mrnet_config_default(&cfg, 3);
    cfg.in_dim = 48;
    cfg.in_channels = 1;
    cfg.n_layers = 1;
    cfg.channels = 16;
    cfg.embed = 8;
    cfg.classes = 3;
    return cfg;
}

/* Model, forward, backward and one AdamW step, everything made and freed. */
static mrnet_status training_step(void *ctx, float *result)
{
    (void)ctx;
    enum { B = 2, T = 40 };
    mrnet_config cfg = small_config();
    mrnet_model *m = NULL;
    mrnet_adamw *opt = NULL;
    float *x = malloc(sizeof(float) * B * T * 48), logits[B * 3];
    if (!x)
        return mrnet_fail(MRNET_ERR_NOMEM, "test: out of memory");
    for (int i = 0; i < B * T * 48; i++)
        x[i] = (float)sin(0.37 * i);
    int labels[B] = {0, 2};
    double loss;
    mrnet_status st = mrnet_model_create(&cfg, 5, &m);
    if (st == MRNET_OK)
        mrnet_model_set_rng(m, 9);
    if (st == MRNET_OK)
        st = mrnet_forward(m, x, B, T, true, NULL, logits);
    if (st == MRNET_OK)
        st = mrnet_backward(m, labels, NULL, &loss);
    if (st == MRNET_OK)
        st = mrnet_adamw_create(mrnet_model_param_count(m, true), 0.9, 0.999, 1e-8, 1e-4, true, &opt);
    if (st == MRNET_OK) {
        mrnet_adamw_step(opt, mrnet_model_params(m), mrnet_model_grads(m), 1e-3);
        result[0] = mrnet_model_params(m)[0];
        result[1] = (float)loss;
    }
    mrnet_adamw_free(opt);
    mrnet_model_free(m);
    free(x);
    return st;
}

typedef struct {
    char checkpoint[1024];
    float *pcm;
} classify_ctx;

static mrnet_status classify_audio(void *ctx, float *result)
{
    classify_ctx *c = ctx;
    mrnet_classifier *cl;
    MRNET_TRY(mrnet_classifier_open(c->checkpoint, &cl));
    mrnet_classify_options opt;
    mrnet_classify_options_default(&opt);
    mrnet_status st = mrnet_classify_pcm(cl, c->pcm, 1, 16000 * 8, 16000, &opt, result, NULL,
                                         NULL, NULL);
    mrnet_classifier_free(cl);
    return st;
}

static int setup(void **state)
{
    (void)state;
    cJSON_Hooks hooks = {json_malloc, free};
    cJSON_InitHooks(&hooks);
    return 0;
}

static void model_load(void **state)
{
    (void)state;
    operation op = {"model load", load_checkpoint, NULL, 1};
    sweep(&op);
}

static void features(void **state)
{
    (void)state;
    float *pcm = tone(32000, 440);
    operation op = {"log-mel features", compute_features, pcm, 48};
    sweep(&op);
    free(pcm);
}

static void train_step(void **state)
{
    (void)state;
    operation op = {"training step", training_step, NULL, 2};
    sweep(&op);
}

static void predict(void **state)
{
    (void)state;
    classify_ctx c;
    snprintf(c.checkpoint, sizeof c.checkpoint, "%s", test_path("small.safetensors"));
    mrnet_config cfg = small_config();
    mrnet_model *m;
    assert_int_equal(mrnet_model_create(&cfg, 3, &m), MRNET_OK);
    char settings[512];
    mrnet_features_options fo;
    mrnet_features_options_default(&fo);
    mrnet_features_options_describe(&fo, settings, sizeof settings);
    const char *meta[] = {"mrnet.features", settings, NULL};
    assert_int_equal(mrnet_model_save(m, c.checkpoint, meta), MRNET_OK);
    mrnet_model_free(m);
    c.pcm = tone(16000 * 8, 660);
    operation op = {"classify 8 s of audio", classify_audio, &c, 3};
    sweep(&op);
    free(c.pcm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_load),
        cmocka_unit_test(features),
        cmocka_unit_test(train_step),
        cmocka_unit_test(predict),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
