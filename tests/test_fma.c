/* FMA: tracks.csv with its real three-line header (52 columns located by
 * name), multi-line quoted fields, subsets, the official split, genre_top,
 * the id -> path rule, missing and undecodable audio, bad rows. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fma.h"
#include "data_fixtures.h"

/* The columns of fma_metadata/tracks.csv in file order (datasets.md). */
static const char *const album_cols[] = {"comments", "date_created", "date_released", "engineer",
                                         "favorites", "id", "information", "listens", "producer",
                                         "tags", "title", "tracks", "type"};
static const char *const artist_cols[] = {
    "active_year_begin", "active_year_end", "associated_labels", "bio", "comments",
    "date_created", "favorites", "id", "latitude", "location", "longitude", "members", "name",
    "related_projects", "tags", "website", "wikipedia_page"};
static const char *const set_cols[] = {"split", "subset"};
static const char *const track_cols[] = {
    "bit_rate", "comments", "composer", "date_created", "date_recorded", "duration", "favorites",
    "genre_top", "genres", "genres_all", "information", "interest", "language_code", "license",
    "listens", "lyricist", "number", "publisher", "tags", "title"};

#define N_COLS 52

typedef struct {
    const char *l0, *l1;
} column;

static column columns[N_COLS];

static void init_columns(void)
{
    int k = 0;
    for (size_t i = 0; i < 13; i++)
        columns[k++] = (column){"album", album_cols[i]};
    for (size_t i = 0; i < 17; i++)
        columns[k++] = (column){"artist", artist_cols[i]};
    for (size_t i = 0; i < 2; i++)
        columns[k++] = (column){"set", set_cols[i]};
    for (size_t i = 0; i < 20; i++)
        columns[k++] = (column){"track", track_cols[i]};
    assert_int_equal(k, N_COLS);
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = 2 * (*len + n + 1);
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

/* One data row: the id and 52 fields, each already CSV-encoded; fields not
 * given are empty, except a few realistic ones. */
static void data_row(char **buf, size_t *len, size_t *cap, const char *id, const char *subset,
                     const char *split, const char *genre_top, const char *bio)
{
    append(buf, len, cap, id);
    for (int c = 0; c < N_COLS; c++) {
        append(buf, len, cap, ",");
        const char *l0 = columns[c].l0, *l1 = columns[c].l1;
        const char *v = "";
        if (!strcmp(l0, "set") && !strcmp(l1, "subset"))
            v = subset;
        else if (!strcmp(l0, "set") && !strcmp(l1, "split"))
            v = split;
        else if (!strcmp(l0, "track") && !strcmp(l1, "genre_top"))
            v = genre_top;
        else if (!strcmp(l0, "artist") && !strcmp(l1, "bio"))
            v = bio;
        else if (!strcmp(l1, "genres") || !strcmp(l1, "genres_all"))
            v = "\"[21, 17]\"";
        else if (!strcmp(l0, "track") && !strcmp(l1, "tags"))
            v = "\"['rock', \"\"it's\"\"]\"";
        else if (!strcmp(l1, "date_created"))
            v = "2008-11-26 01:48:12";
        else if (!strcmp(l0, "track") && !strcmp(l1, "bit_rate"))
            v = "256000";
        append(buf, len, cap, v);
    }
    append(buf, len, cap, "\n");
}

static const char *bio_multiline = "\"<p>A band from Brooklyn, NY.</p>\n<p>They said \"\"hi\"\", "
                                   "twice.</p>\n\"";

/* Writes <root>/fma_metadata/tracks.csv; the comments give each row's
 * physical line (track 2's bio spans three lines). */
static void write_tracks_csv(const char *root)
{
    init_columns();
    char *buf = NULL;
    size_t len = 0, cap = 0;
    /* line 1: level 0; line 2: level 1; line 3: index name */
    for (int c = 0; c < N_COLS; c++) {
        append(&buf, &len, &cap, ",");
        append(&buf, &len, &cap, columns[c].l0);
    }
    append(&buf, &len, &cap, "\n");
    for (int c = 0; c < N_COLS; c++) {
        append(&buf, &len, &cap, ",");
        append(&buf, &len, &cap, columns[c].l1);
    }
    append(&buf, &len, &cap, "\ntrack_id");
    for (int c = 0; c < N_COLS; c++)
        append(&buf, &len, &cap, ",");
    append(&buf, &len, &cap, "\n");
    /* line 4 */
    data_row(&buf, &len, &cap, "2", "small", "training", "Rock", bio_multiline); /* 4-6 */
    data_row(&buf, &len, &cap, "3", "medium", "training", "Hip-Hop", "");         /* 7 */
    data_row(&buf, &len, &cap, "5", "small", "validation", "Pop", "");            /* 8 */
    data_row(&buf, &len, &cap, "10", "small", "test", "\"Old-Time / Historic\"", ""); /* 9 */
    data_row(&buf, &len, &cap, "20", "large", "training", "", "");               /* 10 */
    data_row(&buf, &len, &cap, "140", "medium", "training", "Folk", "");          /* 11 */
    data_row(&buf, &len, &cap, "141", "small", "training", "", "");               /* 12 */
    data_row(&buf, &len, &cap, "abc", "small", "training", "Rock", "");           /* 13 */
    append(&buf, &len, &cap, "999,small,training\n");                              /* 14 */
    data_row(&buf, &len, &cap, "1000", "small", "training", "Hip-Hop", "");       /* 15 */
    data_row(&buf, &len, &cap, "133297", "small", "training", "Rock", "");        /* 16 */
    data_row(&buf, &len, &cap, "155320", "large", "test", "Rock", "");            /* 17 */
    data_row(&buf, &len, &cap, "7", "tiny", "training", "Rock", "");              /* 18 */
    char path[1024];
    snprintf(path, sizeof path, "%s/fma_metadata/tracks.csv", root);
    fx_mkdir_parent(path);
    assert_int_equal(test_write_file(path, buf, len), 0);
    free(buf);
}

static void test_path_rule(void **state)
{
    (void)state;
    char p[256];
    fma_track_path(p, sizeof p, "fma_large/", 2, "mp3");
    assert_string_equal(p, "fma_large/000/000002.mp3");
    fma_track_path(p, sizeof p, "/d/small", 133297, "wav");
    assert_string_equal(p, "/d/small/133/133297.wav");
    mrnet_fma_subset s;
    assert_true(mrnet_fma_parse_subset("Medium", &s));
    assert_int_equal(s, MRNET_FMA_MEDIUM);
    assert_false(mrnet_fma_parse_subset("full", &s));
}

static void test_small(void **state)
{
    (void)state;
    char root[512], path[1024];
    snprintf(root, sizeof root, "%s", test_path("fma"));
    write_tracks_csv(root);
    /* fma_small holds the small tracks' files; 000140 (medium) is not
     * there. 000005 is missing, as happens with partial downloads. */
    const long small_ids[] = {2, 10, 141, 1000, 133297};
    for (size_t i = 0; i < sizeof small_ids / sizeof *small_ids; i++) {
        fma_track_path(path, sizeof path, test_path("fma/fma_small"), small_ids[i], "mp3");
        fx_touch(path);
    }
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    mrnet_fma_report rep;
    mrnet_fma_options opt = {.subset = MRNET_FMA_SMALL};
    assert_int_equal(mrnet_fma_read(&ds, root, &opt, &rep), MRNET_OK);
    /* small: 2 Rock train, 5 Pop valid (missing), 10 Old-Time test, 141 no
     * genre, 1000 Hip-Hop train, 133297 Rock train. */
    assert_int_equal(ds.n_items, 4);
    assert_string_equal(ds.items[0].id, "2");
    assert_string_equal(ds.items[0].label, "Rock");
    assert_string_equal(ds.items[0].split, "train");
    assert_non_null(strstr(ds.items[0].path, "fma/fma_small/000/000002.mp3"));
    assert_string_equal(ds.items[1].id, "10");
    assert_string_equal(ds.items[1].label, "Old-Time / Historic");
    assert_string_equal(ds.items[1].split, "test");
    assert_string_equal(ds.items[2].id, "1000");
    assert_non_null(strstr(ds.items[2].path, "fma_small/001/001000.mp3"));
    assert_non_null(strstr(ds.items[3].path, "fma_small/133/133297.mp3"));

    /* MRNet's class order: first appearance over training tracks by id
     * (Rock at 2, Hip-Hop at 1000), then test/valid-only classes. */
    assert_int_equal(ds.n_labels, 3);
    assert_string_equal(ds.labels[0], "Rock");
    assert_string_equal(ds.labels[1], "Hip-Hop");
    assert_string_equal(ds.labels[2], "Old-Time / Historic");
    assert_int_equal(ds.items[2].label_index, 1);

    assert_int_equal(rep.rows, 13);
    assert_int_equal(rep.in_subset, 6);
    assert_int_equal(rep.no_genre, 1);
    assert_int_equal(rep.missing_audio, 1);
    assert_int_equal(rep.bad_rows, 3);
    int s = fx_find_skip(&ds, "tracks.csv:8");
    assert_true(s >= 0);
    assert_non_null(strstr(ds.skipped[s].reason, "000/000005.mp3: audio file not found"));
    s = fx_find_skip(&ds, "tracks.csv:12");
    assert_true(s >= 0);
    assert_non_null(strstr(ds.skipped[s].reason, "no genre_top"));
    s = fx_find_skip(&ds, "tracks.csv:13");
    assert_true(s >= 0);
    assert_non_null(strstr(ds.skipped[s].reason, "'abc'"));
    s = fx_find_skip(&ds, "tracks.csv:14");
    assert_true(s >= 0);
    assert_non_null(strstr(ds.skipped[s].reason, "expected 53 fields"));
    s = fx_find_skip(&ds, "tracks.csv:18");
    assert_true(s >= 0);
    assert_non_null(strstr(ds.skipped[s].reason, "'tiny'"));

    float w[3];
    assert_int_equal(mrnet_dataset_class_weights(&ds, "train", w), MRNET_OK);
    assert_float_equal(w[0], 1.0f, 1e-6); /* Rock: 2 of the largest 2 */
    assert_float_equal(w[1], 2.0f, 1e-6); /* Hip-Hop: 2 / 1 */
    assert_float_equal(w[2], 0.0f, 0);    /* no training example */
    mrnet_dataset_free(&ds);
}

static void test_medium_and_large(void **state)
{
    (void)state;
    char root[512], path[1024];
    snprintf(root, sizeof root, "%s", test_path("fma2"));
    write_tracks_csv(root);
    const long ids[] = {2, 3, 5, 10, 20, 140, 141, 1000, 133297, 155320};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        fma_track_path(path, sizeof path, test_path("fma2/fma_large"), ids[i], "mp3");
        fx_touch(path);
    }
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    mrnet_fma_report rep;
    mrnet_fma_options opt = {.subset = MRNET_FMA_MEDIUM}; /* no fma_medium: uses fma_large */
    assert_int_equal(mrnet_fma_read(&ds, root, &opt, &rep), MRNET_OK);
    /* medium = small + medium: 2 3 5 10 140 1000 133297 (141: no genre) */
    assert_int_equal(ds.n_items, 7);
    assert_int_equal(rep.in_subset, 8);
    assert_int_equal(mrnet_dataset_count_split(&ds, "valid"), 1);
    assert_int_equal(mrnet_dataset_count_split(&ds, "test"), 1);
    assert_string_equal(ds.labels[0], "Rock");
    assert_string_equal(ds.labels[1], "Hip-Hop");
    assert_string_equal(ds.labels[2], "Folk");
    mrnet_dataset_free(&ds);

    mrnet_dataset_init(&ds);
    opt.subset = MRNET_FMA_LARGE;
    assert_int_equal(mrnet_fma_read(&ds, root, &opt, &rep), MRNET_OK);
    assert_int_equal(ds.n_items, 8); /* + 155320 */
    assert_int_equal(rep.no_genre, 2); /* 20 and 141 */
    assert_string_equal(ds.items[7].id, "155320");
    assert_non_null(strstr(ds.items[7].path, "155/155320.mp3"));
    mrnet_dataset_free(&ds);
}

