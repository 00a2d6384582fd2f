/* mrnet extract INPUT -o STORE: features of a folder, a CSV manifest or one
 * of the paper's datasets into a feature store, with N threads; resumable. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>
#include "dataset_flags.h"
#include "feature_flags.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet extract INPUT -o STORE [-j N] [options]\n"
            "Computes features of many files into a store that training reads (docs/FEATURES.md).\n"
            "Run it again after an interruption (Ctrl-C, kill) to continue; changed files are redone.\n"
            "Under mpirun -np N each process extracts a share of the files (STORE/parts/) and\n"
            "rank 0 merges them; a killed run continues on any N (docs/SCALING.md).\n"
            "INPUT is one of:\n"
            "  a folder with one sub-folder per class (labels from the folder names); a folder\n"
            "  without class folders is taken as unlabelled files\n"
            "  a CSV manifest path,label[,split][,fold]\n"
            "  a dataset root with --dataset gtzan|fma-small|fma-medium|fma-large|melon\n"
            "  -o, --output STORE  the store folder (created if needed)\n"
            "  -j, --threads N     worker threads (default 1; results do not depend on N)\n"
            "  --dataset NAME      read INPUT as one of the paper's datasets\n"
            "  --plain             INPUT is a plain folder: every media file, unlabelled\n"
            "  --float16           store float16 (half the disk)\n"
            "  --int8              store int8 with a float32 scale per channel (a quarter of the disk)\n"
            "  --copy-npy          copy .npy inputs into the store (default: referenced in place)\n"
            "  --rebuild           recompute everything (also after changing settings)\n"
            "  --strict            exit 1 when any file failed\n"
            "  --quiet             no progress output\n");
    dataset_flags_usage(out);
    feature_flags_usage(out);
}

typedef struct {
    bool tty, quiet;
    double last_print;
    int last_percent;
} progress_state;

static void on_progress(void *ctx, const mrnet_extract_progress *p)
{
    progress_state *ps = ctx;
    if (ps->quiet)
        return;
    bool finished = p->done == p->total;
    double rate = p->elapsed > 0 ? (p->computed + p->failed) / p->elapsed : 0;
    int left = p->total - p->done;
    double eta = rate > 0 ? left / rate : 0;
    if (ps->tty) {
        if (!finished && p->elapsed - ps->last_print < 0.1 && p->done > 0)
            return;
        ps->last_print = p->elapsed;
        int width = 30, fill = p->total ? (int)((long long)width * p->done / p->total) : width;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %d/%d  %.1f files/s  eta %02d:%02d  failed %d ", bar, p->done, p->total, rate,
                (int)eta / 60, (int)eta % 60, p->failed);
        if (finished)
            fputc('\n', stderr);
        fflush(stderr);
    } else {
        /* Plain lines: every 10 % or 10 s, and at the end. */
        int percent = p->total ? (int)(100LL * p->done / p->total) : 100;
        if (!finished && percent / 10 == ps->last_percent / 10 && p->elapsed - ps->last_print < 10.0)
            return;
        if (finished && ps->last_percent == 100)
            return;
        ps->last_print = p->elapsed;
        ps->last_percent = percent;
        fprintf(stderr, "extract: %d/%d files (%d%%), %d reused, %d computed, %d failed, %.1f s\n", p->done, p->total,
                percent, p->reused, p->computed, p->failed, p->elapsed);
    }
}

static void print_summary(const mrnet_extract_report *r, const mrnet_dataset *ds, const dataset_flags *df,
                          const char *store)
{
    fprintf(stderr, "extract: %s: %d files: %d computed, %d reused, %d failed", store, r->total, r->computed,
            r->reused, r->failed);
    if (r->remaining)
        fprintf(stderr, ", %d left", r->remaining);
    if (r->computed && r->elapsed > 0)
        fprintf(stderr, "; %.1f s (%.1f files/s, %.0fx real time)", r->elapsed, r->computed / r->elapsed,
                r->media_seconds / r->elapsed);
    fputc('\n', stderr);
    dataset_flags_print_summary(df, ds);
    if (ds->n_skipped) {
        fprintf(stderr, "skipped while reading the input (%d):\n", ds->n_skipped);
        for (int i = 0; i < ds->n_skipped && i < 50; i++)
            fprintf(stderr, "  %s: %s\n", ds->skipped[i].source, ds->skipped[i].reason);
        if (ds->n_skipped > 50)
            fprintf(stderr, "  ... and %d more\n", ds->n_skipped - 50);
    }
    if (r->n_failures) {
        fprintf(stderr, "failed (%d):\n", r->n_failures);
        for (int i = 0; i < r->n_failures && i < 50; i++)
            fprintf(stderr, "  %s\n", r->failures[i].reason);
        if (r->n_failures > 50)
            fprintf(stderr, "  ... and %d more\n", r->n_failures - 50);
    }
    if (r->n_warnings) {
        fprintf(stderr, "stored with a warning (%d):\n", r->n_warnings);
        for (int i = 0; i < r->n_warnings && i < 20; i++)
            fprintf(stderr, "  %s: %s\n", r->warnings[i].source, r->warnings[i].reason);
        if (r->n_warnings > 20)
            fprintf(stderr, "  ... and %d more\n", r->n_warnings - 20);
    }
}

