/* GTZAN: the Kaggle and original layouts, the corrupt jazz.00054.wav,
 * misnamed files, MRNet fold lists and the fault-filtered split. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/folds.h"
#include "data/gtzan.h"
#include "data_fixtures.h"

#define PER_GENRE 4

/* <root>/genres_original/<genre>/<genre>.0000N.wav, N < PER_GENRE, plus the
 * Kaggle defect and two files that do not belong. */
static const char *make_kaggle_tree(void)
{
    static char root[512];
    snprintf(root, sizeof root, "%s", test_path("gtzan"));
    char path[1024];
    for (int g = 0; g < GTZAN_GENRES; g++)
        for (int i = 0; i < PER_GENRE; i++) {
            snprintf(path, sizeof path, "%s/genres_original/%s/%s.%05d.wav", root, gtzan_genres[g],
                     gtzan_genres[g], i);
            fx_write_wav(path, 300 + 7 * i, 22050); /* lengths differ, as in GTZAN */
        }
    /* Not a valid WAV, like the Kaggle copy. */
    snprintf(path, sizeof path, "%s/genres_original/jazz/jazz.00054.wav", root);
    static const char junk[] = "RIFF\x10\0\0\0WAVEjunkjunkjunk";
    assert_int_equal(test_write_file(path, junk, sizeof junk - 1), 0);
    snprintf(path, sizeof path, "%s/genres_original/rock/my song.wav", root);
    fx_write_wav(path, 100, 22050);
    snprintf(path, sizeof path, "%s/genres_original/polka/polka.00000.wav", root);
    fx_write_wav(path, 100, 22050);
    snprintf(path, sizeof path, "%s/features_30_sec.csv", root);
    fx_write_text(path, "filename,length\n");
    return root;
}

static void test_read_kaggle(void **state)
{
    (void)state;
    const char *root = make_kaggle_tree();
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_gtzan_read(&ds, root, NULL), MRNET_OK);
    assert_int_equal(ds.n_items, GTZAN_GENRES * PER_GENRE);
    assert_int_equal(ds.n_labels, GTZAN_GENRES);
    for (int g = 0; g < GTZAN_GENRES; g++)
        assert_string_equal(ds.labels[g], gtzan_genres[g]);
    int i = fx_find_item(&ds, "genres_original/hiphop/hiphop.00002.wav");
    assert_true(i >= 0);
    assert_int_equal(ds.items[i].label_index, 4);
    assert_string_equal(ds.items[i].id, "hiphop.00002");
    assert_int_equal(ds.items[i].fold, -1);

    int s = fx_find_skip(&ds, "jazz/jazz.00054.wav");
    assert_true(s >= 0);
    assert_non_null(strstr(ds.skipped[s].reason, "cannot be decoded"));
    assert_non_null(strstr(ds.skipped[s].reason, "known to be corrupt"));
    s = fx_find_skip(&ds, "rock/my song.wav");
    assert_true(s >= 0);
    assert_non_null(strstr(ds.skipped[s].reason, "rock/rock.NNNNN.wav"));
    s = fx_find_skip(&ds, "polka/polka.00000.wav");
    assert_true(s >= 0);
    assert_non_null(strstr(ds.skipped[s].reason, "not a GTZAN genre"));
    assert_int_equal(ds.n_skipped, 3);
    mrnet_dataset_free(&ds);

    /* The user may choose to trust the files: the corrupt one is kept. */
    mrnet_gtzan_options opt = {.skip_audio_check = true};
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_gtzan_read(&ds, root, &opt), MRNET_OK);
    assert_int_equal(ds.n_items, GTZAN_GENRES * PER_GENRE + 1);
    mrnet_dataset_free(&ds);
}

static void test_layouts(void **state)
{
    (void)state;
    char path[1024];
    /* Original tarball: genres/<genre>/<genre>.000NN.au */
    for (int g = 0; g < GTZAN_GENRES; g++) {
        snprintf(path, sizeof path, "%s/genres/%s/%s.00000.au", test_path("orig"), gtzan_genres[g],
                 gtzan_genres[g]);
        fx_mkdir_parent(path);
        SF_INFO info = {.samplerate = 22050, .channels = 1,
                        .format = SF_FORMAT_AU | SF_FORMAT_PCM_16};
        SNDFILE *f = sf_open(path, SFM_WRITE, &info);
        assert_non_null(f);
        short x[64] = {0, 100, -100};
        assert_int_equal(sf_write_short(f, x, 64), 64);
        sf_close(f);
    }
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_gtzan_read(&ds, test_path("orig"), NULL), MRNET_OK);
    assert_int_equal(ds.n_items, GTZAN_GENRES);
    assert_non_null(strstr(ds.items[0].path, "orig/genres/blues/blues.00000.au"));
    mrnet_dataset_free(&ds);

    /* The Kaggle zip unpacked with its Data/ folder. */
    snprintf(path, sizeof path, "%s/Data/genres_original/blues/blues.00000.wav",
             test_path("kaggle"));
    fx_write_wav(path, 100, 22050);
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_gtzan_read(&ds, test_path("kaggle"), NULL), MRNET_OK);
    assert_int_equal(ds.n_items, 1);
    assert_int_equal(ds.n_labels, GTZAN_GENRES); /* all classes, even if absent */
    mrnet_dataset_free(&ds);

    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_gtzan_read(&ds, test_path("nothing"), NULL), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), "not a GTZAN root"));
    mrnet_dataset_free(&ds);
}

