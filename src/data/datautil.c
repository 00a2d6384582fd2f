#include "data/datautil.h"

#include <csv.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensor/error.h"

/* ---- strvec ---- */

void strvec_free(strvec *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

mrnet_status strvec_push(strvec *s, const char *str)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory growing a list of %d strings", s->n);
        s->v = v;
        s->cap = cap;
    }
    char *copy = data_strdup(str);
    if (!copy)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory copying a string");
    s->v[s->n++] = copy;
    return MRNET_OK;
}

mrnet_status strvec_push_unique(strvec *s, const char *str)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return MRNET_OK;
    return strvec_push(s, str);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_sort(strvec *s)
{
    if (s->n > 1)
        qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_str);
}

/* ---- strings and paths ---- */

char *data_strdup(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *mrnet_path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    while (na > 1 && a[na - 1] == '/')
        na--;
    char *r = malloc(na + nb + 2);
    if (!r)
        return NULL;
    memcpy(r, a, na);
    size_t k = na;
    if (na > 0 && a[na - 1] != '/')
        r[k++] = '/';
    memcpy(r + k, b, nb + 1);
    return r;
}

char *mrnet_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return data_strdup(".");
    if (slash == path)
        return data_strdup("/");
    size_t n = (size_t)(slash - path);
    char *r = malloc(n + 1);
    if (!r)
        return NULL;
    memcpy(r, path, n);
    r[n] = '\0';
    return r;
}

void path_stem(const char *path, char *out, size_t out_size)
{
    if (out_size == 0)
        return;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = (dot && dot != base) ? (size_t)(dot - base) : strlen(base);
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}

bool path_is_absolute(const char *path) { return path[0] == '/'; }

bool mrnet_path_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool path_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool path_has_media_extension(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return mrnet_audio_is_media_name(path) || (dot && dot != base && str_equal_nocase(dot + 1, "npy"));
}

/* depth bounds the walk so that a symlink loop cannot recurse forever. */
static mrnet_status list_media_rec(const char *dir, strvec *out, int depth)
{
    if (depth > 32)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: folders nested more than 32 deep (a symlink loop?)",
                          dir);
    DIR *d = opendir(dir);
    if (!d)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    strvec subdirs = {0};
    mrnet_status st = MRNET_OK;
    struct dirent *e;
    while (st == MRNET_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* hidden files, ".", ".." and editors' droppings */
        char *p = mrnet_path_join(dir, e->d_name);
        if (!p) {
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        if (path_is_dir(p))
            st = strvec_push(&subdirs, p);
        else if (path_has_media_extension(p) && mrnet_path_is_file(p))
            st = strvec_push(out, p);
        free(p);
    }
    closedir(d);
    for (int i = 0; st == MRNET_OK && i < subdirs.n; i++)
        st = list_media_rec(subdirs.v[i], out, depth + 1);
    strvec_free(&subdirs);
    return st;
}

mrnet_status path_list_media(const char *root, strvec *out)
{
    int first = out->n;
    MRNET_TRY(list_media_rec(root, out, 0));
    if (out->n - first > 1)
        qsort(out->v + first, (size_t)(out->n - first), sizeof *out->v, cmp_str);
    return MRNET_OK;
}

char *str_trim(char *s)
{
    char *b = s;
    while (*b && isspace((unsigned char)*b))
        b++;
    size_t n = strlen(b);
    while (n > 0 && isspace((unsigned char)b[n - 1]))
        n--;
    memmove(s, b, n);
    s[n] = '\0';
    return s;
}

bool str_equal_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

bool parse_int(const char *s, long *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s)
        return false;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}

/* ---- CSV rows ---- */

typedef struct {
    char **fields;
    size_t *field_cap;
    int n_fields, cap_fields;
    long seg_line; /* physical line of the bytes being parsed */
    long row_line; /* physical line where the current row began */
    mrnet_status status;
    csv_row_fn fn;
    void *ctx;
    const char *path;
} csv_state;

