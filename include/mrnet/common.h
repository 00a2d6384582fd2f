/* mrnet/common.h: status codes, errors and the version, shared by every
 * public header.
 *
 * Every function that can fail returns an mrnet_status; on failure
 * mrnet_last_error() gives a sentence naming the file, tensor or option and
 * the problem. The library never exits or aborts on bad input. */
#ifndef MRNET_COMMON_H
#define MRNET_COMMON_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif
/* Declarations here are the library's exported symbols; everything else is
 * built hidden (-fvisibility=hidden). */
#pragma GCC visibility push(default)

/* The library's version: the headers' and, through mrnet_version(), the
 * linked library's (they differ when a program runs against another build). */
#define MRNET_VERSION_MAJOR 0
#define MRNET_VERSION_MINOR 1
#define MRNET_VERSION_PATCH 0
#define MRNET_VERSION_STRING "0.1.0"
/* "MAJOR.MINOR.PATCH" of the linked library. */
const char *mrnet_version(void);
/* MAJOR * 10000 + MINOR * 100 + PATCH of the linked library. */
int mrnet_version_number(void);

typedef enum {
    MRNET_OK = 0,
    MRNET_ERR_IO,          /* a file could not be opened, read or written */
    MRNET_ERR_FORMAT,      /* a file's contents are malformed */
    MRNET_ERR_SHAPE,       /* a tensor has the wrong shape or dtype */
    MRNET_ERR_ARG,         /* an invalid argument or option */
    MRNET_ERR_NOMEM,       /* out of memory */
    MRNET_ERR_NUMERIC,     /* NaN or Inf where a finite value is needed */
    MRNET_ERR_INTERRUPTED, /* stopped by a signal; work so far was saved */
    MRNET_ERR_UNSUPPORTED  /* a valid request this build cannot serve */
} mrnet_status;

/* The message of the last failure in this thread ("" if none). */
const char *mrnet_last_error(void);
#if defined(__GNUC__)
#define MRNET_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MRNET_PRINTF(a, b)
#endif

/* Sets this thread's message (printf style) and returns status: for code
 * the library calls back (a mrnet_feature_source's read, say) to report a
 * failure the way the library does. */
mrnet_status mrnet_fail(mrnet_status status, const char *fmt, ...) MRNET_PRINTF(2, 3);
/* Prefixes the current message with context ("X: " + old) and returns status. */
mrnet_status mrnet_fail_context(mrnet_status status, const char *fmt, ...) MRNET_PRINTF(2, 3);

/* Returns from the calling function when expr fails. */
#define MRNET_TRY(expr)                      \
    do {                                     \
        mrnet_status try_status_ = (expr);   \
        if (try_status_ != MRNET_OK)         \
            return try_status_;              \
    } while (0)


/* ---- Text for outputs ------------------------------------------------------ */

/* Whether s is valid UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF). */
bool mrnet_utf8_valid(const char *s);
/* A copy of s (malloc'd; NULL when out of memory) with every byte that does
 * not start a valid UTF-8 sequence replaced by U+FFFD: what the JSON, CSV
 * and SVG writers print, so a Latin-1 file name still gives valid output. */
char *mrnet_utf8_sanitize(const char *s);
/* Writes s with bytes outside printable ASCII, '%', '"' and '\\' as %XX:
 * the exact bytes of a file name, recoverable (urllib's unquote_to_bytes). */
void mrnet_fputs_percent_encoded(FILE *f, const char *s);
/* A JSON array of n strings (each mrnet_utf8_sanitize'd), malloc'd; NULL
 * when out of memory. For metadata such as a file's paths or labels. */
char *mrnet_json_string_array(const char *const *items, int n);

/* A short name for a status code. */
const char *mrnet_status_name(mrnet_status status);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
