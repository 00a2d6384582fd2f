/* Small helpers shared by the subcommands. */
#ifndef MRNET_CLI_UTIL_H
#define MRNET_CLI_UTIL_H

#include <stdbool.h>
#include "mrnet/mrnet.h"

/* Prints "mrnet CMD: <library error message>" to stderr; returns 1. */
int cli_fail(const char *cmd, mrnet_status status);
/* Prints "mrnet CMD: <formatted message>" to stderr; returns the given code. */
int cli_error(const char *cmd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Strict number parsing: the whole string must be a number in range. */
bool cli_parse_int(const char *s, long lo, long hi, long *out);
bool cli_parse_double(const char *s, double *out);

#endif
