/* The two placements of the route weights w_all (mrnet_config.route_weights):
 *
 *   - paper (the default): w_all scales each route before bn5, which takes
 *     the scale out again: in training mode (batch statistics) scaling w_all
 *     moves the logits only through bn5's eps;
 *   - after-norm: a gate R softmax(w_all) after bn5 acts on the logits; at
 *     its initial uniform logits (0) it is exactly the identity, so the
 *     model computes bit for bit what a paper model with w_all = 1 computes.
 *
 * Also: what mrnet_model_route_weights reports, weight decay skipping the
 * gate logits, the configuration's JSON form and validation. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrnet/mrnet.h"
#include "tensor/rng.h"
#include "tensor/safetensors.h"

enum { B = 4, T = 16, K = 3 };

static mrnet_config tiny_config(int route_weights)
{
    mrnet_config cfg;
    mrnet_config_default(&cfg, K);
    cfg.in_dim = 4;
    cfg.in_channels = 2;
    cfg.n_layers = 2;
    cfg.channels = 32;
    cfg.embed = 6;
    cfg.route_weights = route_weights;
    return cfg;
}

static mrnet_model *tiny_model(int route_weights, uint64_t seed)
{
    mrnet_config cfg = tiny_config(route_weights);
    mrnet_model *m;
    if (mrnet_model_create(&cfg, seed, &m) != MRNET_OK)
        fail_msg("create: %s", mrnet_last_error());
    assert_int_equal(mrnet_model_set_dropout(m, 0), MRNET_OK);
    return m;
}

static float *tiny_input(uint64_t seed)
{
    size_t n = (size_t)B * 2 * 2 * T * 4;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t k = 0; k < n; k++)
        x[k] = rng_normal(&seed);
    return x;
}

static float *w_all(mrnet_model *m)
{
    const mrnet_tensor_info *t = mrnet_model_find_tensor(m, "w_all");
    assert_non_null(t);
    assert_int_equal(t->numel, MRNET_ROUTES);
    return t->data;
}

/* Training-mode logits (batch statistics). */
static void train_logits(mrnet_model *m, const float *x, float *logits)
{
    if (mrnet_forward(m, x, B, T, true, NULL, logits) != MRNET_OK)
        fail_msg("forward: %s", mrnet_last_error());
}

/* The initial after-norm model (logits 0, gate 1) and a paper model of the
 * same seed (w_all 1, everything else equal) compute the same bits: the
 * embedding and logits in both modes, and every gradient but w_all's. */
static void uniform_gate_is_identity(void **state)
{
    (void)state;
    mrnet_model *paper = tiny_model(MRNET_ROUTE_WEIGHTS_PAPER, 5);
    mrnet_model *gated = tiny_model(MRNET_ROUTE_WEIGHTS_AFTER_NORM, 5);
    for (int j = 0; j < MRNET_ROUTES; j++) {
        assert_true(w_all(paper)[j] == 1.0f);
        assert_true(w_all(gated)[j] == 0.0f);
        assert_true(mrnet_model_route_weights(gated)[j] == 1.0f);
    }
    float *x = tiny_input(9);
    for (int train = 0; train < 2; train++) {
        float ea[B * 6], eb[B * 6], la[B * K], lb[B * K];
        assert_int_equal(mrnet_forward(paper, x, B, T, train, ea, la), MRNET_OK);
        assert_int_equal(mrnet_forward(gated, x, B, T, train, eb, lb), MRNET_OK);
        assert_memory_equal(ea, eb, sizeof ea);
        assert_memory_equal(la, lb, sizeof la);
    }
    const int labels[B] = {0, 2, 1, 2};
    double loss_a, loss_b;
    assert_int_equal(mrnet_backward(paper, labels, NULL, &loss_a), MRNET_OK);
    assert_int_equal(mrnet_backward(gated, labels, NULL, &loss_b), MRNET_OK);
    assert_true(loss_a == loss_b);
    int compared = 0;
    for (int i = 0; i < mrnet_model_tensor_count(paper); i++) {
        const mrnet_tensor_info *a = mrnet_model_tensor(paper, i), *b = mrnet_model_tensor(gated, i);
        assert_string_equal(a->name, b->name);
        if (a->kind != MRNET_TENSOR_PARAMETER || !strcmp(a->name, "w_all"))
            continue;
        if (memcmp(a->grad, b->grad, a->numel * sizeof(float)) != 0)
            fail_msg("%s: gradient differs between paper (w_all 1) and uniform after-norm", a->name);
        compared++;
    }
    assert_true(compared > 100);
    /* the gate still learns from the uniform point */
    const float *g = mrnet_model_find_tensor(gated, "w_all")->grad;
    assert_true(test_max_abs(g, MRNET_ROUTES) > 0);
    free(x);
    mrnet_model_free(paper);
    mrnet_model_free(gated);
}

