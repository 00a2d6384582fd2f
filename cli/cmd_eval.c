/* mrnet eval CHECKPOINT STORE: accuracy, macro-F1, per-class figures and the
 * confusion matrix of a checkpoint on a feature store's split or fold. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "eval_extra.h"
#include <mrnet/mrnet.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet eval CHECKPOINT STORE [options]\n"
            "Evaluates a checkpoint on the labelled entries of a feature store.\n"
            "  --split NAME         entries of this split (default: test, else valid)\n"
            "  --fold K             entries of fold K instead\n"
            "  --all                every labelled entry\n"
            "  --view V             windows: 6-s windows over the whole track, probabilities\n"
            "                       averaged (default); crop: the first 6 s; full: the whole\n"
            "                       track in one pass\n"
            "  --crop-seconds S     window length (default 6)   --hop-seconds S (default 3)\n"
            "  --frame-rate F       frames per second, for stores of .npy features\n"
            "  --batch N            windows per pass (default 32)\n"
            "  --json FILE          the report as JSON\n"
            "  --confusion FILE     the confusion matrix as SVG\n"
            "  --predictions FILE   one CSV row per item: path,label,predicted,probability\n"
            "  --drop-route LIST    zero these routes (e.g. L1 or H,M2) at evaluation; the\n"
            "                       checkpoint is unchanged (mrnet routes --importance: all)\n"
            "  --baseline DIR       also score the baseline of DIR (mrnet baseline) on the same\n"
            "                       entries and show both in one table (JSON: \"baseline\")\n"
            "A store with groups (a manifest's group column) is also scored per group: the\n"
            "clips' probabilities averaged over a track (JSON: \"groups\").\n"
            "(--json - or --predictions -: to standard output; the table goes to stderr)\n");
}

typedef struct {
    const char *checkpoint, *store_dir, *split, *json, *confusion, *predictions;
    int fold;
    bool all, table_to_stderr;
    mrnet_view view;
    double crop_seconds, hop_seconds, frame_rate;
    long batch;
    const char *baseline;   /* --baseline DIR */
    const char *drop_route; /* as given */
    unsigned drop_mask;
} eval_args;