static void test_converted_wav_and_check(void **state)
{
    (void)state;
    char root[512], path[1024];
    snprintf(root, sizeof root, "%s", test_path("fma3"));
    write_tracks_csv(root);
    /* MRNet's layout: <root>/small/<3>/<6>.wav; 133297 has "no audio". */
    const long ids[] = {2, 5, 10, 1000};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        fma_track_path(path, sizeof path, test_path("fma3/small"), ids[i], "wav");
        fx_write_wav(path, 160, 16000);
    }
    fma_track_path(path, sizeof path, test_path("fma3/small"), 133297, "wav");
    fx_write_text(path, "not audio at all");
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    mrnet_fma_report rep;
    mrnet_fma_options opt = {.subset = MRNET_FMA_SMALL, .check_audio = true};
    assert_int_equal(mrnet_fma_read(&ds, root, &opt, &rep), MRNET_OK);
    assert_int_equal(ds.n_items, 4);
    assert_int_equal(rep.unreadable, 1);
    assert_int_equal(rep.missing_audio, 0);
    assert_non_null(strstr(ds.items[0].path, "fma3/small/000/000002.wav"));
    int s = fx_find_skip(&ds, "tracks.csv:16");
    assert_true(s >= 0);
    assert_non_null(strstr(ds.skipped[s].reason, "133297.wav: cannot be decoded"));
    mrnet_dataset_free(&ds);

    /* Explicit paths and extension. */
    mrnet_fma_options explicit_opt = {.subset = MRNET_FMA_SMALL, .ext = "mp3",
                                .audio_dir = test_path("fma3/small")};
    char csv[1024];
    snprintf(csv, sizeof csv, "%s/fma_metadata/tracks.csv", root);
    explicit_opt.tracks_csv = csv;
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_fma_read(&ds, "/nonexistent", &explicit_opt, NULL), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "no usable track"));
    mrnet_dataset_free(&ds);
}