/* max |a - b| / max |a| of two logit sets. */
static double relative_change(const float *a, const float *b)
{
    return test_max_abs_diff(a, b, B * K) / test_max_abs(a, B * K);
}

/* Paper: w_all[j] = c scales route j before bn5, which divides by
 * sqrt(c^2 var + eps): the same as c = 1 with eps / c^2. So the logits do
 * move (a tiny random model has pooled features of small batch variance,
 * where eps counts: measured 5e-4 to 5e-2 relative for c = 0.5 / 2 over five
 * seeds), but only through eps: as c grows they converge, the change from
 * c = 100 to 1000 falling like 1/c^2 (measured 2e-7 to 5e-6). After-norm:
 * moving one gate logit by 1 is a change of the model, at any scale of the
 * pooled features. */
static void where_the_weights_act(void **state)
{
    (void)state;
    float *x = tiny_input(11);
    float base[B * K], moved[B * K];
    mrnet_model *m = tiny_model(MRNET_ROUTE_WEIGHTS_PAPER, 6);
    float *w = w_all(m);
    train_logits(m, x, base);
    for (int j = 0; j < MRNET_ROUTES; j++)
        w[j] = j % 2 ? 2.0f : 0.5f;
    train_logits(m, x, moved);
    double mixed = relative_change(base, moved);
    for (int j = 0; j < MRNET_ROUTES; j++)
        w[j] *= 100.0f;
    train_logits(m, x, base);
    for (int j = 0; j < MRNET_ROUTES; j++)
        w[j] *= 10.0f;
    train_logits(m, x, moved);
    double large = relative_change(base, moved);
    mrnet_model_free(m);

    m = tiny_model(MRNET_ROUTE_WEIGHTS_AFTER_NORM, 6);
    w = w_all(m);
    train_logits(m, x, base);
    w[3] += 1.0f;
    const float *gate = mrnet_model_route_weights(m);
    double sum = 0;
    for (int j = 0; j < MRNET_ROUTES; j++)
        sum += gate[j];
    assert_true(fabs(sum - MRNET_ROUTES) < 1e-5);
    assert_true(gate[3] > 2.0f && gate[0] < 1.0f);
    train_logits(m, x, moved);
    double gated = relative_change(base, moved);
    mrnet_model_free(m);
    printf("# relative change of the training-mode logits: paper w_all 0.5/2 %.2e, x100 -> x1000 "
           "%.2e; after-norm one logit + 1: %.2e\n",
           mixed, large, gated);
    if (!(large < 1e-4 && large < 1e-2 * mixed))
        fail_msg("paper: w_all x100 -> x1000 moved the logits by %.3e (relative; %.3e at 0.5/2): "
                 "not only through bn5's eps",
                 large, mixed);
    if (!(gated > 1e-2))
        fail_msg("after-norm: a gate logit + 1 moved the logits by only %.3e (relative)", gated);
    free(x);
}

/* A dropped route has gate 0 and is left out of the softmax: the gate sums
 * to the live routes, its logit does not matter, and for uniform logits
 * every live route gets 1. */
