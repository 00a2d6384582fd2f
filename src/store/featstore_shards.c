/* Extraction over several processes (mrnet_extract_options.comm).
 *
 * Each source belongs to one process (a hash of its canonical path, so a
 * file listed twice stays with one process, which reports the repeat), and
 * each process extracts its share into STORE/parts/rank-R with the
 * one-process extraction: a store of its own, journaled, resumable. Rank 0
 * then merges the parts: their feature files move into STORE/features/
 * (same names: the path hash), their entries join STORE's index, which is
 * rewritten in the dataset's order. Parts a killed run left, of any process
 * count, are merged before anything is planned, so the run continues with
 * what they hold; sources already fresh in STORE are no process's work. */
#define _XOPEN_SOURCE 700
#include "store/featstore.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "features/features.h"
#include "frontend/wavlm.h"
#include "mrnet/parallel.h"
#include "store/featstore_internal.h"
#include "tensor/error.h"
#include "tensor/fileio.h"

#define PARTS "parts"

/* ---- rank 0: parts into the store ---------------------------------------------------- */

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *dir) { nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

/* The index with every entry the store holds (featstore_save_index writes
 * only those it is given). */
static mrnet_status save_all(const mrnet_store *fs)
{
    int *order = malloc(sizeof(int) * (size_t)(fs->n_entries > 0 ? fs->n_entries : 1));
    if (!order)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < fs->n_entries; i++)
        order[i] = i;
    mrnet_status st = featstore_save_index(fs, order, fs->n_entries);
    free(order);
    return st;
}

