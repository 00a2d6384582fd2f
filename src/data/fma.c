#include "data/fma.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/decode.h"
#include "data/datautil.h"
#include "tensor/error.h"

static const char *const subset_names[] = {"small", "medium", "large"};

bool mrnet_fma_parse_subset(const char *name, mrnet_fma_subset *out)
{
    for (int i = 0; i < 3; i++)
        if (str_equal_nocase(name, subset_names[i])) {
            *out = (mrnet_fma_subset)i;
            return true;
        }
    return false;
}

const char *mrnet_fma_subset_name(mrnet_fma_subset subset)
{
    return subset >= MRNET_FMA_SMALL && subset <= MRNET_FMA_LARGE ? subset_names[subset] : "?";
}

void fma_track_path(char *out, size_t out_size, const char *dir, long track_id, const char *ext)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    snprintf(out, out_size, "%.*s/%03ld/%06ld.%s", (int)n, dir, track_id / 1000, track_id, ext);
}

typedef struct {
    mrnet_dataset *ds;
    const mrnet_fma_options *opt;
    const char *csv;
    const char *audio_dir;
    mrnet_fma_report *rep;
    strvec level0, level1;
    int header_rows; /* 3 for the real file, 1 for a flattened one */
    int rows_seen;
    int n_columns;
    int col_subset, col_split, col_genre;
} fma_state;

static int find_column(const fma_state *s, const char *l0, const char *l1)
{
    for (int i = 0; i < s->n_columns; i++) {
        bool top_ok = s->header_rows == 1 || strcmp(s->level0.v[i], l0) == 0;
        if (top_ok && strcmp(s->level1.v[i], l1) == 0)
            return i;
    }
    return -1;
}

static mrnet_status locate_columns(fma_state *s, long line)
{
    s->n_columns = s->level1.n;
    s->col_subset = find_column(s, "set", "subset");
    s->col_split = find_column(s, "set", "split");
    s->col_genre = find_column(s, "track", "genre_top");
    const char *missing = s->col_subset < 0  ? "(set, subset)"
                          : s->col_split < 0 ? "(set, split)"
                          : s->col_genre < 0 ? "(track, genre_top)"
                                             : NULL;
    if (missing)
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s:%ld: no column %s in the header (expected fma_metadata/tracks.csv "
                          "with its three header lines)",
                          s->csv, line, missing);
    return MRNET_OK;
}

static bool contains(char **f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i], name) == 0)
            return true;
    return false;
}

/* Header lines 1-3: level-0 names, level-1 names, "track_id" + empties. A
 * flattened file (one line of level-1 names) is accepted too. */
static mrnet_status header_row(fma_state *s, long line, char **f, int n)
{
    s->rows_seen++;
    if (s->rows_seen == 1) {
        if (contains(f, n, "genre_top")) { /* flattened */
            s->header_rows = 1;
            for (int i = 0; i < n; i++) {
                MRNET_TRY(strvec_push(&s->level0, ""));
                MRNET_TRY(strvec_push(&s->level1, str_trim(f[i])));
            }
            return locate_columns(s, line);
        }
        if (!contains(f, n, "track") || !contains(f, n, "set"))
            return mrnet_fail(MRNET_ERR_FORMAT,
                              "%s:%ld: not FMA's tracks.csv (the first header line should list "
                              "album, artist, set, track)",
                              s->csv, line);
        s->header_rows = 3;
        for (int i = 0; i < n; i++)
            MRNET_TRY(strvec_push(&s->level0, str_trim(f[i])));
        return MRNET_OK;
    }
    if (s->rows_seen == 2) {
        if (n != s->level0.n)
            return mrnet_fail(MRNET_ERR_FORMAT,
                              "%s:%ld: second header line has %d fields, the first has %d",
                              s->csv, line, n, s->level0.n);
        for (int i = 0; i < n; i++)
            MRNET_TRY(strvec_push(&s->level1, str_trim(f[i])));
        return MRNET_OK;
    }
    if (strcmp(str_trim(f[0]), "track_id") != 0)
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s:%ld: third header line should start with 'track_id', found '%.100s'",
                          s->csv, line, f[0]);
    return locate_columns(s, line);
}

