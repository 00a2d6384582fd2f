/* mrnet predict / mrnet embed CHECKPOINT FILES-OR-FOLDERS...: class
 * probabilities (top k, optionally per window) or embeddings of audio files,
 * with the features computed as the checkpoint's training store made them. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mrnet/mrnet.h>
#include "cli_util.h"
#include "commands.h"

typedef enum { FORMAT_TABLE, FORMAT_JSONL, FORMAT_CSV } output_format;

typedef struct {
    bool embed; /* mrnet embed */
    const char *checkpoint, *output;
    const char *wavlm; /* WavLM weights, for checkpoints trained on WavLM features */
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
                "  -o FILE              write to FILE instead of standard output (-: standard output)\n");
    fprintf(out,
            "  --view V             windows (default: 6-s windows, averaged), crop (first 6 s),\n"
            "                       full (the whole file in one pass)\n"
            "  --crop-seconds S (6)  --hop-seconds S (3)  --batch N (32)\n"
            "  --wavlm WEIGHTS      the WavLM weights, for a checkpoint trained on WavLM features\n"
            "                       (checked against the fingerprint its store recorded)\n");
}

static int parse(int argc, char **argv, predict_args *a)
{
    static const struct option opts[] = {
        {"top", required_argument, 0, 'k'},          {"format", required_argument, 0, 'f'},
        {"timeline", no_argument, 0, 't'},           {"output", required_argument, 0, 'o'},
        {"view", required_argument, 0, 'v'},         {"crop-seconds", required_argument, 0, 'c'},
        {"hop-seconds", required_argument, 0, 'p'},  {"batch", required_argument, 0, 'b'},
        {"wavlm", required_argument, 0, 'w'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
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
        case 'w': a->wavlm = optarg; break;
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

typedef struct {
    const predict_args *a;
    const mrnet_classifier *c;
    FILE *out;
    const char *path;
    int *idx;          /* (K) scratch for the top k */
    bool first_window;
} printer;

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
    int *idx = pr->idx;
    int n = mrnet_top_k(p, mrnet_classifier_classes(pr->c), a->top, idx);
    FILE *out = pr->out;
    if (a->format == FORMAT_TABLE) {
        if (window)
            fprintf(out, "    %7.1f-%7.1f s ", start, end);
        else
            fprintf(out, "%s\n   ", pr->path);
        for (int i = 0; i < n; i++)
        {
            fputc(' ', out);
            cli_print_text(out, mrnet_classifier_label(pr->c, idx[i]));
            fprintf(out, " %.3f", p[idx[i]]);
        }
        fputc('\n', out);
    } else if (a->format == FORMAT_JSONL) {
        fputs("{\"path\":", out);
        json_string(out, pr->path);
        if (window)
            fprintf(out, ",\"start\":%.3f,\"end\":%.3f", start, end);
        fputs(",\"top\":[", out);
        for (int i = 0; i < n; i++) {
            fprintf(out, "%s{\"label\":", i ? "," : "");
            json_string(out, mrnet_classifier_label(pr->c, idx[i]));
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
            cli_csv_field(out, mrnet_classifier_label(pr->c, idx[i]));
            fprintf(out, ",%.6f", p[idx[i]]);
        }
        fputc('\n', out);
    }
}

static void on_window(void *ctx, double start, double end, const float *probs)
{
    printer *pr = ctx;
    if (pr->a->format == FORMAT_TABLE && pr->first_window) {
        fprintf(pr->out, "%s (timeline)\n", pr->path);
        pr->first_window = false;
    }
    print_result(pr, probs, start, end, true);
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

/* Every file named, and every media file under each folder named
 * (recursively, sorted). A missing path is an error naming it. */
static mrnet_status collect_inputs(char **paths, int n, mrnet_dataset *ds)
{
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0)
            return mrnet_fail(MRNET_ERR_IO, "%s: %s", paths[i], strerror(errno));
        if (S_ISDIR(sb.st_mode))
            MRNET_TRY(mrnet_dataset_read_files(ds, paths[i]));
        else
            MRNET_TRY(mrnet_dataset_add(ds, paths[i], NULL, NULL, -1, NULL));
    }
    return MRNET_OK;
}

typedef struct {
    const predict_args *a;
    mrnet_classifier *c;
    mrnet_dataset ds;
    FILE *out;
    cli_output file;
    embed_collect col;
    float *probs, *emb;
    int *idx;
} predict_run;

/* -o is none of the inputs: the checkpoint, the weights, every file found. */
static mrnet_status check_output_not_input(const predict_args *a, const mrnet_dataset *ds)
{
    if (!a->output)
        return MRNET_OK;
    const char **in = malloc(sizeof(char *) * ((size_t)ds->n_items + 2));
    if (!in)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d files", ds->n_items);
    in[0] = a->checkpoint;
    in[1] = a->wavlm;
    for (int i = 0; i < ds->n_items; i++)
        in[i + 2] = ds->items[i].path;
    mrnet_status st = cli_output_not_input("-o", a->output, in, ds->n_items + 2);
    free(in);
    return st;
}

static mrnet_status run_open(predict_run *r, char **inputs, int n_inputs)
{
    const predict_args *a = r->a;
    if (a->embed && !strcmp(a->output, "-"))
        return mrnet_fail(MRNET_ERR_ARG, "-o -: embed writes a file (.safetensors or .csv), not "
                          "standard output");
    MRNET_TRY(mrnet_classifier_open(a->checkpoint, &r->c));
    if (a->wavlm && mrnet_classifier_features(r->c)->kind != MRNET_FEATURES_WAVLM)
        return mrnet_fail(MRNET_ERR_ARG, "%s was not trained on WavLM features: drop --wavlm", a->checkpoint);
    if (a->wavlm)
        MRNET_TRY(mrnet_classifier_set_wavlm(r->c, a->wavlm));
    else if (mrnet_classifier_features(r->c)->kind == MRNET_FEATURES_WAVLM)
        return mrnet_fail(MRNET_ERR_ARG, "%s was trained on WavLM features: give the weights with --wavlm WEIGHTS",
                          a->checkpoint);
    MRNET_TRY(collect_inputs(inputs, n_inputs, &r->ds));
    MRNET_TRY(check_output_not_input(a, &r->ds));
    int K = mrnet_classifier_classes(r->c), E = mrnet_classifier_embed_size(r->c);
    size_t n = (size_t)(r->ds.n_items ? r->ds.n_items : 1);
    r->col.embeddings = malloc(sizeof(float) * n * (size_t)E);
    r->col.paths = calloc(n, sizeof(char *));
    r->probs = malloc(sizeof(float) * (size_t)K);
    r->emb = malloc(sizeof(float) * (size_t)E);
    r->idx = malloc(sizeof(int) * (size_t)K);
    if (!r->col.embeddings || !r->col.paths || !r->probs || !r->emb || !r->idx)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d files", r->ds.n_items);
    r->out = stdout;
    if (!a->embed && a->output) {
        MRNET_TRY(cli_output_open(&r->file, a->output));
        r->out = r->file.f;
    }
    return MRNET_OK;
}

static void run_close(predict_run *r)
{
    if (r->file.f)
        cli_output_discard(&r->file);
    free(r->col.embeddings);
    free(r->col.paths);
    free(r->probs);
    free(r->emb);
    free(r->idx);
    mrnet_dataset_free(&r->ds);
    mrnet_classifier_free(r->c);
}

/* One file: its result printed (predict) or its embedding kept (embed). */
static mrnet_status run_file(predict_run *r, int i)
{
    const predict_args *a = r->a;
    const char *path = r->ds.items[i].path;
    mrnet_classify_options co = {.view = a->view, .crop_seconds = a->crop_seconds,
                                 .hop_seconds = a->hop_seconds, .batch = (int)a->batch};
    printer pr = {a, r->c, r->out, path, r->idx, true};
    bool timeline = a->timeline && !a->embed;
    MRNET_TRY(mrnet_classify_file(r->c, path, &co, r->probs, r->emb, timeline ? on_window : NULL, &pr,
                                  NULL));
    if (!a->embed)
        print_result(&pr, r->probs, 0, 0, false);
    else {
        int E = mrnet_classifier_embed_size(r->c);
        memcpy(r->col.embeddings + (size_t)r->col.n_ok * E, r->emb, sizeof(float) * E);
        r->col.paths[r->col.n_ok++] = r->ds.items[i].path;
    }
    return MRNET_OK;
}

static int run(const predict_args *a, char **inputs, int n_inputs)
{
    const char *cmd = a->embed ? "embed" : "predict";
    predict_run r = {.a = a};
    mrnet_dataset_init(&r.ds);
    mrnet_status st = run_open(&r, inputs, n_inputs);
    if (st != MRNET_OK) {
        run_close(&r);
        return cli_fail(cmd, st);
    }
    if (!mrnet_classifier_has_feature_settings(r.c))
        fprintf(stderr, "mrnet %s: %s records no feature settings; using the default (melon) "
                "log-mel\n", cmd, a->checkpoint);
    int K = mrnet_classifier_classes(r.c), E = mrnet_classifier_embed_size(r.c);
    if (!a->embed && a->format == FORMAT_CSV) {
        fputs("path,start,end", r.out);
        for (int i = 1; i <= (a->top < K ? a->top : K); i++)
            fprintf(r.out, ",label%d,probability%d", i, i);
        fputc('\n', r.out);
    }
    int failed = 0, total = r.ds.n_items;
    for (int i = 0; i < total; i++) {
        mrnet_status fs = run_file(&r, i);
        if (fs == MRNET_ERR_NOMEM) { /* not the file's fault: stop, write nothing */
            run_close(&r);
            return cli_fail(cmd, fs);
        }
        if (fs != MRNET_OK) {
            failed++;
            fprintf(stderr, "mrnet %s: skipped %s\n", cmd, mrnet_last_error());
        }
    }
    if (a->embed)
        st = write_embeddings(a, &r.col, E);
    if (r.file.f) {
        st = st == MRNET_OK ? cli_output_commit(&r.file) : (cli_output_discard(&r.file), st);
        r.file.f = NULL;
    }
    run_close(&r);
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
