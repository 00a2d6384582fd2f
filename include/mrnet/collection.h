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

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
