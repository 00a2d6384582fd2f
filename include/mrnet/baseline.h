/* mrnet/baseline.h: a classical baseline to beat, an RBF-SVM (libsvm) on
 * per-clip statistics of a feature store's features */
#ifndef MRNET_BASELINE_H
#define MRNET_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mrnet/common.h>
#include <mrnet/eval.h>
#include <mrnet/store.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* The recipe:
 *   features  per clip and per feature row (S * L * D rows of an (S, L, D, T)
 *             entry): the mean and the standard deviation over time, and the
 *             mean and standard deviation of the first-order deltas
 *             x[t+1] - x[t] (population std; 0 for a one-frame clip), laid out
 *             [means | stds | delta means | delta stds], 4 S L D numbers;
 *             standardised with the mean and std of the training split (a
 *             constant feature keeps std 1).
 *   model     C-SVC with an RBF kernel exp(-gamma |u - v|^2) (libsvm; no
 *             probability estimates, so no random draw: the same store gives
 *             the same model), class weights C_k = C * largest / count_k over
 *             the training split unless turned off.
 *   choice    every (C, gamma) of the grid is trained on the train split and
 *             scored on the valid split; the best validation macro-F1 wins
 *             (or accuracy; ties: the other figure, then the smaller C, then
 *             the smaller gamma). The model kept is the one trained on train
 *             alone, so the validation figures describe it exactly and, as
 *             for `mrnet train`'s best epoch, valid only chooses; refit
 *             retrains with the chosen (C, gamma) on train + valid instead.
 *   scores    one-vs-one votes: score_k = votes for k / (K'(K'-1)/2) over the
 *             K' classes of the training split; the prediction is the argmax
 *             (ties: the lower class index), which is libsvm's own rule. */

/* One point of the grid, with its validation figures. */
typedef struct {
    double C, gamma;
    double valid_accuracy, valid_macro_f1;
    int support_vectors;
} mrnet_baseline_fit;

typedef struct {
    const double *c_values;     /* NULL: 2^-1, 2^1, ..., 2^9 */
    int n_c;
    const double *gamma_values; /* NULL: (2^-6, 2^-4, 2^-2, 1, 4) / features */
    int n_gamma;
    bool select_accuracy;       /* false: validation macro-F1 chooses */
    bool refit_train_valid;     /* false: keep the model trained on train */
    bool class_weights;         /* true */
    /* Called after every grid point (from one thread at a time), done of total. */
    void (*progress)(void *ctx, const mrnet_baseline_fit *fit, int done, int total);
    void *progress_ctx;
} mrnet_baseline_options;

void mrnet_baseline_options_default(mrnet_baseline_options *opt);

typedef struct mrnet_baseline mrnet_baseline;

/* Trains on the store's labelled "train" entries and chooses (C, gamma) on
 * its "valid" entries. MRNET_ERR_ARG for a store without labels, without
 * train entries of two classes or more, or without valid entries (the
 * message says how to get a split); MRNET_ERR_SHAPE when entries differ in
 * (S, L, D). */
mrnet_status mrnet_baseline_train(const mrnet_store *store, const mrnet_baseline_options *opt,
                                  mrnet_baseline **out);
void mrnet_baseline_free(mrnet_baseline *b);

/* DIR/svm.model (libsvm's own format) and DIR/baseline.json (format
 * "mrnet-baseline": labels, the store's feature settings, (S, L, D), the
 * standardisation, the chosen C and gamma, how they were chosen, the grid
 * and the model file's checksum), each written atomically; DIR is created. */
mrnet_status mrnet_baseline_save(const mrnet_baseline *b, const char *dir);
/* Reads what mrnet_baseline_save wrote. A missing file is MRNET_ERR_IO naming
 * it; a malformed one, or a model file that is not the one the JSON
 * describes, MRNET_ERR_FORMAT. */
mrnet_status mrnet_baseline_load(const char *dir, mrnet_baseline **out);

int mrnet_baseline_classes(const mrnet_baseline *b);
/* Class name k, NULL outside [0, K). */
const char *mrnet_baseline_label(const mrnet_baseline *b, int k);
/* The chosen grid point (C, gamma and their validation figures). */
mrnet_baseline_fit mrnet_baseline_chosen(const mrnet_baseline *b);
/* The grid as tried, in order (C outer, gamma inner); returns its size. */
int mrnet_baseline_grid(const mrnet_baseline *b, const mrnet_baseline_fit **fits);
int mrnet_baseline_feature_count(const mrnet_baseline *b);
/* The mrnet_features_options_describe() line of the training store. */
const char *mrnet_baseline_settings(const mrnet_baseline *b);
/* Training and validation entries used. */
void mrnet_baseline_sizes(const mrnet_baseline *b, int *n_train, int *n_valid);
bool mrnet_baseline_refit(const mrnet_baseline *b);
bool mrnet_baseline_selects_accuracy(const mrnet_baseline *b);

/* The clip statistics of features (rows, T) row-major (an (S, L, D, T)
 * entry is S*L*D rows) into out (4 * rows), laid out as above. T >= 1. */
void mrnet_baseline_clip_statistics(const float *features, int rows, int64_t T, double *out);
/* Class scores (K) of one clip's features (S, L, D, T) of the baseline's
 * shape. */
mrnet_status mrnet_baseline_predict(const mrnet_baseline *b, const float *features, int64_t T,
                                    float *scores);

/* Like mrnet_evaluate_store: scores the selected labelled entries, labels
 * matched by name (other classes counted in *unknown and left out); on_item
 * gets the scores. MRNET_ERR_ARG when the store was made with other feature
 * settings than the baseline's training store, MRNET_ERR_SHAPE for entries
 * of another (S, L, D). cm: initialised for mrnet_baseline_classes(). */
mrnet_status mrnet_baseline_evaluate_store(const mrnet_baseline *b, const mrnet_store *store,
                                           mrnet_selection sel, mrnet_confusion *cm, int *used,
                                           int *unknown, mrnet_item_fn on_item, void *item_ctx);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
