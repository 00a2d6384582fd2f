/* mrnet predict / mrnet embed CHECKPOINT FILES-OR-FOLDERS...: class
 * probabilities (top k, optionally per window) or embeddings of a whole
 * collection, with the features computed as the checkpoint's training store
 * made them. Every input is processed or reported; records stream out in
 * input order as they are ready, and a run into a file resumes where a
 * stopped one left off (predict_output.h). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <omp.h>
#include <math.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mrnet/collection.h>
#include <mrnet/mrnet.h>
#include "cli_util.h"
#include "commands.h"
#include "predict_output.h"

typedef struct {
    bool embed; /* mrnet embed */
    const char *cmd;
    const char *checkpoint, *output;
    const char *wavlm; /* WavLM weights, for checkpoints trained on WavLM features */
    const char *format_name;
    out_format format;
    const char **lists; /* --files-from */
    int n_lists;
    int top, jobs;
    bool timeline, restart, quiet;
    mrnet_view view;
    double crop_seconds, hop_seconds;
    long batch;
} predict_args;

enum { OPT_TOP = 256, OPT_FORMAT, OPT_TIMELINE, OPT_VIEW, OPT_CROP, OPT_HOP, OPT_BATCH, OPT_WAVLM,
       OPT_FILES_FROM, OPT_RESTART, OPT_QUIET };

static void usage(FILE *out, bool embed)
{
    if (embed)
        fprintf(out,
                "usage: mrnet embed CHECKPOINT [FILES-OR-FOLDERS...] [--files-from LIST] [-o OUT] [options]\n"
                "The E-dimensional embedding of each file (the mean over 6-s windows).\n"
                "  -o OUT               .jsonl ({\"path\", \"seconds\", \"embedding\"} per line), .csv\n"
                "                       (path,e0,...), .npy ((N, E) float32, the paths in OUT.paths.txt)\n"
                "                       or .safetensors ('embeddings' (N, E), metadata 'paths');\n"
                "                       without -o (or -o -): JSON lines on standard output\n"
                "  --format F           jsonl, csv, npy or safetensors, whatever OUT's name\n");
    else
        fprintf(out,
                "usage: mrnet predict CHECKPOINT [FILES-OR-FOLDERS...] [--files-from LIST] [-o OUT] [options]\n"
                "Classifies audio files (wav flac ogg opus mp3 au aiff; with FFmpeg built in also\n"
                "m4a mp4 aac wma mka webm caf ape wv) and .npy features; folders are searched\n"
                "recursively (symlinks followed, loops reported).\n"
                "  --top K              labels per file (default 3)\n"
                "  -o OUT               the format follows the name: .txt/.tsv (table), .jsonl, .csv,\n"
                "                       .npy ((N, K) probabilities, paths in OUT.paths.txt) or\n"
                "                       .safetensors ('probabilities', metadata 'paths' and 'labels');\n"
                "                       without -o (or -o -): the table on standard output\n"
                "  --format F           " OUT_FORMAT_CHOICES ", whatever OUT's name\n"
                "  --timeline           also the prediction of every window (table, jsonl, csv)\n");
    fprintf(out,
            "  --files-from LIST    also the paths in LIST, one per line (-: standard input)\n"
            "  -j, --threads N      N files at once, one thread each (default: as many as OpenMP\n"
            "                       threads; 1 for a WavLM checkpoint or a single file, which then\n"
            "                       gets every thread)\n"
            "  --restart            ignore OUT.partial of a stopped run (default: continue it)\n"
            "  --quiet              no progress line\n"
            "  --view V             windows (default: 6-s windows, averaged), crop (first 6 s),\n"
            "                       full (the whole file in one pass)\n"
            "  --crop-seconds S (6)  --hop-seconds S (3)  --batch N (32)\n"
            "  --wavlm WEIGHTS      the WavLM weights, for a checkpoint trained on WavLM features\n"
            "                       (checked against the fingerprint its store recorded)\n"
            "Records are written in input order as each file is done. Into a file, they go to\n"
            "OUT.partial first (with OUT.partial.journal); a stopped run (Ctrl-C, kill, full disk)\n"
            "keeps them, and the same command again continues; OUT appears when all is done.\n"
            "Under mpirun -np N each process takes a block of the inputs (OUT.rank-R-of-N) and\n"
            "rank 0 merges them in input order into OUT (-o is then required; docs/SCALING.md).\n"
            "Exit status: 0 every file done; 1 some path or file failed (each is named on\n"
            "standard error, the others are done), or the output could not be written;\n"
            "2 bad usage; 130 stopped by a signal (run again to continue).\n");
}

