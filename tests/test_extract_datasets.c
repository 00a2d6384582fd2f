/* mrnet extract's dataset options, end to end through the command line:
 * GTZAN fold lists read (--folds), drawn (--make-folds, deterministic and
 * stratified), written (--write-folds) and read back identically; split
 * lists (--split-lists); a drawn split (--make-split) for a manifest; fold
 * lists for a class folder; FMA with --fma-tracks/--fma-audio/--check-audio;
 * Melon with --melon-label/--melon-folds; and the usage and data errors.
 * The folds and splits are checked in the store's index. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/featstore.h"
#include "tensor/npy.h"
#include "data_fixtures.h"

static const char *const genres[] = {"blues", "jazz", "rock"};
#define N_GENRES 3
#define PER_GENRE 4
#define QUIET "--quiet --preset melon"

static char gtzan_root[512];

/* <root>/genres_original/<genre>/<genre>.0000N.wav, short, plus the
 * corrupt Kaggle jazz.00054.wav (skipped by the reader). */
static int setup(void **state)
{
    (void)state;
    snprintf(gtzan_root, sizeof gtzan_root, "%s", test_path("gtzan"));
    char path[1024];
    for (int g = 0; g < N_GENRES; g++)
        for (int i = 0; i < PER_GENRE; i++) {
            snprintf(path, sizeof path, "%s/genres_original/%s/%s.%05d.wav", gtzan_root, genres[g], genres[g], i);
            fx_write_wav(path, 2000 + 100 * i, 22050);
        }
    snprintf(path, sizeof path, "%s/genres_original/jazz/jazz.00054.wav", gtzan_root);
    static const char junk[] = "RIFF\x10\0\0\0WAVEjunkjunkjunk";
    if (test_write_file(path, junk, sizeof junk - 1))
        return -1;
    return 0;
}

static void expect_rc(int rc, int want)
{
    if (rc != want)
        fail_msg("exit status %d, expected %d; output:\n%s", rc, want, test_cli_output());
}

static void expect_output(const char *fragment)
{
    if (!strstr(test_cli_output(), fragment))
        fail_msg("output lacks '%s':\n%s", fragment, test_cli_output());
}

static mrnet_store *open_store(const char *name)
{
    mrnet_store *fs = NULL;
    assert_int_equal(mrnet_store_open(test_path(name), &fs), MRNET_OK);
    return fs;
}

/* The entry whose source ends with suffix (must exist). */
static const mrnet_store_entry *entry(const mrnet_store *fs, const char *suffix)
{
    size_t n = strlen(suffix);
    for (int i = 0; i < mrnet_store_count(fs); i++) {
        const mrnet_store_entry *e = mrnet_store_get(fs, i);
        size_t m = strlen(e->source);
        if (m >= n && !strcmp(e->source + m - n, suffix))
            return e;
    }
    fail_msg("no store entry ends with %s", suffix);
    return NULL;
}

static void gtzan_name(char *out, size_t size, int g, int i)
{
    snprintf(out, size, "%s/%s.%05d.wav", genres[g], genres[g], i);
}

