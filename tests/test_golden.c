/* The C model against the PyTorch reference (tools/gen_golden.py, computed in
 * float64 from float32 values, stored as float32).
 *
 * Tolerances (max over a tensor of |mrnet - reference|):
 *   eval and train outputs, loss, running statistics: 1e-5 x max|reference|;
 *   gradients: 1e-4 x max(max|reference|, 2% of the largest gradient of the
 *     model). The floor covers gradients that vanish analytically (biases in
 *     front of a batch norm or a softmax; w_all, which bn5 makes invariant up
 *     to eps) where float32 leaves cancellation noise;
 *   parameters after AdamW: 1e-4 x max|reference| on elements whose
 *     reference gradient exceeds 1e-3 of the tensor's largest; below that
 *     the sign of g, and so AdamW's first step of +-lr, is float32 noise in
 *     any implementation, and those elements may differ by up to 2.1 lr;
 *   AdamW golden (4 steps, float32 in both): 1e-6 relative; schedule: 1e-12. */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrnet/mrnet.h"
#include "tensor/safetensors.h"

typedef struct {
    mrnet_st_file *io;
    double lr, weight_decay;
} golden;

/* A float32 golden tensor that must hold exactly n values. */
static const float *tensor(const mrnet_st_file *f, const char *name, size_t n)
{
    const mrnet_st_tensor *t = mrnet_st_find(f, name);
    if (!t)
        fail_msg("%s: golden tensor '%s' missing", f->path, name);
    assert_int_equal(t->dtype, MRNET_F32);
    if ((size_t)t->numel != n)
        fail_msg("%s: golden tensor '%s' has %lld values, expected %zu", f->path, name,
                 (long long)t->numel, n);
    return t->data;
}

/* max|a - ref| <= tol * max(max|ref|, floor); returns the ratio to the bound. */
static double check_close(const char *what, const float *a, const float *ref, size_t n,
                          double tol, double floor)
{
    double err = test_max_abs_diff(a, ref, n);
    double scale = test_max_abs(ref, n);
    double bound = tol * (scale > floor ? scale : floor);
    if (!(err <= bound))
        fail_msg("%s: max abs error %.3e exceeds %.3e (scale %.3e)", what, err, bound, scale);
    return bound > 0 ? err / bound : 0;
}

static double meta_double(const mrnet_st_file *f, const char *key, double fallback)
{
    const char *v = mrnet_st_meta(f, key);
    return v ? atof(v) : fallback;
}

static mrnet_model *load(const char *name)
{
    mrnet_model *m = NULL;
    if (mrnet_model_load(test_source_path(name), 0, &m) != MRNET_OK)
        fail_msg("loading %s: %s", name, mrnet_last_error());
    return m;
}

static void input_of(const mrnet_st_file *io, const float **x, int *B, int *T)
{
    const mrnet_st_tensor *t = mrnet_st_find(io, "input");
    assert_non_null(t);
    *x = t->data;
    *B = (int)t->shape[0];
    *T = (int)t->shape[3];
}

static void check_eval(const char *ckpt, const char *io_name, unsigned drop)
{
    mrnet_st_file *io;
    assert_int_equal(mrnet_st_open(test_source_path(io_name), &io), MRNET_OK);
    mrnet_model *m = load(ckpt);
    assert_int_equal(mrnet_model_set_drop_routes(m, drop), MRNET_OK);
    const mrnet_config *cfg = mrnet_model_config(m);
    const float *x;
    int B, T;
    input_of(io, &x, &B, &T);
    float *emb = malloc(sizeof(float) * B * cfg->embed), *logits = malloc(sizeof(float) * B * cfg->classes);
    assert_int_equal(mrnet_forward(m, x, B, T, false, emb, logits), MRNET_OK);
    size_t ne = (size_t)B * cfg->embed, nk = (size_t)B * cfg->classes;
    check_close("eval.embedding", emb, tensor(io, "eval.embedding", ne), ne, 1e-5, 0);
    check_close("eval.logits", logits, tensor(io, "eval.logits", nk), nk, 1e-5, 0);
    free(emb);
    free(logits);
    mrnet_model_free(m);
    mrnet_st_close(io);
}

