/* The dataset container and the generic readers (class folders, plain
 * folders, CSV manifests). The paper datasets live in gtzan.c, fma.c and
 * melon.c and use the same container. */
#include "data/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/datautil.h"
#include "tensor/error.h"

void mrnet_dataset_init(mrnet_dataset *ds) { memset(ds, 0, sizeof *ds); }

static void free_labels(mrnet_dataset *ds)
{
    for (int i = 0; i < ds->n_labels; i++)
        free(ds->labels[i]);
    free(ds->labels);
    ds->labels = NULL;
    ds->n_labels = 0;
}

static void item_free(mrnet_dataset_item *it)
{
    free(it->path);
    free(it->label);
    free(it->split);
    free(it->id);
    free(it->group);
}

void mrnet_dataset_free(mrnet_dataset *ds)
{
    for (int i = 0; i < ds->n_items; i++)
        item_free(&ds->items[i]);
    free(ds->items);
    for (int i = 0; i < ds->n_skipped; i++) {
        free(ds->skipped[i].source);
        free(ds->skipped[i].reason);
    }
    free(ds->skipped);
    free_labels(ds);
    memset(ds, 0, sizeof *ds);
}

mrnet_status mrnet_dataset_add(mrnet_dataset *ds, const char *path, const char *label, const char *split,
                         int fold, const char *id)
{
    if (!path || !path[0])
        return mrnet_fail(MRNET_ERR_ARG, "dataset_add: empty path");
    if (ds->n_items == ds->cap_items) {
        int cap = ds->cap_items ? 2 * ds->cap_items : 64;
        mrnet_dataset_item *items = realloc(ds->items, (size_t)cap * sizeof *items);
        if (!items)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory growing a dataset of %d items",
                              ds->n_items);
        ds->items = items;
        ds->cap_items = cap;
    }
    mrnet_dataset_item it = {.path = data_strdup(path),
                       .label = data_strdup(label),
                       .label_index = -1,
                       .split = data_strdup(split),
                       .fold = fold,
                       .id = data_strdup(id),
                       .group = data_strdup("")};
    if (!it.path || !it.label || !it.split || !it.id || !it.group) {
        item_free(&it);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory adding %s", path);
    }
    ds->items[ds->n_items++] = it;
    return MRNET_OK;
}

mrnet_status mrnet_dataset_set_group(mrnet_dataset *ds, int item, const char *group)
{
    if (item < 0 || item >= ds->n_items)
        return mrnet_fail(MRNET_ERR_ARG, "dataset_set_group: item %d outside 0..%d", item, ds->n_items - 1);
    char *copy = data_strdup(group ? group : "");
    if (!copy)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory setting a group");
    free(ds->items[item].group);
    ds->items[item].group = copy;
    return MRNET_OK;
}

bool mrnet_dataset_has_groups(const mrnet_dataset *ds)
{
    for (int i = 0; i < ds->n_items; i++)
        if (ds->items[i].group[0])
            return true;
    return false;
}

mrnet_status mrnet_dataset_skip_add(mrnet_dataset *ds, const char *source, const char *reason)
{
    if (ds->n_skipped == ds->cap_skipped) {
        int cap = ds->cap_skipped ? 2 * ds->cap_skipped : 16;
        mrnet_dataset_skip *s = realloc(ds->skipped, (size_t)cap * sizeof *s);
        if (!s)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory recording a skipped entry");
        ds->skipped = s;
        ds->cap_skipped = cap;
    }
    mrnet_dataset_skip sk = {data_strdup(source), data_strdup(reason)};
    if (!sk.source || !sk.reason) {
        free(sk.source);
        free(sk.reason);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory recording a skipped entry");
    }
    ds->skipped[ds->n_skipped++] = sk;
    return MRNET_OK;
}

int mrnet_dataset_label_index(const mrnet_dataset *ds, const char *label)
{
    if (!label)
        return -1;
    /* Linear: a few hundred classes at most, and fixed (checkpoint) label
     * lists are in the checkpoint's order, not sorted. */
    for (int i = 0; i < ds->n_labels; i++)
        if (strcmp(ds->labels[i], label) == 0)
            return i;
    return -1;
}

