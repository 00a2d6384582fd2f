/* mrnet index / query / similar: a collection in a SQLite index
 * (mrnet/collection.h, docs/INDEX.md). */
#include <getopt.h>
#include <omp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mrnet/mrnet.h>
#include "cli_util.h"
#include "commands.h"

typedef enum { SHOW_TABLE, SHOW_JSONL, SHOW_CSV } show_format;

static bool parse_show(const char *s, show_format *f)
{
    *f = !strcmp(s, "jsonl") ? SHOW_JSONL : !strcmp(s, "csv") ? SHOW_CSV : SHOW_TABLE;
    return !strcmp(s, "table") || !strcmp(s, "jsonl") || !strcmp(s, "csv");
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- mrnet index ------------------------------------------------------------------ */

static void index_usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet index CHECKPOINT [FOLDERS-OR-FILES...] --db LIB.db [options]\n"
            "Adds the collection to a SQLite index (made when missing): per file its path, size,\n"
            "modification time, content hash, length, the probabilities of every label for the\n"
            "track and each window, and its embedding. Run it again to bring the index up to date:\n"
            "new and changed files are classified, unchanged ones skipped, files that are gone\n"
            "from the folders named are removed. A killed run keeps what it committed; run again.\n"
            "  --db FILE            the index (required)\n"
            "  --files-from LIST    also the paths in LIST, one per line (-: standard input)\n"
            "  -j, --threads N      N files at once, one thread each (default: as many as OpenMP\n"
            "                       threads; 1 for a WavLM checkpoint)\n"
            "  --rebuild            the index holds another model's entries: index all again\n"
            "  --wavlm WEIGHTS      for a checkpoint trained on WavLM features\n"
            "  --crop-seconds S (6)  --hop-seconds S (3)  --quiet\n"
            "Exit status: 0 all done; 1 some path or file failed (recorded, tried again next\n"
            "time) or the index could not be written; 2 bad usage; 130 stopped.\n");
}

typedef struct {
    cli_progress progress;
    bool quiet;
    double started;
} index_progress;

static void on_file(void *ctx, const char *path, mrnet_status status, const char *message, int done, int total)
{
    index_progress *p = ctx;
    if (status != MRNET_OK) {
        cli_progress_done(&p->progress);
        fprintf(stderr, "mrnet index: failed: %s\n", message);
    }
    (void)path;
    if (p->quiet)
        return;
    double rate = done / (now_seconds() - p->started + 1e-9);
    cli_progress_print(&p->progress, done == total, "index %s %d/%d files, %.2f files/s", cli_bar(done, total, 24),
                       done, total, rate);
}

/* Folders and files as absolute paths: what the index stores, so that it
 * does not depend on where the command runs. */
static char *absolute(const char *path)
{
    char *r = realpath(path, NULL);
    return r ? r : strdup(path); /* missing: kept as given, reported by the walk */
}

