/* Saving, resuming and reporting a training run: the state in
 * last.safetensors, the log and the curve, all rewritten atomically from the
 * run's history. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "plot/svg.h"
#include "tensor/error.h"
#include "tensor/fileio.h"
#include "infer/infer.h"
#include "train/train_state.h"
#include "train/trainer_internal.h"

/* The options a resumed run must share with the interrupted one. */
cJSON *trainer_options_json(const trainer *t)
{
    const mrnet_train_options *o = t->opt;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "valid_fold", o->valid_fold);
    cJSON_AddNumberToObject(j, "crop_frames", (double)t->crop);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    cJSON_AddNumberToObject(j, "lr_max", o->lr_max);
    cJSON_AddNumberToObject(j, "lr_min", o->lr_min);
    /* the effective T_0: a one-cycle run (0) resumed with other --epochs
     * would change its schedule, and is refused */
    cJSON_AddNumberToObject(j, "restart_epochs", (double)trainer_restart_epochs(o));
    cJSON_AddNumberToObject(j, "restart_mult", (double)o->restart_mult);
    cJSON_AddNumberToObject(j, "weight_decay", o->weight_decay);
    cJSON_AddNumberToObject(j, "dropout", o->dropout);
    cJSON_AddBoolToObject(j, "class_weights", o->class_weights);
    cJSON_AddBoolToObject(j, "noise", o->noise);
    cJSON_AddBoolToObject(j, "noise_per_example", o->noise_per_example);
    cJSON_AddNumberToObject(j, "drop_routes", o->drop_routes);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "n_train", t->n_train);
    cJSON_AddNumberToObject(j, "n_valid", t->n_valid);
    cJSON_AddStringToObject(j, "noise_place", "features");
    cJSON_AddBoolToObject(j, "select_macro_f1", o->select_macro_f1);
    cJSON_AddStringToObject(j, "valid_view", mrnet_view_name(o->valid_view));
    if (t->n_held_out) /* only then: runs from before the hold-out still resume */
        cJSON_AddNumberToObject(j, "valid_holdout", o->valid_holdout);
    /* beyond the paper: recorded when used, so paper runs resume as before */
    if (o->input_norm != MRNET_INPUT_NORM_INSTANCE)
        cJSON_AddStringToObject(j, "input_norm", mrnet_input_norm_name(o->input_norm));
    if (o->ema_decay > 0)
        cJSON_AddNumberToObject(j, "ema_decay", o->ema_decay);
    if (o->crops_by_duration)
        cJSON_AddNumberToObject(j, "epoch_crops", t->n_epoch_items);
    if (o->time_masks > 0 && t->mask_frames > 0) {
        cJSON_AddNumberToObject(j, "time_masks", o->time_masks);
        cJSON_AddNumberToObject(j, "time_mask_frames", (double)t->mask_frames);
    }
    if (o->freq_masks > 0 && o->freq_mask_bands > 0) {
        cJSON_AddNumberToObject(j, "freq_masks", o->freq_masks);
        cJSON_AddNumberToObject(j, "freq_mask_bands", o->freq_mask_bands);
    }
    if (o->mixup_alpha > 0)
        cJSON_AddNumberToObject(j, "mixup_alpha", o->mixup_alpha);
    if (o->label_smoothing > 0)
        cJSON_AddNumberToObject(j, "label_smoothing", o->label_smoothing);
    if (o->route_weights != MRNET_ROUTE_WEIGHTS_PAPER) /* likewise: older states are paper */
        cJSON_AddStringToObject(j, "route_weights", mrnet_route_weights_name(o->route_weights));
    return j;
}

