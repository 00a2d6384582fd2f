#include "data/folds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/datautil.h"
#include "tensor/error.h"
#include "tensor/fileio.h"
#include "tensor/rng.h"

/* ---- seeded, stratified assignment ---- */

/* What is dealt: a group's items, or one item without a group. */
typedef struct {
    const char *label; /* the class it is stratified by */
    const char *key;   /* group name, or the item's path */
    int first, count;  /* its items: order[first .. first + count) */
} unit;

/* An item as it is sorted into units. */
typedef struct {
    const char *group, *path;
    int index;
} keyed_item;

typedef struct {
    unit *units;
    int n_units;
    int *order; /* item indices, grouped by unit */
} unit_set;

/* Grouped items by group name, then the ungrouped ones by path. */
static int cmp_keyed_item(const void *a, const void *b)
{
    const keyed_item *x = a, *y = b;
    bool gx = x->group[0] != '\0', gy = y->group[0] != '\0';
    if (gx != gy)
        return gx ? -1 : 1;
    int c = gx ? strcmp(x->group, y->group) : 0;
    return c ? c : strcmp(x->path, y->path);
}

static int cmp_unit(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    int c = strcmp(x->label, y->label);
    return c ? c : strcmp(x->key, y->key);
}

/* The most common label of a unit's items (ties: the first name). */
static const char *unit_label(const mrnet_dataset *ds, const int *items, int n)
{
    const char *best = NULL;
    int best_count = 0;
    for (int i = 0; i < n; i++) {
        const char *l = ds->items[items[i]].label;
        int count = 0;
        for (int j = 0; j < n; j++)
            count += !strcmp(ds->items[items[j]].label, l);
        if (count > best_count || (count == best_count && strcmp(l, best) < 0)) {
            best = l;
            best_count = count;
        }
    }
    return best;
}

/* Units ordered by (class, key): the classes are runs of equal labels.
 * Without groups this is every item by (label, path). */
static mrnet_status units_by_class(const mrnet_dataset *ds, unit_set *u)
{
    int n = ds->n_items;
    u->units = malloc((size_t)(n ? n : 1) * sizeof *u->units);
    u->order = malloc((size_t)(n ? n : 1) * sizeof *u->order);
    keyed_item *k = malloc((size_t)(n ? n : 1) * sizeof *k);
    u->n_units = 0;
    if (!u->units || !u->order || !k) {
        free(u->units);
        free(u->order);
        free(k);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory grouping %d items", n);
    }
    for (int i = 0; i < n; i++)
        k[i] = (keyed_item){ds->items[i].group, ds->items[i].path, i};
    qsort(k, (size_t)n, sizeof *k, cmp_keyed_item);
    for (int i = 0; i < n; i++)
        u->order[i] = k[i].index;
    for (int s = 0; s < n;) {
        int e = s + 1;
        if (k[s].group[0])
            while (e < n && !strcmp(k[e].group, k[s].group))
                e++;
        const char *key = k[s].group[0] ? k[s].group : k[s].path;
        u->units[u->n_units++] = (unit){unit_label(ds, u->order + s, e - s), key, s, e - s};
        s = e;
    }
    free(k);
    qsort(u->units, (size_t)u->n_units, sizeof *u->units, cmp_unit);
    return MRNET_OK;
}

static void units_free(unit_set *u)
{
    free(u->units);
    free(u->order);
}

static void shuffle(unit *m, int n, uint64_t *rng)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(rng, (uint64_t)i + 1);
        unit t = m[i];
        m[i] = m[j];
        m[j] = t;
    }
}

static int class_end(const unit *m, int n, int start)
{
    int e = start + 1;
    while (e < n && strcmp(m[e].label, m[start].label) == 0)
        e++;
    return e;
}

