/* Cross-validation folds and seeded stratified splits.
 *
 * Folds are numbered 1..k, as in MRNet's GTZAN lists ("1_fold.txt" ..
 * "10_fold.txt"); -1 means "no fold". A fold list is a text file with one
 * path per line, relative to the dataset root, e.g.
 * "genres_original/blues/blues.00004.wav". */
#ifndef MRNET_DATA_FOLDS_H
#define MRNET_DATA_FOLDS_H

#include <stdint.h>
#include <mrnet/data.h>
#include "data/dataset.h"

/* The MRNet cross-validation protocol for evaluation fold e (1..k): test =
 * fold e, valid = fold e+1 (k wraps to 1), train = the other folds. The
 * three sets (initialised by the caller, empty) get src's labels and their
 * items' split set to "train", "valid", "test". */
mrnet_status folds_cv_split(const mrnet_dataset *src, int eval_fold, int k, mrnet_dataset *train,
                            mrnet_dataset *valid, mrnet_dataset *test);

#endif