int cmd_index(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},         {"files-from", required_argument, 0, 'F'},
        {"threads", required_argument, 0, 'j'},    {"rebuild", no_argument, 0, 'R'},
        {"wavlm", required_argument, 0, 'w'},      {"crop-seconds", required_argument, 0, 'c'},
        {"hop-seconds", required_argument, 0, 'p'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    const char *db = NULL, *wavlm = NULL;
    const char **lists = calloc((size_t)argc + 1, sizeof *lists);
    int n_lists = 0, c;
    long jobs = 0;
    bool quiet = false;
    mrnet_index_options io = {0};
    mrnet_classify_options_default(&io.classify);
    if (!lists)
        return cli_fail("index", mrnet_fail(MRNET_ERR_NOMEM, "out of memory"));
    while ((c = getopt_long(argc, argv, "j:h", opts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'd': db = optarg; break;
        case 'F': lists[n_lists++] = optarg; break;
        case 'j': ok = cli_parse_int(optarg, 1, 256, &jobs); break;
        case 'R': io.rebuild = true; break;
        case 'w': wavlm = optarg; break;
        case 'c': ok = cli_parse_double(optarg, &io.classify.crop_seconds) && io.classify.crop_seconds > 0; break;
        case 'p': ok = cli_parse_double(optarg, &io.classify.hop_seconds) && io.classify.hop_seconds > 0; break;
        case 'q': quiet = true; break;
        case 'h': index_usage(stdout); free(lists); return 0;
        default: index_usage(stderr); free(lists); return 2;
        }
        if (!ok) {
            free(lists);
            return cli_error("index", 2, "bad value '%s'", optarg);
        }
    }
    if (optind >= argc || !db || (optind + 1 >= argc && n_lists == 0)) {
        free(lists);
        index_usage(stderr);
        return 2;
    }
    char *checkpoint_abs = absolute(argv[optind]); /* the index records it: similar and serve find it anywhere */
    const char *checkpoint = checkpoint_abs ? checkpoint_abs : argv[optind];
    int n_roots = argc - optind - 1;
    if (jobs == 0)
        jobs = wavlm ? 1 : omp_get_max_threads(); /* a WavLM front end per worker is 0.4 GB each */
    char **roots = calloc((size_t)n_roots + 1, sizeof *roots);
    mrnet_classifier **cls = calloc((size_t)jobs, sizeof *cls);
    mrnet_inputs in;
    mrnet_inputs_init(&in);
    mrnet_index *ix = NULL;
    mrnet_status st = roots && cls ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; st == MRNET_OK && i < n_roots; i++)
        if (!(roots[i] = absolute(argv[optind + 1 + i])))
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; st == MRNET_OK && i < n_roots; i++)
        st = mrnet_inputs_add_path(&in, roots[i]);
    for (int i = 0; st == MRNET_OK && i < n_lists; i++)
        st = mrnet_inputs_add_list(&in, lists[i]);
    for (int i = 0; st == MRNET_OK && i < jobs; i++) {
        st = mrnet_classifier_open(checkpoint, &cls[i]);
        if (st == MRNET_OK && wavlm)
            st = mrnet_classifier_set_wavlm(cls[i], wavlm);
    }
    if (st == MRNET_OK)
        st = mrnet_index_open(db, true, &ix);
    int rc = 0;
    if (st == MRNET_OK) {
        for (int i = 0; i < in.n; i++)
            if (in.items[i].problem) {
                fprintf(stderr, "mrnet index: failed: ");
                cli_print_text(stderr, in.items[i].path);
                fprintf(stderr, ": %s\n", in.items[i].problem);
            }
        index_progress p = {.quiet = quiet, .started = now_seconds()};
        cli_progress_init(&p.progress, 30);
        io.on_file = on_file;
        io.ctx = &p;
        io.stop = cli_stop_on_signal();
        mrnet_index_report rep;
        double t0 = now_seconds();
        st = mrnet_index_update(ix, checkpoint, cls, (int)jobs, &in, (const char *const *)roots, n_roots, &io, &rep);
        cli_stop_restore();
        cli_progress_done(&p.progress);
        double wall = now_seconds() - t0;
        fprintf(stderr, "mrnet index: %s: %d added, %d updated, %d unchanged, %d removed, %d failed (%.1f s)\n", db,
                rep.added, rep.updated, rep.unchanged, rep.removed, rep.failed + in.n_problems, wall);
        if (st == MRNET_ERR_INTERRUPTED)
            rc = cli_error("index", 130, "%s; what was done is in %s: run again to continue", mrnet_last_error(), db);
        else if (st != MRNET_OK)
            rc = cli_fail("index", st);
        else
            rc = rep.failed + in.n_problems > 0 ? 1 : 0;
    } else
        rc = cli_fail("index", st);
    mrnet_index_close(ix);
    for (int i = 0; cls && i < jobs; i++)
        mrnet_classifier_free(cls[i]);
    for (int i = 0; roots && i < n_roots; i++)
        free(roots[i]);
    free(roots);
    free(cls);
    free(lists);
    free(checkpoint_abs);
    mrnet_inputs_free(&in);
    return rc;
}

/* ---- printing entries ------------------------------------------------------------- */

typedef struct {
    show_format format;
    const mrnet_index_model *m;
    int label; /* the queried label, or -1 */
    int top;
    int *idx;
    int n;
} printer;

