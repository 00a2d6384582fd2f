#include "dataset_flags.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"
#include <mrnet/mrnet.h>

/* mrnet_folds_read_lists reads at most this many lists. */
#define MAX_FOLDS 100

enum {
    D_DATASET = DATASET_FLAG_BASE, D_PLAIN, D_FOLDS, D_SPLIT_LISTS, D_MAKE_FOLDS, D_WRITE_FOLDS,
    D_MAKE_SPLIT, D_SEED, D_FMA_TRACKS, D_FMA_AUDIO, D_CHECK_AUDIO, D_MELON_LABEL, D_MELON_FOLDS
};

const struct option dataset_flag_options[] = {
    {"dataset", required_argument, 0, D_DATASET},       {"plain", no_argument, 0, D_PLAIN},
    {"folds", required_argument, 0, D_FOLDS},           {"split-lists", required_argument, 0, D_SPLIT_LISTS},
    {"make-folds", required_argument, 0, D_MAKE_FOLDS}, {"write-folds", required_argument, 0, D_WRITE_FOLDS},
    {"make-split", required_argument, 0, D_MAKE_SPLIT}, {"seed", required_argument, 0, D_SEED},
    {"fma-tracks", required_argument, 0, D_FMA_TRACKS}, {"fma-audio", required_argument, 0, D_FMA_AUDIO},
    {"check-audio", no_argument, 0, D_CHECK_AUDIO},     {"melon-label", required_argument, 0, D_MELON_LABEL},
    {"melon-folds", required_argument, 0, D_MELON_FOLDS}, {0, 0, 0, 0},
};

int dataset_flag_count(void)
{
    int n = 0;
    while (dataset_flag_options[n].name)
        n++;
    return n;
}

void dataset_flags_init(dataset_flags *df)
{
    memset(df, 0, sizeof *df);
    df->seed = 1;
}

void dataset_flags_free(dataset_flags *df)
{
    free(df->train_list);
    free(df->valid_list);
    free(df->test_list);
    df->train_list = df->valid_list = df->test_list = NULL;
}

static int bad_value(const char *flag, const char *arg, const char *want)
{
    fprintf(stderr, "mrnet extract: --%s '%s': %s\n", flag, arg, want);
    return -1;
}

/* "a,,c" -> three new strings, NULL for empty parts; false unless exactly
 * three parts. */
static bool split_three(const char *arg, char **out)
{
    const char *p = arg;
    for (int i = 0; i < 3; i++) {
        size_t n = strcspn(p, ",");
        if ((i < 2) != (p[n] == ','))
            return false;
        out[i] = n ? strndup(p, n) : NULL;
        if (n && !out[i])
            return false;
        p += n + (i < 2);
    }
    return true;
}

