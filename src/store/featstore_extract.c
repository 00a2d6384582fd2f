/* Filling a feature store: staleness checks, a pthread worker pool, the
 * append-only journal and the final compaction of the index. */
#include "store/featstore.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/featstore_internal.h"
#include "tensor/npy.h"
#include "tensor/error.h"
#include "tensor/fileio.h"

/* The journal is fsync'ed every this many entries (a crash of the process
 * loses nothing either way; this bounds what a power cut can lose). */
#define JOURNAL_SYNC_EVERY 64

void mrnet_extract_options_default(mrnet_extract_options *opt)
{
    memset(opt, 0, sizeof *opt);
    mrnet_features_options_default(&opt->features);
    opt->threads = 1;
}

void mrnet_extract_report_free(mrnet_extract_report *r)
{
    for (int i = 0; i < r->n_failures; i++) {
        free(r->failures[i].source);
        free(r->failures[i].reason);
    }
    for (int i = 0; i < r->n_warnings; i++) {
        free(r->warnings[i].source);
        free(r->warnings[i].reason);
    }
    free(r->failures);
    free(r->warnings);
    memset(r, 0, sizeof *r);
}

mrnet_status featstore_file_checksum(const char *path, uint64_t *checksum)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint64_t h = 0xcbf29ce484222325ULL;
    unsigned char buf[1 << 16];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return mrnet_fail(MRNET_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            h ^= buf[i];
            h *= 0x100000001b3ULL;
        }
    }
    close(fd);
    *checksum = h;
    return MRNET_OK;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int64_t mtime_ns(const struct stat *st) { return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec; }

static mrnet_status add_issue(mrnet_extract_issue **list, int *n, const char *source, const char *reason)
{
    mrnet_extract_issue *nl = realloc(*list, sizeof **list * (size_t)(*n + 1));
    if (!nl)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    *list = nl;
    nl[*n].source = strdup(source);
    nl[*n].reason = strdup(reason);
    (*n)++;
    return MRNET_OK;
}

typedef struct {
    int item;     /* dataset index */
    char *source; /* canonical path */
} work_item;

typedef struct {
    mrnet_store fs;
    const mrnet_dataset *ds;
    const mrnet_extract_options *opt;
    mrnet_features_options features; /* opt's, with the WavLM weights loaded once */
    mrnet_melspec *mel;
    mrnet_wavlm *wavlm;
    int lock_fd; /* the store's lock (tensor/fileio.h), -1 when not held */
    work_item *queue;
    int n_queue, next;
    pthread_mutex_t lock;
    FILE *journal;
    int unsynced;
    mrnet_extract_progress prog;
    mrnet_extract_report *rep;
    double t_start;
    mrnet_status fatal; /* a store-level failure (journal, disk): stop everything */
    char fatal_msg[3072];
} extract_ctx;

/* ---- staleness -------------------------------------------------------------------- */

/* The entry still describes source: same size and mtime, or same size and
 * checksum (then the mtime is refreshed); and its feature file is there. */
bool featstore_entry_fresh(const mrnet_store *fs, mrnet_store_entry *e, const char *source)
{
    struct stat st, fst;
    if (stat(source, &st) != 0)
        return false;
    char fpath[4096];
    featstore_entry_path(fs, e, fpath, sizeof fpath);
    if (stat(fpath, &fst) != 0 || fst.st_size == 0 || !featstore_entry_intact(fs, e))
        return false; /* damaged or replaced: computed again */
    if ((int64_t)st.st_size != e->src_size)
        return false;
    if (mtime_ns(&st) == e->src_mtime_ns)
        return true;
    uint64_t sum;
    if (featstore_file_checksum(source, &sum) != MRNET_OK || sum != e->checksum)
        return false;
    e->src_mtime_ns = mtime_ns(&st);
    return true;
}

