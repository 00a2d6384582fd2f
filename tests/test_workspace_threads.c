/* The workspace against a thread count that changes after it was planned.
 *
 * The convolutions' backward keeps one weight gradient per thread in the
 * workspace's scratch, sized for the thread count at planning time. A backward
 * on more threads than that would write past the scratch into the gradient
 * buffers that follow it in the same allocation, where AddressSanitizer sees
 * nothing; the guard words between the workspace's buffers do
 * (model_workspace_check_guards), and so does a comparison of the gradients.
 *
 * Sizes: C 32, S*D 32, B 4, T 16 make the largest convolution's term the
 * scratch's largest (fst_conv at 1 thread, conv3's per-thread gradients at
 * 4) and keep ASP's (linear in B*T) below it, so an unplanned thread lands
 * outside the scratch; scratch_terms checks that. */
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/workspace.h"
#include "mrnet/mrnet.h"
#include "tensor/rng.h"

enum { B = 4, T = 16, K = 3, MANY = 4 };

static const int labels[B] = {0, 2, 1, 2};

/* Each test sets its thread counts; the others get the count back. */
static int saved_threads;

static int save_threads(void **state)
{
    (void)state;
    saved_threads = omp_get_max_threads();
    return 0;
}

static int restore_threads(void **state)
{
    (void)state;
    omp_set_num_threads(saved_threads);
    return 0;
}

static mrnet_config test_config(void)
{
    mrnet_config cfg;
    mrnet_config_default(&cfg, K);
    cfg.in_dim = 16;
    cfg.in_channels = 2;
    cfg.n_layers = 2;
    cfg.channels = 32;
    cfg.embed = 6;
    return cfg;
}

typedef struct {
    float *grads; /* (n) */
    size_t n;
    float logits[B * K];
    double loss;
} step_result;

static float *test_input(const mrnet_config *cfg)
{
    size_t n = (size_t)B * cfg->in_channels * cfg->n_layers * T * cfg->in_dim;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    uint64_t s = 7;
    for (size_t k = 0; k < n; k++)
        x[k] = rng_normal(&s);
    return x;
}

static mrnet_model *test_model(const mrnet_config *cfg)
{
    mrnet_model *m;
    assert_int_equal(mrnet_model_create(cfg, 11, &m), MRNET_OK);
    mrnet_model_set_dropout(m, 0.3f); /* masks from one stream, whatever the threads */
    mrnet_model_set_rng(m, 99);
    return m;
}

static void expect_guards(const mrnet_model *m, const char *after)
{
    int damaged = model_workspace_check_guards(m);
    if (damaged)
        fail_msg("%d guard(s) of the workspace overwritten after %s", damaged, after);
}

/* Reserves on `reserve` threads, runs the forward on `forward` and the
 * backward on `backward` threads; keeps the model in *out when out is set. */
static step_result step(int reserve, int forward, int backward, mrnet_model **out)
{
    mrnet_config cfg = test_config();
    mrnet_model *m = test_model(&cfg);
    float *x = test_input(&cfg);
    step_result r = {.n = mrnet_model_param_count(m, true)};
    omp_set_num_threads(reserve);
    assert_int_equal(mrnet_model_reserve(m, B, T), MRNET_OK);
    omp_set_num_threads(forward);
    assert_int_equal(mrnet_forward(m, x, B, T, true, NULL, r.logits), MRNET_OK);
    expect_guards(m, "the forward");
    omp_set_num_threads(backward);
    assert_int_equal(mrnet_backward(m, labels, NULL, &r.loss), MRNET_OK);
    expect_guards(m, "the backward");
    r.grads = malloc(r.n * sizeof *r.grads);
    assert_non_null(r.grads);
    memcpy(r.grads, mrnet_model_grads(m), r.n * sizeof *r.grads);
    free(x);
    if (out)
        *out = m;
    else
        mrnet_model_free(m);
    return r;
}

/* b equal to a within 1e-5 of a's largest value (float reordering). */
static void expect_close(const float *a, const float *b, size_t n, const char *what)
{
    double big = test_max_abs(a, n), err = test_max_abs_diff(a, b, n);
    if (!(big > 0 && err <= 1e-5 * big))
        fail_msg("%s: differs by %.3e (largest %.3e)", what, err, big);
}

/* Equal up to float reordering: the tolerance of test_model_gradcheck's
 * thread_count (1e-5 of the largest gradient). A thread writing into the
 * gradient buffers is off by far more. */
static void expect_same(const step_result *a, const step_result *b, const char *what)
{
    assert_true(a->n == b->n);
    double gmax = test_max_abs(a->grads, a->n);
    assert_true(gmax > 0);
    double err = test_max_abs_diff(a->grads, b->grads, a->n) / gmax;
    if (!(err <= 1e-5))
        fail_msg("%s: gradients differ by %.3e of the largest (%.3e)", what, err, gmax);
    if (!(fabs(a->loss - b->loss) <= 1e-6 * fabs(a->loss)))
        fail_msg("%s: loss %.9g against %.9g", what, a->loss, b->loss);
    expect_close(a->logits, b->logits, B * K, "logits");
}

static void free_result(step_result *r) { free(r->grads); }

