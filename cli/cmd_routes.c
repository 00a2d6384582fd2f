/* mrnet routes CHECKPOINT...: the learned route weights w_all (paper Fig. 3)
 * as a table and an SVG bar chart; several checkpoints side by side. An
 * after-norm checkpoint shows its gate R softmax(w_all), the scale its routes
 * get after bn5 (mrnet_model_route_weights), and says so. With
 * --importance STORE, what each route is worth to the model: the accuracy
 * and macro-F1 lost when it is zeroed, and the share of fc6's weight that
 * reads it, beside w_all. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet routes CHECKPOINT... [--svg OUT.svg] [--names A,B,...] [--normalize]\n"
            "       mrnet routes CHECKPOINT... --importance STORE [options] [--json FILE] [--svg FILE]\n"
            "Shows the learned route weights (L1 L2 L3 H M1 M2 M3) of one checkpoint, or of\n"
            "several side by side (--compare is implied by several), e.g. a genre and a mood\n"
            "model: w_all for the paper's placement (before bn5, which undoes it), the gate\n"
            "R*softmax(w_all) for after-norm (1 = a route's equal share; training\n"
            "--route-weights after-norm).\n"
            "  --svg FILE       a bar chart (grouped by route, one bar per checkpoint)\n"
            "  --names LIST     legend names (default: the file names)\n"
            "  --normalize      divide each checkpoint's weights by their sum of |w|\n"
            "Route importance (the paper's w_all only acts through bn5's eps, so it does not\n"
            "measure it; an after-norm gate acts, but fc6 can still re-weight):\n"
            "  --importance STORE  per route and checkpoint: accuracy and macro-F1 lost when the\n"
            "                   route is zeroed at evaluation, the share of fc6's |weight| that\n"
            "                   reads it, and w_all; --svg draws the drops and shares\n"
            "  --json FILE      the importance table as JSON\n"
            "  --split NAME     entries of this split (default: test, else valid)\n"
            "  --fold K         entries of fold K    --all  every labelled entry\n"
            "  --view V         windows (default), crop or full, as in mrnet eval\n"
            "  --crop-seconds S (6)  --hop-seconds S (3)  --frame-rate F  --batch N (32)\n");
}

/* "dir/name.safetensors" -> "dir/name" for legends. */
static char *short_name(const char *path)
{
    char *s = strdup(path);
    char *dot = s ? strrchr(s, '.') : NULL;
    if (dot && !strcmp(dot, ".safetensors"))
        *dot = '\0';
    return s;
}