static void print_labels(printer *p, const float *probs)
{
    int n = mrnet_top_k(probs, p->m->K, p->top, p->idx);
    for (int i = 0; i < n; i++) {
        const char *name = p->m->labels[p->idx[i]];
        if (p->format == SHOW_TABLE) {
            fputs(i ? "  " : "", stdout);
            cli_print_text(stdout, name);
            printf(" %.3f", probs[p->idx[i]]);
        } else if (p->format == SHOW_JSONL) {
            fputs(i ? ",{\"label\":" : "{\"label\":", stdout);
            cli_json_string(stdout, name);
            printf(",\"probability\":%.6f}", probs[p->idx[i]]);
        } else {
            fputc(',', stdout);
            cli_csv_field(stdout, name);
            printf(",%.6f", probs[p->idx[i]]);
        }
    }
}

static void print_entry(void *ctx, const mrnet_index_entry *e)
{
    printer *p = ctx;
    p->n++;
    if (p->format == SHOW_TABLE) {
        cli_print_text(stdout, e->path);
        printf("\t%.1f s\t", e->seconds);
        if (e->probs)
            print_labels(p, e->probs);
        else
            printf("failed: %s", e->error ? e->error : "?");
        fputc('\n', stdout);
    } else if (p->format == SHOW_JSONL) {
        fputs("{\"path\":", stdout);
        cli_json_string(stdout, e->path);
        printf(",\"seconds\":%.3f", e->seconds);
        if (e->probs) {
            fputs(",\"top\":[", stdout);
            print_labels(p, e->probs);
            fputc(']', stdout);
        } else {
            fputs(",\"error\":", stdout);
            cli_json_string(stdout, e->error ? e->error : "?");
        }
        fputs("}\n", stdout);
    } else {
        cli_csv_field(stdout, e->path);
        printf(",%.3f", e->seconds);
        if (e->probs)
            print_labels(p, e->probs);
        fputc('\n', stdout);
    }
}

/* ---- mrnet query ------------------------------------------------------------------ */

static void query_usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet query --db LIB.db [--label L [--min-prob P]] [--sort prob|path|seconds] [--limit N]\n"
            "Lists indexed tracks: those whose probability of label L is at least P (default 0.5),\n"
            "most probable first; without --label every track (by path).\n"
            "  --top K              labels shown per track (default 3)\n"
            "  --format F           table (default: path, seconds, labels; one line each), jsonl or csv\n"
            "  --timeline PATH      instead: the windows of one indexed track\n");
}

static int print_timeline(mrnet_index *ix, const mrnet_index_model *m, const char *path, printer *p)
{
    int n;
    double *spans;
    float *probs;
    mrnet_status st = mrnet_index_windows(ix, path, &n, &spans, &probs);
    if (st != MRNET_OK)
        return cli_fail("query", st);
    for (int i = 0; i < n; i++) {
        const float *pr = probs + (size_t)i * m->K;
        if (p->format == SHOW_JSONL) {
            printf("{\"start\":%.3f,\"end\":%.3f,\"top\":[", spans[2 * i], spans[2 * i + 1]);
            print_labels(p, pr);
            fputs("]}\n", stdout);
        } else if (p->format == SHOW_CSV) {
            printf("%.3f,%.3f", spans[2 * i], spans[2 * i + 1]);
            print_labels(p, pr);
            fputc('\n', stdout);
        } else {
            printf("%8.1f-%8.1f s\t", spans[2 * i], spans[2 * i + 1]);
            print_labels(p, pr);
            fputc('\n', stdout);
        }
    }
    free(spans);
    free(probs);
    return 0;
}

