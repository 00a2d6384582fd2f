/* Output that survives being stopped (mrnet/collection.h): records
 * streamed to standard output, or to a journaled partial file that a later
 * run resumes. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collection/collection.h"
#include "tensor/error.h"

#define JOURNAL_MAGIC "mrnet-partial 1"

/* ---- the set of files done ----------------------------------------------------- */

uint64_t collection_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void table_insert(char **table, int size, char *path)
{
    for (uint64_t i = collection_hash_str(path) & (uint64_t)(size - 1);; i = (i + 1) & (uint64_t)(size - 1))
        if (!table[i] || !strcmp(table[i], path)) {
            table[i] = path;
            return;
        }
}

bool mrnet_partial_has(const mrnet_partial_output *s, const char *path)
{
    if (!s->table_size)
        return false;
    for (uint64_t i = collection_hash_str(path) & (uint64_t)(s->table_size - 1);; i = (i + 1) & (uint64_t)(s->table_size - 1)) {
        if (!s->table[i])
            return false;
        if (!strcmp(s->table[i], path))
            return true;
    }
}

static mrnet_status add_done(mrnet_partial_output *s, const char *path)
{
    if (s->n_done == s->cap_done) {
        int cap = s->cap_done ? 2 * s->cap_done : 256;
        char **v = realloc(s->done, sizeof *v * (size_t)cap);
        if (!v)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        s->done = v;
        s->cap_done = cap;
    }
    if (!(s->done[s->n_done] = strdup(path)))
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    s->n_done++;
    if (2 * s->n_done >= s->table_size) { /* keep it at most half full */
        int size = s->table_size ? 2 * s->table_size : 512;
        char **t = calloc((size_t)size, sizeof *t);
        if (!t)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        free(s->table);
        s->table = t;
        s->table_size = size;
        for (int i = 0; i < s->n_done; i++)
            table_insert(t, size, s->done[i]);
    } else
        table_insert(s->table, s->table_size, s->done[s->n_done - 1]);
    return MRNET_OK;
}

/* ---- the journal --------------------------------------------------------------- */

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes cli_percent_encoded in place; false on a malformed escape. */
static bool percent_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s != '%') {
            *o++ = *s;
            continue;
        }
        int a = hex_value(s[1]), b = a >= 0 ? hex_value(s[2]) : -1;
        if (b < 0 || (a == 0 && b == 0))
            return false;
        *o++ = (char)(a * 16 + b);
        s += 2;
    }
    *o = '\0';
    return true;
}

/* Reads the journal of an earlier run: its records are kept (the partial
 * cut back to the end of the last one), its files are marked done. Returns
 * MRNET_ERR_ARG when it was made with other settings. */
static mrnet_status read_journal(mrnet_partial_output *s, const char *settings, long *keep_partial, long *keep_journal)
{
    FILE *j = fopen(s->journal_path, "r");
    if (!j)
        return mrnet_fail(MRNET_ERR_IO, "%s: %s", s->journal_path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, j);
    mrnet_status st = MRNET_OK;
    char *tab = len > 0 ? strchr(line, '\t') : NULL, *tab2 = tab ? strchr(tab + 1, '\t') : NULL;
    if (len <= 0 || line[len - 1] != '\n' || !tab || !tab2 || (size_t)(tab - line) != strlen(JOURNAL_MAGIC) ||
        strncmp(line, JOURNAL_MAGIC, (size_t)(tab - line))) {
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s is not a journal of mrnet's: remove it and %s", s->journal_path,
                        s->partial);
    } else {
        line[len - 1] = '\0';
        char *end;
        *keep_partial = strtol(tab + 1, &end, 10);
        if (end != tab2 || strcmp(tab2 + 1, settings))
            st = mrnet_fail(MRNET_ERR_ARG, "%s was started with other settings (model, format or options): "
                            "run with --restart to start over, or give the same options",
                            s->partial);
        *keep_journal = ftell(j);
    }
    long offset;
    while (st == MRNET_OK && (len = getline(&line, &cap, j)) > 0) {
        if (line[len - 1] != '\n')
            break; /* cut off mid-line by a kill: not done */
        line[len - 1] = '\0';
        char *end;
        tab = strchr(line, '\t');
        offset = strtol(line, &end, 10);
        if (!tab || end != tab || offset < *keep_partial || !percent_decode(tab + 1))
            break;
        st = add_done(s, tab + 1);
        *keep_partial = offset;
        *keep_journal = ftell(j);
    }
    free(line);
    fclose(j);
    return st;
}