mrnet_status featstore_entry_set_meta(mrnet_store_entry *e, const mrnet_dataset_item *it)
{
    free(e->label);
    free(e->split);
    free(e->id);
    free(e->group);
    e->label = strdup(it->label ? it->label : "");
    e->split = strdup(it->split ? it->split : "");
    e->id = strdup(it->id ? it->id : "");
    e->group = strdup(it->group ? it->group : "");
    e->fold = it->fold;
    if (!e->label || !e->split || !e->id || !e->group)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    return MRNET_OK;
}

/* ---- one file ------------------------------------------------------------------------ */

static void ensure_dir(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        /* reported by the write that follows */
    }
}

/* A Melon-style .npy can be referenced in place when the reader can window
 * it directly: little-endian float32/16, C order, (D, T) or (S, D, T), and
 * no offset/duration slicing was applied. */
static bool npy_usable_in_place(const char *source, const mrnet_features *f, bool *is_f16)
{
    npy_header h;
    if (npy_read_header(source, &h) != MRNET_OK)
        return false;
    bool dtype_ok = (h.dtype == NPY_F32 || h.dtype == NPY_F16) && !h.big_endian;
    int64_t T = h.ndim == 2 ? h.shape[1] : h.ndim == 3 ? h.shape[2] : -1;
    *is_f16 = h.dtype == NPY_F16;
    return dtype_ok && !h.fortran_order && T == f->T;
}

/* int8 features with one float32 scale per (S, L, D) channel, max|x| / 127:
 * PATH.npy (S, L, D, T) int8 and PATH.scale.npy (S, L, D). The scale file is
 * written first, so a features file never lacks its scales. */
static mrnet_status save_int8(const char *path, const mrnet_features *f)
{
    int64_t rows = (int64_t)f->S * f->L * f->D, T = f->T;
    float *scale = malloc(sizeof(float) * (size_t)rows);
    int8_t *q = malloc((size_t)(rows * T));
    if (!scale || !q) {
        free(scale);
        free(q);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for int8 features", path);
    }
    for (int64_t r = 0; r < rows; r++) {
        const float *x = f->data + r * T;
        float m = 0;
        for (int64_t t = 0; t < T; t++)
            m = fmaxf(m, fabsf(x[t]));
        scale[r] = m / 127.0f;
        float inv = m > 0 ? 127.0f / m : 0;
        for (int64_t t = 0; t < T; t++)
            q[r * T + t] = (int8_t)lrintf(fminf(127.0f, fmaxf(-127.0f, x[t] * inv)));
    }
    char scale_path[4096 + 16];
    snprintf(scale_path, sizeof scale_path, "%.*s.scale.npy", (int)(strlen(path) - 4), path);
    int64_t sshape[3] = {f->S, f->L, f->D}, shape[4] = {f->S, f->L, f->D, T};
    mrnet_status s = mrnet_npy_save_f32(scale_path, 3, sshape, scale, false);
    if (s == MRNET_OK)
        s = npy_save_i8(path, 4, shape, q);
    free(scale);
    free(q);
    return s;
}

/* The entry of one source. *store_failed: the features could not be
 * written into the store (a full disk, say), which stops the whole run. */
