/* Stratified folds and splits (balance, determinism), fold-list files and the
 * MRNet cross-validation protocol. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/folds.h"
#include "data_fixtures.h"

/* Classes of 23, 17, 10 and 5 items; reverse: add them in the opposite order. */
static void make_set(mrnet_dataset *ds, bool reverse)
{
    static const char *const names[] = {"rock", "jazz", "pop", "folk"};
    static const int sizes[] = {23, 17, 10, 5};
    char path[128], id[32];
    mrnet_dataset_init(ds);
    int total = 0;
    for (int c = 0; c < 4; c++)
        total += sizes[c];
    for (int k = 0; k < total; k++) {
        int i = reverse ? total - 1 - k : k, c = 0, j = i;
        while (j >= sizes[c])
            j -= sizes[c++];
        snprintf(path, sizeof path, "/data/%s/%s.%05d.wav", names[c], names[c], j);
        snprintf(id, sizeof id, "%s.%05d", names[c], j);
        assert_int_equal(mrnet_dataset_add(ds, path, names[c], NULL, -1, id), MRNET_OK);
    }
    assert_int_equal(mrnet_dataset_finalize_labels(ds, NULL, 0), MRNET_OK);
}

static int fold_of(const mrnet_dataset *ds, const char *path)
{
    for (int i = 0; i < ds->n_items; i++)
        if (strcmp(ds->items[i].path, path) == 0)
            return ds->items[i].fold;
    return -2;
}

static void test_stratified_balance(void **state)
{
    (void)state;
    mrnet_dataset ds;
    make_set(&ds, false);
    const int k = 5;
    assert_int_equal(mrnet_folds_assign_stratified(&ds, k, 42), MRNET_OK);
    int count[4][5] = {{0}}, size[5] = {0};
    for (int i = 0; i < ds.n_items; i++) {
        int f = ds.items[i].fold;
        assert_true(f >= 1 && f <= k);
        count[ds.items[i].label_index][f - 1]++;
        size[f - 1]++;
    }
    for (int c = 0; c < 4; c++) {
        int lo = 1 << 30, hi = 0;
        for (int f = 0; f < k; f++) {
            lo = count[c][f] < lo ? count[c][f] : lo;
            hi = count[c][f] > hi ? count[c][f] : hi;
        }
        assert_true(hi - lo <= 1); /* every class balanced within one */
    }
    int lo = 1 << 30, hi = 0;
    for (int f = 0; f < k; f++) {
        lo = size[f] < lo ? size[f] : lo;
        hi = size[f] > hi ? size[f] : hi;
    }
    assert_true(hi - lo <= 1); /* 55 items: 11 per fold */
    mrnet_dataset_free(&ds);
}

static void test_stratified_determinism(void **state)
{
    (void)state;
    mrnet_dataset a, b, c;
    make_set(&a, false);
    make_set(&b, true); /* same items, reversed: the assignment must not change */
    make_set(&c, false);
    assert_int_equal(mrnet_folds_assign_stratified(&a, 5, 7), MRNET_OK);
    assert_int_equal(mrnet_folds_assign_stratified(&b, 5, 7), MRNET_OK);
    assert_int_equal(mrnet_folds_assign_stratified(&c, 5, 8), MRNET_OK);
    int differ = 0;
    for (int i = 0; i < a.n_items; i++) {
        assert_int_equal(a.items[i].fold, fold_of(&b, a.items[i].path));
        differ += a.items[i].fold != c.items[i].fold;
    }
    assert_true(differ > a.n_items / 2); /* another seed, another assignment */
    assert_int_equal(mrnet_folds_assign_stratified(&a, 1, 7), MRNET_ERR_ARG);
    assert_int_equal(mrnet_folds_assign_stratified(&a, 100, 7), MRNET_ERR_ARG);
    mrnet_dataset_free(&a);
    mrnet_dataset_free(&b);
    mrnet_dataset_free(&c);
}

