/* The collection index in SQLite (docs/INDEX.md): schema, incremental
 * updates through the batch runner, queries, and exact similarity search
 * over the embeddings. Every use of SQLite and xxHash is here. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "collection/collection.h"
#include "tensor/error.h"
#include "tensor/fileio.h"

#define APPLICATION_ID 0x4D524E54 /* "MRNT" */
#define COMMIT_EVERY 64           /* files per transaction */

struct mrnet_index {
    sqlite3 *db;
    char *path;
    /* the model row, loaded by mrnet_index_model_info */
    char **labels;
    int K, E;
    char *task, *checkpoint, *hash;
};

static const char *const schema_sql =
    "CREATE TABLE model (id INTEGER PRIMARY KEY CHECK (id = 1), hash TEXT NOT NULL, checkpoint TEXT,"
    " task TEXT, labels TEXT NOT NULL, classes INTEGER NOT NULL, embed INTEGER NOT NULL, settings TEXT NOT NULL,"
    " created TEXT NOT NULL, generation INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE tracks (id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL, hash TEXT, seconds REAL, probs BLOB, embedding BLOB, warning TEXT, error TEXT,"
    " indexed TEXT NOT NULL);"
    "CREATE TABLE track_labels (track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
    " label INTEGER NOT NULL, prob REAL NOT NULL, PRIMARY KEY (track_id, label)) WITHOUT ROWID;"
    "CREATE INDEX track_labels_by_prob ON track_labels (label, prob DESC);"
    "CREATE TABLE windows (track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
    " start REAL NOT NULL, end REAL NOT NULL, probs BLOB NOT NULL, PRIMARY KEY (track_id, start)) WITHOUT ROWID;";

static mrnet_status db_fail(mrnet_index *ix, const char *what)
{
    return mrnet_fail(MRNET_ERR_IO, "%s: %s: %s", ix->path, what, sqlite3_errmsg(ix->db));
}

static mrnet_status exec(mrnet_index *ix, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(ix->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        mrnet_status st = mrnet_fail(MRNET_ERR_IO, "%s: %s", ix->path, err ? err : sqlite3_errmsg(ix->db));
        sqlite3_free(err);
        return st;
    }
    return MRNET_OK;
}

static mrnet_status pragma_int(mrnet_index *ix, const char *pragma, long long *value)
{
    sqlite3_stmt *s;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA %s", pragma);
    if (sqlite3_prepare_v2(ix->db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_fail(ix, "not a readable SQLite database");
    int rc = sqlite3_step(s);
    *value = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(ix, "not a readable SQLite database");
    return MRNET_OK;
}

/* A fresh database gets the schema; an existing one must be ours, at a
 * schema we read. */
static mrnet_status check_or_create(mrnet_index *ix, bool create)
{
    long long app = 0, version = 0, tables = 0;
    MRNET_TRY(pragma_int(ix, "application_id", &app));
    MRNET_TRY(pragma_int(ix, "user_version", &version));
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(ix->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) != SQLITE_OK)
        return db_fail(ix, "not a readable SQLite database");
    if (sqlite3_step(s) == SQLITE_ROW)
        tables = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (tables == 0 && app == 0) {
        if (!create)
            return mrnet_fail(MRNET_ERR_ARG, "%s: an empty database, not an mrnet index (mrnet index makes one)",
                              ix->path);
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d;", APPLICATION_ID,
                 MRNET_INDEX_SCHEMA);
        MRNET_TRY(exec(ix, "BEGIN"));
        mrnet_status st = exec(ix, schema_sql);
        if (st == MRNET_OK)
            st = exec(ix, sql);
        if (st == MRNET_OK)
            return exec(ix, "COMMIT");
        exec(ix, "ROLLBACK");
        return st;
    }
    if (app != APPLICATION_ID)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s is a SQLite database of another program, not an mrnet index",
                          ix->path);
    if (version > MRNET_INDEX_SCHEMA)
        return mrnet_fail(MRNET_ERR_UNSUPPORTED, "%s has index schema %lld; this mrnet reads schema %d: use a newer "
                          "mrnet", ix->path, version, MRNET_INDEX_SCHEMA);
    if (version < 1)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: an mrnet index without a schema version (damaged?)", ix->path);
    return MRNET_OK;
}

