/* mrnet demo: the whole pipeline on data it makes itself. Generates a small
 * labelled set of synthetic music in five styles, extracts log-mel features,
 * trains a reduced MRNet, evaluates it on held-out clips, draws the training
 * curve, the confusion matrix and the route weights, and classifies a few
 * files. Every step is resumable: run it again and finished work is kept. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>
#include "train_flags.h"

typedef struct {
    const char *out;
    int clips, epochs, channels, embed, batch;
    double seconds, crop_seconds;
    uint64_t seed;
    bool quiet, robust;
} demo_options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet demo [-o DIR] [options]\n"
            "Runs the whole pipeline on synthetic music it generates (5 styles): features,\n"
            "training, evaluation on held-out clips, plots and predictions. A few minutes on\n"
            "2 cores. Results in DIR (default mrnet-demo).\n"
            "  --clips N        clips per style (default 60, 8 s each)\n"
            "  --epochs N       (default 40)   --channels C (default 96)  --embed E (default 64)\n"
            "  --batch N        (default 16)   --crop-seconds S (default 4)\n"
            "  --seed N         (default 1)\n"
            "  --recipe R       paper (default) or robust (mrnet train --recipe; the sizes\n"
            "                   above stay the demo's)\n"
            "  --quiet          no progress lines\n");
}

static int parse(int argc, char **argv, demo_options *o)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"clips", required_argument, 0, 'n'},
        {"epochs", required_argument, 0, 'e'}, {"channels", required_argument, 0, 'c'},
        {"embed", required_argument, 0, 'm'},  {"batch", required_argument, 0, 'b'},
        {"crop-seconds", required_argument, 0, 'r'}, {"seed", required_argument, 0, 's'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {"recipe", required_argument, 0, 'R'}, {0, 0, 0, 0}};
    *o = (demo_options){.out = "mrnet-demo", .clips = 60, .epochs = 40, .channels = 96,
                        .embed = 64, .batch = 16, .seconds = 8, .crop_seconds = 4, .seed = 1};
    int c, index;
    long v;
    while ((c = getopt_long(argc, argv, "o:h", opts, &index)) != -1) {
        bool ok = true;
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'n': ok = cli_parse_int(optarg, 4, 10000, &v); o->clips = (int)v; break;
        case 'e': ok = cli_parse_int(optarg, 1, 100000, &v); o->epochs = (int)v; break;
        case 'c': ok = cli_parse_int(optarg, 16, 4096, &v); o->channels = (int)v; break;
        case 'm': ok = cli_parse_int(optarg, 1, 4096, &v); o->embed = (int)v; break;
        case 'b': ok = cli_parse_int(optarg, 2, 4096, &v); o->batch = (int)v; break;
        case 'r': ok = cli_parse_double(optarg, &o->crop_seconds) && o->crop_seconds > 0 && o->crop_seconds <= 8; break;
        case 's': ok = cli_parse_int(optarg, 0, 0x7fffffffL, &v); o->seed = (uint64_t)v; break;
        case 'q': o->quiet = true; break;
        case 'R':
            if (!train_flags_recipe(optarg, &o->robust))
                return cli_error("demo", 2, "bad value '%s' for --recipe: choose paper or robust", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok)
            return cli_error("demo", 2, "bad value '%s' for --%s", optarg, opts[index].name);
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

static void path_in(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

static mrnet_status make_data(const demo_options *o, char *data_dir, size_t size)
{
    path_in(data_dir, size, o->out, "data");
    mrnet_demo_options so = {.root = data_dir, .clips_per_style = o->clips, .seconds = o->seconds,
                        .sample_rate = 16000, .seed = o->seed};
    mrnet_demo_report rep;
    printf("[1/5] synthetic music: %d styles x %d clips of %.0f s in %s\n", mrnet_demo_style_count(), o->clips,
           o->seconds, data_dir);
    fflush(stdout);
    MRNET_TRY(mrnet_demo_write(&so, &rep));
    printf("      %d written, %d kept from an earlier run\n", rep.written, rep.existing);
    return MRNET_OK;
}

static mrnet_status extract(const demo_options *o, const char *data_dir, char *store, size_t size,
                            volatile sig_atomic_t *stop)
{
    char manifest[8400 + 16];
    path_in(manifest, sizeof manifest, data_dir, "manifest.csv");
    path_in(store, size, o->out, "store");
    printf("[2/5] log-mel features (Melon preset: 16 kHz, 48 bands, hop 256) into %s\n", store);
    fflush(stdout);
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    mrnet_status st = mrnet_dataset_read_manifest(&ds, manifest);
    if (st == MRNET_OK)
        st = mrnet_dataset_finalize_labels(&ds, NULL, 0);
    mrnet_extract_options eo;
    mrnet_extract_options_default(&eo);
    eo.threads = 2;
    eo.stop = stop;
    mrnet_extract_report rep = {0};
    if (st == MRNET_OK)
        st = mrnet_store_extract(store, &ds, &eo, &rep);
    if (st == MRNET_OK)
        printf("      %d files: %d computed, %d reused, %d failed (%.1f s)\n", rep.total,
               rep.computed, rep.reused, rep.failed, rep.elapsed);
    mrnet_extract_report_free(&rep);
    mrnet_dataset_free(&ds);
    return st;
}

static mrnet_status train(const demo_options *o, const char *store, char *run_dir, size_t size,
                          volatile sig_atomic_t *stop, mrnet_train_result *r)
{
    path_in(run_dir, size, o->out, "run");
    mrnet_train_options to;
    mrnet_train_options_default(&to);
    if (o->robust)
        mrnet_train_options_robust(&to);
    to.epochs = o->epochs;
    to.batch = o->batch;
    to.channels = o->channels;
    to.embed = o->embed;
    to.crop_seconds = o->crop_seconds;
    to.seed = o->seed;
    to.out_dir = run_dir;
    to.resume = true; /* a rerun continues (or finds the run complete) */
    to.stop = stop;
    train_view view = {.quiet = o->quiet};
    cli_progress_init(&view.bar, 10.0);
    to.progress = train_flags_progress;
    to.progress_ctx = &view;
    printf("[3/5] training MRNet (C %d, E %d, dilations 2 3 4) for %d epochs, batch %d, %.0f-s "
           "crops, the %s recipe otherwise, into %s\n",
           o->channels, o->embed, o->epochs, o->batch, o->crop_seconds,
           o->robust ? "robust (docs/RECIPES.md)" : "paper's", run_dir);
    fflush(stdout);
    MRNET_TRY(mrnet_train(store, &to, r));
    printf("      %d epochs in %.1f s; best validation accuracy %.3f (epoch %d)\n", r->epochs_run,
           r->seconds, r->best_accuracy, r->best_epoch);
    return MRNET_OK;
}