cJSON *trainer_model_card(const trainer *t, const epoch_record *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "card_format", 1);
    if (t->opt->task && t->opt->task[0])
        cJSON_AddStringToObject(j, "task", t->opt->task);
    cJSON_AddStringToObject(j, "mrnet_version", mrnet_version());
    char when[32];
    time_t now = time(NULL);
    struct tm utc;
    if (gmtime_r(&now, &utc) && strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc))
        cJSON_AddStringToObject(j, "created", when);
    cJSON_AddStringToObject(j, "store", t->store_path);
    cJSON *classes = cJSON_AddArrayToObject(j, "classes");
    for (int k = 0; k < t->n_labels; k++) {
        long train = 0, valid = 0;
        for (int i = 0; i < t->n_train; i++)
            train += mrnet_store_get(t->store, t->train[i])->label_index == k;
        for (int i = 0; i < t->n_valid; i++)
            valid += mrnet_store_get(t->store, t->valid[i])->label_index == k;
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "label", t->labels[k]);
        cJSON_AddNumberToObject(c, "train", (double)train);
        cJSON_AddNumberToObject(c, "valid", (double)valid);
        cJSON_AddItemToArray(classes, c);
    }
    cJSON_AddNumberToObject(j, "n_train", t->n_train);
    cJSON_AddNumberToObject(j, "n_valid", t->n_valid);
    if (t->n_held_out)
        cJSON_AddNumberToObject(j, "valid_held_out_of_train", t->n_held_out);
    cJSON_AddNumberToObject(j, "epoch", t->epoch);
    cJSON_AddNumberToObject(j, "epochs", t->opt->epochs);
    cJSON *v = cJSON_AddObjectToObject(j, "valid");
    if (t->n_valid) {
        cJSON_AddNumberToObject(v, "accuracy", r->valid_acc);
        cJSON_AddNumberToObject(v, "macro_f1", r->valid_f1);
        cJSON_AddNumberToObject(v, "loss", r->valid_loss);
        cJSON_AddStringToObject(v, "view", mrnet_view_name(t->opt->valid_view));
    }
    cJSON_AddNumberToObject(j, "train_accuracy", r->train_acc);
    cJSON_AddStringToObject(j, "selected_by", !t->n_valid ? "training accuracy"
                                              : t->opt->select_macro_f1 ? "validation macro-F1"
                                                                        : "validation accuracy");
    return j;
}

/* The loop position and history. The random streams need no saving: each
 * batch derives its own from the seed and its position (trainer.c). */
static cJSON *state_json(const trainer *t)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "epoch", t->epoch);
    cJSON_AddNumberToObject(j, "next_batch", t->next_batch);
    cJSON_AddNumberToObject(j, "loss_sum", t->loss_sum);
    cJSON_AddNumberToObject(j, "correct", (double)t->correct);
    cJSON_AddNumberToObject(j, "seen", (double)t->seen);
    cJSON_AddNumberToObject(j, "best_epoch", t->best_epoch);
    cJSON_AddNumberToObject(j, "best_metric", t->best_metric);
    cJSON *h = cJSON_AddArrayToObject(j, "history");
    for (int i = 0; i < t->n_history; i++) {
        const epoch_record *r = &t->history[i];
        double v[7] = {r->train_loss, r->train_acc, r->valid_loss, r->valid_acc, r->valid_f1,
                       r->lr, r->seconds};
        cJSON_AddItemToArray(h, cJSON_CreateDoubleArray(v, 7));
    }
    cJSON_AddItemToObject(j, "options", trainer_options_json(t));
    return j;
}

/* ---- checking a state before use ----------------------------------------------
 * A state file comes from disk: every number is checked against the store and
 * the options before it indexes anything (a crafted next_batch or best_epoch
 * would read outside the shuffled order or the history). */

static int batch_size(const trainer *t)
{
    return t->opt->batch < t->n_epoch_items ? t->opt->batch : t->n_epoch_items;
}

/* A number of the state in [lo, hi] (an integer when integral), or an error naming it. */
static mrnet_status state_number(const trainer *t, const cJSON *j, const char *key, double lo,
                                 double hi, bool integral, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: cannot resume: training state field '%s' is missing "
                          "or not a number", t->path_last, key);
    double x = v->valuedouble;
    if (!(x >= lo && x <= hi) || (integral && x != floor(x)))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: cannot resume: training state field '%s' is %.17g, "
                          "not %s in [%.17g, %.17g]", t->path_last, key, x,
                          integral ? "an integer" : "a number", lo, hi);
    *out = x;
    return MRNET_OK;
}

/* One epoch of history: 7 numbers (validation figures null without a
 * validation set), each in its range. */
static mrnet_status history_record(const trainer *t, const cJSON *item, int epoch, epoch_record *r)
{
    static const char *const names[7] = {"train_loss", "train_accuracy", "valid_loss", "valid_accuracy",
                                         "valid_macro_f1", "lr", "seconds"};
    static const double hi[7] = {HUGE_VAL, 1, HUGE_VAL, 1, 1, HUGE_VAL, HUGE_VAL};
    double v[7];
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 7)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: cannot resume: history of epoch %d is not 7 numbers",
                          t->path_last, epoch);
    for (int k = 0; k < 7; k++) {
        const cJSON *x = cJSON_GetArrayItem(item, k);
        bool may_be_null = k >= 2 && k <= 4 && t->n_valid == 0;
        if (may_be_null && cJSON_IsNull(x)) {
            v[k] = NAN;
            continue;
        }
        if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0 && x->valuedouble <= hi[k]) ||
            !isfinite(x->valuedouble))
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: cannot resume: history of epoch %d: %s is %s",
                              t->path_last, epoch, names[k],
                              cJSON_IsNumber(x) ? "out of range" : "not a number");
        v[k] = x->valuedouble;
    }
    *r = (epoch_record){v[0], v[1], v[2], v[3], v[4], v[5], v[6], 0, 0};
    return MRNET_OK;
}

