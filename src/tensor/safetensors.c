#include "tensor/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor/error.h"
#include "tensor/fileio.h"

/* A header larger than this is not a tensor file we want to parse. */
#define ST_MAX_HEADER (100u << 20)

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    [MRNET_F32] = {"F32", 4}, [MRNET_F16] = {"F16", 2}, [MRNET_BF16] = {"BF16", 2},
    [MRNET_F64] = {"F64", 8}, [MRNET_I64] = {"I64", 8}, [MRNET_I32] = {"I32", 4},
    [MRNET_I16] = {"I16", 2}, [MRNET_I8] = {"I8", 1},   [MRNET_U8] = {"U8", 1},
    [MRNET_BOOL] = {"BOOL", 1},
};
#define N_DTYPES ((int)(sizeof dtype_table / sizeof dtype_table[0]))

const char *mrnet_dtype_name(mrnet_dtype dtype) { return dtype_table[dtype].name; }
size_t mrnet_dtype_size(mrnet_dtype dtype) { return dtype_table[dtype].size; }

static int dtype_from_name(const char *name)
{
    for (int i = 0; i < N_DTYPES; i++)
        if (!strcmp(dtype_table[i].name, name))
            return i;
    return -1;
}

const char *mrnet_shape_string(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && n < size; i++) /* < 0: any size (mrnet_st_get_f32's wildcard) */
        n += shape[i] < 0 ? (size_t)snprintf(buf + n, size - n, i ? ", *" : "*")
                          : (size_t)snprintf(buf + n, size - n, i ? ", %lld" : "%lld",
                                             (long long)shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, ")");
    return buf;
}

void mrnet_st_close(mrnet_st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].name);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    if (f->map && f->map != MAP_FAILED)
        munmap(f->map, f->map_size);
    free(f->path);
    free(f);
}

static mrnet_status parse_metadata(mrnet_st_file *f, const cJSON *meta)
{
    if (!cJSON_IsObject(meta))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: __metadata__ is not a JSON object", f->path);
    int n = cJSON_GetArraySize(meta);
    f->meta_keys = calloc((size_t)n + 1, sizeof *f->meta_keys);
    f->meta_values = calloc((size_t)n + 1, sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", f->path);
    const cJSON *item;
    cJSON_ArrayForEach(item, meta) {
        if (!cJSON_IsString(item))
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: metadata value of '%s' is not a string",
                              f->path, item->string);
        f->meta_keys[f->n_meta] = strdup(item->string);
        f->meta_values[f->n_meta] = strdup(item->valuestring);
        f->n_meta++; /* counted now: close frees the one that was made if the other failed */
        if (!f->meta_keys[f->n_meta - 1] || !f->meta_values[f->n_meta - 1])
            return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", f->path);
    }
    return MRNET_OK;
}

/* Reads a JSON number that must be a non-negative integer below 2^53. */
static int json_uint(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || floor(d) != d)
        return 0;
    *out = (int64_t)d;
    return 1;
}

static mrnet_status parse_tensor(mrnet_st_file *f, const cJSON *entry, size_t data_size, mrnet_st_tensor *t,
                                 int64_t offsets[2])
{
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensor '%s': header entry is not an object",
                          f->path, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(dtype))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensor '%s': missing dtype", f->path, name);
    int dt = dtype_from_name(dtype->valuestring);
    if (dt < 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%s'", f->path, name,
                          dtype->valuestring);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > MRNET_ST_MAX_DIMS)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensor '%s': shape missing or over %d dims",
                          f->path, name, MRNET_ST_MAX_DIMS);
    t->dtype = (mrnet_dtype)dt;
    t->ndim = 0;
    t->numel = 1;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        int64_t d;
        if (!json_uint(dim, &d) || d > ((int64_t)1 << 40))
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensor '%s': bad dimension in shape",
                              f->path, name);
        t->shape[t->ndim++] = d;
        if (d && t->numel > ((int64_t)1 << 50) / d)
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensor '%s': shape too large", f->path,
                              name);
        t->numel *= d;
    }
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_uint(cJSON_GetArrayItem(offs, 0), &offsets[0]) ||
        !json_uint(cJSON_GetArrayItem(offs, 1), &offsets[1]))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensor '%s': data_offsets must be [begin, end]",
                          f->path, name);
    if (offsets[0] > offsets[1])
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets [%lld, %lld] end before they begin",
                          f->path, name, (long long)offsets[0], (long long)offsets[1]);
    if ((uint64_t)offsets[1] > data_size)
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets [%lld, %lld] outside the %zu data bytes "
                          "(truncated file?)",
                          f->path, name, (long long)offsets[0], (long long)offsets[1], data_size);
    int64_t want = t->numel * (int64_t)mrnet_dtype_size(t->dtype);
    if (offsets[1] - offsets[0] != want) {
        char sb[128];
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s: tensor '%s': %lld data bytes but dtype %s shape %s needs %lld",
                          f->path, name, (long long)(offsets[1] - offsets[0]), dtype->valuestring,
                          mrnet_shape_string(t->ndim, t->shape, sb, sizeof sb), (long long)want);
    }
    t->name = strdup(name);
    return t->name ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", f->path);
}