/* Test-split metrics (whole clips, windows averaged), confusion matrix, and
 * the predictions of a few clips. */
static mrnet_status evaluate(const demo_options *o, const char *store_dir, const char *run_dir)
{
    char path[8400 + 32];
    path_in(path, sizeof path, run_dir, "best.safetensors");
    mrnet_model *m;
    MRNET_TRY(mrnet_model_load(path, 0, &m));
    mrnet_store *fs = NULL;
    mrnet_status st = mrnet_store_open(store_dir, &fs);
    int K = mrnet_model_config(m)->classes;
    double rate = fs ? mrnet_features_settings_frame_rate(mrnet_store_settings(fs)) : 0;
    int64_t crop = (int64_t)llround(o->crop_seconds * rate);
    mrnet_infer_options eo = {.view = MRNET_VIEW_WINDOWS, .crop = crop, .hop = crop / 2, .batch = o->batch};
    mrnet_confusion cm = {0};
    mrnet_metrics rep = {0};
    int used = 0, unknown = 0;
    if (st == MRNET_OK)
        st = mrnet_confusion_init(&cm, K);
    if (st == MRNET_OK)
        st = mrnet_evaluate_store(m, fs, (mrnet_selection){"test", -1}, &eo, &cm, &used, &unknown, NULL, NULL);
    if (st == MRNET_OK)
        st = mrnet_metrics_compute(&cm, &rep);
    const char **names = calloc((size_t)K, sizeof *names);
    float *p = malloc(sizeof(float) * (size_t)K);
    if (st == MRNET_OK && (!names || !p))
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d classes", K);
    for (int k = 0; names && k < K; k++)
        names[k] = mrnet_model_label(m, k);
    if (st == MRNET_OK) {
        printf("[4/5] held-out test clips: %d, accuracy %.3f, macro-F1 %.3f (chance %.3f)\n", used,
               rep.accuracy, rep.macro_f1, 1.0 / K);
        path_in(path, sizeof path, o->out, "metrics.json");
        st = mrnet_metrics_write_json(path, &rep, &cm, (char *const *)names, NULL);
    }
    if (st == MRNET_OK) {
        path_in(path, sizeof path, o->out, "confusion.svg");
        st = mrnet_plot_confusion(path, "Demo: test clips", cm.counts, K, names);
    }
    /* a few predictions: the first test clip of each style */
    for (int k = 0; st == MRNET_OK && k < K; k++) {
        int entry = -1;
        for (int i = 0; i < mrnet_store_count(fs) && entry < 0; i++) {
            const mrnet_store_entry *e = mrnet_store_get(fs, i);
            if (!strcmp(e->split, "test") && e->label_index == k)
                entry = i;
        }
        if (entry < 0)
            continue;
        const mrnet_store_entry *e = mrnet_store_get(fs, entry);
        const char *shown = strstr(e->source, "/data/");
        mrnet_store_source_ctx ctx = {fs, &entry};
        mrnet_feature_source src = mrnet_store_source(&ctx, 1);
        st = mrnet_infer_source(m, &src, &eo, p, NULL, NULL, NULL);
        if (st == MRNET_OK) {
            int best = mrnet_argmax(p, K);
            printf("      %-32s -> %-10s %.2f (true: %s)\n", shown ? shown + 6 : e->source,
                   names[best], p[best], e->label);
        }
    }
    free(names);
    free(p);
    mrnet_metrics_free(&rep);
    mrnet_confusion_free(&cm);
    mrnet_store_close(fs);
    if (st == MRNET_OK) {
        const float *w = mrnet_model_route_weights(m);
        double v[MRNET_ROUTES];
        const char *routes[MRNET_ROUTES];
        for (int j = 0; j < MRNET_ROUTES; j++) {
            v[j] = w[j];
            routes[j] = mrnet_route_name(j);
        }
        bool gate = mrnet_model_config(m)->route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM;
        mrnet_plot_bar_options bo = {.title = "Demo: learned route weights", .x_label = "route",
                              .y_label = gate ? "gate R softmax(w_all)" : "w_all",
                              .value_format = "%.3f"};
        path_in(path, sizeof path, o->out, "routes.svg");
        st = mrnet_plot_bars(path, &bo, routes, MRNET_ROUTES, NULL, v, 1);
    }
    mrnet_model_free(m);
    return st;
}