static void dropped_route_gate(void **state)
{
    (void)state;
    mrnet_model *m = tiny_model(MRNET_ROUTE_WEIGHTS_AFTER_NORM, 7);
    assert_int_equal(mrnet_model_set_drop_routes(m, 1u << 4), MRNET_OK);
    const float *gate = mrnet_model_route_weights(m);
    for (int j = 0; j < MRNET_ROUTES; j++)
        assert_true(gate[j] == (j == 4 ? 0.0f : 1.0f));
    float *w = w_all(m);
    for (int j = 0; j < MRNET_ROUTES; j++)
        w[j] = 0.3f * (float)j;
    float *x = tiny_input(12);
    float a[B * K], b[B * K];
    train_logits(m, x, a);
    w[4] = 50.0f; /* would take the whole softmax if it counted */
    train_logits(m, x, b);
    assert_memory_equal(a, b, sizeof a);
    gate = mrnet_model_route_weights(m);
    double sum = 0;
    for (int j = 0; j < MRNET_ROUTES; j++)
        sum += gate[j];
    assert_true(gate[4] == 0.0f);
    assert_true(fabs(sum - (MRNET_ROUTES - 1)) < 1e-5);
    assert_true(gate[6] > gate[5] && gate[5] > gate[3]);
    free(x);
    mrnet_model_free(m);
}

/* AdamW leaves the after-norm gate logits out of weight decay and decays
 * every other parameter, and the paper's w_all like all of them. */
static void gate_logits_not_decayed(void **state)
{
    (void)state;
    const double lr = 0.1, wd = 0.5;
    for (int mode = 0; mode < 2; mode++) {
        mrnet_model *m = tiny_model(mode, 8);
        size_t n = mrnet_model_param_count(m, true);
        float *w = w_all(m);
        for (int j = 0; j < MRNET_ROUTES; j++)
            w[j] = 0.25f * (float)(j + 1);
        const mrnet_tensor_info *fc6 = mrnet_model_find_tensor(m, "fc6.weight");
        assert_true(mrnet_model_find_tensor(m, "w_all")->no_decay == (mode == 1));
        assert_false(fc6->no_decay);
        float before_w[MRNET_ROUTES], before_fc6 = fc6->data[3];
        memcpy(before_w, w, sizeof before_w);
        mrnet_adamw *opt;
        assert_int_equal(mrnet_adamw_create(n, 0.9, 0.999, 1e-8, wd, true, &opt), MRNET_OK);
        assert_int_equal(mrnet_adamw_set_no_decay(opt, m), MRNET_OK);
        memset(mrnet_model_grads(m), 0, n * sizeof(float)); /* decay alone moves them */
        mrnet_adamw_step(opt, mrnet_model_params(m), mrnet_model_grads(m), lr);
        float decay = (float)(1.0 - lr * wd);
        for (int j = 0; j < MRNET_ROUTES; j++)
            assert_true(w[j] == (mode == 1 ? before_w[j] : before_w[j] * decay));
        assert_true(fc6->data[3] == before_fc6 * decay);
        mrnet_adamw_free(opt);
        /* an optimizer of another size is refused */
        assert_int_equal(mrnet_adamw_create(n - 1, 0.9, 0.999, 1e-8, wd, true, &opt), MRNET_OK);
        assert_int_equal(mrnet_adamw_set_no_decay(opt, m), MRNET_ERR_SHAPE);
        assert_non_null(strstr(mrnet_last_error(), "parameters"));
        mrnet_adamw_free(opt);
        mrnet_model_free(m);
    }
}

static void expect_config_error(const char *json, mrnet_status want, const char *fragment)
{
    mrnet_config cfg = tiny_config(0);
    mrnet_status st = mrnet_config_from_json(json, &cfg);
    if (st != want)
        fail_msg("%s: %s, expected %s (%s)", json, mrnet_status_name(st), mrnet_status_name(want),
                 mrnet_last_error());
    if (!strstr(mrnet_last_error(), fragment))
        fail_msg("%s: message '%s' does not name '%s'", json, mrnet_last_error(), fragment);
}

