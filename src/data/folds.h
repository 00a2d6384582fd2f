/* Cross-validation folds and seeded stratified splits.
 *
 * Folds are numbered 1..k, as in MRNet's GTZAN lists ("1_fold.txt" ..
 * "10_fold.txt"); -1 means "no fold". A fold list is a text file with one
 * path per line, relative to the dataset root, e.g.
 * "genres_original/blues/blues.00004.wav". */
#ifndef MRNET_DATA_FOLDS_H
#define MRNET_DATA_FOLDS_H

#include <stdint.h>
#include "data/dataset.h"

/* Sets item.fold to 1..k so that every class is spread over the folds as
 * evenly as possible (each class's count per fold differs by at most one,
 * and so do the fold sizes). Deterministic for a seed: items are grouped by
 * label and ordered by path before a seeded shuffle, so the reader's item
 * order does not matter. Unlabelled items form one more group. */
mrnet_status mrnet_folds_assign_stratified(mrnet_dataset *ds, int k, uint64_t seed);

/* Sets item.split to "train"/"valid"/"test" per class: round(n * test_frac)
 * test items, round(n * valid_frac) validation items, the rest train, after
 * a seeded shuffle (same determinism as above). A class with at least three
 * items keeps at least one item in each non-empty part. */
mrnet_status mrnet_folds_assign_split(mrnet_dataset *ds, double valid_frac, double test_frac, uint64_t seed);

/* Writes out_dir/<f>_fold.txt for f = 1..k (atomically; out_dir must
 * exist): the items of fold f, paths made relative to root (items outside
 * root are an error), in item order. */
mrnet_status mrnet_folds_write_lists(const mrnet_dataset *ds, const char *root, const char *out_dir, int k);

/* Reads out_dir/1_fold.txt, 2_fold.txt, ... (until the first missing one)
 * and sets item.fold. Lines and items are matched on the last two path
 * components without the extension ("blues/blues.00004"), so lists written
 * for the Kaggle layout (genres_original/<genre>/<name>.wav) also fit the original
 * distribution (genres/<genre>/<name>.au). Items in no list leave the set and are
 * recorded as skipped; listed files that are not in the set are recorded as
 * skipped ("list:line: ..."); a file listed twice is an error. Returns the
 * number of lists in *k_out (may be NULL). */
mrnet_status mrnet_folds_read_lists(mrnet_dataset *ds, const char *list_dir, int *k_out);

/* Reads split lists (e.g. the fault-filtered GTZAN split:
 * train_filtered.txt, valid_filtered.txt, test_filtered.txt) and sets
 * item.split to "train", "valid", "test" with the same matching rules as
 * mrnet_folds_read_lists. Any list path may be NULL. Items in none of the lists
 * leave the set (recorded as skipped). */
mrnet_status mrnet_folds_read_split_lists(mrnet_dataset *ds, const char *train_list, const char *valid_list,
                                    const char *test_list);

/* The MRNet cross-validation protocol for evaluation fold e (1..k): test =
 * fold e, valid = fold e+1 (k wraps to 1), train = the other folds. The
 * three sets (initialised by the caller, empty) get src's labels and their
 * items' split set to "train", "valid", "test". */
mrnet_status folds_cv_split(const mrnet_dataset *src, int eval_fold, int k, mrnet_dataset *train,
                            mrnet_dataset *valid, mrnet_dataset *test);

#endif
