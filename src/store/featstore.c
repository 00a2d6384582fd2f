/* The feature store's index (index.jsonl) and the read API. Extraction is in
 * mrnet_store_extract.c. */
#include "store/featstore.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/featstore_internal.h"
#include "tensor/npy.h"
#include "tensor/error.h"
#include "tensor/fileio.h"

/* An index larger than this is not ours (600k Melon entries take ~250 MB). */
#define FEATSTORE_MAX_INDEX ((size_t)4 << 30)

uint64_t featstore_hash_string(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

char *featstore_canonical(const char *path)
{
    char buf[PATH_MAX];
    if (realpath(path, buf))
        return strdup(buf);
    return strdup(path);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

void featstore_entry_free(mrnet_store_entry *e)
{
    free(e->source);
    free(e->label);
    free(e->split);
    free(e->id);
    free(e->file);
    free(e->warning);
    free(e->group);
    memset(e, 0, sizeof *e);
}

void featstore_release(mrnet_store *fs)
{
    free(fs->dir);
    free(fs->settings);
    for (int i = 0; i < fs->n_labels; i++)
        free(fs->labels[i]);
    free(fs->labels);
    for (int i = 0; i < fs->n_entries; i++)
        featstore_entry_free(&fs->entries[i]);
    free(fs->entries);
    free(fs->slots);
    memset(fs, 0, sizeof *fs);
}

void mrnet_store_close(mrnet_store *fs)
{
    if (!fs)
        return;
    featstore_release(fs);
    free(fs);
}

/* ---- source -> entry table ---------------------------------------------------- */

static int slot_of(const mrnet_store *fs, const char *source)
{
    if (!fs->n_slots)
        return -1;
    size_t mask = (size_t)fs->n_slots - 1, i = (size_t)featstore_hash_string(source) & mask;
    while (fs->slots[i] >= 0 && strcmp(fs->entries[fs->slots[i]].source, source) != 0)
        i = (i + 1) & mask;
    return (int)i;
}

static mrnet_status grow_table(mrnet_store *fs)
{
    int n = fs->n_slots ? fs->n_slots * 2 : 1024;
    int *slots = malloc(sizeof(int) * (size_t)n);
    if (!slots)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for the index table", fs->dir);
    for (int i = 0; i < n; i++)
        slots[i] = -1;
    free(fs->slots);
    fs->slots = slots;
    fs->n_slots = n;
    for (int e = 0; e < fs->n_entries; e++)
        fs->slots[slot_of(fs, fs->entries[e].source)] = e;
    return MRNET_OK;
}

int featstore_lookup(const mrnet_store *fs, const char *canonical)
{
    int s = slot_of(fs, canonical);
    return s >= 0 ? fs->slots[s] : -1;
}

int mrnet_store_find(const mrnet_store *fs, const char *source)
{
    char *canon = featstore_canonical(source);
    if (!canon)
        return -1;
    int s = slot_of(fs, canon);
    int r = s >= 0 ? fs->slots[s] : -1;
    if (r < 0 && strcmp(canon, source) != 0) {
        s = slot_of(fs, source);
        r = s >= 0 ? fs->slots[s] : -1;
    }
    free(canon);
    return r;
}

static int label_index_of(const mrnet_store *fs, const char *label)
{
    if (!label || !label[0])
        return -1;
    for (int i = 0; i < fs->n_labels; i++)
        if (!strcmp(fs->labels[i], label))
            return i;
    return -1;
}

mrnet_status featstore_put(mrnet_store *fs, mrnet_store_entry *e)
{
    if (2 * (fs->n_entries + 1) > fs->n_slots)
        MRNET_TRY(grow_table(fs));
    int s = slot_of(fs, e->source);
    e->label_index = label_index_of(fs, e->label);
    if (fs->slots[s] >= 0) {
        mrnet_store_entry *old = &fs->entries[fs->slots[s]];
        featstore_entry_free(old);
        *old = *e;
        return MRNET_OK;
    }
    if (fs->n_entries == fs->cap_entries) {
        int cap = fs->cap_entries ? 2 * fs->cap_entries : 256;
        mrnet_store_entry *ne = realloc(fs->entries, sizeof *ne * (size_t)cap);
        if (!ne)
            return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for %d entries", fs->dir, cap);
        fs->entries = ne;
        fs->cap_entries = cap;
    }
    fs->entries[fs->n_entries] = *e;
    fs->slots[s] = fs->n_entries++;
    return MRNET_OK;
}

mrnet_status featstore_set_labels(mrnet_store *fs, char *const *labels, int n)
{
    for (int i = 0; i < fs->n_labels; i++)
        free(fs->labels[i]);
    free(fs->labels);
    fs->labels = NULL;
    fs->n_labels = 0;
    if (n > 0) {
        fs->labels = calloc((size_t)n, sizeof(char *));
        if (!fs->labels)
            return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", fs->dir);
        for (int i = 0; i < n; i++)
            if (!(fs->labels[i] = strdup(labels[i])))
                return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", fs->dir);
        fs->n_labels = n;
    }
    for (int i = 0; i < fs->n_entries; i++)
        fs->entries[i].label_index = label_index_of(fs, fs->entries[i].label);
    return MRNET_OK;
}

/* ---- JSON lines ------------------------------------------------------------------ */

static char *print_line(cJSON *obj)
{
    char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    return s;
}

char *featstore_header_line(const char *settings)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", FEATSTORE_FORMAT);
    cJSON_AddNumberToObject(o, "version", FEATSTORE_VERSION);
    cJSON_AddStringToObject(o, "settings", settings);
    return print_line(o);
}

char *featstore_labels_line(char *const *labels, int n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "labels");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(labels[i]));
    return print_line(o);
}