int dataset_flags_take(dataset_flags *df, int c, const char *arg)
{
    long v;
    switch (c) {
    case D_DATASET: df->name = arg; return 1;
    case D_PLAIN: df->plain = true; return 1;
    case D_FOLDS: df->folds_dir = arg; return 1;
    case D_SPLIT_LISTS: {
        char *parts[3] = {0};
        dataset_flags_free(df);
        if (!split_three(arg, parts) || (!parts[0] && !parts[1] && !parts[2])) {
            for (int i = 0; i < 3; i++)
                free(parts[i]);
            return bad_value("split-lists", arg, "expected TRAIN,VALID,TEST list files (a part may be empty)");
        }
        df->split_lists = arg;
        df->train_list = parts[0];
        df->valid_list = parts[1];
        df->test_list = parts[2];
        return 1;
    }
    case D_MAKE_FOLDS:
        if (!cli_parse_int(arg, 2, MAX_FOLDS, &v))
            return bad_value("make-folds", arg, "expected a number of folds from 2 to 100");
        df->make_folds = (int)v;
        return 1;
    case D_WRITE_FOLDS: df->write_folds = arg; return 1;
    case D_MAKE_SPLIT: {
        char *end;
        double a = strtod(arg, &end), b = -1;
        if (end != arg && *end == ',')
            b = strtod(end + 1, &end);
        if (*end || !(a >= 0 && b >= 0 && a + b < 1))
            return bad_value("make-split", arg,
                             "expected VALID,TEST fractions >= 0 summing to less than 1, e.g. 0.15,0.15");
        df->make_split = true;
        df->valid_frac = a;
        df->test_frac = b;
        return 1;
    }
    case D_SEED:
        if (!cli_parse_int(arg, 0, LONG_MAX, &v))
            return bad_value("seed", arg, "expected a non-negative integer");
        df->seed = (uint64_t)v;
        df->seed_given = true;
        return 1;
    case D_FMA_TRACKS: df->fma_tracks = arg; return 1;
    case D_FMA_AUDIO: df->fma_audio = arg; return 1;
    case D_CHECK_AUDIO: df->check_audio = true; return 1;
    case D_MELON_LABEL:
        if (strcmp(arg, "single") && strcmp(arg, "first"))
            return bad_value("melon-label", arg, "expected single or first");
        df->melon_label = arg;
        return 1;
    case D_MELON_FOLDS:
        if (!cli_parse_int(arg, 2, MAX_FOLDS, &v))
            return bad_value("melon-folds", arg, "expected a number of folds from 2 to 100");
        df->melon_folds = (int)v;
        return 1;
    }
    return 0;
}

static bool is_fma(const char *name)
{
    return name && !strncmp(name, "fma-", 4);
}

int dataset_flags_check(const char *cmd, dataset_flags *df)
{
    const char *name = df->name;
    bool melon = name && !strcmp(name, "melon");
    if ((df->fma_tracks || df->fma_audio || df->check_audio) && !is_fma(name))
        return cli_error(cmd, 2, "--%s needs --dataset fma-small, fma-medium or fma-large",
                         df->fma_tracks ? "fma-tracks" : df->fma_audio ? "fma-audio" : "check-audio");
    if ((df->melon_label || df->melon_folds) && !melon)
        return cli_error(cmd, 2, "--%s needs --dataset melon", df->melon_label ? "melon-label" : "melon-folds");
    if (df->folds_dir && (df->make_folds || df->melon_folds))
        return cli_error(cmd, 2, "--folds reads folds; --%s draws them: use one of them",
                         df->make_folds ? "make-folds" : "melon-folds");
    if (df->make_folds && df->melon_folds)
        return cli_error(cmd, 2, "--make-folds and --melon-folds both draw folds: use one of them");
    if (df->split_lists && df->make_split)
        return cli_error(cmd, 2, "--split-lists reads a split; --make-split draws one: use one of them");
    if (df->write_folds && !df->make_folds && !df->melon_folds)
        return cli_error(cmd, 2, "--write-folds writes drawn folds: it needs --make-folds K (or --melon-folds K)");
    if (df->seed_given && !df->make_folds && !df->make_split && !df->melon_folds)
        return cli_error(cmd, 2, "--seed only applies to --make-folds, --make-split or --melon-folds");
    return 0;
}

