/* A damaged store is repaired by the next extract (issue 11, finding 5): a
 * features file cut short, one replaced by an array of another shape, and
 * an int8 entry whose scales are gone are computed again; the intact ones
 * are reused; the store then reads back whole. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mrnet/mrnet.h>

/* Absolute path of entry i's features file. */
static void entry_file(const char *store, int i, char *out, size_t size)
{
    mrnet_store *fs;
    assert_int_equal(mrnet_store_open(store, &fs), MRNET_OK);
    snprintf(out, size, "%s/%s", store, mrnet_store_get(fs, i)->file);
    mrnet_store_close(fs);
}

static void expect_all_readable(const char *store)
{
    mrnet_store *fs;
    assert_int_equal(mrnet_store_open(store, &fs), MRNET_OK);
    for (int i = 0; i < mrnet_store_count(fs); i++) {
        const mrnet_store_entry *e = mrnet_store_get(fs, i);
        float *buf = malloc(sizeof(float) * (size_t)e->S * e->L * e->D * (size_t)e->T);
        if (mrnet_store_read_all(fs, i, buf) != MRNET_OK)
            fail_msg("entry %d: %s", i, mrnet_last_error());
        free(buf);
    }
    mrnet_store_close(fs);
}

static void repair(bool int8)
{
    char songs[1024], store[1024], path[1200];
    snprintf(songs, sizeof songs, "%s", test_path(int8 ? "songs8" : "songs"));
    snprintf(store, sizeof store, "%s", test_path(int8 ? "store8" : "store"));
    mkdir(songs, 0777);
    snprintf(path, sizeof path, "%s/x", songs);
    mkdir(path, 0777);
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/x/%d.wav", songs, i);
        test_write_tone(path, 1.0, 200 + 100 * i);
    }
    const char *flag = int8 ? "--int8" : "";
    assert_int_equal(test_run_cli("extract '%s' -o '%s' %s", songs, store, flag), 0);
    /* entry 0 cut short, entry 1 another shape */
    entry_file(store, 0, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 100), 0);
    entry_file(store, 1, path, sizeof path);
    int64_t shape[3] = {1, 48, 7};
    float zeros[48 * 7] = {0};
    assert_int_equal(mrnet_npy_save_f32(path, 3, shape, zeros, false), MRNET_OK);
    int damaged = 2;
    if (int8) { /* entry 2's scales gone */
        entry_file(store, 2, path, sizeof path);
        char scale[1300];
        snprintf(scale, sizeof scale, "%.*s.scale.npy", (int)strlen(path) - 4, path);
        assert_int_equal(unlink(scale), 0);
        damaged = 3;
    }
    assert_int_equal(test_run_cli("extract '%s' -o '%s' %s", songs, store, flag), 0);
    char want[64];
    snprintf(want, sizeof want, "%d computed, %d reused", damaged, 5 - damaged);
    if (!strstr(test_cli_output(), want))
        fail_msg("expected '%s':\n%s", want, test_cli_output());
    expect_all_readable(store);
}

static void test_repair_f32(void **state)
{
    (void)state;
    repair(false);
}

static void test_repair_int8(void **state)
{
    (void)state;
    repair(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_repair_f32), cmocka_unit_test(test_repair_int8)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
