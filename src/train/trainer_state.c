/* Saving, resuming and reporting a training run: the state in
 * last.safetensors, the log and the curve, all rewritten atomically from the
 * run's history. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    cJSON_AddNumberToObject(j, "restart_epochs", (double)o->restart_epochs);
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

static double json_number(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
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
    cJSON_Delete(want);
    MRNET_TRY(st);
    t->epoch = (int)json_number(j, "epoch");
    t->next_batch = (int)json_number(j, "next_batch");
    t->loss_sum = json_number(j, "loss_sum");
    t->correct = (long)json_number(j, "correct");
    t->seen = (long)json_number(j, "seen");
    t->best_epoch = (int)json_number(j, "best_epoch");
    t->best_metric = json_number(j, "best_metric");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "history");
    t->n_history = 0;
    cJSON_ArrayForEach(item, h) {
        double v[7] = {0};
        for (int k = 0; k < 7; k++)
            v[k] = cJSON_IsNumber(cJSON_GetArrayItem(item, k)) ? cJSON_GetArrayItem(item, k)->valuedouble : NAN;
        t->history[t->n_history++] = (epoch_record){v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
        if (t->n_history >= t->opt->epochs)
            break;
    }
    if (t->epoch < 1 || t->n_history != t->epoch - 1)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: inconsistent training state (epoch %d, %d epochs "
                          "of history)", t->path_last, t->epoch, t->n_history);
    return MRNET_OK;
}

mrnet_status trainer_save_last(trainer *t)
{
    cJSON *j = state_json(t);
    const char *meta[] = {"mrnet.features", t->settings, NULL};
    mrnet_status st = train_state_save(t->path_last, t->model, t->adamw, j, meta);
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
    MRNET_TRY(train_state_load(t->path_last, t->adamw, &j));
    mrnet_status st = restore_state(t, j);
    cJSON_Delete(j);
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

