/* mrnet: the MRNet music classifier as a C library.
 *
 * This header includes every public header:
 *   mrnet/common.h   status codes, errors, version
 *   mrnet/model.h    the network, checkpoints, optimizer, schedule
 *
 * Every function that can fail returns an mrnet_status; on failure
 * mrnet_last_error() gives a sentence naming the file, tensor or option and
 * the problem. The library never exits or aborts on bad input. */
#ifndef MRNET_MRNET_H
#define MRNET_MRNET_H

#include <mrnet/common.h>
#include <mrnet/model.h>

#endif
