#include "tensor/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor/error.h"
#include "tensor/fileio.h"

/* ---- half precision -------------------------------------------------------- */

float mrnet_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(mant & 0x400u)) {
                mant <<= 1;
                exp--;
            }
            bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t mrnet_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or NaN */
        return (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow */
        return (uint16_t)(sign | 0x7c00u);
    if (absx < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        if (absx < 0x33000000u)
            return sign;
        uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(absx >> 23); /* 14..24 */
        uint32_t half = mant >> (shift);
        uint32_t rem = mant & ((1u << shift) - 1u), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((absx >> 13) - ((127u - 15u) << 10));
    uint32_t rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u)))
        half++;
    return (uint16_t)(sign | half);
}

/* ---- header parsing ----------------------------------------------------------- */

typedef struct {
    const char *s, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r'))
        c->s++;
}

static bool take(cursor *c, char ch)
{
    skip_space(c);
    if (c->s < c->end && *c->s == ch) {
        c->s++;
        return true;
    }
    return false;
}

/* A Python string literal in ' or " quotes (no escapes needed here). */
static bool parse_string(cursor *c, char *out, size_t size)
{
    skip_space(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"'))
        return false;
    char q = *c->s++;
    size_t n = 0;
    while (c->s < c->end && *c->s != q) {
        if (n + 1 >= size)
            return false;
        out[n++] = *c->s++;
    }
    if (c->s >= c->end)
        return false;
    c->s++;
    out[n] = '\0';
    return true;
}

static bool parse_dtype(const char *descr, npy_header *h)
{
    char order = descr[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return false;
    h->big_endian = order == '>';
    const char *t = descr + 1;
    static const struct {
        const char *name;
        npy_dtype dtype;
        int size;
    } known[] = {{"f2", NPY_F16, 2}, {"f4", NPY_F32, 4}, {"f8", NPY_F64, 8}, {"i1", NPY_I8, 1},
                 {"u1", NPY_U8, 1},  {"i2", NPY_I16, 2}, {"i4", NPY_I32, 4}, {"i8", NPY_I64, 8},
                 {"b1", NPY_BOOL, 1}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(t, known[i].name)) {
            h->dtype = known[i].dtype;
            h->item_size = known[i].size;
            if (h->item_size == 1)
                h->big_endian = false;
            return true;
        }
    return false;
}

static mrnet_status parse_shape(const char *path, cursor *c, npy_header *h)
{
    if (!take(c, '('))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header: 'shape' is not a tuple", path);
    h->ndim = 0;
    for (;;) {
        if (take(c, ')'))
            break;
        skip_space(c);
        if (c->s >= c->end || *c->s < '0' || *c->s > '9')
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header: bad 'shape' entry", path);
        if (h->ndim >= NPY_MAX_DIMS)
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header: more than %d dimensions", path, NPY_MAX_DIMS);
        int64_t v = 0;
        while (c->s < c->end && *c->s >= '0' && *c->s <= '9') {
            v = v * 10 + (*c->s++ - '0');
            if (v > ((int64_t)1 << 48))
                return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header: dimension %d is absurdly large", path,
                                  h->ndim);
        }
        if (c->s < c->end && *c->s == 'L') /* Python 2 long suffix */
            c->s++;
        h->shape[h->ndim++] = v;
        if (!take(c, ',')) {
            if (!take(c, ')'))
                return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header: 'shape' tuple not closed", path);
            break;
        }
    }
    return MRNET_OK;
}

mrnet_status npy_parse_header(const char *path, const unsigned char *buf, size_t n, int64_t file_size,
                              npy_header *h)
{
    memset(h, 0, sizeof *h);
    h->file_size = file_size;
    if (n < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
    int major = buf[6];
    size_t hlen, pre;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        pre = 10;
    } else if (major == 2 || major == 3) {
        if (n < 12)
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header truncated", path);
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        pre = 12;
    } else {
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: unsupported npy version %d.%d", path, major, buf[7]);
    }
    if (hlen > NPY_MAX_HEADER)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header length %zu exceeds %d bytes", path, hlen,
                          NPY_MAX_HEADER);
    if (pre + hlen > n || (int64_t)(pre + hlen) > file_size)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header truncated (needs %zu bytes)", path, pre + hlen);
    h->data_offset = (int64_t)(pre + hlen);
    cursor c = {(const char *)buf + pre, (const char *)buf + pre + hlen};
    if (!take(&c, '{'))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header is not a dict", path);
    bool have_descr = false, have_order = false, have_shape = false;
    while (!take(&c, '}')) {
        char key[32];
        if (!parse_string(&c, key, sizeof key) || !take(&c, ':'))
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header: malformed dict", path);
        if (!strcmp(key, "descr")) {
            if (!parse_string(&c, h->descr, sizeof h->descr) || !parse_dtype(h->descr, h))
                return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy dtype '%s' not supported (f2 f4 f8 i1 u1 i2 i4 i8 b1)",
                                  path, h->descr);
            have_descr = true;
        } else if (!strcmp(key, "fortran_order")) {
            skip_space(&c);
            if (c.end - c.s >= 4 && !memcmp(c.s, "True", 4)) {
                h->fortran_order = true;
                c.s += 4;
            } else if (c.end - c.s >= 5 && !memcmp(c.s, "False", 5)) {
                h->fortran_order = false;
                c.s += 5;
            } else {
                return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header: fortran_order is not True/False", path);
            }
            have_order = true;
        } else if (!strcmp(key, "shape")) {
            MRNET_TRY(parse_shape(path, &c, h));
            have_shape = true;
        } else {
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header: unexpected key '%s'", path, key);
        }
        if (!take(&c, ',')) {
            if (!take(&c, '}'))
                return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header: dict not closed", path);
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy header lacks '%s'", path,
                          !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    /* numel and byte count without overflow: each dim < 2^48 and the running
     * product is checked against the bytes the file holds. */
    int64_t avail = file_size - h->data_offset;
    int64_t numel = 1;
    for (int i = 0; i < h->ndim; i++) {
        if (h->shape[i] == 0) {
            numel = 0;
            break;
        }
    }
    if (numel != 0) {
        for (int i = 0; i < h->ndim; i++) {
            if (numel > avail / h->item_size / h->shape[i] + 1 ||
                (double)numel * (double)h->shape[i] * h->item_size > 9.0e18) {
                char dims[160];
                size_t k = 0;
                for (int j = 0; j < h->ndim && k < sizeof dims - 24; j++)
                    k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%lld", j ? ", " : "", (long long)h->shape[j]);
                return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy shape (%s) needs more data than the file's %lld bytes",
                                  path, dims, (long long)avail);
            }
            numel *= h->shape[i];
        }
    }
    h->numel = numel;
    if (numel * h->item_size > avail)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: npy data truncated: %lld bytes for %lld elements of %s", path,
                          (long long)avail, (long long)numel, h->descr);
    return MRNET_OK;
}