int cmd_query(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},       {"label", required_argument, 0, 'l'},
        {"min-prob", required_argument, 0, 'm'}, {"sort", required_argument, 0, 's'},
        {"limit", required_argument, 0, 'n'},    {"top", required_argument, 0, 'k'},
        {"format", required_argument, 0, 'f'},   {"timeline", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *db = NULL, *label = NULL, *timeline = NULL;
    double min_prob = 0.5;
    long limit = 0, top = 3;
    mrnet_index_sort sort = MRNET_SORT_PROB;
    bool sort_given = false;
    show_format format = SHOW_TABLE;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'd': db = optarg; break;
        case 'l': label = optarg; break;
        case 'm': ok = cli_parse_double(optarg, &min_prob) && min_prob >= 0 && min_prob <= 1; break;
        case 's':
            ok = !strcmp(optarg, "prob") || !strcmp(optarg, "path") || !strcmp(optarg, "seconds");
            sort = !strcmp(optarg, "path") ? MRNET_SORT_PATH : !strcmp(optarg, "seconds") ? MRNET_SORT_SECONDS
                                                                                           : MRNET_SORT_PROB;
            sort_given = true;
            break;
        case 'n': ok = cli_parse_int(optarg, 1, INT_MAX, &limit); break;
        case 'k': ok = cli_parse_int(optarg, 1, 100000, &top); break;
        case 'f': ok = parse_show(optarg, &format); break;
        case 't': timeline = optarg; break;
        case 'h': query_usage(stdout); return 0;
        default: query_usage(stderr); return 2;
        }
        if (!ok)
            return cli_error("query", 2, "bad value '%s' (--min-prob: 0 to 1; --sort: prob, path or seconds; "
                             "--format: table, jsonl or csv)", optarg);
    }
    if (!db || optind != argc) {
        query_usage(stderr);
        return 2;
    }
    if (sort_given && sort == MRNET_SORT_PROB && !label)
        return cli_error("query", 2, "--sort prob needs --label");
    mrnet_index *ix;
    mrnet_status st = mrnet_index_open(db, false, &ix);
    if (st != MRNET_OK)
        return cli_fail("query", st);
    mrnet_index_model m;
    st = mrnet_index_model_info(ix, &m);
    int rc = 0;
    printer p = {.format = format, .m = &m, .label = -1, .top = (int)top};
    if (st == MRNET_OK && !(p.idx = malloc(sizeof(int) * (size_t)m.K)))
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (st == MRNET_OK && timeline)
        rc = print_timeline(ix, &m, timeline, &p);
    else if (st == MRNET_OK) {
        if (format == SHOW_CSV) {
            printf("path,seconds");
            for (int i = 1; i <= (top < m.K ? top : m.K); i++)
                printf(",label%d,probability%d", i, i);
            fputc('\n', stdout);
        }
        double t0 = now_seconds();
        st = mrnet_index_query(ix, label, min_prob, !label && !sort_given ? MRNET_SORT_PATH : sort, (int)limit,
                               print_entry, &p);
        if (st == MRNET_OK)
            fprintf(stderr, "mrnet query: %d tracks (%.1f ms)\n", p.n, 1e3 * (now_seconds() - t0));
    }
    if (st != MRNET_OK)
        rc = cli_fail("query", st);
    free(p.idx);
    mrnet_index_close(ix);
    return rc;
}

/* ---- mrnet similar ---------------------------------------------------------------- */

static void similar_usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet similar FILE-OR-INDEXED-PATH --db LIB.db [-k N] [--format table|jsonl|csv]\n"
            "The N indexed tracks most similar to a track (cosine similarity of embeddings, exact\n"
            "search over all). A file that is not in the index is embedded on the fly with the\n"
            "index's checkpoint (or --model CHECKPOINT).\n"
            "  -k N                 how many (default 10)\n"
            "  --model CHECKPOINT   for a file not in the index, when the index's checkpoint moved\n"
            "  --wavlm WEIGHTS      for a checkpoint trained on WavLM features\n");
}

