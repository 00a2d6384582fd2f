/* mrnet/collection.h: running a model over a whole collection.
 *
 * Two pieces, the ones `mrnet predict`, `mrnet embed` (and an index) build on:
 *   - mrnet_inputs: the files of a run, from paths (files and folders,
 *     walked recursively) and from lists of paths (a file, or standard
 *     input). Every named path ends up either as a file to process or as a
 *     problem with its reason (missing, unreadable folder, symlink loop), so
 *     one bad path never hides the good ones.
 *   - mrnet_batch_run: classifies those files with one classifier per worker
 *     thread and hands the results to a callback one at a time, in input
 *     order, as soon as each is ready; memory stays bounded by a few results
 *     per worker whatever the number of files. */
#ifndef MRNET_COLLECTION_H
#define MRNET_COLLECTION_H
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <mrnet/common.h>
#include <mrnet/infer.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* ---- The files of a run ----------------------------------------------------- */

typedef struct {
    char *path;    /* as found: the name given, or folder/sub/file */
    char *problem; /* NULL: a file to process; else why it cannot be (path not included) */
} mrnet_input;

typedef struct {
    mrnet_input *items;
    int n, cap;
    int n_problems;
} mrnet_inputs;

void mrnet_inputs_init(mrnet_inputs *in);
void mrnet_inputs_free(mrnet_inputs *in);
/* Whether a name has an extension mrnet reads: mrnet_audio_is_media_name's
 * audio (m4a and the rest with FFmpeg), and npy features. */
bool mrnet_is_media_name(const char *path);
/* A file is added as it is (whatever its extension: it was asked for); a
 * folder contributes its media files, recursively, sorted by name within
 * each folder, hidden entries skipped. Symlinks are followed, but a link
 * back to a folder being walked is a problem ("symlink loop") and a folder
 * reached twice is walked once. A missing path, an unreadable folder or a
 * folder with no media file is a problem. Only running out of memory is an
 * error. */
mrnet_status mrnet_inputs_add_path(mrnet_inputs *in, const char *path);
/* Each line of list (a file, or "-" for standard input) as a path, through
 * mrnet_inputs_add_path; CR before LF and empty lines are dropped. A list
 * that cannot be read is an error naming it. */
mrnet_status mrnet_inputs_add_list(mrnet_inputs *in, const char *list);

/* ---- Classifying them ------------------------------------------------------- */

typedef struct {
    int index;               /* in the paths given to mrnet_batch_run */
    const char *path;
    mrnet_status status;     /* MRNET_OK, or why this file failed */
    const char *error;       /* the failure's message ("" when OK) */
    const char *warning;     /* non-fatal problems ("" if none) */
    double seconds;          /* the track's length */
    const float *probs;      /* (K) averaged over the windows */
    const float *embedding;  /* (E) */
    int n_windows;           /* with want_windows: the timeline */
    const double *spans;     /* (n_windows, 2) start and end in seconds */
    const float *window_probs; /* (n_windows, K) */
} mrnet_batch_result;

/* Called once per file, in input order, one call at a time (from a worker
 * thread). Returning non-zero stops the run: no further call is made. */
typedef int (*mrnet_batch_fn)(void *ctx, const mrnet_batch_result *r);

typedef struct {
    mrnet_classify_options classify;
    bool want_windows;                 /* fill the timeline of each result */
    volatile sig_atomic_t *stop;       /* optional: set (by a signal handler) to stop early */
} mrnet_batch_options;

/* Classifies paths[i] for every i with skip NULL or !skip[i], using
 * classifiers[0..n_workers) (all opened from the same checkpoint; each used
 * by one thread). With more than one worker each runs single-threaded
 * (OpenMP and OpenBLAS see one thread); with one, the caller's thread does
 * the work with the threads OpenMP allows. A file that fails is reported
 * through fn with its status and the run goes on, except when memory runs
 * out (MRNET_ERR_NOMEM is returned). Returns MRNET_ERR_INTERRUPTED when fn
 * or *stop ended the run early. */
mrnet_status mrnet_batch_run(mrnet_classifier *const *classifiers, int n_workers, const char *const *paths,
                             int n_paths, const bool *skip, const mrnet_batch_options *opt,
                             mrnet_batch_fn fn, void *ctx);