mrnet_status mrnet_folds_assign_stratified(mrnet_dataset *ds, int k, uint64_t seed)
{
    if (k < 2)
        return mrnet_fail(MRNET_ERR_ARG, "folds: k = %d, need at least 2 folds", k);
    if (ds->n_items < k)
        return mrnet_fail(MRNET_ERR_ARG, "folds: %d items cannot fill %d folds", ds->n_items, k);
    unit_set u;
    MRNET_TRY(units_by_class(ds, &u));
    if (u.n_units < k) {
        int n = u.n_units;
        units_free(&u);
        return mrnet_fail(MRNET_ERR_ARG, "folds: %d groups cannot fill %d folds (a group stays in one fold)",
                          n, k);
    }
    uint64_t rng = rng_derive(seed, 0x666f6c6473ULL); /* "folds" */
    /* Deal each shuffled class round-robin, continuing where the previous
     * class stopped: per-class counts and fold sizes then differ by <= 1. */
    int next = 0;
    for (int s = 0; s < u.n_units;) {
        int e = class_end(u.units, u.n_units, s);
        shuffle(u.units + s, e - s, &rng);
        for (int j = s; j < e; j++) {
            for (int i = 0; i < u.units[j].count; i++)
                ds->items[u.order[u.units[j].first + i]].fold = next + 1;
            next = (next + 1) % k;
        }
        s = e;
    }
    units_free(&u);
    return MRNET_OK;
}

static mrnet_status set_split(mrnet_dataset *ds, const unit_set *u, const unit *m, const char *split)
{
    for (int i = 0; i < m->count; i++) {
        char *copy = data_strdup(split);
        if (!copy)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory assigning splits");
        mrnet_dataset_item *it = &ds->items[u->order[m->first + i]];
        free(it->split);
        it->split = copy;
    }
    return MRNET_OK;
}

mrnet_status mrnet_folds_assign_split(mrnet_dataset *ds, double valid_frac, double test_frac, uint64_t seed)
{
    if (!(valid_frac >= 0 && test_frac >= 0 && valid_frac + test_frac < 1))
        return mrnet_fail(MRNET_ERR_ARG,
                          "split: validation %.3g and test %.3g fractions must be >= 0 and sum "
                          "to less than 1",
                          valid_frac, test_frac);
    unit_set u;
    MRNET_TRY(units_by_class(ds, &u));
    uint64_t rng = rng_derive(seed, 0x73706c6974ULL); /* "split" */
    mrnet_status st = MRNET_OK;
    for (int s = 0; s < u.n_units && st == MRNET_OK;) {
        int e = class_end(u.units, u.n_units, s), n = e - s;
        shuffle(u.units + s, n, &rng);
        int n_test = (int)lround(n * test_frac), n_valid = (int)lround(n * valid_frac);
        if (n >= 3) { /* small classes: one of each where asked for */
            if (test_frac > 0 && n_test == 0)
                n_test = 1;
            if (valid_frac > 0 && n_valid == 0)
                n_valid = 1;
            while (n_test + n_valid > n - 1) {
                if (n_valid > n_test)
                    n_valid--;
                else
                    n_test--;
            }
        }
        for (int j = 0; j < n && st == MRNET_OK; j++)
            st = set_split(ds, &u, &u.units[s + j],
                           j < n_test ? "test" : j < n_test + n_valid ? "valid" : "train");
        s = e;
    }
    units_free(&u);
    return st;
}

/* ---- list files ---- */

mrnet_status mrnet_folds_write_lists(const mrnet_dataset *ds, const char *root, const char *out_dir, int k)
{
    if (k < 1)
        return mrnet_fail(MRNET_ERR_ARG, "fold lists: k = %d", k);
    size_t root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/')
        root_len--;
    for (int i = 0; i < ds->n_items; i++) {
        const mrnet_dataset_item *it = &ds->items[i];
        if (it->fold < 1 || it->fold > k)
            return mrnet_fail(MRNET_ERR_ARG, "%s: fold %d is outside 1..%d", it->path, it->fold, k);
        if (strncmp(it->path, root, root_len) != 0 || it->path[root_len] != '/')
            return mrnet_fail(MRNET_ERR_ARG, "%s: not below the dataset root %s", it->path, root);
    }
    for (int f = 1; f <= k; f++) {
        char name[64];
        snprintf(name, sizeof name, "%d_fold.txt", f);
        char *path = mrnet_path_join(out_dir, name);
        if (!path)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        mrnet_atomic_file af;
        mrnet_status st = mrnet_atomic_open(&af, path);
        free(path);
        if (st != MRNET_OK)
            return st;
        for (int i = 0; i < ds->n_items; i++) {
            const mrnet_dataset_item *it = &ds->items[i];
            if (it->fold != f)
                continue;
            const char *rel = it->path + root_len + 1;
            mrnet_atomic_write(&af, rel, strlen(rel));
            mrnet_atomic_write(&af, "\n", 1);
        }
        MRNET_TRY(mrnet_atomic_commit(&af));
    }
    return MRNET_OK;
}