static mrnet_status bad_row(fma_state *s, const char *source, const char *reason)
{
    s->rep->bad_rows++;
    return mrnet_dataset_skip_add(s->ds, source, reason);
}

static mrnet_status find_audio(fma_state *s, long id, char *path, size_t size)
{
    if (s->opt->ext) {
        fma_track_path(path, size, s->audio_dir, id, s->opt->ext);
        return mrnet_path_is_file(path) ? MRNET_OK : MRNET_ERR_IO;
    }
    fma_track_path(path, size, s->audio_dir, id, "wav");
    if (mrnet_path_is_file(path))
        return MRNET_OK;
    fma_track_path(path, size, s->audio_dir, id, "mp3"); /* named in the message if missing */
    return mrnet_path_is_file(path) ? MRNET_OK : MRNET_ERR_IO;
}

static mrnet_status track_row(void *ctx, long line, char **f, int n)
{
    fma_state *s = ctx;
    if (s->rows_seen < s->header_rows)
        return header_row(s, line, f, n);
    s->rep->rows++;
    char source[4200], reason[4400];
    snprintf(source, sizeof source, "%s:%ld", s->csv, line);
    if (n != s->n_columns) {
        snprintf(reason, sizeof reason, "expected %d fields as in the header, found %d",
                 s->n_columns, n);
        return bad_row(s, source, reason);
    }
    long id;
    if (!parse_int(f[0], &id) || id < 0) {
        snprintf(reason, sizeof reason, "track id '%.100s' is not a non-negative integer", f[0]);
        return bad_row(s, source, reason);
    }
    mrnet_fma_subset subset;
    if (!mrnet_fma_parse_subset(str_trim(f[s->col_subset]), &subset)) {
        snprintf(reason, sizeof reason, "track %ld: subset '%.100s' is not small, medium or large",
                 id, f[s->col_subset]);
        return bad_row(s, source, reason);
    }
    if (subset > s->opt->subset)
        return MRNET_OK; /* another subset: not an error, not recorded */
    s->rep->in_subset++;
    const char *split_text = str_trim(f[s->col_split]);
    const char *split = mrnet_dataset_normalize_split(split_text);
    if (!split || !split[0]) {
        snprintf(reason, sizeof reason, "track %ld: split '%.100s' is not training, validation "
                 "or test", id, split_text);
        return bad_row(s, source, reason);
    }
    const char *genre = str_trim(f[s->col_genre]);
    if (!genre[0]) {
        s->rep->no_genre++;
        snprintf(reason, sizeof reason, "track %ld: no genre_top (its genres have several roots)",
                 id);
        return mrnet_dataset_skip_add(s->ds, source, reason);
    }
    char path[4096];
    if (find_audio(s, id, path, sizeof path) != MRNET_OK) {
        s->rep->missing_audio++;
        snprintf(reason, sizeof reason, "track %ld: %.4000s: audio file not found", id, path);
        return mrnet_dataset_skip_add(s->ds, source, reason);
    }
    char why[512];
    if (s->opt->check_audio && !audio_is_readable(path, why, sizeof why)) {
        s->rep->unreadable++;
        snprintf(reason, sizeof reason, "track %ld: %.3000s: %s", id, path, why);
        return mrnet_dataset_skip_add(s->ds, source, reason);
    }
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%ld", id);
    return mrnet_dataset_add(s->ds, path, genre, split, -1, id_text);
}

static char *default_audio_dir(const char *root, mrnet_fma_subset subset)
{
    static const char *const names[][2] = {{"fma_small", "small"},
                                           {"fma_medium", "medium"},
                                           {"fma_large", "large"}};
    for (int k = (int)subset; k <= MRNET_FMA_LARGE + 1; k++)
        for (int j = 0; j < 2; j++) {
            const char *name = k <= MRNET_FMA_LARGE ? names[k][j] : "fma_full";
            char *dir = mrnet_path_join(root, name);
            if (!dir || path_is_dir(dir))
                return dir;
            free(dir);
        }
    return NULL;
}

