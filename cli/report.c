#include "report.h"

#include "cli_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Class names as the terminal shows them: control bytes escaped. */
static const char *shown(const char *name, char buf[64])
{
    cli_text_escaped(name ? name : "", buf, 64);
    return buf;
}

void report_print(FILE *out, const mrnet_metrics *r, const mrnet_confusion *cm, char *const *names)
{
    char b[64];
    fprintf(out, "accuracy %.4f   macro-F1 %.4f   (%lld items)\n\n", r->accuracy, r->macro_f1, (long long)r->total);
    fprintf(out, "%-16s %9s %9s %9s %8s\n", "class", "precision", "recall", "F1", "support");
    for (int k = 0; k < r->k; k++)
        fprintf(out, "%-16.16s %9.4f %9.4f %9.4f %8lld\n", shown(names[k], b), r->precision[k], r->recall[k], r->f1[k],
               (long long)r->support[k]);
    fprintf(out, "\nconfusion matrix (rows: true class, columns: predicted)\n%-16s", "");
    for (int k = 0; k < r->k; k++)
        fprintf(out, " %6.6s", shown(names[k], b));
    fprintf(out, "\n");
    for (int i = 0; i < r->k; i++) {
        fprintf(out, "%-16.16s", shown(names[i], b));
        for (int k = 0; k < r->k; k++)
            fprintf(out, " %6lld", (long long)cm->counts[(size_t)i * r->k + k]);
        fprintf(out, "\n");
    }
}

void report_items_add(report_items *it, int K, int entry, int truth, const float *scores)
{
    if (it->failed)
        return;
    if (it->n == it->cap) {
        int cap = it->cap ? 2 * it->cap : 256;
        int *e = realloc(it->entries, (size_t)cap * sizeof *e);
        if (e)
            it->entries = e;
        int *t = realloc(it->truth, (size_t)cap * sizeof *t);
        if (t)
            it->truth = t;
        float *s = realloc(it->scores, (size_t)cap * K * sizeof *s);
        if (s)
            it->scores = s;
        if (!e || !t || !s) {
            it->failed = true;
            return;
        }
        it->cap = cap;
    }
    it->K = K;
    it->entries[it->n] = entry;
    it->truth[it->n] = truth;
    memcpy(it->scores + (size_t)it->n * K, scores, (size_t)K * sizeof *scores);
    it->n++;
}

void report_items_free(report_items *it)
{
    free(it->entries);
    free(it->truth);
    free(it->scores);
    memset(it, 0, sizeof *it);
}

mrnet_status report_groups(const mrnet_store *fs, const report_items *it, mrnet_confusion *cm,
                           mrnet_metrics *r, int *groups)
{
    *groups = 0;
    if (it->failed)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory collecting the items' scores");
    bool any = false;
    for (int i = 0; i < it->n && !any; i++)
        any = mrnet_store_get(fs, it->entries[i])->group[0] != '\0';
    if (!any)
        return MRNET_OK;
    MRNET_TRY(mrnet_confusion_init(cm, it->K));
    mrnet_status st = mrnet_confusion_by_group(fs, it->entries, it->truth, it->scores, it->n, it->K, cm, groups);
    if (st == MRNET_OK)
        st = mrnet_metrics_compute(cm, r);
    if (st != MRNET_OK) {
        mrnet_confusion_free(cm);
        *groups = 0;
    }
    return st;
}

void report_print_groups(FILE *out, const mrnet_metrics *r, int groups)
{
    fprintf(out, "\nper group (track; the clips' scores averaged): accuracy %.4f   macro-F1 %.4f   (%d groups)\n",
           r->accuracy, r->macro_f1, groups);
}