static int read_labels(const mrnet_st_file *io, int *labels, int B)
{
    const mrnet_st_tensor *t = mrnet_st_find(io, "labels");
    assert_non_null(t);
    assert_int_equal(t->dtype, MRNET_I64);
    for (int b = 0; b < B; b++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + 8 * b, 8);
        labels[b] = (int)v;
    }
    return B;
}

static double largest_gradient(const mrnet_st_file *io)
{
    double g = 0;
    for (int i = 0; i < io->n_tensors; i++)
        if (!strncmp(io->tensors[i].name, "grad.", 5)) {
            double s = test_max_abs(io->tensors[i].data, (size_t)io->tensors[i].numel);
            g = s > g ? s : g;
        }
    return g;
}

/* AdamW's first step moves each element by about lr * sign(g); where the
 * reference gradient is tiny its sign is noise (see the file comment). */
static void check_after_step(const char *name, const float *p, const float *ref, const float *g,
                             size_t n, double lr, double grad_floor)
{
    double scale = test_max_abs(ref, n), gmax = test_max_abs(g, n);
    gmax = gmax > grad_floor ? gmax : grad_floor;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)p[i] - ref[i]);
        bool tiny = fabs(g[i]) <= 1e-3 * gmax;
        double bound = tiny ? 2.1 * lr + 1e-4 * scale : 1e-4 * scale;
        if (!(err <= bound))
            fail_msg("param_after_step.%s[%zu]: %.8g vs %.8g (grad %.3g)", name, i, p[i], ref[i],
                     g[i]);
    }
}

/* Routes dropped are not computed, so their attention's running statistics
 * stay put in mrnet, while the reference ran them and zeroed the output. */
static bool in_dropped_route(const char *name, unsigned drop)
{
    int j;
    return sscanf(name, "att.%d.", &j) == 1 && (drop & (1u << j));
}

static void check_train(const char *ckpt, const char *io_name, unsigned drop)
{
    mrnet_st_file *io;
    assert_int_equal(mrnet_st_open(test_source_path(io_name), &io), MRNET_OK);
    double lr = meta_double(io, "lr", 1e-3), wd = meta_double(io, "weight_decay", 1e-4);
    mrnet_model *m = load(ckpt);
    assert_int_equal(mrnet_model_set_drop_routes(m, drop), MRNET_OK);
    assert_int_equal(mrnet_model_set_dropout(m, 0), MRNET_OK);
    const mrnet_config *cfg = mrnet_model_config(m);
    const float *x;
    int B, T;
    input_of(io, &x, &B, &T);
    int *labels = malloc(sizeof(int) * B);
    read_labels(io, labels, B);
    const float *cw = tensor(io, "class_weight", (size_t)cfg->classes);
    float *emb = malloc(sizeof(float) * B * cfg->embed), *logits = malloc(sizeof(float) * B * cfg->classes);
    assert_int_equal(mrnet_forward(m, x, B, T, true, emb, logits), MRNET_OK);
    double loss;
    assert_int_equal(mrnet_backward(m, labels, cw, &loss), MRNET_OK);
    size_t ne = (size_t)B * cfg->embed, nk = (size_t)B * cfg->classes;
    check_close("embedding", emb, tensor(io, "embedding", ne), ne, 1e-5, 0);
    check_close("logits", logits, tensor(io, "logits", nk), nk, 1e-5, 0);
    float loss_f = (float)loss;
    check_close("loss", &loss_f, tensor(io, "loss", 1), 1, 1e-5, 0);

    double gmax = largest_gradient(io), worst = 0;
    char name[320];
    int n_grads = 0;
    for (int i = 0; i < mrnet_model_tensor_count(m); i++) {
        const mrnet_tensor_info *t = mrnet_model_tensor(m, i);
        if (t->kind == MRNET_TENSOR_PARAMETER) {
            snprintf(name, sizeof name, "grad.%s", t->name);
            double r = check_close(name, t->grad, tensor(io, name, t->numel), t->numel, 1e-4,
                                   0.02 * gmax);
            worst = r > worst ? r : worst;
            n_grads++;
        } else if (t->kind == MRNET_TENSOR_RUNNING_STAT && !in_dropped_route(t->name, drop)) {
            snprintf(name, sizeof name, "running.%s", t->name);
            check_close(name, t->data, tensor(io, name, t->numel), t->numel, 1e-5, 0);
        }
    }
    mrnet_adamw *opt;
    assert_int_equal(mrnet_adamw_create(mrnet_model_param_count(m, true), 0.9, 0.999, 1e-8,
                                        wd, true, &opt), MRNET_OK);
    assert_int_equal(mrnet_adamw_set_no_decay(opt, m), MRNET_OK); /* the reference's groups */
    mrnet_adamw_step(opt, mrnet_model_params(m), mrnet_model_grads(m), lr);
    for (int i = 0; i < mrnet_model_tensor_count(m); i++) {
        const mrnet_tensor_info *t = mrnet_model_tensor(m, i);
        if (t->kind != MRNET_TENSOR_PARAMETER)
            continue;
        snprintf(name, sizeof name, "param_after_step.%s", t->name);
        const float *ref = tensor(io, name, t->numel);
        snprintf(name, sizeof name, "grad.%s", t->name);
        check_after_step(t->name, t->data, ref, tensor(io, name, t->numel), t->numel, lr,
                         0.02 * gmax);
    }
    printf("# %s: %d gradients, worst at %.2f of the tolerance\n", io_name, n_grads, worst);
    mrnet_adamw_free(opt);
    free(labels);
    free(emb);
    free(logits);
    mrnet_model_free(m);
    mrnet_st_close(io);
}