static void test_split_fractions(void **state)
{
    (void)state;
    mrnet_dataset ds;
    make_set(&ds, false);
    assert_int_equal(mrnet_folds_assign_split(&ds, 0.2, 0.2, 3), MRNET_OK);
    int n[4][3] = {{0}};
    for (int i = 0; i < ds.n_items; i++) {
        const char *s = ds.items[i].split;
        int p = strcmp(s, "train") == 0 ? 0 : strcmp(s, "valid") == 0 ? 1 : 2;
        assert_true(strcmp(s, "test") == 0 || p < 2);
        n[ds.items[i].label_index][p]++;
    }
    /* labels sorted: folk 5, jazz 17, pop 10, rock 23.
     * round(5*.2)=1, round(17*.2)=3, round(10*.2)=2, round(23*.2)=5 */
    static const int expect_valid[4] = {1, 3, 2, 5}, size[4] = {5, 17, 10, 23};
    for (int c = 0; c < 4; c++) {
        assert_int_equal(n[c][1], expect_valid[c]);
        assert_int_equal(n[c][2], expect_valid[c]);
        assert_int_equal(n[c][0], size[c] - 2 * expect_valid[c]);
    }
    assert_int_equal(mrnet_folds_assign_split(&ds, 0.5, 0.5, 3), MRNET_ERR_ARG);
    mrnet_dataset_free(&ds);

    /* A class of three keeps one item in each part even at 5 % / 5 %. */
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_dataset_add(&ds, "a", "x", NULL, -1, NULL), MRNET_OK);
    assert_int_equal(mrnet_dataset_add(&ds, "b", "x", NULL, -1, NULL), MRNET_OK);
    assert_int_equal(mrnet_dataset_add(&ds, "c", "x", NULL, -1, NULL), MRNET_OK);
    assert_int_equal(mrnet_folds_assign_split(&ds, 0.05, 0.05, 1), MRNET_OK);
    assert_int_equal(mrnet_dataset_count_split(&ds, "train"), 1);
    assert_int_equal(mrnet_dataset_count_split(&ds, "valid"), 1);
    assert_int_equal(mrnet_dataset_count_split(&ds, "test"), 1);
    mrnet_dataset_free(&ds);
}

/* make_set with groups: in every class, items 3g, 3g+1, 3g+2 are one group
 * ("album") of three, so 55 items make 20 groups (folk 5: 2 groups). */
static void make_grouped_set(mrnet_dataset *ds, bool reverse)
{
    make_set(ds, reverse);
    for (int i = 0; i < ds->n_items; i++) {
        const char *name = strrchr(ds->items[i].path, '/') + 1; /* "rock.00007.wav" */
        int j = atoi(strchr(name, '.') + 1);
        char group[64];
        snprintf(group, sizeof group, "%s album %d", ds->items[i].label, j / 3);
        assert_int_equal(mrnet_dataset_set_group(ds, i, group), MRNET_OK);
    }
}

/* The split or fold of every group is one, and the assignment is the same
 * whatever the item order. */
static void assert_groups_whole(const mrnet_dataset *ds, bool folds)
{
    for (int i = 0; i < ds->n_items; i++)
        for (int j = 0; j < ds->n_items; j++) {
            if (!ds->items[i].group[0] || strcmp(ds->items[i].group, ds->items[j].group))
                continue;
            if (folds)
                assert_int_equal(ds->items[i].fold, ds->items[j].fold);
            else
                assert_string_equal(ds->items[i].split, ds->items[j].split);
        }
}

