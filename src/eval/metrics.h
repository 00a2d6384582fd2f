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
#ifndef MRNET_EVAL_METRICS_H
#define MRNET_EVAL_METRICS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include "mrnet/mrnet.h"

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

/* The report as JSON:
 *   {"accuracy": a, "macro_f1": f, "macro_precision": p, "macro_recall": r,
 *    "macro_f1_all": g, "total": n,
 *    "classes": [{"name": .., "precision": .., "recall": .., "f1": ..,
 *                 "support": .., "predicted": ..}, ...],
 *    "confusion": [[...], ...]}          (rows = true class)
 * class_names may be NULL (then "0", "1", ...). NULL on allocation failure
 * (with the error set). The caller owns the object (cJSON_Delete). */
cJSON *metrics_report_json(const mrnet_metrics *r, const mrnet_confusion *cm,
                           char *const *class_names);
/* Cross-validation summary: {"folds": n, "accuracy": {"mean", "std",
 * "values": [...]}, "macro_f1": {...}}; macro_f1 may be NULL. */
cJSON *metrics_cv_json(const double *accuracy, const double *macro_f1, int n);
/* Writes a JSON value to path atomically (pretty-printed, final newline). */
mrnet_status metrics_write_json(const char *path, const cJSON *json);

#endif
