/* mrnet ablate: eight rows (full, then each route dropped) with their
 * values, means, stds and differences; a second run reuses every finished
 * run and writes the same table; bad input is refused with a message. */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mrnet/mrnet.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static void make_store(const char *songs, const char *store, const char *split_flags)
{
    test_write_two_classes(songs, 6);
    CLI_EXPECT(0, "extract '%s' -o '%s' %s --quiet", songs, store, split_flags);
}

#define TRAIN "--epochs 1 --channels 16 --embed 4 --batch 4 --crop-seconds 0.5 --quiet"

static void test_table_and_resume(void **state)
{
    (void)state;
    char songs[1024], store[1024], out[1024], json[1100];
    snprintf(songs, sizeof songs, "%s", test_path("songs"));
    snprintf(store, sizeof store, "%s", test_path("store"));
    snprintf(out, sizeof out, "%s", test_path("ablate"));
    make_store(songs, store, "--make-split 0.25,0.25");
    CLI_EXPECT(0, "ablate '%s' -o '%s' --seeds 2 " TRAIN, store, out);
    assert_non_null(strstr(test_cli_output(), "route ablation on the test split, 2 seeds"));
    snprintf(json, sizeof json, "%s/ablate.json", out);
    char *first = slurp(json);
    cJSON *j = cJSON_Parse(first);
    assert_non_null(j);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 8);
    static const char *names[8] = {"full", "L1", "L2", "L3", "H", "M1", "M2", "M3"};
    double full_mean = 0;
    for (int i = 0; i < 8; i++) {
        const cJSON *r = cJSON_GetArrayItem(rows, i);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "row")->valuestring, names[i]);
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(r, "accuracy");
        assert_int_equal(cJSON_GetArraySize(acc), 2);
        double a = cJSON_GetArrayItem(acc, 0)->valuedouble, b = cJSON_GetArrayItem(acc, 1)->valuedouble;
        double mean = cJSON_GetObjectItemCaseSensitive(r, "mean_accuracy")->valuedouble;
        double sd = cJSON_GetObjectItemCaseSensitive(r, "std_accuracy")->valuedouble;
        assert_true(fabs(mean - (a + b) / 2) < 1e-12);
        assert_true(fabs(sd - fabs(a - b) / sqrt(2.0)) < 1e-12);
        if (i == 0)
            full_mean = mean;
        assert_true(fabs(cJSON_GetObjectItemCaseSensitive(r, "delta_accuracy")->valuedouble - (mean - full_mean)) < 1e-12);
    }
    cJSON_Delete(j);
    char svg[1100];
    snprintf(svg, sizeof svg, "%s/ablate.svg", out);
    struct stat st;
    assert_int_equal(stat(svg, &st), 0);
    /* again: every run is finished, nothing is trained (the checkpoints
     * stay as they are), the same table */
    char best[1100];
    snprintf(best, sizeof best, "%s/drop-M2-s1/best.safetensors", out);
    struct stat before, after;
    assert_int_equal(stat(best, &before), 0);
    CLI_EXPECT(0, "ablate '%s' -o '%s' --seeds 2 " TRAIN, store, out);
    assert_int_equal(stat(best, &after), 0);
    assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    assert_true(before.st_ino == after.st_ino);
    char *second = slurp(json);
    assert_string_equal(first, second);
    free(first);
    free(second);
}

static void test_bad_input(void **state)
{
    (void)state;
    char songs[1024], store[1024], out[1024];
    snprintf(songs, sizeof songs, "%s", test_path("songs_nosplit"));
    snprintf(store, sizeof store, "%s", test_path("store_nosplit"));
    snprintf(out, sizeof out, "%s", test_path("ablate_bad"));
    make_store(songs, store, "--make-folds 2");
    CLI_EXPECT(1, "ablate '%s' -o '%s' --seeds 1 " TRAIN, store, out);
    assert_non_null(strstr(test_cli_output(), "no test or valid split"));
    CLI_EXPECT(2, "ablate '%s' -o '%s' --seeds 0 " TRAIN, store, out);
    CLI_EXPECT(2, "ablate '%s' -o '%s' --seeds 99 " TRAIN, store, out);
    CLI_EXPECT(1, "ablate '%s' -o '%s' " TRAIN, test_path("nowhere"), out);
    CLI_EXPECT(2, "ablate '%s' " TRAIN, store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_table_and_resume), cmocka_unit_test(test_bad_input)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
