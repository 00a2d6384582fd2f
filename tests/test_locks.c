/* One writer per folder: while a store or a run folder is locked (here by
 * this test, as another mrnet would hold it), extract, train and cv refuse
 * with a message naming the folder and the holder's pid, and change
 * nothing; once the lock is released the same commands work. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor/fileio.h"

static void expect_locked(const char *dir)
{
    char pid[64];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    if (!strstr(test_cli_output(), "another mrnet") || !strstr(test_cli_output(), pid) ||
        !strstr(test_cli_output(), dir))
        fail_msg("no lock message naming %s and %s:\n%s", dir, pid, test_cli_output());
}

static void test_store_and_run_locks(void **state)
{
    (void)state;
    char songs[1024], store[1024], run[1024], cv[1024], index[1100];
    snprintf(songs, sizeof songs, "%s", test_path("songs"));
    snprintf(store, sizeof store, "%s", test_path("store"));
    snprintf(run, sizeof run, "%s", test_path("run"));
    snprintf(cv, sizeof cv, "%s", test_path("cv"));
    test_write_two_classes(songs, 4);

    mkdir(store, 0777);
    int fd;
    assert_int_equal(dir_lock(store, "test", &fd), MRNET_OK);
    CLI_EXPECT(1, "extract '%s' -o '%s' --make-folds 2 --quiet", songs, store);
    expect_locked(store);
    snprintf(index, sizeof index, "%s/index.jsonl", store);
    struct stat st;
    assert_int_not_equal(stat(index, &st), 0); /* nothing written */
    /* a second lock in the same process is refused too (flock per open file) */
    int fd2;
    assert_int_equal(dir_lock(store, "test", &fd2), MRNET_ERR_IO);
    assert_int_equal(fd2, -1);
    dir_unlock(fd);
    CLI_EXPECT(0, "extract '%s' -o '%s' --make-folds 2 --quiet", songs, store);

    mkdir(run, 0777);
    assert_int_equal(dir_lock(run, "test", &fd), MRNET_OK);
    CLI_EXPECT(1, "train '%s' -o '%s' --fold 1 --epochs 1 --channels 16 --embed 4 --batch 2 --crop-seconds 0.5 --quiet",
               store, run);
    expect_locked(run);
    dir_unlock(fd);
    CLI_EXPECT(0, "train '%s' -o '%s' --fold 1 --epochs 1 --channels 16 --embed 4 --batch 2 --crop-seconds 0.5 --quiet",
               store, run);

    mkdir(cv, 0777);
    assert_int_equal(dir_lock(cv, "test", &fd), MRNET_OK);
    CLI_EXPECT(1, "cv '%s' -o '%s' --epochs 1 --channels 16 --embed 4 --batch 2 --crop-seconds 0.5 --quiet", store, cv);
    expect_locked(cv);
    dir_unlock(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_store_and_run_locks)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