static mrnet_status read_header_fd(int fd, const char *path, npy_header *h)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) /* a FIFO or a device has size 0: not "empty" */
        return mrnet_fail(MRNET_ERR_IO, "%s: is %s, not a regular .npy file", path,
                          S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
                          : S_ISDIR(st.st_mode) ? "a folder" : "not a regular file");
    if (st.st_size == 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: empty file", path);
    size_t want = (size_t)(st.st_size < 12 + NPY_MAX_HEADER ? st.st_size : 12 + NPY_MAX_HEADER);
    unsigned char *buf = malloc(want);
    if (!buf)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    ssize_t got = pread(fd, buf, want, 0);
    if (got < 0) {
        free(buf);
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    }
    mrnet_status s = npy_parse_header(path, buf, (size_t)got, (int64_t)st.st_size, h);
    free(buf);
    return s;
}

mrnet_status npy_read_header(const char *path, npy_header *h)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK); /* a FIFO is refused below, not waited on */
    if (fd < 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    mrnet_status s = read_header_fd(fd, path, h);
    close(fd);
    return s;
}

/* ---- data ------------------------------------------------------------------- */

static float convert_one(const unsigned char *p, const npy_header *h)
{
    unsigned char b[8];
    if (h->big_endian) {
        for (int i = 0; i < h->item_size; i++)
            b[i] = p[h->item_size - 1 - i];
    } else {
        memcpy(b, p, (size_t)h->item_size);
    }
    switch (h->dtype) {
    case NPY_F16: { uint16_t v; memcpy(&v, b, 2); return mrnet_half_to_float(v); }
    case NPY_F32: { float v; memcpy(&v, b, 4); return v; }
    case NPY_F64: { double v; memcpy(&v, b, 8); return (float)v; }
    case NPY_I8: return (float)(int8_t)b[0];
    case NPY_U8: return (float)b[0];
    case NPY_BOOL: return b[0] ? 1.0f : 0.0f;
    case NPY_I16: { int16_t v; memcpy(&v, b, 2); return (float)v; }
    case NPY_I32: { int32_t v; memcpy(&v, b, 4); return (float)v; }
    case NPY_I64: { int64_t v; memcpy(&v, b, 8); return (float)v; }
    }
    return 0.0f;
}

