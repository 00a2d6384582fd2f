/* mrnet/io.h: safetensors and .npy files, float16, atomic writes, paths */
#ifndef MRNET_IO_H
#define MRNET_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <mrnet/common.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* safetensors files (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON, then the tensor data.
 * Reading maps the file and validates every header field; tensors point into
 * the mapping (no copies). Writing is atomic (tensor/fileio.h). */

#define MRNET_ST_MAX_DIMS 8

typedef enum { MRNET_F32, MRNET_F16, MRNET_BF16, MRNET_F64, MRNET_I64, MRNET_I32, MRNET_I16, MRNET_I8, MRNET_U8, MRNET_BOOL } mrnet_dtype;

const char *mrnet_dtype_name(mrnet_dtype dtype);
size_t mrnet_dtype_size(mrnet_dtype dtype);

typedef struct {
    char *name;
    mrnet_dtype dtype;
    int ndim;
    int64_t shape[MRNET_ST_MAX_DIMS];
    int64_t numel;
    const void *data; /* into the mapping; possibly unaligned for 2-byte types */
} mrnet_st_tensor;

typedef struct {
    char *path;
    mrnet_st_tensor *tensors;
    int n_tensors;
    char **meta_keys, **meta_values;
    int n_meta;
    void *map;
    size_t map_size;
} mrnet_st_file;

/* Opens and validates: header length within the file, JSON well formed, every
 * tensor with a known dtype, shape of non-negative dims, data_offsets inside
 * the data area, matching dtype*numel, and no two tensors overlapping. */
mrnet_status mrnet_st_open(const char *path, mrnet_st_file **out);
void mrnet_st_close(mrnet_st_file *f);
const mrnet_st_tensor *mrnet_st_find(const mrnet_st_file *f, const char *name);
const char *mrnet_st_meta(const mrnet_st_file *f, const char *key);

/* A float32 tensor of exactly this shape (dims < 0 match anything); names the
 * file, tensor, expected and found shape/dtype on failure. Missing -> error. */
mrnet_status mrnet_st_get_f32(const mrnet_st_file *f, const char *name, int ndim, const int64_t *shape,
                        const float **data);
/* Copies any float/int tensor of numel n into float32 (F32, F16, BF16, F64,
 * I64, I32). */
mrnet_status mrnet_st_copy_to_f32(const mrnet_st_file *f, const mrnet_st_tensor *t, float *dst, int64_t n);
/* "(2, 3, 4)" into buf. */
const char *mrnet_shape_string(int ndim, const int64_t *shape, char *buf, size_t size);

/* Writer: tensors are referenced, not copied; they must stay valid until
 * mrnet_st_writer_save returns. Insertion order is kept in the header; the data
 * area holds 8-byte dtypes first, then 4, 2, 1, so that every tensor is
 * aligned to its dtype size with no padding. Names must be unique. */
typedef struct mrnet_st_writer mrnet_st_writer;
mrnet_st_writer *mrnet_st_writer_create(void);
mrnet_status mrnet_st_writer_add(mrnet_st_writer *w, const char *name, mrnet_dtype dtype, int ndim,
                           const int64_t *shape, const void *data);
mrnet_status mrnet_st_writer_meta(mrnet_st_writer *w, const char *key, const char *value);
mrnet_status mrnet_st_writer_save(mrnet_st_writer *w, const char *path);
void mrnet_st_writer_free(mrnet_st_writer *w);

/* NumPy .npy files (format versions 1.0, 2.0 and 3.0): magic "\x93NUMPY",
 * version bytes, header length (uint16 LE for 1.0, uint32 LE otherwise), an
 * ASCII Python dict literal {'descr', 'fortran_order', 'shape'}, then the
 * data. Reading validates every header field against the file size before
 * touching the data, so a hostile header (huge shape, bad dtype) is an error,
 * never an allocation or a crash. Writing is atomic (tensor/fileio.h). */

/* Writes a C-order array of float32 data as '<f4', or as '<f2' when
 * as_float16 (round to nearest even; out-of-range values become +-inf, so
 * callers check range first if that matters). Atomic. */
mrnet_status mrnet_npy_save_f32(const char *path, int ndim, const int64_t *shape, const float *data,
                          bool as_float16);

/* IEEE half <-> float (round to nearest even). */
float mrnet_half_to_float(uint16_t h);
uint16_t mrnet_float_to_half(float f);

/* Files that are never left half-written, and writes that never clobber
 * what they should not (docs/RELIABILITY.md):
 *
 * - A regular file, or a path where nothing exists, is replaced atomically:
 *   the bytes go to a new temporary ".NAME.tmp.<pid>.<random>" in the
 *   target's folder (O_CREAT|O_EXCL|O_NOFOLLOW: a file or symlink planted
 *   there is never followed nor reused), which commit fsyncs, renames over
 *   the target, then fsyncs the folder. A failure (full disk included)
 *   removes the temporary and leaves any old file untouched. The new file
 *   keeps the old one's permission bits.
 * - A symlink to a regular file: the link's target is replaced (in the
 *   target's folder); the link stays. A symlink to nothing is refused.
 * - Anything else that exists (a device such as /dev/null, a FIFO, the file
 *   open as standard output or error, e.g. /dev/stdout): written through,
 *   never replaced; there is no temporary and nothing to roll back, and a
 *   FIFO's open waits for a reader, as a shell's redirection does.
 * - A folder, and "-", are refused with a message ("-" means standard
 *   output only where the CLI says so).
 * - Opening also removes temporaries of the same target left by processes
 *   that no longer exist (killed during a write): ours, and the older
 *   "NAME.tmp.<pid>". */

typedef struct {
    FILE *f;
    char path[4096];          /* as given, for messages */
    char dest[4096];          /* what the temporary is renamed to: path, or a symlink's target */
    char tmp_path[4096 + 64]; /* "" when writing through */
    int failed;               /* set by mrnet_atomic_write on a short write */
    int direct;               /* writing through (device, FIFO, standard stream) */
} mrnet_atomic_file;

mrnet_status mrnet_atomic_open(mrnet_atomic_file *af, const char *path);
/* fwrite that records failure (checked at commit). */
void mrnet_atomic_write(mrnet_atomic_file *af, const void *data, size_t n);
/* Flushes, fsyncs, renames and fsyncs the folder; on any error removes the
 * temporary. Writing through: flushes and closes, and reports any error. */
mrnet_status mrnet_atomic_commit(mrnet_atomic_file *af);
/* Gives up: closes and removes the temporary. */
void mrnet_atomic_abort(mrnet_atomic_file *af);

/* mkdir -p: creates path and any missing parents (mode 0777 & ~umask). */
mrnet_status mrnet_make_dirs(const char *path);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
