/* A dataset: a list of labelled items (audio or feature files) with optional
 * split and fold, read from a folder per class, a CSV manifest, or one of the
 * paper's datasets (GTZAN, FMA, Melon). Readers validate what they read and
 * record every skipped entry with its reason instead of failing the batch. */
#ifndef MRNET_DATA_DATASET_H
#define MRNET_DATA_DATASET_H

#include <stddef.h>
#include "mrnet/mrnet.h"

typedef struct {
    char *path;      /* audio or feature file (absolute or relative to cwd) */
    char *label;     /* class name; "" when unknown (prediction sets) */
    int label_index; /* index into dataset.labels, -1 when unlabelled */
    char *split;     /* "train", "valid", "test" or "" */
    int fold;        /* cross-validation fold, -1 when none */
    char *id;        /* source id (track id, file stem); never NULL */
} mrnet_dataset_item;

typedef struct {
    char *source; /* where it was read from, for messages */
    char *reason;
} mrnet_dataset_skip;

typedef struct {
    mrnet_dataset_item *items;
    int n_items, cap_items;
    char **labels; /* class names: sorted, or in a fixed order (a checkpoint's,
                    * or a paper dataset's official order) */
    int n_labels;
    mrnet_dataset_skip *skipped;
    int n_skipped, cap_skipped;
} mrnet_dataset;

void mrnet_dataset_init(mrnet_dataset *ds);
void mrnet_dataset_free(mrnet_dataset *ds);
/* Copies the strings; label/split/id may be NULL (stored as ""). */
mrnet_status mrnet_dataset_add(mrnet_dataset *ds, const char *path, const char *label, const char *split,
                         int fold, const char *id);
/* Records a skipped entry (source: file or row, reason: why). */
mrnet_status mrnet_dataset_skip_add(mrnet_dataset *ds, const char *source, const char *reason);
/* Builds the sorted label list from the items' labels and sets label_index.
 * When fixed_labels is given (e.g. a checkpoint's), uses it instead and
 * items with other labels are skipped with a reason. */
mrnet_status mrnet_dataset_finalize_labels(mrnet_dataset *ds, char *const *fixed_labels, int n_fixed);
/* Index of a label name or -1. */
int mrnet_dataset_label_index(const mrnet_dataset *ds, const char *label);

/* A folder with one sub-folder per class; files with an audio or feature
 * extension (wav flac ogg oga opus mp3 au snd aiff aif npy) are items, at
 * any depth below their class folder; hidden entries (".x") are ignored and
 * files directly in root are skipped with a reason. Items are sorted by path.
 * A folder without any class sub-folder holding media adds no item and
 * returns MRNET_OK (check n_items; such a folder may be read with
 * mrnet_dataset_read_files). Like every reader it appends to ds and does not
 * finalize the labels. */
mrnet_status mrnet_dataset_read_folder(mrnet_dataset *ds, const char *root);
/* Every audio/feature file under root (recursively), unlabelled, sorted by
 * path: for prediction and feature extraction of a plain folder. */
mrnet_status mrnet_dataset_read_files(mrnet_dataset *ds, const char *root);
/* CSV manifest: header "path,label[,split][,fold]" (columns by name, any
 * case and order, extra columns ignored; RFC 4180 quoting, CRLF and a UTF-8
 * BOM allowed); relative paths are relative to the manifest's folder; split
 * is normalised (training/validation/... -> train/valid/test); fold is a
 * non-negative integer or empty (-1). Rows with a wrong field count, no
 * path, a bad split or fold, or a file missing on disk are skipped and
 * recorded as "<csv>:<line>" with the reason; no usable row is an error. */
mrnet_status mrnet_dataset_read_manifest(mrnet_dataset *ds, const char *csv_path);

/* "train"/"training"/"tr", "valid"/"validation"/"val"/"dev",
 * "test"/"testing"/"eval"/"evaluation" (any case) -> "train", "valid",
 * "test"; "" -> ""; anything else -> NULL. */
const char *mrnet_dataset_normalize_split(const char *split);
/* Number of items whose split equals split (NULL: all items). */
int mrnet_dataset_count_split(const mrnet_dataset *ds, const char *split);

/* Copies into dst (initialised by the caller; usually empty) the items of
 * src whose split equals split (NULL: any) and whose fold equals fold (-1:
 * any). The label list is copied too, so label_index stays valid. */
mrnet_status mrnet_dataset_select(mrnet_dataset *dst, const mrnet_dataset *src, const char *split, int fold);
/* Class weights as in the MRNet release: w[k] = (count of the largest class)
 * / (count of class k), counted over the items of the given split (NULL:
 * all). A class with no item gets weight 0. Needs finalized labels; w has
 * ds->n_labels entries. */
mrnet_status mrnet_dataset_class_weights(const mrnet_dataset *ds, const char *split, float *w);

/* Removes the items with drop[i] != 0 (order kept), recording each as
 * skipped (source: its path) with the given reason. */
mrnet_status mrnet_dataset_drop(mrnet_dataset *ds, const unsigned char *drop, const char *reason);

/* Replaces dst's label list with a copy of src's (item indices of dst are
 * not recomputed: call before adding items, or finalize afterwards). */
mrnet_status mrnet_dataset_copy_labels(mrnet_dataset *dst, const mrnet_dataset *src);

#endif
