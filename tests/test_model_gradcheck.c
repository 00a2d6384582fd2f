/* The whole model's backward against finite differences of its own forward,
 * in C, independent of the PyTorch golden files.
 *
 * L(theta) is the training-mode weighted cross entropy (dropout 0, batch
 * statistics) of a tiny model (D 4, S 2, L 2, C 32, E 6, K 3; B 4, T 16),
 * computed here in double from the float32 logits. Running statistics change
 * on every forward but training-mode outputs do not read them, so repeated
 * forwards evaluate the same function. C 32 rather than 16: with 16 the SE
 * bottleneck and the ASP hidden layer have one unit, often dead.
 *
 * Choosing h. L is piecewise smooth: thousands of ReLUs, and a parameter in
 * front of the network moves all of them, so a difference over [-h, h]
 * crosses kinks, with an error that shrinks only linearly in h (measured:
 * up to 10-20% at h = 1e-2 for w, fst_conv, block convs; 1-5% at 1e-4; a
 * kink within 3e-4 of theta gave 50% at every h above that). Below 1e-4,
 * float32 rounding of L (~1e-6) divided by 2h takes over. No single h suits
 * every tensor: each element tries h = 1e-2, 3e-3, 1e-3, 3e-4, 1e-4 (times
 * max(1, |theta|)), central and one-sided differences (a kink on one side
 * spoils that side, not the other, which the analytic gradient at theta
 * matches), and passes when one agrees within 2e-2 relative + NOISE_FLOOR.
 * w alone gets 1e-1 (see check_element) and an exact invariance check.
 *
 * Elements: in each of ~30 tensors across the network, the one with the
 * largest |gradient| and one drawn at random among those with a fifth of
 * that or more. Tensors on which L is flat (biases in front of a
 * training-mode BN or a softmax over time; w_all, whose scale bn5 removes
 * up to its eps) get a vanishing-gradient check instead.
 *
 * Strength (measured by corrupting the copied gradient of one tensor at a
 * time, 14 tensors): a sign flip or reversed element order fails every
 * time, a 10% scale error most times; smaller errors are the golden test's
 * job (float64 PyTorch). Robustness: 29 of 30 seeds pass (the 30th has a
 * dead SE unit, which the test reports as such).
 *
 * Also: the same with route M2 dropped (everything feeding only M2 has an
 * exactly zero gradient, and L does not move when it changes), the
 * after-norm route gate (w_all as non-uniform gate logits after bn5, one
 * route dropped), and gradients that do not depend on the OpenMP thread
 * count. */
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrnet/mrnet.h"
#include "tensor/rng.h"

enum { B = 4, T = 16 };

/* Absolute slack of a finite difference: L ~ 1 carries ~1e-6 of float32
 * rounding (measured: differences at h = 1e-5 scatter by ~1e-6 / 2h), so a
 * difference at h = 1e-3 is good to ~1e-3 at best. */
#define NOISE_FLOOR 1e-3

static const int labels[B] = {0, 2, 1, 2};
static const float class_weight[3] = {1.0f, 2.5f, 0.7f};

typedef struct {
    mrnet_model *m;
    float *x;
    float *grad; /* analytic, copied out */
    size_t n;
} fixture;

static mrnet_config tiny_config(void)
{
    mrnet_config cfg;
    mrnet_config_default(&cfg, 3);
    cfg.in_dim = 4;
    cfg.in_channels = 2;
    cfg.n_layers = 2;
    cfg.channels = 32; /* 16 leaves one unit per SE bottleneck, easily dead */
    cfg.embed = 6;
    return cfg;
}

/* Perturbs the identity-like initial values (w = w_all = 1, BN weight 1,
 * bias 0) so that no symmetry hides a wrong index. */