/* "x/genres_original/blues/blues.00004.wav" -> "blues/blues.00004". */
static void match_key(const char *path, char *out, size_t out_size)
{
    const char *end = path + strlen(path);
    const char *base = end;
    while (base > path && base[-1] != '/')
        base--;
    const char *dot = strrchr(base, '.');
    if (dot && dot > base)
        end = dot;
    const char *start = base;
    if (start > path) { /* include the parent folder */
        start--;
        while (start > path && start[-1] != '/')
            start--;
    }
    size_t n = (size_t)(end - start);
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, start, n);
    out[n] = '\0';
}

typedef struct {
    char key[512];
    int index;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    return strcmp(((const keyed *)a)->key, ((const keyed *)b)->key);
}

/* Reads the lists and calls back for every matched line; items matched by
 * no list are dropped. assign(ds, item, list) applies the list's meaning. */
typedef mrnet_status (*assign_fn)(mrnet_dataset *ds, int item, int list);

static mrnet_status apply_lists(mrnet_dataset *ds, const char *const *lists, int n_lists,
                                assign_fn assign)
{
    int n = ds->n_items;
    keyed *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    int *owner = malloc((size_t)(n ? n : 1) * sizeof *owner); /* list index or -1 */
    int *owner_line = malloc((size_t)(n ? n : 1) * sizeof *owner_line);
    if (!keys || !owner || !owner_line) {
        free(keys);
        free(owner);
        free(owner_line);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory matching fold lists");
    }
    for (int i = 0; i < n; i++) {
        match_key(ds->items[i].path, keys[i].key, sizeof keys[i].key);
        keys[i].index = i;
        owner[i] = -1;
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_keyed);
    mrnet_status st = MRNET_OK;
    for (int i = 1; i < n && st == MRNET_OK; i++)
        if (strcmp(keys[i].key, keys[i - 1].key) == 0)
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s and %s both match the list entry '%s'",
                            ds->items[keys[i - 1].index].path, ds->items[keys[i].index].path,
                            keys[i].key);
    for (int l = 0; l < n_lists && st == MRNET_OK; l++) {
        if (!lists[l])
            continue;
        char *text = NULL;
        size_t size = 0;
        st = read_whole_file(lists[l], (size_t)1 << 30, &text, &size);
        if (st != MRNET_OK)
            break;
        long line = 0;
        for (char *p = text; p && *p && st == MRNET_OK;) {
            char *nl = strchr(p, '\n');
            if (nl)
                *nl = '\0';
            line++;
            char *entry = str_trim(p);
            p = nl ? nl + 1 : NULL;
            if (!entry[0] || entry[0] == '#')
                continue;
            keyed probe;
            match_key(entry, probe.key, sizeof probe.key);
            keyed *hit = bsearch(&probe, keys, (size_t)n, sizeof *keys, cmp_keyed);
            char source[4200], reason[4400];
            snprintf(source, sizeof source, "%s:%ld", lists[l], line);
            if (!hit) {
                snprintf(reason, sizeof reason, "%.4000s: listed but not in the dataset "
                         "(missing or unreadable file)", entry);
                st = mrnet_dataset_skip_add(ds, source, reason);
                continue;
            }
            if (owner[hit->index] >= 0) {
                st = mrnet_fail(MRNET_ERR_FORMAT, "%s: %s is also listed in %s:%d", source, entry,
                                lists[owner[hit->index]], owner_line[hit->index]);
                break;
            }
            owner[hit->index] = l;
            owner_line[hit->index] = (int)line;
            st = assign(ds, hit->index, l);
        }
        free(text);
    }
    unsigned char *drop = NULL;
    if (st == MRNET_OK) {
        drop = malloc((size_t)(n ? n : 1));
        if (!drop)
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    if (st == MRNET_OK) {
        for (int i = 0; i < n; i++)
            drop[i] = owner[i] < 0;
        st = mrnet_dataset_drop(ds, drop, "in none of the lists");
    }
    free(drop);
    free(keys);
    free(owner);
    free(owner_line);
    return st;
}