static void test_groups_kept_whole(void **state)
{
    (void)state;
    mrnet_dataset a, b;
    make_grouped_set(&a, false);
    make_grouped_set(&b, true);
    assert_int_equal(mrnet_folds_assign_split(&a, 0.2, 0.2, 5), MRNET_OK);
    assert_int_equal(mrnet_folds_assign_split(&b, 0.2, 0.2, 5), MRNET_OK);
    assert_groups_whole(&a, false);
    /* per class, in groups: rock 8 (round(1.6) = 2 valid, 2 test), jazz 6 (1, 1),
     * pop 4 (1, 1), folk 2 (none: fewer than three groups) */
    int valid_groups = 0, test_groups = 0;
    for (int i = 0; i < a.n_items; i++) {
        const char *name = strrchr(a.items[i].path, '/') + 1;
        bool first_of_group = atoi(strchr(name, '.') + 1) % 3 == 0;
        valid_groups += first_of_group && !strcmp(a.items[i].split, "valid");
        test_groups += first_of_group && !strcmp(a.items[i].split, "test");
        assert_string_equal(a.items[i].split, b.items[a.n_items - 1 - i].split);
    }
    assert_int_equal(valid_groups, 4);
    assert_int_equal(test_groups, 4);

    assert_int_equal(mrnet_folds_assign_stratified(&a, 5, 9), MRNET_OK);
    assert_int_equal(mrnet_folds_assign_stratified(&b, 5, 9), MRNET_OK);
    assert_groups_whole(&a, true);
    int groups_per_fold[5] = {0};
    for (int i = 0; i < a.n_items; i++) {
        assert_int_equal(a.items[i].fold, b.items[a.n_items - 1 - i].fold);
        const char *name = strrchr(a.items[i].path, '/') + 1;
        groups_per_fold[a.items[i].fold - 1] += atoi(strchr(name, '.') + 1) % 3 == 0;
    }
    for (int f = 0; f < 5; f++)
        assert_int_equal(groups_per_fold[f], 4); /* 20 groups dealt evenly */
    /* 20 groups cannot fill 21 folds, though 55 items could */
    assert_int_equal(mrnet_folds_assign_stratified(&a, 21, 9), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "20 groups"));
    mrnet_dataset_free(&a);
    mrnet_dataset_free(&b);

    /* A group spanning two classes goes with its most common label, whole. */
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    const char *const labels[] = {"x", "x", "y", "y", "y", "y", "y"};
    for (int i = 0; i < 7; i++) {
        char path[32];
        snprintf(path, sizeof path, "/m/%d.wav", i);
        assert_int_equal(mrnet_dataset_add(&ds, path, labels[i], NULL, -1, NULL), MRNET_OK);
        assert_int_equal(mrnet_dataset_set_group(&ds, i, i < 3 ? "mixed" : NULL), MRNET_OK);
    }
    assert_int_equal(mrnet_folds_assign_split(&ds, 0.3, 0.3, 2), MRNET_OK);
    assert_groups_whole(&ds, false);
    mrnet_dataset_free(&ds);
}

static void test_lists_round_trip(void **state)
{
    (void)state;
    mrnet_dataset ds;
    make_set(&ds, false);
    assert_int_equal(mrnet_folds_assign_stratified(&ds, 4, 11), MRNET_OK);
    fx_mkdir_p(test_path("lists"));
    assert_int_equal(mrnet_folds_write_lists(&ds, "/data/", test_path("lists"), 4), MRNET_OK);
    /* rock.00000 must be on its fold's list, relative to the root. */
    char name[64], *text = NULL;
    snprintf(name, sizeof name, "lists/%d_fold.txt", fold_of(&ds, "/data/rock/rock.00000.wav"));
    FILE *f = fopen(test_path(name), "rb");
    assert_non_null(f);
    text = calloc(1, 1 << 16);
    assert_true(fread(text, 1, (1 << 16) - 1, f) > 0);
    fclose(f);
    assert_true(strstr(text, "\nrock/rock.00000.wav\n") ||
                strncmp(text, "rock/rock.00000.wav\n", 20) == 0);
    free(text);

    /* Read back into a set whose files are .au (original distribution) and
     * which lacks one listed file and has one unlisted file. */
    mrnet_dataset back;
    mrnet_dataset_init(&back);
    for (int i = 0; i < ds.n_items; i++) {
        char path[256];
        snprintf(path, sizeof path, "/gtzan/genres/%s/%s.au", ds.items[i].label, ds.items[i].id);
        if (strcmp(ds.items[i].id, "jazz.00003") == 0)
            continue; /* "corrupt": not in the set */
        assert_int_equal(mrnet_dataset_add(&back, path, ds.items[i].label, NULL, -1, ds.items[i].id),
                         MRNET_OK);
    }
    assert_int_equal(mrnet_dataset_add(&back, "/gtzan/genres/pop/pop.00099.au", "pop", NULL, -1, NULL),
                     MRNET_OK);
    int k = 0;
    assert_int_equal(mrnet_folds_read_lists(&back, test_path("lists"), &k), MRNET_OK);
    assert_int_equal(k, 4);
    assert_int_equal(back.n_items, ds.n_items - 1);
    for (int i = 0; i < back.n_items; i++) {
        char path[256];
        snprintf(path, sizeof path, "/data/%s/%s.wav", back.items[i].label, back.items[i].id);
        assert_int_equal(back.items[i].fold, fold_of(&ds, path));
    }
    assert_true(fx_find_skip(&back, "pop.00099.au") >= 0); /* unlisted */
    int s = fx_find_skip_reason(&back, "jazz/jazz.00003.wav: listed but not in the dataset");
    assert_true(s >= 0);
    assert_non_null(strstr(back.skipped[s].source, "_fold.txt:"));
    mrnet_dataset_free(&back);

    /* A file on two lists is an error naming both. */
    fx_write_text(test_path("dup/1_fold.txt"), "rock/rock.00000.wav\n");
    fx_write_text(test_path("dup/2_fold.txt"), "\n# comment\r\nrock/rock.00000.wav\r\n");
    assert_int_equal(mrnet_folds_read_lists(&ds, test_path("dup"), NULL), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "2_fold.txt:3"));
    assert_non_null(strstr(mrnet_last_error(), "1_fold.txt:1"));
    assert_int_equal(mrnet_folds_read_lists(&ds, test_path("nolists"), NULL), MRNET_ERR_IO);

    /* Items outside the root cannot be written relative to it. */
    assert_int_equal(mrnet_folds_write_lists(&ds, "/elsewhere", test_path("lists"), 4), MRNET_ERR_ARG);
    mrnet_dataset_free(&ds);
}