static mrnet_status labels_from_items(mrnet_dataset *ds)
{
    strvec all = {0};
    for (int i = 0; i < ds->n_items; i++) {
        if (ds->items[i].label[0] == '\0')
            continue;
        mrnet_status st = strvec_push(&all, ds->items[i].label);
        if (st != MRNET_OK) {
            strvec_free(&all);
            return st;
        }
    }
    strvec_sort(&all);
    int n = 0; /* unique, in place */
    for (int i = 0; i < all.n; i++) {
        if (n > 0 && strcmp(all.v[n - 1], all.v[i]) == 0)
            free(all.v[i]);
        else
            all.v[n++] = all.v[i];
    }
    ds->labels = all.v;
    ds->n_labels = n;
    if (n == 0) {
        free(all.v);
        ds->labels = NULL;
    }
    return MRNET_OK;
}

static mrnet_status labels_copy(mrnet_dataset *ds, char *const *fixed, int n_fixed)
{
    ds->labels = calloc((size_t)n_fixed, sizeof *ds->labels);
    if (!ds->labels)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory copying %d labels", n_fixed);
    for (int i = 0; i < n_fixed; i++) {
        ds->labels[i] = data_strdup(fixed[i]);
        ds->n_labels = i + 1;
        if (!ds->labels[i])
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory copying labels");
    }
    return MRNET_OK;
}

/* Removes the flagged items (order kept), recording each as skipped with
 * reason, or when reason is NULL with "its class is not one of the list". */
static mrnet_status drop_items(mrnet_dataset *ds, const unsigned char *drop, const char *reason)
{
    int kept = 0;
    mrnet_status st = MRNET_OK;
    for (int i = 0; i < ds->n_items; i++) {
        mrnet_dataset_item *it = &ds->items[i];
        if (drop[i] && st == MRNET_OK) {
            char why[512];
            if (!reason)
                snprintf(why, sizeof why, "class '%.200s' is not one of the %d given classes",
                         it->label, ds->n_labels);
            st = mrnet_dataset_skip_add(ds, it->path, reason ? reason : why);
            if (st == MRNET_OK) {
                item_free(it);
                continue;
            }
        }
        ds->items[kept++] = *it;
    }
    ds->n_items = kept;
    return st;
}

/* Class names sorted once for lookups by binary search: label indices of n
 * items then cost n log K, not n K (a manifest of 10^5 distinct labels took
 * minutes with the linear search). */
typedef struct {
    const char *name;
    int index;
} label_slot;

static int label_slot_cmp(const void *a, const void *b)
{
    return strcmp(((const label_slot *)a)->name, ((const label_slot *)b)->name);
}

static label_slot *label_lookup_build(char *const *labels, int n)
{
    label_slot *t = malloc((size_t)(n > 0 ? n : 1) * sizeof *t);
    if (!t)
        return NULL;
    for (int i = 0; i < n; i++)
        t[i] = (label_slot){labels[i], i};
    qsort(t, (size_t)n, sizeof *t, label_slot_cmp);
    return t;
}

static int label_lookup(const label_slot *t, int n, const char *name)
{
    label_slot key = {name, -1};
    const label_slot *hit = name ? bsearch(&key, t, (size_t)n, sizeof *t, label_slot_cmp) : NULL;
    return hit ? hit->index : -1;
}

mrnet_status mrnet_dataset_finalize_labels(mrnet_dataset *ds, char *const *fixed_labels, int n_fixed)
{
    free_labels(ds);
    if (fixed_labels && n_fixed > 0) {
        label_slot *sorted = label_lookup_build(fixed_labels, n_fixed);
        if (!sorted)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory checking the label list");
        for (int i = 1; i < n_fixed; i++)
            if (strcmp(sorted[i].name, sorted[i - 1].name) == 0) {
                mrnet_status st = mrnet_fail(MRNET_ERR_ARG, "label '%s' appears twice in the "
                                             "label list", sorted[i].name);
                free(sorted);
                return st;
            }
        free(sorted);
        MRNET_TRY(labels_copy(ds, fixed_labels, n_fixed));
    } else {
        MRNET_TRY(labels_from_items(ds));
    }
    /* Set indices; with a fixed list, items of other classes leave the set
     * (order kept) and are reported. */
    unsigned char *drop = calloc((size_t)(ds->n_items ? ds->n_items : 1), 1);
    label_slot *lookup = label_lookup_build(ds->labels, ds->n_labels);
    if (!drop || !lookup) {
        free(drop);
        free(lookup);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory finalizing labels");
    }
    for (int i = 0; i < ds->n_items; i++) {
        mrnet_dataset_item *it = &ds->items[i];
        it->label_index = it->label[0] ? label_lookup(lookup, ds->n_labels, it->label) : -1;
        drop[i] = it->label[0] && it->label_index < 0;
    }
    free(lookup);
    mrnet_status st = drop_items(ds, drop, NULL);
    free(drop);
    return st;
}

