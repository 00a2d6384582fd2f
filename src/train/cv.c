/* k-fold cross-validation on a store (mrnet/train.h). */
#include <mrnet/train.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mrnet/eval.h>
#include <mrnet/infer.h>
#include <mrnet/plot.h>

#include "eval/metrics.h"
#include "mrnet/parallel.h"
#include "tensor/error.h"
#include "tensor/fileio.h"
#include "train/ema.h"

void mrnet_cv_options_default(mrnet_cv_options *opt)
{
    memset(opt, 0, sizeof *opt);
    mrnet_train_options_default(&opt->train);
    opt->view = MRNET_VIEW_WINDOWS;
}

/* The distinct folds of labelled entries, ascending (at most max). */
static int store_folds(const mrnet_store *fs, int *folds, int max)
{
    int n = 0;
    for (int i = 0; i < mrnet_store_count(fs); i++) {
        const mrnet_store_entry *e = mrnet_store_get(fs, i);
        if (e->fold < 0 || e->label_index < 0)
            continue;
        int j = 0;
        while (j < n && folds[j] < e->fold)
            j++;
        if ((j < n && folds[j] == e->fold) || n == max)
            continue;
        memmove(folds + j + 1, folds + j, (size_t)(n - j) * sizeof(int));
        folds[j] = e->fold;
        n++;
    }
    return n;
}

static bool fold_wanted(const mrnet_cv_options *opt, int fold)
{
    if (!opt->folds)
        return true;
    for (int i = 0; i < opt->n_folds; i++)
        if (opt->folds[i] == fold)
            return true;
    return false;
}

/* The last epoch's model of a fold on that fold's entries: its weight
 * average when the run kept one (what its validation saw). */
static mrnet_status evaluate_fold(const char *path, bool averaged, const mrnet_store *fs, int fold,
                                  mrnet_view view, int64_t crop, int batch, mrnet_confusion *total,
                                  mrnet_cv_fold *out)
{
    mrnet_model *m;
    MRNET_TRY(mrnet_model_load(path, 0, &m));
    mrnet_confusion cm = {0};
    mrnet_status st = averaged ? ema_load_average(path, m) : MRNET_OK;
    if (st == MRNET_OK)
        st = mrnet_confusion_init(&cm, mrnet_model_config(m)->classes);
    mrnet_infer_options eo = {.view = view, .crop = crop, .hop = crop / 2, .batch = batch};
    int used = 0, unknown = 0;
    if (st == MRNET_OK)
        st = mrnet_evaluate_store(m, fs, (mrnet_selection){NULL, fold}, &eo, &cm, &used, &unknown, NULL, NULL);
    mrnet_metrics r;
    if (st == MRNET_OK && (st = mrnet_metrics_compute(&cm, &r)) == MRNET_OK) {
        out->accuracy = r.accuracy;
        out->macro_f1 = r.macro_f1;
        mrnet_metrics_free(&r);
        st = mrnet_confusion_merge(total, &cm);
    }
    mrnet_confusion_free(&cm);
    mrnet_model_free(m);
    return st;
}

static mrnet_status write_summary(const char *out, const mrnet_cv_result *res, mrnet_view view,
                                  const mrnet_confusion *total, char *const *names)
{
    double acc[MRNET_CV_MAX_FOLDS], f1[MRNET_CV_MAX_FOLDS];
    int ids[MRNET_CV_MAX_FOLDS], n = res->n_folds;
    for (int i = 0; i < n; i++) {
        acc[i] = res->folds[i].accuracy;
        f1[i] = res->folds[i].macro_f1;
        ids[i] = res->folds[i].fold;
    }
    char path[4200];
    cJSON *j = metrics_cv_json(acc, f1, n);
    if (!j)
        return MRNET_ERR_NOMEM; /* the message is set */
    mrnet_status st = MRNET_OK;
    if (!cJSON_AddItemToObject(j, "fold_ids", cJSON_CreateIntArray(ids, n)) ||
        !cJSON_AddStringToObject(j, "view", mrnet_view_name(view)))
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory building the cross-validation summary");
    snprintf(path, sizeof path, "%s/cv.json", out);
    if (st == MRNET_OK)
        st = metrics_write_json(path, j);
    cJSON_Delete(j);
    snprintf(path, sizeof path, "%s/confusion.svg", out);
    if (st == MRNET_OK)
        st = mrnet_plot_confusion(path, "Confusion matrix, all folds", total->counts, total->k,
                                  (const char *const *)names);
    return st;
}