/* Folds of the GTZAN items in a store, [genre][item]. */
static void store_folds(const char *store, int folds[N_GENRES][PER_GENRE])
{
    mrnet_store *fs = open_store(store);
    assert_int_equal(mrnet_store_count(fs), N_GENRES * PER_GENRE);
    char name[128];
    for (int g = 0; g < N_GENRES; g++)
        for (int i = 0; i < PER_GENRE; i++) {
            gtzan_name(name, sizeof name, g, i);
            folds[g][i] = entry(fs, name)->fold;
        }
    mrnet_store_close(fs);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    static char buf[4][8192];
    static int turn;
    char *b = buf[turn++ % 4];
    size_t n = fread(b, 1, sizeof buf[0] - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void test_gtzan_make_write_read_folds(void **state)
{
    (void)state;
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --make-folds 4 --seed 7 --write-folds '%s' " QUIET,
                           gtzan_root, test_path("g_a"), test_path("folds_a")),
              0);
    expect_output("items per fold (drawn, stratified): 1=3 2=3 3=3 4=3, none 0");
    expect_output("seed 7");
    expect_output("jazz.00054.wav");
    int a[N_GENRES][PER_GENRE];
    store_folds("g_a", a);
    /* Stratified: every genre has one item in each of the 4 folds. */
    for (int g = 0; g < N_GENRES; g++) {
        int seen[5] = {0};
        for (int i = 0; i < PER_GENRE; i++) {
            assert_in_range(a[g][i], 1, 4);
            seen[a[g][i]]++;
        }
        for (int f = 1; f <= 4; f++)
            assert_int_equal(seen[f], 1);
    }
    /* The lists hold paths relative to the GTZAN root, MRNet's format. */
    char list[1024];
    snprintf(list, sizeof list, "%s/1_fold.txt", test_path("folds_a"));
    assert_non_null(strstr(slurp(list), "genres_original/"));
    snprintf(list, sizeof list, "%s/5_fold.txt", test_path("folds_a"));
    assert_null(fopen(list, "rb"));

    /* Same seed: the same folds and byte-identical lists. */
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --make-folds 4 --seed 7 --write-folds '%s' " QUIET,
                           gtzan_root, test_path("g_b"), test_path("folds_b")),
              0);
    int b[N_GENRES][PER_GENRE];
    store_folds("g_b", b);
    assert_memory_equal(a, b, sizeof a);
    for (int f = 1; f <= 4; f++) {
        char pa[1024], pb[1024];
        snprintf(pa, sizeof pa, "%s/%d_fold.txt", test_path("folds_a"), f);
        snprintf(pb, sizeof pb, "%s/%d_fold.txt", test_path("folds_b"), f);
        assert_string_equal(slurp(pa), slurp(pb));
    }
    /* Another seed: another draw (fixed seeds, so this is not flaky). */
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --make-folds 4 --seed 8 " QUIET, gtzan_root,
                           test_path("g_c")),
              0);
    int c[N_GENRES][PER_GENRE];
    store_folds("g_c", c);
    assert_true(memcmp(a, c, sizeof a) != 0);

    /* --folds reads the written lists back: the same folds. */
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --folds '%s' " QUIET, gtzan_root,
                           test_path("g_d"), test_path("folds_a")),
              0);
    expect_output("items per fold: 1=3 2=3 3=3 4=3, none 0");
    int d[N_GENRES][PER_GENRE];
    store_folds("g_d", d);
    assert_memory_equal(a, d, sizeof a);

    /* Writing 3 folds where 4 lists lie would leave a stale 4_fold.txt. */
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --make-folds 3 --write-folds '%s' " QUIET,
                           gtzan_root, test_path("g_e"), test_path("folds_a")),
              1);
    expect_output("4_fold.txt: left from a run with more folds");
}

/* Hand-written MRNet-style lists: a missing file and an unlisted file. */
static void test_gtzan_hand_lists(void **state)
{
    (void)state;
    char dir[512], path[1024], text[4096] = "";
    snprintf(dir, sizeof dir, "%s", test_path("hand_folds"));
    /* fold 1: items 0,1 of each genre; fold 2: items 2 (3 is unlisted), plus
     * the corrupt jazz.00054 as in MRNet's real lists. */
    for (int f = 1; f <= 2; f++) {
        text[0] = '\0';
        for (int g = 0; g < N_GENRES; g++)
            for (int i = (f - 1) * 2; i < (f == 1 ? 2 : 3); i++) {
                char line[256];
                snprintf(line, sizeof line, "genres_original/%s/%s.%05d.wav\n", genres[g], genres[g], i);
                strcat(text, line);
            }
        if (f == 2)
            strcat(text, "genres_original/jazz/jazz.00054.wav\n");
        snprintf(path, sizeof path, "%s/%d_fold.txt", dir, f);
        fx_write_text(path, text);
    }
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --folds '%s' " QUIET, gtzan_root,
                           test_path("g_hand"), dir),
              0);
    expect_output("items per fold: 1=6 2=3, none 0");
    expect_output("2_fold.txt:4"); /* the listed jazz.00054, named with its line */
    expect_output("in none of the lists");
    mrnet_store *fs = open_store("g_hand");
    assert_int_equal(mrnet_store_count(fs), 9);
    assert_int_equal(entry(fs, "rock/rock.00001.wav")->fold, 1);
    assert_int_equal(entry(fs, "jazz/jazz.00002.wav")->fold, 2);
    mrnet_store_close(fs);
}

