#include "eval/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/fileio.h"

mrnet_status mrnet_confusion_init(mrnet_confusion *cm, int k)
{
    cm->k = 0;
    cm->counts = NULL;
    if (k < 1 || k > 100000)
        return mrnet_fail(MRNET_ERR_ARG, "confusion matrix: %d classes", k);
    cm->counts = calloc((size_t)k * (size_t)k, sizeof *cm->counts);
    if (!cm->counts)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for a %d x %d confusion matrix", k, k);
    cm->k = k;
    return MRNET_OK;
}

void mrnet_confusion_free(mrnet_confusion *cm)
{
    free(cm->counts);
    cm->counts = NULL;
    cm->k = 0;
}

void mrnet_confusion_reset(mrnet_confusion *cm)
{
    if (cm->counts)
        memset(cm->counts, 0, (size_t)cm->k * (size_t)cm->k * sizeof *cm->counts);
}

mrnet_status mrnet_confusion_add(mrnet_confusion *cm, int truth, int predicted)
{
    if (truth < 0 || truth >= cm->k || predicted < 0 || predicted >= cm->k)
        return mrnet_fail(MRNET_ERR_ARG,
                          "confusion matrix: class pair (true %d, predicted %d) outside 0..%d",
                          truth, predicted, cm->k - 1);
    cm->counts[(size_t)truth * (size_t)cm->k + (size_t)predicted]++;
    return MRNET_OK;
}

mrnet_status mrnet_confusion_merge(mrnet_confusion *dst, const mrnet_confusion *src)
{
    if (dst->k != src->k)
        return mrnet_fail(MRNET_ERR_ARG, "confusion matrices of %d and %d classes", dst->k,
                          src->k);
    for (size_t i = 0; i < (size_t)dst->k * (size_t)dst->k; i++)
        dst->counts[i] += src->counts[i];
    return MRNET_OK;
}

int64_t mrnet_confusion_total(const mrnet_confusion *cm)
{
    int64_t n = 0;
    for (size_t i = 0; i < (size_t)cm->k * (size_t)cm->k; i++)
        n += cm->counts[i];
    return n;
}

static double ratio(int64_t num, int64_t den) { return den > 0 ? (double)num / (double)den : 0.0; }

void mrnet_metrics_free(mrnet_metrics *r)
{
    free(r->precision);
    free(r->recall);
    free(r->f1);
    free(r->support);
    free(r->predicted);
    memset(r, 0, sizeof *r);
}

mrnet_status mrnet_metrics_compute(const mrnet_confusion *cm, mrnet_metrics *r)
{
    memset(r, 0, sizeof *r);
    int k = cm->k;
    if (k < 1)
        return mrnet_fail(MRNET_ERR_ARG, "metrics: empty confusion matrix");
    r->k = k;
    r->precision = calloc((size_t)k, sizeof *r->precision);
    r->recall = calloc((size_t)k, sizeof *r->recall);
    r->f1 = calloc((size_t)k, sizeof *r->f1);
    r->support = calloc((size_t)k, sizeof *r->support);
    r->predicted = calloc((size_t)k, sizeof *r->predicted);
    if (!r->precision || !r->recall || !r->f1 || !r->support || !r->predicted) {
        mrnet_metrics_free(r);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory computing metrics");
    }
    int64_t trace = 0;
    for (int t = 0; t < k; t++)
        for (int p = 0; p < k; p++) {
            int64_t c = cm->counts[(size_t)t * (size_t)k + (size_t)p];
            r->support[t] += c;
            r->predicted[p] += c;
            r->total += c;
            if (t == p)
                trace += c;
        }
    r->accuracy = ratio(trace, r->total);
    int present = 0;
    double sum_p = 0, sum_r = 0, sum_f = 0, sum_f_all = 0;
    for (int c = 0; c < k; c++) {
        int64_t tp = cm->counts[(size_t)c * (size_t)k + (size_t)c];
        r->precision[c] = ratio(tp, r->predicted[c]);
        r->recall[c] = ratio(tp, r->support[c]);
        double pr = r->precision[c] + r->recall[c];
        r->f1[c] = pr > 0 ? 2.0 * r->precision[c] * r->recall[c] / pr : 0.0;
        sum_f_all += r->f1[c];
        if (r->support[c] > 0 || r->predicted[c] > 0) {
            present++;
            sum_p += r->precision[c];
            sum_r += r->recall[c];
            sum_f += r->f1[c];
        }
    }
    if (present > 0) {
        r->macro_precision = sum_p / present;
        r->macro_recall = sum_r / present;
        r->macro_f1 = sum_f / present;
    }
    r->macro_f1_all = sum_f_all / k;
    return MRNET_OK;
}

void mrnet_mean_std(const double *x, int n, double *mean, double *std)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        m += x[i];
    m = n > 0 ? m / n : 0.0;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *std = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
}

/* ---- JSON ---- */

/* cJSON returns NULL on allocation failure from every constructor; the
 * helpers below check each and give up with one message. */
static bool add_number(cJSON *obj, const char *name, double v)
{
    return cJSON_AddNumberToObject(obj, name, v) != NULL;
}

