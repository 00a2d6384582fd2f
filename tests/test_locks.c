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

#include "audio/encode.h"
#include "tensor/fileio.h"

#define CLI_EXPECT(want, ...)                                                                 \
    do {                                                                                      \
        int rc_ = test_run_cli(__VA_ARGS__);                                                  \
        if (rc_ != (want))                                                                    \
            fail_msg("exit %d, expected %d; output:\n%s", rc_, (want), test_cli_output());     \
    } while (0)

static void make_folder(const char *dir)
{
    mkdir(dir, 0777);
    const char *classes[2] = {"low", "high"};
    for (int c = 0; c < 2; c++) {
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/%s", dir, classes[c]);
        mkdir(sub, 0777);
        for (int i = 0; i < 4; i++) {
            int64_t n = 16000;
            float *x = malloc(sizeof(float) * (size_t)n);
            for (int64_t t = 0; t < n; t++)
                x[t] = (float)(0.3 * sin(2 * M_PI * (c ? 1500.0 : 200.0) * (1 + 0.1 * i) * (double)t / 16000));
            char path[1200];
            snprintf(path, sizeof path, "%s/%d.wav", sub, i);
            assert_int_equal(audio_write_wav16(path, x, 1, n, 16000), MRNET_OK);
            free(x);
        }
    }
}

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
    make_folder(songs);

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