/* The fault-filtered split's format: "blues/blues.00012.wav". */
static void test_gtzan_split_lists(void **state)
{
    (void)state;
    const char *parts[3] = {"train.txt", "valid.txt", "test.txt"};
    for (int p = 0; p < 3; p++) {
        char text[1024] = "", line[128], path[1024];
        for (int g = 0; g < N_GENRES; g++) {
            /* train: 0,1; valid: 2; test: 3 (rock.00003 left out) */
            int lo = p == 0 ? 0 : p + 1, hi = p == 0 ? 1 : p + 1;
            for (int i = lo; i <= hi; i++) {
                if (p == 2 && g == 2)
                    continue;
                gtzan_name(line, sizeof line, g, i);
                strcat(text, line);
                strcat(text, "\n");
            }
        }
        snprintf(path, sizeof path, "%s", test_path(parts[p]));
        fx_write_text(path, text);
    }
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --split-lists '%s,%s,%s' " QUIET, gtzan_root,
                           test_path("g_split"), test_path("train.txt"), test_path("valid.txt"),
                           test_path("test.txt")),
              0);
    expect_output("items per split: train 6, valid 3, test 2, none 0");
    mrnet_store *fs = open_store("g_split");
    assert_int_equal(mrnet_store_count(fs), 11);
    assert_string_equal(entry(fs, "blues/blues.00001.wav")->split, "train");
    assert_string_equal(entry(fs, "jazz/jazz.00002.wav")->split, "valid");
    assert_string_equal(entry(fs, "jazz/jazz.00003.wav")->split, "test");
    assert_int_equal(entry(fs, "jazz/jazz.00003.wav")->fold, -1);
    mrnet_store_close(fs);
    /* A part may be empty; a missing list is a data error naming it. */
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --split-lists '%s,,%s' " QUIET, gtzan_root,
                           test_path("g_split2"), test_path("train.txt"), test_path("nope.txt")),
              1);
    expect_output("nope.txt: split list not found");
}

/* A manifest (folders of audio next to it) with a drawn split, and a class
 * folder with fold lists, written and read back. */
static void test_manifest_and_folder(void **state)
{
    (void)state;
    char path[1024], csv[4096] = "path,label\n", line[256];
    for (int g = 0; g < N_GENRES; g++)
        for (int i = 0; i < PER_GENRE; i++) {
            snprintf(path, sizeof path, "%s/audio/%s/%s_%d.wav", test_path("man"), genres[g], genres[g], i);
            fx_write_wav(path, 1500, 16000);
            snprintf(line, sizeof line, "audio/%s/%s_%d.wav,%s\n", genres[g], genres[g], i, genres[g]);
            strcat(csv, line);
        }
    snprintf(path, sizeof path, "%s/list.csv", test_path("man"));
    fx_write_text(path, csv);
    expect_rc(test_run_cli("extract '%s' -o '%s' --make-split 0.25,0.25 --seed 3 " QUIET, path,
                           test_path("m_split")),
              0);
    expect_output("items per split (drawn, stratified): train 6, valid 3, test 3, none 0");
    mrnet_store *fs = open_store("m_split");
    for (int g = 0; g < N_GENRES; g++) {
        int n[3] = {0};
        for (int i = 0; i < mrnet_store_count(fs); i++) {
            const mrnet_store_entry *e = mrnet_store_get(fs, i);
            if (strcmp(e->label, genres[g]))
                continue;
            n[!strcmp(e->split, "valid") + 2 * !strcmp(e->split, "test")]++;
        }
        assert_int_equal(n[0], 2);
        assert_int_equal(n[1], 1);
        assert_int_equal(n[2], 1);
    }
    mrnet_store_close(fs);

    /* Folds for the manifest, written relative to its folder, then read back
     * for the class folder below it (the lines match on folder/name). */
    expect_rc(test_run_cli("extract '%s' -o '%s' --make-folds 2 --seed 5 --write-folds '%s' " QUIET, path,
                           test_path("m_folds"), test_path("man_folds")),
              0);
    char list[1024];
    snprintf(list, sizeof list, "%s/1_fold.txt", test_path("man_folds"));
    assert_non_null(strstr(slurp(list), "audio/"));
    char audio[1024];
    snprintf(audio, sizeof audio, "%s/audio", test_path("man"));
    expect_rc(test_run_cli("extract '%s' -o '%s' --folds '%s' " QUIET, audio, test_path("f_folds"),
                           test_path("man_folds")),
              0);
    expect_output("items per fold: 1=6 2=6, none 0");
    mrnet_store *a = open_store("m_folds"), *b = open_store("f_folds");
    assert_int_equal(mrnet_store_count(a), mrnet_store_count(b));
    for (int i = 0; i < mrnet_store_count(a); i++) {
        const mrnet_store_entry *e = mrnet_store_get(a, i);
        const char *name = strstr(e->source, "/audio/") + 6;
        assert_int_equal(entry(b, name)->fold, e->fold);
    }
    mrnet_store_close(a);
    mrnet_store_close(b);
}