typedef struct {
    long id;
    int index;
} id_index;

static int cmp_id(const void *a, const void *b)
{
    long x = ((const id_index *)a)->id, y = ((const id_index *)b)->id;
    return (x > y) - (x < y);
}

/* MRNet's class order: first appearance over the training tracks by
 * ascending id, then classes only seen in valid/test in the same walk. */
static mrnet_status finalize_mrnet_order(mrnet_dataset *ds)
{
    id_index *order = malloc((size_t)(ds->n_items ? ds->n_items : 1) * sizeof *order);
    if (!order)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory ordering FMA classes");
    for (int i = 0; i < ds->n_items; i++)
        order[i] = (id_index){strtol(ds->items[i].id, NULL, 10), i};
    qsort(order, (size_t)ds->n_items, sizeof *order, cmp_id);
    strvec labels = {0};
    mrnet_status st = MRNET_OK;
    for (int pass = 0; pass < 2 && st == MRNET_OK; pass++)
        for (int j = 0; j < ds->n_items && st == MRNET_OK; j++) {
            const mrnet_dataset_item *it = &ds->items[order[j].index];
            if ((strcmp(it->split, "train") == 0) != (pass == 0))
                continue;
            st = strvec_push_unique(&labels, it->label);
        }
    free(order);
    if (st == MRNET_OK)
        st = mrnet_dataset_finalize_labels(ds, labels.v, labels.n);
    strvec_free(&labels);
    return st;
}

mrnet_status mrnet_fma_read(mrnet_dataset *ds, const char *root, const mrnet_fma_options *opt, mrnet_fma_report *report)
{
    mrnet_fma_options defaults = {.subset = MRNET_FMA_SMALL};
    mrnet_fma_report local;
    if (!opt)
        opt = &defaults;
    if (!report)
        report = &local;
    memset(report, 0, sizeof *report);
    if (opt->subset < MRNET_FMA_SMALL || opt->subset > MRNET_FMA_LARGE)
        return mrnet_fail(MRNET_ERR_ARG, "FMA: unknown subset %d", (int)opt->subset);
    if (ds->n_items != 0)
        return mrnet_fail(MRNET_ERR_ARG, "fma_read: the dataset must start empty");
    char *csv = opt->tracks_csv ? data_strdup(opt->tracks_csv)
                                : mrnet_path_join(root, "fma_metadata/tracks.csv");
    char *audio = opt->audio_dir ? data_strdup(opt->audio_dir)
                                 : default_audio_dir(root, opt->subset);
    mrnet_status st = MRNET_OK;
    if (!csv)
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    else if (!audio)
        st = mrnet_fail(MRNET_ERR_IO, "%s: no audio folder for the %s subset (tried fma_%s, %s "
                        "and the larger subsets' folders)", root, mrnet_fma_subset_name(opt->subset),
                        mrnet_fma_subset_name(opt->subset), mrnet_fma_subset_name(opt->subset));
    else if (!path_is_dir(audio))
        st = mrnet_fail(MRNET_ERR_IO, "%s: audio folder not found", audio);
    fma_state s = {.ds = ds, .opt = opt, .csv = csv, .audio_dir = audio, .rep = report,
                   .header_rows = 3};
    if (st == MRNET_OK)
        st = csv_read_rows(csv, track_row, &s);
    if (st == MRNET_OK && s.rows_seen < s.header_rows)
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s: ends inside the header (%d of %d lines)", csv,
                        s.rows_seen, s.header_rows);
    if (st == MRNET_OK && ds->n_items == 0)
        st = mrnet_fail(MRNET_ERR_FORMAT,
                        "%s: no usable track in the %s subset (%d rows, %d in the subset, %d "
                        "without genre_top, %d without audio under %s)",
                        csv, mrnet_fma_subset_name(opt->subset), report->rows, report->in_subset,
                        report->no_genre, report->missing_audio, audio);
    if (st == MRNET_OK)
        st = finalize_mrnet_order(ds);
    strvec_free(&s.level0);
    strvec_free(&s.level1);
    free(csv);
    free(audio);
    return st;
}