/* ---- Output that survives being stopped ---------------------------------------------
 *
 * Records written one file at a time to standard output (flushed), or into
 * FINAL.partial with a journal, FINAL.partial.journal, of the files whose
 * records are complete (the partial's length after each, and the file's name
 * percent-encoded). A run that stops (killed, interrupted, disk full) leaves
 * both; opening again with the same settings cuts the partial back to the
 * journal's last complete entry and continues, so the finished file is the
 * same as an uninterrupted run's. Finishing renames the partial over FINAL
 * (or assembles a .npy / .safetensors matrix from rows of floats) and removes
 * the journal. docs/RELIABILITY.md, "Collections". */

typedef enum {
    MRNET_PARTIAL_LINES,      /* text records, the partial becomes the file */
    MRNET_PARTIAL_NPY,        /* rows of row_width float32 -> (N, row_width) .npy + NAME.paths.txt */
    MRNET_PARTIAL_SAFETENSORS /* the same into a safetensors tensor, the paths in metadata "paths" */
} mrnet_partial_kind;

typedef struct {
    const char *final;      /* NULL: standard output */
    mrnet_partial_kind kind;
    int row_width;
    FILE *f;                /* write a record's text (or floats) here, then mrnet_partial_commit */
    bool journaled;         /* a regular file: partial + journal (else written through) */
    char *partial, *journal_path;
    FILE *journal;
    char **done;            /* the keys in the journal, in order */
    int n_done, cap_done;
    char **table;           /* hash set over done */
    int table_size;
    int resumed;            /* records found at open */
} mrnet_partial_output;

/* settings identifies what the records depend on; a partial made with other
 * settings is refused (MRNET_ERR_ARG) unless restart, and a journal that is
 * not one is MRNET_ERR_FORMAT. header is written once, at the start. */
mrnet_status mrnet_partial_open(mrnet_partial_output *s, const char *final, mrnet_partial_kind kind, int row_width,
                                const char *settings, bool restart, const char *header);
/* Whether key's record is already there (a resumed run). */
bool mrnet_partial_has(const mrnet_partial_output *s, const char *key);
/* After writing one key's records to s->f: flushes and journals them. A
 * write error (full disk) is MRNET_ERR_IO naming the file. */
mrnet_status mrnet_partial_commit_record(mrnet_partial_output *s, const char *key);
/* Everything written: the file replaces final (matrix kinds: tensor_name,
 * and meta_key = meta_json when given); partial and journal are removed. */
mrnet_status mrnet_partial_finish(mrnet_partial_output *s, const char *tensor_name, const char *meta_key,
                                  const char *meta_json);
/* Closes; an unfinished partial stays for the next run. */
void mrnet_partial_close(mrnet_partial_output *s);
/* Appends, in order, the complete records of another output's partial (part:
 * its final name; part.partial and its journal, left unfinished by a process
 * of a run over several, are read and not changed) to s, of the same kind. */
mrnet_status mrnet_partial_append(mrnet_partial_output *s, const char *part);
/* Removes part's partial and journal. */
void mrnet_partial_discard(const char *part);

/* The parts of a run over several processes, any count (their final names:
 * NAME.partial and its journal each), indexed by key: what a restart skips
 * and what rank 0 merges. A part started with other settings is
 * MRNET_ERR_ARG; a torn last record is not held. Read-only. */
typedef struct mrnet_partial_parts mrnet_partial_parts;
mrnet_status mrnet_partial_parts_open(const char *const *parts, int n, const char *settings,
                                      mrnet_partial_parts **out);
bool mrnet_partial_parts_has(const mrnet_partial_parts *p, const char *key);
int mrnet_partial_parts_count(const mrnet_partial_parts *p);
/* Appends to s, in the order of order[], the record of each key a part
 * holds (the first part's when several do); keys no part holds are left out. */
mrnet_status mrnet_partial_parts_merge(const mrnet_partial_parts *p, mrnet_partial_output *s,
                                       const char *const *order, int n_order);
void mrnet_partial_parts_free(mrnet_partial_parts *p);

/* ---- The index: a collection in SQLite ---------------------------------------- *
 *
 * One file (WAL journal) per collection, schema in docs/INDEX.md: per track
 * its path, size, modification time, content hash (XXH3-128), duration, the
 * model that made the entry, the class probabilities of the whole track and
 * of each window, and the embedding. A database holds the entries of one
 * model at a time. Updates run in transactions of a few dozen files: a
 * killed run loses at most the files of its last transaction, and the
 * database is never left broken (SQLite's guarantee). */

#define MRNET_INDEX_SCHEMA 1

typedef struct mrnet_index mrnet_index;