static void tiny_a_eval(void **s) { (void)s; check_eval("tests/golden/tiny_a.ckpt.safetensors", "tests/golden/tiny_a.io.safetensors", 0); }
static void tiny_b_eval(void **s) { (void)s; check_eval("tests/golden/tiny_b.ckpt.safetensors", "tests/golden/tiny_b.io.safetensors", 0); }
static void tiny_c_eval(void **s) { (void)s; check_eval("tests/golden/tiny_c.ckpt.safetensors", "tests/golden/tiny_c.io.safetensors", 0); }
static void tiny_a_train(void **s) { (void)s; check_train("tests/golden/tiny_a.ckpt.safetensors", "tests/golden/tiny_a.io.safetensors", 0); }
static void tiny_b_train(void **s) { (void)s; check_train("tests/golden/tiny_b.ckpt.safetensors", "tests/golden/tiny_b.io.safetensors", 0); }
static void tiny_c_train(void **s) { (void)s; check_train("tests/golden/tiny_c.ckpt.safetensors", "tests/golden/tiny_c.io.safetensors", 0); }

static unsigned drop_mask_of(const char *io_name)
{
    mrnet_st_file *io;
    assert_int_equal(mrnet_st_open(test_source_path(io_name), &io), MRNET_OK);
    unsigned mask;
    assert_int_equal(mrnet_parse_routes(mrnet_st_meta(io, "drop_routes"), &mask), MRNET_OK);
    mrnet_st_close(io);
    return mask;
}

static void route_ablation(void **s)
{
    (void)s;
    const char *io = "tests/golden/tiny_a.io_drop.safetensors";
    unsigned mask = drop_mask_of(io);
    assert_int_equal(mask, (1u << 1) | (1u << 4)); /* L2, M1 */
    check_eval("tests/golden/tiny_a.ckpt.safetensors", io, mask);
    check_train("tests/golden/tiny_a.ckpt.safetensors", io, mask);
}

/* The after-norm gate (tiny_a's network with route_weights 1, w_all as
 * non-uniform gate logits), whole and with routes L3, M2 dropped: left out
 * of the reference's softmax as of mrnet's. */
static void gate(void **s)
{
    (void)s;
    const char *ckpt = "tests/golden/tiny_a_gate.ckpt.safetensors";
    mrnet_model *m = load(ckpt);
    assert_int_equal(mrnet_model_config(m)->route_weights, MRNET_ROUTE_WEIGHTS_AFTER_NORM);
    mrnet_model_free(m);
    check_eval(ckpt, "tests/golden/tiny_a_gate.io.safetensors", 0);
    check_train(ckpt, "tests/golden/tiny_a_gate.io.safetensors", 0);
    const char *io = "tests/golden/tiny_a_gate.io_drop.safetensors";
    unsigned mask = drop_mask_of(io);
    assert_int_equal(mask, (1u << 2) | (1u << 5)); /* L3, M2 */
    check_eval(ckpt, io, mask);
    check_train(ckpt, io, mask);
}