/* The store is a folder, never standard output, and never the input file. */
static int check_store_path(const char *store, const char *input)
{
    if (!strcmp(store, "-"))
        return cli_error("extract", 2, "-o -: a store is a folder, not standard output");
    struct stat sb;
    if (stat(input, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    mrnet_status s = cli_output_not_input("-o", store, (const char *const[]){input}, 1);
    return s == MRNET_OK ? 0 : cli_fail("extract", s);
}

int cmd_extract(int argc, char **argv)
{
    enum { O_FLOAT16 = 1, O_COPY, O_REBUILD, O_STRICT, O_QUIET, O_INT8 };
    int nf = feature_flag_count(), nd = dataset_flag_count();
    struct option mine[] = {{"output", required_argument, 0, 'o'}, {"threads", required_argument, 0, 'j'},
                            {"float16", no_argument, 0, O_FLOAT16}, {"int8", no_argument, 0, O_INT8},
                            {"copy-npy", no_argument, 0, O_COPY},   {"rebuild", no_argument, 0, O_REBUILD},
                            {"strict", no_argument, 0, O_STRICT},   {"quiet", no_argument, 0, O_QUIET},
                            {"help", no_argument, 0, 'h'}};
    /* + 1: getopt_long needs the zero entry that ends the table */
    struct option *opts = calloc((size_t)(nf + nd) + sizeof mine / sizeof mine[0] + 1, sizeof *opts);
    if (!opts)
        return cli_error("extract", 1, "out of memory");
    memcpy(opts, feature_flag_options, sizeof *opts * (size_t)nf);
    memcpy(opts + nf, dataset_flag_options, sizeof *opts * (size_t)nd);
    memcpy(opts + nf + nd, mine, sizeof mine);
    feature_flags ff = {0};
    mrnet_extract_options eo;
    mrnet_extract_options_default(&eo);
    const char *store = NULL;
    bool strict = false, quiet = false;
    dataset_flags df;
    dataset_flags_init(&df);
    long threads = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:j:h", opts, NULL)) != -1) {
        if (feature_flags_take(&ff, c, optarg))
            continue;
        int taken = dataset_flags_take(&df, c, optarg);
        if (taken > 0)
            continue;
        if (taken < 0) {
            dataset_flags_free(&df);
            free(opts);
            return 2;
        }
        switch (c) {
        case 'o': store = optarg; continue;
        case 'j':
            if (cli_parse_int(optarg, 1, 1024, &threads))
                continue;
            break;
        case O_FLOAT16: eo.float16 = true; continue;
        case O_INT8: eo.int8 = true; continue;
        case O_COPY: eo.copy_npy = true; continue;
        case O_REBUILD: eo.rebuild = true; continue;
        case O_STRICT: strict = true; continue;
        case O_QUIET: quiet = true; continue;
        case 'h':
            usage(stdout);
            dataset_flags_free(&df);
            free(opts);
            return 0;
        }
        usage(stderr);
        dataset_flags_free(&df);
        free(opts);
        return 2;
    }
    free(opts);
    if (optind + 1 != argc || !store) {
        usage(stderr);
        dataset_flags_free(&df);
        return 2;
    }
    int rc = feature_flags_apply("extract", &ff, &eo.features);
    if (!rc)
        rc = dataset_flags_check("extract", &df);
    if (!rc)
        rc = check_store_path(store, argv[optind]);
    if (rc) {
        dataset_flags_free(&df);
        return rc;
    }
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    mrnet_status s = mrnet_dataset_load(&df, argv[optind], &ds);
    if (s != MRNET_OK) {
        mrnet_dataset_free(&ds);
        dataset_flags_free(&df);
        return cli_fail("extract", s);
    }
    if (ds.n_items == 0) {
        mrnet_dataset_free(&ds);
        dataset_flags_free(&df);
        return cli_error("extract", 1, "%s: no audio or .npy files found", argv[optind]);
    }
    progress_state ps = {.tty = isatty(STDERR_FILENO), .quiet = quiet, .last_print = -1e9, .last_percent = -10};
    eo.threads = (int)threads;
    eo.stop = &interrupted;
    eo.progress = on_progress;
    eo.progress_ctx = &ps;
    eo.comm = cli_collective();
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    mrnet_extract_report rep;
    s = mrnet_store_extract(store, &ds, &eo, &rep);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (ps.tty && !quiet && rep.total != rep.reused + rep.computed + rep.failed)
        fputc('\n', stderr);
    if (cli_is_root()) /* every process ends with the whole report */
        print_summary(&rep, &ds, &df, store);
    int code = 0;
    if (s != MRNET_OK)
        code = cli_fail("extract", s);
    else if ((strict && rep.failed) || rep.reused + rep.computed == 0)
        code = 1;
    mrnet_extract_report_free(&rep);
    mrnet_dataset_free(&ds);
    dataset_flags_free(&df);
    return code;
}
