/* safetensors files (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON, then the tensor data.
 * Reading maps the file and validates every header field; tensors point into
 * the mapping (no copies). Writing is atomic (tensor/fileio.h). */
#ifndef MRNET_TENSOR_SAFETENSORS_H
#define MRNET_TENSOR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <mrnet/io.h>

#endif
