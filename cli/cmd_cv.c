/* mrnet cv STORE -o OUT: k-fold cross-validation. For each fold k, trains on
 * the other folds (validating on k every epoch, as the release does), then
 * evaluates the last epoch's model on fold k over whole tracks; reports the
 * mean and standard deviation over folds. */
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>
#include "train_flags.h"

typedef struct {
    mrnet_view view;
    int folds[MRNET_CV_MAX_FOLDS]; /* --folds */
    int n_folds;
    bool bad_folds;
} cv_extra;

/* "0,3" -> folds; false on anything but non-negative integers. */
static bool parse_folds(const char *list, cv_extra *x)
{
    x->n_folds = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        char buf[16];
        long v;
        if (n == 0 || n >= sizeof buf || x->n_folds == MRNET_CV_MAX_FOLDS)
            return false;
        memcpy(buf, p, n);
        buf[n] = '\0';
        if (!cli_parse_int(buf, 0, 1000000, &v))
            return false;
        x->folds[x->n_folds++] = (int)v;
        p += n + (p[n] == ',');
    }
    return x->n_folds > 0;
}

static bool on_extra(int c, const char *arg, void *ctx)
{
    cv_extra *x = ctx;
    if (c == 'v')
        return mrnet_view_parse(arg, &x->view) == MRNET_OK;
    if (c == 'k')
        return parse_folds(arg, x);
    return false;
}

typedef struct {
    train_view view;
    char prefix[32];
} cv_view;

static void on_fold_start(void *ctx, int fold)
{
    cv_view *v = ctx;
    snprintf(v->prefix, sizeof v->prefix, "fold %d: ", fold);
    v->view.prefix = v->prefix;
    cli_progress_init(&v->view.bar, 10.0);
}

static void on_fold_done(void *ctx, const mrnet_cv_fold *f)
{
    (void)ctx;
    printf("fold %d: accuracy %.4f macro-F1 %.4f (%d training, %d test)\n", f->fold, f->accuracy,
           f->macro_f1, f->n_train, f->n_test);
    fflush(stdout);
}

int cmd_cv(int argc, char **argv)
{
    static const struct option extra[] = {{"view", required_argument, 0, 'v'},
                                          {"folds", required_argument, 0, 'k'},
                                          {0, 0, 0, 0}};
    mrnet_cv_options cv;
    mrnet_cv_options_default(&cv);
    cv_extra x = {.view = MRNET_VIEW_WINDOWS};
    bool quiet = false;
    int rc = train_flags_parse(
        argc, argv, "cv", &cv.train, &quiet, extra, on_extra, &x, "mrnet cv STORE -o OUT_DIR [options]",
        "k-fold cross-validation over the store's folds (mrnet extract --dataset gtzan|melon,\n"
        "or a manifest with a fold column): OUT_DIR/fold-K/ per fold, OUT_DIR/cv.json and\n"
        "OUT_DIR/confusion.svg (summed over folds).\n"
        "  --folds LIST         only these folds (e.g. 0,1)\n"
        "  --view V             test view: windows (default), crop or full\n"
        "  (--fold is set per fold; other options as mrnet train)\n");
    if (rc >= 0)
        return rc;
    if (optind + 1 != argc || !cv.train.out_dir)
        return cli_error("cv", 2, "usage: mrnet cv STORE -o OUT_DIR [options] (--help)");
    const char *store_dir = argv[optind];
    mrnet_status guard = cli_output_not_input("-o", cv.train.out_dir, (const char *const[]){store_dir}, 1);
    if (guard != MRNET_OK)
        return cli_fail("cv", guard);
    cv_view view = {.view = {.quiet = quiet}};
    cv.view = x.view;
    cv.folds = x.n_folds ? x.folds : NULL;
    cv.n_folds = x.n_folds;
    cv.train.progress = train_flags_progress;
    cv.train.progress_ctx = &view.view;
    cv.on_fold_start = on_fold_start;
    cv.on_fold_done = on_fold_done;
    cv.fold_ctx = &view;
    cv.train.stop = cli_stop_on_signal();
    cv.train.comm = cli_collective();
    mrnet_cv_result res;
    mrnet_status st = mrnet_cross_validate(store_dir, &cv, &res);
    cli_stop_restore();
    if (st != MRNET_OK)
        return cli_fail("cv", st);
    if (res.n_folds > 0) {
        printf("cross-validation over %d folds: accuracy %.4f +- %.4f, macro-F1 %.4f +- %.4f\n",
               res.n_folds, res.mean_accuracy, res.std_accuracy, res.mean_macro_f1, res.std_macro_f1);
        printf("results in %s: cv.json confusion.svg fold-*/\n", cv.train.out_dir);
    }
    return 0;
}
