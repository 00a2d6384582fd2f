/* Route importance: what zeroing each route costs a trained model, and how
 * much of fc6's weight reads it (see mrnet/eval.h for why w_all, or an
 * after-norm gate, alone says little). */
#include <mrnet/eval.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "tensor/error.h"

mrnet_status mrnet_route_fc6_share(const mrnet_model *model, double share[MRNET_ROUTES])
{
    const mrnet_tensor_info *w = mrnet_model_find_tensor(model, "fc6.weight");
    int C = mrnet_model_config(model)->channels;
    size_t in = (size_t)2 * MRNET_ROUTES * C;
    if (!w || w->ndim != 2 || (size_t)w->shape[1] != in)
        return mrnet_fail(MRNET_ERR_SHAPE, "fc6.weight: expected (E, %zu)", in);
    double total = 0;
    for (int j = 0; j < MRNET_ROUTES; j++)
        share[j] = 0;
    /* fc6.weight (E, 7 * 2C): route j's pooled mean and std are columns [2Cj, 2C(j+1)) */
    for (int64_t e = 0; e < w->shape[0]; e++)
        for (size_t f = 0; f < in; f++) {
            double a = fabs(w->data[(size_t)e * in + f]);
            share[f / (2 * (size_t)C)] += a;
            total += a;
        }
    for (int j = 0; j < MRNET_ROUTES; j++)
        share[j] = total > 0 ? share[j] / total : NAN;
    return MRNET_OK;
}

/* Accuracy and macro-F1 of the model on the selection with the given mask. */
static mrnet_status score(mrnet_model *model, const mrnet_store *store, mrnet_selection sel,
                          const mrnet_infer_options *o, unsigned mask, double *acc, double *f1, int *used)
{
    MRNET_TRY(mrnet_model_set_drop_routes(model, mask));
    mrnet_confusion cm;
    MRNET_TRY(mrnet_confusion_init(&cm, mrnet_model_config(model)->classes));
    int unknown;
    mrnet_status st = mrnet_evaluate_store(model, store, sel, o, &cm, used, &unknown, NULL, NULL);
    if (st == MRNET_OK && *used == 0)
        st = mrnet_fail(MRNET_ERR_ARG, "no labelled entries of classes the model knows in the selection");
    mrnet_metrics r;
    if (st == MRNET_OK && (st = mrnet_metrics_compute(&cm, &r)) == MRNET_OK) {
        *acc = r.accuracy;
        *f1 = r.macro_f1;
        mrnet_metrics_free(&r);
    }
    mrnet_confusion_free(&cm);
    return st;
}

/* Ranks 1..n of x, ties at their mean rank. */
static void ranks(const double *x, int n, double *r)
{
    for (int i = 0; i < n; i++) {
        int below = 0, equal = 0;
        for (int k = 0; k < n; k++) {
            below += x[k] < x[i];
            equal += x[k] == x[i];
        }
        r[i] = below + (equal + 1) / 2.0;
    }
}

double mrnet_spearman(const double *x, const double *y, int n)
{
    if (n < 3 || n > MRNET_ROUTES * 64)
        return NAN;
    double rx[MRNET_ROUTES * 64], ry[MRNET_ROUTES * 64];
    ranks(x, n, rx);
    ranks(y, n, ry);
    double mx = (n + 1) / 2.0, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - mx);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - mx) * (ry[i] - mx);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

/* The rank correlations over the routes that were measured. */
static void rank_agreement(mrnet_route_importance *r)
{
    double w[MRNET_ROUTES], share[MRNET_ROUTES], acc[MRNET_ROUTES], f1[MRNET_ROUTES];
    int n = 0;
    for (int j = 0; j < MRNET_ROUTES; j++) {
        if (isnan(r->accuracy_drop[j]))
            continue;
        w[n] = r->w_all[j];
        share[n] = r->fc6_share[j];
        acc[n] = r->accuracy_drop[j];
        f1[n++] = r->macro_f1_drop[j];
    }
    r->rank_weight_accuracy = mrnet_spearman(w, acc, n);
    r->rank_weight_f1 = mrnet_spearman(w, f1, n);
    r->rank_share_accuracy = mrnet_spearman(share, acc, n);
}