/* Global input standardisation (tiny_c's network with input_norm 1 and a
 * non-trivial fixed mean and std): the reference's InputNorm before the
 * layer mix, no instance norm. */
static void global_input_norm(void **s)
{
    (void)s;
    const char *ckpt = "tests/golden/tiny_c_global.ckpt.safetensors";
    mrnet_model *m = load(ckpt);
    assert_int_equal(mrnet_model_config(m)->input_norm, MRNET_INPUT_NORM_GLOBAL);
    assert_non_null(mrnet_model_find_tensor(m, "input_norm.std"));
    mrnet_model_free(m);
    check_eval(ckpt, "tests/golden/tiny_c_global.io.safetensors", 0);
    check_train(ckpt, "tests/golden/tiny_c_global.io.safetensors", 0);
}

/* A release state dict (converted by tools/convert_release.py: no metadata,
 * int64 counters, the CE weight buffer) gives the same numbers. */
static void release_checkpoint(void **s)
{
    (void)s;
    check_eval("tests/golden/tiny_a.release.safetensors", "tests/golden/tiny_a.io.safetensors", 0);
}

static void adamw_golden(void **s)
{
    (void)s;
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(test_source_path("tests/golden/adamw.safetensors"), &f), MRNET_OK);
    double lr = meta_double(f, "lr", 0), wd = meta_double(f, "weight_decay", 0);
    double eps = meta_double(f, "eps", 1e-8);
    char name[64];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "param0.%d", i);
        const mrnet_st_tensor *t0 = mrnet_st_find(f, name);
        assert_non_null(t0);
        size_t n = (size_t)t0->numel;
        const float *p0 = tensor(f, name, n);
        float *p = malloc(n * sizeof(float));
        memcpy(p, p0, n * sizeof(float));
        mrnet_adamw *opt;
        assert_int_equal(mrnet_adamw_create(n, 0.9, 0.999, eps, wd, true, &opt), MRNET_OK);
        for (int step = 1; step <= 4; step++) {
            snprintf(name, sizeof name, "grad%d.%d", step, i);
            mrnet_adamw_step(opt, p, tensor(f, name, n), lr);
            snprintf(name, sizeof name, "param%d.%d", step, i);
            check_close(name, p, tensor(f, name, n), n, 1e-6, 0);
        }
        static const struct {
            mrnet_adamw_buffer which;
            const char *name;
        } state[] = {{MRNET_ADAMW_EXP_AVG, "exp_avg"},
                     {MRNET_ADAMW_EXP_AVG_SQ, "exp_avg_sq"},
                     {MRNET_ADAMW_MAX_EXP_AVG_SQ, "max_exp_avg_sq"}};
        for (size_t k = 0; k < sizeof state / sizeof state[0]; k++) {
            snprintf(name, sizeof name, "%s.%d", state[k].name, i);
            check_close(name, mrnet_adamw_state(opt, state[k].which), tensor(f, name, n), n,
                        1e-6, 0);
        }
        mrnet_adamw_free(opt);
        free(p);
    }
    mrnet_st_close(f);
}

static void schedule_golden(void **s)
{
    (void)s;
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(test_source_path("tests/golden/schedule.safetensors"), &f), MRNET_OK);
    const mrnet_st_tensor *e = mrnet_st_find(f, "epoch"), *lr = mrnet_st_find(f, "lr");
    assert_non_null(e);
    assert_non_null(lr);
    for (int64_t i = 0; i < e->numel; i++) {
        int64_t epoch;
        double want;
        memcpy(&epoch, (const char *)e->data + 8 * i, 8);
        memcpy(&want, (const char *)lr->data + 8 * i, 8);
        double got = mrnet_cosine_restart_lr((long)epoch, 1e-3, 5e-4, 1000, 2);
        if (fabs(got - want) > 1e-12 * want)
            fail_msg("epoch %lld: lr %.15g, torch %.15g", (long long)epoch, got, want);
    }
    /* one cycle length (T_mult 1) for ever: the position is epoch mod T_0,
     * with no loop over 10^12 / 7 cycles; a huge T_mult cannot overflow */
    const long big = 1000000000000L;
    double t = (double)(big % 7);
    assert_true(fabs(mrnet_cosine_restart_lr(big, 1e-3, 5e-4, 7, 1) -
                     (5e-4 + 5e-4 * (1 + cos(M_PI * t / 7)) / 2)) < 1e-15);
    assert_true(fabs(mrnet_cosine_restart_lr(10, 1e-3, 5e-4, 3, LONG_MAX / 2) -
                     (5e-4 + 5e-4 * (1 + cos(M_PI * 7.0 / (3.0 * (double)(LONG_MAX / 2)))) / 2)) <
                1e-15);
    /* the spec's closed form for the first cycle */
    assert_true(fabs(mrnet_cosine_restart_lr(1, 1e-3, 5e-4, 1000, 2) -
                     (5e-4 + 5e-4 * (1 + cos(M_PI / 1000)) / 2)) < 1e-15);
    mrnet_st_close(f);
}