/* ---- readers ---- */

static mrnet_status add_file(mrnet_dataset *ds, const char *path, const char *label)
{
    char stem[512];
    path_stem(path, stem, sizeof stem);
    return mrnet_dataset_add(ds, path, label, "", -1, stem);
}

mrnet_status mrnet_dataset_read_folder(mrnet_dataset *ds, const char *root)
{
    if (!path_is_dir(root))
        return mrnet_fail(MRNET_ERR_IO, "%s: not a folder", root);
    /* The class folders are the sub-folders of root; everything below a class
     * folder (recursively) belongs to that class. */
    strvec top = {0};
    mrnet_status st = path_list_media(root, &top);
    /* path_list_media gives media files; the class of each is the first path
     * component below root. Files directly in root have no class. */
    size_t root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/')
        root_len--;
    for (int i = 0; st == MRNET_OK && i < top.n; i++) {
        const char *rel = top.v[i] + root_len;
        while (*rel == '/')
            rel++;
        const char *slash = strchr(rel, '/');
        if (!slash) {
            st = mrnet_dataset_skip_add(ds, top.v[i], "not inside a class sub-folder");
            continue;
        }
        char label[512];
        size_t n = (size_t)(slash - rel);
        if (n >= sizeof label) {
            st = mrnet_dataset_skip_add(ds, top.v[i], "class folder name too long");
            continue;
        }
        memcpy(label, rel, n);
        label[n] = '\0';
        st = add_file(ds, top.v[i], label);
    }
    strvec_free(&top);
    /* No item is not an error: the caller may read root as plain files. */
    return st;
}

mrnet_status mrnet_dataset_read_files(mrnet_dataset *ds, const char *root)
{
    if (mrnet_path_is_file(root)) /* a single file is a set of one */
        return add_file(ds, root, "");
    if (!path_is_dir(root))
        return mrnet_fail(MRNET_ERR_IO, "%s: no such file or folder", root);
    strvec files = {0};
    mrnet_status st = path_list_media(root, &files);
    for (int i = 0; st == MRNET_OK && i < files.n; i++)
        st = add_file(ds, files.v[i], "");
    if (st == MRNET_OK && files.n == 0)
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s: no audio or feature files found", root);
    strvec_free(&files);
    return st;
}

/* ---- CSV manifest ---- */

typedef struct {
    mrnet_dataset *ds;
    const char *path;
    char *dir; /* manifest's folder, NULL when paths stay as written */
    int n_columns;
    int col_path, col_label, col_split, col_fold, col_group;
    int n_added;
    /* rows added so far, by path: an open-addressing table of (path, line) */
    char **seen_path;
    long *seen_line;
    size_t seen_cap, seen_n;
} manifest_state;

static size_t path_hash(const char *p)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (size_t)h;
}

static size_t seen_find(const manifest_state *m, const char *path)
{
    size_t j = path_hash(path) & (m->seen_cap - 1);
    while (m->seen_path[j] && strcmp(m->seen_path[j], path) != 0)
        j = (j + 1) & (m->seen_cap - 1);
    return j;
}

/* The line that already listed path (0: none); else remembers it at line. */
static mrnet_status seen_check(manifest_state *m, const char *path, long line, long *earlier)
{
    *earlier = 0;
    if (2 * (m->seen_n + 1) > m->seen_cap) {
        manifest_state grown = *m;
        grown.seen_cap = m->seen_cap ? 2 * m->seen_cap : 256;
        grown.seen_path = calloc(grown.seen_cap, sizeof *grown.seen_path);
        grown.seen_line = calloc(grown.seen_cap, sizeof *grown.seen_line);
        if (!grown.seen_path || !grown.seen_line) {
            free(grown.seen_path);
            free(grown.seen_line);
            return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", m->path);
        }
        for (size_t i = 0; i < m->seen_cap; i++)
            if (m->seen_path[i]) {
                size_t j = seen_find(&grown, m->seen_path[i]);
                grown.seen_path[j] = m->seen_path[i];
                grown.seen_line[j] = m->seen_line[i];
            }
        free(m->seen_path);
        free(m->seen_line);
        *m = grown;
    }
    size_t j = seen_find(m, path);
    if (m->seen_path[j]) {
        *earlier = m->seen_line[j];
        return MRNET_OK;
    }
    if (!(m->seen_path[j] = data_strdup(path)))
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", m->path);
    m->seen_line[j] = line;
    m->seen_n++;
    return MRNET_OK;
}