static mrnet_status start_journal(mrnet_partial_output *s, const char *settings, const char *header)
{
    s->f = fopen(s->partial, "w");
    if (!s->f)
        return mrnet_fail(MRNET_ERR_IO, "%s: %s", s->partial, strerror(errno));
    if (header)
        fputs(header, s->f);
    s->journal = fopen(s->journal_path, "w");
    if (!s->journal)
        return mrnet_fail(MRNET_ERR_IO, "%s: %s", s->journal_path, strerror(errno));
    if (fflush(s->f) != 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: %s", s->partial, strerror(errno));
    fprintf(s->journal, "%s\t%ld\t%s\n", JOURNAL_MAGIC, ftell(s->f), settings);
    if (fflush(s->journal) != 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: %s", s->journal_path, strerror(errno));
    return MRNET_OK;
}

static mrnet_status resume_journal(mrnet_partial_output *s, long keep_partial, long keep_journal)
{
    struct stat sb;
    if (stat(s->partial, &sb) != 0 || sb.st_size < keep_partial)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s is shorter than its journal says: run with --restart", s->partial);
    if (truncate(s->partial, keep_partial) != 0 || truncate(s->journal_path, keep_journal) != 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot cut back to its last record: %s", s->partial, strerror(errno));
    s->f = fopen(s->partial, "a");
    s->journal = s->f ? fopen(s->journal_path, "a") : NULL;
    if (!s->f || !s->journal)
        return mrnet_fail(MRNET_ERR_IO, "%s: %s", s->f ? s->journal_path : s->partial, strerror(errno));
    fseek(s->f, 0, SEEK_END); /* ftell must give the offsets the journal records */
    fseek(s->journal, 0, SEEK_END);
    s->resumed = s->n_done;
    return MRNET_OK;
}

static char *with_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", path, suffix);
    return p;
}

mrnet_status mrnet_partial_open(mrnet_partial_output *s, const char *final, mrnet_partial_kind kind, int row_width,
                                const char *settings, bool restart, const char *header)
{
    *s = (mrnet_partial_output){.final = final, .kind = kind, .row_width = row_width};
    struct stat sb;
    if (!final) {
        s->f = stdout;
        if (header)
            fputs(header, stdout);
        return MRNET_OK;
    }
    if (stat(final, &sb) == 0 && S_ISDIR(sb.st_mode))
        return mrnet_fail(MRNET_ERR_ARG, "%s is a folder: give a file name", final);
    if (stat(final, &sb) == 0 && !S_ISREG(sb.st_mode)) { /* /dev/null, a FIFO: written through */
        if (kind != MRNET_PARTIAL_LINES)
            return mrnet_fail(MRNET_ERR_ARG, "%s: %s output is assembled into a regular file", final,
                              kind == MRNET_PARTIAL_NPY ? "npy" : "safetensors");
        s->f = fopen(final, "w");
        if (!s->f)
            return mrnet_fail(MRNET_ERR_IO, "%s: %s", final, strerror(errno));
        if (header)
            fputs(header, s->f);
        return MRNET_OK;
    }
    s->journaled = true;
    s->partial = with_suffix(final, ".partial");
    s->journal_path = with_suffix(final, ".partial.journal");
    if (!s->partial || !s->journal_path)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    bool have = access(s->journal_path, F_OK) == 0 && access(s->partial, F_OK) == 0;
    if (have && !restart) {
        long keep_partial = 0, keep_journal = 0;
        MRNET_TRY(read_journal(s, settings, &keep_partial, &keep_journal));
        return resume_journal(s, keep_partial, keep_journal);
    }
    return start_journal(s, settings, header);
}

mrnet_status mrnet_partial_commit_record(mrnet_partial_output *s, const char *path)
{
    const char *shown = s->journaled ? s->partial : s->final ? s->final : "standard output";
    if (fflush(s->f) != 0 || ferror(s->f))
        return mrnet_fail(MRNET_ERR_IO, "cannot write %s: %s", shown, strerror(errno ? errno : EIO));
    if (!s->journaled)
        return MRNET_OK;
    fprintf(s->journal, "%ld\t", ftell(s->f));
    mrnet_fputs_percent_encoded(s->journal, path);
    fputc('\n', s->journal);
    if (fflush(s->journal) != 0 || ferror(s->journal))
        return mrnet_fail(MRNET_ERR_IO, "cannot write %s: %s", s->journal_path, strerror(errno ? errno : EIO));
    return add_done(s, path);
}

/* ---- merging the parts of several processes ------------------------------------ */

mrnet_status mrnet_partial_append(mrnet_partial_output *s, const char *part)
{
    char *partial = with_suffix(part, ".partial"), *journal = with_suffix(part, ".partial.journal");
    FILE *j = journal ? fopen(journal, "r") : NULL, *p = partial ? fopen(partial, "rb") : NULL;
    mrnet_status st = MRNET_OK;
    if (!partial || !journal)
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    else if (!j || !p)
        st = mrnet_fail(MRNET_ERR_IO, "%s: %s", j ? partial : journal, strerror(errno));
    char *line = NULL, *bytes = NULL;
    size_t cap = 0, bytes_cap = 0;
    ssize_t len = st == MRNET_OK ? getline(&line, &cap, j) : -1;
    long start = 0;
    if (st == MRNET_OK) { /* "magic \t end of the header \t settings" */
        char *tab = len > 0 ? strchr(line, '\t') : NULL, *end = NULL;
        if (tab)
            start = strtol(tab + 1, &end, 10);
        if (!tab || strncmp(line, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC)) || !end || *end != '\t' || start < 0)
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s is not a journal of mrnet's", journal);
    }
    struct stat sb;
    if (st == MRNET_OK && fstat(fileno(p), &sb) != 0)
        st = mrnet_fail(MRNET_ERR_IO, "%s: %s", partial, strerror(errno));
    while (st == MRNET_OK && (len = getline(&line, &cap, j)) > 0 && line[len - 1] == '\n') {
        line[len - 1] = '\0';
        char *end, *tab = strchr(line, '\t');
        long offset = strtol(line, &end, 10);
        if (!tab || end != tab || offset < start || !percent_decode(tab + 1))
            break; /* a torn last line: that record is not done */
        if (offset > (long)sb.st_size) { /* before sizing a buffer by it */
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s is shorter than its journal says", partial);
            break;
        }
        size_t n = (size_t)(offset - start);
        if (n > bytes_cap) {
            char *grown = realloc(bytes, n);
            if (!grown) {
                st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
                break;
            }
            bytes = grown;
            bytes_cap = n;
        }
        if (fseek(p, start, SEEK_SET) != 0 || fread(bytes, 1, n, p) != n)
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s is shorter than its journal says", partial);
        else if (fwrite(bytes, 1, n, s->f) != n)
            st = mrnet_fail(MRNET_ERR_IO, "cannot write %s: %s", s->partial ? s->partial : s->final,
                            strerror(errno));
        else
            st = mrnet_partial_commit_record(s, tab + 1);
        start = offset;
    }
    free(line);
    free(bytes);
    if (j)
        fclose(j);
    if (p)
        fclose(p);
    free(partial);
    free(journal);
    return st;
}

/* ---- the parts of a run over several processes, by key ---------------------------- */

typedef struct {
    char *key;
    int part;
    long start, end; /* the record's bytes in that part's partial */
} part_record;

struct mrnet_partial_parts {
    char **partials;     /* each part's .partial path */
    int n_parts;
    part_record *records;
    int n_records, cap_records;
    int *table;          /* open addressing over records by key, -1 empty */
    int table_size;
};

static int parts_find(const mrnet_partial_parts *p, const char *key)
{
    if (!p->table_size)
        return -1;
    for (uint64_t i = collection_hash_str(key) & (uint64_t)(p->table_size - 1);;
         i = (i + 1) & (uint64_t)(p->table_size - 1)) {
        int r = p->table[i];
        if (r < 0 || !strcmp(p->records[r].key, key))
            return r;
    }
}

static mrnet_status parts_add(mrnet_partial_parts *p, char *key, int part, long start, long end)
{
    if (parts_find(p, key) >= 0) { /* the first part holding a key wins */
        free(key);
        return MRNET_OK;
    }
    if (p->n_records == p->cap_records) {
        int cap = p->cap_records ? 2 * p->cap_records : 256;
        part_record *v = realloc(p->records, sizeof *v * (size_t)cap);
        if (!v) {
            free(key);
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        }
        p->records = v;
        p->cap_records = cap;
    }
    p->records[p->n_records++] = (part_record){key, part, start, end};
    if (2 * p->n_records >= p->table_size) {
        int size = p->table_size ? 2 * p->table_size : 512;
        int *t = malloc(sizeof *t * (size_t)size);
        if (!t)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        for (int i = 0; i < size; i++)
            t[i] = -1;
        free(p->table);
        p->table = t;
        p->table_size = size;
        for (int r = 0; r < p->n_records; r++) {
            uint64_t i = collection_hash_str(p->records[r].key) & (uint64_t)(size - 1);
            while (t[i] >= 0)
                i = (i + 1) & (uint64_t)(size - 1);
            t[i] = r;
        }
    } else {
        uint64_t i = collection_hash_str(key) & (uint64_t)(p->table_size - 1);
        while (p->table[i] >= 0)
            i = (i + 1) & (uint64_t)(p->table_size - 1);
        p->table[i] = p->n_records - 1;
    }
    return MRNET_OK;
}

/* One part's journal into p: its complete records (a torn tail is not done). */
static mrnet_status parts_read(mrnet_partial_parts *p, const char *part, const char *settings)
{
    char *journal = with_suffix(part, ".partial.journal");
    char *partial = with_suffix(part, ".partial");
    if (!journal || !partial) {
        free(journal);
        free(partial);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    p->partials[p->n_parts] = partial;
    int index = p->n_parts++;
    FILE *j = fopen(journal, "r");
    struct stat sb;
    mrnet_status st = MRNET_OK;
    if (!j || stat(partial, &sb) != 0)
        st = mrnet_fail(MRNET_ERR_IO, "%s: %s", j ? partial : journal, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = st == MRNET_OK ? getline(&line, &cap, j) : -1;
    long start = 0;
    if (st == MRNET_OK) { /* "magic \t end of the header \t settings" */
        char *tab = len > 0 ? strchr(line, '\t') : NULL, *end = NULL;
        if (tab)
            start = strtol(tab + 1, &end, 10);
        if (len > 0 && line[len - 1] == '\n')
            line[len - 1] = '\0';
        if (!tab || strncmp(line, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC)) || !end || *end != '\t' || start < 0)
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s is not a journal of mrnet's: remove it and %s, or give "
                            "--restart", journal, partial);
        else if (strcmp(end + 1, settings))
            st = mrnet_fail(MRNET_ERR_ARG, "%s was started with other settings (model, format or options): "
                            "run with --restart to start over, or give the same options", partial);
    }
    while (st == MRNET_OK && (len = getline(&line, &cap, j)) > 0 && line[len - 1] == '\n') {
        line[len - 1] = '\0';
        char *end, *tab = strchr(line, '\t');
        long offset = strtol(line, &end, 10);
        if (!tab || end != tab || offset < start || offset > (long)sb.st_size || !percent_decode(tab + 1))
            break;
        char *key = strdup(tab + 1);
        st = key ? parts_add(p, key, index, start, offset) : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        start = offset;
    }
    free(line);
    if (j)
        fclose(j);
    free(journal);
    return st;
}

mrnet_status mrnet_partial_parts_open(const char *const *parts, int n, const char *settings,
                                      mrnet_partial_parts **out)
{
    *out = NULL;
    mrnet_partial_parts *p = calloc(1, sizeof *p);
    if (!p || !(p->partials = calloc((size_t)(n > 0 ? n : 1), sizeof *p->partials))) {
        free(p);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    mrnet_status st = MRNET_OK;
    for (int i = 0; i < n && st == MRNET_OK; i++)
        st = parts_read(p, parts[i], settings);
    if (st != MRNET_OK) {
        mrnet_partial_parts_free(p);
        return st;
    }
    *out = p;
    return MRNET_OK;
}

bool mrnet_partial_parts_has(const mrnet_partial_parts *p, const char *key)
{
    return p && parts_find(p, key) >= 0;
}

int mrnet_partial_parts_count(const mrnet_partial_parts *p) { return p ? p->n_records : 0; }

mrnet_status mrnet_partial_parts_merge(const mrnet_partial_parts *p, mrnet_partial_output *s,
                                       const char *const *order, int n_order)
{
    FILE **files = calloc((size_t)(p->n_parts > 0 ? p->n_parts : 1), sizeof *files);
    char *bytes = NULL;
    size_t bytes_cap = 0;
    mrnet_status st = files ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_order && st == MRNET_OK; i++) {
        int r = parts_find(p, order[i]);
        if (r < 0)
            continue;
        const part_record *rec = &p->records[r];
        FILE **f = &files[rec->part];
        if (!*f && !(*f = fopen(p->partials[rec->part], "rb"))) {
            st = mrnet_fail(MRNET_ERR_IO, "%s: %s", p->partials[rec->part], strerror(errno));
            break;
        }
        size_t n = (size_t)(rec->end - rec->start);
        if (n > bytes_cap) {
            char *grown = realloc(bytes, n);
            if (!grown) {
                st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
                break;
            }
            bytes = grown;
            bytes_cap = n;
        }
        if (fseek(*f, rec->start, SEEK_SET) != 0 || fread(bytes, 1, n, *f) != n)
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s is shorter than its journal says", p->partials[rec->part]);
        else if (fwrite(bytes, 1, n, s->f) != n)
            st = mrnet_fail(MRNET_ERR_IO, "cannot write %s: %s", s->partial ? s->partial : s->final,
                            strerror(errno));
        else
            st = mrnet_partial_commit_record(s, rec->key);
    }
    for (int i = 0; files && i < p->n_parts; i++)
        if (files[i])
            fclose(files[i]);
    free(files);
    free(bytes);
    return st;
}

void mrnet_partial_parts_free(mrnet_partial_parts *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_parts; i++)
        free(p->partials[i]);
    free(p->partials);
    for (int r = 0; r < p->n_records; r++)
        free(p->records[r].key);
    free(p->records);
    free(p->table);
    free(p);
}