/* The sizes above are the ones this test means: the conv term is the
 * scratch at 1 and at MANY threads, and MANY threads' conv term does not
 * fit in a scratch planned for 1. */
static void scratch_terms(void **state)
{
    (void)state;
    mrnet_config cfg = test_config();
    mrnet_model *m = test_model(&cfg);
    const size_t N = (size_t)B * T;
    model_scratch_terms one = model_workspace_scratch_terms(m, B, N, 1);
    model_scratch_terms many = model_workspace_scratch_terms(m, B, N, MANY);
    print_message("scratch terms (floats) at 1 thread: conv %zu, se %zu, asp %zu; "
                  "at %d: conv %zu, se %zu, asp %zu\n",
                  one.conv, one.se, one.asp, MANY, many.conv, many.se, many.asp);
    assert_true(one.conv > one.se && one.conv > one.asp);
    assert_true(many.conv > many.se && many.conv > many.asp);
    assert_true(many.conv > one.conv); /* MANY threads' partials do not fit in one's */
    mrnet_model_free(m);
}

/* Reserved at 1 thread, trained at MANY: the forward re-plans, the backward
 * stays inside the scratch, and the result is the 1-thread one. */
static void raised_before_forward(void **state)
{
    (void)state;
    step_result ref = step(1, 1, 1, NULL);
    mrnet_model *m;
    step_result raised = step(1, MANY, MANY, &m);
    step_result planned = step(MANY, MANY, MANY, NULL);
    expect_same(&planned, &raised, "reserved at 1 thread against reserved at 4, both run at 4");
    expect_same(&ref, &raised, "1 thread against 4");
    assert_int_equal(m->ws->threads, MANY);
    mrnet_model_free(m);
    free_result(&ref);
    free_result(&raised);
    free_result(&planned);
}

/* Raised between the forward and the backward: the backward uses no more
 * threads than the workspace was planned for; the next forward re-plans. */
static void raised_before_backward(void **state)
{
    (void)state;
    step_result ref = step(1, 1, 1, NULL);
    mrnet_model *m;
    step_result raised = step(1, 1, MANY, &m);
    expect_same(&ref, &raised, "backward at 4 threads after a forward at 1");
    assert_int_equal(m->ws->threads, 1);

    size_t bytes = mrnet_model_workspace_bytes(m);
    mrnet_config cfg = test_config();
    float *x = test_input(&cfg);
    mrnet_model_set_rng(m, 99);
    omp_set_num_threads(MANY);
    assert_int_equal(mrnet_forward(m, x, B, T, true, NULL, NULL), MRNET_OK);
    assert_int_equal(m->ws->threads, MANY);
    assert_true(mrnet_model_workspace_bytes(m) > bytes);
    assert_int_equal(mrnet_backward(m, labels, NULL, NULL), MRNET_OK);
    expect_guards(m, "the backward on the re-planned workspace");
    expect_close(ref.grads, mrnet_model_grads(m), ref.n, "gradients after re-planning");

    /* mrnet_model_reserve grows the plan's thread count too, never shrinks it */
    omp_set_num_threads(1);
    assert_int_equal(mrnet_model_reserve(m, B, T), MRNET_OK);
    assert_int_equal(m->ws->threads, MANY);
    free(x);
    mrnet_model_free(m);
    free_result(&ref);
    free_result(&raised);
}

/* The op alone: a scratch sized for 1 thread, exactly (AddressSanitizer
 * sees past it), and a backward called with MANY threads available. */
static void conv_scratch_for_one(void **state)
{
    (void)state;
    enum { IN = 6, OUT = 5, KS = 3, CB = 8, CT = 12 };
    uint64_t s = 3;
    float w[OUT * IN * KS], bias[OUT], x[CB * IN * CT], dy[CB * OUT * CT];
    float *all[] = {w, bias, x, dy};
    size_t sizes[] = {OUT * IN * KS, OUT, CB * IN * CT, CB * OUT * CT};
    for (int a = 0; a < 4; a++)
        for (size_t k = 0; k < sizes[a]; k++)
            all[a][k] = rng_normal(&s);
    conv1d_params p = {IN, OUT, KS, 2, w, bias};
    float dx[2][CB * IN * CT], dw[2][OUT * IN * KS], db[2][OUT];
    memset(dx, 0, sizeof dx), memset(dw, 0, sizeof dw), memset(db, 0, sizeof db);
    omp_set_num_threads(MANY);
    for (int r = 0; r < 2; r++) {
        int planned = r == 0 ? 1 : MANY;
        float *scratch = malloc(conv1d_scratch_floats(&p, CT, planned) * sizeof(float));
        assert_non_null(scratch);
        conv1d_backward(&p, x, dy, dx[r], dw[r], db[r], CB, CT, scratch, planned);
        free(scratch);
    }
    expect_close(dx[0], dx[1], CB * IN * CT, "dx");
    expect_close(dw[0], dw[1], OUT * IN * KS, "dweight");
    expect_close(db[0], db[1], OUT, "dbias");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scratch_terms),
        cmocka_unit_test_setup_teardown(conv_scratch_for_one, save_threads, restore_threads),
        cmocka_unit_test_setup_teardown(raised_before_forward, save_threads, restore_threads),
        cmocka_unit_test_setup_teardown(raised_before_backward, save_threads, restore_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
