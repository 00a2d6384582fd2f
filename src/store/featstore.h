/* A feature store: a folder of per-file features (.npy, (S, D, T), float32
 * or float16) and an index that training streams from. Format in
 * docs/FEATURES.md:
 *
 *   STORE/index.jsonl              one JSON object per line: a header, label
 *                                  lists and entries (last record per source
 *                                  wins; a torn last line is ignored)
 *   STORE/features/ab/<hash>.npy   one (S, D, T) array per source file
 *
 * Melon-style .npy sources are referenced in place (no copy) unless a copy
 * is asked for. Reading is thread-safe: every read opens its file. */
#ifndef MRNET_STORE_FEATSTORE_H
#define MRNET_STORE_FEATSTORE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "features/features.h"
#include "data/dataset.h"
#include "mrnet/mrnet.h"

#define FEATSTORE_INDEX "index.jsonl"
#define FEATSTORE_FORMAT "mrnet-featstore"
#define FEATSTORE_VERSION 1

typedef struct {
    char *source;      /* canonical (absolute) path of the audio or npy file */
    char *label;       /* "" when unlabelled */
    int label_index;   /* into featstore_labels(), -1 when unlabelled */
    char *split;       /* "train", "valid", "test" or "" */
    int fold;          /* -1 when none */
    char *id;
    char *file;        /* the features: relative to the store, or absolute when external */
    bool external;     /* file is the source .npy itself */
    int S, D;
    int64_t T;
    bool float16;
    int64_t src_size, src_mtime_ns; /* the source when extracted */
    uint64_t checksum;              /* FNV-1a 64 of the source's bytes */
    char *warning;                  /* "" or what was odd (silent, truncated) */
} featstore_entry;

typedef struct featstore featstore;

/* Opens a store for reading. MRNET_ERR_IO when there is no index,
 * MRNET_ERR_FORMAT for a malformed one (line number named). */
mrnet_status featstore_open(const char *dir, featstore **out);
void featstore_close(featstore *fs);
int featstore_count(const featstore *fs);
const featstore_entry *featstore_get(const featstore *fs, int index);
/* Entry index of a source path (canonicalised like extraction does), -1. */
int featstore_find(const featstore *fs, const char *source);
/* The features_options_describe() line the store was made with. */
const char *featstore_settings(const featstore *fs);
/* Class names, index = featstore_entry.label_index. */
char *const *featstore_labels(const featstore *fs, int *n_labels);

/* Frames [t0, t0 + len) of entry `index` into dst (S, D, len) float32,
 * float16 converted. Positions wrap modulo T (t0 + k >= T reads from the
 * start), which is the recipe's repeat padding for clips shorter than len.
 * Thread-safe. */
mrnet_status featstore_read(const featstore *fs, int index, int64_t t0, int64_t len, float *dst);
/* All of entry `index`: dst (S, D, T). */
mrnet_status featstore_read_all(const featstore *fs, int index, float *dst);

/* ---- extraction ----------------------------------------------------------- */

typedef struct {
    int total;      /* files in the dataset (distinct sources) */
    int done;       /* reused + computed + failed so far */
    int reused, computed, failed;
    double elapsed; /* seconds since the start */
    double media_seconds; /* duration of the features computed this run */
    const char *current; /* the file just finished (may be NULL) */
} featstore_progress;

typedef struct {
    features_options features;
    int threads;             /* workers; <= 0: 1 */
    bool float16;            /* store float16 (half the disk; values must fit) */
    bool copy_npy;           /* copy .npy sources instead of referencing them */
    bool rebuild;            /* ignore existing entries (and a settings mismatch) */
    volatile sig_atomic_t *stop; /* when set (e.g. by SIGINT): finish the files in hand, save, stop */
    /* Called after every file and once at the start, from one thread at a time. */
    void (*progress)(void *ctx, const featstore_progress *p);
    void *progress_ctx;
} featstore_extract_options;

typedef struct {
    char *source;
    char *reason;
} featstore_issue;

typedef struct {
    int total, reused, computed, failed, remaining;
    double elapsed, media_seconds;
    featstore_issue *failures; /* files that gave no features, and why */
    int n_failures;
    featstore_issue *warnings; /* files stored with a warning */
    int n_warnings;
} featstore_report;

void featstore_extract_options_default(featstore_extract_options *opt);
/* Computes the features of every item of ds that the store in dir lacks or
 * holds stale (source size/mtime changed and checksum differs), with
 * opt->threads workers, and saves the index. A file that fails is reported
 * and skipped; the batch goes on. Returns MRNET_ERR_INTERRUPTED when stopped
 * (the index holds every finished file: run again to continue), and
 * MRNET_ERR_ARG when the store was made with other settings (unless
 * rebuild). Results do not depend on the thread count. */
mrnet_status featstore_extract(const char *dir, const dataset *ds, const featstore_extract_options *opt,
                               featstore_report *report);
void featstore_report_free(featstore_report *report);

/* FNV-1a 64 of a file's bytes (the staleness checksum). */
mrnet_status featstore_file_checksum(const char *path, uint64_t *checksum);

#endif