/* The JSON form: absent for the paper (as before the field), 1 for
 * after-norm; anything but 0 or 1 refused naming the field. */
static void config_json(void **state)
{
    (void)state;
    char json[512];
    mrnet_config cfg = tiny_config(MRNET_ROUTE_WEIGHTS_PAPER), back;
    assert_int_equal(mrnet_config_to_json(&cfg, json, sizeof json), MRNET_OK);
    assert_null(strstr(json, "route_weights"));
    mrnet_config_default(&back, 0);
    back.route_weights = MRNET_ROUTE_WEIGHTS_AFTER_NORM; /* absent: left as it is */
    assert_int_equal(mrnet_config_from_json(json, &back), MRNET_OK);
    assert_int_equal(back.route_weights, MRNET_ROUTE_WEIGHTS_AFTER_NORM);
    mrnet_config_default(&back, 0);
    assert_int_equal(mrnet_config_from_json(json, &back), MRNET_OK);
    assert_int_equal(back.route_weights, MRNET_ROUTE_WEIGHTS_PAPER);

    cfg.route_weights = MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    assert_int_equal(mrnet_config_to_json(&cfg, json, sizeof json), MRNET_OK);
    assert_non_null(strstr(json, "\"route_weights\":1}"));
    mrnet_config_default(&back, 0);
    assert_int_equal(mrnet_config_from_json(json, &back), MRNET_OK);
    assert_memory_equal(&back, &cfg, sizeof cfg);

    expect_config_error("{\"route_weights\":2}", MRNET_ERR_ARG, "route_weights");
    expect_config_error("{\"route_weights\":-1}", MRNET_ERR_ARG, "route_weights");
    expect_config_error("{\"route_weights\":\"x\"}", MRNET_ERR_FORMAT, "route_weights");
    expect_config_error("{\"route_weights\":0.5}", MRNET_ERR_FORMAT, "route_weights");
    cfg.route_weights = 2;
    assert_int_equal(mrnet_config_validate(&cfg), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "route_weights = 2"));
    mrnet_model *m;
    assert_int_equal(mrnet_model_create(&cfg, 1, &m), MRNET_ERR_ARG);

    int mode = -1;
    assert_int_equal(mrnet_route_weights_parse("after-norm", &mode), MRNET_OK);
    assert_int_equal(mode, MRNET_ROUTE_WEIGHTS_AFTER_NORM);
    assert_int_equal(mrnet_route_weights_parse("paper", &mode), MRNET_OK);
    assert_int_equal(mode, MRNET_ROUTE_WEIGHTS_PAPER);
    assert_int_equal(mrnet_route_weights_parse("After-Norm", &mode), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "paper, after-norm"));
    assert_string_equal(mrnet_route_weights_name(MRNET_ROUTE_WEIGHTS_AFTER_NORM), "after-norm");
    assert_string_equal(mrnet_route_weights_name(MRNET_ROUTE_WEIGHTS_PAPER), "paper");
    assert_string_equal(mrnet_route_weights_name(7), "?");
}

/* A saved after-norm model loads as one (format 2), with its logits and the
 * same outputs; a paper model's file is as before (format 1, no key). */
