/* Inference internals: see mrnet/infer.h. */
#ifndef MRNET_INFER_INFER_H
#define MRNET_INFER_INFER_H

#include <mrnet/infer.h>

#endif
