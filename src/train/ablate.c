/* Route ablation: the full model and one model per dropped route, several
 * seeds each, evaluated on the test split (mrnet/train.h). */
#include <mrnet/train.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mrnet/eval.h>
#include <mrnet/infer.h>
#include <mrnet/plot.h>

#include "eval/metrics.h"
#include "tensor/error.h"
#include "tensor/fileio.h"

void mrnet_ablate_options_default(mrnet_ablate_options *opt)
{
    memset(opt, 0, sizeof *opt);
    mrnet_train_options_default(&opt->train);
    opt->seeds = 3;
    opt->view = MRNET_VIEW_WINDOWS;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The best checkpoint of a run on the split. */
static mrnet_status evaluate_run(const char *checkpoint, const mrnet_store *fs, const char *split,
                                 const mrnet_infer_options *eo, double *accuracy, double *macro_f1)
{
    mrnet_model *m;
    MRNET_TRY(mrnet_model_load(checkpoint, 0, &m));
    mrnet_confusion cm;
    mrnet_status st = mrnet_confusion_init(&cm, mrnet_model_config(m)->classes);
    int used = 0, unknown = 0;
    if (st == MRNET_OK)
        st = mrnet_evaluate_store(m, fs, (mrnet_selection){split, -1}, eo, &cm, &used, &unknown, NULL, NULL);
    mrnet_metrics r;
    if (st == MRNET_OK && (st = mrnet_metrics_compute(&cm, &r)) == MRNET_OK) {
        *accuracy = r.accuracy;
        *macro_f1 = r.macro_f1;
        mrnet_metrics_free(&r);
    }
    mrnet_confusion_free(&cm);
    mrnet_model_free(m);
    return st;
}

/* result.json of a finished run: {"accuracy": a, "macro_f1": f}. */
static mrnet_status save_result(const char *path, double accuracy, double macro_f1)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddNumberToObject(j, "accuracy", accuracy) || !cJSON_AddNumberToObject(j, "macro_f1", macro_f1)) {
        cJSON_Delete(j);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    mrnet_status st = metrics_write_json(path, j);
    cJSON_Delete(j);
    return st;
}

static bool load_result(const char *path, double *accuracy, double *macro_f1)
{
    char *text = NULL;
    size_t n;
    if (!exists(path) || read_whole_file(path, 1 << 16, &text, &n) != MRNET_OK)
        return false;
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "accuracy");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "macro_f1");
    bool ok = cJSON_IsNumber(a) && cJSON_IsNumber(f) && a->valuedouble >= 0 && a->valuedouble <= 1 &&
              f->valuedouble >= 0 && f->valuedouble <= 1;
    if (ok) {
        *accuracy = a->valuedouble;
        *macro_f1 = f->valuedouble;
    }
    cJSON_Delete(j);
    return ok;
}

/* Mean and sample standard deviation (0 for one value). */
static void mean_std(const double *x, int n, double *mean, double *std)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; i++)
        q += (x[i] - *mean) * (x[i] - *mean);
    *std = n > 1 ? sqrt(q / (n - 1)) : 0;
}

/* One row: `seeds` runs with routes `dropped`. */
static mrnet_status run_row(const char *store_dir, const mrnet_ablate_options *opt, const mrnet_store *fs,
                            const char *split, const mrnet_infer_options *eo, mrnet_ablate_row *row)
{
    for (int k = 0; k < opt->seeds; k++) {
        uint64_t seed = opt->train.seed + (uint64_t)k;
        char run[64], dir[4096], path[4200];
        if (row->dropped)
            snprintf(run, sizeof run, "drop-%s-s%llu", row->name, (unsigned long long)seed);
        else
            snprintf(run, sizeof run, "full-s%llu", (unsigned long long)seed);
        snprintf(dir, sizeof dir, "%s/%s", opt->train.out_dir, run);
        snprintf(path, sizeof path, "%s/result.json", dir);
        double acc, f1;
        if (!load_result(path, &acc, &f1)) {
            if (opt->on_run_start)
                opt->on_run_start(opt->run_ctx, run);
            mrnet_train_options o = opt->train;
            o.out_dir = dir;
            o.seed = seed;
            o.drop_routes = opt->train.drop_routes | row->dropped;
            snprintf(path, sizeof path, "%s/last.safetensors", dir);
            o.resume = exists(path);
            mrnet_train_result tr;
            MRNET_TRY(mrnet_fail_context(mrnet_train(store_dir, &o, &tr), "%s", run));
            snprintf(path, sizeof path, "%s/best.safetensors", dir);
            MRNET_TRY(evaluate_run(path, fs, split, eo, &acc, &f1));
            snprintf(path, sizeof path, "%s/result.json", dir);
            MRNET_TRY(save_result(path, acc, f1));
        }
        row->accuracy[row->n] = acc;
        row->macro_f1[row->n] = f1;
        row->n++;
        if (opt->on_run_done)
            opt->on_run_done(opt->run_ctx, run, acc, f1);
    }
    mean_std(row->accuracy, row->n, &row->mean_accuracy, &row->std_accuracy);
    mean_std(row->macro_f1, row->n, &row->mean_macro_f1, &row->std_macro_f1);
    return MRNET_OK;
}