static void test_folds(void **state)
{
    (void)state;
    const char *root = make_kaggle_tree();
    char root_copy[512], lists[512];
    snprintf(root_copy, sizeof root_copy, "%s", root);
    snprintf(lists, sizeof lists, "%s", test_path("gtzan_folds"));
    fx_mkdir_p(lists);
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_gtzan_read(&ds, root_copy, NULL), MRNET_OK);
    assert_int_equal(gtzan_write_folds(&ds, root_copy, lists, 4, 2024), MRNET_OK);

    /* MRNet's line format, relative to the GTZAN root. */
    char path[1024], text[8192] = {0};
    snprintf(path, sizeof path, "%s/1_fold.txt", lists);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_true(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    assert_int_equal(strncmp(text, "genres_original/", 16), 0);
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, GTZAN_GENRES * PER_GENRE / 4); /* one per genre per fold */

    /* Reading with the lists gives the same folds. */
    mrnet_dataset back;
    mrnet_dataset_init(&back);
    mrnet_gtzan_options opt = {.fold_dir = lists};
    assert_int_equal(mrnet_gtzan_read(&back, root_copy, &opt), MRNET_OK);
    assert_int_equal(back.n_items, ds.n_items);
    for (int i = 0; i < ds.n_items; i++)
        assert_int_equal(back.items[i].fold, ds.items[i].fold);
    mrnet_dataset_free(&back);

    /* MRNet's own lists name jazz.00054.wav: it is reported, not fatal. */
    snprintf(path, sizeof path, "%s/3_fold.txt", lists);
    f = fopen(path, "ab");
    assert_non_null(f);
    fputs("genres_original/jazz/jazz.00054.wav\n", f);
    fclose(f);
    mrnet_dataset_init(&back);
    assert_int_equal(mrnet_gtzan_read(&back, root_copy, &opt), MRNET_OK);
    assert_int_equal(back.n_items, ds.n_items);
    int s = fx_find_skip_reason(&back, "jazz/jazz.00054.wav: listed but not in the dataset");
    assert_true(s >= 0);
    assert_non_null(strstr(back.skipped[s].source, "3_fold.txt:11"));
    mrnet_dataset_free(&back);
    mrnet_dataset_free(&ds);
}

static void test_filtered_split(void **state)
{
    (void)state;
    const char *root = make_kaggle_tree();
    char root_copy[512], train[512], valid[512], test[512];
    snprintf(root_copy, sizeof root_copy, "%s", root);
    snprintf(train, sizeof train, "%s", test_path("filtered/train_filtered.txt"));
    snprintf(valid, sizeof valid, "%s", test_path("filtered/valid_filtered.txt"));
    snprintf(test, sizeof test, "%s", test_path("filtered/test_filtered.txt"));
    fx_write_text(train, "blues/blues.00000.wav\nrock/rock.00001.wav\n");
    fx_write_text(valid, "disco/disco.00002.wav\n");
    fx_write_text(test, "jazz/jazz.00003.wav\n");
    mrnet_gtzan_options opt = {.train_list = train, .valid_list = valid, .test_list = test};
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_gtzan_read(&ds, root_copy, &opt), MRNET_OK);
    assert_int_equal(ds.n_items, 4);
    assert_int_equal(mrnet_dataset_count_split(&ds, "train"), 2);
    assert_int_equal(mrnet_dataset_count_split(&ds, "valid"), 1);
    assert_int_equal(mrnet_dataset_count_split(&ds, "test"), 1);
    int i = fx_find_item(&ds, "jazz.00003.wav");
    assert_true(i >= 0);
    assert_string_equal(ds.items[i].split, "test");
    assert_int_equal(ds.items[i].label_index, 5);
    mrnet_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_kaggle),
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_folds),
        cmocka_unit_test(test_filtered_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
