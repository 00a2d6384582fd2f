#include "data/melon.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/datautil.h"
#include "data/folds.h"
#include "tensor/error.h"
#include "tensor/fileio.h"

/* song_meta.json is a few hundred MB; genre_gn_all.json a few KB. */
#define MELON_MAX_JSON ((size_t)8 << 30)

/* ---- genre names ---- */

void melon_genres_free(melon_genres *g)
{
    for (int i = 0; i < g->n; i++) {
        free(g->codes[i]);
        free(g->names[i]);
    }
    free(g->codes);
    free(g->names);
    memset(g, 0, sizeof *g);
}

mrnet_status melon_genres_load(melon_genres *g, const char *path)
{
    memset(g, 0, sizeof *g);
    char *text;
    size_t size;
    MRNET_TRY(read_whole_file(path, (size_t)64 << 20, &text, &size));
    cJSON *root = cJSON_ParseWithLength(text, size);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s: expected one JSON object mapping genre codes to names", path);
    }
    int n = cJSON_GetArraySize(root);
    g->codes = calloc((size_t)(n ? n : 1), sizeof *g->codes);
    g->names = calloc((size_t)(n ? n : 1), sizeof *g->names);
    mrnet_status st = (g->codes && g->names) ? MRNET_OK
                                             : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        if (st != MRNET_OK)
            break;
        if (!cJSON_IsString(e)) {
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s: genre '%s' has a value that is not a string",
                            path, e->string);
            break;
        }
        g->codes[g->n] = data_strdup(e->string);
        g->names[g->n] = data_strdup(e->valuestring);
        g->n++;
        if (!g->codes[g->n - 1] || !g->names[g->n - 1])
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    cJSON_Delete(root);
    if (st == MRNET_OK && g->n == 0)
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s: no genres", path);
    if (st != MRNET_OK)
        melon_genres_free(g);
    return st;
}

const char *melon_genre_name(const melon_genres *g, const char *code)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->codes[i], code) == 0)
            return g->names[i];
    return NULL;
}

void melon_mel_path(char *out, size_t out_size, const char *mel_dir, long song_id)
{
    size_t n = strlen(mel_dir);
    while (n > 1 && mel_dir[n - 1] == '/')
        n--;
    snprintf(out, out_size, "%.*s/%ld/%ld.npy", (int)n, mel_dir, song_id / 1000, song_id);
}

/* ---- song_meta.json, one object at a time ----
 * The array is split into its objects by a small scanner (strings and
 * nesting), and each object is parsed with cJSON alone: memory stays at the
 * file's size instead of a DOM of 700 000 objects. */

typedef struct {
    const char *p, *end;
    long line;
} scanner;

static void skip_space(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n')) {
        s->line += *s->p == '\n';
        s->p++;
    }
}

/* Advances past the value that starts at s->p ('{' or '['); false at EOF. */
static bool skip_compound(scanner *s)
{
    int depth = 0;
    bool in_string = false;
    for (; s->p < s->end; s->p++) {
        char c = *s->p;
        s->line += c == '\n';
        if (in_string) {
            if (c == '\\' && s->p + 1 < s->end)
                s->p++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) {
                s->p++;
                return true;
            }
        }
    }
    return false;
}

typedef struct {
    mrnet_dataset *ds;
    const mrnet_melon_options *opt;
    const char *meta_path, *mel_dir;
    const melon_genres *genres;
    mrnet_melon_report *rep;
    /* Song ids already read: an open-addressing set of id + 1 (0: empty),
     * sized by the songs read, not by the largest id (an 825-byte file with
     * id 999999999 once took 1 GB). */
    uint64_t *seen;
    size_t seen_cap, seen_n;
} melon_state;

static size_t id_slot(uint64_t key, size_t cap)
{
    key *= 0x9E3779B97F4A7C15ull; /* Fibonacci hashing spreads consecutive ids */
    return (size_t)(key >> 17) & (cap - 1);
}