static cJSON *row_json(const mrnet_ablate_row *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    bool ok = cJSON_AddStringToObject(o, "row", r->name) &&
              cJSON_AddItemToObject(o, "accuracy", cJSON_CreateDoubleArray(r->accuracy, r->n)) &&
              cJSON_AddItemToObject(o, "macro_f1", cJSON_CreateDoubleArray(r->macro_f1, r->n)) &&
              cJSON_AddNumberToObject(o, "mean_accuracy", r->mean_accuracy) &&
              cJSON_AddNumberToObject(o, "std_accuracy", r->std_accuracy) &&
              cJSON_AddNumberToObject(o, "mean_macro_f1", r->mean_macro_f1) &&
              cJSON_AddNumberToObject(o, "std_macro_f1", r->std_macro_f1) &&
              cJSON_AddNumberToObject(o, "delta_accuracy", r->delta_accuracy) &&
              cJSON_AddNumberToObject(o, "delta_macro_f1", r->delta_macro_f1);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static mrnet_status write_outputs(const char *out, const mrnet_ablate_result *res, int seeds, mrnet_view view)
{
    cJSON *j = cJSON_CreateObject(), *rows = j ? cJSON_AddArrayToObject(j, "rows") : NULL;
    bool ok = rows && cJSON_AddStringToObject(j, "split", res->split) &&
              cJSON_AddStringToObject(j, "view", mrnet_view_name(view)) && cJSON_AddNumberToObject(j, "seeds", seeds);
    for (int i = 0; ok && i < res->n_rows; i++) {
        cJSON *r = row_json(&res->rows[i]);
        ok = r && cJSON_AddItemToArray(rows, r);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/ablate.json", out);
    mrnet_status st = ok ? metrics_write_json(path, j) : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    cJSON_Delete(j);
    if (st != MRNET_OK)
        return st;
    const char *names[1 + MRNET_ROUTES];
    double values[2 * (1 + MRNET_ROUTES)];
    for (int i = 0; i < res->n_rows; i++) {
        names[i] = res->rows[i].name;
        values[i] = res->rows[i].mean_accuracy;
        values[res->n_rows + i] = res->rows[i].mean_macro_f1;
    }
    const char *series[2] = {"accuracy", "macro-F1"};
    mrnet_plot_bar_options po = {.title = "Route ablation: mean over seeds (full model, then one route dropped)",
                                 .x_label = "route dropped in training", .y_label = "test score",
                                 .value_format = "%.3f"};
    snprintf(path, sizeof path, "%s/ablate.svg", out);
    return mrnet_plot_bars(path, &po, names, res->n_rows, series, values, 2);
}

mrnet_status mrnet_ablate(const char *store_dir, const mrnet_ablate_options *opt, mrnet_ablate_result *res)
{
    memset(res, 0, sizeof *res);
    if (!opt->train.out_dir)
        return mrnet_fail(MRNET_ERR_ARG, "ablation needs an output folder");
    if (opt->seeds < 1 || opt->seeds > MRNET_ABLATE_MAX_SEEDS)
        return mrnet_fail(MRNET_ERR_ARG, "ablation: %d seeds (1 to %d)", opt->seeds, MRNET_ABLATE_MAX_SEEDS);
    if ((unsigned)opt->view > MRNET_VIEW_FULL)
        return mrnet_fail(MRNET_ERR_ARG, "ablation: unknown view %d", opt->view);
    MRNET_TRY(mrnet_make_dirs(opt->train.out_dir));
    int lock;
    MRNET_TRY(dir_lock(opt->train.out_dir, "ablation", &lock));
    mrnet_store *fs;
    mrnet_status st = mrnet_store_open(store_dir, &fs);
    if (st != MRNET_OK) {
        dir_unlock(lock);
        return st;
    }
    res->split = mrnet_default_eval_split(fs);
    double rate = opt->train.frame_rate > 0 ? opt->train.frame_rate
                                            : mrnet_features_settings_frame_rate(mrnet_store_settings(fs));
    int64_t crop = (int64_t)llround(opt->train.crop_seconds * rate);
    if (!res->split)
        st = mrnet_fail(MRNET_ERR_ARG, "%s: no test or valid split to evaluate the ablation on", store_dir);
    else if (!(rate > 0) || crop < 1)
        st = mrnet_fail(MRNET_ERR_ARG, "%s: unknown frame rate (features from .npy files?): give --frame-rate",
                        store_dir);
    mrnet_infer_options eo = {.view = (mrnet_view)opt->view, .crop = crop, .hop = crop / 2, .batch = opt->train.batch};
    res->n_rows = 1 + MRNET_ROUTES;
    for (int i = 0; st == MRNET_OK && i < res->n_rows; i++) {
        mrnet_ablate_row *row = &res->rows[i];
        row->dropped = i ? 1u << (i - 1) : 0;
        snprintf(row->name, sizeof row->name, "%s", i ? mrnet_route_name(i - 1) : "full");
        if (opt->train.drop_routes & row->dropped) /* already off in every run */
            continue;
        st = run_row(store_dir, opt, fs, res->split, &eo, row);
    }
    for (int i = 0; st == MRNET_OK && i < res->n_rows; i++) {
        res->rows[i].delta_accuracy = res->rows[i].mean_accuracy - res->rows[0].mean_accuracy;
        res->rows[i].delta_macro_f1 = res->rows[i].mean_macro_f1 - res->rows[0].mean_macro_f1;
    }
    if (st == MRNET_OK)
        st = write_outputs(opt->train.out_dir, res, opt->seeds, (mrnet_view)opt->view);
    mrnet_store_close(fs);
    dir_unlock(lock);
    return st;
}