static void checkpoint_round_trip(void **state)
{
    (void)state;
    float *x = tiny_input(13);
    for (int mode = 0; mode < 2; mode++) {
        mrnet_model *m = tiny_model(mode, 9);
        float *w = w_all(m);
        for (int j = 0; j < MRNET_ROUTES; j++)
            w[j] = 0.1f * (float)(j * j) - 0.7f;
        const char *path = test_path(mode ? "after.safetensors" : "paper.safetensors");
        assert_int_equal(mrnet_model_save(m, path, NULL), MRNET_OK);
        mrnet_st_file *f;
        assert_int_equal(mrnet_st_open(path, &f), MRNET_OK);
        assert_string_equal(mrnet_st_meta(f, "mrnet.format"), mode ? "2" : "1");
        assert_true((strstr(mrnet_st_meta(f, "mrnet.config"), "route_weights") != NULL) == mode);
        mrnet_st_close(f);
        mrnet_model *back;
        if (mrnet_model_load(path, 0, &back) != MRNET_OK)
            fail_msg("load %s: %s", path, mrnet_last_error());
        assert_int_equal(mrnet_model_config(back)->route_weights, mode);
        assert_true(mrnet_model_find_tensor(back, "w_all")->no_decay == mode);
        assert_memory_equal(w_all(back), w, MRNET_ROUTES * sizeof(float));
        assert_memory_equal(mrnet_model_route_weights(back), mrnet_model_route_weights(m),
                            MRNET_ROUTES * sizeof(float));
        float a[B * K], b[B * K];
        assert_int_equal(mrnet_forward(m, x, B, T, false, NULL, a), MRNET_OK);
        assert_int_equal(mrnet_forward(back, x, B, T, false, NULL, b), MRNET_OK);
        assert_memory_equal(a, b, sizeof a);
        mrnet_model_free(back);
        mrnet_model_free(m);
    }
    /* files from before the field: the paper's placement */
    mrnet_model *old;
    assert_int_equal(mrnet_model_load(test_source_path("tests/golden/tiny_a.ckpt.safetensors"), 0,
                                      &old),
                     MRNET_OK);
    assert_int_equal(mrnet_model_config(old)->route_weights, MRNET_ROUTE_WEIGHTS_PAPER);
    assert_false(mrnet_model_find_tensor(old, "w_all")->no_decay);
    mrnet_model_free(old);
    free(x);
}

/* mrnet info and mrnet routes say which placement a checkpoint uses and show
 * the gate for an after-norm one. */
static void cli_shows_placement(void **state)
{
    (void)state;
    mrnet_model *m = tiny_model(MRNET_ROUTE_WEIGHTS_AFTER_NORM, 10);
    float *w = w_all(m);
    w[0] = logf(2.0f); /* gate: 7 * 2/8 = 1.75 for L1, 7/8 = 0.875 for the rest */
    const char *path = test_path("cli_after.safetensors");
    assert_int_equal(mrnet_model_save(m, path, NULL), MRNET_OK);
    mrnet_model_free(m);
    m = tiny_model(MRNET_ROUTE_WEIGHTS_PAPER, 10);
    const char *paper = test_path("cli_paper.safetensors");
    assert_int_equal(mrnet_model_save(m, paper, NULL), MRNET_OK);
    mrnet_model_free(m);

    CLI_EXPECT(0, "routes '%s'", path);
    const char *out = test_cli_output();
    assert_non_null(strstr(out, "placement after-norm"));
    assert_non_null(strstr(out, "1.75000"));
    assert_non_null(strstr(out, "0.87500"));
    CLI_EXPECT(0, "routes '%s' '%s' --names gate,paper", path, paper);
    out = test_cli_output();
    assert_non_null(strstr(out, "gate: placement after-norm"));
    assert_non_null(strstr(out, "paper: placement paper"));
    CLI_EXPECT(0, "info '%s'", path);
    out = test_cli_output();
    assert_non_null(strstr(out, "format       2"));
    assert_non_null(strstr(out, "route weights after-norm"));
    assert_non_null(strstr(out, "1.75000"));
    CLI_EXPECT(0, "info '%s'", paper);
    assert_non_null(strstr(test_cli_output(), "route weights paper"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uniform_gate_is_identity), cmocka_unit_test(where_the_weights_act),
        cmocka_unit_test(dropped_route_gate),       cmocka_unit_test(gate_logits_not_decayed),
        cmocka_unit_test(config_json),              cmocka_unit_test(checkpoint_round_trip),
        cmocka_unit_test(cli_shows_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