typedef struct {
    const char *svg, *names_arg, *store, *json, *split;
    bool normalize, all;
    int fold;
    mrnet_view view;
    double crop_seconds, hop_seconds, frame_rate;
    long batch;
} routes_args;

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, routes_args *a)
{
    static const struct option opts[] = {{"svg", required_argument, 0, 's'},
                                         {"names", required_argument, 0, 'n'},
                                         {"normalize", no_argument, 0, 'z'},
                                         {"compare", no_argument, 0, 'c'},
                                         {"importance", required_argument, 0, 'i'},
                                         {"json", required_argument, 0, 'j'},
                                         {"split", required_argument, 0, 'S'},
                                         {"fold", required_argument, 0, 'f'},
                                         {"all", no_argument, 0, 'a'},
                                         {"view", required_argument, 0, 'v'},
                                         {"crop-seconds", required_argument, 0, 'C'},
                                         {"hop-seconds", required_argument, 0, 'p'},
                                         {"frame-rate", required_argument, 0, 'r'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *a = (routes_args){.fold = -1, .view = MRNET_VIEW_WINDOWS, .crop_seconds = 6, .hop_seconds = 3,
                       .batch = 32};
    int c, index;
    long v;
    while ((c = getopt_long(argc, argv, "h", opts, &index)) != -1) {
        bool ok = true;
        switch (c) {
        case 's': a->svg = optarg; break;
        case 'n': a->names_arg = optarg; break;
        case 'z': a->normalize = true; break;
        case 'c': break;
        case 'i': a->store = optarg; break;
        case 'j': a->json = optarg; break;
        case 'S': a->split = optarg; break;
        case 'f': ok = cli_parse_int(optarg, 0, 100000, &v); a->fold = (int)v; break;
        case 'a': a->all = true; break;
        case 'v': ok = mrnet_view_parse(optarg, &a->view) == MRNET_OK; break;
        case 'C': ok = cli_parse_double(optarg, &a->crop_seconds) && a->crop_seconds > 0; break;
        case 'p': ok = cli_parse_double(optarg, &a->hop_seconds) && a->hop_seconds > 0; break;
        case 'r': ok = cli_parse_double(optarg, &a->frame_rate) && a->frame_rate > 0; break;
        case 'b': ok = cli_parse_int(optarg, 1, 4096, &a->batch); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok)
            return cli_error("routes", 2, "bad value '%s' for --%s", optarg, opts[index].name);
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (!a->store && (a->json || a->split || a->fold >= 0 || a->all))
        return cli_error("routes", 2, "--json, --split, --fold and --all need --importance STORE");
    if (a->store && a->normalize)
        return cli_error("routes", 2, "--normalize applies to the weight chart, not to --importance");
    return -1;
}

/* ---- route weights ---------------------------------------------------------- */

/* What the values of a checkpoint are, by its route-weight placement. */
static const char *placement_note(int mode)
{
    return mode == MRNET_ROUTE_WEIGHTS_AFTER_NORM
               ? "after-norm: the gate R*softmax(w_all) on bn5's output (1 = equal share; "
                 "they sum to the R live routes)"
               : "paper: w_all before bn5, which normalises it again (the values barely act)";
}

static void print_weights(int n, char **names, const double *values, const unsigned *dropped,
                          const int *placement)
{
    for (int i = 0; i < n; i++) {
        if (n > 1)
            printf("%s: ", names[i]);
        printf("placement %s\n", placement_note(placement[i]));
    }
    printf("%-6s", "route");
    for (int i = 0; i < n; i++)
        printf(" %14.14s", names[i]);
    printf("\n");
    for (int j = 0; j < MRNET_ROUTES; j++) {
        printf("%-6s", mrnet_route_name(j));
        for (int i = 0; i < n; i++)
            printf(" %13.5f%s", values[(size_t)i * MRNET_ROUTES + j], (dropped[i] & (1u << j)) ? "x" : " ");
        printf("\n");
    }
    for (int i = 0; i < n; i++)
        if (dropped[i]) {
            printf("x: route switched off in training (ablation)\n");
            break;
        }
}

/* The chart's title names what its bars are. */
static const char *weights_title(const routes_args *a, int n, const int *placement)
{
    int after = 0;
    for (int i = 0; i < n; i++)
        after += placement[i] == MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    if (after == 0)
        return a->normalize ? "Route weights (normalised)" : "Route weights w_all";
    if (after == n)
        return a->normalize ? "Route gate after bn5 (normalised: softmax(w_all))"
                            : "Route gate R softmax(w_all) after bn5";
    return a->normalize ? "Route weights (paper: w_all; after-norm: the gate; normalised)"
                        : "Route weights (paper: w_all; after-norm: the gate R softmax(w_all))";
}

static mrnet_status weights_chart(const routes_args *a, int n, char **names, const double *values,
                                  const int *placement)
{
    const char *routes[MRNET_ROUTES];
    for (int j = 0; j < MRNET_ROUTES; j++)
        routes[j] = mrnet_route_name(j);
    mrnet_plot_bar_options o = {.title = weights_title(a, n, placement),
                                .x_label = "route", .y_label = "weight", .value_format = "%.3f"};
    return mrnet_plot_bars(a->svg, &o, routes, MRNET_ROUTES, (const char *const *)names, values, n);
}

/* ---- route importance ------------------------------------------------------- */

typedef struct {
    mrnet_store *store;
    mrnet_selection sel;
    mrnet_infer_options io;
    char selection[128];
} importance_input;

static mrnet_status importance_open(const routes_args *a, importance_input *in)
{
    MRNET_TRY(mrnet_store_open(a->store, &in->store));
    const char *settings = mrnet_store_settings(in->store);
    double rate = a->frame_rate > 0 ? a->frame_rate : mrnet_features_settings_frame_rate(settings);
    if (!(rate > 0) && a->view != MRNET_VIEW_FULL)
        return mrnet_fail(MRNET_ERR_ARG, "%s: unknown frame rate (features from .npy files?): give --frame-rate",
                          a->store);
    in->sel = (mrnet_selection){a->all ? NULL : a->split, a->fold};
    if (!a->all && a->fold < 0 && !in->sel.split && !(in->sel.split = mrnet_default_eval_split(in->store)))
        return mrnet_fail(MRNET_ERR_ARG, "%s: no test or valid split: give --split, --fold or --all", a->store);
    in->io = (mrnet_infer_options){.view = a->view, .crop = (int64_t)llround(a->crop_seconds * rate),
                                   .hop = (int64_t)llround(a->hop_seconds * rate), .batch = (int)a->batch};
    if (a->fold >= 0)
        snprintf(in->selection, sizeof in->selection, "fold %d", a->fold);
    else
        snprintf(in->selection, sizeof in->selection, "%s", in->sel.split ? in->sel.split : "all");
    return MRNET_OK;
}

static void print_importance(const importance_input *in, const routes_args *a, int n, char **names,
                             const mrnet_route_importance *r)
{
    printf("route importance on %s (%s, view %s): figures lost when a route is zeroed at evaluation\n",
           a->store, in->selection, mrnet_view_name(a->view));
    bool paper = false, after = false;
    for (int i = 0; i < n; i++) {
        printf("%s: accuracy %.4f, macro-F1 %.4f with its routes (%d items)\n", names[i], r[i].accuracy,
               r[i].macro_f1, r[i].used);
        printf("%s: placement %s\n", names[i], placement_note(r[i].route_weights));
        after |= r[i].route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM;
        paper |= r[i].route_weights != MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    }
    printf("\n%-16s %-5s %9s %9s %9s %9s\n", "checkpoint", "route", paper ? "w_all" : "gate",
           "fc6 share", "acc drop", "F1 drop");
    bool any_off = false;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < MRNET_ROUTES; j++) {
            const mrnet_route_importance *x = &r[i];
            printf("%-16.16s %-5s %9.5f %9.4f", names[i], mrnet_route_name(j), x->w_all[j], x->fc6_share[j]);
            if (isnan(x->accuracy_drop[j])) {
                printf(" %9s %9s\n", "-", "-");
                any_off = true;
            } else {
                printf(" %+9.4f %+9.4f\n", x->accuracy_drop[j], x->macro_f1_drop[j]);
            }
        }
    if (any_off)
        printf("-: the route is off in training (ablation), or zeroing it would leave none\n");
    for (int i = 0; i < n; i++)
        printf("rank correlation (Spearman) with the accuracy drop, %s: %s %+.3f, fc6 share %+.3f "
               "(with the macro-F1 drop: %s %+.3f)\n",
               names[i], r[i].route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM ? "gate" : "w_all",
               r[i].rank_weight_accuracy, r[i].rank_share_accuracy,
               r[i].route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM ? "gate" : "w_all", r[i].rank_weight_f1);
    if (paper)
        printf("w_all scales a route just before bn5, which normalises it again: it barely acts%s.\n",
               after ? " (an after-norm checkpoint's column is its gate, which acts)" : "");
    else
        printf("The gate scales each route after bn5 and acts, but fc6 can re-weight what it passes.\n");
    printf("The drops measure what the trained model uses (docs/ROUTE_WEIGHTS.md).\n");
}

/* Bars per route: each checkpoint's accuracy drop, macro-F1 drop and fc6 share. */
static mrnet_status importance_chart(const char *path, int n, char **names, const mrnet_route_importance *r)
{
    int series = 3 * n;
    double *values = malloc((size_t)series * MRNET_ROUTES * sizeof(double));
    char **legend = calloc((size_t)series, sizeof(char *));
    mrnet_status st = values && legend ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    static const char *const what[3] = {"accuracy drop", "macro-F1 drop", "fc6 share"};
    for (int i = 0; st == MRNET_OK && i < n; i++)
        for (int m = 0; m < 3 && st == MRNET_OK; m++) {
            int s = 3 * i + m;
            size_t len = strlen(names[i]) + 32;
            if (!(legend[s] = malloc(len))) {
                st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
                break;
            }
            if (n > 1)
                snprintf(legend[s], len, "%s: %s", names[i], what[m]);
            else
                snprintf(legend[s], len, "%s", what[m]);
            for (int j = 0; j < MRNET_ROUTES; j++) {
                double v = m == 0 ? r[i].accuracy_drop[j] : m == 1 ? r[i].macro_f1_drop[j] : r[i].fc6_share[j];
                values[(size_t)s * MRNET_ROUTES + j] = isnan(v) ? 0 : v; /* off in training: no bar */
            }
        }
    if (st == MRNET_OK) {
        const char *routes[MRNET_ROUTES];
        for (int j = 0; j < MRNET_ROUTES; j++)
            routes[j] = mrnet_route_name(j);
        mrnet_plot_bar_options o = {.title = "Route importance: figures lost when a route is zeroed; share of fc6's |weight|",
                                    .x_label = "route", .y_label = "drop / share", .value_format = "%.2f",
                                    .width = series > 6 ? 1200 : 0};
        st = mrnet_plot_bars(path, &o, routes, MRNET_ROUTES, (const char *const *)legend, values, series);
    }
    for (int s = 0; legend && s < series; s++)
        free(legend[s]);
    free(legend);
    free(values);
    return st;
}

static int run_importance(const routes_args *a, int n, char **paths, char **names)
{
    importance_input in = {0};
    mrnet_route_importance *r = calloc((size_t)n, sizeof *r);
    mrnet_status st = r ? importance_open(a, &in) : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; st == MRNET_OK && i < n; i++) {
        mrnet_model *m;
        st = mrnet_model_load(paths[i], 0, &m);
        if (st == MRNET_OK && !mrnet_model_label(m, 0))
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s: the checkpoint has no class names (mrnet.labels)", paths[i]);
        if (st == MRNET_OK)
            st = mrnet_route_importance_measure(m, in.store, in.sel, &in.io, &r[i]);
        if (st != MRNET_OK)
            mrnet_fail_context(st, "%s", paths[i]);
        mrnet_model_free(m);
    }
    if (st == MRNET_OK)
        print_importance(&in, a, n, names, r);
    if (st == MRNET_OK && a->json) {
        const char *extra[] = {"store", a->store, "selection", in.selection, "view", mrnet_view_name(a->view), NULL};
        st = mrnet_route_importance_write_json(a->json, r, (const char *const *)names, n, extra);
        if (st == MRNET_OK)
            printf("json: %s\n", a->json);
    }
    if (st == MRNET_OK && a->svg && (st = importance_chart(a->svg, n, names, r)) == MRNET_OK)
        printf("chart: %s\n", a->svg);
    mrnet_store_close(in.store);
    free(r);
    return st == MRNET_OK ? 0 : cli_fail("routes", st);
}

static int run_weights(const routes_args *a, int n, char **paths, char **names)
{
    double *values = calloc((size_t)n * MRNET_ROUTES, sizeof(double));
    unsigned *dropped = calloc((size_t)n, sizeof(unsigned));
    int *placement = calloc((size_t)n, sizeof(int));
    mrnet_status st = values && dropped && placement ? MRNET_OK
                                                     : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && st == MRNET_OK; i++) {
        mrnet_model *m;
        if ((st = mrnet_model_load(paths[i], 0, &m)) != MRNET_OK)
            break;
        const float *w = mrnet_model_route_weights(m);
        double sum = 0;
        for (int j = 0; j < MRNET_ROUTES; j++)
            sum += w[j] < 0 ? -w[j] : w[j];
        for (int j = 0; j < MRNET_ROUTES; j++)
            values[(size_t)i * MRNET_ROUTES + j] = a->normalize && sum > 0 ? w[j] / sum : w[j];
        dropped[i] = mrnet_model_drop_routes(m);
        placement[i] = mrnet_model_config(m)->route_weights;
        mrnet_model_free(m);
    }
    if (st == MRNET_OK)
        print_weights(n, names, values, dropped, placement);
    if (st == MRNET_OK && a->svg &&
        (st = weights_chart(a, n, names, values, placement)) == MRNET_OK)
        printf("chart: %s\n", a->svg);
    free(values);
    free(dropped);
    free(placement);
    return st == MRNET_OK ? 0 : cli_fail("routes", st);
}

int cmd_routes(int argc, char **argv)
{
    routes_args a;
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    int n = argc - optind;
    char **paths = argv + optind;
    mrnet_status guard = cli_output_not_input("--svg", a.svg, (const char *const *)paths, n);
    if (guard == MRNET_OK)
        guard = cli_output_not_input("--json", a.json, (const char *const *)paths, n);
    if (guard != MRNET_OK)
        return cli_fail("routes", guard);
    char **names = calloc((size_t)n, sizeof(char *));
    char *list = a.names_arg ? strdup(a.names_arg) : NULL, *save = NULL;
    char *tok = list ? strtok_r(list, ",", &save) : NULL;
    for (int i = 0; names && i < n; i++, tok = tok ? strtok_r(NULL, ",", &save) : NULL)
        names[i] = tok ? strdup(tok) : short_name(paths[i]);
    for (int i = 0; names && i < n; i++)
        if (!names[i]) {
            rc = cli_error("routes", 1, "out of memory");
            break;
        }
    if (!names)
        rc = cli_error("routes", 1, "out of memory");
    if (rc < 0)
        rc = a.store ? run_importance(&a, n, paths, names) : run_weights(&a, n, paths, names);
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    free(list);
    return rc;
}