mrnet_status mrnet_index_open(const char *path, bool create, mrnet_index **out)
{
    *out = NULL;
    struct stat sb;
    if (!path || !path[0])
        return mrnet_fail(MRNET_ERR_ARG, "index: no database path");
    bool exists = stat(path, &sb) == 0;
    if (!exists && !create)
        return mrnet_fail(MRNET_ERR_IO, "%s: no such index (mrnet index CHECKPOINT FOLDERS --db %s makes it)", path,
                          path);
    if (exists && !S_ISREG(sb.st_mode))
        return mrnet_fail(MRNET_ERR_ARG, "%s: not a regular file", path);
    mrnet_index *ix = calloc(1, sizeof *ix);
    if (!ix || !(ix->path = strdup(path))) {
        free(ix);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
    mrnet_status st = MRNET_OK;
    if (sqlite3_open_v2(path, &ix->db, flags, NULL) != SQLITE_OK)
        st = mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", path, ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
    if (st == MRNET_OK) {
        sqlite3_busy_timeout(ix->db, 5000);
        st = check_or_create(ix, create);
    }
    if (st == MRNET_OK)
        st = exec(ix, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
    if (st != MRNET_OK) {
        mrnet_index_close(ix);
        return st;
    }
    *out = ix;
    return MRNET_OK;
}

static void free_model(mrnet_index *ix)
{
    for (int k = 0; ix->labels && k < ix->K; k++)
        free(ix->labels[k]);
    free(ix->labels);
    free(ix->task);
    free(ix->checkpoint);
    free(ix->hash);
    ix->labels = NULL;
    ix->task = ix->checkpoint = ix->hash = NULL;
    ix->K = ix->E = 0;
}

void mrnet_index_close(mrnet_index *ix)
{
    if (!ix)
        return;
    free_model(ix);
    sqlite3_close(ix->db);
    free(ix->path);
    free(ix);
}

/* ---- hashing ---------------------------------------------------------------------- */

/* XXH3-128 of a file's bytes as 32 hex digits. */
static mrnet_status hash_file(const char *path, char hex[33])
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: %s", path, strerror(errno));
    XXH3_state_t *state = XXH3_createState();
    static __thread unsigned char buf[1 << 16];
    mrnet_status st = state && XXH3_128bits_reset(state) == XXH_OK ? MRNET_OK
                                                                   : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    ssize_t n;
    while (st == MRNET_OK && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0)
            st = mrnet_fail(MRNET_ERR_IO, "%s: %s", path, strerror(errno));
        else
            XXH3_128bits_update(state, buf, (size_t)n);
    }
    close(fd);
    if (st == MRNET_OK) {
        XXH128_hash_t h = XXH3_128bits_digest(state);
        snprintf(hex, 33, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
    }
    XXH3_freeState(state);
    return st;
}

/* ---- the model row ---------------------------------------------------------------- */

static char *dup_column(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return strdup(t ? (const char *)t : "");
}

static int count_tracks(mrnet_index *ix)
{
    sqlite3_stmt *s;
    int n = 0;
    if (sqlite3_prepare_v2(ix->db, "SELECT count(*) FROM tracks", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* The model row, read once and kept (the pointers handed out stay valid
 * until an update or close). */
mrnet_status mrnet_index_model_info(mrnet_index *ix, mrnet_index_model *m)
{
    memset(m, 0, sizeof *m);
    if (ix->labels) {
        *m = (mrnet_index_model){.K = ix->K, .E = ix->E, .labels = (const char *const *)ix->labels,
                                 .task = ix->task, .checkpoint = ix->checkpoint, .hash = ix->hash,
                                 .tracks = count_tracks(ix)};
        return MRNET_OK;
    }
    free_model(ix);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(ix->db, "SELECT hash, checkpoint, task, labels, classes, embed,"
                           " (SELECT count(*) FROM tracks) FROM model", -1, &s, NULL) != SQLITE_OK)
        return db_fail(ix, "reading the model");
    mrnet_status st = MRNET_OK;
    if (sqlite3_step(s) != SQLITE_ROW)
        st = mrnet_fail(MRNET_ERR_ARG, "%s: the index is empty (nothing indexed yet)", ix->path);
    cJSON *labels = NULL;
    if (st == MRNET_OK) {
        ix->hash = dup_column(s, 0);
        ix->checkpoint = dup_column(s, 1);
        ix->task = dup_column(s, 2);
        const unsigned char *json = sqlite3_column_text(s, 3);
        ix->K = sqlite3_column_int(s, 4);
        ix->E = sqlite3_column_int(s, 5);
        m->tracks = sqlite3_column_int(s, 6);
        labels = json ? cJSON_Parse((const char *)json) : NULL;
        if (!ix->hash || !ix->checkpoint || !ix->task)
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        else if (!cJSON_IsArray(labels) || cJSON_GetArraySize(labels) != ix->K || ix->K < 1 || ix->E < 1)
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s: the model's labels are damaged", ix->path);
    }
    sqlite3_finalize(s);
    if (st == MRNET_OK && !(ix->labels = calloc((size_t)ix->K, sizeof *ix->labels)))
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int k = 0; st == MRNET_OK && k < ix->K; k++) {
        const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(labels, k));
        if (!(ix->labels[k] = strdup(name ? name : "")))
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    cJSON_Delete(labels);
    if (st != MRNET_OK) {
        int K = ix->K;
        ix->K = ix->labels ? K : 0;
        free_model(ix);
        return st;
    }
    *m = (mrnet_index_model){.K = ix->K, .E = ix->E, .labels = (const char *const *)ix->labels, .task = ix->task,
                             .checkpoint = ix->checkpoint, .hash = ix->hash, .tracks = m->tracks};
    return MRNET_OK;
}

static void now_utc(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *labels_json(mrnet_classifier *c)
{
    int K = mrnet_classifier_classes(c);
    const char **names = malloc(sizeof(char *) * (size_t)K);
    for (int k = 0; names && k < K; k++)
        names[k] = mrnet_classifier_label(c, k);
    char *text = names ? mrnet_json_string_array(names, K) : NULL;
    free(names);
    return text;
}

static void settings_of(const mrnet_classify_options *o, char *buf, size_t size)
{
    snprintf(buf, size, "view=%s crop=%g hop=%g", mrnet_view_name(o->view), o->crop_seconds, o->hop_seconds);
}

static int64_t generation(mrnet_index *ix);
static void write_cache(mrnet_index *ix);

/* The model row matches the checkpoint (or is written for it): a different
 * one is refused unless rebuild, which empties the index first. */
static mrnet_status set_model(mrnet_index *ix, const char *checkpoint, mrnet_classifier *c,
                              const mrnet_index_options *opt)
{
    char hash[33], settings[128], when[32];
    MRNET_TRY(hash_file(checkpoint, hash));
    settings_of(&opt->classify, settings, sizeof settings);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(ix->db, "SELECT hash, settings, checkpoint FROM model", -1, &s, NULL) != SQLITE_OK)
        return db_fail(ix, "reading the model");
    bool have = sqlite3_step(s) == SQLITE_ROW, same = false;
    char old[1200] = "";
    if (have) {
        const char *h = (const char *)sqlite3_column_text(s, 0), *set = (const char *)sqlite3_column_text(s, 1);
        same = h && set && !strcmp(h, hash) && !strcmp(set, settings);
        snprintf(old, sizeof old, "%s (%s, %s)", (const char *)sqlite3_column_text(s, 2),
                 h ? h : "?", set ? set : "?");
    }
    sqlite3_finalize(s);
    if (same)
        return MRNET_OK;
    if (have && !opt->rebuild)
        return mrnet_fail(MRNET_ERR_ARG, "%s holds the entries of another model or other window settings: %s; this "
                          "is %s (%s, %s): use --rebuild to index everything again with it", ix->path, old,
                          checkpoint, hash, settings);
    int64_t next_generation = have ? generation(ix) + 1 : 0; /* never reused: an old cache stays stale */
    if (have)
        MRNET_TRY(exec(ix, "DELETE FROM tracks; DELETE FROM model;"));
    /* the task from the checkpoint's model card, when it has one */
    const char *task = "";
    mrnet_st_file *f = NULL;
    cJSON *cj = NULL;
    if (mrnet_st_open(checkpoint, &f) == MRNET_OK && mrnet_st_meta(f, "mrnet.card"))
        cj = cJSON_Parse(mrnet_st_meta(f, "mrnet.card"));
    if (cJSON_GetStringValue(cJSON_GetObjectItem(cj, "task")))
        task = cJSON_GetStringValue(cJSON_GetObjectItem(cj, "task"));
    char *labels = labels_json(c);
    now_utc(when);
    mrnet_status st = labels ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (st == MRNET_OK &&
        sqlite3_prepare_v2(ix->db, "INSERT INTO model (id, hash, checkpoint, task, labels, classes, embed, settings,"
                           " created, generation) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &s, NULL) != SQLITE_OK)
        st = db_fail(ix, "writing the model");
    if (st == MRNET_OK) {
        sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, checkpoint, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, task, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 4, labels, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 5, mrnet_classifier_classes(c));
        sqlite3_bind_int(s, 6, mrnet_classifier_embed_size(c));
        sqlite3_bind_text(s, 7, settings, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 8, when, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 9, next_generation);
        if (sqlite3_step(s) != SQLITE_DONE)
            st = db_fail(ix, "writing the model");
        sqlite3_finalize(s);
    }
    cJSON_Delete(cj);
    mrnet_st_close(f);
    free(labels);
    return st;
}

/* ---- the tracks already there --------------------------------------------------- */

typedef struct {
    char *path;
    int64_t id, size, mtime_ns;
    char hash[33];
    bool failed, seen;
} known_track;

typedef struct {
    known_track *v;
    int n;
    int *slots; /* open addressing over v, -1 empty */
    int size;
} known_set;

static known_track *known_find(const known_set *k, const char *path)
{
    if (!k->size)
        return NULL;
    for (uint64_t i = collection_hash_str(path) & (uint64_t)(k->size - 1);; i = (i + 1) & (uint64_t)(k->size - 1)) {
        if (k->slots[i] < 0)
            return NULL;
        if (!strcmp(k->v[k->slots[i]].path, path))
            return &k->v[k->slots[i]];
    }
}

static void known_free(known_set *k)
{
    for (int i = 0; i < k->n; i++)
        free(k->v[i].path);
    free(k->v);
    free(k->slots);
    memset(k, 0, sizeof *k);
}

static mrnet_status load_known(mrnet_index *ix, known_set *k)
{
    memset(k, 0, sizeof *k);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(ix->db, "SELECT id, path, size, mtime_ns, hash, error IS NOT NULL FROM tracks", -1, &s,
                           NULL) != SQLITE_OK)
        return db_fail(ix, "reading the tracks");
    int cap = 0, rc;
    mrnet_status st = MRNET_OK;
    while (st == MRNET_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (k->n == cap) {
            cap = cap ? 2 * cap : 1024;
            known_track *v = realloc(k->v, sizeof *v * (size_t)cap);
            if (!v) {
                st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
                break;
            }
            k->v = v;
        }
        known_track *t = &k->v[k->n];
        memset(t, 0, sizeof *t);
        t->id = sqlite3_column_int64(s, 0);
        t->path = dup_column(s, 1);
        t->size = sqlite3_column_int64(s, 2);
        t->mtime_ns = sqlite3_column_int64(s, 3);
        const unsigned char *h = sqlite3_column_text(s, 4);
        snprintf(t->hash, sizeof t->hash, "%s", h ? (const char *)h : "");
        t->failed = sqlite3_column_int(s, 5);
        if (!t->path)
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        else
            k->n++;
    }
    if (st == MRNET_OK && rc != SQLITE_DONE)
        st = db_fail(ix, "reading the tracks");
    sqlite3_finalize(s);
    int size = 16;
    while (st == MRNET_OK && size < 2 * k->n + 2)
        size *= 2;
    if (st == MRNET_OK && !(k->slots = malloc(sizeof(int) * (size_t)size)))
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (st != MRNET_OK) {
        known_free(k);
        return st;
    }
    k->size = size;
    for (int i = 0; i < size; i++)
        k->slots[i] = -1;
    for (int j = 0; j < k->n; j++) {
        uint64_t i = collection_hash_str(k->v[j].path) & (uint64_t)(size - 1);
        while (k->slots[i] >= 0)
            i = (i + 1) & (uint64_t)(size - 1);
        k->slots[i] = j;
    }
    return MRNET_OK;
}

/* ---- writing entries -------------------------------------------------------------- */

typedef struct {
    mrnet_index *ix;
    const mrnet_index_options *opt;
    mrnet_index_report *rep;
    const int64_t *sizes, *mtimes; /* per path given to the batch */
    const bool *existed;
    sqlite3_stmt *upsert, *clear_labels, *clear_windows, *add_label, *add_window;
    int K, E, done, total, in_transaction;
    mrnet_status fatal;
    char fatal_msg[1024];
} writer;

static mrnet_status prepare(mrnet_index *ix, const char *sql, sqlite3_stmt **s)
{
    if (sqlite3_prepare_v2(ix->db, sql, -1, s, NULL) != SQLITE_OK)
        return db_fail(ix, "preparing a statement");
    return MRNET_OK;
}

static mrnet_status writer_prepare(writer *w)
{
    MRNET_TRY(prepare(w->ix, "INSERT INTO tracks (path, size, mtime_ns, hash, seconds, probs, embedding, warning,"
                      " error, indexed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (path) DO UPDATE"
                      " SET size = ?2, mtime_ns = ?3, hash = ?4, seconds = ?5, probs = ?6, embedding = ?7,"
                      " warning = ?8, error = ?9, indexed = ?10 RETURNING id", &w->upsert));
    MRNET_TRY(prepare(w->ix, "DELETE FROM track_labels WHERE track_id = ?", &w->clear_labels));
    MRNET_TRY(prepare(w->ix, "DELETE FROM windows WHERE track_id = ?", &w->clear_windows));
    MRNET_TRY(prepare(w->ix, "INSERT INTO track_labels (track_id, label, prob) VALUES (?, ?, ?)", &w->add_label));
    MRNET_TRY(prepare(w->ix, "INSERT OR REPLACE INTO windows (track_id, start, end, probs) VALUES (?, ?, ?, ?)",
                      &w->add_window));
    return MRNET_OK;
}

static void writer_finalize(writer *w)
{
    sqlite3_finalize(w->upsert);
    sqlite3_finalize(w->clear_labels);
    sqlite3_finalize(w->clear_windows);
    sqlite3_finalize(w->add_label);
    sqlite3_finalize(w->add_window);
}

static mrnet_status step_done(writer *w, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? MRNET_OK : db_fail(w->ix, "writing an entry");
}

static mrnet_status write_entry(writer *w, const mrnet_batch_result *r, const char *hash)
{
    char when[32];
    now_utc(when);
    sqlite3_stmt *s = w->upsert;
    bool ok = r->status == MRNET_OK;
    sqlite3_bind_text(s, 1, r->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, w->sizes[r->index]);
    sqlite3_bind_int64(s, 3, w->mtimes[r->index]);
    hash ? sqlite3_bind_text(s, 4, hash, -1, SQLITE_STATIC) : sqlite3_bind_null(s, 4);
    ok ? sqlite3_bind_double(s, 5, r->seconds) : sqlite3_bind_null(s, 5);
    ok ? sqlite3_bind_blob(s, 6, r->probs, (int)sizeof(float) * w->K, SQLITE_STATIC) : sqlite3_bind_null(s, 6);
    ok ? sqlite3_bind_blob(s, 7, r->embedding, (int)sizeof(float) * w->E, SQLITE_STATIC) : sqlite3_bind_null(s, 7);
    r->warning[0] ? sqlite3_bind_text(s, 8, r->warning, -1, SQLITE_STATIC) : sqlite3_bind_null(s, 8);
    ok ? sqlite3_bind_null(s, 9) : sqlite3_bind_text(s, 9, r->error, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, when, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_reset(s);
        return db_fail(w->ix, "writing an entry");
    }
    int64_t id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    sqlite3_bind_int64(w->clear_labels, 1, id);
    MRNET_TRY(step_done(w, w->clear_labels));
    sqlite3_bind_int64(w->clear_windows, 1, id);
    MRNET_TRY(step_done(w, w->clear_windows));
    for (int k = 0; ok && k < w->K; k++) {
        sqlite3_bind_int64(w->add_label, 1, id);
        sqlite3_bind_int(w->add_label, 2, k);
        sqlite3_bind_double(w->add_label, 3, r->probs[k]);
        MRNET_TRY(step_done(w, w->add_label));
    }
    for (int i = 0; ok && i < r->n_windows; i++) {
        sqlite3_bind_int64(w->add_window, 1, id);
        sqlite3_bind_double(w->add_window, 2, r->spans[2 * i]);
        sqlite3_bind_double(w->add_window, 3, r->spans[2 * i + 1]);
        sqlite3_bind_blob(w->add_window, 4, r->window_probs + (size_t)i * w->K, (int)sizeof(float) * w->K,
                          SQLITE_STATIC);
        MRNET_TRY(step_done(w, w->add_window));
    }
    return MRNET_OK;
}

static int on_result(void *ctx, const mrnet_batch_result *r)
{
    writer *w = ctx;
    char hash[33];
    bool hashed = hash_file(r->path, hash) == MRNET_OK;
    mrnet_status st = write_entry(w, r, hashed ? hash : NULL);
    if (st == MRNET_OK && ++w->in_transaction >= COMMIT_EVERY) {
        st = exec(w->ix, "COMMIT; BEGIN");
        w->in_transaction = 0;
    }
    if (st != MRNET_OK) {
        w->fatal = st;
        snprintf(w->fatal_msg, sizeof w->fatal_msg, "%s", mrnet_last_error());
        return 1;
    }
    w->done++;
    if (r->status != MRNET_OK)
        w->rep->failed++;
    else if (w->existed[r->index])
        w->rep->updated++;
    else
        w->rep->added++;
    if (w->opt->on_file)
        w->opt->on_file(w->opt->ctx, r->path, r->status, r->error, w->done, w->total);
    return 0;
}

/* ---- the update ------------------------------------------------------------------- */

static bool under_root(const char *path, const char *root)
{
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    return !strncmp(path, root, n) && (path[n] == '\0' || path[n] == '/');
}

static bool root_is_missing(const mrnet_inputs *in, const char *root)
{
    for (int i = 0; i < in->n; i++)
        if (in->items[i].problem && !strcmp(in->items[i].path, root))
            return true;
    return false;
}

static mrnet_status remove_gone(mrnet_index *ix, known_set *k, const mrnet_inputs *in, const char *const *roots,
                                int n_roots, mrnet_index_report *rep)
{
    sqlite3_stmt *del;
    MRNET_TRY(prepare(ix, "DELETE FROM tracks WHERE id = ?", &del));
    mrnet_status st = MRNET_OK;
    for (int i = 0; st == MRNET_OK && i < k->n; i++) {
        if (k->v[i].seen)
            continue;
        bool gone = false;
        for (int r = 0; r < n_roots && !gone; r++)
            gone = under_root(k->v[i].path, roots[r]) && !root_is_missing(in, roots[r]);
        if (!gone)
            continue;
        sqlite3_bind_int64(del, 1, k->v[i].id);
        if (sqlite3_step(del) != SQLITE_DONE)
            st = db_fail(ix, "removing an entry");
        sqlite3_reset(del);
        rep->removed++;
    }
    sqlite3_finalize(del);
    return st;
}

typedef struct {
    const char **paths;
    int64_t *sizes, *mtimes;
    bool *existed;
    int n;
} todo_list;

static void todo_free(todo_list *t)
{
    free(t->paths);
    free(t->sizes);
    free(t->mtimes);
    free(t->existed);
}

/* Which files need classifying: new ones, failed ones, and changed ones
 * (size or mtime, and then content) ; a touched but equal file only gets
 * its new mtime. */
static mrnet_status plan(mrnet_index *ix, known_set *k, const mrnet_inputs *in, todo_list *t,
                         mrnet_index_report *rep)
{
    memset(t, 0, sizeof *t);
    size_t n = (size_t)(in->n ? in->n : 1);
    t->paths = malloc(sizeof *t->paths * n);
    t->sizes = malloc(sizeof *t->sizes * n);
    t->mtimes = malloc(sizeof *t->mtimes * n);
    t->existed = malloc(sizeof *t->existed * n);
    if (!t->paths || !t->sizes || !t->mtimes || !t->existed)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    sqlite3_stmt *touch;
    MRNET_TRY(prepare(ix, "UPDATE tracks SET size = ?, mtime_ns = ? WHERE id = ?", &touch));
    mrnet_status st = MRNET_OK;
    for (int i = 0; st == MRNET_OK && i < in->n; i++) {
        const char *path = in->items[i].path;
        if (in->items[i].problem)
            continue;
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue; /* gone since the walk: the batch reports it */
        int64_t size = (int64_t)sb.st_size, mtime = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        known_track *kt = known_find(k, path);
        if (kt && kt->seen)
            continue; /* named twice */
        if (kt)
            kt->seen = true;
        if (kt && !kt->failed && kt->size == size && kt->mtime_ns == mtime) {
            rep->unchanged++;
            continue;
        }
        if (kt && !kt->failed && kt->size == size && kt->hash[0]) {
            char hash[33];
            if (hash_file(path, hash) == MRNET_OK && !strcmp(hash, kt->hash)) {
                sqlite3_bind_int64(touch, 1, size);
                sqlite3_bind_int64(touch, 2, mtime);
                sqlite3_bind_int64(touch, 3, kt->id);
                if (sqlite3_step(touch) != SQLITE_DONE)
                    st = db_fail(ix, "updating an entry");
                sqlite3_reset(touch);
                rep->unchanged++;
                continue;
            }
        }
        t->paths[t->n] = path;
        t->sizes[t->n] = size;
        t->mtimes[t->n] = mtime;
        t->existed[t->n] = kt != NULL;
        t->n++;
    }
    sqlite3_finalize(touch);
    return st;
}

mrnet_status mrnet_index_update(mrnet_index *ix, const char *checkpoint, mrnet_classifier *const *classifiers,
                                int n_workers, const mrnet_inputs *in, const char *const *roots, int n_roots,
                                const mrnet_index_options *opt, mrnet_index_report *report)
{
    memset(report, 0, sizeof *report);
    if (ix)
        free_model(ix); /* the model row may change */
    if (!ix || !checkpoint || !classifiers || n_workers < 1 || !in || !opt)
        return mrnet_fail(MRNET_ERR_ARG, "index: an index, a checkpoint, classifiers, inputs and options are needed");
    MRNET_TRY(exec(ix, "BEGIN IMMEDIATE"));
    known_set known;
    todo_list todo = {0};
    mrnet_status st = set_model(ix, checkpoint, classifiers[0], opt);
    if (st == MRNET_OK)
        st = load_known(ix, &known);
    else
        memset(&known, 0, sizeof known);
    if (st == MRNET_OK)
        st = plan(ix, &known, in, &todo, report);
    if (st == MRNET_OK)
        st = remove_gone(ix, &known, in, roots, n_roots, report);
    if (st == MRNET_OK) /* the model, the removals and the touched files before any classification */
        st = exec(ix, "UPDATE model SET generation = generation + 1; COMMIT; BEGIN");
    writer w = {.ix = ix, .opt = opt, .rep = report, .sizes = todo.sizes, .mtimes = todo.mtimes,
                .existed = todo.existed, .K = mrnet_classifier_classes(classifiers[0]),
                .E = mrnet_classifier_embed_size(classifiers[0]), .total = todo.n};
    if (st == MRNET_OK)
        st = writer_prepare(&w);
    if (st == MRNET_OK) {
        mrnet_batch_options bo = {.classify = opt->classify, .want_windows = true, .stop = opt->stop};
        st = mrnet_batch_run(classifiers, n_workers, todo.paths, todo.n, NULL, &bo, on_result, &w);
        if (w.fatal != MRNET_OK)
            st = mrnet_fail(w.fatal, "%s", w.fatal_msg);
    }
    writer_finalize(&w);
    /* what was done stays, also when stopped or failed part-way */
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", mrnet_last_error());
    exec(ix, "UPDATE model SET generation = generation + 1"); /* the embedding cache is stale now */
    mrnet_status committed = exec(ix, "COMMIT");
    if (committed == MRNET_OK)
        write_cache(ix);
    if (committed != MRNET_OK && sqlite3_get_autocommit(ix->db) == 0)
        exec(ix, "ROLLBACK");
    if (st == MRNET_OK)
        st = committed;
    else
        mrnet_fail(st, "%s", keep);
    known_free(&known);
    todo_free(&todo);
    return st;
}

/* ---- reading ---------------------------------------------------------------------- */

static int label_index(mrnet_index *ix, const char *label)
{
    for (int k = 0; k < ix->K; k++)
        if (!strcmp(ix->labels[k], label))
            return k;
    return -1;
}

mrnet_status mrnet_index_query(mrnet_index *ix, const char *label, double min_prob, mrnet_index_sort sort, int limit,
                               void (*fn)(void *ctx, const mrnet_index_entry *e), void *ctx)
{
    mrnet_index_model m;
    MRNET_TRY(mrnet_index_model_info(ix, &m));
    int k = -1;
    if (label && (k = label_index(ix, label)) < 0) {
        char names[1024] = "";
        for (int i = 0; i < ix->K; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", ix->labels[i]);
        return mrnet_fail(MRNET_ERR_ARG, "no label '%s' in %s (its labels: %s)", label, ix->path, names);
    }
    const char *order = sort == MRNET_SORT_PATH ? "t.path" : sort == MRNET_SORT_SECONDS ? "t.seconds DESC, t.path"
                        : k >= 0 ? "l.prob DESC, t.path" : "t.path";
    char sql[512];
    if (k >= 0)
        snprintf(sql, sizeof sql, "SELECT t.path, t.seconds, t.probs, t.error FROM track_labels l JOIN tracks t ON"
                 " t.id = l.track_id WHERE l.label = ?1 AND l.prob >= ?2 ORDER BY %s LIMIT ?3", order);
    else
        snprintf(sql, sizeof sql, "SELECT t.path, t.seconds, t.probs, t.error FROM tracks t ORDER BY %s LIMIT ?3",
                 order);
    sqlite3_stmt *s;
    MRNET_TRY(prepare(ix, sql, &s));
    if (k >= 0) {
        sqlite3_bind_int(s, 1, k);
        sqlite3_bind_double(s, 2, min_prob);
    }
    sqlite3_bind_int(s, 3, limit > 0 ? limit : -1);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const void *probs = sqlite3_column_blob(s, 2);
        bool whole = probs && sqlite3_column_bytes(s, 2) == (int)sizeof(float) * ix->K;
        mrnet_index_entry e = {.path = (const char *)sqlite3_column_text(s, 0), .seconds = sqlite3_column_double(s, 1),
                               .probs = whole ? probs : NULL, .error = (const char *)sqlite3_column_text(s, 3)};
        if (!e.path)
            continue;
        fn(ctx, &e);
    }
    mrnet_status st = rc == SQLITE_DONE ? MRNET_OK : db_fail(ix, "reading the tracks");
    sqlite3_finalize(s);
    return st;
}

bool mrnet_index_contains(mrnet_index *ix, const char *path)
{
    sqlite3_stmt *s;
    if (!path || sqlite3_prepare_v2(ix->db, "SELECT 1 FROM tracks WHERE path = ?", -1, &s, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
    bool found = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return found;
}

mrnet_status mrnet_index_windows(mrnet_index *ix, const char *path, int *n, double **spans, float **probs)
{
    *n = 0;
    *spans = NULL;
    *probs = NULL;
    mrnet_index_model m;
    MRNET_TRY(mrnet_index_model_info(ix, &m));
    sqlite3_stmt *s;
    MRNET_TRY(prepare(ix, "SELECT w.start, w.end, w.probs FROM windows w JOIN tracks t ON t.id = w.track_id"
                      " WHERE t.path = ? ORDER BY w.start", &s));
    sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
    int cap = 0, rc;
    mrnet_status st = MRNET_OK;
    while (st == MRNET_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 2) != (int)sizeof(float) * ix->K)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            double *sp = realloc(*spans, sizeof(double) * 2 * (size_t)cap);
            float *pr = sp ? realloc(*probs, sizeof(float) * (size_t)cap * (size_t)ix->K) : NULL;
            if (sp)
                *spans = sp;
            if (pr)
                *probs = pr;
            if (!sp || !pr) {
                st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
                break;
            }
        }
        (*spans)[2 * *n] = sqlite3_column_double(s, 0);
        (*spans)[2 * *n + 1] = sqlite3_column_double(s, 1);
        memcpy(*probs + (size_t)*n * ix->K, sqlite3_column_blob(s, 2), sizeof(float) * (size_t)ix->K);
        (*n)++;
    }
    sqlite3_finalize(s);
    if (st == MRNET_OK && *n == 0)
        st = mrnet_fail(MRNET_ERR_ARG, "%s: not in %s (or it has no windows)", path, ix->path);
    if (st != MRNET_OK) {
        free(*spans);
        free(*probs);
        *spans = NULL;
        *probs = NULL;
        *n = 0;
    }
    return st;
}

void mrnet_index_embeddings_free(mrnet_index_embeddings *e)
{
    for (int i = 0; e->paths && i < e->N; i++)
        free(e->paths[i]);
    free(e->paths);
    free(e->vectors);
    memset(e, 0, sizeof *e);
}

static void normalise(float *v, int E)
{
    double ss = 0;
    for (int i = 0; i < E; i++)
        ss += (double)v[i] * v[i];
    if (ss > 0) {
        float inv = (float)(1 / sqrt(ss));
        for (int i = 0; i < E; i++)
            v[i] *= inv;
    }
}

static mrnet_status load_from_db(mrnet_index *ix, mrnet_index_embeddings *out)
{
    memset(out, 0, sizeof *out);
    mrnet_index_model m;
    MRNET_TRY(mrnet_index_model_info(ix, &m));
    int cap = m.tracks > 0 ? m.tracks : 1, E = ix->E;
    out->E = E;
    out->vectors = malloc(sizeof(float) * (size_t)cap * (size_t)E);
    out->paths = calloc((size_t)cap, sizeof *out->paths);
    if (!out->vectors || !out->paths) {
        mrnet_index_embeddings_free(out);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d embeddings", cap);
    }
    sqlite3_stmt *s;
    mrnet_status st = prepare(ix, "SELECT path, embedding FROM tracks WHERE embedding IS NOT NULL ORDER BY id", &s);
    int rc = SQLITE_DONE;
    while (st == MRNET_OK && (rc = sqlite3_step(s)) == SQLITE_ROW && out->N < cap) {
        if (sqlite3_column_bytes(s, 1) != (int)sizeof(float) * E)
            continue;
        float *v = out->vectors + (size_t)out->N * E;
        memcpy(v, sqlite3_column_blob(s, 1), sizeof(float) * (size_t)E);
        normalise(v, E);
        if (!(out->paths[out->N] = dup_column(s, 0)))
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        else
            out->N++;
    }
    if (st == MRNET_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        st = db_fail(ix, "reading the embeddings");
    sqlite3_finalize(s);
    if (st != MRNET_OK)
        mrnet_index_embeddings_free(out);
    return st;
}

/* ---- the embedding cache ------------------------------------------------------------ *
 *
 * LIB.db.embeddings holds the normalised embeddings and their paths as one
 * block, written after each update and stamped with the model row's
 * generation (counted up by every update): reading it is one read() instead
 * of a row per track from SQLite (100,000 tracks: about 10x faster). A cache
 * whose stamp or size does not match is ignored. */
#define CACHE_MAGIC "MRNETEMB"

typedef struct {
    char magic[8];
    uint32_t version, E;
    uint64_t generation, N, paths_bytes;
} cache_header;

static char *cache_path(const mrnet_index *ix)
{
    size_t n = strlen(ix->path) + 16;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s.embeddings", ix->path);
    return p;
}

static int64_t generation(mrnet_index *ix)
{
    sqlite3_stmt *s;
    int64_t g = -1;
    if (sqlite3_prepare_v2(ix->db, "SELECT generation FROM model", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        g = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return g;
}

static void write_cache(mrnet_index *ix) { (void)mrnet_index_write_embedding_cache(ix); }

mrnet_status mrnet_index_write_embedding_cache(mrnet_index *ix)
{
    mrnet_index_embeddings e;
    char *path = cache_path(ix);
    int64_t g = generation(ix);
    mrnet_status st = !path ? mrnet_fail(MRNET_ERR_NOMEM, "out of memory")
                      : g < 0 ? mrnet_fail(MRNET_ERR_ARG, "%s: the index is empty", ix->path)
                              : load_from_db(ix, &e);
    if (st != MRNET_OK) {
        free(path);
        return st;
    }
    cache_header h = {.version = 1, .E = (uint32_t)e.E, .generation = (uint64_t)g, .N = (uint64_t)e.N};
    memcpy(h.magic, CACHE_MAGIC, 8);
    for (int i = 0; i < e.N; i++)
        h.paths_bytes += strlen(e.paths[i]) + 1;
    mrnet_atomic_file af;
    st = mrnet_atomic_open(&af, path);
    if (st == MRNET_OK) {
        mrnet_atomic_write(&af, &h, sizeof h);
        mrnet_atomic_write(&af, e.vectors, sizeof(float) * (size_t)e.N * (size_t)e.E);
        for (int i = 0; i < e.N; i++)
            mrnet_atomic_write(&af, e.paths[i], strlen(e.paths[i]) + 1);
        st = mrnet_atomic_commit(&af);
        if (st != MRNET_OK)
            unlink(path); /* no cache is fine; a wrong one is not */
    }
    mrnet_index_embeddings_free(&e);
    free(path);
    return st;
}

/* The cache when it is current; false (nothing loaded) otherwise. */
static bool read_cache(mrnet_index *ix, int E, mrnet_index_embeddings *out)
{
    char *path = cache_path(ix);
    FILE *f = path ? fopen(path, "rb") : NULL;
    free(path);
    if (!f)
        return false;
    cache_header h;
    bool ok = fread(&h, sizeof h, 1, f) == 1 && !memcmp(h.magic, CACHE_MAGIC, 8) && h.version == 1 &&
              (int)h.E == E && (int64_t)h.generation == generation(ix) && h.N < (1u << 30) &&
              h.paths_bytes < ((uint64_t)1 << 40);
    char *names = NULL;
    if (ok) {
        out->N = (int)h.N;
        out->E = E;
        out->vectors = malloc(sizeof(float) * (size_t)(h.N ? h.N : 1) * (size_t)E);
        out->paths = calloc((size_t)(h.N ? h.N : 1), sizeof *out->paths);
        names = malloc((size_t)h.paths_bytes + 1);
        ok = out->vectors && out->paths && names &&
             fread(out->vectors, sizeof(float) * (size_t)E, (size_t)h.N, f) == h.N &&
             fread(names, 1, (size_t)h.paths_bytes, f) == h.paths_bytes && fgetc(f) == EOF;
    }
    fclose(f);
    const char *p = names, *end = names ? names + h.paths_bytes : NULL;
    for (int i = 0; ok && i < out->N; i++) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        ok = z && (out->paths[i] = strdup(p)) != NULL;
        p = z ? z + 1 : end;
    }
    ok = ok && p == end;
    free(names);
    if (!ok && out->vectors) {
        for (int i = 0; out->paths && i < out->N; i++)
            free(out->paths[i]);
        free(out->paths);
        free(out->vectors);
    }
    if (!ok)
        memset(out, 0, sizeof *out);
    return ok;
}

mrnet_status mrnet_index_load_embeddings(mrnet_index *ix, mrnet_index_embeddings *out)
{
    memset(out, 0, sizeof *out);
    mrnet_index_model m;
    MRNET_TRY(mrnet_index_model_info(ix, &m));
    if (read_cache(ix, m.E, out))
        return MRNET_OK;
    return load_from_db(ix, out);
}

int mrnet_index_embeddings_find(const mrnet_index_embeddings *e, const char *path)
{
    for (int i = 0; i < e->N; i++)
        if (!strcmp(e->paths[i], path))
            return i;
    return -1;
}

int mrnet_nearest(const mrnet_index_embeddings *e, const float *query, int k, int exclude, int *rows,
                  float *similarities)
{
    if (!e || e->N < 1 || k < 1)
        return 0;
    float *q = malloc(sizeof(float) * (size_t)e->E), *sim = malloc(sizeof(float) * (size_t)e->N);
    if (!q || !sim) {
        free(q);
        free(sim);
        return 0;
    }
    memcpy(q, query, sizeof(float) * (size_t)e->E);
    normalise(q, e->E);
    /* sim (N) = vectors (N, E) . q (E) */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, e->N, e->E, 1.0f, e->vectors, e->E, q, 1, 0.0f, sim, 1);
    int n = 0;
    for (int i = 0; i < e->N; i++) { /* the k best so far, sorted: insertion (k is small) */
        if (i == exclude)
            continue;
        float v = sim[i];
        if (n == k && v <= similarities[n - 1])
            continue;
        int j = n < k ? n++ : n - 1;
        while (j > 0 && similarities[j - 1] < v) {
            similarities[j] = similarities[j - 1];
            rows[j] = rows[j - 1];
            j--;
        }
        similarities[j] = v;
        rows[j] = i;
    }
    free(q);
    free(sim);
    return n;
}