/* Opens (create: makes a new one if path does not exist) an index. A file
 * that is not SQLite, a SQLite database of another application, or one with
 * a newer schema is refused with a message naming it. */
mrnet_status mrnet_index_open(const char *path, bool create, mrnet_index **out);
void mrnet_index_close(mrnet_index *ix);

typedef struct {
    mrnet_classify_options classify;
    bool rebuild;                  /* the database has another model's entries: replace them all */
    volatile sig_atomic_t *stop;   /* set to stop; what is committed stays */
    /* optional: each file as it is done (status MRNET_OK or why it failed) */
    void (*on_file)(void *ctx, const char *path, mrnet_status status, const char *message, int done, int total);
    void *ctx;
} mrnet_index_options;

typedef struct {
    int added, updated, unchanged, removed, failed;
} mrnet_index_report;

/* Brings the index up to date with the files of in (absolute paths are
 * best: they are stored as given): new and changed files (size or
 * modification time, then content hash) are classified with classifiers
 * (n_workers of them, opened from checkpoint), unchanged ones are left,
 * failed ones are recorded with their reason (tried again next time), and
 * entries under roots (folders or files; NULL/0: none) that are no longer
 * among in's files are removed. A different model is refused unless
 * opt->rebuild. */
mrnet_status mrnet_index_update(mrnet_index *ix, const char *checkpoint, mrnet_classifier *const *classifiers,
                                int n_workers, const mrnet_inputs *in, const char *const *roots, int n_roots,
                                const mrnet_index_options *opt, mrnet_index_report *report);

/* The model of the entries: its class names (K; pointers valid until close),
 * embedding size, task ("" if none) and checkpoint path at indexing time.
 * MRNET_ERR_ARG when the index is empty. */
typedef struct {
    int K, E;
    const char *const *labels;
    const char *task, *checkpoint, *hash;
    int tracks;
} mrnet_index_model;
mrnet_status mrnet_index_model_info(mrnet_index *ix, mrnet_index_model *model);

typedef struct {
    const char *path;
    double seconds;
    const float *probs;     /* (K) */
    const char *error;      /* NULL, or why the file could not be indexed */
} mrnet_index_entry;

typedef enum { MRNET_SORT_PROB, MRNET_SORT_PATH, MRNET_SORT_SECONDS } mrnet_index_sort;

/* Entries whose probability of label (NULL: any entry) is at least
 * min_prob, sorted (by that probability, highest first; or by path; or by
 * length, longest first), at most limit (<= 0: all), through fn in order.
 * A label the model does not have is MRNET_ERR_ARG listing the labels. */
mrnet_status mrnet_index_query(mrnet_index *ix, const char *label, double min_prob, mrnet_index_sort sort, int limit,
                               void (*fn)(void *ctx, const mrnet_index_entry *e), void *ctx);

/* Whether path is an indexed track (with or without scores). */
bool mrnet_index_contains(mrnet_index *ix, const char *path);

/* The windows of an indexed track: (n, 2) spans and (n, K) probabilities,
 * malloc'd; MRNET_ERR_ARG when path is not indexed. */
mrnet_status mrnet_index_windows(mrnet_index *ix, const char *path, int *n, double **spans, float **probs);

/* Every embedding (N, E), L2-normalised, with its path (malloc'd; free with
 * mrnet_index_embeddings_free): what similarity search runs on. */
typedef struct {
    int N, E;
    float *vectors; /* (N, E), unit length (a zero vector stays zero) */
    char **paths;
} mrnet_index_embeddings;
mrnet_status mrnet_index_load_embeddings(mrnet_index *ix, mrnet_index_embeddings *out);
void mrnet_index_embeddings_free(mrnet_index_embeddings *e);
/* Writes PATH.embeddings, the block mrnet_index_load_embeddings reads in one
 * go while it is current (an update rewrites it; any change to the index
 * makes it stale, and a stale or damaged one is ignored). */
mrnet_status mrnet_index_write_embedding_cache(mrnet_index *ix);
/* The row of path, or -1. */
int mrnet_index_embeddings_find(const mrnet_index_embeddings *e, const char *path);

/* The k entries most similar (cosine) to query (E, any length), best first,
 * into rows and similarities (min(k, N) of them; returned). Exact: one
 * matrix-vector product over all N. exclude (>= 0) is left out (the query
 * itself). */
int mrnet_nearest(const mrnet_index_embeddings *e, const float *query, int k, int exclude, int *rows,
                  float *similarities);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