static mrnet_status compute_entry(extract_ctx *x, const work_item *w, mrnet_store_entry *e, mrnet_features *f,
                                  bool *store_failed)
{
    const mrnet_dataset_item *it = &x->ds->items[w->item];
    const mrnet_extract_options *opt = x->opt;
    struct stat st;
    if (stat(w->source, &st) != 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", it->path, strerror(errno));
    uint64_t sum;
    MRNET_TRY(featstore_file_checksum(w->source, &sum));
    MRNET_TRY(mrnet_features_from_file(w->source, &x->features, x->mel, f));
    size_t n = (size_t)f->S * (size_t)f->L * (size_t)f->D * (size_t)f->T;
    bool f16 = opt->float16, external = false;
    if (f->from_npy && !opt->copy_npy && npy_usable_in_place(w->source, f, &f16))
        external = true;
    char rel[64], full[4096];
    if (!external) {
        f16 = opt->float16;
        if (f16)
            for (size_t i = 0; i < n; i++)
                if (fabsf(f->data[i]) > 65504.0f)
                    return mrnet_fail(MRNET_ERR_NUMERIC, "%s: value %g does not fit float16; extract without --float16 "
                                      "or with a log scale", it->path, (double)f->data[i]);
        uint64_t key = featstore_hash_string(w->source);
        snprintf(rel, sizeof rel, "features/%02x", (unsigned)(key >> 56));
        snprintf(full, sizeof full, "%s/%s", x->fs.dir, rel);
        ensure_dir(full);
        snprintf(rel, sizeof rel, "features/%02x/%016" PRIx64 ".npy", (unsigned)(key >> 56), key);
        snprintf(full, sizeof full, "%s/%s", x->fs.dir, rel);
        int64_t shape4[4] = {f->S, f->L, f->D, f->T}, shape3[3] = {f->S, f->D, f->T};
        mrnet_status saved = opt->int8 ? save_int8(full, f)
                             : f->L > 1 ? mrnet_npy_save_f32(full, 4, shape4, f->data, f16)
                                        : mrnet_npy_save_f32(full, 3, shape3, f->data, f16);
        if (saved != MRNET_OK) {
            *store_failed = true; /* the store's disk, not the file: stop the run */
            return saved;
        }
    }
    memset(e, 0, sizeof *e);
    e->source = strdup(w->source);
    e->file = strdup(external ? w->source : rel);
    e->warning = strdup(f->warning);
    e->external = external;
    e->S = f->S;
    e->L = f->L;
    e->D = f->D;
    e->T = f->T;
    e->int8 = !external && opt->int8;
    e->float16 = f16 && !e->int8;
    e->src_size = (int64_t)st.st_size;
    e->src_mtime_ns = mtime_ns(&st);
    e->checksum = sum;
    mrnet_status s = featstore_entry_set_meta(e, it);
    if (s == MRNET_OK && (!e->source || !e->file || !e->warning))
        s = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    return s;
}

static void report_progress(extract_ctx *x, const char *current)
{
    x->prog.elapsed = now_seconds() - x->t_start;
    x->prog.current = current;
    if (x->opt->progress)
        x->opt->progress(x->opt->progress_ctx, &x->prog);
}

/* Under the lock: record a finished file in memory and in the journal. */
static void record_success(extract_ctx *x, mrnet_store_entry *e, const mrnet_features *f, const char *shown)
{
    char *line = featstore_entry_line(e);
    char warning[256];
    snprintf(warning, sizeof warning, "%s", e->warning ? e->warning : "");
    mrnet_status s = line ? featstore_put(&x->fs, e) : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (s != MRNET_OK) {
        featstore_entry_free(e);
    } else if (fputs(line, x->journal) < 0 || fputc('\n', x->journal) < 0 || fflush(x->journal) != 0) {
        s = mrnet_fail(MRNET_ERR_IO, "%s/%s: cannot append: %s", x->fs.dir, FEATSTORE_INDEX, strerror(errno));
    } else if (++x->unsynced >= JOURNAL_SYNC_EVERY) {
        fsync(fileno(x->journal));
        x->unsynced = 0;
    }
    free(line);
    if (s != MRNET_OK && x->fatal == MRNET_OK) {
        x->fatal = s;
        snprintf(x->fatal_msg, sizeof x->fatal_msg, "%s", mrnet_last_error());
    }
    if (warning[0])
        add_issue(&x->rep->warnings, &x->rep->n_warnings, shown, warning);
    x->prog.computed++;
    x->prog.done++;
    if (f->frame_rate > 0)
        x->prog.media_seconds += (double)f->T / f->frame_rate;
}

static void *worker(void *arg)
{
    extract_ctx *x = arg;
    for (;;) {
        pthread_mutex_lock(&x->lock);
        bool stop = (x->opt->stop && *x->opt->stop) || x->fatal != MRNET_OK || x->next >= x->n_queue;
        const work_item *w = stop ? NULL : &x->queue[x->next++];
        pthread_mutex_unlock(&x->lock);
        if (!w)
            break;
        const char *shown = x->ds->items[w->item].path;
        mrnet_store_entry e;
        mrnet_features f;
        memset(&e, 0, sizeof e);
        memset(&f, 0, sizeof f);
        bool store_failed = false;
        mrnet_status s = compute_entry(x, w, &e, &f, &store_failed);
        char reason[1024];
        if (s != MRNET_OK) {
            snprintf(reason, sizeof reason, "%s", mrnet_last_error());
            if (e.source)
                featstore_entry_free(&e);
        }
        pthread_mutex_lock(&x->lock);
        if (s == MRNET_OK) {
            record_success(x, &e, &f, shown);
        } else if (store_failed) {
            if (x->fatal == MRNET_OK) {
                x->fatal = s;
                snprintf(x->fatal_msg, sizeof x->fatal_msg, "%s: cannot store its features (%s); stopped, "
                         "the files done so far are kept", shown, reason);
            }
        } else {
            add_issue(&x->rep->failures, &x->rep->n_failures, shown, reason);
            x->prog.failed++;
            x->prog.done++;
        }
        report_progress(x, shown);
        pthread_mutex_unlock(&x->lock);
        mrnet_features_free(&f);
    }
    return NULL;
}

/* ---- the run ------------------------------------------------------------------------------ */

/* Opens or creates the store; checks its settings. */
static mrnet_status prepare_store(extract_ctx *x, const char *dir, const char *settings)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, FEATSTORE_INDEX);
    MRNET_TRY(mrnet_make_dirs(dir)); /* parents too, like mkdir -p */
    MRNET_TRY(dir_lock(dir, "extraction", &x->lock_fd));
    snprintf(path, sizeof path, "%s/features", dir);
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s", dir, FEATSTORE_INDEX);
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists) {
        MRNET_TRY(featstore_load(dir, &x->fs));
        bool same = !strcmp(x->fs.settings, settings);
        if (!same && !x->opt->rebuild)
            return mrnet_fail(MRNET_ERR_ARG,
                              "%s: the store was made with other settings (%s); this run asks for (%s). Use another "
                              "folder, or --rebuild to recompute everything", dir, x->fs.settings, settings);
        if (x->opt->rebuild) {
            for (int i = 0; i < x->fs.n_entries; i++)
                featstore_entry_free(&x->fs.entries[i]);
            x->fs.n_entries = 0;
            for (int i = 0; i < x->fs.n_slots; i++)
                x->fs.slots[i] = -1;
        }
        if (!same || x->opt->rebuild) {
            free(x->fs.settings);
            if (!(x->fs.settings = strdup(settings)))
                return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
            MRNET_TRY(featstore_save_index(&x->fs, NULL, 0));
        } else if ((int64_t)st.st_size > x->fs.valid_bytes && truncate(path, (off_t)x->fs.valid_bytes) != 0) {
            /* a torn last line from a crash: cut it before appending */
            return mrnet_fail(MRNET_ERR_IO, "%s: cannot repair a torn last line: %s", path, strerror(errno));
        }
    } else {
        x->fs.dir = strdup(dir);
        x->fs.settings = strdup(settings);
        if (!x->fs.dir || !x->fs.settings)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        MRNET_TRY(featstore_save_index(&x->fs, NULL, 0));
    }
    MRNET_TRY(featstore_set_labels(&x->fs, x->ds->labels, x->ds->n_labels));
    x->journal = fopen(path, "ab");
    if (!x->journal)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
    char *line = featstore_labels_line(x->ds->labels, x->ds->n_labels);
    bool ok = line && fputs(line, x->journal) >= 0 && fputc('\n', x->journal) >= 0 && fflush(x->journal) == 0;
    free(line);
    if (!ok)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
    return MRNET_OK;
}