/* ---- FMA: tracks.csv with the real three header lines ---- */

static void append(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s", s);
}

static void write_fma(const char *tracks_csv)
{
    /* 13 album, 17 artist, 2 set, 20 track columns; set.split is column 31,
     * set.subset 32, track.genre_top 41 (1-based among the 52). */
    static const char *const l0[] = {"album", "artist", "set", "track"};
    static const int n_cols[] = {13, 17, 2, 20};
    static const char *const album_cols[] = {"comments", "date_created", "date_released", "engineer",
                                             "favorites", "id", "information", "listens", "producer",
                                             "tags", "title", "tracks", "type"};
    static const char *const artist_cols[] = {
        "active_year_begin", "active_year_end", "associated_labels", "bio", "comments", "date_created",
        "favorites", "id", "latitude", "location", "longitude", "members", "name", "related_projects", "tags",
        "website", "wikipedia_page"};
    static const char *const track_cols[] = {
        "bit_rate", "comments", "composer", "date_created", "date_recorded", "duration", "favorites",
        "genre_top", "genres", "genres_all", "information", "interest", "language_code", "license",
        "listens", "lyricist", "number", "publisher", "tags", "title"};
    static char buf[16384];
    buf[0] = '\0';
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < n_cols[k]; c++) {
            append(buf, sizeof buf, ",");
            append(buf, sizeof buf, l0[k]);
        }
    append(buf, sizeof buf, "\n");
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < n_cols[k]; c++) {
            const char *v = k == 0   ? album_cols[c]
                            : k == 1 ? artist_cols[c]
                            : k == 2 ? (c == 0 ? "split" : "subset")
                                     : track_cols[c];
            append(buf, sizeof buf, ",");
            append(buf, sizeof buf, v);
        }
    append(buf, sizeof buf, "\ntrack_id");
    for (int c = 0; c < 52; c++)
        append(buf, sizeof buf, ",");
    append(buf, sizeof buf, "\n");
    static const struct {
        const char *id, *split, *subset, *genre;
    } rows[] = {{"2", "training", "small", "Rock"},  {"3", "training", "small", "Pop"},
                {"5", "validation", "small", "Rock"}, {"10", "test", "small", "Pop"},
                {"20", "training", "small", "Rock"}, {"1000", "test", "small", ""}};
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        append(buf, sizeof buf, rows[r].id);
        for (int c = 0; c < 52; c++) {
            append(buf, sizeof buf, ",");
            if (c == 16) /* artist.bio: free text with a line break */
                append(buf, sizeof buf, "\"<p>From Brooklyn, NY.</p>\n<p>\"\"hi\"\"</p>\"");
            else if (c == 30)
                append(buf, sizeof buf, rows[r].split);
            else if (c == 31)
                append(buf, sizeof buf, rows[r].subset);
            else if (c == 39)
                append(buf, sizeof buf, rows[r].genre);
            else if (c == 40 || c == 41)
                append(buf, sizeof buf, "\"[21, 17]\"");
        }
        append(buf, sizeof buf, "\n");
    }
    fx_write_text(tracks_csv, buf);
}