void mrnet_partial_discard(const char *part)
{
    char *partial = with_suffix(part, ".partial"), *journal = with_suffix(part, ".partial.journal");
    if (partial)
        remove(partial);
    if (journal)
        remove(journal);
    free(partial);
    free(journal);
}

/* ---- assembling matrix formats ------------------------------------------------- */

/* The partial's rows into memory: (n_done, row_width) floats. */
static mrnet_status read_rows(const mrnet_partial_output *s, float **rows)
{
    size_t n = (size_t)s->n_done * (size_t)s->row_width;
    *rows = malloc(sizeof(float) * (n ? n : 1));
    if (!*rows)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d rows", s->n_done);
    FILE *f = fopen(s->partial, "rb");
    size_t got = f ? fread(*rows, sizeof(float), n, f) : 0;
    if (f)
        fclose(f);
    if (got != n)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: %zu of %zu values could be read back", s->partial, got, n);
    return MRNET_OK;
}

static mrnet_status write_paths_beside(const mrnet_partial_output *s)
{
    size_t n = strlen(s->final);
    char *txt = malloc(n + 16);
    if (!txt)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    memcpy(txt, s->final, n + 1);
    if (n > 4 && !strcasecmp(txt + n - 4, ".npy"))
        txt[n - 4] = '\0';
    strcat(txt, ".paths.txt");
    mrnet_atomic_file af;
    mrnet_status st = mrnet_atomic_open(&af, txt);
    for (int i = 0; st == MRNET_OK && i < s->n_done; i++) {
        mrnet_fputs_percent_encoded(af.f, s->done[i]);
        fputc('\n', af.f);
    }
    if (st == MRNET_OK)
        st = mrnet_atomic_commit(&af);
    free(txt);
    return st;
}


