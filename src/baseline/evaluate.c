/* Scoring a baseline on the labelled entries of a store, as
 * mrnet_evaluate_store does for a model. */
#include <stdlib.h>
#include <string.h>

#include "baseline/baseline.h"
#include "tensor/error.h"

mrnet_status mrnet_baseline_evaluate_store(const mrnet_baseline *b, const mrnet_store *store,
                                           mrnet_selection sel, mrnet_confusion *cm, int *used,
                                           int *unknown, mrnet_item_fn on_item, void *item_ctx)
{
    *used = *unknown = 0;
    const char *settings = mrnet_store_settings(store) ? mrnet_store_settings(store) : "";
    if (strcmp(settings, b->settings))
        return mrnet_fail(MRNET_ERR_ARG, "the store's features (%s) are not those the baseline was trained on (%s)",
                          settings, b->settings);
    if (cm->k != b->K)
        return mrnet_fail(MRNET_ERR_ARG, "baseline evaluation: a confusion matrix of %d classes for %d", cm->k, b->K);
    int n = mrnet_store_count(store);
    int *entries = malloc((size_t)(n ? n : 1) * sizeof(int)), *truth = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!entries || !truth) {
        free(entries);
        free(truth);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    *used = mrnet_select_entries(store, sel, (const char *const *)b->labels, b->K, entries, truth, unknown);
    int f = b->n_features;
    double *x = malloc((size_t)(*used ? *used : 1) * f * sizeof(double));
    float *scores = malloc((size_t)b->K * sizeof(float));
    struct svm_node *nodes = NULL, **rows = NULL;
    mrnet_status st = x && scores ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (st == MRNET_OK)
        st = baseline_entry_features(store, entries, *used, b->S, b->L, b->D, b->mean, b->std, x);
    if (st == MRNET_OK)
        st = baseline_svm_rows(x, *used, f, &nodes, &rows);
    for (int i = 0; st == MRNET_OK && i < *used; i++) {
        baseline_svm_scores(b, rows[i], scores);
        st = mrnet_confusion_add(cm, truth[i], mrnet_argmax(scores, b->K));
        if (st == MRNET_OK && on_item)
            on_item(item_ctx, entries[i], truth[i], scores);
    }
    free(nodes);
    free(rows);
    free(x);
    free(scores);
    free(entries);
    free(truth);
    return st;
}
