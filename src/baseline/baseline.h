/* The baseline room: an RBF-SVM (libsvm) on per-clip statistics of a feature
 * store (see mrnet/baseline.h for the recipe). Shared by its files:
 * statistics.c (features of store entries), svm.c (grid, training,
 * scores), baseline_io.c (saving and loading), evaluate.c. */
#ifndef MRNET_BASELINE_BASELINE_H
#define MRNET_BASELINE_BASELINE_H

#include <libsvm/svm.h>
#include <mrnet/baseline.h>

#define BASELINE_FORMAT "mrnet-baseline"
#define BASELINE_VERSION 1
#define BASELINE_MODEL_FILE "svm.model"
#define BASELINE_JSON_FILE "baseline.json"

struct mrnet_baseline {
    int S, L, D, n_features;
    int K;                /* classes (the training store's labels) */
    char **labels;        /* (K) */
    char *settings;       /* the training store's feature settings line */
    double *mean, *std;   /* (n_features) standardisation, std > 0 */
    bool select_accuracy, refit, class_weights;
    double *class_weight; /* (K); 0 for a class absent from training */
    mrnet_baseline_fit chosen;
    mrnet_baseline_fit *grid;
    int n_grid;
    int n_train, n_valid;
    struct svm_model *model;
    /* A trained (not loaded) model points into its training rows. */
    struct svm_node *nodes;
    struct svm_node **rows;
    double *y;
};

/* Features of n store entries: out (n, n_features) standardised when
 * mean/std are given. Entries must have (S, L, D); thread-safe reads. */
mrnet_status baseline_entry_features(const mrnet_store *store, const int *entries, int n, int S, int L,
                                     int D, const double *mean, const double *std, double *out);
/* Mean and std (zero std -> 1) of the n rows of x (n, f). */
void baseline_standardisation(const double *x, int n, int f, double *mean, double *std);
/* x (n, f) -> (x - mean) / std in place. */
void baseline_standardise(double *x, int n, int f, const double *mean, const double *std);

/* libsvm rows for x (n, f): nodes (n * (f + 1)), rows (n). */
mrnet_status baseline_svm_rows(const double *x, int n, int f, struct svm_node **nodes, struct svm_node ***rows);
/* Vote shares (K) of one libsvm row under the model. */
void baseline_svm_scores(const mrnet_baseline *b, const struct svm_node *row, float *scores);

/* The baseline's libsvm messages go nowhere (libsvm prints to stdout). */
void baseline_svm_quiet(void);

#endif
