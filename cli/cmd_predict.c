/* mrnet predict / mrnet embed CHECKPOINT FILES-OR-FOLDERS...: class
 * probabilities (top k, optionally per window) or embeddings of audio files,
 * with the features computed as the checkpoint's training store made them. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/augment.h"
#include "features/features_parse.h"
#include "cli_util.h"
#include "commands.h"
#include "inputs.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"
#include "infer/infer.h"

typedef enum { FORMAT_TABLE, FORMAT_JSONL, FORMAT_CSV } output_format;

typedef struct {
    bool embed; /* mrnet embed */
    const char *checkpoint, *output;
    output_format format;
    int top;
    bool timeline;
    mrnet_view view;
    double crop_seconds, hop_seconds;
    long batch;
} predict_args;

static void usage(FILE *out, bool embed)
{
    if (embed)
        fprintf(out,
                "usage: mrnet embed CHECKPOINT FILES-OR-FOLDERS... -o OUT.safetensors|OUT.csv\n"
                "Writes the E-dimensional embedding of each file (mean over 6-s windows):\n"
                "OUT.safetensors holds 'embeddings' (N, E) and the paths in metadata 'paths';\n"
                "OUT.csv has a row path,e0,...,e(E-1).\n");
    else
        fprintf(out,
                "usage: mrnet predict CHECKPOINT FILES-OR-FOLDERS... [options]\n"
                "Classifies audio files (wav flac ogg opus mp3 au aiff) and .npy features; folders\n"
                "are searched recursively. Unreadable files are reported and skipped.\n"
                "  --top K              labels per file (default 3)\n"
                "  --format F           table (default), jsonl or csv\n"
                "  --timeline           also the prediction of every window\n"
                "  -o FILE              write to FILE instead of standard output\n");
    fprintf(out,
            "  --view V             windows (default: 6-s windows, averaged), crop (first 6 s),\n"
            "                       full (the whole file in one pass)\n"
            "  --crop-seconds S (6)  --hop-seconds S (3)  --batch N (32)\n");
}