static void test_split_lists(void **state)
{
    (void)state;
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    const char *files[] = {"/g/genres_original/blues/blues.00000.wav",
                           "/g/genres_original/blues/blues.00001.wav",
                           "/g/genres_original/rock/rock.00000.wav",
                           "/g/genres_original/rock/rock.00001.wav"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(mrnet_dataset_add(&ds, files[i], i < 2 ? "blues" : "rock", NULL, -1, NULL),
                         MRNET_OK);
    fx_write_text(test_path("split/train_filtered.txt"), "blues/blues.00000.wav\nrock/rock.00000.wav\n");
    fx_write_text(test_path("split/valid_filtered.txt"), "blues/blues.00001.wav\n");
    fx_write_text(test_path("split/test_filtered.txt"), "metal/metal.00000.wav\n");
    char train[512], valid[512], test[512];
    snprintf(train, sizeof train, "%s", test_path("split/train_filtered.txt"));
    snprintf(valid, sizeof valid, "%s", test_path("split/valid_filtered.txt"));
    snprintf(test, sizeof test, "%s", test_path("split/test_filtered.txt"));
    assert_int_equal(mrnet_folds_read_split_lists(&ds, train, valid, test), MRNET_OK);
    assert_int_equal(ds.n_items, 3);
    assert_string_equal(ds.items[0].split, "train");
    assert_string_equal(ds.items[1].split, "valid");
    assert_string_equal(ds.items[2].split, "train");
    assert_true(fx_find_skip(&ds, "rock.00001.wav") >= 0);
    assert_true(fx_find_skip_reason(&ds, "metal/metal.00000.wav") >= 0);
    mrnet_dataset_free(&ds);
}

static void test_cv_split(void **state)
{
    (void)state;
    mrnet_dataset ds;
    make_set(&ds, false);
    assert_int_equal(mrnet_folds_assign_stratified(&ds, 10, 5), MRNET_OK);
    for (int e = 1; e <= 10; e++) {
        mrnet_dataset train, valid, test;
        mrnet_dataset_init(&train);
        mrnet_dataset_init(&valid);
        mrnet_dataset_init(&test);
        assert_int_equal(folds_cv_split(&ds, e, 10, &train, &valid, &test), MRNET_OK);
        assert_int_equal(train.n_items + valid.n_items + test.n_items, ds.n_items);
        int v = e == 10 ? 1 : e + 1;
        for (int i = 0; i < test.n_items; i++) {
            assert_int_equal(test.items[i].fold, e);
            assert_string_equal(test.items[i].split, "test");
        }
        for (int i = 0; i < valid.n_items; i++)
            assert_int_equal(valid.items[i].fold, v);
        for (int i = 0; i < train.n_items; i++) {
            assert_true(train.items[i].fold != e && train.items[i].fold != v);
            assert_int_equal(train.items[i].label_index,
                             mrnet_dataset_label_index(&train, train.items[i].label));
        }
        assert_int_equal(train.n_labels, 4);
        mrnet_dataset_free(&train);
        mrnet_dataset_free(&valid);
        mrnet_dataset_free(&test);
    }
    mrnet_dataset t1, t2, t3;
    mrnet_dataset_init(&t1);
    mrnet_dataset_init(&t2);
    mrnet_dataset_init(&t3);
    assert_int_equal(folds_cv_split(&ds, 0, 10, &t1, &t2, &t3), MRNET_ERR_ARG);
    mrnet_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stratified_balance), cmocka_unit_test(test_stratified_determinism),
        cmocka_unit_test(test_split_fractions),    cmocka_unit_test(test_lists_round_trip),
        cmocka_unit_test(test_split_lists),        cmocka_unit_test(test_cv_split),
        cmocka_unit_test(test_groups_kept_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