static void perturb(mrnet_model *m, uint64_t seed)
{
    for (int i = 0; i < mrnet_model_tensor_count(m); i++) {
        const mrnet_tensor_info *t = mrnet_model_tensor(m, i);
        if (t->kind != MRNET_TENSOR_PARAMETER)
            continue;
        bool mix = !strcmp(t->name, "w") || !strcmp(t->name, "w_all");
        bool bn_weight = t->ndim == 1 && strstr(t->name, "weight");
        bool bn_bias = t->ndim == 1 && strstr(t->name, "bias") &&
                       (strstr(t->name, "bn") || strstr(t->name, ".2.bias"));
        for (size_t k = 0; k < t->numel; k++) {
            if (mix || bn_weight)
                t->data[k] = rng_uniform_range(&seed, 0.5f, 1.5f);
            else if (bn_bias)
                t->data[k] = rng_uniform_range(&seed, -0.2f, 0.2f);
        }
    }
}

static fixture make_fixture(const mrnet_config *cfg, int Bn, int Tn, float dropout, uint64_t seed)
{
    fixture f = {0};
    assert_int_equal(mrnet_model_create(cfg, seed, &f.m), MRNET_OK);
    perturb(f.m, seed + 100);
    assert_int_equal(mrnet_model_set_dropout(f.m, dropout), MRNET_OK);
    assert_int_equal(mrnet_model_reserve(f.m, Bn, Tn), MRNET_OK);
    size_t nx = (size_t)Bn * cfg->in_channels * cfg->n_layers * Tn * cfg->in_dim;
    f.x = malloc(nx * sizeof *f.x);
    assert_non_null(f.x);
    uint64_t s = seed + 200;
    for (size_t k = 0; k < nx; k++)
        f.x[k] = rng_normal(&s);
    f.n = mrnet_model_param_count(f.m, true);
    f.grad = calloc(f.n, sizeof *f.grad);
    assert_non_null(f.grad);
    return f;
}

static void free_fixture(fixture *f)
{
    mrnet_model_free(f->m);
    free(f->x);
    free(f->grad);
}

/* Weighted CE of the training-mode logits, in double. */
static double loss_of(fixture *f)
{
    float logits[B * 3];
    assert_int_equal(mrnet_forward(f->m, f->x, B, T, true, NULL, logits), MRNET_OK);
    double num = 0, den = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + b * 3;
        double mx = z[0];
        for (int k = 1; k < 3; k++)
            mx = z[k] > mx ? z[k] : mx;
        double s = 0;
        for (int k = 0; k < 3; k++)
            s += exp(z[k] - mx);
        double nll = -(z[labels[b]] - mx - log(s));
        num += class_weight[labels[b]] * nll;
        den += class_weight[labels[b]];
    }
    return num / den;
}

/* Forward, backward, gradient copied to f->grad; checks the backward's loss
 * against loss_of. */
static void analytic(fixture *f)
{
    double ref = loss_of(f);
    assert_int_equal(mrnet_forward(f->m, f->x, B, T, true, NULL, NULL), MRNET_OK);
    double loss;
    assert_int_equal(mrnet_backward(f->m, labels, class_weight, &loss), MRNET_OK);
    if (!(fabs(loss - ref) <= 1e-6 * fabs(ref)))
        fail_msg("backward's loss %.9g differs from the forward's %.9g", loss, ref);
    memcpy(f->grad, mrnet_model_grads(f->m), f->n * sizeof *f->grad);
}

static double fd(fixture *f, float *p, double h)
{
    float v = *p;
    *p = (float)(v + h);
    double h_up = (double)*p - v; /* the step float32 actually took */
    double up = loss_of(f);
    *p = (float)(v - h);
    double h_down = v - (double)*p;
    double down = loss_of(f);
    *p = v;
    return (up - down) / (h_up + h_down);
}

static double max_abs_grad(const fixture *f)
{
    double m = 0;
    for (size_t k = 0; k < f->n; k++)
        m = fabs(f->grad[k]) > m ? fabs(f->grad[k]) : m;
    return m;
}

/* Checks element k of tensor t against the analytic gradient: central,
 * forward and backward differences at each step (a kink at distance d < h
 * on one side spoils the central difference and that side's, not the
 * other side's, which the analytic gradient, taken at theta, matches). */