static void test_fma_options(void **state)
{
    (void)state;
    char tracks[1024], audio[512], path[1024];
    snprintf(tracks, sizeof tracks, "%s", test_path("meta/tracks.csv"));
    snprintf(audio, sizeof audio, "%s", test_path("fma_audio"));
    write_fma(tracks);
    const char *good[] = {"000/000002.wav", "000/000003.wav", "000/000005.wav", "000/000010.wav",
                          "001/001000.wav"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        snprintf(path, sizeof path, "%s/%s", audio, good[i]);
        fx_write_wav(path, 1500, 16000);
    }
    snprintf(path, sizeof path, "%s/000/000020.wav", audio);
    fx_write_text(path, "not audio");
    /* Without --fma-tracks the default ROOT/fma_metadata/tracks.csv is missing. */
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset fma-small --fma-audio '%s' " QUIET, test_path("fma"),
                           test_path("fma_x"), audio),
              1);
    expect_output("tracks.csv");
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset fma-small --fma-tracks '%s' --fma-audio '%s' "
                           "--check-audio " QUIET,
                           test_path("fma"), test_path("fma_s"), tracks, audio),
              0);
    expect_output("fma: 6 rows in tracks.csv, 6 in the subset; skipped: 1 without genre_top, 0 without audio, "
                  "1 unreadable");
    expect_output("items per split: train 2, valid 1, test 1, none 0");
    mrnet_store *fs = open_store("fma_s");
    assert_int_equal(mrnet_store_count(fs), 4);
    assert_string_equal(entry(fs, "000/000005.wav")->split, "valid");
    assert_string_equal(entry(fs, "000/000010.wav")->label, "Pop");
    mrnet_store_close(fs);
}

/* ---- Melon: song_meta.json, genre_gn_all.json, arena_mel npy ---- */

/* A (rows, cols) float32 .npy like arena_mel's, through the library's writer. */
static void write_npy(const char *path, int rows, int cols)
{
    float *x = malloc((size_t)rows * (size_t)cols * sizeof *x);
    assert_non_null(x);
    for (int i = 0; i < rows * cols; i++)
        x[i] = (float)(i % 7) * 0.1f;
    fx_mkdir_parent(path);
    const int64_t shape[2] = {rows, cols};
    assert_int_equal(mrnet_npy_save_f32(path, 2, shape, x, false), MRNET_OK);
    free(x);
}

static void test_melon_options(void **state)
{
    (void)state;
    char root[512], path[1024];
    snprintf(root, sizeof root, "%s", test_path("melon"));
    snprintf(path, sizeof path, "%s/genre_gn_all.json", root);
    fx_write_text(path, "{\"GN0100\": \"ballad\", \"GN0200\": \"dance\"}");
    char meta[4096] = "[\n";
    for (int id = 0; id < 8; id++) {
        char line[256];
        const char *basket = id == 7 ? "[\"GN0100\", \"GN0200\"]" : id % 2 ? "[\"GN0200\"]" : "[\"GN0100\"]";
        snprintf(line, sizeof line, " {\"id\": %d, \"song_gn_gnr_basket\": %s}%s\n", id, basket, id < 7 ? "," : "");
        strcat(meta, line);
        snprintf(path, sizeof path, "%s/arena_mel/0/%d.npy", root, id);
        write_npy(path, 48, 64);
    }
    strcat(meta, "]\n");
    snprintf(path, sizeof path, "%s/song_meta.json", root);
    fx_write_text(path, meta);
    /* single: song 7 (two genres) is left out. */
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset melon --melon-folds 2 --seed 4 " QUIET, root,
                           test_path("mel_a")),
              0);
    expect_output("melon: 8 songs; skipped: 0 without genre, 1 with several genres");
    expect_output("items per fold (drawn, stratified): 1=4 2=3, none 0");
    mrnet_store *fs = open_store("mel_a");
    assert_int_equal(mrnet_store_count(fs), 7);
    int per[2][3] = {{0}}; /* [genre][fold] */
    for (int i = 0; i < 7; i++) {
        const mrnet_store_entry *e = mrnet_store_get(fs, i);
        per[!strcmp(e->label, "GN0200")][e->fold]++;
    }
    assert_int_equal(per[0][1], 2); /* 4 ballads over 2 folds */
    assert_int_equal(per[0][2], 2);
    mrnet_store_close(fs);
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset melon --melon-label first " QUIET, root,
                           test_path("mel_b")),
              0);
    fs = open_store("mel_b");
    assert_int_equal(mrnet_store_count(fs), 8);
    assert_string_equal(entry(fs, "/0/7.npy")->label, "GN0100");
    mrnet_store_close(fs);
}

