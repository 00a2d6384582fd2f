/* mrnet cv STORE -o OUT: k-fold cross-validation. For each fold k, trains on
 * the other folds (validating on k every epoch, as the release does), then
 * evaluates the last epoch's model on fold k over whole tracks; reports the
 * mean and standard deviation over folds. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"
#include "commands.h"
#include "store/featstore.h"
#include "plot/svg.h"
#include "tensor/error.h"
#include "tensor/fileio.h"
#include "infer/infer.h"
#include "eval/metrics.h"
#include "train_flags.h"

typedef struct {
    mrnet_view view;
    const char *folds; /* "0,3" or NULL for all */
} cv_extra;

static bool on_extra(int c, const char *arg, void *ctx)
{
    cv_extra *x = ctx;
    if (c == 'v')
        return mrnet_view_parse(arg, &x->view) == MRNET_OK;
    if (c == 'k') {
        x->folds = arg;
        return true;
    }
    return false;
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

static bool fold_wanted(const char *list, int fold)
{
    if (!list)
        return true;
    char buf[16];
    snprintf(buf, sizeof buf, "%d", fold);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == strlen(buf) && !strncmp(p, buf, n))
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

static mrnet_status evaluate_fold(const char *path, const mrnet_store *fs, int fold, mrnet_view view,
                                  int64_t crop, int batch, mrnet_confusion *total, double *acc,
                                  double *f1)
{
    mrnet_model *m;
    MRNET_TRY(mrnet_model_load(path, 0, &m));
    mrnet_confusion cm;
    mrnet_status st = mrnet_confusion_init(&cm, mrnet_model_config(m)->classes);
    mrnet_infer_options eo = {.view = view, .crop = crop, .hop = crop / 2, .batch = batch};
    int used = 0, unknown = 0;
    if (st == MRNET_OK)
        st = mrnet_evaluate_store(m, fs, (mrnet_selection){NULL, fold}, &eo, &cm, &used, &unknown, NULL, NULL);
    mrnet_metrics r;
    if (st == MRNET_OK && (st = mrnet_metrics_compute(&cm, &r)) == MRNET_OK) {
        *acc = r.accuracy;
        *f1 = r.macro_f1;
        mrnet_metrics_free(&r);
        st = mrnet_confusion_merge(total, &cm);
    }
    mrnet_confusion_free(&cm);
    mrnet_model_free(m);
    return st;
}

int cmd_cv(int argc, char **argv)
{
    static const struct option extra[] = {{"view", required_argument, 0, 'v'},
                                          {"folds", required_argument, 0, 'k'},
                                          {0, 0, 0, 0}};
    mrnet_train_options o;
    mrnet_train_options_default(&o);
    cv_extra x = {.view = MRNET_VIEW_WINDOWS};
    bool quiet = false;
    int rc = train_flags_parse(
        argc, argv, "cv", &o, &quiet, extra, on_extra, &x, "mrnet cv STORE -o OUT_DIR [options]",
        "k-fold cross-validation over the store's folds (mrnet extract --dataset gtzan|melon,\n"
        "or a manifest with a fold column): OUT_DIR/fold-K/ per fold, OUT_DIR/cv.json and\n"
        "OUT_DIR/confusion.svg (summed over folds).\n"
        "  --folds LIST         only these folds (e.g. 0,1)\n"
        "  --view V             test view: windows (default), crop or full\n"
        "  (--fold is set per fold; other options as mrnet train)\n");
    if (rc >= 0)
        return rc;
    if (optind + 1 != argc || !o.out_dir)
        return cli_error("cv", 2, "usage: mrnet cv STORE -o OUT_DIR [options] (--help)");
    const char *store_dir = argv[optind], *out = o.out_dir;
    if (mrnet_make_dirs(out) != MRNET_OK)
        return cli_fail("cv", MRNET_ERR_IO);
    mrnet_store *fs;
    mrnet_status st = mrnet_store_open(store_dir, &fs);
    if (st != MRNET_OK)
        return cli_fail("cv", st);
    int folds[256];
    int n_folds = store_folds(fs, folds, 256);
    if (n_folds < 2) {
        mrnet_store_close(fs);
        return cli_error("cv", 1, "%s: %d folds among the labelled entries; cross-validation needs "
                         "2 or more (a fold column)", store_dir, n_folds);
    }
    double rate = o.frame_rate > 0 ? o.frame_rate : mrnet_features_settings_frame_rate(mrnet_store_settings(fs));
    int64_t crop = (int64_t)llround(o.crop_seconds * rate);
    char **names;
    int K;
    names = (char **)mrnet_store_labels(fs, &K);
    mrnet_confusion total;
    mrnet_confusion_init(&total, K);
    double acc[256], f1[256];
    int done = 0, done_folds[256];
    o.stop = cli_stop_on_signal();
    for (int i = 0; i < n_folds && st == MRNET_OK; i++) {
        if (!fold_wanted(x.folds, folds[i]))
            continue;
        char dir[4096], prefix[32], last[4200];
        snprintf(dir, sizeof dir, "%s/fold-%d", out, folds[i]);
        snprintf(prefix, sizeof prefix, "fold %d: ", folds[i]);
        mrnet_train_options fo = o;
        fo.valid_fold = folds[i];
        fo.out_dir = dir;
        train_view view = {.quiet = quiet, .prefix = prefix};
        cli_progress_init(&view.bar, 10.0);
        fo.progress = train_flags_progress;
        fo.progress_ctx = &view;
        mrnet_train_result r;
        st = mrnet_train(store_dir, &fo, &r);
        snprintf(last, sizeof last, "%s/last.safetensors", dir);
        if (st == MRNET_OK)
            st = evaluate_fold(last, fs, folds[i], x.view, crop, o.batch, &total, &acc[done], &f1[done]);
        if (st == MRNET_OK) {
            printf("fold %d: accuracy %.4f macro-F1 %.4f (%d training, %d test)\n", folds[i],
                   acc[done], f1[done], r.n_train, r.n_valid);
            fflush(stdout);
            done_folds[done++] = folds[i];
        }
    }
    cli_stop_restore();
    if (st == MRNET_OK && done > 0) {
        double ma, sa, mf, sf;
        mrnet_mean_std(acc, done, &ma, &sa);
        mrnet_mean_std(f1, done, &mf, &sf);
        printf("cross-validation over %d folds: accuracy %.4f +- %.4f, macro-F1 %.4f +- %.4f\n",
               done, ma, sa, mf, sf);
        cJSON *j = metrics_cv_json(acc, f1, done);
        char path[4200];
        if (j) {
            cJSON_AddItemToObject(j, "fold_ids", cJSON_CreateIntArray(done_folds, done));
            cJSON_AddStringToObject(j, "view", mrnet_view_name(x.view));
            snprintf(path, sizeof path, "%s/cv.json", out);
            st = metrics_write_json(path, j);
            cJSON_Delete(j);
        }
        snprintf(path, sizeof path, "%s/confusion.svg", out);
        if (st == MRNET_OK)
            st = mrnet_plot_confusion(path, "Confusion matrix, all folds", total.counts, K,
                                      (const char *const *)names);
        if (st == MRNET_OK)
            printf("results in %s: cv.json confusion.svg fold-*/\n", out);
    }
    mrnet_confusion_free(&total);
    mrnet_store_close(fs);
    return st == MRNET_OK ? 0 : cli_fail("cv", st);
}
