/* What mrnet eval and mrnet baseline print and collect: the report (accuracy,
 * macro-F1, per class, confusion matrix), per-item scores and per-group
 * (track) figures from them. */
#ifndef MRNET_CLI_REPORT_H
#define MRNET_CLI_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <mrnet/mrnet.h>

/* Accuracy and macro-F1, per-class precision/recall/F1/support, the
 * confusion matrix; names (K) are the class names. */
void report_print(FILE *out, const mrnet_metrics *r, const mrnet_confusion *cm, char *const *names);

/* Per-item scores, for mrnet_confusion_by_group. */
typedef struct {
    int n, cap, K;
    int *entries, *truth;
    float *scores; /* (n, K) */
    bool failed;   /* out of memory on some add */
} report_items;
void report_items_add(report_items *it, int K, int entry, int truth, const float *scores);
void report_items_free(report_items *it);

/* Per-group figures of the items: *groups 0 (cm and r untouched) when no
 * item has a group; else cm (initialised here) and r are set. */
mrnet_status report_groups(const mrnet_store *fs, const report_items *it, mrnet_confusion *cm,
                           mrnet_metrics *r, int *groups);
/* "per track: accuracy A, macro-F1 F (G groups)" */
void report_print_groups(FILE *out, const mrnet_metrics *r, int groups);

#endif
