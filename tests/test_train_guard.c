/* Training never trusts its state file and never saves a diverged model
 * (docs/RELIABILITY.md): a crafted last.safetensors (every field of the
 * state out of range or inconsistent, NaN or negative optimizer moments) is
 * refused by --resume with a message naming the field or tensor, never read
 * out of bounds; a run whose weights or statistics become non-finite stops
 * with an error naming the epoch and leaves the last finite checkpoints,
 * which load and resume. Data: a tone store (safety_fixtures.h). */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safety_fixtures.h"

static const char *store;
static char base_last[600];

/* One epoch of a two-epoch recipe: last.safetensors is at epoch 2, batch 0. */
static int setup(void **state)
{
    (void)state;
    store = sx_make_store("tones", "store");
    mrnet_train_options o;
    sx_tiny_options(&o, test_path("base"), 1);
    mrnet_train_result r;
    if (mrnet_train(store, &o, &r) != MRNET_OK) {
        fprintf(stderr, "training: %s\n", mrnet_last_error());
        return -1;
    }
    snprintf(base_last, sizeof base_last, "%s/last.safetensors", test_path("base"));
    return 0;
}

/* The state JSON of the base run with one field set (value NULL: removed). */
static char *state_with(const char *field, cJSON *value)
{
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(base_last, &f), MRNET_OK);
    cJSON *j = cJSON_Parse(mrnet_st_meta(f, "train.state"));
    mrnet_st_close(f);
    assert_non_null(j);
    if (value)
        cJSON_ReplaceItemInObjectCaseSensitive(j, field, value);
    else
        cJSON_DeleteItemFromObjectCaseSensitive(j, field);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

/* Resumes a two-epoch run from a crafted state in a fresh folder: must fail
 * with `want`, the message naming each fragment. */
static void expect_refused(const char *name, const char *tensor, sx_edit_fn edit, void *ctx,
                           const char *state, mrnet_status want, ...)
{
    char dir[600], last[700];
    snprintf(dir, sizeof dir, "%s", test_path(name));
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(last, sizeof last, "%s/last.safetensors", dir);
    sx_rewrite(base_last, last, tensor, edit, ctx, state ? "train.state" : NULL, state);
    mrnet_train_options o;
    sx_tiny_options(&o, dir, 2);
    o.resume = true;
    mrnet_train_result r;
    mrnet_status st = mrnet_train(store, &o, &r);
    if (st != want)
        fail_msg("%s: status %s, expected %s: %s", name, mrnet_status_name(st), mrnet_status_name(want),
                 mrnet_last_error());
    va_list ap;
    va_start(ap, want);
    test_expect_fragments("message", mrnet_last_error(), ap);
    va_end(ap);
}

static void refuse_field(const char *name, const char *field, cJSON *value, const char *fragment)
{
    char *state = state_with(field, value);
    expect_refused(name, NULL, NULL, NULL, state, MRNET_ERR_FORMAT, fragment, "cannot resume", NULL);
    free(state);
}

/* The untouched state resumes: the checks refuse nothing a run writes. */
static void intact_state_resumes(void **state)
{
    (void)state;
    char dir[600], last[700];
    snprintf(dir, sizeof dir, "%s", test_path("intact"));
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(last, sizeof last, "%s/last.safetensors", dir);
    sx_rewrite(base_last, last, NULL, NULL, NULL, NULL, NULL);
    mrnet_train_options o;
    sx_tiny_options(&o, dir, 2);
    o.resume = true;
    mrnet_train_result r;
    if (mrnet_train(store, &o, &r) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    assert_int_equal(r.epochs_run, 2);
}

static void position_out_of_range(void **state)
{
    (void)state;
    refuse_field("nb_neg", "next_batch", cJSON_CreateNumber(-1), "'next_batch' is -1");
    refuse_field("nb_huge", "next_batch", cJSON_CreateNumber(1e30), "'next_batch'");
    refuse_field("nb_frac", "next_batch", cJSON_CreateNumber(0.5), "'next_batch'");
    refuse_field("nb_end", "next_batch", cJSON_CreateNumber(3), "'next_batch'"); /* 3 batches: 0..2 */
    refuse_field("nb_str", "next_batch", cJSON_CreateString("1"), "'next_batch' is missing or not a number");
    refuse_field("nb_gone", "next_batch", NULL, "'next_batch' is missing");
    refuse_field("ep_zero", "epoch", cJSON_CreateNumber(0), "'epoch'");
    refuse_field("ep_huge", "epoch", cJSON_CreateNumber(1e30), "'epoch'");
    refuse_field("ep_past", "epoch", cJSON_CreateNumber(4), "'epoch'"); /* --epochs 2 */
    refuse_field("seen_neg", "seen", cJSON_CreateNumber(-6), "'seen'");
    refuse_field("seen_odd", "seen", cJSON_CreateNumber(5), "seen");
    refuse_field("correct", "correct", cJSON_CreateNumber(1), "'correct'"); /* more than seen (0) */
    refuse_field("loss_neg", "loss_sum", cJSON_CreateNumber(-1), "'loss_sum'");
    /* a position the optimizer's step count contradicts: 1 batch run, 3 steps */
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(base_last, &f), MRNET_OK);
    cJSON *j = cJSON_Parse(mrnet_st_meta(f, "train.state"));
    mrnet_st_close(f);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "next_batch", cJSON_CreateNumber(1));
    cJSON_ReplaceItemInObjectCaseSensitive(j, "seen", cJSON_CreateNumber(6));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    expect_refused("steps", NULL, NULL, NULL, text, MRNET_ERR_FORMAT, "optim.step", NULL);
    free(text);
}