void dataset_flags_usage(FILE *out)
{
    fprintf(out,
            "dataset options (docs/DATASETS.md):\n"
            "  --folds DIR         read fold lists DIR/1_fold.txt, 2_fold.txt, ... (one path per line,\n"
            "                      e.g. genres_original/blues/blues.00004.wav) into each item's fold;\n"
            "                      files on no list are left out and reported\n"
            "  --split-lists TRAIN,VALID,TEST\n"
            "                      read train/valid/test list files (same line format; a part may be\n"
            "                      empty, e.g. train.txt,,test.txt) into each item's split\n"
            "  --make-folds K      draw K seeded, stratified folds (2..100) before extraction; a\n"
            "                      manifest's group column keeps each group in one fold\n"
            "  --write-folds DIR   also write the drawn folds as DIR/1_fold.txt .. K_fold.txt (atomically;\n"
            "                      paths relative to the dataset root; --folds DIR reads them back)\n"
            "  --make-split VALID,TEST\n"
            "                      draw a seeded, stratified train/valid/test split with these\n"
            "                      fractions, e.g. 0.15,0.15 (replaces a split the input has); whole\n"
            "                      groups when the manifest has a group column\n"
            "  --seed N            seed of --make-folds, --make-split, --melon-folds (default 1)\n"
            "  --fma-tracks FILE   FMA tracks.csv (default ROOT/fma_metadata/tracks.csv)\n"
            "  --fma-audio DIR     FMA audio folder holding 000/000002.mp3 ... (default: found under ROOT)\n"
            "  --check-audio       FMA: open every audio file first; undecodable ones are skipped, counted\n"
            "  --melon-label single|first\n"
            "                      Melon: keep songs with exactly one genre (default), or label every\n"
            "                      song with its first genre\n"
            "  --melon-folds K     Melon: draw K seeded, stratified folds (the paper's 10)\n");
}

/* ---- summary ---- */

static void print_reader_report(const dataset_flags *df)
{
    if (df->has_fma_report) {
        const mrnet_fma_report *r = &df->fma;
        fprintf(stderr,
                "fma: %d rows in tracks.csv, %d in the subset; skipped: %d without genre_top, %d without "
                "audio, %d unreadable, %d malformed\n",
                r->rows, r->in_subset, r->no_genre, r->missing_audio, r->unreadable, r->bad_rows);
    }
    if (df->has_melon_report) {
        const mrnet_melon_report *r = &df->melon;
        fprintf(stderr,
                "melon: %d songs; skipped: %d without genre, %d with several genres, %d unknown codes, "
                "%d without .npy, %d malformed\n",
                r->songs, r->no_genre, r->multi_genre, r->unknown_code, r->missing_mel, r->bad_entries);
    }
}

void dataset_flags_print_summary(const dataset_flags *df, const mrnet_dataset *ds)
{
    print_reader_report(df);
    int train = mrnet_dataset_count_split(ds, "train"), valid = mrnet_dataset_count_split(ds, "valid");
    int test = mrnet_dataset_count_split(ds, "test");
    int none = ds->n_items - train - valid - test;
    const char *whole = mrnet_dataset_has_groups(ds) ? ", whole groups" : "";
    if (none != ds->n_items)
        fprintf(stderr, "items per split%s%s%s: train %d, valid %d, test %d, none %d\n",
                df->make_split ? " (drawn, stratified" : "", df->make_split ? whole : "",
                df->make_split ? ")" : "", train, valid, test, none);
    int max_fold = 0, no_fold = 0;
    for (int i = 0; i < ds->n_items; i++) {
        if (ds->items[i].fold > max_fold)
            max_fold = ds->items[i].fold;
        no_fold += ds->items[i].fold < 0;
    }
    if (max_fold == 0 && no_fold == ds->n_items)
        return;
    bool drawn = df->make_folds || df->melon_folds;
    fprintf(stderr, "items per fold%s%s%s:", drawn ? " (drawn, stratified" : "", drawn ? whole : "",
            drawn ? ")" : "");
    for (int f = 0; f <= max_fold; f++) {
        int n = 0;
        for (int i = 0; i < ds->n_items; i++)
            n += ds->items[i].fold == f;
        if (n || f > 0)
            fprintf(stderr, " %d=%d", f, n);
    }
    fprintf(stderr, ", none %d\n", no_fold);
    if (df->make_folds || df->make_split || df->melon_folds)
        fprintf(stderr, "seed %llu%s%s\n", (unsigned long long)df->seed, df->write_folds ? "; fold lists in " : "",
                df->write_folds ? df->write_folds : "");
}