static void test_bad_files(void **state)
{
    (void)state;
    char path[1024];
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    fx_mkdir_p(test_path("fma4/fma_small"));
    assert_int_equal(mrnet_fma_read(&ds, test_path("fma4"), NULL, NULL), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), "tracks.csv"));

    snprintf(path, sizeof path, "%s", test_path("fma4/fma_metadata/tracks.csv"));
    fx_write_text(path, "path,label\na.wav,rock\n");
    assert_int_equal(mrnet_fma_read(&ds, test_path("fma4"), NULL, NULL), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "tracks.csv:1"));

    fx_write_text(path, ",set,set,track\n,split,subset,title\ntrack_id,,,\n");
    assert_int_equal(mrnet_fma_read(&ds, test_path("fma4"), NULL, NULL), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "(track, genre_top)"));

    /* A flattened file (lines 1 and 3 removed) is read too. */
    fx_write_text(path, "track_id,genre_top,split,subset\n2,Rock,training,small\n");
    fx_touch(test_path("fma4/fma_small/000/000002.mp3"));
    assert_int_equal(mrnet_fma_read(&ds, test_path("fma4"), NULL, NULL), MRNET_OK);
    assert_int_equal(ds.n_items, 1);
    mrnet_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_rule),
        cmocka_unit_test(test_small),
        cmocka_unit_test(test_medium_and_large),
        cmocka_unit_test(test_converted_wav_and_check),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
