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

#include <mrnet/mrnet.h>

#define DATASET_FLAG_BASE 2000

/* getopt_long entries (ids >= DATASET_FLAG_BASE), NULL-name terminated. */
extern const struct option dataset_flag_options[];
int dataset_flag_count(void);

/* The flags fill a dataset spec (mrnet/data.h); the CLI owns its list strings. */
typedef mrnet_dataset_spec dataset_flags;

void dataset_flags_init(dataset_flags *df);
void dataset_flags_free(dataset_flags *df);
/* Records option c if it is a dataset flag: 1 taken, 0 not ours, -1 bad
 * value (message printed). */
int dataset_flags_take(dataset_flags *df, int c, const char *arg);
/* Checks the combination; returns 0 or prints the problem and returns 2. */
int dataset_flags_check(const char *cmd, dataset_flags *df);
void dataset_flags_usage(FILE *out);

/* Reader counts and how many items got each split and fold, to stderr. */
void dataset_flags_print_summary(const dataset_flags *df, const mrnet_dataset *ds);

#endif
