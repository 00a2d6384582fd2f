/* Error reporting inside the library: set a thread-local message and return
 * the status, so a failing call reads `return mrnet_fail(MRNET_ERR_IO, ...)`. */
#ifndef MRNET_TENSOR_ERROR_H
#define MRNET_TENSOR_ERROR_H

#include "mrnet/mrnet.h"

void mrnet_clear_error(void);

#endif
