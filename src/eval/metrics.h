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
#include <mrnet/eval.h>

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
