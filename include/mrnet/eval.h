/* mrnet/eval.h: metrics (confusion matrix, accuracy, F1) and evaluating a model on a store */
#ifndef MRNET_EVAL_H
#define MRNET_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mrnet/common.h>
#include <mrnet/infer.h>
#include <mrnet/model.h>
#include <mrnet/store.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Classification metrics: confusion matrix, accuracy, per-class precision,
 * recall and F1, macro-F1, cross-validation mean and standard deviation,
 * and a JSON report.
 *
 * Conventions (they match scikit-learn with zero_division=0):
 *   precision_k = TP / (TP + FP), recall_k = TP / (TP + FN),
 *   F1_k = 2 P R / (P + R); a 0/0 in any of them is 0.
 *   Macro averages are taken over the classes that occur in the truth or in
 *   the predictions (scikit-learn's default label set); a class absent from
 *   both does not pull the average down. macro_f1_all averages over all K. */

typedef struct {
    int k;
    int64_t *counts; /* (K, K): row = true class, column = predicted class */
} mrnet_confusion;

mrnet_status mrnet_confusion_init(mrnet_confusion *cm, int k);
void mrnet_confusion_free(mrnet_confusion *cm);
void mrnet_confusion_reset(mrnet_confusion *cm);
/* Counts one example; classes outside 0..K-1 are an error. */
mrnet_status mrnet_confusion_add(mrnet_confusion *cm, int truth, int predicted);
/* Adds another matrix of the same size (e.g. summing CV folds). */
mrnet_status mrnet_confusion_merge(mrnet_confusion *dst, const mrnet_confusion *src);
int64_t mrnet_confusion_total(const mrnet_confusion *cm);

typedef struct {
    int k;
    int64_t total;
    double accuracy;        /* trace / total; 0 when empty */
    double macro_precision; /* over classes in truth or predictions */
    double macro_recall;
    double macro_f1;
    double macro_f1_all;    /* over all K classes */
    double *precision, *recall, *f1; /* (K) */
    int64_t *support;                /* (K) true examples per class */
    int64_t *predicted;              /* (K) predictions per class */
} mrnet_metrics;

mrnet_status mrnet_metrics_compute(const mrnet_confusion *cm, mrnet_metrics *r);
void mrnet_metrics_free(mrnet_metrics *r);

/* Mean and sample standard deviation (n - 1 in the denominator; 0 when
 * n < 2) of n values, for cross-validation summaries. */
void mrnet_mean_std(const double *x, int n, double *mean, double *std);

/* Writes the report as JSON to path atomically:
 *   {"accuracy": a, "macro_f1": f, "macro_precision": p, "macro_recall": r,
 *    "macro_f1_all": g, "total": n,
 *    "classes": [{"name": .., "precision": .., "recall": .., "f1": ..,
 *                 "support": .., "predicted": ..}, ...],
 *    "confusion": [[...], ...], <extra>}   (rows = true class)
 * class_names may be NULL (then "0", "1", ...); extra: NULL or
 * NULL-terminated key/value string pairs appended to the object. */
mrnet_status mrnet_metrics_write_json(const char *path, const mrnet_metrics *r,
                                      const mrnet_confusion *cm, char *const *class_names,
                                      const char *const *extra);

/* ---- Evaluating a model on a store ------------------------------------------- */

/* Which entries of a store to evaluate: a split name, a fold, or all
 * labelled entries (split NULL and fold < 0). */
typedef struct {
    const char *split;
    int fold;
} mrnet_selection;

/* Evaluates the selected labelled entries of a store; labels are matched to
 * the model's by name (entries of classes the model does not know are
 * counted in *unknown and left out). cm: initialised for the model's K.
 * on_item (may be NULL) sees every item's store entry, true class and
 * averaged probabilities (K). */
typedef void (*mrnet_item_fn)(void *ctx, int entry, int truth, const float *probs);
mrnet_status mrnet_evaluate_store(mrnet_model *model, const mrnet_store *store, mrnet_selection sel,
                                  const mrnet_infer_options *o, mrnet_confusion *cm, int *used,
                                  int *unknown, mrnet_item_fn on_item, void *item_ctx);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