static void check_element(fixture *f, const mrnet_tensor_info *t, size_t k)
{
    float *p = t->data + k;
    double g = f->grad[(size_t)(p - mrnet_model_params(f->m))];
    double scale = fabsf(*p) > 1 ? fabsf(*p) : 1;
    /* w mixes the input layers: a step moves every activation of the
     * network at once, the roughest direction there is (measured: the best
     * difference within 2-7% over 20 seeds). Its exact invariance is checked
     * in whole_model instead. */
    double rel = !strcmp(t->name, "w") ? 1e-1 : 2e-2;
    static const double steps[] = {1e-2, 3e-3, 1e-3, 3e-4, 1e-4};
    enum { N_STEPS = sizeof steps / sizeof steps[0] };
    double central[N_STEPS];
    float v = *p;
    double base = loss_of(f);
    for (int s = 0; s < N_STEPS; s++) {
        double h = steps[s] * scale;
        *p = (float)(v + h);
        double h_up = (double)*p - v, up = loss_of(f);
        *p = (float)(v - h);
        double h_down = v - (double)*p, down = loss_of(f);
        *p = v;
        double d[3] = {(up - down) / (h_up + h_down), (up - base) / h_up, (base - down) / h_down};
        central[s] = d[0];
        for (int i = 0; i < 3; i++)
            if (fabs(d[i] - g) <= rel * fabs(g) + NOISE_FLOOR)
                return;
    }
    fail_msg("%s[%zu]: analytic %.6e, central differences %.6e %.6e %.6e %.6e %.6e (h = 1e-2 "
             "... 1e-4), no one-sided difference closer",
             t->name, k, g, central[0], central[1], central[2], central[3], central[4]);
}

/* The largest-|g| element of each named tensor and one drawn at random
 * among those with at least a fifth of its |g| (smaller ones are mostly
 * float32 noise at any step). */
static int check_tensors(fixture *f, const char *const *names, uint64_t seed)
{
    double gmax = max_abs_grad(f);
    int checked = 0;
    for (int i = 0; names[i]; i++) {
        const mrnet_tensor_info *t = mrnet_model_find_tensor(f->m, names[i]);
        if (!t)
            fail_msg("no tensor '%s'", names[i]);
        assert_int_equal(t->kind, MRNET_TENSOR_PARAMETER);
        const float *g = f->grad + (t->data - mrnet_model_params(f->m));
        size_t top = 0;
        for (size_t k = 1; k < t->numel; k++)
            top = fabsf(g[k]) > fabsf(g[top]) ? k : top;
        if (!(fabsf(g[top]) > 1e-4 * gmax))
            fail_msg("%s: largest gradient %.3e, of %.3e in the model: a lost gradient?",
                     t->name, (double)g[top], gmax);
        check_element(f, t, top);
        size_t k = top;
        for (int tries = 0; tries < 1000; tries++) {
            k = (size_t)rng_below(&seed, t->numel);
            if (fabsf(g[k]) >= 0.2f * fabsf(g[top]))
                break;
        }
        check_element(f, t, k);
        checked += 2;
    }
    return checked;
}

static const char *const all_over[] = {
    "w",
    "fst_conv.weight",
    "fst_conv.bias",
    "fst_conv_bn.weight",
    "fst_conv_bn.bias",
    "conv_blocks.0.conv1.weight",
    "conv_blocks.0.bn1.weight",
    "conv_blocks.1.convs.0.weight",
    "conv_blocks.2.convs.6.bias",
    "conv_blocks.1.bns.3.bias",
    "conv_blocks.0.conv3.weight",
    "conv_blocks.2.bn3.weight",
    "conv_blocks.0.se.se_modules.1.1.weight",
    "conv_blocks.1.se.se_modules.2.3.bias",
    "conv_blocks.2.se.se_modules.0.3.weight",
    "conv_blocks.1.residual_conv.weight",
    "conv_blocks.2.residual_conv.bias",
    "reprocessing_convs.1.0.weight",
    "reprocessing_convs.2.2.weight",
    "r_global_conv.0.weight",
    "l_conv.2.bias",
    "att.0.attention.0.weight",
    "att.3.attention.2.weight",
    "att.6.attention.4.weight",
    "att.5.attention.0.bias",
    "bn5.weight",
    "fc6.weight",
    "bn6.weight",
    "head.fc1.weight",
    "head.bn1.weight",
    "head.bn1.bias",
    NULL,
};

