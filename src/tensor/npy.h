/* NumPy .npy files (format versions 1.0, 2.0 and 3.0): magic "\x93NUMPY",
 * version bytes, header length (uint16 LE for 1.0, uint32 LE otherwise), an
 * ASCII Python dict literal {'descr', 'fortran_order', 'shape'}, then the
 * data. Reading validates every header field against the file size before
 * touching the data, so a hostile header (huge shape, bad dtype) is an error,
 * never an allocation or a crash. Writing is atomic (tensor/fileio.h). */
#ifndef MRNET_TENSOR_NPY_H
#define MRNET_TENSOR_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mrnet/io.h>

#define NPY_MAX_DIMS 8
/* Largest header accepted (numpy itself writes < 100 bytes for our arrays). */
#define NPY_MAX_HEADER 65536

typedef enum { NPY_F16, NPY_F32, NPY_F64, NPY_I8, NPY_U8, NPY_I16, NPY_I32, NPY_I64, NPY_BOOL } npy_dtype;

typedef struct {
    npy_dtype dtype;
    int item_size;      /* bytes per element */
    bool big_endian;
    bool fortran_order;
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
    int64_t numel;
    int64_t data_offset; /* bytes from the start of the file */
    int64_t file_size;
    char descr[16];     /* as written, e.g. "<f4" */
} npy_header;

/* Parses a header from the first bytes of a file (at least 10 + header
 * length). path is for messages only; file_size checks the data size. */
mrnet_status npy_parse_header(const char *path, const unsigned char *buf, size_t n, int64_t file_size,
                              npy_header *h);
/* Opens path and parses its header. */
mrnet_status npy_read_header(const char *path, npy_header *h);

/* The whole array as C-order float32 (Fortran-order data is transposed),
 * malloc'd into *data; every value checked finite (MRNET_ERR_NUMERIC names
 * the file and the first bad element). h may be NULL. */
mrnet_status npy_load_f32(const char *path, npy_header *h, float **data);
/* Elements [first, first + count) in file order, converted to float32, from
 * an open descriptor (pread: thread-safe). path is for messages. */
mrnet_status npy_read_f32_at(int fd, const char *path, const npy_header *h, int64_t first, int64_t count,
                             float *dst);

/* Writes a C-order int8 array ('|i1'). Atomic. */
mrnet_status npy_save_i8(const char *path, int ndim, const int64_t *shape, const int8_t *data);

#endif