/* The query's embedding: the indexed row, or the file embedded now. */
static mrnet_status query_vector(const mrnet_index_embeddings *e, const mrnet_index_model *m, const char *query,
                                 const char *model, const char *wavlm, float *vec, int *row)
{
    char *abs = realpath(query, NULL);
    *row = mrnet_index_embeddings_find(e, abs ? abs : query);
    if (*row < 0)
        *row = mrnet_index_embeddings_find(e, query);
    free(abs);
    if (*row >= 0) {
        memcpy(vec, e->vectors + (size_t)*row * e->E, sizeof(float) * (size_t)e->E);
        return MRNET_OK;
    }
    const char *ckpt = model ? model : m->checkpoint;
    mrnet_classifier *c;
    MRNET_TRY(mrnet_fail_context(mrnet_classifier_open(ckpt, &c), "%s is not in the index; embedding it", query));
    mrnet_status st = MRNET_OK;
    if (mrnet_classifier_embed_size(c) != e->E)
        st = mrnet_fail(MRNET_ERR_SHAPE, "%s embeds in %d dimensions, the index in %d: not the index's model", ckpt,
                        mrnet_classifier_embed_size(c), e->E);
    if (st == MRNET_OK && wavlm)
        st = mrnet_classifier_set_wavlm(c, wavlm);
    if (st == MRNET_OK)
        st = mrnet_classify_file(c, query, NULL, NULL, vec, NULL, NULL, NULL);
    mrnet_classifier_free(c);
    return st;
}

int cmd_similar(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},    {"format", required_argument, 0, 'f'},
        {"model", required_argument, 0, 'm'}, {"wavlm", required_argument, 0, 'w'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *db = NULL, *model = NULL, *wavlm = NULL;
    long k = 10;
    show_format format = SHOW_TABLE;
    int c;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'd': db = optarg; break;
        case 'k': ok = cli_parse_int(optarg, 1, 1000000, &k); break;
        case 'f': ok = parse_show(optarg, &format); break;
        case 'm': model = optarg; break;
        case 'w': wavlm = optarg; break;
        case 'h': similar_usage(stdout); return 0;
        default: similar_usage(stderr); return 2;
        }
        if (!ok)
            return cli_error("similar", 2, "bad value '%s'", optarg);
    }
    if (!db || optind + 1 != argc) {
        similar_usage(stderr);
        return 2;
    }
    const char *query = argv[optind];
    mrnet_index *ix;
    mrnet_status st = mrnet_index_open(db, false, &ix);
    if (st != MRNET_OK)
        return cli_fail("similar", st);
    mrnet_index_model m;
    mrnet_index_embeddings e = {0};
    float *vec = NULL, *sims = NULL;
    int *rows = NULL, row = -1, n = 0;
    double t_load = now_seconds(), t_search = 0;
    st = mrnet_index_model_info(ix, &m);
    if (st == MRNET_OK)
        st = mrnet_index_load_embeddings(ix, &e);
    t_load = now_seconds() - t_load;
    if (st == MRNET_OK) {
        vec = malloc(sizeof(float) * (size_t)e.E);
        sims = malloc(sizeof(float) * (size_t)k);
        rows = malloc(sizeof(int) * (size_t)k);
        if (!vec || !sims || !rows)
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    if (st == MRNET_OK)
        st = query_vector(&e, &m, query, model, wavlm, vec, &row);
    if (st == MRNET_OK) {
        double t0 = now_seconds();
        n = mrnet_nearest(&e, vec, (int)k, row, rows, sims);
        t_search = now_seconds() - t0;
        if (format == SHOW_CSV)
            printf("path,similarity\n");
        for (int i = 0; i < n; i++) {
            const char *path = e.paths[rows[i]];
            if (format == SHOW_JSONL) {
                fputs("{\"path\":", stdout);
                cli_json_string(stdout, path);
                printf(",\"similarity\":%.6f}\n", sims[i]);
            } else if (format == SHOW_CSV) {
                cli_csv_field(stdout, path);
                printf(",%.6f\n", sims[i]);
            } else {
                printf("%.4f\t", sims[i]);
                cli_print_text(stdout, path);
                fputc('\n', stdout);
            }
        }
        fprintf(stderr, "mrnet similar: %d of %d tracks (load %.1f ms, search %.2f ms)\n", n, e.N, 1e3 * t_load,
                1e3 * t_search);
    }
    int rc = st == MRNET_OK ? 0 : cli_fail("similar", st);
    free(vec);
    free(sims);
    free(rows);
    mrnet_index_embeddings_free(&e);
    mrnet_index_close(ix);
    return rc;
}