/* Moves one file of a part (relative path rel) to the same place in the store. */
static mrnet_status move_file(const char *part, const char *store, const char *rel)
{
    char from[4096], to[4096], sub[4096];
    snprintf(from, sizeof from, "%s/%s", part, rel);
    snprintf(to, sizeof to, "%s/%s", store, rel);
    snprintf(sub, sizeof sub, "%s", to);
    char *slash = strrchr(sub, '/');
    if (slash) {
        *slash = '\0';
        MRNET_TRY(mrnet_make_dirs(sub));
    }
    if (rename(from, to) != 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot move into %s: %s", from, store, strerror(errno));
    return MRNET_OK;
}

/* The intact entries of one part into main (its files moved); the part goes. */
static mrnet_status merge_part(mrnet_store *main, const char *part)
{
    mrnet_store p;
    mrnet_status st = featstore_load(part, &p);
    if (st != MRNET_OK) { /* a part killed before its index: nothing to keep */
        featstore_release(&p);
        remove_tree(part);
        return MRNET_OK;
    }
    if (strcmp(p.settings, main->settings) != 0) { /* a part of a run with other settings */
        featstore_release(&p);
        remove_tree(part);
        return MRNET_OK;
    }
    for (int i = 0; i < p.n_entries && st == MRNET_OK; i++) {
        mrnet_store_entry *e = &p.entries[i];
        if (!e->external && !featstore_entry_intact(&p, e))
            continue;
        if (!e->external) {
            st = move_file(part, main->dir, e->file);
            if (st == MRNET_OK && e->int8) {
                char scale[4096];
                snprintf(scale, sizeof scale, "%.*s.scale.npy", (int)strlen(e->file) - 4, e->file);
                st = move_file(part, main->dir, scale);
            }
        }
        if (st == MRNET_OK) {
            mrnet_store_entry moved = *e;
            memset(e, 0, sizeof *e); /* main takes the strings */
            st = featstore_put(main, &moved);
        }
    }
    featstore_release(&p);
    /* the index first: a kill now recomputes the moved files, loses nothing */
    if (st == MRNET_OK)
        st = save_all(main);
    if (st == MRNET_OK)
        remove_tree(part);
    return st;
}

static mrnet_status merge_parts(mrnet_store *main)
{
    char parts[4096];
    snprintf(parts, sizeof parts, "%s/%s", main->dir, PARTS);
    DIR *d = opendir(parts);
    if (!d)
        return MRNET_OK;
    struct dirent *e;
    mrnet_status st = MRNET_OK;
    while (st == MRNET_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char part[4096 + 256];
        snprintf(part, sizeof part, "%s/%s", parts, e->d_name);
        st = merge_part(main, part);
    }
    closedir(d);
    if (st == MRNET_OK)
        rmdir(parts);
    return st;
}

/* Opens (or creates) the store with these settings and merges what a killed
 * run left; a store of other settings is refused unless rebuild. */
static mrnet_status open_main(const char *dir, const char *settings, bool rebuild, mrnet_store *main)
{
    char index[4096];
    snprintf(index, sizeof index, "%s/%s", dir, FEATSTORE_INDEX);
    struct stat st;
    if (stat(index, &st) == 0) {
        MRNET_TRY(featstore_load(dir, main));
        bool same = !strcmp(main->settings, settings);
        if (!same && !rebuild)
            return mrnet_fail(MRNET_ERR_ARG,
                              "%s: the store was made with other settings (%s); this run asks for (%s). "
                              "Use another folder, or --rebuild to recompute everything",
                              dir, main->settings, settings);
        if (rebuild) {
            for (int i = 0; i < main->n_entries; i++)
                featstore_entry_free(&main->entries[i]);
            main->n_entries = 0;
            for (int i = 0; i < main->n_slots; i++)
                main->slots[i] = -1;
            char parts[4096 + 8];
            snprintf(parts, sizeof parts, "%s/%s", dir, PARTS);
            remove_tree(parts);
        }
        free(main->settings);
        if (!(main->settings = strdup(settings)))
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    } else {
        main->dir = strdup(dir);
        main->settings = strdup(settings);
        if (!main->dir || !main->settings)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    MRNET_TRY(save_all(main));
    return merge_parts(main);
}

/* The index in the dataset's order: its sources with fresh entries, each
 * with the dataset's label, split and fold. */
static mrnet_status compact_main(mrnet_store *main, const mrnet_dataset *ds)
{
    int *order = malloc(sizeof(int) * (size_t)(ds->n_items > 0 ? ds->n_items : 1));
    bool *used = calloc((size_t)(main->n_entries > 0 ? main->n_entries : 1), sizeof(bool));
    mrnet_status st = order && used ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < ds->n_items && st == MRNET_OK; i++) {
        char *canon = featstore_canonical(ds->items[i].path);
        if (!canon) {
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
            break;
        }
        int idx = featstore_lookup(main, canon);
        if (idx >= 0 && !used[idx] && featstore_entry_fresh(main, &main->entries[idx], canon)) {
            used[idx] = true;
            order[n++] = idx;
            st = featstore_entry_set_meta(&main->entries[idx], &ds->items[i]);
        }
        free(canon);
    }
    if (st == MRNET_OK)
        st = featstore_set_labels(main, ds->labels, ds->n_labels);
    if (st == MRNET_OK)
        st = featstore_save_index(main, order, n);
    free(order);
    free(used);
    return st;
}

/* ---- every process: its share ----------------------------------------------------------- */

/* This process's items: sources whose hash falls to it and that the store
 * does not hold fresh. *fresh counts the distinct sources it holds fresh. */
static mrnet_status own_share(const mrnet_collective *c, const mrnet_store *main,
                              const mrnet_dataset *ds, mrnet_dataset *mine, int *fresh)
{
    *mine = *ds;
    mine->items = malloc(sizeof *mine->items * (size_t)(ds->n_items > 0 ? ds->n_items : 1));
    mine->n_items = mine->cap_items = 0;
    mine->skipped = NULL;
    mine->n_skipped = mine->cap_skipped = 0;
    if (!mine->items)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    bool *seen = calloc((size_t)(main->n_entries > 0 ? main->n_entries : 1), sizeof(bool));
    if (!seen)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    *fresh = 0;
    for (int i = 0; i < ds->n_items; i++) {
        char *canon = featstore_canonical(ds->items[i].path);
        if (!canon) {
            free(seen);
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        }
        int idx = featstore_lookup(main, canon);
        /* a const store: freshness only reads, bar the refreshed mtime rank 0 writes later */
        mrnet_store_entry probe = idx >= 0 ? main->entries[idx] : (mrnet_store_entry){0};
        if (idx >= 0 && featstore_entry_fresh(main, &probe, canon)) {
            *fresh += !seen[idx];
            seen[idx] = true;
        } else if ((int)(featstore_hash_string(canon) % (uint64_t)c->size) == c->rank) {
            mine->items[mine->n_items++] = ds->items[i];
        }
        free(canon);
    }
    free(seen);
    return MRNET_OK;
}

/* ---- the report, whole on every process ------------------------------------------------- */

static mrnet_status copy_issues(mrnet_extract_issue **list, int *n, const char *text)
{
    for (const char *line = text; *line;) {
        const char *tab = strchr(line, '\t'), *end = strchr(line, '\n');
        if (!tab || !end || tab > end)
            break;
        mrnet_extract_issue *grown = realloc(*list, sizeof **list * (size_t)(*n + 1));
        if (!grown)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        *list = grown;
        grown[*n].source = strndup(line, (size_t)(tab - line));
        grown[*n].reason = strndup(tab + 1, (size_t)(end - tab - 1));
        if (!grown[*n].source || !grown[*n].reason)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        (*n)++;
        line = end + 1;
    }
    return MRNET_OK;
}

/* "source\treason\n" lines of a list (tabs and newlines inside become spaces). */
static char *issues_text(const mrnet_extract_issue *list, int n, size_t *bytes)
{
    size_t size = 1;
    for (int i = 0; i < n; i++)
        size += strlen(list[i].source) + strlen(list[i].reason) + 2;
    char *text = malloc(size), *p = text;
    if (!text)
        return NULL;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            const char *s = k ? list[i].reason : list[i].source;
            for (; *s; s++)
                *p++ = (*s == '\t' || *s == '\n') ? ' ' : *s;
            *p++ = k ? '\n' : '\t';
        }
    }
    *p = '\0';
    *bytes = (size_t)(p - text) + 1;
    return text;
}