static void best_epoch_out_of_range(void **state)
{
    (void)state;
    refuse_field("be_huge", "best_epoch", cJSON_CreateNumber(1e10), "'best_epoch'");
    refuse_field("be_100", "best_epoch", cJSON_CreateNumber(100), "'best_epoch' is 100");
    refuse_field("be_neg", "best_epoch", cJSON_CreateNumber(-5), "'best_epoch' is -5");
    refuse_field("be_zero", "best_epoch", cJSON_CreateNumber(0), "'best_epoch'"); /* one epoch done */
    refuse_field("bm_two", "best_metric", cJSON_CreateNumber(2), "'best_metric'");
    refuse_field("bm_other", "best_metric", cJSON_CreateNumber(0.123), "best_metric 0.12");
}

static void history_malformed(void **state)
{
    (void)state;
    refuse_field("h_empty", "history", cJSON_CreateArray(), "history");
    cJSON *two = cJSON_CreateArray();
    for (int i = 0; i < 2; i++)
        cJSON_AddItemToArray(two, cJSON_CreateDoubleArray((double[]){1, 0.5, 1, 0.5, 0.5, 1e-3, 1}, 7));
    refuse_field("h_long", "history", two, "history");
    cJSON *bad = cJSON_CreateArray();
    cJSON_AddItemToArray(bad, cJSON_CreateDoubleArray((double[]){1, 7, 1, 0.5, 0.5, 1e-3, 1}, 7));
    refuse_field("h_acc", "history", bad, "history of epoch 1: train_accuracy");
    cJSON *shortrec = cJSON_CreateArray();
    cJSON_AddItemToArray(shortrec, cJSON_CreateDoubleArray((double[]){1, 0.5}, 2));
    refuse_field("h_short", "history", shortrec, "history of epoch 1");
}

static void set_at(float *data, int64_t n, void *ctx)
{
    assert_true(n > 5);
    data[5] = *(const float *)ctx;
}

static void non_finite_optimizer_state(void **state)
{
    (void)state;
    float nan = NAN, inf = INFINITY, neg = -1;
    expect_refused("m_nan", "optim.exp_avg", set_at, &nan, NULL, MRNET_ERR_NUMERIC, "optim.exp_avg",
                   "NaN", "at 5", "parameter '", NULL);
    expect_refused("v_neg", "optim.exp_avg_sq", set_at, &neg, NULL, MRNET_ERR_NUMERIC,
                   "optim.exp_avg_sq", "negative", NULL);
    expect_refused("vmax_inf", "optim.max_exp_avg_sq", set_at, &inf, NULL, MRNET_ERR_NUMERIC,
                   "optim.max_exp_avg_sq", "infinity", NULL);
    /* a parameter: refused by the checkpoint loader, naming it */
    expect_refused("p_nan", "fst_conv.weight", set_at, &nan, NULL, MRNET_ERR_NUMERIC, "fst_conv.weight",
                   NULL);
}

/* A learning rate that explodes in epoch 2 (cosine restarts each epoch, from
 * 1e-3 to 1e4): the weights or statistics go non-finite while ReLU can keep
 * the loss finite. The run must fail naming epoch 2 and leave epoch 1's
 * checkpoints, loadable and resumable. */
static void diverging_run_stops(void **state)
{
    (void)state;
    mrnet_train_options o;
    sx_tiny_options(&o, test_path("diverge"), 3);
    o.lr_max = 1e-3;
    o.lr_min = 1e4;
    o.restart_epochs = 1;
    mrnet_train_result r;
    mrnet_status st = mrnet_train(store, &o, &r);
    if (st != MRNET_ERR_NUMERIC)
        fail_msg("status %s: %s", mrnet_status_name(st), mrnet_last_error());
    if (!strstr(mrnet_last_error(), "epoch 2"))
        fail_msg("message does not name epoch 2: %s", mrnet_last_error());
    const char *files[2] = {"best.safetensors", "last.safetensors"};
    for (int i = 0; i < 2; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", test_path("diverge"), files[i]);
        mrnet_model *m;
        if (mrnet_model_load(p, 0, &m) != MRNET_OK)
            fail_msg("%s", mrnet_last_error());
        mrnet_model_free(m);
    }
    char log[700];
    snprintf(log, sizeof log, "%s/log.jsonl", test_path("diverge"));
    const char *text = sx_read(log);
    assert_non_null(strstr(text, "\"epoch\":1,"));
    assert_null(strstr(text, "\"epoch\":2,"));
    /* the state is good: resuming replays epoch 2 and fails the same way */
    o.resume = true;
    st = mrnet_train(store, &o, &r);
    if (st != MRNET_ERR_NUMERIC || !strstr(mrnet_last_error(), "epoch 2"))
        fail_msg("resume: status %s: %s", mrnet_status_name(st), mrnet_last_error());
    /* and the command line exits non-zero */
    EXPECT_RUN(sx_run("", "train '%s' -o '%s' --epochs 3 --batch 6 --channels 16 --embed 8 "
                      "--crop-seconds 1 --seed 7 --quiet --lr 1e-3 --lr-min 1e4 --restart-epochs 1",
                      store, test_path("diverge_cli")),
               1, sx_err(), "epoch 2", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(intact_state_resumes),
        cmocka_unit_test(position_out_of_range),
        cmocka_unit_test(best_epoch_out_of_range),
        cmocka_unit_test(history_malformed),
        cmocka_unit_test(non_finite_optimizer_state),
        cmocka_unit_test(diverging_run_stops),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