/* The metric that selects the best epoch (end_epoch), from a record. */
static double selection_metric(const trainer *t, const epoch_record *r)
{
    return t->n_valid ? (t->opt->select_macro_f1 ? r->valid_f1 : r->valid_acc) : r->train_acc;
}

static mrnet_status restore_position(trainer *t, const cJSON *j)
{
    const char *path = t->path_last;
    int B = batch_size(t), batches = t->n_epoch_items / B;
    double epoch = 0, next_batch = 0, seen = 0, correct = 0, best_epoch = 0, loss_sum = 0, best_metric = 0;
    MRNET_TRY(state_number(t, j, "epoch", 1, (double)t->opt->epochs + 1, true, &epoch));
    MRNET_TRY(state_number(t, j, "next_batch", 0, batches - 1, true, &next_batch));
    MRNET_TRY(state_number(t, j, "seen", 0, (double)batches * B, true, &seen));
    MRNET_TRY(state_number(t, j, "correct", 0, seen, true, &correct));
    MRNET_TRY(state_number(t, j, "loss_sum", 0, HUGE_VAL, false, &loss_sum));
    if (!isfinite(loss_sum))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: cannot resume: training state field 'loss_sum' is "
                          "not finite", path);
    MRNET_TRY(state_number(t, j, "best_epoch", epoch > 1 ? 1 : 0, epoch - 1, true, &best_epoch));
    MRNET_TRY(state_number(t, j, "best_metric", 0, 1, false, &best_metric));
    if (seen != next_batch * B)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: cannot resume: %.0f examples seen in epoch %.0f, but "
                          "%.0f batches of %d were run", path, seen, epoch, next_batch, B);
    int64_t steps = mrnet_adamw_steps(t->adamw), want = (int64_t)(epoch - 1) * batches + (int64_t)next_batch;
    if (steps != want)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: cannot resume: optim.step is %lld but epoch %.0f batch "
                          "%.0f (%d batches an epoch) means %lld steps", path, (long long)steps, epoch,
                          next_batch, batches, (long long)want);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "history");
    if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) != (int)epoch - 1)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: cannot resume: inconsistent training state (epoch %.0f, %d epochs "
                          "of history)", path, epoch, cJSON_IsArray(h) ? cJSON_GetArraySize(h) : -1);
    t->n_history = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, h) {
        MRNET_TRY(history_record(t, item, t->n_history + 1, &t->history[t->n_history]));
        t->n_history++;
    }
    if (best_epoch > 0 && selection_metric(t, &t->history[(int)best_epoch - 1]) != best_metric)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: cannot resume: best_metric %.17g is not the metric "
                          "of best epoch %.0f in the history", path, best_metric, best_epoch);
    t->epoch = (int)epoch;
    t->next_batch = (int)next_batch;
    t->loss_sum = loss_sum;
    t->correct = (long)correct;
    t->seen = (long)seen;
    t->best_epoch = (int)best_epoch;
    t->best_metric = best_metric;
    return MRNET_OK;
}

static mrnet_status restore_state(trainer *t, const cJSON *j)
{
    cJSON *want = trainer_options_json(t);
    const cJSON *have = cJSON_GetObjectItemCaseSensitive(j, "options");
    const cJSON *item;
    mrnet_status st = MRNET_OK;
    cJSON_ArrayForEach(item, want) {
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(have, item->string);
        if (!old || !cJSON_Compare(item, old, true)) {
            char *a = cJSON_PrintUnformatted(item), *b = old ? cJSON_PrintUnformatted(old) : NULL;
            st = mrnet_fail(MRNET_ERR_ARG,
                            "%s: cannot resume: option '%s' is %s now but was %s in the "
                            "interrupted run",
                            t->path_last, item->string, a ? a : "?", b ? b : "absent");
            free(a);
            free(b);
            break;
        }
    }
    /* an option the interrupted run had and this one leaves at its default */
    cJSON_ArrayForEach(item, have) {
        if (st != MRNET_OK || cJSON_GetObjectItemCaseSensitive(want, item->string))
            continue;
        char *b = cJSON_PrintUnformatted(item);
        st = mrnet_fail(MRNET_ERR_ARG,
                        "%s: cannot resume: option '%s' was %s in the interrupted run but is off now",
                        t->path_last, item->string, b ? b : "?");
        free(b);
    }
    cJSON_Delete(want);
    MRNET_TRY(st);
    return restore_position(t, j);
}

