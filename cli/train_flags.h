/* Training options shared by mrnet train and mrnet cv. */
#ifndef MRNET_CLI_TRAIN_FLAGS_H
#define MRNET_CLI_TRAIN_FLAGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli_util.h"
#include <mrnet/mrnet.h>

/* getopt_long entries (values >= 256), terminated by a zero entry. */
extern const struct option train_flags_options[];
/* Applies one parsed option; false for a bad value. */
bool train_flags_apply(int c, const char *arg, mrnet_train_options *o, bool *quiet);
/* --recipe NAME: false unless NAME is paper or robust; *robust says which. */
bool train_flags_recipe(const char *name, bool *robust);
void train_flags_usage(FILE *out, const char *synopsis, const char *what);

/* Progress display: a bar per batch, a line per epoch. */
typedef struct {
    cli_progress bar;
    bool quiet;
    const char *prefix; /* e.g. "fold 3: " */
} train_view;
void train_flags_progress(void *ctx, const mrnet_train_progress *p);

/* Parses argv with the training options plus `extra` (may be NULL) into o;
 * extra options are handed to on_extra. Returns -1 to go on, else an exit
 * status (0 for --help, 2 for bad usage). */
int train_flags_parse(int argc, char **argv, const char *cmd, mrnet_train_options *o, bool *quiet,
                      const struct option *extra, bool (*on_extra)(int c, const char *arg, void *ctx),
                      void *ctx, const char *synopsis, const char *what);

#endif
