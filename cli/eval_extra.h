/* What mrnet eval adds to its report: per-group (track) figures when the
 * store has groups, and with --baseline DIR the baseline's figures on the
 * same entries beside the model's, in one table and in the JSON. */
#ifndef MRNET_CLI_EVAL_EXTRA_H
#define MRNET_CLI_EVAL_EXTRA_H

#include "report.h"

typedef struct {
    report_items items; /* the model's scores, filled by the caller */
    int groups;         /* groups scored (0: none, the fields below unset) */
    mrnet_confusion group_cm;
    mrnet_metrics group_r;
    /* --baseline */
    mrnet_baseline *baseline;
    char **baseline_names;
    int baseline_used, baseline_unknown, baseline_groups;
    mrnet_confusion baseline_cm, baseline_group_cm;
    mrnet_metrics baseline_r, baseline_group_r;
    bool baseline_scored;
    mrnet_report_section sections[3];
    int n_sections;
} eval_extra;

/* Computes the group figures and, with a baseline folder, the baseline's
 * figures on the same selection; fills the JSON sections. */
mrnet_status eval_extra_run(eval_extra *x, const mrnet_store *fs, mrnet_selection sel, const char *baseline_dir,
                            char *const *model_names);
/* Prints the group line and the comparison table; model_names (K). */
void eval_extra_print(FILE *out, const eval_extra *x, const mrnet_metrics *r, char *const *model_names);
void eval_extra_free(eval_extra *x);

#endif