static mrnet_status mark_seen(melon_state *m, long id, bool *dup)
{
    uint64_t key = (uint64_t)id + 1;
    if (2 * (m->seen_n + 1) > m->seen_cap) {
        size_t cap = m->seen_cap ? 2 * m->seen_cap : 1024;
        uint64_t *s = calloc(cap, sizeof *s);
        if (!s)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory tracking song ids");
        for (size_t i = 0; i < m->seen_cap; i++)
            if (m->seen[i]) {
                size_t j = id_slot(m->seen[i], cap);
                while (s[j])
                    j = (j + 1) & (cap - 1);
                s[j] = m->seen[i];
            }
        free(m->seen);
        m->seen = s;
        m->seen_cap = cap;
    }
    size_t j = id_slot(key, m->seen_cap);
    while (m->seen[j] && m->seen[j] != key)
        j = (j + 1) & (m->seen_cap - 1);
    *dup = m->seen[j] == key;
    if (!*dup) {
        m->seen[j] = key;
        m->seen_n++;
    }
    return MRNET_OK;
}

static mrnet_status bad_entry(melon_state *m, const char *source, const char *reason)
{
    m->rep->bad_entries++;
    return mrnet_dataset_skip_add(m->ds, source, reason);
}

static mrnet_status song_entry(melon_state *m, const cJSON *song, const char *source)
{
    char reason[4400];
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(song, "id");
    double v = cJSON_IsNumber(jid) ? jid->valuedouble : -1;
    if (!(v >= 0 && v <= 1e9 && v == floor(v)))
        return bad_entry(m, source, "no non-negative integer \"id\"");
    long id = (long)v;
    bool dup = false;
    MRNET_TRY(mark_seen(m, id, &dup));
    if (dup) {
        snprintf(reason, sizeof reason, "song %ld: id already seen earlier in the file", id);
        return bad_entry(m, source, reason);
    }
    const cJSON *basket = cJSON_GetObjectItemCaseSensitive(song, "song_gn_gnr_basket");
    if (!cJSON_IsArray(basket)) {
        snprintf(reason, sizeof reason, "song %ld: no song_gn_gnr_basket list", id);
        return bad_entry(m, source, reason);
    }
    /* Distinct codes, in order. */
    const char *codes[8];
    int n_codes = 0, n_distinct = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, basket)
    {
        if (!cJSON_IsString(c) || !c->valuestring[0]) {
            snprintf(reason, sizeof reason, "song %ld: song_gn_gnr_basket holds a non-code", id);
            return bad_entry(m, source, reason);
        }
        bool again = false;
        for (int k = 0; k < n_codes && !again; k++)
            again = strcmp(codes[k], c->valuestring) == 0;
        if (!again) {
            n_distinct++;
            if (n_codes < 8)
                codes[n_codes++] = c->valuestring;
        }
    }
    if (n_distinct == 0) {
        m->rep->no_genre++;
        snprintf(reason, sizeof reason, "song %ld: no genre (empty song_gn_gnr_basket)", id);
        return mrnet_dataset_skip_add(m->ds, source, reason);
    }
    if (n_distinct > 1 && m->opt->policy == MELON_LABEL_SINGLE) {
        m->rep->multi_genre++;
        snprintf(reason, sizeof reason,
                 "song %ld: %d main genres (%s, %s%s); only single-genre songs are kept", id,
                 n_distinct, codes[0], codes[1], n_distinct > 2 ? ", ..." : "");
        return mrnet_dataset_skip_add(m->ds, source, reason);
    }
    if (!melon_genre_name(m->genres, codes[0])) {
        m->rep->unknown_code++;
        snprintf(reason, sizeof reason, "song %ld: genre code '%.100s' is not in genre_gn_all.json",
                 id, codes[0]);
        return mrnet_dataset_skip_add(m->ds, source, reason);
    }
    char path[4096];
    melon_mel_path(path, sizeof path, m->mel_dir, id);
    if (!m->opt->skip_file_check && !mrnet_path_is_file(path)) {
        m->rep->missing_mel++;
        snprintf(reason, sizeof reason, "song %ld: %.4000s: mel-spectrogram file not found", id,
                 path);
        return mrnet_dataset_skip_add(m->ds, source, reason);
    }
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%ld", id);
    return mrnet_dataset_add(m->ds, path, codes[0], "", -1, id_text);
}