/* The first value of the model or the optimizer that training cannot go on
 * from: not finite, or a negative second moment (its square root is taken).
 * Describes it in desc; false when there is none. */
static bool first_bad_value(trainer *t, char *desc, size_t size)
{
    for (int i = 0; i < mrnet_model_tensor_count(t->model); i++) {
        const mrnet_tensor_info *x = mrnet_model_tensor(t->model, i);
        if (x->kind == MRNET_TENSOR_COUNTER)
            continue;
        for (size_t k = 0; k < x->numel; k++)
            if (!isfinite(x->data[k])) {
                snprintf(desc, size, "%s '%s' holds %s at %zu",
                         x->kind == MRNET_TENSOR_PARAMETER ? "parameter" : "running statistic", x->name,
                         isnan(x->data[k]) ? "NaN" : "an infinity", k);
                return true;
            }
    }
    for (size_t k = 0; t->ema.shadow && k < ema_size(&t->ema); k++)
        if (!isfinite(t->ema.shadow[k])) {
            snprintf(desc, size, "the weight average (train.ema) holds %s at %zu",
                     isnan(t->ema.shadow[k]) ? "NaN" : "an infinity", k);
            return true;
        }
    static const struct {
        mrnet_adamw_buffer which;
        const char *name;
        bool non_negative;
    } moments[] = {{MRNET_ADAMW_EXP_AVG, "optim.exp_avg", false},
                   {MRNET_ADAMW_EXP_AVG_SQ, "optim.exp_avg_sq", true},
                   {MRNET_ADAMW_MAX_EXP_AVG_SQ, "optim.max_exp_avg_sq", true}};
    const float *base = mrnet_model_params(t->model);
    size_t n = mrnet_adamw_size(t->adamw);
    for (size_t m = 0; m < sizeof moments / sizeof moments[0]; m++) {
        const float *v = mrnet_adamw_state(t->adamw, moments[m].which);
        for (size_t k = 0; k < n; k++) {
            if (isfinite(v[k]) && !(moments[m].non_negative && v[k] < 0))
                continue;
            const char *param = "?";
            for (int i = 0; i < mrnet_model_tensor_count(t->model); i++) {
                const mrnet_tensor_info *x = mrnet_model_tensor(t->model, i);
                size_t at = (size_t)(x->data - base);
                if (x->kind == MRNET_TENSOR_PARAMETER && x->data >= base && k >= at && k < at + x->numel)
                    param = x->name;
            }
            snprintf(desc, size, "optimizer moment %s holds %s at %zu (parameter '%s')", moments[m].name,
                     isnan(v[k]) ? "NaN" : isinf(v[k]) ? "an infinity" : "a negative value", k, param);
            return true;
        }
    }
    return false;
}

mrnet_status trainer_check_finite(trainer *t)
{
    char bad[512];
    if (!first_bad_value(t, bad, sizeof bad))
        return MRNET_OK;
    char last[2 * sizeof t->path_last + 64];
    if (t->n_history > 0)
        snprintf(last, sizeof last, "the state after epoch %d is in %s, the best epoch's in %s",
                 t->n_history, t->path_last, t->path_best);
    else
        snprintf(last, sizeof last, "no checkpoint was written");
    return mrnet_fail(MRNET_ERR_NUMERIC,
                      "epoch %d: training diverged: %s; nothing of this epoch was saved (%s); try a "
                      "lower --lr",
                      t->epoch, bad, last);
}

mrnet_status trainer_save_last(trainer *t)
{
    cJSON *j = state_json(t);
    const char *meta[] = {"mrnet.features", t->settings, NULL};
    train_state_extra ema = {"train.ema", t->ema.shadow, ema_size(&t->ema)};
    mrnet_status st = train_state_save(t->path_last, t->model, t->adamw, &ema, j, meta);
    cJSON_Delete(j);
    return st;
}