static mrnet_status assemble(const mrnet_partial_output *s, const char *tensor_name, const char *meta_key, const char *meta_json)
{
    float *rows = NULL;
    mrnet_status st = read_rows(s, &rows);
    int64_t shape[2] = {s->n_done, s->row_width};
    if (st == MRNET_OK && s->kind == MRNET_PARTIAL_NPY) {
        st = mrnet_npy_save_f32(s->final, 2, shape, rows, false);
        if (st == MRNET_OK)
            st = write_paths_beside(s);
    } else if (st == MRNET_OK) {
        char *paths = mrnet_json_string_array((const char *const *)s->done, s->n_done);
        mrnet_st_writer *w = mrnet_st_writer_create();
        st = (!paths || !w) ? mrnet_fail(MRNET_ERR_NOMEM, "out of memory") : MRNET_OK;
        if (st == MRNET_OK)
            st = mrnet_st_writer_add(w, tensor_name, MRNET_F32, 2, shape, rows);
        if (st == MRNET_OK)
            st = mrnet_st_writer_meta(w, "paths", paths);
        if (st == MRNET_OK && meta_key)
            st = mrnet_st_writer_meta(w, meta_key, meta_json);
        if (st == MRNET_OK)
            st = mrnet_st_writer_save(w, s->final);
        mrnet_st_writer_free(w);
        free(paths);
    }
    free(rows);
    return st;
}