/* Sorts the dataset's distinct sources into reused (fresh) and queued. */
static mrnet_status plan_work(extract_ctx *x, char **canon, bool *first)
{
    const mrnet_dataset *ds = x->ds;
    /* The store's own files are never inputs (a store inside the input folder). */
    char *store_canon = featstore_canonical(x->fs.dir);
    size_t store_len = store_canon ? strlen(store_canon) : 0;
    /* first[i]: item i is the first with its source (later ones are reported). */
    mrnet_store seen = {0};
    seen.dir = x->fs.dir;
    mrnet_status s = MRNET_OK;
    x->queue = malloc(sizeof(work_item) * (size_t)(ds->n_items > 0 ? ds->n_items : 1));
    if (!x->queue)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < ds->n_items && s == MRNET_OK; i++) {
        canon[i] = featstore_canonical(ds->items[i].path);
        if (!canon[i]) {
            s = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
            break;
        }
        if (store_canon && !strncmp(canon[i], store_canon, store_len) && canon[i][store_len] == '/') {
            first[i] = false;
            continue;
        }
        /* A throwaway table of sources seen in this run. */
        if (2 * (seen.n_entries + 1) > seen.n_slots) {
            int n = seen.n_slots ? 2 * seen.n_slots : 1024;
            int *slots = malloc(sizeof(int) * (size_t)n);
            if (!slots) {
                s = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
                break;
            }
            for (int k = 0; k < n; k++)
                slots[k] = -1;
            free(seen.slots);
            seen.slots = slots;
            seen.n_slots = n;
            for (int k = 0; k < i; k++)
                if (first[k]) {
                    size_t m = (size_t)n - 1, j = (size_t)featstore_hash_string(canon[k]) & m;
                    while (slots[j] >= 0)
                        j = (j + 1) & m;
                    slots[j] = k;
                }
        }
        size_t m = (size_t)seen.n_slots - 1, j = (size_t)featstore_hash_string(canon[i]) & m;
        while (seen.slots[j] >= 0 && strcmp(canon[seen.slots[j]], canon[i]) != 0)
            j = (j + 1) & m;
        if (seen.slots[j] >= 0) {
            first[i] = false;
            s = add_issue(&x->rep->failures, &x->rep->n_failures, ds->items[i].path,
                          "listed twice in the dataset; the first listing was kept");
            continue;
        }
        seen.slots[j] = i;
        seen.n_entries++;
        first[i] = true;
        x->prog.total++;
        int idx = featstore_lookup(&x->fs, canon[i]);
        mrnet_store_entry *e = idx >= 0 ? &x->fs.entries[idx] : NULL;
        if (e && featstore_entry_fresh(&x->fs, e, canon[i])) {
            s = featstore_entry_set_meta(e, &ds->items[i]);
            x->prog.reused++;
            x->prog.done++;
        } else {
            x->queue[x->n_queue].item = i;
            x->queue[x->n_queue].source = canon[i];
            x->n_queue++;
        }
    }
    free(seen.slots);
    free(store_canon);
    return s;
}