typedef struct {
    int64_t begin, end;
    int index;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Sorted by begin, a non-empty span overlaps an earlier one exactly when it
 * begins before the furthest end so far: the neighbour alone is not enough
 * (an empty or short tensor can sit between the two). */
static mrnet_status check_no_overlap(mrnet_st_file *f, span *spans, int n)
{
    qsort(spans, (size_t)n, sizeof *spans, span_cmp);
    int furthest = -1;
    for (int i = 0; i < n; i++) {
        if (spans[i].end == spans[i].begin)
            continue;
        if (furthest >= 0 && spans[i].begin < spans[furthest].end)
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", f->path,
                              f->tensors[spans[furthest].index].name,
                              f->tensors[spans[i].index].name);
        if (furthest < 0 || spans[i].end > spans[furthest].end)
            furthest = i;
    }
    return MRNET_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* JSON allows repeated keys and cJSON keeps them all; a name must mean one
 * tensor (and one __metadata__). Sorted, so a crafted header of a million
 * keys costs n log n. */
static mrnet_status check_unique_keys(mrnet_st_file *f, const cJSON *root, int n)
{
    const char **keys = malloc(((size_t)n + 1) * sizeof *keys);
    if (!keys)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", f->path);
    int k = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root)
        keys[k++] = entry->string;
    qsort(keys, (size_t)k, sizeof *keys, name_cmp);
    mrnet_status st = MRNET_OK;
    for (int i = 1; i < k && st == MRNET_OK; i++)
        if (!strcmp(keys[i - 1], keys[i]))
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s: '%s' appears more than once in the header",
                            f->path, keys[i]);
    free(keys);
    return st;
}

static mrnet_status parse_header(mrnet_st_file *f, const char *json, size_t json_len,
                                 const unsigned char *data, size_t data_size)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, json_len, &end, false);
    if (!root)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: header is not valid JSON", f->path);
    /* cJSON stops after the first value; the format allows only padding. */
    for (; end && end < json + json_len; end++)
        if (!strchr(" \t\r\n", *end) || !*end) {
            cJSON_Delete(root);
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: header has bytes after its JSON object",
                              f->path);
        }
    mrnet_status st = MRNET_OK;
    span *spans = NULL;
    if (!cJSON_IsObject(root)) {
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s: header is not a JSON object", f->path);
        goto done;
    }
    int n = cJSON_GetArraySize(root);
    if ((st = check_unique_keys(f, root, n)) != MRNET_OK)
        goto done;
    f->tensors = calloc((size_t)n + 1, sizeof *f->tensors);
    spans = calloc((size_t)n + 1, sizeof *spans);
    if (!f->tensors || !spans) {
        st = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", f->path);
        goto done;
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root) {
        if (!strcmp(entry->string, "__metadata__")) {
            if ((st = parse_metadata(f, entry)) != MRNET_OK)
                goto done;
            continue;
        }
        mrnet_st_tensor *t = &f->tensors[f->n_tensors];
        int64_t offs[2] = {0, 0};
        if ((st = parse_tensor(f, entry, data_size, t, offs)) != MRNET_OK)
            goto done;
        t->data = data + offs[0];
        spans[f->n_tensors] = (span){offs[0], offs[1], f->n_tensors};
        f->n_tensors++;
    }
    st = check_no_overlap(f, spans, f->n_tensors);
done:
    free(spans);
    cJSON_Delete(root);
    return st;
}