char *featstore_entry_line(const mrnet_store_entry *e)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, e->checksum);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", e->source);
    cJSON_AddStringToObject(o, "label", e->label ? e->label : "");
    cJSON_AddStringToObject(o, "split", e->split ? e->split : "");
    cJSON_AddNumberToObject(o, "fold", e->fold);
    cJSON_AddStringToObject(o, "id", e->id ? e->id : "");
    /* only when there is one: a store without groups keeps its bytes */
    if (e->group && e->group[0])
        cJSON_AddStringToObject(o, "group", e->group);
    cJSON_AddStringToObject(o, "file", e->file);
    cJSON_AddBoolToObject(o, "external", e->external);
    cJSON_AddStringToObject(o, "dtype", e->int8 ? "q8" : e->float16 ? "f16" : "f32");
    cJSON *shape = cJSON_AddArrayToObject(o, "shape");
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(e->S));
    if (e->L > 1)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber(e->L));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(e->D));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->T));
    cJSON_AddNumberToObject(o, "src_size", (double)e->src_size);
    /* mtime in ns exceeds a double's 53 bits: kept as a string. */
    char mt[32];
    snprintf(mt, sizeof mt, "%" PRId64, e->src_mtime_ns);
    cJSON_AddStringToObject(o, "src_mtime_ns", mt);
    cJSON_AddStringToObject(o, "checksum", hex);
    if (e->warning && e->warning[0])
        cJSON_AddStringToObject(o, "warning", e->warning);
    return print_line(o);
}