mrnet_status trainer_resume(trainer *t)
{
    struct stat sb;
    if (stat(t->path_last, &sb) != 0)
        return MRNET_OK; /* nothing to resume: start afresh */
    mrnet_model *loaded;
    MRNET_TRY(mrnet_model_load(t->path_last, t->S, &loaded));
    const mrnet_config *a = mrnet_model_config(loaded), *b = mrnet_model_config(t->model);
    if (a->route_weights != b->route_weights) {
        int was = a->route_weights;
        mrnet_model_free(loaded);
        return mrnet_fail(MRNET_ERR_ARG,
                          "%s: cannot resume: route weights are %s now but were %s in the "
                          "interrupted run (--route-weights)",
                          t->path_last, mrnet_route_weights_name(b->route_weights),
                          mrnet_route_weights_name(was));
    }
    if (memcmp(a, b, sizeof *a) != 0) {
        mrnet_model_free(loaded);
        return mrnet_fail(MRNET_ERR_ARG, "%s: cannot resume: the model configuration differs",
                          t->path_last);
    }
    /* copy parameters, statistics and counters into our model */
    for (int i = 0; i < mrnet_model_tensor_count(t->model); i++) {
        const mrnet_tensor_info *dst = mrnet_model_tensor(t->model, i);
        const mrnet_tensor_info *src = mrnet_model_tensor(loaded, i);
        if (dst->kind == MRNET_TENSOR_COUNTER)
            *dst->count = *src->count;
        else
            memcpy(dst->data, src->data, dst->numel * sizeof(float));
    }
    mrnet_model_free(loaded);
    cJSON *j;
    train_state_extra ema = {"train.ema", t->ema.shadow, ema_size(&t->ema)};
    MRNET_TRY(train_state_load(t->path_last, t->adamw, &ema, &j));
    mrnet_status st = restore_state(t, j);
    cJSON_Delete(j);
    char bad[512];
    if (st == MRNET_OK && first_bad_value(t, bad, sizeof bad))
        st = mrnet_fail(MRNET_ERR_NUMERIC, "%s: cannot resume: %s", t->path_last, bad);
    return st;
}

static void json_number_or_null(FILE *f, const char *key, double v, bool last)
{
    if (isfinite(v))
        fprintf(f, "\"%s\":%.6g%s", key, v, last ? "" : ",");
    else
        fprintf(f, "\"%s\":null%s", key, last ? "" : ",");
}

/* log.jsonl, rewritten from the history so it always matches last.safetensors. */
mrnet_status trainer_write_log(const trainer *t)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < t->n_history; i++) {
        const epoch_record *r = &t->history[i];
        fprintf(f, "{\"epoch\":%d,", i + 1);
        json_number_or_null(f, "lr", r->lr, false);
        json_number_or_null(f, "train_loss", r->train_loss, false);
        json_number_or_null(f, "train_accuracy", r->train_acc, false);
        json_number_or_null(f, "valid_loss", r->valid_loss, false);
        json_number_or_null(f, "valid_accuracy", r->valid_acc, false);
        json_number_or_null(f, "valid_macro_f1", r->valid_f1, false);
        if (r->processes > 1) {
            fprintf(f, "\"processes\":%d,", r->processes);
            json_number_or_null(f, "comm_seconds", r->comm_seconds, false);
        }
        json_number_or_null(f, "seconds", r->seconds, !(i == 0 && t->note[0]));
        if (i == 0 && t->note[0]) /* the note has no quote or backslash */
            fprintf(f, "\"note\":\"%s\"", t->note);
        fprintf(f, "}\n");
    }
    fclose(f);
    mrnet_atomic_file af;
    mrnet_status st = mrnet_atomic_open(&af, t->path_log);
    if (st == MRNET_OK) {
        mrnet_atomic_write(&af, buf, size);
        st = mrnet_atomic_commit(&af);
    }
    free(buf);
    return st;
}

mrnet_status trainer_write_curve(const trainer *t)
{
    int n = t->n_history;
    double *v = malloc((size_t)(n ? n : 1) * 4 * sizeof(double));
    if (!v)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        v[i] = t->history[i].train_loss;
        v[n + i] = t->history[i].valid_loss;
        v[2 * n + i] = t->history[i].train_acc;
        v[3 * n + i] = t->history[i].valid_acc;
    }
    mrnet_plot_series s[4] = {{"train loss", v, NULL, n, 0},
                       {"valid loss", v + n, NULL, n, 0},
                       {"train accuracy", v + 2 * n, NULL, n, 1},
                       {"valid accuracy", v + 3 * n, NULL, n, 1}};
    mrnet_plot_line_options o = {.title = "Training curve", .x_label = "epoch", .y_label = "loss",
                          .y2_label = "accuracy", .y2_lo = 0, .y2_hi = 1};
    mrnet_status st = mrnet_plot_lines(t->path_curve, &o, s, t->n_valid ? 4 : 2);
    if (st == MRNET_OK && !t->n_valid) { /* no validation: train curves only */
        mrnet_plot_series s2[2] = {s[0], s[2]};
        st = mrnet_plot_lines(t->path_curve, &o, s2, 2);
    }
    free(v);
    return st;
}

