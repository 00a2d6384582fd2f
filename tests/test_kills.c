/* Nothing is lost when mrnet dies (issue 11, item 7): `train` and `extract`
 * are SIGKILLed 20 times each at seeded points and run again (train with
 * --resume); the final files are bitwise those of an uninterrupted run and no
 * temporary is left. And a full disk during training (a 2 MB tmpfs, mounted
 * when we may; skipped with a message elsewhere) stops the run with a message
 * naming the file, keeps the previous checkpoint as it was, and the run
 * continues to the same result once there is room again.
 *
 * The kill points depend on the machine's speed, the outcome does not: every
 * point of a run must resume to the same bits. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sqlite3.h>
#include <unistd.h>

#include <mrnet/mrnet.h>
#include "tensor/rng.h"

enum { KILLS = 20 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Starts `mrnet ARGS...` (NULL-terminated) with its output to log. */
static pid_t spawn(const char *log, const char *const *args)
{
    const char *argv[64] = {MRNET_CLI_PATH};
    int n = 1;
    for (; args[n - 1] && n < 63; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("OMP_NUM_THREADS", "1", 1);
        execv(MRNET_CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Runs to the end; the exit status. */
static int run(const char *log, const char *const *args)
{
    int status;
    pid_t pid = spawn(log, args);
    assert_true(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void read_text(const char *path, char *text, size_t size)
{
    FILE *f = fopen(path, "rb");
    text[0] = '\0';
    if (f) {
        text[fread(text, 1, size - 1, f)] = '\0';
        fclose(f);
    }
}

/* Runs to the end and fails, showing the log, unless it exits 0. */
static void run_ok(const char *log, const char *const *args)
{
    unlink(log);
    int rc = run(log, args);
    if (rc != 0) {
        static char text[16384];
        read_text(log, text, sizeof text);
        fail_msg("mrnet %s exited %d:\n%s", args[0], rc, text);
    }
}

/* Starts the command and SIGKILLs it after `seconds` unless it ended first;
 * true when it was killed. */
static bool run_and_kill(const char *log, const char *const *args, double seconds)
{
    pid_t pid = spawn(log, args);
    double end = now() + seconds;
    int status;
    while (now() < end) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("mrnet %s ended with status %d before the kill; see %s", args[0], status,
                         log);
            return false;
        }
        struct timespec nap = {0, 2 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    kill(pid, SIGKILL);
    assert_true(waitpid(pid, &status, 0) == pid);
    return WIFSIGNALED(status);
}

/* Files under dir (recursively) whose name holds ".tmp."; the first in first. */
static int temporaries(const char *dir, char *first, size_t size)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            n += temporaries(p, n ? NULL : first, size);
        else if (strstr(e->d_name, ".tmp.")) {
            if (!n && first)
                snprintf(first, size, "%s", p);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void assert_no_temporaries(const char *dir)
{
    char first[2048] = "";
    int n = temporaries(dir, first, sizeof first);
    if (n)
        fail_msg("%d temporaries left in %s, e.g. %s", n, dir, first);
}

static void assert_same_runs(const char *a, const char *b)
{
    char pa[1200], pb[1200];
    for (int k = 0; k < 2; k++) {
        const char *file = k ? "best.safetensors" : "last.safetensors";
        snprintf(pa, sizeof pa, "%s/%s", a, file);
        snprintf(pb, sizeof pb, "%s/%s", b, file);
        test_assert_same_tensor_files(pa, pb);
    }
}

static char songs[1024], store[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(songs, sizeof songs, "%s", test_path("songs"));
    snprintf(store, sizeof store, "%s", test_path("store"));
    test_write_two_classes(songs, 12);
    return test_run_cli("extract '%s' -o '%s' --make-split 0.25,0 --quiet", songs, store) == 0 ? 0 : -1;
}

/* C 32 for the kills (an epoch long enough to be hit in the middle), C 16 for
 * the full disk (a state that fits in 2 MB twice) */
#define TRAIN_ARGS(out, channels, ...)                                                          \
    (const char *const[]){"train", store, "-o", out, "--epochs", "6", "--restart-epochs", "6",  \
                          "--batch", "6", "--channels", channels, "--embed", "8",               \
                          "--crop-seconds", "1",   "--seed", "3", "--quiet", __VA_ARGS__}

static void train_survives_kills(void **state)
{
    (void)state;
    char whole[1024], killed[1024], log[1024];
    snprintf(whole, sizeof whole, "%s", test_path("train_whole"));
    snprintf(killed, sizeof killed, "%s", test_path("train_killed"));
    snprintf(log, sizeof log, "%s", test_path("train.log"));
    double t0 = now();
    run_ok(log, TRAIN_ARGS(whole, "32", NULL));
    double wall = now() - t0;

    uint64_t rng = 20261203;
    int hits = 0;
    for (int k = 0; k < KILLS; k++) /* each run gets up to 1.5 epochs' time */
        hits += run_and_kill(log, TRAIN_ARGS(killed, "32", "--resume", NULL),
                             (0.05 + rng_uniform(&rng)) * 1.5 * wall / 6);
    print_message("train: %d of %d runs killed (uninterrupted: %.2f s)\n", hits, KILLS, wall);
    run_ok(log, TRAIN_ARGS(killed, "32", "--resume", NULL));
    assert_same_runs(whole, killed);
    assert_no_temporaries(killed);
}

/* A finished run resumed writes nothing, and still removes what a killed
 * writer left: here a temporary of curve.svg of a process that is gone. */
static void finished_run_cleans_temporaries(void **state)
{
    (void)state;
    char dir[1024], log[1024], planted[1200], other[1200];
    snprintf(dir, sizeof dir, "%s", test_path("train_finished"));
    snprintf(log, sizeof log, "%s", test_path("finished.log"));
    run_ok(log, TRAIN_ARGS(dir, "16", NULL));
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    assert_true(waitpid(gone, NULL, 0) == gone);
    snprintf(planted, sizeof planted, "%s/.curve.svg.tmp.%ld.00112233aabbccdd", dir, (long)gone);
    snprintf(other, sizeof other, "%s/.notes.txt.tmp.%ld.00112233aabbccdd", dir, (long)gone);
    assert_int_equal(test_write_file(planted, "<svg", 4), 0);
    assert_int_equal(test_write_file(other, "mine", 4), 0);
    run_ok(log, TRAIN_ARGS(dir, "16", "--resume", NULL));
    struct stat sb;
    assert_int_equal(stat(planted, &sb), -1);
    assert_int_equal(stat(other, &sb), 0); /* not one of the run's files: kept */
}

/* Each entry of store b holds the same features, bit for bit, as in a. */
static void assert_same_stores(const char *a_dir, const char *b_dir)
{
    mrnet_store *a, *b;
    assert_int_equal(mrnet_store_open(a_dir, &a), MRNET_OK);
    assert_int_equal(mrnet_store_open(b_dir, &b), MRNET_OK);
    assert_int_equal(mrnet_store_count(a), mrnet_store_count(b));
    for (int i = 0; i < mrnet_store_count(a); i++) {
        const mrnet_store_entry *e = mrnet_store_get(a, i);
        int j = mrnet_store_find(b, e->source);
        if (j < 0)
            fail_msg("%s is missing from %s", e->source, b_dir);
        const mrnet_store_entry *f = mrnet_store_get(b, j);
        assert_true(e->T == f->T && e->D == f->D && e->S == f->S);
        size_t n = (size_t)e->S * e->L * e->D * (size_t)e->T;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        assert_int_equal(mrnet_store_read_all(a, i, x), MRNET_OK);
        assert_int_equal(mrnet_store_read_all(b, j, y), MRNET_OK);
        if (memcmp(x, y, n * sizeof *x) != 0)
            fail_msg("%s: features differ between %s and %s", e->source, a_dir, b_dir);
        free(x);
        free(y);
    }
    mrnet_store_close(a);
    mrnet_store_close(b);
}

/* 80 tones of 5 s in two class folders (made once): long enough to be
 * killed in the middle of a file. */
static const char *many_songs(void)
{
    static char many[1024];
    if (many[0])
        return many;
    snprintf(many, sizeof many, "%s", test_path("many_songs"));
    mkdir(many, 0755);
    for (int i = 0; i < 80; i++) {
        char p[1100];
        snprintf(p, sizeof p, "%s/%s", many, i % 2 ? "high" : "low");
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/%s/%d.wav", many, i % 2 ? "high" : "low", i);
        test_write_tone(p, 5.0, (i % 2 ? 1800.0 : 150.0) + 7.0 * i);
    }
    return many;
}

static void extract_survives_kills(void **state)
{
    (void)state;
    char many[1024], whole[1024], killed[1024], log[1024];
    snprintf(many, sizeof many, "%s", many_songs());
    snprintf(whole, sizeof whole, "%s", test_path("store_whole"));
    snprintf(killed, sizeof killed, "%s", test_path("store_killed"));
    snprintf(log, sizeof log, "%s", test_path("extract.log"));
    double t0 = now();
    const char *args_whole[] = {"extract", many, "-o", whole, "-j", "1", "--quiet", NULL};
    run_ok(log, args_whole);
    double wall = now() - t0;

    const char *args[] = {"extract", many, "-o", killed, "-j", "1", "--quiet", NULL};
    uint64_t rng = 3122026;
    int hits = 0;
    for (int k = 0; k < KILLS; k++) /* up to about 2 files' time a run */
        hits += run_and_kill(log, args, (0.1 + 2 * rng_uniform(&rng)) * wall / 80);
    print_message("extract: %d of %d runs killed (uninterrupted: %.2f s)\n", hits, KILLS, wall);
    run_ok(log, args);
    assert_same_stores(whole, killed);
    assert_no_temporaries(killed);
}

static bool same_bytes(const char *a, const char *b);

/* predict -o: each killed run leaves OUT.partial and its journal; the next
 * continues; the last one's file equals an uninterrupted run's, byte for
 * byte, with two workers. */
static void predict_survives_kills(void **state)
{
    (void)state;
    char run_dir[1024], ckpt[1100], whole[1024], killed[1024], log[1024], partial[1100];
    snprintf(run_dir, sizeof run_dir, "%s", test_path("predict_run"));
    snprintf(ckpt, sizeof ckpt, "%s/best.safetensors", run_dir);
    snprintf(whole, sizeof whole, "%s", test_path("whole.jsonl"));
    snprintf(killed, sizeof killed, "%s", test_path("killed.jsonl"));
    snprintf(partial, sizeof partial, "%s.partial", killed);
    snprintf(log, sizeof log, "%s", test_path("predict.log"));
    run_ok(log, TRAIN_ARGS(run_dir, "16", NULL));
    const char *many = many_songs();
    double t0 = now();
    run_ok(log, (const char *const[]){"predict", ckpt, many, "-o", whole, "--timeline", "-j", "2", "--crop-seconds",
                                      "1", "--quiet", NULL});
    double wall = now() - t0;
    const char *args[] = {"predict", ckpt, many, "-o", killed, "--timeline", "-j", "2", "--crop-seconds", "1",
                          "--quiet", NULL};
    uint64_t rng = 4122026;
    int hits = 0;
    for (int k = 0; k < KILLS; k++) /* up to half a run's time */
        hits += run_and_kill(log, args, (0.02 + 0.5 * rng_uniform(&rng)) * wall);
    print_message("predict: %d of %d runs killed (uninterrupted: %.2f s)\n", hits, KILLS, wall);
    run_ok(log, args);
    assert_true(same_bytes(whole, killed));
    assert_int_equal(access(partial, F_OK), -1);
}

/* Standard output of `mrnet ARGS...` (to the end, exit 0) into text. */
static void run_output(const char *const *args, char *text, size_t size)
{
    char out[1100];
    snprintf(out, sizeof out, "%s", test_path("output.txt"));
    unlink(out);
    run_ok(out, args);
    read_text(out, text, size);
    char *timing = strstr(text, "mrnet query:"); /* standard error, with times: not compared */
    if (timing)
        *timing = '\0';
}

/* mrnet index: 20 SIGKILLs during an update (in and between transactions),
 * then a last run: the index lists the same tracks with the same
 * probabilities as one built without interruption, and SQLite finds it
 * intact. */
static void index_survives_kills(void **state)
{
    (void)state;
    char run_dir[1024], ckpt[1100], whole[1024], killed[1024], log[1024];
    snprintf(run_dir, sizeof run_dir, "%s", test_path("predict_run"));
    snprintf(ckpt, sizeof ckpt, "%s/best.safetensors", run_dir);
    snprintf(whole, sizeof whole, "%s", test_path("whole.db"));
    snprintf(killed, sizeof killed, "%s", test_path("killed.db"));
    snprintf(log, sizeof log, "%s", test_path("index.log"));
    if (access(ckpt, F_OK) != 0)
        run_ok(log, TRAIN_ARGS(run_dir, "16", NULL));
    const char *many = many_songs();
    double t0 = now();
    run_ok(log, (const char *const[]){"index", ckpt, many, "--db", whole, "--crop-seconds", "1", "-j", "2", "--quiet",
                                      NULL});
    double wall = now() - t0;
    const char *args[] = {"index", ckpt, many, "--db", killed, "--crop-seconds", "1", "-j", "2", "--quiet", NULL};
    uint64_t rng = 5122026;
    int hits = 0;
    for (int k = 0; k < KILLS; k++)
        hits += run_and_kill(log, args, (0.02 + 0.5 * rng_uniform(&rng)) * wall);
    print_message("index: %d of %d runs killed (uninterrupted: %.2f s)\n", hits, KILLS, wall);
    run_ok(log, args);
    static char a[1 << 17], b[1 << 17];
    run_output((const char *const[]){"query", "--db", whole, "--format", "csv", NULL}, a, sizeof a);
    run_output((const char *const[]){"query", "--db", killed, "--format", "csv", NULL}, b, sizeof b);
    assert_string_equal(a, b);
    assert_true(strlen(a) > 80 * 40); /* 80 tracks listed */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(killed, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- a full disk during training ---------------------------------------- */

static char mounted[1024]; /* unmounted at the end, even after a failure */

static int unmount_disk(void **state)
{
    (void)state;
    if (mounted[0])
        umount(mounted);
    return 0;
}

static bool same_bytes(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    bool same = f && g;
    while (same) {
        int c = fgetc(f), d = fgetc(g);
        same = c == d;
        if (c == EOF)
            break;
    }
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    return same;
}

static void copy_file(const char *from, const char *to)
{
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    assert_true(f && g);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        assert_int_equal(fwrite(buf, 1, n, g), n);
    fclose(f);
    assert_int_equal(fclose(g), 0);
}

/* Fills the file system of path with a file until a write fails. */
static void fill(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static char block[4096];
    while (write(fd, block, sizeof block) > 0)
        ;
    while (write(fd, block, 1) > 0)
        ;
    close(fd);
}

static void full_disk_keeps_checkpoint(void **state)
{
    (void)state;
    char disk[1024], run_dir[1100], whole[1024], log[1024], filler[1100];
    snprintf(disk, sizeof disk, "%s", test_path("tmpfs"));
    snprintf(whole, sizeof whole, "%s", test_path("disk_whole"));
    snprintf(log, sizeof log, "%s", test_path("disk.log"));
    snprintf(run_dir, sizeof run_dir, "%s/run", disk);
    snprintf(filler, sizeof filler, "%s/filler", disk);
    assert_int_equal(mkdir(disk, 0755), 0);
    if (mount("tmpfs", disk, "tmpfs", 0, "size=2m") != 0) {
        print_message("skipped: cannot mount a 2 MB tmpfs here (%s); needs root and mount "
                      "rights\n", strerror(errno));
        skip();
    }
    snprintf(mounted, sizeof mounted, "%s", disk);
    /* 2 epochs, then 6 after a full disk stopped the third */
    run_ok(log, TRAIN_ARGS(whole, "16", NULL));
    const char *const *two = TRAIN_ARGS(run_dir, "16", "--resume", NULL);
    const char *args_two[64];
    int n = 0;
    for (; two[n]; n++)
        args_two[n] = strcmp(two[n], "6") == 0 && n > 0 && !strcmp(two[n - 1], "--epochs") ? "2"
                                                                                          : two[n];
    args_two[n] = NULL;
    run_ok(log, args_two);
    char last[1200], best[1200], last_copy[1100], best_copy[1100];
    snprintf(last, sizeof last, "%s/last.safetensors", run_dir);
    snprintf(best, sizeof best, "%s/best.safetensors", run_dir);
    snprintf(last_copy, sizeof last_copy, "%s", test_path("last.copy"));
    snprintf(best_copy, sizeof best_copy, "%s", test_path("best.copy"));
    copy_file(last, last_copy);
    copy_file(best, best_copy);

    fill(filler);
    char out[1100];
    snprintf(out, sizeof out, "%s", test_path("disk_full.out"));
    unlink(out);
    int rc = run(out, TRAIN_ARGS(run_dir, "16", "--resume", NULL));
    char text[8192];
    read_text(out, text, sizeof text);
    if (rc == 0 || !strstr(text, "No space left") || !strstr(text, run_dir))
        fail_msg("exit %d on a full disk; output:\n%s", rc, text);
    assert_true(same_bytes(last, last_copy)); /* the previous state, untouched */
    assert_true(same_bytes(best, best_copy));
    assert_no_temporaries(run_dir);

    unlink(filler);
    run_ok(log, TRAIN_ARGS(run_dir, "16", "--resume", NULL));
    assert_same_runs(whole, run_dir);
    assert_int_equal(umount(disk), 0);
    mounted[0] = '\0';
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(train_survives_kills),
        cmocka_unit_test(finished_run_cleans_temporaries),
        cmocka_unit_test(extract_survives_kills),
        cmocka_unit_test(predict_survives_kills),
        cmocka_unit_test(index_survives_kills),
        cmocka_unit_test(full_disk_keeps_checkpoint),
    };
    return cmocka_run_group_tests(tests, setup, unmount_disk);
}