int cmd_demo(int argc, char **argv)
{
    demo_options o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (mrnet_make_dirs(o.out) != MRNET_OK)
        return cli_fail("demo", MRNET_ERR_IO);
    char data_dir[8400], store[8400], run_dir[8400];
    volatile sig_atomic_t *stop = cli_stop_on_signal();
    mrnet_train_result r;
    mrnet_status st = make_data(&o, data_dir, sizeof data_dir);
    if (st == MRNET_OK)
        st = extract(&o, data_dir, store, sizeof store, stop);
    if (st == MRNET_OK)
        st = train(&o, store, run_dir, sizeof run_dir, stop, &r);
    cli_stop_restore();
    if (st == MRNET_OK)
        st = evaluate(&o, store, run_dir);
    if (st != MRNET_OK)
        return cli_fail("demo", st);
    printf("[5/5] results in %s/\n"
           "      run/best.safetensors   the trained model (mrnet info, mrnet predict)\n"
           "      run/curve.svg          training curve      run/log.jsonl  per-epoch log\n"
           "      confusion.svg          test confusion      metrics.json   test metrics\n"
           "      routes.svg             learned route weights\n"
           "try:  mrnet predict %s/run/best.safetensors %s/techno --top 2\n",
           o.out, o.out, data_dir);
    return 0;
}