/* Makes the partial the final file: fsync, rename over it, fsync the folder. */
static mrnet_status promote_partial(mrnet_partial_output *s)
{
    int fd = fileno(s->f);
    if (fflush(s->f) != 0 || fsync(fd) != 0)
        return mrnet_fail(MRNET_ERR_IO, "cannot write %s: %s", s->partial, strerror(errno));
    fclose(s->f);
    s->f = NULL;
    if (rename(s->partial, s->final) != 0)
        return mrnet_fail(MRNET_ERR_IO, "cannot rename %s to %s: %s", s->partial, s->final, strerror(errno));
    char *dir = strdup(s->final), *slash = dir ? strrchr(dir, '/') : NULL;
    if (dir) {
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    return MRNET_OK;
}

mrnet_status mrnet_partial_finish(mrnet_partial_output *s, const char *tensor_name, const char *meta_key, const char *meta_json)
{
    if (!s->journaled) {
        mrnet_status st = MRNET_OK;
        if (fflush(s->f) != 0 || ferror(s->f))
            st = mrnet_fail(MRNET_ERR_IO, "cannot write %s: %s", s->final ? s->final : "standard output",
                            strerror(errno ? errno : EIO));
        if (s->final) {
            if (fclose(s->f) != 0 && st == MRNET_OK)
                st = mrnet_fail(MRNET_ERR_IO, "cannot write %s: %s", s->final, strerror(errno));
            s->f = NULL;
        }
        return st;
    }
    mrnet_status st;
    if ((s->kind != MRNET_PARTIAL_LINES)) {
        if (fflush(s->f) != 0 || ferror(s->f))
            return mrnet_fail(MRNET_ERR_IO, "cannot write %s: %s", s->partial, strerror(errno ? errno : EIO));
        MRNET_TRY(assemble(s, tensor_name, meta_key, meta_json));
        fclose(s->f);
        s->f = NULL;
        st = remove(s->partial) == 0 ? MRNET_OK : mrnet_fail(MRNET_ERR_IO, "%s: %s", s->partial, strerror(errno));
    } else
        st = promote_partial(s);
    if (st != MRNET_OK)
        return st;
    fclose(s->journal);
    s->journal = NULL;
    remove(s->journal_path);
    return MRNET_OK;
}

void mrnet_partial_close(mrnet_partial_output *s)
{
    if (s->f && s->f != stdout)
        fclose(s->f);
    if (s->journal)
        fclose(s->journal);
    for (int i = 0; i < s->n_done; i++)
        free(s->done[i]);
    free(s->done);
    free(s->table);
    free(s->partial);
    free(s->journal_path);
    memset(s, 0, sizeof *s);
}
