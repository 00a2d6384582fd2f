#include "eval_extra.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    report_items *items;
    int K;
} collector;

static void collect(void *ctx, int entry, int truth, const float *scores)
{
    collector *c = ctx;
    report_items_add(c->items, c->K, entry, truth, scores);
}

static mrnet_status run_baseline(eval_extra *x, const mrnet_store *fs, mrnet_selection sel, const char *dir)
{
    MRNET_TRY(mrnet_baseline_load(dir, &x->baseline));
    int K = mrnet_baseline_classes(x->baseline);
    if (!(x->baseline_names = malloc((size_t)K * sizeof(char *))))
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int k = 0; k < K; k++)
        x->baseline_names[k] = (char *)mrnet_baseline_label(x->baseline, k);
    MRNET_TRY(mrnet_confusion_init(&x->baseline_cm, K));
    report_items items = {0};
    collector c = {&items, K};
    mrnet_status st = mrnet_baseline_evaluate_store(x->baseline, fs, sel, &x->baseline_cm, &x->baseline_used,
                                                    &x->baseline_unknown, collect, &c);
    if (st == MRNET_OK && x->baseline_used == 0)
        st = mrnet_fail(MRNET_ERR_ARG, "%s: no entry of the selection is of a class the baseline knows", dir);
    if (st == MRNET_OK && (st = mrnet_metrics_compute(&x->baseline_cm, &x->baseline_r)) == MRNET_OK) {
        x->baseline_scored = true;
        st = report_groups(fs, &items, &x->baseline_group_cm, &x->baseline_group_r, &x->baseline_groups);
    }
    report_items_free(&items);
    if (st != MRNET_OK)
        return mrnet_fail_context(st, "--baseline %s", dir);
    x->sections[x->n_sections++] = (mrnet_report_section){"baseline", &x->baseline_r, &x->baseline_cm,
                                                          x->baseline_names};
    if (x->baseline_groups)
        x->sections[x->n_sections++] = (mrnet_report_section){"baseline_groups", &x->baseline_group_r,
                                                              &x->baseline_group_cm, x->baseline_names};
    return MRNET_OK;
}

mrnet_status eval_extra_run(eval_extra *x, const mrnet_store *fs, mrnet_selection sel, const char *baseline_dir,
                            char *const *model_names)
{
    MRNET_TRY(report_groups(fs, &x->items, &x->group_cm, &x->group_r, &x->groups));
    if (x->groups)
        x->sections[x->n_sections++] = (mrnet_report_section){"groups", &x->group_r, &x->group_cm, model_names};
    return baseline_dir ? run_baseline(x, fs, sel, baseline_dir) : MRNET_OK;
}

static void row(FILE *out, const char *what, double a, double b, bool have_a, bool have_b)
{
    fprintf(out, "%-22.22s", what);
    if (have_a)
        fprintf(out, " %9.4f", a);
    else
        fprintf(out, " %9s", "-");
    if (have_b)
        fprintf(out, " %9.4f\n", b);
    else
        fprintf(out, " %9s\n", "-");
}

static int name_index(char *const *names, int K, const char *name)
{
    for (int k = 0; k < K; k++)
        if (!strcmp(names[k], name))
            return k;
    return -1;
}

void eval_extra_print(FILE *out, const eval_extra *x, const mrnet_metrics *r, char *const *model_names)
{
    if (x->groups)
        report_print_groups(out, &x->group_r, x->groups);
    if (!x->baseline_scored)
        return;
    const mrnet_metrics *b = &x->baseline_r;
    fprintf(out, "\nbeside the baseline (RBF-SVM on clip statistics, the same entries):\n");
    fprintf(out, "%-22s %9s %9s\n", "", "MRNet", "baseline");
    row(out, "accuracy", r->accuracy, b->accuracy, true, true);
    row(out, "macro-F1", r->macro_f1, b->macro_f1, true, true);
    if (x->groups || x->baseline_groups) {
        row(out, "group accuracy", x->group_r.accuracy, x->baseline_group_r.accuracy, x->groups, x->baseline_groups);
        row(out, "group macro-F1", x->group_r.macro_f1, x->baseline_group_r.macro_f1, x->groups, x->baseline_groups);
    }
    for (int k = 0; k < r->k; k++) {
        char what[64];
        snprintf(what, sizeof what, "F1 %s", model_names[k]);
        int j = name_index(x->baseline_names, b->k, model_names[k]);
        row(out, what, r->f1[k], j >= 0 ? b->f1[j] : NAN, true, j >= 0);
    }
    fprintf(out, "%-22s %9lld %9lld\n", "items", (long long)r->total, (long long)b->total);
    if (x->baseline_unknown)
        fprintf(out, "note: %d entries of classes the baseline does not know were left out of its figures\n",
               x->baseline_unknown);
}

void eval_extra_free(eval_extra *x)
{
    report_items_free(&x->items);
    if (x->groups) {
        mrnet_metrics_free(&x->group_r);
        mrnet_confusion_free(&x->group_cm);
    }
    if (x->baseline_groups) {
        mrnet_metrics_free(&x->baseline_group_r);
        mrnet_confusion_free(&x->baseline_group_cm);
    }
    if (x->baseline_scored)
        mrnet_metrics_free(&x->baseline_r);
    mrnet_confusion_free(&x->baseline_cm);
    free(x->baseline_names);
    mrnet_baseline_free(x->baseline);
    memset(x, 0, sizeof *x);
}