mrnet_status mrnet_route_importance_measure(mrnet_model *model, const mrnet_store *store,
                                            mrnet_selection sel, const mrnet_infer_options *o,
                                            mrnet_route_importance *out)
{
    memset(out, 0, sizeof *out);
    unsigned base = mrnet_model_drop_routes(model);
    out->trained_off = base;
    out->route_weights = mrnet_model_config(model)->route_weights;
    const float *w = mrnet_model_route_weights(model);
    for (int j = 0; j < MRNET_ROUTES; j++)
        out->w_all[j] = w[j];
    MRNET_TRY(mrnet_route_fc6_share(model, out->fc6_share));
    mrnet_status st = score(model, store, sel, o, base, &out->accuracy, &out->macro_f1, &out->used);
    for (int j = 0; j < MRNET_ROUTES && st == MRNET_OK; j++) {
        unsigned mask = base | 1u << j;
        out->accuracy_drop[j] = out->macro_f1_drop[j] = NAN;
        if ((base & 1u << j) || mask == (1u << MRNET_ROUTES) - 1)
            continue;
        double acc, f1;
        int used;
        st = score(model, store, sel, o, mask, &acc, &f1, &used);
        out->accuracy_drop[j] = out->accuracy - acc;
        out->macro_f1_drop[j] = out->macro_f1 - f1;
    }
    mrnet_status restore = mrnet_model_set_drop_routes(model, base);
    rank_agreement(out);
    return st != MRNET_OK ? st : restore;
}

static cJSON *checkpoint_json(const mrnet_route_importance *r, const char *name)
{
    cJSON *c = cJSON_CreateObject();
    bool ok = c && cJSON_AddStringToObject(c, "name", name) && cJSON_AddNumberToObject(c, "items", r->used) &&
              cJSON_AddNumberToObject(c, "accuracy", r->accuracy) &&
              cJSON_AddNumberToObject(c, "macro_f1", r->macro_f1) &&
              cJSON_AddStringToObject(c, "route_weights", mrnet_route_weights_name(r->route_weights));
    cJSON *routes = ok ? cJSON_AddArrayToObject(c, "routes") : NULL;
    ok = ok && routes;
    for (int j = 0; ok && j < MRNET_ROUTES; j++) {
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(routes, e);
        if (!ok) {
            cJSON_Delete(e);
            break;
        }
        /* cJSON writes a NAN as null */
        ok = cJSON_AddStringToObject(e, "route", mrnet_route_name(j)) &&
             cJSON_AddNumberToObject(e, "w_all", r->w_all[j]) &&
             cJSON_AddNumberToObject(e, "fc6_share", r->fc6_share[j]) &&
             cJSON_AddNumberToObject(e, "accuracy_drop", r->accuracy_drop[j]) &&
             cJSON_AddNumberToObject(e, "macro_f1_drop", r->macro_f1_drop[j]) &&
             cJSON_AddBoolToObject(e, "trained_off", (r->trained_off >> j) & 1u);
    }
    cJSON *rho = ok ? cJSON_AddObjectToObject(c, "spearman") : NULL;
    ok = ok && rho && cJSON_AddNumberToObject(rho, "w_all_vs_accuracy_drop", r->rank_weight_accuracy) &&
         cJSON_AddNumberToObject(rho, "w_all_vs_macro_f1_drop", r->rank_weight_f1) &&
         cJSON_AddNumberToObject(rho, "fc6_share_vs_accuracy_drop", r->rank_share_accuracy);
    if (!ok) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

mrnet_status mrnet_route_importance_write_json(const char *path, const mrnet_route_importance *r,
                                               const char *const *names, int n,
                                               const char *const *extra)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *list = root ? cJSON_AddArrayToObject(root, "checkpoints") : NULL;
    bool ok = list != NULL;
    for (int i = 0; ok && i < n; i++) {
        char fallback[32];
        snprintf(fallback, sizeof fallback, "%d", i);
        cJSON *c = checkpoint_json(&r[i], names && names[i] ? names[i] : fallback);
        ok = c && cJSON_AddItemToArray(list, c);
        if (!ok)
            cJSON_Delete(c);
    }
    for (int i = 0; ok && extra && extra[i] && extra[i + 1]; i += 2)
        ok = cJSON_AddStringToObject(root, extra[i], extra[i + 1]) != NULL;
    mrnet_status st = ok ? metrics_write_json(path, root)
                         : mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory building the report", path);
    cJSON_Delete(root);
    return st;
}