/* Tensors on which L is flat: a bias right before a training-mode BN (or
 * shifted out by the next one), before the softmax over time, and w_all
 * (route j's pooled vector times w_all[j] goes straight into bn5). */
static const char *const flat[] = {"fc6.bias", "head.fc1.bias", "bn5.bias", "bn6.bias",
                                   "att.2.attention.4.bias", "w_all", NULL};

static void check_flat(fixture *f, const char *name, double gmax)
{
    const mrnet_tensor_info *t = mrnet_model_find_tensor(f->m, name);
    const float *g = f->grad + (t->data - mrnet_model_params(f->m));
    if (!(test_max_abs(g, t->numel) <= 1e-2 * gmax))
        fail_msg("%s: gradient %.3e should vanish (largest of the model %.3e)", t->name,
                 test_max_abs(g, t->numel), gmax);
    check_element(f, t, 0);
}

/* The finite-difference tests run ~2000 forwards of a model too small for
 * any op to go parallel; on a busy 2-core machine OpenMP's spinning
 * barriers still made two threads 20x slower than one (measured with
 * OMP_NUM_THREADS=2 under load 6). Threads are thread_count's business. */
static int one_thread(void **state)
{
    static int saved;
    saved = omp_get_max_threads();
    *state = &saved;
    omp_set_num_threads(1);
    return 0;
}

static int restore_threads(void **state)
{
    omp_set_num_threads(*(int *)*state);
    return 0;
}

static void whole_model(void **state)
{
    (void)state;
    mrnet_config cfg = tiny_config();
    fixture f = make_fixture(&cfg, B, T, 0.0f, 2);
    analytic(&f);
    double gmax = max_abs_grad(&f);
    int n = check_tensors(&f, all_over, 5);
    assert_true(n >= 40);
    for (int i = 0; flat[i]; i++)
        check_flat(&f, flat[i], gmax);
    /* The instance norm after the layer mix removes the scale of w (up to
     * its eps): sum_l w_l dL/dw_l = 0. */
    const mrnet_tensor_info *w = mrnet_model_find_tensor(f.m, "w");
    const float *gw = f.grad + (w->data - mrnet_model_params(f.m));
    double dot = 0, size = 0;
    for (size_t l = 0; l < w->numel; l++) {
        dot += (double)w->data[l] * gw[l];
        size += fabs((double)w->data[l] * gw[l]);
    }
    if (!(fabs(dot) <= 1e-3 * size))
        fail_msg("sum_l w_l dL/dw_l = %.3e, not ~0 (terms %.3e)", dot, size);
    /* The gradient buffer is overwritten, not accumulated. */
    assert_int_equal(mrnet_forward(f.m, f.x, B, T, true, NULL, NULL), MRNET_OK);
    assert_int_equal(mrnet_backward(f.m, labels, class_weight, NULL), MRNET_OK);
    assert_true(test_max_abs_diff(mrnet_model_grads(f.m), f.grad, f.n) <= 1e-6 * gmax);
    free_fixture(&f);
}

/* Global input standardisation: the fixed statistics are not parameters,
 * the layer mix w now has a scale that matters (no instance norm removes it),
 * and a model with mean m and std s on input x equals the instance-free
 * model on (x - m) / s. */