/* Accepts the usual spellings and maps them to "train", "valid", "test". */
const char *mrnet_dataset_normalize_split(const char *split)
{
    static const char *const names[][4] = {
        {"train", "training", "tr", NULL},
        {"valid", "validation", "val", "dev"},
        {"test", "testing", "eval", "evaluation"},
    };
    if (!split[0])
        return "";
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4 && names[i][j]; j++)
            if (str_equal_nocase(split, names[i][j]))
                return names[i][0];
    return NULL;
}

static mrnet_status manifest_header(manifest_state *m, long line, char **f, int n)
{
    m->n_columns = n;
    m->col_path = m->col_label = m->col_split = m->col_fold = m->col_group = -1;
    for (int i = 0; i < n; i++) {
        char *name = str_trim(f[i]);
        int *col = str_equal_nocase(name, "path")    ? &m->col_path
                   : str_equal_nocase(name, "label") ? &m->col_label
                   : str_equal_nocase(name, "split") ? &m->col_split
                   : str_equal_nocase(name, "fold")  ? &m->col_fold
                   : str_equal_nocase(name, "group") ? &m->col_group
                                                     : NULL;
        if (!col)
            continue; /* extra columns (duration, artist, ...) are allowed */
        if (*col >= 0)
            return mrnet_fail(MRNET_ERR_FORMAT, "%s:%ld: column '%s' appears twice", m->path,
                              line, name);
        *col = i;
    }
    if (m->col_path < 0 || m->col_label < 0)
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s:%ld: header must name the columns 'path' and 'label' "
                          "(optional: 'split', 'fold', 'group'), e.g. path,label,split,fold",
                          m->path, line);
    return MRNET_OK;
}

static mrnet_status manifest_row(void *ctx, long line, char **f, int n)
{
    manifest_state *m = ctx;
    if (m->n_columns == 0)
        return manifest_header(m, line, f, n);
    char source[4200], reason[4400];
    snprintf(source, sizeof source, "%s:%ld", m->path, line);
    if (n != m->n_columns) {
        snprintf(reason, sizeof reason, "expected %d fields as in the header, found %d",
                 m->n_columns, n);
        return mrnet_dataset_skip_add(m->ds, source, reason);
    }
    const char *path = str_trim(f[m->col_path]);
    const char *label = str_trim(f[m->col_label]);
    const char *split = m->col_split >= 0 ? str_trim(f[m->col_split]) : "";
    const char *fold_text = m->col_fold >= 0 ? str_trim(f[m->col_fold]) : "";
    const char *group = m->col_group >= 0 ? str_trim(f[m->col_group]) : "";
    if (!path[0])
        return mrnet_dataset_skip_add(m->ds, source, "missing path");
    /* An item without its group would escape the artist filter. */
    if (m->col_group >= 0 && !group[0])
        return mrnet_dataset_skip_add(m->ds, source, "empty group (the manifest has a 'group' column: "
                                      "every row needs its track, album or artist)");
    const char *norm = mrnet_dataset_normalize_split(split);
    if (!norm) {
        snprintf(reason, sizeof reason, "split '%.200s' is not train, valid or test", split);
        return mrnet_dataset_skip_add(m->ds, source, reason);
    }
    long fold = -1;
    if (fold_text[0] && (!parse_int(fold_text, &fold) || fold < 0 || fold > 1000000)) {
        snprintf(reason, sizeof reason, "fold '%.200s' is not a non-negative integer", fold_text);
        return mrnet_dataset_skip_add(m->ds, source, reason);
    }
    char *full = (m->dir && !path_is_absolute(path)) ? mrnet_path_join(m->dir, path) : data_strdup(path);
    if (!full)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory reading %s", source);
    mrnet_status st;
    long earlier = 0;
    if ((st = seen_check(m, full, line, &earlier)) != MRNET_OK) {
        free(full);
        return st;
    }
    if (earlier) {
        snprintf(reason, sizeof reason, "%.4000s: listed again (first at line %ld, which is kept)", full, earlier);
        st = mrnet_dataset_skip_add(m->ds, source, reason);
    } else if (!mrnet_path_is_file(full)) {
        snprintf(reason, sizeof reason, "%.4000s: file not found", full);
        st = mrnet_dataset_skip_add(m->ds, source, reason);
    } else {
        char stem[512];
        path_stem(full, stem, sizeof stem);
        st = mrnet_dataset_add(m->ds, full, label, norm, (int)fold, stem);
        if (st == MRNET_OK && group[0])
            st = mrnet_dataset_set_group(m->ds, m->ds->n_items - 1, group);
        m->n_added += st == MRNET_OK;
    }
    free(full);
    return st;
}