static mrnet_status run_folds(const char *store_dir, const mrnet_cv_options *opt, const mrnet_store *fs,
                              const int *folds, int n_folds, mrnet_confusion *total, mrnet_cv_result *res)
{
    const mrnet_train_options *o = &opt->train;
    double rate = o->frame_rate > 0 ? o->frame_rate : mrnet_features_settings_frame_rate(mrnet_store_settings(fs));
    int64_t crop = (int64_t)llround(o->crop_seconds * rate);
    for (int i = 0; i < n_folds; i++) {
        if (!fold_wanted(opt, folds[i]))
            continue;
        char dir[4096], last[4200];
        snprintf(dir, sizeof dir, "%s/fold-%d", o->out_dir, folds[i]);
        mrnet_train_options fo = *o;
        fo.valid_fold = folds[i];
        fo.out_dir = dir;
        if (opt->on_fold_start)
            opt->on_fold_start(opt->fold_ctx, folds[i]);
        mrnet_train_result r;
        MRNET_TRY(mrnet_train(store_dir, &fo, &r));
        snprintf(last, sizeof last, "%s/last.safetensors", dir);
        mrnet_cv_fold *f = &res->folds[res->n_folds];
        *f = (mrnet_cv_fold){.fold = folds[i], .n_train = r.n_train, .n_test = r.n_valid};
        MRNET_TRY(evaluate_fold(last, o->ema_decay > 0, fs, folds[i], (mrnet_view)opt->view, crop,
                                o->batch, total, f));
        res->n_folds++;
        if (opt->on_fold_done)
            opt->on_fold_done(opt->fold_ctx, f);
    }
    return MRNET_OK;
}

static mrnet_status cross_validate(const char *store_dir, const mrnet_cv_options *opt, mrnet_cv_result *res);

/* One cross-validation per output folder at a time (tensor/fileio.h). */
mrnet_status mrnet_cross_validate(const char *store_dir, const mrnet_cv_options *opt,
                                  mrnet_cv_result *res)
{
    memset(res, 0, sizeof *res);
    if (!opt->train.out_dir)
        return mrnet_fail(MRNET_ERR_ARG, "cross-validation needs an output folder");
    /* in a data-parallel run rank 0 holds the lock and writes the summary */
    const mrnet_collective *comm = opt->train.comm;
    bool root = !comm || comm->rank == 0;
    int lock = -1;
    mrnet_status st = root ? mrnet_make_dirs(opt->train.out_dir) : MRNET_OK;
    if (st == MRNET_OK && root)
        st = dir_lock(opt->train.out_dir, "cross-validation", &lock);
    st = mrnet_collective_agree(comm, st);
    if (st == MRNET_OK)
        st = cross_validate(store_dir, opt, res);
    dir_unlock(lock);
    return st;
}

static mrnet_status cross_validate(const char *store_dir, const mrnet_cv_options *opt, mrnet_cv_result *res)
{
    memset(res, 0, sizeof *res);
    if (!opt->train.out_dir)
        return mrnet_fail(MRNET_ERR_ARG, "cross-validation needs an output folder");
    if ((unsigned)opt->view > MRNET_VIEW_FULL)
        return mrnet_fail(MRNET_ERR_ARG, "cross-validation: unknown view %d", opt->view);
    mrnet_store *fs;
    MRNET_TRY(mrnet_store_open(store_dir, &fs));
    int folds[MRNET_CV_MAX_FOLDS];
    int n_folds = store_folds(fs, folds, MRNET_CV_MAX_FOLDS);
    if (n_folds < 2) {
        mrnet_store_close(fs);
        return mrnet_fail(MRNET_ERR_ARG, "%s: %d folds among the labelled entries; cross-validation needs "
                          "2 or more (a fold column)", store_dir, n_folds);
    }
    int K;
    char *const *names = mrnet_store_labels(fs, &K);
    mrnet_confusion total;
    mrnet_status st = mrnet_confusion_init(&total, K);
    if (st == MRNET_OK)
        st = run_folds(store_dir, opt, fs, folds, n_folds, &total, res);
    if (st == MRNET_OK && res->n_folds > 0) {
        double acc[MRNET_CV_MAX_FOLDS], f1[MRNET_CV_MAX_FOLDS];
        for (int i = 0; i < res->n_folds; i++) {
            acc[i] = res->folds[i].accuracy;
            f1[i] = res->folds[i].macro_f1;
        }
        mrnet_mean_std(acc, res->n_folds, &res->mean_accuracy, &res->std_accuracy);
        mrnet_mean_std(f1, res->n_folds, &res->mean_macro_f1, &res->std_macro_f1);
        const mrnet_collective *comm = opt->train.comm;
        if (!comm || comm->rank == 0)
            st = write_summary(opt->train.out_dir, res, (mrnet_view)opt->view, &total, names);
        st = mrnet_collective_agree(comm, st);
    }
    mrnet_confusion_free(&total);
    mrnet_store_close(fs);
    return st;
}
