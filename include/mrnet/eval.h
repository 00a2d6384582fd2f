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

/* The same report with further reports nested under keys, each with the
 * same keys (e.g. "groups" for per-track figures, "baseline" for the SVM on
 * the same entries). A section's class_names may be NULL ("0", "1", ...). */
typedef struct {
    const char *key;
    const mrnet_metrics *metrics;
    const mrnet_confusion *cm;
    char *const *class_names;
} mrnet_report_section;
mrnet_status mrnet_metrics_write_json_sections(const char *path, const mrnet_metrics *r,
                                               const mrnet_confusion *cm, char *const *class_names,
                                               const mrnet_report_section *sections, int n_sections,
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

/* The selected labelled entries of a store whose class is one of labels (K
 * names), matched by name: entries[i] and its class truth[i] (arrays of
 * mrnet_store_count() ints); returns their count, and *unknown the entries of
 * other classes. What mrnet_evaluate_store scores. */
int mrnet_select_entries(const mrnet_store *store, mrnet_selection sel, const char *const *labels, int K,
                         int *entries, int *truth, int *unknown);

/* The split an evaluation takes by default: "test" when the store has test
 * entries, else "valid", else NULL. */
const char *mrnet_default_eval_split(const mrnet_store *store);

/* Per-group (track, album, artist) figures: the scores (n, K) of n items,
 * store entries entries[i] of true class truth[i], are averaged over each
 * group (mrnet_store_entry.group) and the group counts once in cm, as its
 * items' most common true class (ties: the lower index) against the argmax
 * of the mean. Items without a group are left out; *groups (may be NULL)
 * receives the number of groups counted. */
mrnet_status mrnet_confusion_by_group(const mrnet_store *store, const int *entries, const int *truth,
                                      const float *scores, int n, int K, mrnet_confusion *cm,
                                      int *groups);

/* ---- Route importance ------------------------------------------------------
 * What each route contributes to a trained model, measured rather than read
 * off w_all: in the paper's placement w_all scales a route just before bn5,
 * which normalises every channel again, so the output depends on w_all only
 * through bn5's eps. An after-norm gate does act, but fc6 may re-weight what
 * it lets through, so it is not a measure either.
 *
 *   accuracy_drop[j], macro_f1_drop[j]: the figures of the model as it is
 *     minus those with route j zeroed as well (mrnet_model_set_drop_routes:
 *     its pooled vector is 0 before bn5, which in evaluation then passes on
 *     bn5's running statistics' offset for it); NAN for a route the model
 *     itself drops, or when zeroing it would leave no route.
 *   fc6_share[j]: sum of |fc6.weight| over the 2C input columns that read
 *     route j, over the sum of all of them (bn5's per-column scale not
 *     folded in).
 *   w_all[j]: the learned route weight, for comparison: after-norm, the gate
 *     R softmax(w_all)_j (mrnet_model_route_weights).
 *   route_weights: the model's placement (mrnet_config.route_weights).
 *   rank_weight_accuracy, rank_weight_f1, rank_share_accuracy: Spearman rank
 *     correlations over the measured routes (ties get their mean rank) of
 *     w_all with the accuracy drop and with the macro-F1 drop, and of the fc6
 *     share with the accuracy drop: how far the weights (or the share) order
 *     the routes as their function does; NAN with fewer than 3 routes or
 *     a constant column. */
typedef struct {
    int used;                   /* items scored */
    double accuracy, macro_f1;  /* with the routes the model uses */
    double accuracy_drop[MRNET_ROUTES], macro_f1_drop[MRNET_ROUTES];
    double fc6_share[MRNET_ROUTES];
    double w_all[MRNET_ROUTES];
    unsigned trained_off;       /* mrnet_model_drop_routes() of the model */
    int route_weights;          /* an mrnet_route_weights_mode */
    double rank_weight_accuracy, rank_weight_f1, rank_share_accuracy;
} mrnet_route_importance;

/* Spearman's rank correlation of x and y (n values; ties get their mean
 * rank), NAN when n < 3 or a column is constant. */
double mrnet_spearman(const double *x, const double *y, int n);

/* fc6_share alone (no data needed). */
mrnet_status mrnet_route_fc6_share(const mrnet_model *model, double share[MRNET_ROUTES]);
/* Evaluates the selection (as mrnet_evaluate_store) once as the model is and
 * once per route zeroed; the model's route mask is restored afterwards.
 * MRNET_ERR_ARG when no labelled entry of a class the model knows is
 * selected. */
mrnet_status mrnet_route_importance_measure(mrnet_model *model, const mrnet_store *store,
                                            mrnet_selection sel, const mrnet_infer_options *o,
                                            mrnet_route_importance *out);
/* Writes n measurements as JSON atomically:
 *   {"checkpoints": [{"name": .., "items": n, "accuracy": a, "macro_f1": f,
 *     "route_weights": "paper" or "after-norm" (what w_all below is),
 *     "routes": [{"route": "L1", "w_all": .., "fc6_share": ..,
 *                 "accuracy_drop": .., "macro_f1_drop": .., "trained_off": false}, ...],
 *     "spearman": {"w_all_vs_accuracy_drop": .., "w_all_vs_macro_f1_drop": ..,
 *                  "fc6_share_vs_accuracy_drop": ..}}, ...],
 *    <extra>}   (a NAN is null; extra as in mrnet_metrics_write_json) */
mrnet_status mrnet_route_importance_write_json(const char *path, const mrnet_route_importance *r,
                                               const char *const *names, int n,
                                               const char *const *extra);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
