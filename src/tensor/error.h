/* Error reporting inside the library: set a thread-local message and return
 * the status, so a failing call reads `return mrnet_fail(MRNET_ERR_IO, ...)`. */
#ifndef MRNET_TENSOR_ERROR_H
#define MRNET_TENSOR_ERROR_H

#include "mrnet/mrnet.h"

#if defined(__GNUC__)
#define MRNET_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MRNET_PRINTF(a, b)
#endif

/* Sets the message (printf style) and returns status. */
mrnet_status mrnet_fail(mrnet_status status, const char *fmt, ...) MRNET_PRINTF(2, 3);
/* Prefixes the current message with more context ("loading X: " + old). */
mrnet_status mrnet_fail_context(mrnet_status status, const char *fmt, ...) MRNET_PRINTF(2, 3);
void mrnet_clear_error(void);

/* Propagate a failing status. */
#define MRNET_TRY(expr)                      \
    do {                                     \
        mrnet_status try_status_ = (expr);   \
        if (try_status_ != MRNET_OK)         \
            return try_status_;              \
    } while (0)

#endif
