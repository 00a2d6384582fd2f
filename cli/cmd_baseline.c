/* mrnet baseline STORE -o DIR: the classical baseline to beat, an RBF-SVM
 * (libsvm) on per-clip statistics of the stored features, C and gamma chosen
 * on the valid split, scored on the test split with mrnet eval's report. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "report.h"
#include <mrnet/mrnet.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet baseline STORE -o DIR [options]\n"
            "Trains the baseline to beat: an RBF-SVM (libsvm) on per-clip statistics of the\n"
            "stored features (per feature row: mean and std over time, mean and std of the\n"
            "first-order deltas; standardised with the train split's statistics). Every (C,\n"
            "gamma) of the grid is trained on train and scored on valid; the best validation\n"
            "macro-F1 chooses, and the model trained on train is kept. Then the test split\n"
            "is scored with mrnet eval's report (and per group when the store has groups).\n"
            "Writes DIR/svm.model, DIR/baseline.json (standardisation, C, gamma, the grid),\n"
            "DIR/metrics.json (mrnet eval's keys) and DIR/confusion.svg.\n"
            "  -o, --output DIR     the baseline's folder (created)\n"
            "  --split NAME         the split scored (default: test, if the store has one)\n"
            "  --c LIST             values of C (default 0.5,2,8,32,128,512)\n"
            "  --gamma LIST         values of gamma (default 1/64,1/16,1/4,1,4 divided by the\n"
            "                       number of statistics)\n"
            "  --select f1|accuracy the validation figure that chooses (default f1: macro-F1)\n"
            "  --refit              retrain the chosen (C, gamma) on train + valid (the valid\n"
            "                       figures then no longer describe the model kept)\n"
            "  --no-class-weights   the same C for every class (default C * largest / count)\n"
            "  --predictions FILE   one CSV row per scored item: path,label,predicted,score\n"
            "                       (score: the predicted class's share of one-vs-one votes)\n"
            "  --quiet              no progress lines\n"
            "mrnet eval CHECKPOINT STORE --baseline DIR shows it beside a model.\n");
}

typedef struct {
    const char *store_dir, *out_dir, *split, *predictions;
    double c_values[64], gamma_values[64];
    int n_c, n_gamma;
    bool quiet;
    mrnet_baseline_options opt;
} baseline_args;

/* "1,2.5,1e3" -> values > 0; false for anything else. */
static bool parse_list(const char *s, double *out, int max, int *n)
{
    *n = 0;
    for (const char *p = s; *n < max;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v > 0) || !isfinite(v))
            return false;
        out[(*n)++] = v;
        if (*end == '\0')
            return true;
        if (*end != ',')
            return false;
        p = end + 1;
    }
    return false;
}

static int parse(int argc, char **argv, baseline_args *a)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},     {"split", required_argument, 0, 's'},
        {"c", required_argument, 0, 'c'},          {"gamma", required_argument, 0, 'g'},
        {"select", required_argument, 0, 'S'},     {"refit", no_argument, 0, 'r'},
        {"no-class-weights", no_argument, 0, 'w'}, {"predictions", required_argument, 0, 'P'},
        {"quiet", no_argument, 0, 'q'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    mrnet_baseline_options_default(&a->opt);
    int c, index;
    while ((c = getopt_long(argc, argv, "o:h", opts, &index)) != -1) {
        bool ok = true;
        switch (c) {
        case 'o': a->out_dir = optarg; break;
        case 's': a->split = optarg; break;
        case 'c': ok = parse_list(optarg, a->c_values, 64, &a->n_c); break;
        case 'g': ok = parse_list(optarg, a->gamma_values, 64, &a->n_gamma); break;
        case 'S':
            ok = !strcmp(optarg, "f1") || !strcmp(optarg, "accuracy");
            a->opt.select_accuracy = !strcmp(optarg, "accuracy");
            break;
        case 'r': a->opt.refit_train_valid = true; break;
        case 'w': a->opt.class_weights = false; break;
        case 'P': a->predictions = optarg; break;
        case 'q': a->quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok)
            return cli_error("baseline", 2, "bad value '%s' for --%s", optarg, opts[index].name);
    }
    if (optind + 1 != argc || !a->out_dir) {
        usage(stderr);
        return 2;
    }
    a->store_dir = argv[optind];
    if (a->n_c) {
        a->opt.c_values = a->c_values;
        a->opt.n_c = a->n_c;
    }
    if (a->n_gamma) {
        a->opt.gamma_values = a->gamma_values;
        a->opt.n_gamma = a->n_gamma;
    }
    return -1;
}