static const char *get_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static mrnet_status parse_entry(mrnet_store *fs, const cJSON *o, long line, const char *index_path)
{
    mrnet_store_entry e = {0};
    const char *source = get_str(o, "source"), *file = get_str(o, "file"), *dtype = get_str(o, "dtype");
    const char *sum = get_str(o, "checksum"), *mt = get_str(o, "src_mtime_ns");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(o, "shape");
    const cJSON *fold = cJSON_GetObjectItemCaseSensitive(o, "fold");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "src_size");
    int ndim = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : 0;
    if (!source || !file || !dtype || !sum || !mt || (ndim != 3 && ndim != 4) ||
        !cJSON_IsNumber(fold) || !cJSON_IsNumber(size) || (strcmp(dtype, "f32") && strcmp(dtype, "f16") && strcmp(dtype, "q8")))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: line %ld: entry lacks a field or has a bad one", index_path, line);
    /* (S, D, T) or (S, L, D, T) */
    double dims[4] = {0, 1, 0, 0};
    for (int i = 0, j = 0; i < ndim; i++, j++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        if (ndim == 3 && i == 1)
            j++;
        dims[j] = cJSON_IsNumber(d) ? d->valuedouble : -1;
    }
    /* Ranges written so that NaN fails them too: each value is checked
     * before its conversion to an integer (out of range is undefined). */
    if (!(dims[0] >= 1 && dims[0] <= 64 && dims[1] >= 1 && dims[1] <= 64 && dims[2] >= 1 && dims[2] <= 1e6 &&
          dims[3] >= 1 && dims[3] <= 1e12 && dims[1] * dims[2] <= 1e6))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: line %ld: bad shape", index_path, line);
    /* converted to int / int64 below: out of range is undefined behaviour
     * (found by fuzz_store_index: "src_size":4e96) */
    double fv = fold->valuedouble, sv = size->valuedouble;
    if (!(fv >= -1 && fv <= 1e6 && fv == floor(fv)))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: line %ld: bad fold %g (not an integer in range -1..1e6)",
                          index_path, line, fv);
    if (!(sv >= 0 && sv <= 9e18 && sv == floor(sv)))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: line %ld: bad src_size %g (out of range)", index_path, line, sv);
    e.source = strdup(source);
    e.label = dup_or_empty(get_str(o, "label"));
    e.split = dup_or_empty(get_str(o, "split"));
    e.id = dup_or_empty(get_str(o, "id"));
    e.group = dup_or_empty(get_str(o, "group")); /* absent in older stores */
    e.file = strdup(file);
    e.warning = dup_or_empty(get_str(o, "warning"));
    e.external = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "external"));
    e.float16 = !strcmp(dtype, "f16");
    e.int8 = !strcmp(dtype, "q8");
    e.fold = (int)fold->valuedouble;
    e.S = (int)dims[0];
    e.L = (int)dims[1];
    e.D = (int)dims[2];
    e.T = (int64_t)dims[3];
    e.src_size = (int64_t)size->valuedouble;
    e.src_mtime_ns = strtoll(mt, NULL, 10);
    e.checksum = strtoull(sum, NULL, 16);
    if (!e.source || !e.label || !e.split || !e.id || !e.group || !e.file || !e.warning) {
        featstore_entry_free(&e);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", index_path);
    }
    mrnet_status s = featstore_put(fs, &e);
    if (s != MRNET_OK)
        featstore_entry_free(&e);
    return s;
}

static mrnet_status parse_line(mrnet_store *fs, const char *text, size_t len, long line, const char *index_path)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: line %ld is not a JSON object", index_path, line);
    }
    mrnet_status s = MRNET_OK;
    const char *format = get_str(o, "format");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(o, "labels");
    if (line == 1) {
        const cJSON *version = cJSON_GetObjectItemCaseSensitive(o, "version");
        const char *settings = get_str(o, "settings");
        if (!format || strcmp(format, FEATSTORE_FORMAT) != 0 || !settings)
            s = mrnet_fail(MRNET_ERR_FORMAT, "%s: not a feature store index (first line lacks format/settings)",
                           index_path);
        else if (!cJSON_IsNumber(version) || version->valueint != FEATSTORE_VERSION)
            s = mrnet_fail(MRNET_ERR_UNSUPPORTED, "%s: store version %d, this build reads version %d", index_path,
                           cJSON_IsNumber(version) ? version->valueint : -1, FEATSTORE_VERSION);
        else if (!(fs->settings = strdup(settings)))
            s = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", index_path);
    } else if (cJSON_IsArray(labels)) {
        int n = cJSON_GetArraySize(labels);
        char **names = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
        for (int i = 0; names && i < n; i++) {
            const cJSON *v = cJSON_GetArrayItem(labels, i);
            names[i] = cJSON_IsString(v) ? v->valuestring : (char *)"";
        }
        s = names ? featstore_set_labels(fs, names, n) : mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", index_path);
        free(names);
    } else {
        s = parse_entry(fs, o, line, index_path);
    }
    cJSON_Delete(o);
    return s;
}

mrnet_status featstore_load(const char *dir, mrnet_store *fs)
{
    memset(fs, 0, sizeof *fs);
    fs->dir = strdup(dir);
    if (!fs->dir)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, FEATSTORE_INDEX);
    char *text = NULL;
    size_t size = 0;
    mrnet_status s = read_whole_file(path, FEATSTORE_MAX_INDEX, &text, &size);
    if (s != MRNET_OK)
        return mrnet_fail_context(s, "%s: not a feature store", dir);
    long line = 0;
    size_t pos = 0;
    while (pos < size && s == MRNET_OK) {
        char *nl = memchr(text + pos, '\n', size - pos);
        if (!nl)
            break; /* a torn last line (crash mid-append): ignored, truncated on the next write */
        line++;
        size_t len = (size_t)(nl - (text + pos));
        if (len > 0)
            s = parse_line(fs, text + pos, len, line, path);
        else if (line == 1)
            s = mrnet_fail(MRNET_ERR_FORMAT, "%s: empty first line", path);
        pos = (size_t)(nl - text) + 1;
    }
    fs->valid_bytes = (int64_t)pos;
    free(text);
    if (s == MRNET_OK && !fs->settings)
        s = mrnet_fail(MRNET_ERR_FORMAT, "%s: empty index", path);
    return s;
}

