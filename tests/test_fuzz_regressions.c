/* Inputs found by the libFuzzer targets in fuzz/ (tools/fuzz.sh), each
 * reduced to the part that mattered and replayed through the same parser:
 * a clear error, no undefined behaviour (the suite's sanitizer build catches
 * the latter), nothing leaked. docs/RELIABILITY.md lists the runs. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mrnet/mrnet.h>

/* fuzz_features_line: "rate=167777777000" converted to int (UBSan:
 * float-cast-overflow at features_parse.c:99); the same for every integer
 * and float field. Values out of range are a format error now. */
static void test_features_line_out_of_range(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "kind=mel rate=167777777000 sr=16000 n_fft=512",
        "kind=mel sr=1e300",
        "kind=mel n_fft=-3000000000",
        "kind=mel hop=2.5",
        "kind=mel n_mels=nan",
        "kind=mel f_max=1e39",
        "kind=mel top_db=-1e300",
        "kind=mel offset=inf",
        "kind=wavlm window=nan",
    };
    mrnet_features_options o;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mrnet_features_options_parse(bad[i], &o), MRNET_ERR_FORMAT);
        assert_non_null(strstr(mrnet_last_error(), "bad value"));
    }
    /* values at the edges still parse */
    assert_int_equal(mrnet_features_options_parse("kind=mel rate=2147483647", &o), MRNET_OK);
    assert_int_equal(mrnet_features_options_parse("kind=mel f_max=3.4e38", &o), MRNET_OK);
    assert_int_equal(mrnet_features_options_parse("kind=mel n_fft=1024", &o), MRNET_OK);
    assert_int_equal(o.mel.n_fft, 1024);
}

/* fuzz_store_index: "src_size":4.4e96 converted to int64 (UBSan:
 * float-cast-overflow at featstore.c:288; the probe of issue 11 saw the same
 * for "fold"). Out-of-range or fractional fold and src_size are refused
 * naming the line. */
static void test_store_index_out_of_range(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"\"fold\":-1", "\"src_size\":4444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444410"},
        {"\"fold\":-1", "\"src_size\":1e19"},
        {"\"fold\":-1", "\"src_size\":-10"},
        {"\"fold\":-1", "\"src_size\":10.5"},
        {"\"fold\":1e30", "\"src_size\":10"},
        {"\"fold\":-2", "\"src_size\":10"},
        {"\"fold\":2.5", "\"src_size\":10"},
    };
    const char *dir = test_path("fuzz_store");
    mkdir(dir, 0777);
    char index[1024], text[2048];
    snprintf(index, sizeof index, "%s/index.jsonl", dir);
    for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
        bool good = i == sizeof bad / sizeof bad[0];
        snprintf(text, sizeof text,
                 "{\"format\":\"mrnet-featstore\",\"version\":1,\"settings\":\"x\"}\n"
                 "{\"labels\":[\"low\"]}\n"
                 "{\"source\":\"/x/a.wav\",\"label\":\"low\",\"split\":\"train\",%s,\"id\":\"a\","
                 "\"file\":\"features/00/a.npy\",\"external\":false,\"dtype\":\"f32\",\"shape\":[1,48,10],"
                 "%s,\"src_mtime_ns\":\"1\",\"checksum\":\"00\"}\n",
                 good ? "\"fold\":3" : bad[i][0], good ? "\"src_size\":9000000000" : bad[i][1]);
        assert_int_equal(test_write_file(index, text, strlen(text)), 0);
        mrnet_store *fs = NULL;
        if (good) {
            assert_int_equal(mrnet_store_open(dir, &fs), MRNET_OK);
            assert_int_equal(mrnet_store_get(fs, 0)->fold, 3);
            mrnet_store_close(fs);
        } else {
            assert_int_equal(mrnet_store_open(dir, &fs), MRNET_ERR_FORMAT);
            assert_null(fs);
            assert_non_null(strstr(mrnet_last_error(), "line 3: bad"));
        }
    }
}

/* fuzz_partial: a part's journal recording an offset past the end of its
 * partial (an mpirun part, merged by rank 0) sized a buffer by it in
 * mrnet_partial_append: a 17 GB realloc (libFuzzer: out of memory). Now a
 * format error naming the partial; the index of parts ignores such records. */
static void test_partial_offset_past_end(void **state)
{
    (void)state;
    const char *dir = test_path("fuzz_partial");
    mkdir(dir, 0777);
    char part[1024], partial[1100], journal[1100], merged[1100];
    snprintf(part, sizeof part, "%s/out.jsonl.rank-1-of-2", dir);
    snprintf(partial, sizeof partial, "%s.partial", part);
    snprintf(journal, sizeof journal, "%s.partial.journal", part);
    snprintf(merged, sizeof merged, "%s/merged.jsonl", dir);
    assert_int_equal(test_write_file(partial, "{\"a\":1}\n", 8), 0);
    const char *bad = "mrnet-partial 1\t0\ts\n8\ta\n17777777777\tb\n";
    assert_int_equal(test_write_file(journal, bad, strlen(bad)), 0);

    mrnet_partial_output m;
    assert_int_equal(mrnet_partial_open(&m, merged, MRNET_PARTIAL_LINES, 2, "s", true, NULL), MRNET_OK);
    assert_int_equal(mrnet_partial_append(&m, part), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "shorter than its journal says"));
    assert_non_null(strstr(mrnet_last_error(), partial));
    mrnet_partial_close(&m);

    /* indexed by key: the record that fits is held, the one past the end is not */
    mrnet_partial_parts *parts = NULL;
    const char *names[1] = {part};
    assert_int_equal(mrnet_partial_parts_open(names, 1, "s", &parts), MRNET_OK);
    assert_true(mrnet_partial_parts_has(parts, "a"));
    assert_false(mrnet_partial_parts_has(parts, "b"));
    assert_int_equal(mrnet_partial_parts_count(parts), 1);
    mrnet_partial_parts_free(parts);

    /* the same part without the bad line merges */
    const char *good = "mrnet-partial 1\t0\ts\n8\ta\n";
    assert_int_equal(test_write_file(journal, good, strlen(good)), 0);
    assert_int_equal(mrnet_partial_open(&m, merged, MRNET_PARTIAL_LINES, 2, "s", true, NULL), MRNET_OK);
    assert_int_equal(mrnet_partial_append(&m, part), MRNET_OK);
    assert_int_equal(mrnet_partial_finish(&m, "x", NULL, NULL), MRNET_OK);
    mrnet_partial_close(&m);
    char text[64] = {0};
    FILE *f = fopen(merged, "rb");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    assert_int_equal(n, 8);
    assert_memory_equal(text, "{\"a\":1}\n", 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_line_out_of_range),
        cmocka_unit_test(test_store_index_out_of_range),
        cmocka_unit_test(test_partial_offset_past_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