static mrnet_status assign_fold(mrnet_dataset *ds, int item, int list)
{
    ds->items[item].fold = list + 1;
    return MRNET_OK;
}

mrnet_status mrnet_folds_read_lists(mrnet_dataset *ds, const char *list_dir, int *k_out)
{
    enum { MAX_FOLDS = 100 };
    char *paths[MAX_FOLDS];
    int k = 0;
    for (; k < MAX_FOLDS; k++) {
        char name[64];
        snprintf(name, sizeof name, "%d_fold.txt", k + 1);
        paths[k] = mrnet_path_join(list_dir, name);
        if (!paths[k]) {
            for (int i = 0; i < k; i++)
                free(paths[i]);
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        }
        if (!mrnet_path_is_file(paths[k])) {
            free(paths[k]);
            break;
        }
    }
    mrnet_status st = MRNET_OK;
    if (k == 0)
        st = mrnet_fail(MRNET_ERR_IO, "%s: no fold lists (expected 1_fold.txt, 2_fold.txt, ...)",
                        list_dir);
    else
        st = apply_lists(ds, (const char *const *)paths, k, assign_fold);
    for (int i = 0; i < k; i++)
        free(paths[i]);
    if (st == MRNET_OK && k_out)
        *k_out = k;
    return st;
}

static mrnet_status assign_split(mrnet_dataset *ds, int item, int list)
{
    static const char *const names[] = {"train", "valid", "test"};
    char *copy = data_strdup(names[list]);
    if (!copy)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    free(ds->items[item].split);
    ds->items[item].split = copy;
    return MRNET_OK;
}

mrnet_status mrnet_folds_read_split_lists(mrnet_dataset *ds, const char *train_list, const char *valid_list,
                                    const char *test_list)
{
    const char *lists[3] = {train_list, valid_list, test_list};
    for (int i = 0; i < 3; i++)
        if (lists[i] && !mrnet_path_is_file(lists[i]))
            return mrnet_fail(MRNET_ERR_IO, "%s: split list not found", lists[i]);
    return apply_lists(ds, lists, 3, assign_split);
}

/* ---- cross-validation ---- */

mrnet_status folds_cv_split(const mrnet_dataset *src, int eval_fold, int k, mrnet_dataset *train,
                            mrnet_dataset *valid, mrnet_dataset *test)
{
    if (k < 3 || eval_fold < 1 || eval_fold > k)
        return mrnet_fail(MRNET_ERR_ARG,
                          "cross-validation: fold %d of %d (need 1 <= fold <= k and k >= 3)",
                          eval_fold, k);
    int valid_fold = eval_fold % k + 1;
    mrnet_dataset *parts[3] = {train, valid, test};
    for (int p = 0; p < 3; p++)
        MRNET_TRY(mrnet_dataset_copy_labels(parts[p], src));
    for (int i = 0; i < src->n_items; i++) {
        const mrnet_dataset_item *it = &src->items[i];
        if (it->fold < 1 || it->fold > k)
            continue;
        int p = it->fold == eval_fold ? 2 : it->fold == valid_fold ? 1 : 0;
        static const char *const names[] = {"train", "valid", "test"};
        MRNET_TRY(mrnet_dataset_add(parts[p], it->path, it->label, names[p], it->fold, it->id));
        parts[p]->items[parts[p]->n_items - 1].label_index = it->label_index;
        MRNET_TRY(mrnet_dataset_set_group(parts[p], parts[p]->n_items - 1, it->group));
    }
    return MRNET_OK;
}