mrnet_status mrnet_store_open(const char *dir, mrnet_store **out)
{
    *out = NULL;
    mrnet_store *fs = calloc(1, sizeof *fs);
    if (!fs)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    mrnet_status s = featstore_load(dir, fs);
    if (s != MRNET_OK) {
        mrnet_store_close(fs);
        return s;
    }
    *out = fs;
    return MRNET_OK;
}

mrnet_status featstore_save_index(const mrnet_store *fs, const int *order, int n_order)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fs->dir, FEATSTORE_INDEX);
    mrnet_atomic_file af;
    MRNET_TRY(mrnet_atomic_open(&af, path));
    char *lines[2] = {featstore_header_line(fs->settings), featstore_labels_line(fs->labels, fs->n_labels)};
    bool oom = !lines[0] || !lines[1];
    for (int i = 0; i < 2 && !oom; i++) {
        mrnet_atomic_write(&af, lines[i], strlen(lines[i]));
        mrnet_atomic_write(&af, "\n", 1);
    }
    free(lines[0]);
    free(lines[1]);
    for (int i = 0; i < n_order && !oom; i++) {
        char *l = featstore_entry_line(&fs->entries[order[i]]);
        if (!l) {
            oom = true;
            break;
        }
        mrnet_atomic_write(&af, l, strlen(l));
        mrnet_atomic_write(&af, "\n", 1);
        free(l);
    }
    if (oom) {
        mrnet_atomic_abort(&af);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory writing the index", path);
    }
    return mrnet_atomic_commit(&af);
}

/* ---- reading features ---------------------------------------------------------------- */

int mrnet_store_count(const mrnet_store *fs) { return fs->n_entries; }

const mrnet_store_entry *mrnet_store_get(const mrnet_store *fs, int index)
{
    return index >= 0 && index < fs->n_entries ? &fs->entries[index] : NULL;
}

const char *mrnet_store_settings(const mrnet_store *fs) { return fs->settings; }

char *const *mrnet_store_labels(const mrnet_store *fs, int *n_labels)
{
    *n_labels = fs->n_labels;
    return fs->labels;
}

void featstore_entry_path(const mrnet_store *fs, const mrnet_store_entry *e, char *buf, size_t size)
{
    if (e->external || e->file[0] == '/')
        snprintf(buf, size, "%s", e->file);
    else
        snprintf(buf, size, "%s/%s", fs->dir, e->file);
}

/* The array the index recorded for e: (S, L, D, T), (S, D, T) or (D, T). */
static bool header_matches(const npy_header *h, const mrnet_store_entry *e)
{
    return !h->fortran_order &&
           ((h->ndim == 4 && h->shape[0] == e->S && h->shape[1] == e->L && h->shape[2] == e->D &&
             h->shape[3] == e->T) ||
            (h->ndim == 3 && e->L == 1 && h->shape[0] == e->S && h->shape[1] == e->D && h->shape[2] == e->T) ||
            (h->ndim == 2 && e->S == 1 && e->L == 1 && h->shape[0] == e->D && h->shape[1] == e->T));
}

static void scale_path_of(const char *path, char *out, size_t size)
{
    size_t n = strlen(path);
    snprintf(out, size, "%.*s.scale.npy", (int)(n > 4 && !strcmp(path + n - 4, ".npy") ? n - 4 : n), path);
}

/* A features file that reads back as its entry: the recorded shape and
 * dtype, every byte of data present (no more), and for int8 its scales. */
static bool file_intact(const char *path, const mrnet_store_entry *e, int64_t rows)
{
    npy_header h;
    struct stat st;
    if (npy_read_header(path, &h) != MRNET_OK || !header_matches(&h, e) || stat(path, &st) != 0)
        return false;
    bool dtype_ok = e->int8 ? h.dtype == NPY_I8 : e->float16 ? h.dtype == NPY_F16 : h.dtype == NPY_F32;
    if (!e->external && !dtype_ok)
        return false;
    if ((int64_t)st.st_size != (int64_t)h.data_offset + h.numel * h.item_size)
        return false;
    if (!e->int8)
        return true;
    char scale[4096 + 16];
    scale_path_of(path, scale, sizeof scale);
    return npy_read_header(scale, &h) == MRNET_OK && h.numel == rows && stat(scale, &st) == 0 &&
           (int64_t)st.st_size == (int64_t)h.data_offset + h.numel * h.item_size;
}