static void global_input_norm(void **state)
{
    (void)state;
    mrnet_config cfg = tiny_config();
    cfg.input_norm = MRNET_INPUT_NORM_GLOBAL;
    fixture f = make_fixture(&cfg, B, T, 0.0f, 5);
    mrnet_tensor_info *mean = (mrnet_tensor_info *)mrnet_model_find_tensor(f.m, "input_norm.mean");
    const mrnet_tensor_info *sd = mrnet_model_find_tensor(f.m, "input_norm.std");
    assert_non_null(mean);
    assert_non_null(sd);
    assert_int_equal(mean->kind, MRNET_TENSOR_RUNNING_STAT);
    assert_int_equal(mean->numel, (size_t)cfg.in_channels * cfg.n_layers * cfg.in_dim);
    uint64_t s = 9;
    for (size_t k = 0; k < mean->numel; k++) {
        mean->data[k] = rng_uniform_range(&s, -0.5f, 0.5f);
        sd->data[k] = rng_uniform_range(&s, 0.5f, 2.0f);
    }
    analytic(&f);
    double gmax = max_abs_grad(&f);
    assert_true(check_tensors(&f, all_over, 5) >= 40);
    for (int i = 0; flat[i]; i++)
        check_flat(&f, flat[i], gmax);
    /* the scale of w now acts: sum_l w_l dL/dw_l is not ~0 */
    const mrnet_tensor_info *w = mrnet_model_find_tensor(f.m, "w");
    const float *gw = f.grad + (w->data - mrnet_model_params(f.m));
    double dot = 0;
    for (size_t l = 0; l < w->numel; l++)
        dot += (double)w->data[l] * gw[l];
    assert_true(fabs(dot) > 1e-4 * gmax);

    /* equal to the same weights with (mean 0, std 1) on the standardised input */
    float got[B * 3], want[B * 3];
    assert_int_equal(mrnet_forward(f.m, f.x, B, T, false, NULL, got), MRNET_OK);
    size_t P = mean->numel, D = (size_t)cfg.in_dim, nx = (size_t)B * P * T;
    float *z = malloc(nx * sizeof *z);
    assert_non_null(z);
    for (size_t k = 0; k < nx; k++) { /* (B, S, L, T, D) */
        size_t d = k % D, plane = k / (D * T) % (P / D);
        z[k] = (f.x[k] - mean->data[plane * D + d]) / sd->data[plane * D + d];
    }
    for (size_t k = 0; k < P; k++) {
        mean->data[k] = 0.0f;
        sd->data[k] = 1.0f;
    }
    assert_int_equal(mrnet_forward(f.m, z, B, T, false, NULL, want), MRNET_OK);
    assert_true(test_max_abs_diff(got, want, B * 3) <= 1e-5);
    free(z);
    free_fixture(&f);
}

/* Why a random gain (a constant added to log features) cannot augment the
 * paper's model: its instance norm removes every row's level, so the
 * output does not move; with global standardisation it does. */
static void level_shift(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        mrnet_config cfg = tiny_config();
        cfg.n_layers = 1;
        cfg.input_norm = mode ? MRNET_INPUT_NORM_GLOBAL : MRNET_INPUT_NORM_INSTANCE;
        fixture f = make_fixture(&cfg, B, T, 0.0f, 31);
        size_t nx = (size_t)B * cfg.in_channels * T * cfg.in_dim;
        float a[B * 3], b[B * 3];
        assert_int_equal(mrnet_forward(f.m, f.x, B, T, false, NULL, a), MRNET_OK);
        for (size_t k = 0; k < nx; k++)
            f.x[k] += 0.7f;
        assert_int_equal(mrnet_forward(f.m, f.x, B, T, false, NULL, b), MRNET_OK);
        double diff = test_max_abs_diff(a, b, B * 3);
        if (mode == 0 && !(diff < 1e-4))
            fail_msg("instance norm: a level shift moved the logits by %g", diff);
        if (mode == 1 && !(diff > 1e-2))
            fail_msg("global norm: a level shift moved the logits by only %g", diff);
        free_fixture(&f);
    }
}

/* Route M2 (index 5) dropped: it is the reprocessing of block 1's third
 * channel group, so att.5, reprocessing_convs.1 and block 1's third SE group
 * feed nothing else. */