mrnet_status mrnet_st_open(const char *path, mrnet_st_file **out)
{
    *out = NULL;
    mrnet_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK); /* a FIFO is refused below, not waited on */
    if (fd < 0) {
        mrnet_status st = mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        mrnet_st_close(f);
        return st;
    }
    struct stat sb;
    mrnet_status st = MRNET_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = mrnet_fail(MRNET_ERR_IO, "%s: not a regular file", path);
    } else if (sb.st_size < 8) {
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s: %lld bytes, too short for a safetensors file", path,
                        (long long)sb.st_size);
    } else {
        f->map_size = (size_t)sb.st_size;
        f->map = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (f->map == MAP_FAILED) {
            f->map = NULL;
            st = mrnet_fail(MRNET_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        }
    }
    close(fd);
    if (st == MRNET_OK) {
        const unsigned char *bytes = f->map;
        uint64_t header_len = 0;
        for (int i = 7; i >= 0; i--)
            header_len = (header_len << 8) | bytes[i];
        if (header_len > ST_MAX_HEADER || header_len > f->map_size - 8)
            st = mrnet_fail(MRNET_ERR_FORMAT,
                            "%s: header length %llu exceeds the file (%zu bytes): not a "
                            "safetensors file or truncated",
                            path, (unsigned long long)header_len, f->map_size);
        else
            st = parse_header(f, (const char *)bytes + 8, (size_t)header_len,
                              bytes + 8 + header_len, f->map_size - 8 - (size_t)header_len);
    }
    if (st != MRNET_OK) {
        mrnet_st_close(f);
        return st;
    }
    *out = f;
    return MRNET_OK;
}

const mrnet_st_tensor *mrnet_st_find(const mrnet_st_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

const char *mrnet_st_meta(const mrnet_st_file *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key))
            return f->meta_values[i];
    return NULL;
}

mrnet_status mrnet_st_get_f32(const mrnet_st_file *f, const char *name, int ndim, const int64_t *shape,
                        const float **data)
{
    *data = NULL;
    const mrnet_st_tensor *t = mrnet_st_find(f, name);
    if (!t)
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' is missing", f->path, name);
    if (t->dtype != MRNET_F32)
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' has dtype %s, expected F32", f->path,
                          name, mrnet_dtype_name(t->dtype));
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = shape[i] < 0 || shape[i] == t->shape[i];
    if (!ok) {
        char want[128], got[128];
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s", f->path,
                          name, mrnet_shape_string(t->ndim, t->shape, got, sizeof got),
                          mrnet_shape_string(ndim, shape, want, sizeof want));
    }
    if ((uintptr_t)t->data % sizeof(float) != 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensor '%s' is not 4-byte aligned in the file",
                          f->path, name);
    *data = t->data;
    return MRNET_OK;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp == 0) {
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

mrnet_status mrnet_st_copy_to_f32(const mrnet_st_file *f, const mrnet_st_tensor *t, float *dst, int64_t n)
{
    if (t->numel != n)
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' has %lld values, expected %lld",
                          f->path, t->name, (long long)t->numel, (long long)n);
    const unsigned char *src = t->data;
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *p = src + (size_t)i * mrnet_dtype_size(t->dtype);
        switch (t->dtype) {
        case MRNET_F32: memcpy(&dst[i], p, 4); break;
        case MRNET_F64: { double d; memcpy(&d, p, 8); dst[i] = (float)d; break; }
        case MRNET_I64: { int64_t v; memcpy(&v, p, 8); dst[i] = (float)v; break; }
        case MRNET_I32: { int32_t v; memcpy(&v, p, 4); dst[i] = (float)v; break; }
        case MRNET_F16: { uint16_t h; memcpy(&h, p, 2); dst[i] = half_to_float(h); break; }
        case MRNET_BF16: {
            uint16_t h; memcpy(&h, p, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&dst[i], &bits, 4);
            break;
        }
        default:
            return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' has dtype %s, not a number type",
                              f->path, t->name, mrnet_dtype_name(t->dtype));
        }
    }
    return MRNET_OK;
}

/* ---- writer ---------------------------------------------------------------- */

typedef struct {
    char *name;
    mrnet_dtype dtype;
    int ndim;
    int64_t shape[MRNET_ST_MAX_DIMS];
    size_t nbytes;
    const void *data;
} writer_entry;

struct mrnet_st_writer {
    writer_entry *entries;
    int n, cap;
    cJSON *meta;
};

mrnet_st_writer *mrnet_st_writer_create(void)
{
    mrnet_st_writer *w = calloc(1, sizeof *w);
    if (w && !(w->meta = cJSON_CreateObject())) {
        free(w);
        return NULL;
    }
    return w;
}

void mrnet_st_writer_free(mrnet_st_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        free(w->entries[i].name);
    free(w->entries);
    cJSON_Delete(w->meta);
    free(w);
}