/* ---- usage errors (2) and data errors (1) ---- */

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *args, *message;
    } usage[] = {
        {"--write-folds wf", "--write-folds writes drawn folds"},
        {"--folds fd --make-folds 3", "use one of them"},
        {"--make-folds 3 --melon-folds 3 --dataset melon", "--make-folds and --melon-folds"},
        {"--split-lists a,b,c --make-split 0.1,0.1", "use one of them"},
        {"--seed 3", "--seed only applies"},
        {"--fma-audio x", "--fma-audio needs --dataset fma-small"},
        {"--check-audio --dataset gtzan", "--check-audio needs --dataset fma"},
        {"--melon-folds 10", "--melon-folds needs --dataset melon"},
        {"--melon-label all --dataset melon", "expected single or first"},
        {"--make-split 0.6,0.5", "summing to less than 1"},
        {"--make-split 0.1", "VALID,TEST"},
        {"--split-lists a,b", "TRAIN,VALID,TEST"},
        {"--split-lists ,,", "TRAIN,VALID,TEST"},
        {"--make-folds 1", "from 2 to 100"},
        {"--seed -1 --make-folds 2", "non-negative"},
    };
    for (size_t i = 0; i < sizeof usage / sizeof *usage; i++) {
        int rc = test_run_cli("extract '%s' -o '%s' %s " QUIET, gtzan_root, test_path("err"), usage[i].args);
        if (rc != 2 || !strstr(test_cli_output(), usage[i].message))
            fail_msg("'%s': exit %d, expected 2 with '%s':\n%s", usage[i].args, rc, usage[i].message,
                     test_cli_output());
    }
    /* --help documents the options. */
    expect_rc(test_run_cli("extract --help"), 0);
    expect_output("--make-folds K");
    expect_output("--split-lists TRAIN,VALID,TEST");
    expect_output("--melon-label single|first");
    /* Data errors name the file or folder. */
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --folds '%s' " QUIET, gtzan_root, test_path("err"),
                           test_path("no_such_folds")),
              1);
    expect_output("no_such_folds: no fold lists");
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --make-folds 20 " QUIET, gtzan_root,
                           test_path("err")),
              1);
    expect_output("cannot fill 20 folds");
    /* A file on two lists. */
    char path[1024];
    snprintf(path, sizeof path, "%s/1_fold.txt", test_path("dup_folds"));
    fx_write_text(path, "genres_original/blues/blues.00000.wav\n");
    snprintf(path, sizeof path, "%s/2_fold.txt", test_path("dup_folds"));
    fx_write_text(path, "genres_original/rock/rock.00000.wav\ngenres_original/blues/blues.00000.wav\n");
    expect_rc(test_run_cli("extract '%s' -o '%s' --dataset gtzan --folds '%s' " QUIET, gtzan_root, test_path("err"),
                           test_path("dup_folds")),
              1);
    expect_output("2_fold.txt:2: genres_original/blues/blues.00000.wav is also listed in");
    expect_output("1_fold.txt:1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gtzan_make_write_read_folds),
        cmocka_unit_test(test_gtzan_hand_lists),
        cmocka_unit_test(test_gtzan_split_lists),
        cmocka_unit_test(test_manifest_and_folder),
        cmocka_unit_test(test_fma_options),
        cmocka_unit_test(test_melon_options),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