static int parse(int argc, char **argv, predict_args *a)
{
    static const struct option opts[] = {
        {"top", required_argument, 0, OPT_TOP},          {"format", required_argument, 0, OPT_FORMAT},
        {"timeline", no_argument, 0, OPT_TIMELINE},      {"output", required_argument, 0, 'o'},
        {"view", required_argument, 0, OPT_VIEW},        {"crop-seconds", required_argument, 0, OPT_CROP},
        {"hop-seconds", required_argument, 0, OPT_HOP},  {"batch", required_argument, 0, OPT_BATCH},
        {"wavlm", required_argument, 0, OPT_WAVLM},      {"files-from", required_argument, 0, OPT_FILES_FROM},
        {"threads", required_argument, 0, 'j'},          {"restart", no_argument, 0, OPT_RESTART},
        {"quiet", no_argument, 0, OPT_QUIET},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    long v;
    int c, index = -1;
    while ((c = getopt_long(argc, argv, "o:j:h", opts, &index)) != -1) {
        bool ok = true;
        const char *name = index >= 0 ? opts[index].name : c == 'j' ? "threads" : "output";
        switch (c) {
        case OPT_TOP: ok = cli_parse_int(optarg, 1, 100000, &v); a->top = (int)v; break;
        case OPT_FORMAT:
            if (!out_format_parse(optarg, &a->format) || (a->embed && a->format == OUT_TABLE))
                return cli_error(a->cmd, 2, "bad value '%s' for --format: choose %s", optarg,
                                 a->embed ? "jsonl, csv, npy or safetensors" : OUT_FORMAT_CHOICES);
            a->format_name = optarg;
            break;
        case OPT_TIMELINE: a->timeline = true; break;
        case 'o': a->output = optarg; break;
        case OPT_VIEW: ok = mrnet_view_parse(optarg, &a->view) == MRNET_OK; break;
        case OPT_CROP: ok = cli_parse_double(optarg, &a->crop_seconds) && a->crop_seconds > 0; break;
        case OPT_HOP: ok = cli_parse_double(optarg, &a->hop_seconds) && a->hop_seconds > 0; break;
        case OPT_BATCH: ok = cli_parse_int(optarg, 1, 4096, &a->batch); break;
        case OPT_WAVLM: a->wavlm = optarg; break;
        case OPT_FILES_FROM: a->lists[a->n_lists++] = optarg; break;
        case 'j': ok = cli_parse_int(optarg, 1, 256, &v); a->jobs = (int)v; break;
        case OPT_RESTART: a->restart = true; break;
        case OPT_QUIET: a->quiet = true; break;
        case 'h': usage(stdout, a->embed); return 0;
        default: usage(stderr, a->embed); return 2;
        }
        if (!ok)
            return cli_error(a->cmd, 2, "bad value '%s' for --%s", optarg, name);
        index = -1;
    }
    if (optind >= argc || (optind + 1 >= argc && a->n_lists == 0)) {
        usage(stderr, a->embed);
        return 2;
    }
    a->checkpoint = argv[optind];
    if (a->output && !strcmp(a->output, "-"))
        a->output = NULL;
    struct stat sb;
    bool device = a->output && stat(a->output, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode);
    if (!a->format_name) {
        if (!a->output || device) /* standard output, /dev/null, a FIFO */
            a->format = a->embed ? OUT_JSONL : OUT_TABLE;
        else if (!out_format_of_name(a->output, &a->format) || (a->embed && a->format == OUT_TABLE))
            return cli_error(a->cmd, 2, "-o %s: cannot tell the format from the name: end it in %s, or give "
                             "--format (%s)", a->output, a->embed ? ".jsonl, .csv, .npy or .safetensors"
                                                                  : ".txt, .jsonl, .csv, .npy or .safetensors",
                             a->embed ? "jsonl, csv, npy or safetensors" : OUT_FORMAT_CHOICES);
    }
    if (out_format_is_matrix(a->format) && !a->output)
        return cli_error(a->cmd, 2, "%s output is a file: give -o FILE.%s", out_format_name(a->format),
                         out_format_name(a->format));
    if (a->timeline && (a->embed || out_format_is_matrix(a->format)))
        return cli_error(a->cmd, 2, "--timeline needs the table, jsonl or csv format of predict");
    return -1;
}

/* ---- records ------------------------------------------------------------------- */

typedef struct {
    const predict_args *a;
    mrnet_classifier *c;
    int K, E;
    int *idx; /* (K) scratch for the top k */
    mrnet_partial_output sink;
    const char *const *paths;
    int total, done, failed, warned, shown; /* shown: done count of the last progress line */
    cli_progress progress;
    double started;
    mrnet_status write_status;
    char write_error[1024];
    bool merge_due; /* several processes: every part is complete, rank 0 merges */
    mrnet_partial_parts *others; /* several processes: the other parts' records (skipped) */
} run_state;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void json_path(FILE *out, const char *path)
{
    fputs("{\"path\":", out);
    cli_json_string(out, path);
    if (!mrnet_utf8_valid(path)) { /* the exact bytes, for finding the file again */
        fputs(",\"path_bytes\":\"", out);
        mrnet_fputs_percent_encoded(out, path);
        fputc('"', out);
    }
}

static void print_top(run_state *r, FILE *out, const float *p)
{
    const predict_args *a = r->a;
    int n = mrnet_top_k(p, r->K, a->top, r->idx);
    for (int i = 0; i < n; i++) {
        const char *label = mrnet_classifier_label(r->c, r->idx[i]);
        if (a->format == OUT_TABLE) {
            fputs(i ? "  " : "", out);
            cli_print_text(out, label);
            fprintf(out, " %.3f", p[r->idx[i]]);
        } else if (a->format == OUT_JSONL) {
            fputs(i ? ",{\"label\":" : "{\"label\":", out);
            cli_json_string(out, label);
            fprintf(out, ",\"probability\":%.6f}", p[r->idx[i]]);
        } else {
            fputc(',', out);
            cli_csv_field(out, label);
            fprintf(out, ",%.6f", p[r->idx[i]]);
        }
    }
}

/* One prediction line: the file's (window < 0) or one window's. */
static void print_prediction(run_state *r, const mrnet_batch_result *res, int window)
{
    FILE *out = r->sink.f;
    const float *p = window < 0 ? res->probs : res->window_probs + (size_t)window * r->K;
    double start = window < 0 ? 0 : res->spans[2 * window], end = window < 0 ? 0 : res->spans[2 * window + 1];
    switch (r->a->format) {
    case OUT_TABLE: /* one line per record, the path first: grep keeps both */
        cli_print_text(out, res->path);
        if (window >= 0)
            fprintf(out, "\t%.1f-%.1f s", start, end);
        fputc('\t', out);
        print_top(r, out, p);
        fputc('\n', out);
        break;
    case OUT_JSONL:
        json_path(out, res->path);
        if (window >= 0)
            fprintf(out, ",\"start\":%.3f,\"end\":%.3f", start, end);
        else
            fprintf(out, ",\"seconds\":%.3f", res->seconds);
        fputs(",\"top\":[", out);
        print_top(r, out, p);
        fputc(']', out);
        if (window < 0 && res->warning[0]) {
            fputs(",\"warning\":", out);
            cli_json_string(out, res->warning);
        }
        fputs("}\n", out);
        break;
    default:
        cli_csv_field(out, res->path);
        if (window >= 0)
            fprintf(out, ",%.3f,%.3f", start, end);
        else
            fputs(",,", out);
        print_top(r, out, p);
        fputc('\n', out);
        break;
    }
}

static void print_embedding(run_state *r, const mrnet_batch_result *res)
{
    FILE *out = r->sink.f;
    if (r->a->format == OUT_JSONL) {
        json_path(out, res->path);
        fprintf(out, ",\"seconds\":%.3f,\"embedding\":[", res->seconds);
        for (int e = 0; e < r->E; e++)
            fprintf(out, "%s%.9g", e ? "," : "", res->embedding[e]);
        fputs("]}\n", out);
    } else {
        cli_csv_field(out, res->path);
        for (int e = 0; e < r->E; e++)
            fprintf(out, ",%.9g", res->embedding[e]);
        fputc('\n', out);
    }
}

static void show_progress(run_state *r, bool force)
{
    if (r->a->quiet || !cli_is_root() || (force && r->shown == r->done))
        return;
    r->shown = r->done;
    double elapsed = now_seconds() - r->started, rate = elapsed > 0 ? r->done / elapsed : 0;
    int left = r->total - r->done;
    char eta[32] = "";
    if (rate > 0 && left > 0)
        snprintf(eta, sizeof eta, ", %.0f s left", left / rate);
    cli_progress_print(&r->progress, force, "%s %s %d/%d files, %d failed, %.2f files/s%s", r->a->cmd,
                       cli_bar(r->done, r->total, 24), r->done, r->total, r->failed, rate, eta);
}

static int on_result(void *ctx, const mrnet_batch_result *res)
{
    run_state *r = ctx;
    r->done++;
    if (res->status != MRNET_OK) {
        r->failed++;
        cli_progress_done(&r->progress);
        fprintf(stderr, "mrnet %s: failed: %s\n", r->a->cmd, res->error);
        show_progress(r, false);
        return 0;
    }
    if (res->warning[0]) {
        r->warned++;
        cli_progress_done(&r->progress);
        fprintf(stderr, "mrnet %s: warning: ", r->a->cmd);
        cli_print_text(stderr, res->path);
        fputs(": ", stderr);
        cli_print_text(stderr, res->warning);
        fputc('\n', stderr);
    }
    const predict_args *a = r->a;
    if (out_format_is_matrix(a->format)) {
        const float *row = a->embed ? res->embedding : res->probs;
        fwrite(row, sizeof(float), (size_t)(a->embed ? r->E : r->K), r->sink.f);
    } else if (a->embed)
        print_embedding(r, res);
    else {
        for (int w = 0; w < res->n_windows; w++)
            print_prediction(r, res, w);
        print_prediction(r, res, -1);
    }
    r->write_status = mrnet_partial_commit_record(&r->sink, res->path);
    if (r->write_status != MRNET_OK)
        snprintf(r->write_error, sizeof r->write_error, "%s", mrnet_last_error());
    show_progress(r, false);
    return r->write_status != MRNET_OK; /* a full disk stops the run; what is written stays */
}

/* ---- the run ------------------------------------------------------------------- */

/* What the records depend on: a partial made otherwise is not continued. */
static void settings_line(const predict_args *a, char *buf, size_t size)
{
    struct stat sb;
    long long bytes = 0, mtime = 0;
    if (stat(a->checkpoint, &sb) == 0) {
        bytes = (long long)sb.st_size;
        mtime = (long long)sb.st_mtime;
    }
    snprintf(buf, size, "%s format=%s top=%d timeline=%d view=%s crop=%g hop=%g checkpoint=%lld:%lld wavlm=%s",
             a->cmd, out_format_name(a->format), a->embed ? 0 : a->top, a->timeline, mrnet_view_name(a->view),
             a->crop_seconds, a->hop_seconds, bytes, mtime, a->wavlm ? "yes" : "no");
}

static void csv_header(const predict_args *a, int K, int E, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    if (a->format != OUT_CSV)
        return;
    if (a->embed) {
        n += (size_t)snprintf(buf + n, size - n, "path");
        for (int e = 0; e < E && n < size; e++)
            n += (size_t)snprintf(buf + n, size - n, ",e%d", e);
    } else {
        n += (size_t)snprintf(buf + n, size - n, "path,start,end");
        for (int i = 1; i <= (a->top < K ? a->top : K) && n < size; i++)
            n += (size_t)snprintf(buf + n, size - n, ",label%d,probability%d", i, i);
    }
    if (n < size - 1)
        strcat(buf, "\n");
}

static mrnet_status open_classifiers(const predict_args *a, mrnet_classifier **cls, int n)
{
    for (int i = 0; i < n; i++) {
        MRNET_TRY(mrnet_classifier_open(a->checkpoint, &cls[i]));
        mrnet_features_kind kind = mrnet_classifier_features(cls[i])->kind;
        if (a->wavlm && kind != MRNET_FEATURES_WAVLM)
            return mrnet_fail(MRNET_ERR_ARG, "%s was not trained on WavLM features: drop --wavlm", a->checkpoint);
        if (a->wavlm)
            MRNET_TRY(mrnet_classifier_set_wavlm(cls[i], a->wavlm));
        else if (kind == MRNET_FEATURES_WAVLM)
            return mrnet_fail(MRNET_ERR_ARG, "%s was trained on WavLM features: give the weights with --wavlm WEIGHTS",
                              a->checkpoint);
    }
    return MRNET_OK;
}

/* -o is none of the inputs: the checkpoint, the weights, every file found. */
static mrnet_status check_output_not_input(const predict_args *a, const char *const *paths, int n)
{
    if (!a->output)
        return MRNET_OK;
    const char **in = malloc(sizeof(char *) * ((size_t)n + 2));
    if (!in)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d files", n);
    in[0] = a->checkpoint;
    in[1] = a->wavlm;
    memcpy(in + 2, paths, sizeof(char *) * (size_t)n);
    mrnet_status st = cli_output_not_input("-o", a->output, in, n + 2);
    free(in);
    return st;
}

static mrnet_status collect(const predict_args *a, char **names, int n_names, mrnet_inputs *in)
{
    for (int i = 0; i < n_names; i++)
        MRNET_TRY(mrnet_inputs_add_path(in, names[i]));
    for (int i = 0; i < a->n_lists; i++)
        MRNET_TRY(mrnet_inputs_add_list(in, a->lists[i]));
    return MRNET_OK;
}

/* The files to do (problems printed and counted); their paths into *paths. */
static int report_problems(const predict_args *a, const mrnet_inputs *in, const char ***paths, int *n_paths)
{
    *paths = malloc(sizeof(char *) * (size_t)(in->n ? in->n : 1));
    if (!*paths)
        return -1;
    *n_paths = 0;
    for (int i = 0; i < in->n; i++) {
        if (in->items[i].problem) {
            if (!cli_is_root()) /* the same walk on every process: rank 0 names them */
                continue;
            fprintf(stderr, "mrnet %s: failed: ", a->cmd);
            cli_print_text(stderr, in->items[i].path);
            fprintf(stderr, ": %s\n", in->items[i].problem);
        } else
            (*paths)[(*n_paths)++] = in->items[i].path;
    }
    return in->n_problems;
}

/* The class names as a JSON array (safetensors metadata "labels"). */
static char *labels_json(mrnet_classifier *c, int K)
{
    const char **names = malloc(sizeof(char *) * (size_t)K);
    for (int k = 0; names && k < K; k++)
        names[k] = mrnet_classifier_label(c, k);
    char *text = names ? mrnet_json_string_array(names, K) : NULL;
    free(names);
    return text;
}

/* ---- several processes (mpirun): a block of the inputs each ---------------------- */

/* Process r's block of n inputs: [n r / N, n (r + 1) / N), so the parts
 * joined in rank order are in input order. */
static void own_block(int n, int *lo, int *hi)
{
    const mrnet_collective *w = cli_collective();
    *lo = w ? (int)((long)n * w->rank / w->size) : 0;
    *hi = w ? (int)((long)n * (w->rank + 1) / w->size) : n;
}

/* Process r's part of OUT: OUT.rank-R-of-N (its own partial and journal). */
static void part_name(const char *out, int rank, int size, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.rank-%d-of-%d", out, rank, size);
}

/* The parts stopped or finished runs left beside OUT (OUT.rank-R-of-M, any
 * M), but `skip` (this process's own, which it continues itself); their
 * names into a malloc'd array. */
static mrnet_status list_parts(const char *out, const char *skip, char ***names, int *n)
{
    char dir[4096], pattern[4096];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : out;
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    snprintf(pattern, sizeof pattern, "%s.rank-", base);
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    mrnet_status st = MRNET_OK;
    while (d && st == MRNET_OK && (e = readdir(d))) {
        int r, m, used = 0;
        if (strncmp(e->d_name, pattern, strlen(pattern)) ||
            sscanf(e->d_name + strlen(pattern), "%d-of-%d.partial.journal%n", &r, &m, &used) != 2 ||
            e->d_name[strlen(pattern) + (size_t)used] != '\0')
            continue;
        char name[8300];
        snprintf(name, sizeof name, "%s/%.*s", dir, (int)(strlen(e->d_name) - strlen(".partial.journal")),
                 e->d_name);
        if (skip && !strcmp(name + (slash ? 0 : 2), skip))
            continue;
        char **grown = realloc(*names, sizeof *grown * (size_t)(*n + 1));
        if (!grown || !(grown[*n] = strdup(slash ? name : name + 2)))
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        if (grown)
            *names = grown;
        if (st == MRNET_OK)
            (*n)++;
    }
    if (d)
        closedir(d);
    return st;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* What the other parts beside OUT hold (a stopped run on any process
 * count, this one's other ranks): this process skips those files. */
static mrnet_status open_other_parts(run_state *r, const char *own, const char *settings)
{
    char **names;
    int n;
    MRNET_TRY(list_parts(r->a->output, own, &names, &n));
    mrnet_status st = mrnet_partial_parts_open((const char *const *)names, n, settings, &r->others);
    free_names(names, n);
    return st;
}

/* Rank 0: every part's records, in input order, into OUT; then they go. */
static mrnet_status merge_parts(run_state *r, const char *const *paths, int n_paths, const char *settings,
                                const char *header)
{
    const predict_args *a = r->a;
    char **names;
    int n;
    MRNET_TRY(list_parts(a->output, NULL, &names, &n));
    mrnet_partial_parts *parts = NULL;
    mrnet_status st = mrnet_partial_parts_open((const char *const *)names, n, settings, &parts);
    mrnet_partial_output out = {0};
    mrnet_partial_kind kind = a->format == OUT_NPY ? MRNET_PARTIAL_NPY
                              : a->format == OUT_SAFETENSORS ? MRNET_PARTIAL_SAFETENSORS : MRNET_PARTIAL_LINES;
    if (st == MRNET_OK)
        st = mrnet_partial_open(&out, a->output, kind, a->embed ? r->E : r->K, settings, true,
                                header[0] ? header : NULL);
    if (st == MRNET_OK)
        st = mrnet_partial_parts_merge(parts, &out, paths, n_paths);
    if (st == MRNET_OK) {
        char *labels = a->embed ? NULL : labels_json(r->c, r->K);
        st = mrnet_partial_finish(&out, a->embed ? "embeddings" : "probabilities", labels ? "labels" : NULL,
                                  labels);
        free(labels);
    }
    mrnet_partial_close(&out);
    mrnet_partial_parts_free(parts);
    for (int k = 0; st == MRNET_OK && k < n; k++)
        mrnet_partial_discard(names[k]);
    free_names(names, n);
    return st;
}

/* --restart: rank 0 removes every part first. */
static mrnet_status discard_parts(const char *out)
{
    char **names;
    int n;
    MRNET_TRY(list_parts(out, NULL, &names, &n));
    for (int k = 0; k < n; k++)
        mrnet_partial_discard(names[k]);
    free_names(names, n);
    return MRNET_OK;
}

/* Every process's outcome, agreed: the exit status all of them return. */
static int sharded_result(run_state *r, mrnet_status st, int n_paths, int problems)
{
    const predict_args *a = r->a;
    const mrnet_collective *w = cli_collective();
    double counts[2] = {r->failed, n_paths};
    w->sum_double(w->ctx, counts, 2);
    st = mrnet_collective_agree(w, st);
    if (st != MRNET_OK) {
        cli_fail(a->cmd, st);
        if (cli_is_root())
            fprintf(stderr, "mrnet %s: each process keeps what it finished in %s.rank-*: run the same "
                    "command again (on any number of processes) to continue\n", a->cmd, a->output);
        return st == MRNET_ERR_INTERRUPTED ? 130 : 1;
    }
    r->merge_due = true;
    int failed = (int)counts[0] + problems;
    if (failed && cli_is_root())
        fprintf(stderr, "mrnet %s: %d of %d inputs failed (named above); %d done\n", a->cmd, failed,
                (int)counts[1] + problems, (int)counts[1] - (int)counts[0]);
    return failed ? 1 : 0;
}

/* Runs the batch into the sink; returns the exit status. */
static int run_batch(run_state *r, mrnet_classifier **cls, int jobs, const char *const *paths, int n_paths,
                     int problems)
{
    const predict_args *a = r->a;
    bool *skip = calloc((size_t)(n_paths ? n_paths : 1), sizeof(bool));
    if (!skip)
        return cli_fail(a->cmd, mrnet_fail(MRNET_ERR_NOMEM, "out of memory"));
    int skipped = 0;
    for (int i = 0; i < n_paths; i++)
        skipped += skip[i] = mrnet_partial_has(&r->sink, paths[i]) || mrnet_partial_parts_has(r->others, paths[i]);
    if ((r->sink.resumed || skipped) && !a->quiet)
        fprintf(stderr, "mrnet %s: continuing %s: %d of %d files are done\n", a->cmd, r->sink.partial, skipped,
                n_paths);
    r->total = n_paths - skipped;
    mrnet_batch_options bo = {.classify = {.view = a->view, .crop_seconds = a->crop_seconds,
                                           .hop_seconds = a->hop_seconds, .batch = (int)a->batch},
                              .want_windows = a->timeline, .stop = cli_stop_on_signal()};
    r->started = now_seconds();
    mrnet_status st = mrnet_batch_run(cls, jobs, paths, n_paths, skip, &bo, on_result, r);
    cli_stop_restore();
    free(skip);
    show_progress(r, true);
    cli_progress_done(&r->progress);
    if (r->write_status != MRNET_OK)
        st = mrnet_fail(r->write_status, "%s", r->write_error);
    if (st == MRNET_OK && !cli_collective()) { /* several processes: rank 0 merges the parts */
        char *labels = a->embed ? NULL : labels_json(r->c, r->K);
        st = mrnet_partial_finish(&r->sink, a->embed ? "embeddings" : "probabilities", labels ? "labels" : NULL, labels);
        free(labels);
    }
    if (cli_collective())
        return sharded_result(r, st, n_paths, problems);
    int failed = r->failed + problems;
    if (st != MRNET_OK) {
        bool stopped = st == MRNET_ERR_INTERRUPTED;
        fprintf(stderr, "mrnet %s: %s\n", a->cmd, mrnet_last_error());
        if (r->sink.journaled && r->sink.n_done > 0)
            fprintf(stderr, "mrnet %s: the %d files done are kept in %s: run the same command again to continue\n",
                    a->cmd, r->sink.n_done, r->sink.partial);
        else if (r->sink.journaled) /* stopped before the first file: the partial is there all the same */
            fprintf(stderr, "mrnet %s: no file was finished yet (%s is kept): run the same command again to "
                    "continue\n", a->cmd, r->sink.partial);
        return stopped ? 130 : 1;
    }
    if (failed)
        fprintf(stderr, "mrnet %s: %d of %d inputs failed (named above); %d done\n", a->cmd, failed,
                n_paths + problems, n_paths - r->failed);
    return failed ? 1 : 0;
}

static int run(const predict_args *a, char **names, int n_names)
{
    mrnet_inputs in;
    mrnet_inputs_init(&in);
    int cap = a->jobs > 0 ? a->jobs : omp_get_max_threads(), jobs = cap;
    mrnet_classifier **cls = calloc((size_t)cap, sizeof *cls);
    run_state r = {.a = a};
    const char **paths = NULL;
    int n_paths = 0, rc;
    mrnet_status st = cls ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (st == MRNET_OK)
        st = open_classifiers(a, cls, 1);
    if (st == MRNET_OK && a->jobs == 0 && mrnet_classifier_features(cls[0])->kind == MRNET_FEATURES_WAVLM)
        jobs = 1; /* a WavLM front end per worker is 0.4 GB each: one file at a time on every thread */
    if (st == MRNET_OK)
        st = collect(a, names, n_names, &in);
    int problems = st == MRNET_OK ? report_problems(a, &in, &paths, &n_paths) : 0;
    if (st == MRNET_OK && problems < 0)
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (st == MRNET_OK)
        st = check_output_not_input(a, paths, n_paths);
    const mrnet_collective *world = cli_collective();
    if (st == MRNET_OK && world && (!a->output || !strcmp(a->output, "-")))
        st = mrnet_fail(MRNET_ERR_ARG, "under mpirun give -o FILE: the processes' records are merged "
                        "into it in input order");
    if (st == MRNET_OK && world && cli_is_root() && a->restart)
        st = discard_parts(a->output);
    if (world)
        st = mrnet_collective_agree(world, st);
    bool agreed = st != MRNET_OK; /* every process holds this failure already */
    int lo = 0, hi = n_paths;
    own_block(n_paths, &lo, &hi);
    if (world && !cli_is_root())
        problems = 0; /* rank 0 named them, and counts them */
    if (st == MRNET_OK && jobs > hi - lo)
        jobs = hi > lo ? hi - lo : 1;
    if (st == MRNET_OK && jobs > 1)
        st = open_classifiers(a, cls + 1, jobs - 1);
    if (st == MRNET_OK) {
        r.c = cls[0];
        r.K = mrnet_classifier_classes(r.c);
        r.E = mrnet_classifier_embed_size(r.c);
        r.idx = malloc(sizeof(int) * (size_t)r.K);
        if (!r.idx)
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        if (!mrnet_classifier_has_feature_settings(r.c))
            fprintf(stderr, "mrnet %s: %s records no feature settings; using the default (melon) log-mel\n", a->cmd,
                    a->checkpoint);
    }
    static char settings[1024], header[1 << 14];
    if (st == MRNET_OK) {
        settings_line(a, settings, sizeof settings);
        csv_header(a, r.K, r.E, header, sizeof header);
        mrnet_partial_kind kind = a->format == OUT_NPY ? MRNET_PARTIAL_NPY
                                  : a->format == OUT_SAFETENSORS ? MRNET_PARTIAL_SAFETENSORS : MRNET_PARTIAL_LINES;
        char part[4200];
        if (world)
            part_name(a->output, world->rank, world->size, part, sizeof part);
        st = mrnet_partial_open(&r.sink, world ? part : a->output, kind, a->embed ? r.E : r.K, settings,
                                a->restart, header[0] ? header : NULL);
    }
    if (world && !agreed) { /* every part's journal has its header before any process reads another's */
        st = mrnet_collective_agree(world, st);
        agreed = st != MRNET_OK;
        if (st == MRNET_OK) {
            char part[4200];
            part_name(a->output, world->rank, world->size, part, sizeof part);
            st = open_other_parts(&r, part, settings);
        }
    }
    if (world && !agreed) /* every failure so far, agreed before the run's collectives */
        st = mrnet_collective_agree(world, st);
    if (st == MRNET_OK) {
        cli_progress_init(&r.progress, 30);
        rc = run_batch(&r, cls, jobs, paths + lo, hi - lo, problems);
        if (world && r.merge_due) {
            mrnet_partial_close(&r.sink); /* the parts are complete on disk */
            mrnet_status ms = cli_is_root() ? merge_parts(&r, paths, n_paths, settings, header) : MRNET_OK;
            ms = mrnet_collective_agree(world, ms);
            if (ms != MRNET_OK)
                rc = cli_fail(a->cmd, ms);
        }
    } else
        rc = cli_fail(a->cmd, st);
    mrnet_partial_close(&r.sink);
    mrnet_partial_parts_free(r.others);
    free(r.idx);
    free(paths);
    for (int i = 0; cls && i < cap; i++)
        mrnet_classifier_free(cls[i]);
    free(cls);
    mrnet_inputs_free(&in);
    return rc;
}

static int predict_main(int argc, char **argv, bool embed)
{
    const char **lists = calloc((size_t)argc, sizeof *lists);
    if (!lists)
        return cli_fail(embed ? "embed" : "predict", mrnet_fail(MRNET_ERR_NOMEM, "out of memory"));
    predict_args a = {.embed = embed, .cmd = embed ? "embed" : "predict", .lists = lists, .top = 3, .jobs = 0,
                      .view = MRNET_VIEW_WINDOWS, .crop_seconds = 6, .hop_seconds = 3, .batch = 32};
    int rc = parse(argc, argv, &a);
    if (rc < 0)
        rc = run(&a, argv + optind + 1, argc - optind - 1);
    free(lists);
    return rc;
}

int cmd_predict(int argc, char **argv) { return predict_main(argc, argv, false); }
int cmd_embed(int argc, char **argv) { return predict_main(argc, argv, true); }