static int parse(int argc, char **argv, predict_args *a)
{
    static const struct option opts[] = {
        {"top", required_argument, 0, 'k'},          {"format", required_argument, 0, 'f'},
        {"timeline", no_argument, 0, 't'},           {"output", required_argument, 0, 'o'},
        {"view", required_argument, 0, 'v'},         {"crop-seconds", required_argument, 0, 'c'},
        {"hop-seconds", required_argument, 0, 'p'},  {"batch", required_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'},               {0, 0, 0, 0}};
    const char *cmd = a->embed ? "embed" : "predict";
    long v;
    int c, index;
    while ((c = getopt_long(argc, argv, "o:h", opts, &index)) != -1) {
        bool ok = true;
        switch (c) {
        case 'k': ok = cli_parse_int(optarg, 1, 100000, &v); a->top = (int)v; break;
        case 'f':
            ok = !strcmp(optarg, "table") || !strcmp(optarg, "jsonl") || !strcmp(optarg, "csv");
            a->format = !strcmp(optarg, "jsonl") ? FORMAT_JSONL : !strcmp(optarg, "csv") ? FORMAT_CSV : FORMAT_TABLE;
            break;
        case 't': a->timeline = true; break;
        case 'o': a->output = optarg; break;
        case 'v': ok = mrnet_view_parse(optarg, &a->view) == MRNET_OK; break;
        case 'c': ok = cli_parse_double(optarg, &a->crop_seconds) && a->crop_seconds > 0; break;
        case 'p': ok = cli_parse_double(optarg, &a->hop_seconds) && a->hop_seconds > 0; break;
        case 'b': ok = cli_parse_int(optarg, 1, 4096, &a->batch); break;
        case 'h': usage(stdout, a->embed); return 0;
        default: usage(stderr, a->embed); return 2;
        }
        if (!ok)
            return cli_error(cmd, 2, "bad value '%s' for --%s", optarg, opts[index].name);
    }
    if (optind + 2 > argc || (a->embed && !a->output)) {
        usage(stderr, a->embed);
        return 2;
    }
    a->checkpoint = argv[optind];
    return -1;
}

/* ---- one file's features as a mrnet_feature_source ------------------------------- */

static int64_t memory_frames(void *ctx, int item)
{
    (void)item;
    return ((const mrnet_features *)ctx)->T;
}

static mrnet_status memory_read(void *ctx, int item, int64_t t0, int64_t len, float *dst)
{
    (void)item;
    const mrnet_features *f = ctx;
    mrnet_crop_wrap(f->data, f->S * f->D, f->T, t0, len, dst);
    return MRNET_OK;
}

typedef struct {
    const predict_args *a;
    const mrnet_model *model;
    FILE *out;
    const char *path;
    double frame_rate;
    bool first_window;
} printer;

static int top_indices(const float *p, int K, int top, int *idx)
{
    int n = top < K ? top : K;
    for (int i = 0; i < n; i++) {
        int best = -1;
        for (int k = 0; k < K; k++) {
            bool used = false;
            for (int j = 0; j < i; j++)
                used |= idx[j] == k;
            if (!used && (best < 0 || p[k] > p[best]))
                best = k;
        }
        idx[i] = best;
    }
    return n;
}

static const char *label_of(const mrnet_model *m, int k)
{
    static char buf[32];
    const char *name = mrnet_model_label(m, k);
    if (name)
        return name;
    snprintf(buf, sizeof buf, "class%d", k);
    return buf;
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", *s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

/* One result (a file, or a window at start seconds when window >= 0). */
static void print_result(printer *pr, const float *p, double start, double end, bool window)
{
    const predict_args *a = pr->a;
    int K = mrnet_model_config(pr->model)->classes, idx[64];
    int n = top_indices(p, K, a->top < 64 ? a->top : 64, idx);
    FILE *out = pr->out;
    if (a->format == FORMAT_TABLE) {
        if (window)
            fprintf(out, "    %7.1f-%7.1f s ", start, end);
        else
            fprintf(out, "%s\n   ", pr->path);
        for (int i = 0; i < n; i++)
            fprintf(out, " %s %.3f", label_of(pr->model, idx[i]), p[idx[i]]);
        fputc('\n', out);
    } else if (a->format == FORMAT_JSONL) {
        fputs("{\"path\":", out);
        json_string(out, pr->path);
        if (window)
            fprintf(out, ",\"start\":%.3f,\"end\":%.3f", start, end);
        fputs(",\"top\":[", out);
        for (int i = 0; i < n; i++) {
            fprintf(out, "%s{\"label\":", i ? "," : "");
            json_string(out, label_of(pr->model, idx[i]));
            fprintf(out, ",\"probability\":%.6f}", p[idx[i]]);
        }
        fputs("]}\n", out);
    } else {
        cli_csv_field(out, pr->path);
        if (window)
            fprintf(out, ",%.3f,%.3f", start, end);
        else
            fputs(",,", out);
        for (int i = 0; i < n; i++) {
            fputc(',', out);
            cli_csv_field(out, label_of(pr->model, idx[i]));
            fprintf(out, ",%.6f", p[idx[i]]);
        }
        fputc('\n', out);
    }
}

static void on_window(void *ctx, int item, int64_t t0, int64_t len, const float *probs)
{
    (void)item;
    printer *pr = ctx;
    double r = pr->frame_rate > 0 ? pr->frame_rate : 1;
    if (pr->a->format == FORMAT_TABLE && pr->first_window) {
        fprintf(pr->out, "%s (timeline)\n", pr->path);
        pr->first_window = false;
    }
    print_result(pr, probs, t0 / r, (t0 + len) / r, true);
}

/* ---- the run ------------------------------------------------------------------ */

typedef struct {
    float *embeddings; /* (n_ok, E) */
    char **paths;
    int n_ok;
} embed_collect;

static mrnet_status write_embeddings(const predict_args *a, const embed_collect *c, int E)
{
    size_t n = strlen(a->output);
    if (n > 4 && !strcmp(a->output + n - 4, ".csv")) {
        cli_output o;
        MRNET_TRY(cli_output_open(&o, a->output));
        FILE *f = o.f;
        fputs("path", f);
        for (int e = 0; e < E; e++)
            fprintf(f, ",e%d", e);
        fputc('\n', f);
        for (int i = 0; i < c->n_ok; i++) {
            cli_csv_field(f, c->paths[i]);
            for (int e = 0; e < E; e++)
                fprintf(f, ",%.7g", c->embeddings[(size_t)i * E + e]);
            fputc('\n', f);
        }
        return cli_output_commit(&o);
    }
    cJSON *arr = cJSON_CreateStringArray((const char *const *)c->paths, c->n_ok);
    char *paths = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    mrnet_st_writer *w = mrnet_st_writer_create();
    mrnet_status st = (!paths || !w) ? mrnet_fail(MRNET_ERR_NOMEM, "out of memory") : MRNET_OK;
    if (st == MRNET_OK)
        st = mrnet_st_writer_add(w, "embeddings", MRNET_F32, 2, (int64_t[]){c->n_ok, E}, c->embeddings);
    if (st == MRNET_OK)
        st = mrnet_st_writer_meta(w, "paths", paths);
    if (st == MRNET_OK)
        st = mrnet_st_writer_save(w, a->output);
    mrnet_st_writer_free(w);
    free(paths);
    return st;
}

static int run(const predict_args *a, char **inputs, int n_inputs)
{
    const char *cmd = a->embed ? "embed" : "predict";
    mrnet_model *m = NULL;
    mrnet_features_options fo;
    bool recorded;
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    mrnet_status st = mrnet_model_load(a->checkpoint, 0, &m);
    if (st == MRNET_OK)
        st = inputs_checkpoint_features(a->checkpoint, &fo, &recorded);
    if (st == MRNET_OK)
        st = inputs_collect(inputs, n_inputs, &ds);
    if (st != MRNET_OK) {
        mrnet_dataset_free(&ds);
        mrnet_model_free(m);
        return cli_fail(cmd, st);
    }
    if (!recorded)
        fprintf(stderr, "mrnet %s: %s records no feature settings; using the default (melon) "
                "log-mel\n", cmd, a->checkpoint);
    const mrnet_config *cfg = mrnet_model_config(m);
    int K = cfg->classes, E = cfg->embed;
    double rate = mrnet_features_options_frame_rate(&fo);
    mrnet_infer_options eo = {.view = a->view, .crop = (int64_t)llround(a->crop_seconds * rate),
                       .hop = (int64_t)llround(a->hop_seconds * rate), .batch = (int)a->batch};
    FILE *out = stdout;
    cli_output file = {0};
    if (!a->embed && a->output) {
        if ((st = cli_output_open(&file, a->output)) != MRNET_OK) {
            mrnet_dataset_free(&ds);
            mrnet_model_free(m);
            return cli_fail(cmd, st);
        }
        out = file.f;
    }
    if (!a->embed && a->format == FORMAT_CSV) {
        fputs("path,start,end", out);
        for (int i = 1; i <= (a->top < K ? a->top : K); i++)
            fprintf(out, ",label%d,probability%d", i, i);
        fputc('\n', out);
    }
    embed_collect col = {malloc(sizeof(float) * (size_t)(ds.n_items ? ds.n_items : 1) * E),
                         calloc((size_t)(ds.n_items ? ds.n_items : 1), sizeof(char *)), 0};
    float *probs = malloc(sizeof(float) * K), *emb = malloc(sizeof(float) * E);
    int failed = 0;
    for (int i = 0; i < ds.n_items && col.embeddings && col.paths && probs && emb; i++) {
        const char *path = ds.items[i].path;
        mrnet_features f;
        mrnet_status fs = mrnet_features_from_file(path, &fo, NULL, &f);
        if (fs == MRNET_OK && (f.S != cfg->in_channels || f.D != cfg->in_dim)) {
            fs = mrnet_fail(MRNET_ERR_SHAPE, "%s: features (S %d, D %d) do not fit the model "
                            "(S %d, D %d)", path, f.S, f.D, cfg->in_channels, cfg->in_dim);
            mrnet_features_free(&f);
        }
        if (fs == MRNET_OK) {
            mrnet_feature_source src = {1, f.S, f.D, memory_frames, memory_read, &f};
            printer pr = {a, m, out, path, rate, true};
            fs = mrnet_infer_source(m, &src, &eo, probs, emb, (a->timeline && !a->embed) ? on_window : NULL,
                                 &pr);
            if (fs == MRNET_OK && !a->embed)
                print_result(&pr, probs, 0, 0, false);
            if (fs == MRNET_OK && a->embed) {
                memcpy(col.embeddings + (size_t)col.n_ok * E, emb, sizeof(float) * E);
                col.paths[col.n_ok++] = ds.items[i].path;
            }
            mrnet_features_free(&f);
        }
        if (fs != MRNET_OK) {
            failed++;
            fprintf(stderr, "mrnet %s: skipped %s\n", cmd, mrnet_last_error());
        }
    }
    if (a->embed)
        st = write_embeddings(a, &col, E);
    if (file.f)
        st = st == MRNET_OK ? cli_output_commit(&file) : (cli_output_discard(&file), st);
    int total = ds.n_items;
    free(col.embeddings);
    free(col.paths);
    free(probs);
    free(emb);
    mrnet_dataset_free(&ds);
    mrnet_model_free(m);
    if (st != MRNET_OK)
        return cli_fail(cmd, st);
    if (failed)
        fprintf(stderr, "mrnet %s: %d of %d files skipped\n", cmd, failed, total);
    if (a->embed)
        fprintf(stderr, "mrnet embed: %d embeddings of size %d in %s\n", total - failed, E, a->output);
    return (total > 0 && failed == total) ? 1 : 0;
}

static int predict_main(int argc, char **argv, bool embed)
{
    predict_args a = {.embed = embed, .top = 3, .view = MRNET_VIEW_WINDOWS, .crop_seconds = 6,
                      .hop_seconds = 3, .batch = 32};
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    return run(&a, argv + optind + 1, argc - optind - 1);
}

int cmd_predict(int argc, char **argv) { return predict_main(argc, argv, false); }
int cmd_embed(int argc, char **argv) { return predict_main(argc, argv, true); }
