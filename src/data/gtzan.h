/* GTZAN (Tzanetakis & Cook 2002): 10 genres x 100 excerpts of ~30 s.
 *
 * Layouts accepted under the GTZAN root (see docs/README-datasets.md):
 *   <root>/genres_original/<genre>/<genre>.000NN.wav   (Kaggle re-upload)
 *   <root>/Data/genres_original/...                    (Kaggle, unzipped)
 *   <root>/genres/<genre>/<genre>.000NN.au             (original tarball)
 *   <root>/<genre>/<genre>.000NN.{wav,au}              (the genre folders)
 * Class indices follow MRNet: blues classical country disco hiphop jazz
 * metal pop reggae rock (0..9; alphabetical). */
#ifndef MRNET_DATA_GTZAN_H
#define MRNET_DATA_GTZAN_H

#include <stdbool.h>
#include <stdint.h>
#include <mrnet/data.h>
#include "data/dataset.h"

#define GTZAN_GENRES 10
extern const char *const gtzan_genres[GTZAN_GENRES];

/* The folder holding the genre folders under root (one of the layouts
 * above), in a new string; NULL with an error set when there is none. */
char *gtzan_find_genres_dir(const char *root);

/* Seeded stratified k folds (10 for MRNet) written as out_dir/<f>_fold.txt,
 * one path per line relative to root ("genres_original/blues/blues.00004.wav"),
 * each written atomically. Sets ds's folds. */
mrnet_status gtzan_write_folds(mrnet_dataset *ds, const char *root, const char *out_dir, int k,
                               uint64_t seed);

#endif