mrnet_status mrnet_st_writer_add(mrnet_st_writer *w, const char *name, mrnet_dtype dtype, int ndim,
                           const int64_t *shape, const void *data)
{
    if (ndim < 0 || ndim > MRNET_ST_MAX_DIMS)
        return mrnet_fail(MRNET_ERR_ARG, "tensor '%s': %d dimensions", name, ndim);
    if ((int)dtype < 0 || (int)dtype >= N_DTYPES)
        return mrnet_fail(MRNET_ERR_ARG, "tensor '%s': unknown dtype %d", name, (int)dtype);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return mrnet_fail(MRNET_ERR_ARG, "tensor '%s': negative dimension %lld", name,
                              (long long)shape[i]);
    if (!strcmp(name, "__metadata__"))
        return mrnet_fail(MRNET_ERR_ARG, "tensor '__metadata__': the name is reserved");
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->entries[i].name, name))
            return mrnet_fail(MRNET_ERR_ARG, "tensor '%s' added twice", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        writer_entry *e = realloc(w->entries, (size_t)cap * sizeof *e);
        if (!e)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory adding tensor '%s'", name);
        w->entries = e;
        w->cap = cap;
    }
    writer_entry *e = &w->entries[w->n];
    e->name = strdup(name);
    if (!e->name)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory adding tensor '%s'", name);
    e->dtype = dtype;
    e->ndim = ndim;
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        e->shape[i] = shape[i];
        numel *= (size_t)shape[i];
    }
    e->nbytes = numel * mrnet_dtype_size(dtype);
    e->data = data;
    w->n++;
    return MRNET_OK;
}

mrnet_status mrnet_st_writer_meta(mrnet_st_writer *w, const char *key, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(w->meta, key);
    if (!cJSON_AddStringToObject(w->meta, key, value))
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory adding metadata '%s'", key);
    return MRNET_OK;
}

/* The data area holds the tensors widest dtype first (8, 4, 2, then 1-byte
 * types), each group in insertion order: every tensor is then aligned to its
 * dtype size without padding, which the format forbids (no holes). The
 * header keeps insertion order. Fills order[] (w->n) with entry indices. */
static void data_order(const mrnet_st_writer *w, int *order)
{
    int k = 0;
    for (size_t size = 8; size >= 1; size /= 2)
        for (int i = 0; i < w->n; i++)
            if (mrnet_dtype_size(w->entries[i].dtype) == size)
                order[k++] = i;
}

static char *build_header(const mrnet_st_writer *w, const int *order)
{
    size_t *offsets = malloc(((size_t)w->n + 1) * sizeof *offsets);
    cJSON *root = offsets ? cJSON_CreateObject() : NULL;
    if (!root) {
        free(offsets);
        return NULL;
    }
    size_t offset = 0;
    for (int k = 0; k < w->n; k++) {
        offsets[order[k]] = offset;
        offset += w->entries[order[k]].nbytes;
    }
    if (cJSON_GetArraySize(w->meta) > 0)
        cJSON_AddItemToObject(root, "__metadata__", cJSON_Duplicate(w->meta, 1));
    for (int i = 0; i < w->n; i++) {
        const writer_entry *e = &w->entries[i];
        cJSON *t = cJSON_AddObjectToObject(root, e->name);
        cJSON *shape = t ? cJSON_AddArrayToObject(t, "shape") : NULL;
        cJSON *offs = shape ? cJSON_AddArrayToObject(t, "data_offsets") : NULL;
        if (!offs || !cJSON_AddStringToObject(t, "dtype", mrnet_dtype_name(e->dtype))) {
            cJSON_Delete(root);
            free(offsets);
            return NULL;
        }
        for (int d = 0; d < e->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->shape[d]));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)offsets[i]));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(offsets[i] + e->nbytes)));
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(offsets);
    return text;
}

mrnet_status mrnet_st_writer_save(mrnet_st_writer *w, const char *path)
{
    int *order = malloc(((size_t)w->n + 1) * sizeof *order);
    char *header = NULL;
    if (order) {
        data_order(w, order);
        header = build_header(w, order);
    }
    if (!header) {
        free(order);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory building the header", path);
    }
    size_t len = strlen(header);
    size_t padded = (len + 7) / 8 * 8; /* keeps tensor data 8-byte aligned */
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++)
        prefix[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    mrnet_atomic_file af;
    mrnet_status st = mrnet_atomic_open(&af, path);
    if (st != MRNET_OK) {
        free(header);
        free(order);
        return st;
    }
    mrnet_atomic_write(&af, prefix, 8);
    mrnet_atomic_write(&af, header, len);
    mrnet_atomic_write(&af, "        ", padded - len);
    for (int k = 0; k < w->n; k++)
        mrnet_atomic_write(&af, w->entries[order[k]].data, w->entries[order[k]].nbytes);
    free(header);
    free(order);
    return mrnet_atomic_commit(&af);
}
