/* mrnet/store.h: feature stores: building one from a dataset, reading it */
#ifndef MRNET_STORE_H
#define MRNET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <mrnet/common.h>
#include <mrnet/data.h>
#include <mrnet/features.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* A feature store: a folder of per-file features (.npy, (S, D, T) or
 * (S, L, D, T) for stacked WavLM states, float32
 * or float16) and an index that training streams from. Format in
 * docs/FEATURES.md:
 *
 *   STORE/index.jsonl              one JSON object per line: a header, label
 *                                  lists and entries (last record per source
 *                                  wins; a torn last line is ignored)
 *   STORE/features/ab/<hash>.npy   one (S, D, T) or (S, L, D, T) array per source file
 *
 * Melon-style .npy sources are referenced in place (no copy) unless a copy
 * is asked for. Reading is thread-safe: every read opens its file. */

typedef struct {
    char *source;      /* canonical (absolute) path of the audio or npy file */
    char *label;       /* "" when unlabelled */
    int label_index;   /* into mrnet_store_labels(), -1 when unlabelled */
    char *split;       /* "train", "valid", "test" or "" */
    int fold;          /* -1 when none */
    char *id;
    char *file;        /* the features: relative to the store, or absolute when external */
    bool external;     /* file is the source .npy itself */
    int S, L, D;       /* (S, L, D, T); L 1 except WavLM hidden states */
    int64_t T;
    bool float16;
    bool int8;         /* int8 with a float32 scale per (S, L, D) channel in file's ".scale.npy" twin */
    int64_t src_size, src_mtime_ns; /* the source when extracted */
    uint64_t checksum;              /* FNV-1a 64 of the source's bytes */
    char *warning;                  /* "" or what was odd (silent, truncated) */
    char *group;                    /* track, album or artist ("" none; never NULL) */
} mrnet_store_entry;

typedef struct mrnet_store mrnet_store;

/* Opens a store for reading. MRNET_ERR_IO when there is no index,
 * MRNET_ERR_FORMAT for a malformed one (line number named). */
mrnet_status mrnet_store_open(const char *dir, mrnet_store **out);
void mrnet_store_close(mrnet_store *fs);
int mrnet_store_count(const mrnet_store *fs);
const mrnet_store_entry *mrnet_store_get(const mrnet_store *fs, int index);
/* Entry index of a source path (canonicalised like extraction does), -1. */
int mrnet_store_find(const mrnet_store *fs, const char *source);
/* The mrnet_features_options_describe() line the store was made with. */
const char *mrnet_store_settings(const mrnet_store *fs);
/* Class names, index = mrnet_store_entry.label_index. */
char *const *mrnet_store_labels(const mrnet_store *fs, int *n_labels);

/* Frames [t0, t0 + len) of entry `index` into dst (S, L, D, len) float32,
 * float16 and int8 converted. Positions wrap modulo T (t0 + k >= T reads from the
 * start), which is the recipe's repeat padding for clips shorter than len.
 * Thread-safe. */
mrnet_status mrnet_store_read(const mrnet_store *fs, int index, int64_t t0, int64_t len, float *dst);
/* All of entry `index`: dst (S, L, D, T). */
mrnet_status mrnet_store_read_all(const mrnet_store *fs, int index, float *dst);

/* ---- extraction ----------------------------------------------------------- */

typedef struct {
    int total;      /* files in the dataset (distinct sources) */
    int done;       /* reused + computed + failed so far */
    int reused, computed, failed;
    double elapsed; /* seconds since the start */
    double media_seconds; /* duration of the features computed this run */
    const char *current; /* the file just finished (may be NULL) */
} mrnet_extract_progress;

typedef struct {
    mrnet_features_options features;
    int threads;             /* workers; <= 0: 1 */
    bool float16;            /* store float16 (half the disk; values must fit) */
    bool int8;               /* store int8 with a scale per channel (a quarter of the disk) */
    bool copy_npy;           /* copy .npy sources instead of referencing them */
    bool rebuild;            /* ignore existing entries (and a settings mismatch) */
    volatile sig_atomic_t *stop; /* when set (e.g. by SIGINT): finish the files in hand, save, stop */
    /* Called after every file and once at the start, from one thread at a time. */
    void (*progress)(void *ctx, const mrnet_extract_progress *p);
    void *progress_ctx;
    /* Several processes (mrnet/parallel.h; NULL: this one). Each computes a
     * share of the sources (by a hash of the path) into STORE/parts/rank-R,
     * a store of its own; rank 0 merges the parts into STORE at the end, and
     * at the start merges what a killed run left (any process count), so a
     * restart continues. Every process needs the dataset and ends with the
     * whole report; only rank 0 calls progress (its share's). */
    const struct mrnet_collective *comm;
} mrnet_extract_options;

typedef struct {
    char *source;
    char *reason;
} mrnet_extract_issue;

typedef struct {
    int total, reused, computed, failed, remaining;
    double elapsed, media_seconds;
    mrnet_extract_issue *failures; /* files that gave no features, and why */
    int n_failures;
    mrnet_extract_issue *warnings; /* files stored with a warning */
    int n_warnings;
} mrnet_extract_report;

void mrnet_extract_options_default(mrnet_extract_options *opt);
/* Computes the features of every item of ds that the store in dir lacks or
 * holds stale (source size/mtime changed and checksum differs), with
 * opt->threads workers, and saves the index. A file that fails is reported
 * and skipped; the batch goes on. Returns MRNET_ERR_INTERRUPTED when stopped
 * (the index holds every finished file: run again to continue), and
 * MRNET_ERR_ARG when the store was made with other settings (unless
 * rebuild). Results do not depend on the thread count. */
mrnet_status mrnet_store_extract(const char *dir, const mrnet_dataset *ds, const mrnet_extract_options *opt,
                               mrnet_extract_report *report);
void mrnet_extract_report_free(mrnet_extract_report *report);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