mrnet_status npy_read_f32_at(int fd, const char *path, const npy_header *h, int64_t first, int64_t count,
                             float *dst)
{
    if (first < 0 || count < 0 || first + count > h->numel)
        return mrnet_fail(MRNET_ERR_ARG, "%s: elements [%lld, %lld) outside the array's %lld", path,
                          (long long)first, (long long)(first + count), (long long)h->numel);
    if (count == 0)
        return MRNET_OK;
    off_t pos = (off_t)(h->data_offset + first * h->item_size);
    if (h->dtype == NPY_F32 && !h->big_endian) {
        size_t want = (size_t)count * 4, done = 0;
        while (done < want) {
            ssize_t got = pread(fd, (char *)dst + done, want - done, pos + (off_t)done);
            if (got <= 0)
                return mrnet_fail(MRNET_ERR_IO, "%s: cannot read data: %s", path,
                                  got < 0 ? strerror(errno) : "file shorter than its header says");
            done += (size_t)got;
        }
        return MRNET_OK;
    }
    unsigned char chunk[65536];
    int64_t per = (int64_t)sizeof chunk / h->item_size, done = 0;
    while (done < count) {
        int64_t n = count - done < per ? count - done : per;
        size_t want = (size_t)(n * h->item_size), got_total = 0;
        while (got_total < want) {
            ssize_t got = pread(fd, chunk + got_total, want - got_total,
                                pos + (off_t)(done * h->item_size) + (off_t)got_total);
            if (got <= 0)
                return mrnet_fail(MRNET_ERR_IO, "%s: cannot read data: %s", path,
                                  got < 0 ? strerror(errno) : "file shorter than its header says");
            got_total += (size_t)got;
        }
        for (int64_t i = 0; i < n; i++)
            dst[done + i] = convert_one(chunk + i * h->item_size, h);
        done += n;
    }
    return MRNET_OK;
}