static void route_dropped(void **state)
{
    (void)state;
    mrnet_config cfg = tiny_config();
    fixture f = make_fixture(&cfg, B, T, 0.0f, 22);
    unsigned mask;
    assert_int_equal(mrnet_parse_routes("M2", &mask), MRNET_OK);
    assert_int_equal(mask, 1u << 5);
    assert_int_equal(mrnet_model_set_drop_routes(f.m, mask), MRNET_OK);
    analytic(&f);

    static const char *const dead_prefix[] = {"att.5.", "reprocessing_convs.1.",
                                              "conv_blocks.1.se.se_modules.2.", NULL};
    int n_dead = 0;
    for (int i = 0; i < mrnet_model_tensor_count(f.m); i++) {
        const mrnet_tensor_info *t = mrnet_model_tensor(f.m, i);
        if (t->kind != MRNET_TENSOR_PARAMETER)
            continue;
        bool dead = false;
        for (int d = 0; dead_prefix[d]; d++)
            dead |= !strncmp(t->name, dead_prefix[d], strlen(dead_prefix[d]));
        if (!dead)
            continue;
        n_dead++;
        const float *g = f.grad + (t->data - mrnet_model_params(f.m));
        for (size_t k = 0; k < t->numel; k++)
            if (g[k] != 0.0f)
                fail_msg("%s[%zu]: gradient %.3e, route M2 is dropped", t->name, k, (double)g[k]);
        /* The loss does not depend on it at all. */
        assert_true(fd(&f, t->data, 1e-2) == 0.0);
    }
    assert_int_equal(n_dead, 6 + 4 + 4);
    const mrnet_tensor_info *w_all = mrnet_model_find_tensor(f.m, "w_all");
    const float *gw = f.grad + (w_all->data - mrnet_model_params(f.m));
    assert_true(gw[5] == 0.0f);
    for (int j = 0; j < MRNET_ROUTES; j++)
        if (j != 5)
            assert_true(gw[j] != 0.0f);
    assert_true(fd(&f, w_all->data + 5, 1e-2) == 0.0);

    static const char *const alive[] = {
        "att.4.attention.0.bias", "att.4.attention.0.weight", "att.6.attention.2.bias",
        "reprocessing_convs.2.0.weight", "conv_blocks.1.se.se_modules.1.1.weight",
        "conv_blocks.1.conv3.weight", "r_global_conv.2.weight", "fc6.weight", "w", NULL};
    check_tensors(&f, alive, 9);
    free_fixture(&f);
}

/* The after-norm placement: w_all (perturbed to U(0.5, 1.5), a non-uniform
 * gate) is the logits of the gate R softmax(w_all) after bn5, with route L2
 * (index 1) dropped: left out of the softmax, so R = 6. The loss now depends
 * on every live logit; the gate's gradient sums to 0 over the live routes
 * (a softmax ignores a common shift), and the dropped logit has none. L2 is
 * block 1's first third, so all_over (no att.1, no SE group 0 of block 1)
 * keeps its meaning. */
static void after_norm(void **state)
{
    (void)state;
    mrnet_config cfg = tiny_config();
    cfg.route_weights = MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    fixture f = make_fixture(&cfg, B, T, 0.0f, 31);
    enum { DROPPED = 1 };
    assert_int_equal(mrnet_model_set_drop_routes(f.m, 1u << DROPPED), MRNET_OK);
    analytic(&f);
    double gmax = max_abs_grad(&f);
    assert_true(check_tensors(&f, all_over, 13) >= 40);
    static const char *const flat_after_norm[] = {"fc6.bias", "head.fc1.bias", "bn5.bias",
                                                  "bn6.bias", "att.2.attention.4.bias", NULL};
    for (int i = 0; flat_after_norm[i]; i++)
        check_flat(&f, flat_after_norm[i], gmax);

    const mrnet_tensor_info *a = mrnet_model_find_tensor(f.m, "w_all");
    const float *ga = f.grad + (a->data - mrnet_model_params(f.m));
    double sum = 0, size = 0, top = 0;
    for (int j = 0; j < MRNET_ROUTES; j++) {
        if (j == DROPPED)
            continue;
        if (!(fabsf(a->data[j] - a->data[0]) > 1e-3f || j == 0))
            fail_msg("w_all[%d] = w_all[0]: the gate is uniform, not what this case tests", j);
        check_element(&f, a, (size_t)j); /* every live logit */
        sum += ga[j];
        size += fabs(ga[j]);
        top = fabs(ga[j]) > top ? fabs(ga[j]) : top;
    }
    if (!(top > 1e-3 * gmax))
        fail_msg("w_all: largest gate gradient %.3e of %.3e in the model: the gate does not act",
                 top, gmax);
    if (!(fabs(sum) <= 1e-4 * size))
        fail_msg("sum of the live gate gradients %.3e, not ~0 (terms %.3e)", sum, size);
    assert_true(ga[DROPPED] == 0.0f);
    assert_true(fd(&f, a->data + DROPPED, 1e-1) == 0.0);
    free_fixture(&f);
}