static void run_workers(extract_ctx *x)
{
    int n = x->opt->threads > 0 ? x->opt->threads : 1;
    if (n > x->n_queue)
        n = x->n_queue;
    if (n <= 1) {
        worker(x);
        return;
    }
    pthread_t *th = malloc(sizeof(pthread_t) * (size_t)n);
    int started = 0;
    for (int i = 0; th && i < n; i++)
        if (pthread_create(&th[i], NULL, worker, x) == 0)
            started++;
    if (started == 0)
        worker(x); /* no thread could start: do the work here */
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
}

/* The index is rewritten with the dataset's sources that have fresh
 * entries, in dataset order. */
static mrnet_status compact(extract_ctx *x, char **canon, const bool *first)
{
    int *order = malloc(sizeof(int) * (size_t)(x->ds->n_items > 0 ? x->ds->n_items : 1));
    if (!order)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    /* Stale entries whose file was queued but not reached stay out. */
    bool *pending = calloc((size_t)(x->ds->n_items > 0 ? x->ds->n_items : 1), sizeof(bool));
    if (!pending) {
        free(order);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    for (int q = x->next; q < x->n_queue; q++)
        pending[x->queue[q].item] = true;
    int n = 0;
    for (int i = 0; i < x->ds->n_items; i++) {
        if (!first[i] || pending[i])
            continue;
        int idx = featstore_lookup(&x->fs, canon[i]);
        if (idx < 0)
            continue;
        /* An old entry of a file that failed this time is dropped too. */
        const mrnet_store_entry *e = &x->fs.entries[idx];
        struct stat st;
        if (stat(canon[i], &st) != 0 || (int64_t)st.st_size != e->src_size || mtime_ns(&st) != e->src_mtime_ns)
            continue;
        order[n++] = idx;
    }
    MRNET_TRY(featstore_set_labels(&x->fs, x->ds->labels, x->ds->n_labels));
    mrnet_status s = featstore_save_index(&x->fs, order, n);
    free(order);
    free(pending);
    return s;
}

mrnet_status mrnet_store_extract(const char *dir, const mrnet_dataset *ds, const mrnet_extract_options *opt,
                               mrnet_extract_report *report)
{
    memset(report, 0, sizeof *report);
    if (opt->comm && opt->comm->size > 1)
        return featstore_extract_sharded(dir, ds, opt, report);
    extract_ctx x;
    memset(&x, 0, sizeof x);
    x.lock_fd = -1;
    x.ds = ds;
    x.opt = opt;
    x.rep = report;
    x.t_start = now_seconds();
    pthread_mutex_init(&x.lock, NULL);
    x.features = opt->features;
    char settings[1024];
    char **canon = calloc((size_t)(ds->n_items > 0 ? ds->n_items : 1), sizeof(char *));
    bool *first = calloc((size_t)(ds->n_items > 0 ? ds->n_items : 1), sizeof(bool));
    mrnet_status s = canon && first ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (s == MRNET_OK && opt->features.kind == MRNET_FEATURES_MEL)
        s = mrnet_melspec_create(&opt->features.mel, &x.mel);
    /* the settings line records the weights' fingerprint: known once loaded */
    if (s == MRNET_OK)
        s = mrnet_features_options_load(&x.features, &x.wavlm);
    mrnet_features_options_describe(&x.features, settings, sizeof settings);
    if (s == MRNET_OK)
        s = prepare_store(&x, dir, settings);
    if (s == MRNET_OK)
        s = plan_work(&x, canon, first);
    if (s == MRNET_OK) {
        report_progress(&x, NULL);
        run_workers(&x);
        if (x.journal)
            fsync(fileno(x.journal));
        s = compact(&x, canon, first);
        if (s == MRNET_OK && x.fatal != MRNET_OK)
            s = mrnet_fail(x.fatal, "%s", x.fatal_msg);
    }
    if (x.journal)
        fclose(x.journal);
    report->total = x.prog.total;
    report->reused = x.prog.reused;
    report->computed = x.prog.computed;
    report->failed = x.prog.failed;
    report->remaining = x.n_queue - x.next;
    report->elapsed = now_seconds() - x.t_start;
    report->media_seconds = x.prog.media_seconds;
    if (s == MRNET_OK && opt->stop && *opt->stop && report->remaining > 0)
        s = mrnet_fail(MRNET_ERR_INTERRUPTED,
                       "%s: interrupted with %d of %d files left; the index holds the %d finished ones, run the same "
                       "command again to continue", dir, report->remaining, report->total,
                       report->reused + report->computed);
    for (int i = 0; canon && i < ds->n_items; i++)
        free(canon[i]);
    free(canon);
    free(first);
    free(x.queue);
    mrnet_melspec_free(x.mel);
    mrnet_wavlm_free(x.wavlm);
    featstore_release(&x.fs);
    dir_unlock(x.lock_fd);
    pthread_mutex_destroy(&x.lock);
    return s;
}