/* The command line computes the same training step (tiny_c, not tuned on). */
static void cli_train_step(void **s)
{
    (void)s;
    const char *out = test_path("tiny_c.step.safetensors");
    int rc = test_run_cli("forward '%s' '%s' -o '%s' --train-step --dropout 0 --lr 0.002 "
                          "--weight-decay 0.05",
                          test_source_path("tests/golden/tiny_c.ckpt.safetensors"),
                          test_source_path("tests/golden/tiny_c.io.safetensors"), out);
    if (rc != 0)
        fail_msg("mrnet forward failed: %s", test_cli_output());
    mrnet_st_file *got, *io;
    assert_int_equal(mrnet_st_open(out, &got), MRNET_OK);
    assert_int_equal(mrnet_st_open(test_source_path("tests/golden/tiny_c.io.safetensors"), &io), MRNET_OK);
    double gmax = largest_gradient(io);
    int compared = 0;
    for (int i = 0; i < got->n_tensors; i++) {
        const mrnet_st_tensor *t = &got->tensors[i];
        size_t n = (size_t)t->numel;
        const float *ref = tensor(io, t->name, n);
        if (!strncmp(t->name, "grad.", 5))
            check_close(t->name, t->data, ref, n, 1e-4, 0.02 * gmax);
        else if (!strncmp(t->name, "param_after_step.", 17)) {
            char g[300];
            snprintf(g, sizeof g, "grad.%s", t->name + 17);
            check_after_step(t->name + 17, t->data, ref, tensor(io, g, n), n, 0.002, 0.02 * gmax);
        } else
            check_close(t->name, t->data, ref, n, 1e-5, 0);
        compared++;
    }
    assert_true(compared > 100);
    mrnet_st_close(got);
    mrnet_st_close(io);
}

/* One workspace serves a batch of crops and a single long track of the same
 * total length: evaluating whole tracks after training allocates nothing. */
static void workspace_reuse(void **s)
{
    (void)s;
    mrnet_model *m = load("tests/golden/tiny_a.ckpt.safetensors");
    const mrnet_config *cfg = mrnet_model_config(m);
    assert_int_equal(mrnet_model_reserve(m, 4, 24), MRNET_OK);
    size_t bytes = mrnet_model_workspace_bytes(m);
    assert_true(bytes > 0);
    size_t n = (size_t)cfg->in_channels * cfg->n_layers * 96 * cfg->in_dim;
    float *x = malloc(n * sizeof(float)), logits[16];
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    assert_int_equal(mrnet_forward(m, x, 1, 96, false, NULL, logits), MRNET_OK);
    assert_int_equal(mrnet_model_workspace_bytes(m), bytes);
    assert_int_equal(mrnet_forward(m, x, 4, 24, true, NULL, NULL), MRNET_OK);
    assert_int_equal(mrnet_model_workspace_bytes(m), bytes);
        free(x);
    mrnet_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tiny_a_eval),       cmocka_unit_test(tiny_b_eval),
        cmocka_unit_test(tiny_c_eval),       cmocka_unit_test(tiny_a_train),
        cmocka_unit_test(tiny_b_train),      cmocka_unit_test(tiny_c_train),
        cmocka_unit_test(route_ablation),    cmocka_unit_test(gate),
        cmocka_unit_test(global_input_norm),
        cmocka_unit_test(release_checkpoint),
        cmocka_unit_test(adamw_golden),      cmocka_unit_test(schedule_golden),
        cmocka_unit_test(cli_train_step),    cmocka_unit_test(workspace_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