/* Same training step at 1 and 2 threads: equal up to float reordering.
 * B 4, T 128, C 32, D 16 pass the parallel thresholds of the convolutions
 * and batch norms inside the blocks (3C, 8W = 96 channels: 49152 values)
 * and of the layer mix (32768). Dropout is on (its masks come from one
 * stream, whatever the threads).
 *
 * Tolerance: gradients within 1e-5 of the model's largest gradient (a
 * gradient much smaller than that comes out of cancellation, which turns
 * reordering noise into large relative error: measured up to 6e-5 of the
 * tensor's own largest value, 6e-6 of the model's, over six seeds; a race
 * or a lost partial sum would be off by a good part of the tensor);
 * running statistics within 1e-5 of max(their largest value, 0.1). */
static void thread_count(void **state)
{
    (void)state;
    mrnet_config cfg = tiny_config();
    cfg.in_dim = 16;
    enum { TB = 4, TT = 128 };
    float *grads[2], logits[2][TB * 3];
    double loss[2];
    int tl[TB] = {0, 1, 2, 1};
    int saved = omp_get_max_threads();
    mrnet_model *m[2];
    for (int r = 0; r < 2; r++) {
        fixture f = make_fixture(&cfg, TB, TT, 0.3f, 23);
        omp_set_num_threads(r + 1);
        mrnet_model_set_rng(f.m, 99);
        assert_int_equal(mrnet_forward(f.m, f.x, TB, TT, true, NULL, logits[r]), MRNET_OK);
        assert_int_equal(mrnet_backward(f.m, tl, class_weight, &loss[r]), MRNET_OK);
        grads[r] = malloc(f.n * sizeof(float));
        memcpy(grads[r], mrnet_model_grads(f.m), f.n * sizeof(float));
        m[r] = f.m;
        f.m = NULL;
        free(f.x);
        free(f.grad);
    }
    omp_set_num_threads(saved);

    assert_true(fabs(loss[0] - loss[1]) <= 1e-6 * fabs(loss[0]));
    assert_true(test_max_abs_diff(logits[0], logits[1], TB * 3) <=
                1e-5 * test_max_abs(logits[0], TB * 3));
    size_t n = mrnet_model_param_count(m[0], true);
    double gmax = test_max_abs(grads[0], n);
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < mrnet_model_tensor_count(m[0]); i++) {
        const mrnet_tensor_info *t = mrnet_model_tensor(m[0], i), *u = mrnet_model_tensor(m[1], i);
        if (t->kind == MRNET_TENSOR_COUNTER) {
            assert_int_equal(*t->count, *u->count);
            continue;
        }
        bool param = t->kind == MRNET_TENSOR_PARAMETER;
        const float *a = param ? grads[0] + (t->data - mrnet_model_params(m[0])) : t->data;
        const float *b = param ? grads[1] + (u->data - mrnet_model_params(m[1])) : u->data;
        double scale = param ? gmax : fmax(test_max_abs(a, t->numel), 0.1);
        double err = test_max_abs_diff(a, b, t->numel) / scale;
        if (err > worst) {
            worst = err;
            worst_name = t->name;
        }
    }
    if (!(worst <= 1e-5))
        fail_msg("%s differs by %.3e (relative) between 1 and 2 threads", worst_name, worst);
    for (int r = 0; r < 2; r++) {
        mrnet_model_free(m[r]);
        free(grads[r]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(whole_model, one_thread, restore_threads),
        cmocka_unit_test_setup_teardown(route_dropped, one_thread, restore_threads),
        cmocka_unit_test_setup_teardown(global_input_norm, one_thread, restore_threads),
        cmocka_unit_test_setup_teardown(level_shift, one_thread, restore_threads),
        cmocka_unit_test_setup_teardown(after_norm, one_thread, restore_threads),
        cmocka_unit_test(thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