cJSON *metrics_report_json(const mrnet_metrics *r, const mrnet_confusion *cm,
                           char *const *class_names)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root && add_number(root, "accuracy", r->accuracy) &&
              add_number(root, "macro_f1", r->macro_f1) &&
              add_number(root, "macro_precision", r->macro_precision) &&
              add_number(root, "macro_recall", r->macro_recall) &&
              add_number(root, "macro_f1_all", r->macro_f1_all) &&
              add_number(root, "total", (double)r->total);
    cJSON *classes = ok ? cJSON_AddArrayToObject(root, "classes") : NULL;
    ok = ok && classes;
    for (int c = 0; ok && c < r->k; c++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(classes, e)) {
            cJSON_Delete(e);
            ok = false;
            break;
        }
        char index[16];
        snprintf(index, sizeof index, "%d", c);
        ok = cJSON_AddStringToObject(e, "name", class_names ? class_names[c] : index) &&
             add_number(e, "precision", r->precision[c]) && add_number(e, "recall", r->recall[c]) &&
             add_number(e, "f1", r->f1[c]) && add_number(e, "support", (double)r->support[c]) &&
             add_number(e, "predicted", (double)r->predicted[c]);
    }
    if (ok && cm) {
        cJSON *rows = cJSON_AddArrayToObject(root, "confusion");
        ok = rows != NULL;
        for (int t = 0; ok && t < cm->k; t++) {
            cJSON *row = cJSON_CreateArray();
            ok = row && cJSON_AddItemToArray(rows, row);
            if (!ok)
                cJSON_Delete(row);
            for (int p = 0; ok && p < cm->k; p++) {
                int64_t count = cm->counts[(size_t)t * (size_t)cm->k + (size_t)p];
                cJSON *v = cJSON_CreateNumber((double)count);
                ok = v && cJSON_AddItemToArray(row, v);
                if (!ok)
                    cJSON_Delete(v);
            }
        }
    }
    if (!ok) {
        cJSON_Delete(root);
        mrnet_fail(MRNET_ERR_NOMEM, "out of memory building the metrics report");
        return NULL;
    }
    return root;
}

static bool add_summary(cJSON *root, const char *name, const double *x, int n)
{
    double mean, std;
    mrnet_mean_std(x, n, &mean, &std);
    cJSON *o = cJSON_AddObjectToObject(root, name);
    if (!o || !add_number(o, "mean", mean) || !add_number(o, "std", std))
        return false;
    cJSON *values = cJSON_AddArrayToObject(o, "values");
    if (!values)
        return false;
    for (int i = 0; i < n; i++) {
        cJSON *v = cJSON_CreateNumber(x[i]);
        if (!v || !cJSON_AddItemToArray(values, v)) {
            cJSON_Delete(v);
            return false;
        }
    }
    return true;
}

cJSON *metrics_cv_json(const double *accuracy, const double *macro_f1, int n)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root && add_number(root, "folds", n) && add_summary(root, "accuracy", accuracy, n) &&
              (!macro_f1 || add_summary(root, "macro_f1", macro_f1, n));
    if (!ok) {
        cJSON_Delete(root);
        mrnet_fail(MRNET_ERR_NOMEM, "out of memory building the cross-validation summary");
        return NULL;
    }
    return root;
}

mrnet_status metrics_write_json(const char *path, const cJSON *json)
{
    char *printed = cJSON_Print(json);
    /* cJSON copies bytes >= 0x80 as they are: a Latin-1 path would make
     * invalid JSON. Escapes are ASCII, so cleaning the text is enough. */
    char *text = printed ? mrnet_utf8_sanitize(printed) : NULL;
    cJSON_free(printed);
    if (!text)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory printing JSON", path);
    mrnet_atomic_file af;
    mrnet_status st = mrnet_atomic_open(&af, path);
    if (st == MRNET_OK) {
        mrnet_atomic_write(&af, text, strlen(text));
        mrnet_atomic_write(&af, "\n", 1);
        st = mrnet_atomic_commit(&af);
    }
    free(text);
    return st;
}

mrnet_status mrnet_metrics_write_json_sections(const char *path, const mrnet_metrics *r,
                                               const mrnet_confusion *cm, char *const *class_names,
                                               const mrnet_report_section *sections, int n_sections,
                                               const char *const *extra)
{
    cJSON *j = metrics_report_json(r, cm, class_names);
    if (!j)
        return MRNET_ERR_NOMEM; /* the message is set */
    bool ok = true;
    for (int i = 0; ok && i < n_sections; i++) {
        const mrnet_report_section *s = &sections[i];
        cJSON *sub = metrics_report_json(s->metrics, s->cm, s->class_names);
        ok = sub && cJSON_AddItemToObject(j, s->key, sub);
        if (!ok)
            cJSON_Delete(sub);
    }
    for (int i = 0; ok && extra && extra[i] && extra[i + 1]; i += 2)
        ok = cJSON_AddStringToObject(j, extra[i], extra[i + 1]) != NULL;
    mrnet_status st = ok ? metrics_write_json(path, j)
                         : mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory building the report", path);
    cJSON_Delete(j);
    return st;
}

mrnet_status mrnet_metrics_write_json(const char *path, const mrnet_metrics *r,
                                      const mrnet_confusion *cm, char *const *class_names,
                                      const char *const *extra)
{
    return mrnet_metrics_write_json_sections(path, r, cm, class_names, NULL, 0, extra);
}