typedef struct {
    cli_progress bar;
    bool quiet;
} grid_view;

static void on_fit(void *ctx, const mrnet_baseline_fit *fit, int done, int total)
{
    grid_view *v = ctx;
    if (v->quiet)
        return;
    cli_progress_print(&v->bar, done == total, "grid %d/%d [%s] C %g gamma %.3g: valid macro-F1 %.3f", done, total,
                       cli_bar(done, total, 20), fit->C, fit->gamma, fit->valid_macro_f1);
    if (done == total)
        cli_progress_done(&v->bar);
}

static void print_grid(const mrnet_baseline *b)
{
    const mrnet_baseline_fit *g, chosen = mrnet_baseline_chosen(b);
    int n = mrnet_baseline_grid(b, &g), n_train, n_valid;
    mrnet_baseline_sizes(b, &n_train, &n_valid);
    printf("RBF-SVM on %d clip statistics; grid on %d train and %d valid clips:\n", mrnet_baseline_feature_count(b),
           n_train, n_valid);
    printf("%12s %12s %11s %11s %8s\n", "C", "gamma", "valid acc", "valid F1", "SVs");
    for (int i = 0; i < n; i++)
        printf("%12g %12.4g %11.4f %11.4f %8d%s\n", g[i].C, g[i].gamma, g[i].valid_accuracy, g[i].valid_macro_f1,
               g[i].support_vectors, g[i].C == chosen.C && g[i].gamma == chosen.gamma ? "  <- chosen" : "");
    printf("chosen by validation %s: C %g, gamma %.4g (valid accuracy %.4f, macro-F1 %.4f); kept: the model "
           "trained on %s\n\n",
           mrnet_baseline_selects_accuracy(b) ? "accuracy" : "macro-F1", chosen.C, chosen.gamma,
           chosen.valid_accuracy, chosen.valid_macro_f1, mrnet_baseline_refit(b) ? "train + valid" : "train");
}

typedef struct {
    FILE *f;
    const mrnet_store *fs;
    const mrnet_baseline *b;
    report_items items;
} item_ctx;

static void on_item(void *ctx, int entry, int truth, const float *scores)
{
    item_ctx *x = ctx;
    int K = mrnet_baseline_classes(x->b), k = mrnet_argmax(scores, K);
    report_items_add(&x->items, K, entry, truth, scores);
    if (!x->f)
        return;
    cli_csv_field(x->f, mrnet_store_get(x->fs, entry)->source);
    fputc(',', x->f);
    cli_csv_field(x->f, mrnet_baseline_label(x->b, truth));
    fputc(',', x->f);
    cli_csv_field(x->f, mrnet_baseline_label(x->b, k));
    fprintf(x->f, ",%.6f\n", scores[k]);
}

static char *out_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static mrnet_status write_report(const baseline_args *a, const mrnet_baseline *b, const mrnet_metrics *r,
                                 const mrnet_confusion *cm, const mrnet_metrics *gr, const mrnet_confusion *gcm,
                                 int groups, const char *split)
{
    int K = mrnet_baseline_classes(b);
    char **names = malloc((size_t)K * sizeof(char *));
    char *json = out_path(a->out_dir, "metrics.json"), *svg = out_path(a->out_dir, "confusion.svg");
    mrnet_status st = names && json && svg ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int k = 0; st == MRNET_OK && k < K; k++)
        names[k] = (char *)mrnet_baseline_label(b, k);
    mrnet_baseline_fit chosen = mrnet_baseline_chosen(b);
    char C[32], gamma[32];
    snprintf(C, sizeof C, "%.17g", chosen.C);
    snprintf(gamma, sizeof gamma, "%.17g", chosen.gamma);
    const char *extra[] = {"baseline", a->out_dir, "store", a->store_dir, "selection", split,
                           "view", "clip statistics", "model", "rbf-svm", "C", C, "gamma", gamma, NULL};
    mrnet_report_section section = {"groups", gr, gcm, names};
    if (st == MRNET_OK)
        st = mrnet_metrics_write_json_sections(json, r, cm, names, &section, groups ? 1 : 0, extra);
    if (st == MRNET_OK)
        st = mrnet_plot_confusion(svg, "Confusion matrix (RBF-SVM baseline)", cm->counts, K,
                                  (const char *const *)names);
    if (st == MRNET_OK)
        printf("report: %s %s\n", json, svg);
    free(names);
    free(json);
    free(svg);
    return st;
}

