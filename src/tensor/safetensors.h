/* safetensors files (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON, then the tensor data.
 * Reading maps the file and validates every header field; tensors point into
 * the mapping (no copies). Writing is atomic (tensor/fileio.h). */
#ifndef MRNET_TENSOR_SAFETENSORS_H
#define MRNET_TENSOR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "mrnet/mrnet.h"

#define ST_MAX_DIMS 8

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL } st_dtype;

const char *st_dtype_name(st_dtype dtype);
size_t st_dtype_size(st_dtype dtype);

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    const void *data; /* into the mapping; possibly unaligned for 2-byte types */
} st_tensor;

typedef struct {
    char *path;
    st_tensor *tensors;
    int n_tensors;
    char **meta_keys, **meta_values;
    int n_meta;
    void *map;
    size_t map_size;
} st_file;

/* Opens and validates: header length within the file, JSON well formed, every
 * tensor with a known dtype, shape of non-negative dims, data_offsets inside
 * the data area, matching dtype*numel, and no two tensors overlapping. */
mrnet_status st_open(const char *path, st_file **out);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
const char *st_meta(const st_file *f, const char *key);

/* A float32 tensor of exactly this shape (dims < 0 match anything); names the
 * file, tensor, expected and found shape/dtype on failure. Missing -> error. */
mrnet_status st_get_f32(const st_file *f, const char *name, int ndim, const int64_t *shape,
                        const float **data);
/* Copies any float/int tensor of numel n into float32 (F32, F16, BF16, F64,
 * I64, I32). */
mrnet_status st_copy_to_f32(const st_file *f, const st_tensor *t, float *dst, int64_t n);
/* "(2, 3, 4)" into buf. */
const char *st_shape_string(int ndim, const int64_t *shape, char *buf, size_t size);

/* Writer: tensors are referenced, not copied; they must stay valid until
 * st_writer_save returns. Insertion order is kept in the header; the data
 * area holds 8-byte dtypes first, then 4, 2, 1, so that every tensor is
 * aligned to its dtype size with no padding. Names must be unique. */
typedef struct st_writer st_writer;
st_writer *st_writer_create(void);
mrnet_status st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim,
                           const int64_t *shape, const void *data);
mrnet_status st_writer_meta(st_writer *w, const char *key, const char *value);
mrnet_status st_writer_save(st_writer *w, const char *path);
void st_writer_free(st_writer *w);

#endif
