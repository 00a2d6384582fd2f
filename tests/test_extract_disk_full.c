/* A store whose disk refuses a write stops `extract` at once (issue 11,
 * finding 8): non-zero exit, the source file named, the files done before
 * kept in the index, and the next run continues from them. The full disk is
 * simulated without root: the shell's file-size limit (ulimit -f, with
 * SIGXFSZ ignored so that the write fails with EFBIG instead of killing the
 * process) lets the small feature files through and refuses the large one. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <mrnet/mrnet.h>

static int count_entries(const char *store)
{
    mrnet_store *fs;
    if (mrnet_store_open(store, &fs) != MRNET_OK)
        return -1;
    int n = mrnet_store_count(fs);
    mrnet_store_close(fs);
    return n;
}

static void test_full_disk_stops_extract(void **state)
{
    (void)state;
    char songs[1024], store[1024], path[1200];
    snprintf(songs, sizeof songs, "%s", test_path("songs"));
    snprintf(store, sizeof store, "%s", test_path("store"));
    const char *dirs[3] = {"a", "b", "c"};
    for (int d = 0; d < 3; d++) {
        snprintf(path, sizeof path, "%s/%s", songs, dirs[d]);
        mkdir(songs, 0777);
        mkdir(path, 0777);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/a/%d.wav", songs, i);
        test_write_tone(path, 1.0, 300 + 50 * i); /* 48 x 63 floats: 12 KB of features */
        snprintf(path, sizeof path, "%s/c/%d.wav", songs, i);
        test_write_tone(path, 1.0, 900 + 50 * i);
    }
    snprintf(path, sizeof path, "%s/b/big.wav", songs);
    test_write_tone(path, 30.0, 600); /* 48 x 1876 floats: 360 KB, over the limit */

    /* 64 KB per file (bash counts ulimit -f in KiB): the index and the
     * small feature files fit, big.wav's features do not */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "bash -c \"trap '' XFSZ; ulimit -f 64; exec '%s' extract '%s' -o '%s' -j 1 --quiet\" > '%s' 2>&1",
             MRNET_CLI_PATH, songs, store, test_path("cli.out"));
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    const char *out = test_cli_output();
    if (WEXITSTATUS(rc) == 0 || !strstr(out, "big.wav") || !strstr(out, "cannot store its features"))
        fail_msg("exit %d; output:\n%s", WEXITSTATUS(rc), out);
    /* a's three files were stored before; c's were never tried */
    assert_int_equal(count_entries(store), 3);
    assert_null(strstr(out, "c/0.wav"));
    /* with room again, the next run continues from them */
    int again = test_run_cli("extract '%s' -o '%s' -j 1", songs, store);
    if (again != 0 || !strstr(test_cli_output(), "3 reused"))
        fail_msg("exit %d; output:\n%s", again, test_cli_output());
    assert_int_equal(count_entries(store), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_full_disk_stops_extract)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