/* Scores the split; nothing when the default split is absent. */
static mrnet_status score(const baseline_args *a, const mrnet_baseline *b, const mrnet_store *fs)
{
    const char *split = a->split ? a->split : "test";
    int K = mrnet_baseline_classes(b);
    mrnet_confusion cm;
    MRNET_TRY(mrnet_confusion_init(&cm, K));
    item_ctx x = {NULL, fs, b, {0}};
    cli_output csv = {0};
    mrnet_status st = MRNET_OK;
    if (a->predictions && (st = cli_output_open(&csv, a->predictions)) == MRNET_OK) {
        x.f = csv.f;
        fputs("path,label,predicted,score\n", x.f);
    }
    int used = 0, unknown = 0;
    if (st == MRNET_OK)
        st = mrnet_baseline_evaluate_store(b, fs, (mrnet_selection){split, -1}, &cm, &used, &unknown, on_item, &x);
    if (a->predictions && x.f) {
        if (st == MRNET_OK && used)
            st = cli_output_commit(&csv);
        else
            cli_output_discard(&csv);
    }
    if (st == MRNET_OK && used == 0) {
        if (a->split)
            st = mrnet_fail(MRNET_ERR_ARG, "%s: no labelled entries in %s", a->store_dir, split);
        else
            printf("the store has no labelled test entries: nothing scored (--split NAME scores another)\n");
    }
    int K_names = K;
    char **names = malloc((size_t)K_names * sizeof(char *));
    if (st == MRNET_OK && !names)
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int k = 0; names && k < K; k++)
        names[k] = (char *)mrnet_baseline_label(b, k);
    mrnet_metrics r, gr;
    mrnet_confusion gcm;
    int groups = 0;
    if (st == MRNET_OK && used && (st = mrnet_metrics_compute(&cm, &r)) == MRNET_OK) {
        printf("%s on %s (%s, view clip statistics)\n", a->out_dir, a->store_dir, split);
        if (unknown)
            printf("note: %d entries of classes the baseline does not know were left out\n", unknown);
        report_print(stdout, &r, &cm, names);
        st = report_groups(fs, &x.items, &gcm, &gr, &groups);
        if (st == MRNET_OK && groups)
            report_print_groups(stdout, &gr, groups);
        if (st == MRNET_OK)
            st = write_report(a, b, &r, &cm, &gr, &gcm, groups, split);
        if (groups) {
            mrnet_metrics_free(&gr);
            mrnet_confusion_free(&gcm);
        }
        mrnet_metrics_free(&r);
    }
    free(names);
    report_items_free(&x.items);
    mrnet_confusion_free(&cm);
    return st;
}

int cmd_baseline(int argc, char **argv)
{
    baseline_args a;
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    grid_view view = {.quiet = a.quiet};
    cli_progress_init(&view.bar, 10.0);
    a.opt.progress = on_fit;
    a.opt.progress_ctx = &view;
    mrnet_store *fs = NULL;
    mrnet_baseline *b = NULL;
    mrnet_status st = mrnet_store_open(a.store_dir, &fs);
    if (st == MRNET_OK && (st = mrnet_baseline_train(fs, &a.opt, &b)) != MRNET_OK)
        mrnet_fail_context(st, "%s", a.store_dir);
    if (st == MRNET_OK)
        st = mrnet_baseline_save(b, a.out_dir);
    if (st == MRNET_OK) {
        print_grid(b);
        st = score(&a, b, fs);
    }
    mrnet_baseline_free(b);
    mrnet_store_close(fs);
    return st == MRNET_OK ? 0 : cli_fail("baseline", st);
}