mrnet_status mrnet_dataset_read_manifest(mrnet_dataset *ds, const char *csv_path)
{
    manifest_state m = {.ds = ds, .path = csv_path};
    if (strchr(csv_path, '/')) {
        m.dir = mrnet_path_dirname(csv_path);
        if (!m.dir)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    mrnet_status st = csv_read_rows(csv_path, manifest_row, &m);
    free(m.dir);
    for (size_t i = 0; i < m.seen_cap; i++)
        free(m.seen_path[i]);
    free(m.seen_path);
    free(m.seen_line);
    if (st != MRNET_OK)
        return st;
    if (m.n_columns == 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: empty manifest (expected a header line "
                          "path,label[,split][,fold][,group])", csv_path);
    if (m.n_added == 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: no usable rows (%d skipped%s%s%s%s)", csv_path,
                          ds->n_skipped, ds->n_skipped ? "; last: " : "",
                          ds->n_skipped ? ds->skipped[ds->n_skipped - 1].source : "",
                          ds->n_skipped ? ": " : "",
                          ds->n_skipped ? ds->skipped[ds->n_skipped - 1].reason : "");
    return MRNET_OK;
}

int mrnet_dataset_count_split(const mrnet_dataset *ds, const char *split)
{
    int n = 0;
    for (int i = 0; i < ds->n_items; i++)
        n += !split || strcmp(ds->items[i].split, split) == 0;
    return n;
}

mrnet_status mrnet_dataset_select(mrnet_dataset *dst, const mrnet_dataset *src, const char *split, int fold)
{
    if (dst->n_labels == 0 && src->n_labels > 0)
        MRNET_TRY(mrnet_dataset_copy_labels(dst, src));
    label_slot *lookup = label_lookup_build(dst->labels, dst->n_labels);
    if (!lookup)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory selecting items");
    mrnet_status st = MRNET_OK;
    for (int i = 0; i < src->n_items && st == MRNET_OK; i++) {
        const mrnet_dataset_item *it = &src->items[i];
        if ((split && strcmp(it->split, split) != 0) || (fold >= 0 && it->fold != fold))
            continue;
        st = mrnet_dataset_add(dst, it->path, it->label, it->split, it->fold, it->id);
        if (st == MRNET_OK) {
            dst->items[dst->n_items - 1].label_index = label_lookup(lookup, dst->n_labels, it->label);
            st = mrnet_dataset_set_group(dst, dst->n_items - 1, it->group);
        }
    }
    free(lookup);
    return st;
}

mrnet_status mrnet_dataset_class_weights(const mrnet_dataset *ds, const char *split, float *w)
{
    if (ds->n_labels == 0)
        return mrnet_fail(MRNET_ERR_ARG, "class weights: the dataset's labels are not finalized");
    int *count = calloc((size_t)ds->n_labels, sizeof *count);
    if (!count)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory counting classes");
    for (int i = 0; i < ds->n_items; i++) {
        const mrnet_dataset_item *it = &ds->items[i];
        if (it->label_index >= 0 && (!split || strcmp(it->split, split) == 0))
            count[it->label_index]++;
    }
    int largest = 0;
    for (int k = 0; k < ds->n_labels; k++)
        if (count[k] > largest)
            largest = count[k];
    for (int k = 0; k < ds->n_labels; k++)
        w[k] = count[k] > 0 ? (float)largest / (float)count[k] : 0.0f;
    free(count);
    return MRNET_OK;
}

mrnet_status mrnet_dataset_drop(mrnet_dataset *ds, const unsigned char *drop, const char *reason)
{
    return drop_items(ds, drop, reason ? reason : "dropped");
}

mrnet_status mrnet_dataset_copy_labels(mrnet_dataset *dst, const mrnet_dataset *src)
{
    free_labels(dst);
    return src->n_labels > 0 ? labels_copy(dst, src->labels, src->n_labels) : MRNET_OK;
}