static mrnet_status read_songs(melon_state *m, const char *text, size_t size)
{
    scanner s = {text, text + size, 1};
    if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        s.p += 3;
    skip_space(&s);
    if (s.p >= s.end || *s.p != '[')
        return mrnet_fail(MRNET_ERR_FORMAT, "%s:%ld: expected a JSON array of songs ('[')",
                          m->meta_path, s.line);
    s.p++;
    for (;;) {
        skip_space(&s);
        if (s.p < s.end && *s.p == ']')
            return MRNET_OK;
        if (s.p >= s.end || *s.p != '{')
            return mrnet_fail(MRNET_ERR_FORMAT, "%s:%ld: expected a song object ('{')",
                              m->meta_path, s.line);
        const char *start = s.p;
        long line = s.line;
        if (!skip_compound(&s))
            return mrnet_fail(MRNET_ERR_FORMAT, "%s:%ld: song object not closed before the end "
                              "of the file", m->meta_path, line);
        m->rep->songs++;
        char source[4200];
        snprintf(source, sizeof source, "%s:%ld", m->meta_path, line);
        cJSON *song = cJSON_ParseWithLength(start, (size_t)(s.p - start));
        mrnet_status st = song ? song_entry(m, song, source)
                               : bad_entry(m, source, "song object is not valid JSON");
        cJSON_Delete(song);
        MRNET_TRY(st);
        skip_space(&s);
        if (s.p < s.end && *s.p == ',') {
            s.p++;
            continue;
        }
        if (s.p < s.end && *s.p == ']')
            return MRNET_OK;
        return mrnet_fail(MRNET_ERR_FORMAT, "%s:%ld: expected ',' or ']' after a song object",
                          m->meta_path, s.line);
    }
}

/* Class order: first appearance in the file (the authors' loader). */
static mrnet_status finalize_first_appearance(mrnet_dataset *ds)
{
    strvec labels = {0};
    mrnet_status st = MRNET_OK;
    for (int i = 0; i < ds->n_items && st == MRNET_OK; i++)
        st = strvec_push_unique(&labels, ds->items[i].label);
    if (st == MRNET_OK)
        st = mrnet_dataset_finalize_labels(ds, labels.v, labels.n);
    strvec_free(&labels);
    return st;
}

mrnet_status mrnet_melon_read(mrnet_dataset *ds, const char *root, const mrnet_melon_options *opt,
                        mrnet_melon_report *report)
{
    mrnet_melon_options defaults = {0};
    mrnet_melon_report local;
    if (!opt)
        opt = &defaults;
    if (!report)
        report = &local;
    memset(report, 0, sizeof *report);
    if (ds->n_items != 0)
        return mrnet_fail(MRNET_ERR_ARG, "melon_read: the dataset must start empty");
    if (opt->k_folds == 1 || opt->k_folds < 0)
        return mrnet_fail(MRNET_ERR_ARG, "Melon: %d folds (use 0 for none, or at least 2)",
                          opt->k_folds);
    char *meta = opt->song_meta ? data_strdup(opt->song_meta) : mrnet_path_join(root, "song_meta.json");
    char *names = opt->genre_names ? data_strdup(opt->genre_names)
                                   : mrnet_path_join(root, "genre_gn_all.json");
    char *mel = opt->mel_dir ? data_strdup(opt->mel_dir) : mrnet_path_join(root, "arena_mel");
    melon_genres genres = {0};
    char *text = NULL;
    size_t size = 0;
    mrnet_status st = (meta && names && mel) ? MRNET_OK
                                             : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (st == MRNET_OK && !opt->skip_file_check && !path_is_dir(mel))
        st = mrnet_fail(MRNET_ERR_IO, "%s: mel-spectrogram folder not found (extract "
                        "arena_mel_*.tar there)", mel);
    if (st == MRNET_OK)
        st = melon_genres_load(&genres, names);
    if (st == MRNET_OK)
        st = read_whole_file(meta, MELON_MAX_JSON, &text, &size);
    melon_state m = {.ds = ds, .opt = opt, .meta_path = meta, .mel_dir = mel,
                     .genres = &genres, .rep = report};
    if (st == MRNET_OK)
        st = read_songs(&m, text, size);
    free(text);
    free(m.seen);
    if (st == MRNET_OK && ds->n_items == 0)
        st = mrnet_fail(MRNET_ERR_FORMAT,
                        "%s: no usable song (%d songs, %d without genre, %d with several, %d "
                        "without a mel file under %s)",
                        meta, report->songs, report->no_genre, report->multi_genre,
                        report->missing_mel, mel);
    if (st == MRNET_OK)
        st = finalize_first_appearance(ds);
    if (st == MRNET_OK && opt->k_folds > 1)
        st = mrnet_folds_assign_stratified(ds, opt->k_folds, opt->seed);
    melon_genres_free(&genres);
    free(meta);
    free(names);
    free(mel);
    return st;
}