bool featstore_entry_intact(const mrnet_store *fs, const mrnet_store_entry *e)
{
    char path[4096];
    featstore_entry_path(fs, e, path, sizeof path);
    return file_intact(path, e, (int64_t)e->S * e->L * e->D);
}

/* The per-channel scales of an int8 entry: "<features>.scale.npy", (S, L, D) float32. */
static mrnet_status read_scales(const char *path, const mrnet_store_entry *e, int64_t rows, float **out)
{
    char scale_path[4096 + 16];
    scale_path_of(path, scale_path, sizeof scale_path);
    npy_header h;
    MRNET_TRY(npy_read_header(scale_path, &h));
    if (h.numel != rows || h.fortran_order)
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: %lld scales, the int8 features of %s need %lld; run mrnet extract "
                          "again", scale_path, (long long)h.numel, e->source, (long long)rows);
    int fd = open(scale_path, O_RDONLY);
    if (fd < 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", scale_path, strerror(errno));
    *out = malloc(sizeof(float) * (size_t)rows);
    mrnet_status s = *out ? npy_read_f32_at(fd, scale_path, &h, 0, rows, *out)
                          : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    close(fd);
    for (int64_t r = 0; s == MRNET_OK && r < rows; r++)
        if (!isfinite((*out)[r]))
            s = mrnet_fail(MRNET_ERR_NUMERIC, "%s: scale %lld is not finite", scale_path, (long long)r);
    if (s != MRNET_OK) {
        free(*out);
        *out = NULL;
    }
    return s;
}

mrnet_status mrnet_store_read(const mrnet_store *fs, int index, int64_t t0, int64_t len, float *dst)
{
    const mrnet_store_entry *e = mrnet_store_get(fs, index);
    if (!e)
        return mrnet_fail(MRNET_ERR_ARG, "%s: no entry %d (the store has %d)", fs->dir, index, fs->n_entries);
    if (t0 < 0 || len < 1)
        return mrnet_fail(MRNET_ERR_ARG, "%s: bad window [%lld, +%lld) of %s", fs->dir, (long long)t0,
                          (long long)len, e->source);
    char path[4096];
    featstore_entry_path(fs, e, path, sizeof path);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open the features of %s: %s", path, e->source, strerror(errno));
    npy_header h;
    unsigned char head[4096];
    ssize_t got = pread(fd, head, sizeof head, 0);
    off_t end = lseek(fd, 0, SEEK_END);
    mrnet_status s = got < 0 ? mrnet_fail(MRNET_ERR_IO, "%s: cannot read: %s", path, strerror(errno))
                             : npy_parse_header(path, head, (size_t)got, (int64_t)end, &h);
    if (s == MRNET_ERR_FORMAT && got == (ssize_t)sizeof head)
        s = npy_read_header(path, &h); /* a header longer than 4 KiB */
    if (s == MRNET_OK) {
        if (!header_matches(&h, e))
            s = mrnet_fail(MRNET_ERR_SHAPE, "%s: no longer the (%d, %d, %d, %lld) array the index recorded for %s; "
                           "run mrnet extract again", path, e->S, e->L, e->D, (long long)e->T, e->source);
    }
    int64_t T = e->T, rows = (int64_t)e->S * e->L * e->D;
    float *scale = NULL;
    if (s == MRNET_OK && e->int8)
        s = read_scales(path, e, rows, &scale);
    for (int64_t r = 0; s == MRNET_OK && r < rows; r++) {
        int64_t pos = t0 % T, k = 0;
        while (k < len && s == MRNET_OK) {
            int64_t run = T - pos < len - k ? T - pos : len - k;
            s = npy_read_f32_at(fd, path, &h, r * T + pos, run, dst + r * len + k);
            k += run;
            pos = 0;
        }
        for (int64_t k = 0; scale && s == MRNET_OK && k < len; k++)
            dst[r * len + k] *= scale[r];
    }
    free(scale);
    close(fd);
    return s;
}

mrnet_status mrnet_store_read_all(const mrnet_store *fs, int index, float *dst)
{
    const mrnet_store_entry *e = mrnet_store_get(fs, index);
    if (!e)
        return mrnet_fail(MRNET_ERR_ARG, "%s: no entry %d (the store has %d)", fs->dir, index, fs->n_entries);
    return mrnet_store_read(fs, index, 0, e->T, dst);
}
