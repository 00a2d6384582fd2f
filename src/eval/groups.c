/* Per-group (track) figures from per-item scores: the recipe's clip scores
 * averaged over a track, as docs/REAL_MUSIC.md scores its tracks. */
#include <mrnet/eval.h>

#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

typedef struct {
    const char *group;
    int item;
} group_item;

static int cmp_group_item(const void *a, const void *b)
{
    const group_item *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    return c ? c : x->item - y->item;
}

/* Adds one group, items g[0..n), to cm. */
static mrnet_status add_group(const group_item *g, int n, const int *truth, const float *scores, int K,
                              double *mean, int *votes, mrnet_confusion *cm)
{
    memset(mean, 0, (size_t)K * sizeof *mean);
    memset(votes, 0, (size_t)K * sizeof *votes);
    for (int i = 0; i < n; i++) {
        const float *s = scores + (size_t)g[i].item * K;
        for (int k = 0; k < K; k++)
            mean[k] += s[k];
        int y = truth[g[i].item];
        if (y < 0 || y >= K)
            return mrnet_fail(MRNET_ERR_ARG, "group '%s': class %d outside 0..%d", g[i].group, y, K - 1);
        votes[y]++;
    }
    int y = 0, p = 0;
    for (int k = 1; k < K; k++) {
        y = votes[k] > votes[y] ? k : y;
        p = mean[k] > mean[p] ? k : p;
    }
    return mrnet_confusion_add(cm, y, p);
}

mrnet_status mrnet_confusion_by_group(const mrnet_store *store, const int *entries, const int *truth,
                                      const float *scores, int n, int K, mrnet_confusion *cm, int *groups)
{
    if (groups)
        *groups = 0;
    if (K < 1 || cm->k != K)
        return mrnet_fail(MRNET_ERR_ARG, "group confusion: %d classes, the matrix has %d", K, cm->k);
    group_item *g = malloc((size_t)(n > 0 ? n : 1) * sizeof *g);
    double *mean = malloc((size_t)K * sizeof *mean);
    int *votes = malloc((size_t)K * sizeof *votes);
    if (!g || !mean || !votes) {
        free(g);
        free(mean);
        free(votes);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory grouping %d items", n);
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        const mrnet_store_entry *e = mrnet_store_get(store, entries[i]);
        if (e && e->group[0])
            g[m++] = (group_item){e->group, i};
    }
    qsort(g, (size_t)m, sizeof *g, cmp_group_item);
    mrnet_status st = MRNET_OK;
    for (int s = 0; s < m && st == MRNET_OK;) {
        int e = s + 1;
        while (e < m && !strcmp(g[e].group, g[s].group))
            e++;
        st = add_group(g + s, e - s, truth, scores, K, mean, votes, cm);
        if (groups && st == MRNET_OK)
            (*groups)++;
        s = e;
    }
    free(g);
    free(mean);
    free(votes);
    return st;
}