mrnet_status npy_load_f32(const char *path, npy_header *h_out, float **data)
{
    *data = NULL;
    npy_header hh, *h = h_out ? h_out : &hh;
    int fd = open(path, O_RDONLY | O_NONBLOCK); /* a FIFO is refused below, not waited on */
    if (fd < 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    mrnet_status s = read_header_fd(fd, path, h);
    if (s != MRNET_OK) {
        close(fd);
        return s;
    }
    float *buf = malloc(sizeof(float) * (size_t)(h->numel > 0 ? h->numel : 1));
    if (!buf) {
        close(fd);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for %lld elements", path, (long long)h->numel);
    }
    s = npy_read_f32_at(fd, path, h, 0, h->numel, buf);
    close(fd);
    if (s != MRNET_OK) {
        free(buf);
        return s;
    }
    for (int64_t i = 0; i < h->numel; i++)
        if (!isfinite(buf[i])) {
            bool nan = isnan(buf[i]);
            free(buf);
            return mrnet_fail(MRNET_ERR_NUMERIC, "%s: element %lld is %s", path, (long long)i, nan ? "NaN" : "infinite");
        }
    if (h->fortran_order && h->ndim > 1) {
        /* Fortran order: the first index varies fastest. Transpose to C. */
        float *c = malloc(sizeof(float) * (size_t)(h->numel > 0 ? h->numel : 1));
        if (!c) {
            free(buf);
            return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
        }
        int64_t idx[NPY_MAX_DIMS] = {0};
        for (int64_t f = 0; f < h->numel; f++) {
            int64_t ci = 0;
            for (int d = 0; d < h->ndim; d++)
                ci = ci * h->shape[d] + idx[d];
            c[ci] = buf[f];
            for (int d = 0; d < h->ndim; d++) {
                if (++idx[d] < h->shape[d])
                    break;
                idx[d] = 0;
            }
        }
        free(buf);
        buf = c;
        h->fortran_order = false;
    }
    *data = buf;
    return MRNET_OK;
}

/* Opens path atomically and writes a version 1.0 header for a C-order
 * array of dtype descr; *numel receives the element count. */
static mrnet_status npy_begin(mrnet_atomic_file *af, const char *path, const char *descr, int ndim,
                              const int64_t *shape, int64_t *numel)
{
    if (ndim < 0 || ndim > NPY_MAX_DIMS)
        return mrnet_fail(MRNET_ERR_ARG, "%s: %d dimensions (at most %d)", path, ndim, NPY_MAX_DIMS);
    char dict[512];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    *numel = 1;
    for (int i = 0; i < ndim; i++) {
        k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld,%s", (long long)shape[i],
                      (ndim > 1 && i + 1 < ndim) ? " " : "");
        *numel *= shape[i];
    }
    if (ndim > 1)
        k--; /* numpy writes (2, 3) but (5,) */
    k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
    /* Pad with spaces and a final newline so data starts on a 64-byte boundary. */
    int total = 10 + k + 1;
    int pad = (64 - total % 64) % 64;
    unsigned char head[10 + 512 + 64];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    int hlen = k + pad + 1;
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    memcpy(head + 10, dict, (size_t)k);
    memset(head + 10 + k, ' ', (size_t)pad);
    head[10 + k + pad] = '\n';
    MRNET_TRY(mrnet_atomic_open(af, path));
    mrnet_atomic_write(af, head, (size_t)(10 + hlen));
    return MRNET_OK;
}

mrnet_status mrnet_npy_save_f32(const char *path, int ndim, const int64_t *shape, const float *data, bool as_float16)
{
    mrnet_atomic_file af;
    int64_t numel;
    MRNET_TRY(npy_begin(&af, path, as_float16 ? "<f2" : "<f4", ndim, shape, &numel));
    if (as_float16) {
        uint16_t buf[4096];
        for (int64_t i = 0; i < numel; i += 4096) {
            int64_t n = numel - i < 4096 ? numel - i : 4096;
            for (int64_t j = 0; j < n; j++)
                buf[j] = mrnet_float_to_half(data[i + j]);
            mrnet_atomic_write(&af, buf, (size_t)n * 2);
        }
    } else {
        mrnet_atomic_write(&af, data, (size_t)numel * sizeof(float));
    }
    return mrnet_atomic_commit(&af);
}

mrnet_status npy_save_i8(const char *path, int ndim, const int64_t *shape, const int8_t *data)
{
    mrnet_atomic_file af;
    int64_t numel;
    MRNET_TRY(npy_begin(&af, path, "|i1", ndim, shape, &numel));
    mrnet_atomic_write(&af, data, (size_t)numel);
    return mrnet_atomic_commit(&af);
}
