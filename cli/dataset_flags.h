/* The dataset options of `mrnet extract`: which reader reads INPUT, with
 * which reader options (FMA, Melon), and how items get their folds and
 * splits (read from GTZAN-style lists, or drawn with a seed and written as
 * lists so a run can be reproduced). */
#ifndef MRNET_CLI_DATASET_FLAGS_H
#define MRNET_CLI_DATASET_FLAGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "data/dataset.h"
#include "data/fma.h"
#include "data/melon.h"

#define DATASET_FLAG_BASE 2000

/* getopt_long entries (ids >= DATASET_FLAG_BASE), NULL-name terminated. */
extern const struct option dataset_flag_options[];
int dataset_flag_count(void);

typedef struct {
    const char *name; /* --dataset: gtzan, fma-small, ..., melon; NULL: folder/manifest */
    bool plain;
    const char *folds_dir;                  /* --folds */
    const char *split_lists;                /* --split-lists, as given */
    char *train_list, *valid_list, *test_list; /* parsed from split_lists */
    int make_folds;                         /* --make-folds K, 0: none */
    const char *write_folds;                /* --write-folds DIR */
    bool make_split;
    double valid_frac, test_frac;           /* --make-split VALID,TEST */
    bool seed_given;
    uint64_t seed;                          /* --seed, default 1 */
    const char *fma_tracks, *fma_audio;     /* --fma-tracks, --fma-audio */
    bool check_audio;                       /* --check-audio */
    const char *melon_label;                /* --melon-label */
    int melon_folds;                        /* --melon-folds K, 0: none */
    /* What the readers found, for the summary. */
    bool has_fma_report, has_melon_report;
    mrnet_fma_report fma;
    mrnet_melon_report melon;
    int n_folds; /* folds read or drawn (0: none) */
} dataset_flags;

void dataset_flags_init(dataset_flags *df);
void dataset_flags_free(dataset_flags *df);
/* Records option c if it is a dataset flag: 1 taken, 0 not ours, -1 bad
 * value (message printed). */
int dataset_flags_take(dataset_flags *df, int c, const char *arg);
/* Checks the combination; returns 0 or prints the problem and returns 2. */
int dataset_flags_check(const char *cmd, dataset_flags *df);
void dataset_flags_usage(FILE *out);

/* Reads INPUT with the chosen reader and options, then applies fold and
 * split lists, draws folds and splits, and writes fold lists. */
mrnet_status dataset_flags_read(dataset_flags *df, const char *input, mrnet_dataset *ds);
/* Reader counts and how many items got each split and fold, to stderr. */
void dataset_flags_print_summary(const dataset_flags *df, const mrnet_dataset *ds);

#endif
