#include "tensor/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

const char *mrnet_version(void) { return MRNET_VERSION_STRING; }

int mrnet_version_number(void)
{
    return MRNET_VERSION_MAJOR * 10000 + MRNET_VERSION_MINOR * 100 + MRNET_VERSION_PATCH;
}

const char *mrnet_last_error(void) { return last_error; }

void mrnet_clear_error(void) { last_error[0] = '\0'; }

const char *mrnet_status_name(mrnet_status status)
{
    switch (status) {
    case MRNET_OK: return "ok";
    case MRNET_ERR_IO: return "I/O error";
    case MRNET_ERR_FORMAT: return "malformed file";
    case MRNET_ERR_SHAPE: return "wrong shape";
    case MRNET_ERR_ARG: return "invalid argument";
    case MRNET_ERR_NOMEM: return "out of memory";
    case MRNET_ERR_NUMERIC: return "non-finite value";
    case MRNET_ERR_INTERRUPTED: return "interrupted";
    case MRNET_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown error";
}

mrnet_status mrnet_fail(mrnet_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

mrnet_status mrnet_fail_context(mrnet_status status, const char *fmt, ...)
{
    char old[sizeof last_error];
    memcpy(old, last_error, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    /* append ": old", truncated to the buffer */
    size_t used = n < 0 ? 0 : (size_t)n;
    if (used + 2 < sizeof last_error) {
        memcpy(last_error + used, ": ", 2);
        size_t room = sizeof last_error - used - 3, len = strlen(old);
        memcpy(last_error + used + 2, old, len < room ? len : room);
        last_error[used + 2 + (len < room ? len : room)] = '\0';
    }
    return status;
}