static void csv_on_field(void *data, size_t len, void *vs)
{
    csv_state *s = vs;
    if (s->status != MRNET_OK)
        return;
    if (s->n_fields == s->cap_fields) {
        int cap = s->cap_fields ? 2 * s->cap_fields : 16;
        char **f = realloc(s->fields, (size_t)cap * sizeof *f);
        size_t *c = f ? realloc(s->field_cap, (size_t)cap * sizeof *c) : NULL;
        if (f)
            s->fields = f;
        if (!f || !c) {
            s->status = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory reading a row", s->path);
            return;
        }
        s->field_cap = c;
        for (int i = s->cap_fields; i < cap; i++) {
            f[i] = NULL;
            c[i] = 0;
        }
        s->cap_fields = cap;
    }
    int k = s->n_fields;
    if (s->field_cap[k] < len + 1) {
        size_t cap = len + 1 < 64 ? 64 : len + 1;
        char *b = realloc(s->fields[k], cap);
        if (!b) {
            s->status = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory reading a field", s->path);
            return;
        }
        s->fields[k] = b;
        s->field_cap[k] = cap;
    }
    if (len)
        memcpy(s->fields[k], data, len);
    s->fields[k][len] = '\0';
    if (k == 0) {
        /* The callback runs on the line where the field ends; a quoted first
         * field may have spanned earlier lines. */
        long nl = 0;
        for (size_t i = 0; i < len; i++)
            nl += ((const char *)data)[i] == '\n';
        s->row_line = s->seg_line - nl;
    }
    s->n_fields++;
}

static void csv_on_row(int c, void *vs)
{
    (void)c;
    csv_state *s = vs;
    if (s->status != MRNET_OK)
        return;
    int n = s->n_fields;
    s->n_fields = 0;
    if (n == 0 || (n == 1 && s->fields[0][0] == '\0'))
        return; /* a line of spaces */
    s->status = s->fn(s->ctx, s->row_line, s->fields, n);
}

mrnet_status csv_read_rows(const char *path, csv_row_fn fn, void *ctx)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct csv_parser p;
    if (csv_init(&p, CSV_APPEND_NULL) != 0) {
        fclose(f);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: cannot initialise the CSV parser", path);
    }
    csv_state s = {.seg_line = 1, .row_line = 1, .status = MRNET_OK, .fn = fn, .ctx = ctx,
                   .path = path};
    enum { CHUNK = 1 << 16 };
    char *buf = malloc(CHUNK);
    if (!buf)
        s.status = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    bool first = true;
    while (s.status == MRNET_OK) {
        size_t n = fread(buf, 1, CHUNK, f);
        if (n == 0)
            break;
        size_t off = 0;
        if (first && n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
            off = 3;
        first = false;
        /* Feed one physical line at a time so the callbacks know the line. */
        while (off < n && s.status == MRNET_OK) {
            const char *nl = memchr(buf + off, '\n', n - off);
            size_t len = nl ? (size_t)(nl - (buf + off)) + 1 : n - off;
            if (csv_parse(&p, buf + off, len, csv_on_field, csv_on_row, &s) != len &&
                s.status == MRNET_OK)
                s.status = mrnet_fail(MRNET_ERR_FORMAT, "%s:%ld: %s", path, s.seg_line,
                                      csv_strerror(csv_error(&p)));
            off += len;
            if (nl)
                s.seg_line++;
        }
    }
    if (s.status == MRNET_OK && ferror(f))
        s.status = mrnet_fail(MRNET_ERR_IO, "%s: read error", path);
    if (s.status == MRNET_OK)
        csv_fini(&p, csv_on_field, csv_on_row, &s);
    csv_free(&p);
    fclose(f);
    free(buf);
    for (int i = 0; i < s.cap_fields; i++)
        free(s.fields[i]);
    free(s.fields);
    free(s.field_cap);
    return s.status;
}
