/* Evaluating a model on the labelled entries of a store. */
#include <mrnet/eval.h>

#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

static bool selected(const mrnet_store_entry *e, mrnet_selection sel)
{
    if (sel.fold >= 0)
        return e->fold == sel.fold;
    return !sel.split || !strcmp(e->split, sel.split);
}

static int label_index(const char *const *labels, int K, const char *label)
{
    for (int k = 0; k < K; k++)
        if (labels[k] && !strcmp(labels[k], label))
            return k;
    return -1;
}

int mrnet_select_entries(const mrnet_store *store, mrnet_selection sel, const char *const *labels, int K,
                         int *entries, int *truth, int *unknown)
{
    int used = 0;
    *unknown = 0;
    for (int i = 0; i < mrnet_store_count(store); i++) {
        const mrnet_store_entry *e = mrnet_store_get(store, i);
        if (e->label_index < 0 || !selected(e, sel))
            continue;
        int k = label_index(labels, K, e->label);
        if (k < 0) {
            (*unknown)++;
            continue;
        }
        truth[used] = k;
        entries[used++] = i;
    }
    return used;
}

mrnet_status mrnet_evaluate_store(mrnet_model *model, const mrnet_store *store, mrnet_selection sel,
                            const mrnet_infer_options *o, mrnet_confusion *cm, int *used, int *unknown,
                            mrnet_item_fn on_item, void *item_ctx)
{
    int n = mrnet_store_count(store), K = mrnet_model_config(model)->classes;
    int *entries = malloc((size_t)(n ? n : 1) * sizeof(int));
    int *truth = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!entries || !truth) {
        free(entries);
        free(truth);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    const char **labels = malloc((size_t)K * sizeof *labels);
    if (!labels) {
        free(entries);
        free(truth);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; k < K; k++)
        labels[k] = mrnet_model_label(model, k);
    *used = mrnet_select_entries(store, sel, labels, K, entries, truth, unknown);
    free(labels);
    mrnet_status st = MRNET_OK;
    float *probs = malloc((size_t)(*used ? *used : 1) * K * sizeof(float));
    if (!probs)
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    mrnet_store_source_ctx ctx = {store, entries};
    mrnet_feature_source src = mrnet_store_source(&ctx, *used);
    if (st == MRNET_OK && *used)
        st = mrnet_infer_source(model, &src, o, probs, NULL, NULL, NULL);
    for (int i = 0; st == MRNET_OK && i < *used; i++) {
        st = mrnet_confusion_add(cm, truth[i], mrnet_argmax(probs + (size_t)i * K, K));
        if (on_item)
            on_item(item_ctx, entries[i], truth[i], probs + (size_t)i * K);
    }
    free(probs);
    free(entries);
    free(truth);
    return st;
}

const char *mrnet_default_eval_split(const mrnet_store *store)
{
    const char *found = NULL;
    for (int i = 0; i < mrnet_store_count(store); i++) {
        const char *s = mrnet_store_get(store, i)->split;
        if (!strcmp(s, "test"))
            return "test";
        if (!strcmp(s, "valid"))
            found = "valid";
    }
    return found;
}
