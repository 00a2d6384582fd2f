/* The feature options shared by `mrnet features` and `mrnet extract`: a
 * preset first, then individual flags override it, in any order. */
#ifndef MRNET_CLI_FEATURE_FLAGS_H
#define MRNET_CLI_FEATURE_FLAGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <mrnet/mrnet.h>

#define FEATURE_FLAG_BASE 1000
#define FEATURE_FLAG_MAX 64

/* getopt_long entries (ids >= FEATURE_FLAG_BASE), NULL-name terminated. */
extern const struct option feature_flag_options[];
/* Number of entries before the terminator. */
int feature_flag_count(void);

typedef struct {
    int n;
    int ids[FEATURE_FLAG_MAX];
    const char *args[FEATURE_FLAG_MAX];
} feature_flags;

/* Records option c (with its argument) if it is a feature flag. */
bool feature_flags_take(feature_flags *ff, int c, const char *arg);
/* The preset (default melon, mono) then every recorded flag, into opt.
 * Returns 0 or prints the problem and returns 2. */
int feature_flags_apply(const char *cmd, const feature_flags *ff, mrnet_features_options *opt);
void feature_flags_usage(FILE *out);

#endif
