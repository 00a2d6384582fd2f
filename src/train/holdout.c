/* Validation without a valid split: a seeded, stratified share of the
 * training groups (or entries, without groups) held out of training. The
 * draw is the data room's (mrnet_folds_assign_split) on a dataset made of
 * the training entries, so it keeps groups whole exactly as --make-split
 * does, and it depends only on the store and the seed: a resumed run holds
 * out the same entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"
#include "train/trainer_internal.h"

static int cmp_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct units (groups, or entries without one) among n entries; grouped
 * is set when some entry has a group. */
static int count_units(const trainer *t, const int *entries, int n, bool *grouped)
{
    const char **keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    if (!keys)
        return -1;
    int n_keys = 0, singles = 0;
    for (int i = 0; i < n; i++) {
        const char *g = mrnet_store_get(t->store, entries[i])->group;
        if (g[0])
            keys[n_keys++] = g;
        else
            singles++;
    }
    *grouped = *grouped || n_keys > 0;
    qsort(keys, (size_t)n_keys, sizeof *keys, cmp_string);
    int units = singles;
    for (int i = 0; i < n_keys; i++)
        units += i == 0 || strcmp(keys[i], keys[i - 1]) != 0;
    free(keys);
    return units;
}

static mrnet_status draw(trainer *t, mrnet_dataset *ds)
{
    for (int i = 0; i < t->n_train; i++) {
        const mrnet_store_entry *e = mrnet_store_get(t->store, t->train[i]);
        MRNET_TRY(mrnet_dataset_add(ds, e->source, e->label, "train", -1, e->id));
        MRNET_TRY(mrnet_dataset_set_group(ds, i, e->group));
    }
    return mrnet_folds_assign_split(ds, t->opt->valid_holdout, 0, t->opt->seed);
}

mrnet_status trainer_hold_out_valid(trainer *t)
{
    double frac = t->opt->valid_holdout;
    if (t->opt->valid_fold >= 0 || t->n_valid > 0 || frac == 0)
        return MRNET_OK;
    if (!(frac > 0 && frac < 1))
        return mrnet_fail(MRNET_ERR_ARG, "validation hold-out %g: expected a share in [0, 1)", frac);
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    mrnet_status st = draw(t, &ds);
    bool grouped = false;
    int all_units = st == MRNET_OK ? count_units(t, t->train, t->n_train, &grouped) : 0;
    int kept = 0;
    for (int i = 0; st == MRNET_OK && i < t->n_train; i++) {
        if (!strcmp(ds.items[i].split, "valid"))
            t->valid[t->n_valid++] = t->train[i];
        else
            t->train[kept++] = t->train[i];
    }
    mrnet_dataset_free(&ds);
    MRNET_TRY(st);
    t->n_train = kept;
    t->n_held_out = t->n_valid;
    int held_units = count_units(t, t->valid, t->n_valid, &grouped);
    if (all_units < 0 || held_units < 0)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory counting groups");
    snprintf(t->note, sizeof t->note,
             "no valid entries: %d of %d training %s (%d entries, %.0f%%, stratified by class, seed %llu) "
             "held out for validation",
             held_units, all_units, grouped ? "groups" : "entries", t->n_valid, 100 * frac,
             (unsigned long long)t->opt->seed);
    return MRNET_OK;
}