static int parse(int argc, char **argv, eval_args *a)
{
    static const struct option opts[] = {
        {"split", required_argument, 0, 's'}, {"fold", required_argument, 0, 'f'},
        {"all", no_argument, 0, 'a'},         {"view", required_argument, 0, 'v'},
        {"crop-seconds", required_argument, 0, 'c'}, {"hop-seconds", required_argument, 0, 'p'},
        {"frame-rate", required_argument, 0, 'r'}, {"batch", required_argument, 0, 'b'},
        {"json", required_argument, 0, 'j'},  {"confusion", required_argument, 0, 'm'},
        {"predictions", required_argument, 0, 'P'}, {"drop-route", required_argument, 0, 'D'},
        {"baseline", required_argument, 0, 'B'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    *a = (eval_args){.fold = -1, .view = MRNET_VIEW_WINDOWS, .crop_seconds = 6, .hop_seconds = 3,
                     .batch = 32};
    int c, index;
    long v;
    while ((c = getopt_long(argc, argv, "h", opts, &index)) != -1) {
        bool ok = true;
        switch (c) {
        case 's': a->split = optarg; break;
        case 'f': ok = cli_parse_int(optarg, 0, 100000, &v); a->fold = (int)v; break;
        case 'a': a->all = true; break;
        case 'v': ok = mrnet_view_parse(optarg, &a->view) == MRNET_OK; break;
        case 'c': ok = cli_parse_double(optarg, &a->crop_seconds) && a->crop_seconds > 0; break;
        case 'p': ok = cli_parse_double(optarg, &a->hop_seconds) && a->hop_seconds > 0; break;
        case 'r': ok = cli_parse_double(optarg, &a->frame_rate) && a->frame_rate > 0; break;
        case 'b': ok = cli_parse_int(optarg, 1, 4096, &a->batch); break;
        case 'j': a->json = optarg; break;
        case 'm': a->confusion = optarg; break;
        case 'P': a->predictions = optarg; break;
        case 'B': a->baseline = optarg; break;
        case 'D':
            if (mrnet_parse_routes(optarg, &a->drop_mask) != MRNET_OK)
                return cli_error("eval", 2, "--drop-route: %s", mrnet_last_error());
            a->drop_route = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok)
            return cli_error("eval", 2, "bad value '%s' for --%s", optarg, opts[index].name);
    }
    if (optind + 2 != argc) {
        usage(stderr);
        return 2;
    }
    a->checkpoint = argv[optind];
    a->store_dir = argv[optind + 1];
    bool json_out = a->json && !strcmp(a->json, "-");
    bool rows_out = a->predictions && !strcmp(a->predictions, "-");
    if (json_out && rows_out)
        return cli_error("eval", 2, "--json - and --predictions -: only one can go to standard output");
    if (a->confusion && !strcmp(a->confusion, "-"))
        return cli_error("eval", 2, "--confusion -: the confusion matrix is a picture: give a file name");
    a->table_to_stderr = json_out || rows_out;
    return -1;
}

/* No output may be an input: the checkpoint, the store, its index. */
static mrnet_status check_outputs(const eval_args *a)
{
    char index[4096];
    snprintf(index, sizeof index, "%s/index.jsonl", a->store_dir);
    const char *in[] = {a->checkpoint, a->store_dir, index};
    MRNET_TRY(cli_output_not_input("--json", a->json, in, 3));
    MRNET_TRY(cli_output_not_input("--confusion", a->confusion, in, 3));
    return cli_output_not_input("--predictions", a->predictions, in, 3);
}

static mrnet_status write_outputs(const eval_args *a, const mrnet_metrics *r,
                                  const mrnet_confusion *cm, char *const *names,
                                  const char *selection, const eval_extra *x)
{
    mrnet_status st = MRNET_OK;
    if (a->json) {
        const char *extra[13] = {"checkpoint", a->checkpoint, "store", a->store_dir, "selection",
                                 selection, "view", mrnet_view_name(a->view)};
        int n = 8;
        if (a->drop_mask) {
            extra[n++] = "drop_routes";
            extra[n++] = a->drop_route;
        }
        if (a->baseline) {
            extra[n++] = "baseline_dir";
            extra[n++] = a->baseline;
        }
        /* "-": written through to whatever standard output is (mrnet/io.h) */
        st = mrnet_metrics_write_json_sections(strcmp(a->json, "-") ? a->json : "/dev/stdout", r, cm, names,
                                               x->sections, x->n_sections, extra);
    }
    if (st == MRNET_OK && a->confusion)
        st = mrnet_plot_confusion(a->confusion, "Confusion matrix", cm->counts, r->k,
                                  (const char *const *)names);
    return st;
}

typedef struct {
    FILE *f;
    const mrnet_store *fs;
    const mrnet_model *m;
    report_items *items; /* for the group and baseline figures */
} prediction_rows;

static void on_item(void *ctx, int entry, int truth, const float *probs)
{
    prediction_rows *r = ctx;
    int K = mrnet_model_config(r->m)->classes, k = mrnet_argmax(probs, K);
    report_items_add(r->items, K, entry, truth, probs);
    if (!r->f)
        return;
    cli_csv_field(r->f, mrnet_store_get(r->fs, entry)->source);
    fputc(',', r->f);
    cli_csv_field(r->f, mrnet_model_label(r->m, truth));
    fputc(',', r->f);
    cli_csv_field(r->f, mrnet_model_label(r->m, k));
    fprintf(r->f, ",%.6f\n", probs[k]);
}

static mrnet_status run(const eval_args *a, mrnet_model *m, mrnet_store *fs)
{
    double rate = a->frame_rate > 0 ? a->frame_rate : mrnet_features_settings_frame_rate(mrnet_store_settings(fs));
    if (!(rate > 0) && a->view != MRNET_VIEW_FULL)
        return mrnet_fail(MRNET_ERR_ARG, "%s: unknown frame rate (features from .npy files?): "
                          "give --frame-rate", a->store_dir);
    mrnet_selection sel = {a->all ? NULL : a->split, a->fold};
    if (!a->all && a->fold < 0 && !sel.split && !(sel.split = mrnet_default_eval_split(fs)))
        return mrnet_fail(MRNET_ERR_ARG, "%s: no test or valid split: give --split, --fold or --all",
                          a->store_dir);
    mrnet_infer_options eo = {.view = a->view, .crop = (int64_t)llround(a->crop_seconds * rate),
                       .hop = (int64_t)llround(a->hop_seconds * rate), .batch = (int)a->batch};
    mrnet_confusion cm;
    MRNET_TRY(mrnet_confusion_init(&cm, mrnet_model_config(m)->classes));
    int used, unknown;
    eval_extra x = {0};
    prediction_rows rows = {NULL, fs, m, &x.items};
    cli_output csv = {0};
    if (a->predictions) {
        mrnet_status os = cli_output_open(&csv, a->predictions);
        if (os != MRNET_OK) {
            mrnet_confusion_free(&cm);
            return os;
        }
        rows.f = csv.f;
        fputs("path,label,predicted,probability\n", rows.f);
    }
    mrnet_status st = mrnet_evaluate_store(m, fs, sel, &eo, &cm, &used, &unknown, on_item, &rows);
    if (a->predictions) {
        if (st == MRNET_OK)
            st = cli_output_commit(&csv);
        else
            cli_output_discard(&csv);
    }
    char selection[128];
    if (a->fold >= 0)
        snprintf(selection, sizeof selection, "fold %d", a->fold);
    else
        snprintf(selection, sizeof selection, "%s", sel.split ? sel.split : "all");
    if (st == MRNET_OK && used == 0)
        st = mrnet_fail(MRNET_ERR_ARG, "%s: no labelled entries in %s%s", a->store_dir, selection,
                        unknown ? " of classes the model knows" : "");
    int K = mrnet_model_config(m)->classes;
    char **names = malloc((size_t)K * sizeof(char *));
    if (st == MRNET_OK && !names)
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d class names", K);
    for (int k = 0; names && k < K; k++)
        names[k] = (char *)mrnet_model_label(m, k);
    mrnet_metrics r;
    if (st == MRNET_OK && (st = mrnet_metrics_compute(&cm, &r)) == MRNET_OK) {
        FILE *out = a->table_to_stderr ? stderr : stdout;
        fprintf(out, "%s on %s (%s, view %s%s%s)\n", a->checkpoint, a->store_dir, selection,
                mrnet_view_name(a->view), a->drop_mask ? ", routes zeroed: " : "",
                a->drop_mask ? a->drop_route : "");
        if (unknown)
            fprintf(out, "note: %d entries of classes the model does not know were left out\n", unknown);
        report_print(out, &r, &cm, names);
        st = eval_extra_run(&x, fs, sel, a->baseline, names);
        if (st == MRNET_OK)
            eval_extra_print(out, &x, &r, names);
        if (st == MRNET_OK)
            st = write_outputs(a, &r, &cm, names, selection, &x);
        mrnet_metrics_free(&r);
    }
    eval_extra_free(&x);
    free(names);
    mrnet_confusion_free(&cm);
    return st;
}

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    mrnet_model *m = NULL;
    mrnet_store *fs = NULL;
    mrnet_status st = check_outputs(&a);
    if (st == MRNET_OK)
        st = mrnet_model_load(a.checkpoint, 0, &m);
    if (st == MRNET_OK && !mrnet_model_label(m, 0))
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s: the checkpoint has no class names (mrnet.labels); "
                        "convert it with --labels", a.checkpoint);
    if (st == MRNET_OK && a.drop_mask)
        st = mrnet_model_set_drop_routes(m, mrnet_model_drop_routes(m) | a.drop_mask);
    if (st == MRNET_OK)
        st = mrnet_store_open(a.store_dir, &fs);
    if (st == MRNET_OK)
        st = run(&a, m, fs);
    mrnet_store_close(fs);
    mrnet_model_free(m);
    return st == MRNET_OK ? 0 : cli_fail("eval", st);
}