/* Every rank's list into every rank's report, in rank order. */
static mrnet_status gather_issues(const mrnet_collective *c, mrnet_extract_issue **list, int *n)
{
    size_t bytes = 0;
    char *mine = issues_text(*list, *n, &bytes);
    if (!mine)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    mrnet_extract_issue *all = NULL;
    int n_all = 0;
    mrnet_status st = MRNET_OK;
    for (int r = 0; r < c->size; r++) {
        double size = r == c->rank ? (double)bytes : 0;
        c->sum_double(c->ctx, &size, 1);
        char *text = r == c->rank ? mine : malloc((size_t)size);
        if (!text) { /* keep the collective going; the list is incomplete */
            static char none[1];
            char *scratch = malloc((size_t)size);
            c->broadcast(c->ctx, scratch ? scratch : none, scratch ? (size_t)size : 0, r);
            free(scratch);
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
            continue;
        }
        c->broadcast(c->ctx, text, (size_t)size, r);
        text[(size_t)size - 1] = '\0';
        if (st == MRNET_OK)
            st = copy_issues(&all, &n_all, text);
        if (text != mine)
            free(text);
    }
    free(mine);
    for (int i = 0; i < *n; i++) {
        free((*list)[i].source);
        free((*list)[i].reason);
    }
    free(*list);
    *list = all;
    *n = n_all;
    return st;
}

static void sum_report(const mrnet_collective *c, mrnet_extract_report *r)
{
    double v[6] = {r->total, r->reused, r->computed, r->failed, r->remaining, r->media_seconds};
    c->sum_double(c->ctx, v, 6);
    r->total = (int)v[0];
    r->reused = (int)v[1];
    r->computed = (int)v[2];
    r->failed = (int)v[3];
    r->remaining = (int)v[4];
    r->media_seconds = v[5];
}

/* ---- the run ---------------------------------------------------------------------------- */

static mrnet_status settings_of(const mrnet_extract_options *opt, char *settings, size_t size)
{
    mrnet_features_options f = opt->features;
    mrnet_wavlm *wavlm = NULL;
    mrnet_status st = mrnet_features_options_load(&f, &wavlm);
    mrnet_features_options_describe(&f, settings, size);
    mrnet_wavlm_free(wavlm);
    return st;
}

mrnet_status featstore_extract_sharded(const char *dir, const mrnet_dataset *ds,
                                       const mrnet_extract_options *opt, mrnet_extract_report *report)
{
    const mrnet_collective *c = opt->comm;
    bool root = c->rank == 0;
    char settings[1024];
    mrnet_store main;
    memset(&main, 0, sizeof main);
    int lock = -1;
    mrnet_status st = settings_of(opt, settings, sizeof settings);
    if (st == MRNET_OK && root)
        st = mrnet_make_dirs(dir);
    if (st == MRNET_OK && root)
        st = dir_lock(dir, "extraction", &lock); /* the store is rank 0's; parts their own */
    if (st == MRNET_OK && root)
        st = open_main(dir, settings, opt->rebuild, &main);
    featstore_release(&main);
    memset(&main, 0, sizeof main);
    st = mrnet_collective_agree(c, st);
    if (st != MRNET_OK) {
        dir_unlock(lock);
        return st;
    }

    /* every process plans from the store as rank 0 left it */
    mrnet_dataset mine = {0};
    int fresh = 0;
    st = featstore_load(dir, &main);
    if (st == MRNET_OK)
        st = own_share(c, &main, ds, &mine, &fresh);
    featstore_release(&main);
    memset(&main, 0, sizeof main);
    char part[4096 + 64];
    snprintf(part, sizeof part, "%s/%s/rank-%d", dir, PARTS, c->rank);
    mrnet_extract_options po = *opt;
    po.comm = NULL;
    po.rebuild = false;
    if (!root)
        po.progress = NULL;
    mrnet_status work = MRNET_OK;
    if (st == MRNET_OK && mine.n_items > 0)
        work = mrnet_store_extract(part, &mine, &po, report);
    else if (st == MRNET_OK)
        memset(report, 0, sizeof *report);
    free(mine.items);
    /* a failed share still merges what the others (and it) finished */
    st = mrnet_collective_agree(c, st);
    if (st != MRNET_OK) {
        dir_unlock(lock);
        return st;
    }
    report->reused += root ? fresh : 0;
    report->total += root ? fresh : 0;
    char work_message[2048];
    snprintf(work_message, sizeof work_message, "%s", work == MRNET_OK ? "" : mrnet_last_error());
    sum_report(c, report);
    st = gather_issues(c, &report->failures, &report->n_failures);
    if (st == MRNET_OK)
        st = gather_issues(c, &report->warnings, &report->n_warnings);

    mrnet_status merged = MRNET_OK;
    if (root) {
        merged = featstore_load(dir, &main);
        if (merged == MRNET_OK)
            merged = merge_parts(&main);
        if (merged == MRNET_OK)
            merged = compact_main(&main, ds);
        featstore_release(&main);
    }
    dir_unlock(lock);
    merged = mrnet_collective_agree(c, merged);
    if (merged != MRNET_OK)
        return merged;
    if (st != MRNET_OK)
        return st;
    if (work != MRNET_OK)
        mrnet_fail(work, "%s", work_message);
    return mrnet_collective_agree(c, work);
}
