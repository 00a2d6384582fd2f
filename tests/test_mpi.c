/* Runs over several processes (issue 14, docs/SCALING.md): `mpirun -np 2
 * mrnet train/cv/extract` on this machine against one process. Skipped in a
 * build without MPI or where mpirun is missing. Every mpirun runs under
 * timeout(1), so a hang fails the test instead of stalling the suite. */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "testutil.h"
#include "safety_fixtures.h"
#include <mrnet/mrnet.h>

#define MPI_TIMEOUT_S 240
/* What every training run here shares: small, three batches an epoch. */
#define TINY "--batch 8 --channels 16 --embed 8 --seed 3 --quiet"

static const char *store; /* the demo's store (5 styles, 8 clips each) */

static int setup(void **state)
{
    (void)state;
    if (!mrnet_mpi_built() || system("command -v mpirun > /dev/null 2>&1") != 0)
        return 0; /* each test skips */
    setenv("OMP_NUM_THREADS", "1", 1);
    /* CI runs as root; Open MPI refuses that unless told */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    /* under ASan: Open MPI's own allocations kept until exit are not ours
     * (tests/lsan-mpi.supp); its plugins stay loaded so they can be named */
    static char lsan[1200];
    snprintf(lsan, sizeof lsan, "suppressions=%s:print_suppressions=0",
             test_source_path("tests/lsan-mpi.supp"));
    setenv("LSAN_OPTIONS", lsan, 1);
    setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 1);
    if (sx_run("", "demo -o demo --clips 8 --epochs 1 --channels 16 --embed 8 --quiet") != 0) {
        fprintf(stderr, "demo: %s\n", sx_err());
        return -1;
    }
    static char path[600];
    snprintf(path, sizeof path, "%s", test_path("demo/store"));
    store = path;
    return 0;
}

static void need_mpi(void)
{
    if (!store)
        skip();
}

/* Under ASan, the next mpi_run's processes check for leaks: that needs slow
 * unwinding (4x the run's time) to tell Open MPI's allocations from ours,
 * so one run per MPI path checks (training, extraction, predict, an error
 * path), the others do not. */
static bool check_leaks;

/* `mpirun -np N mrnet ARGS` in the test folder (stdout to out.txt, stderr to
 * err.txt): its exit status, 124 when it ran past MPI_TIMEOUT_S. */
static int mpi_run(int n, const char *fmt, ...)
{
    char args[4096], cmd[9000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char out[600], err[600];
    snprintf(out, sizeof out, "%s", test_path("out.txt"));
    snprintf(err, sizeof err, "%s", test_path("err.txt"));
    snprintf(cmd, sizeof cmd, "cd '%s' && ASAN_OPTIONS=%s timeout %d mpirun -np %d '%s' %s > '%s' 2> '%s' "
             "< /dev/null", test_tmpdir(), check_leaks ? "detect_leaks=1:fast_unwind_on_malloc=0" : "detect_leaks=0",
             MPI_TIMEOUT_S, n, MRNET_CLI_PATH, args, out, err);
    check_leaks = false;
    int rc = system(cmd);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

/* train_loss of every epoch of run/log.jsonl into loss (up to max). */
static int read_losses(const char *run, double *loss, int max)
{
    char path[700];
    snprintf(path, sizeof path, "%s/log.jsonl", test_path(run));
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("%s: missing", path);
    char line[4096];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "train_loss");
        if (cJSON_IsNumber(v))
            loss[n++] = v->valuedouble;
        cJSON_Delete(j);
    }
    fclose(f);
    return n;
}

/* ||a - b|| / ||a|| over the parameters of run_a's and run_b's last.safetensors. */
static double relative_distance(const char *run_a, const char *run_b)
{
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/last.safetensors", test_path(run_a));
    snprintf(pb, sizeof pb, "%s/last.safetensors", test_path(run_b));
    mrnet_model *a = NULL, *b = NULL;
    if (mrnet_model_load(pa, 0, &a) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    if (mrnet_model_load(pb, 0, &b) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    size_t n = mrnet_model_param_count(a, true);
    assert_int_equal(n, mrnet_model_param_count(b, true));
    const float *x = mrnet_model_params(a), *y = mrnet_model_params(b);
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        s += (double)x[i] * x[i];
    }
    mrnet_model_free(a);
    mrnet_model_free(b);
    return sqrt(d / s);
}

/* The stated tolerance of "the same run": every epoch's training loss within
 * 1e-4 (relative) and the weights within 1e-3 (relative L2). Not bit for bit:
 * the sums over processes add in another order, and AdamW's first steps
 * (g / |g|) turn the rounding of near-zero gradients into full steps of the
 * few parameters whose exact gradient is zero (biases before a batch norm). */
static void expect_same_run(const char *a, const char *b, int epochs)
{
    double la[64], lb[64];
    assert_int_equal(read_losses(a, la, 64), epochs);
    assert_int_equal(read_losses(b, lb, 64), epochs);
    for (int e = 0; e < epochs; e++)
        if (fabs(la[e] - lb[e]) > 1e-4 * fabs(la[e]))
            fail_msg("epoch %d: training loss %.8g (%s) against %.8g (%s)", e + 1, la[e], a, lb[e], b);
    double d = relative_distance(a, b);
    if (!(d < 1e-3))
        fail_msg("%s and %s: weights differ by %.3g (relative L2)", a, b, d);
}

static void sync_bn_equals_one_process(void **state)
{
    (void)state;
    need_mpi();
    EXPECT_RUN(sx_run("", "train '%s' -o one --epochs 3 " TINY, store), 0, sx_err(), NULL);
    check_leaks = true;
    EXPECT_RUN(mpi_run(2, "train '%s' -o two --epochs 3 --sync-bn " TINY, store), 0, sx_err(), NULL);
    expect_same_run("one", "two", 3);
    /* rank 0 alone wrote, and said so once */
    const char *out = sx_out();
    const char *first = strstr(out, "trained 3 epochs");
    assert_non_null(first);
    assert_null(strstr(first + 1, "trained 3 epochs"));
    /* per-process statistics (the default) are another run, still a sane one */
    EXPECT_RUN(mpi_run(2, "train '%s' -o local --epochs 3 " TINY, store), 0, sx_err(), NULL);
    double ll[3];
    assert_int_equal(read_losses("local", ll, 3), 3);
    assert_true(isfinite(ll[2]) && relative_distance("one", "local") > 1e-6);
}

/* Two epochs on 2 processes, the third resumed on 1 and on 3: the run of 3
 * epochs on 2 processes. */
static void resume_with_other_counts(void **state)
{
    (void)state;
    need_mpi();
    EXPECT_RUN(mpi_run(2, "train '%s' -o ref --epochs 3 --sync-bn " TINY, store), 0, sx_err(), NULL);
    EXPECT_RUN(mpi_run(2, "train '%s' -o r1 --epochs 2 --sync-bn " TINY, store), 0, sx_err(), NULL);
    EXPECT_RUN(sx_run("", "train '%s' -o r1 --epochs 3 --resume --sync-bn " TINY, store), 0, sx_err(), NULL);
    expect_same_run("ref", "r1", 3);
    EXPECT_RUN(sx_run("", "train '%s' -o r3 --epochs 2 --sync-bn " TINY, store), 0, sx_err(), NULL);
    EXPECT_RUN(mpi_run(3, "train '%s' -o r3 --epochs 3 --resume --sync-bn " TINY, store), 0, sx_err(),
               NULL);
    expect_same_run("ref", "r3", 3);
}

/* Cross-validation over two processes: rank 0 writes the summary. */
static void cv_over_two(void **state)
{
    (void)state;
    need_mpi();
    EXPECT_RUN(sx_run("", "extract '%s/data' -o cvstore --make-folds 2 --seed 1 --quiet",
                      test_path("demo")), 0, sx_err(), NULL);
    EXPECT_RUN(mpi_run(2, "cv cvstore -o cv --epochs 1 --sync-bn " TINY), 0, sx_err(), NULL);
    EXPECT_RUN(sx_run("", "cv cvstore -o cv1 --epochs 1 --sync-bn " TINY), 0, sx_err(), NULL);
    const char *two = sx_read(test_path("cv/cv.json"));
    assert_non_null(strstr(two, "accuracy"));
    expect_same_run("cv1/fold-1", "cv/fold-1", 1);
    expect_same_run("cv1/fold-2", "cv/fold-2", 1);
}

/* A file every process fails on: all stop, rank 0 says which rank and why;
 * the checkpoint of the last finished epoch is kept. */
static void failing_file_stops_every_rank(void **state)
{
    (void)state;
    need_mpi();
    char copy[700];
    snprintf(copy, sizeof copy, "%s", test_path("broken"));
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", store, copy);
    assert_int_equal(system(cmd), 0);
    EXPECT_RUN(mpi_run(2, "train broken -o fail --epochs 1 " TINY), 0, sx_err(), NULL);
    char last[800], saved[800];
    snprintf(last, sizeof last, "%s/last.safetensors", test_path("fail"));
    snprintf(saved, sizeof saved, "%s/saved.safetensors", test_path("fail"));
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && find '%s'/features -type f -exec truncate -s 1 {} +", last,
             saved, copy);
    assert_int_equal(system(cmd), 0);
    check_leaks = true;
    EXPECT_RUN(mpi_run(2, "train broken -o fail --epochs 3 --resume " TINY), 1, sx_err(), "rank ",
               "training batch", NULL);
    test_assert_same_tensor_files(saved, last);
    /* one process's batch cannot be empty */
    EXPECT_RUN(mpi_run(3, "train '%s' -o small --epochs 1 --batch 2 --channels 16 --embed 8 --quiet",
                       store), 1, sx_err(), "cannot be shared by 3 processes", NULL);
}

/* The pids of rank `rank` of the job (its environment says so). */
static pid_t find_rank(int rank)
{
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    while (d && !found && (e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0 || pid == getpid())
            continue;
        char path[300], exe[600] = "";
        snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
        ssize_t n = readlink(path, exe, sizeof exe - 1);
        if (n <= 0)
            continue;
        exe[n] = '\0';
        if (!strstr(exe, "mrnet"))
            continue;
        snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static char env[1 << 17];
        size_t len = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        env[len] = '\0';
        bool dir_ok = false, rank_ok = false;
        for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
            rank_ok |= !strcmp(env + i, want);
            dir_ok |= !strncmp(env + i, "MRNET_TEST_JOB=", 15) &&
                      !strcmp(env + i + 15, test_tmpdir());
        }
        if (rank_ok && dir_ok)
            found = pid;
    }
    if (d)
        closedir(d);
    return found;
}

/* kill -9 of one rank mid-run: the job ends (no rank waits forever), the
 * last checkpoint stays loadable, and the run resumes. */
static void dead_rank_ends_the_job(void **state)
{
    (void)state;
    need_mpi();
    setenv("MRNET_TEST_JOB", test_tmpdir(), 1);
    char cmd[4000], last[700];
    snprintf(last, sizeof last, "%s/long/last.safetensors", test_path(""));
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout %d mpirun -np 2 '%s' train '%s' -o long --epochs 12 "
             TINY " > '%s' 2>&1 < /dev/null", test_tmpdir(), MPI_TIMEOUT_S, MRNET_CLI_PATH, store,
             test_path("long.out"));
    pid_t job = fork();
    assert_true(job >= 0);
    if (job == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; i < 600 && stat(last, &st) != 0; i++)
        usleep(100 * 1000);
    assert_int_equal(stat(last, &st), 0);
    pid_t victim = find_rank(1);
    assert_true(victim > 0);
    assert_int_equal(kill(victim, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(job, &status, 0), job);
    assert_true(WIFEXITED(status));
    int rc = WEXITSTATUS(status);
    if (rc == 0 || rc == 124)
        fail_msg("mpirun exit %d after a rank died (124: it hung)\n%s", rc,
                 sx_read(test_path("long.out")));
    mrnet_model *m;
    if (mrnet_model_load(last, 0, &m) != MRNET_OK)
        fail_msg("the last checkpoint after the kill: %s", mrnet_last_error());
    mrnet_model_free(m);
    EXPECT_RUN(mpi_run(2, "train '%s' -o long --epochs 12 --resume " TINY, store), 0, sx_err(), NULL);
    double loss[64];
    assert_int_equal(read_losses("long", loss, 64), 12);
}

/* ---- sharded extraction ---- */

/* Two stores hold the same index and feature files, byte for byte. */
static void expect_same_store(const char *a, const char *b)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "diff -r -x .mrnet.lock '%s' '%s' > '%s' 2>&1", test_path(a), test_path(b),
             test_path("diff.txt"));
    if (system(cmd) != 0)
        fail_msg("%s and %s differ:\n%s", a, b, sx_read(test_path("diff.txt")));
}

/* A folder of longer tones (two classes), slow enough to stop mid-way. */
static void write_tones(const char *dir, int per_class, double seconds)
{
    char path[700];
    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof path, "%s/%s", test_path(dir), c ? "high" : "low");
        assert_int_equal(mrnet_make_dirs(path), MRNET_OK);
        for (int i = 0; i < per_class; i++) {
            char file[800];
            snprintf(file, sizeof file, "%s/%03d.wav", path, i);
            test_write_tone(file, seconds, (c ? 1800.0 : 150.0) * (1 + 0.01 * i));
        }
    }
}

static void extract_equals_one_process(void **state)
{
    (void)state;
    need_mpi();
    char data[700];
    snprintf(data, sizeof data, "%s", test_path("demo/data"));
    EXPECT_RUN(sx_run("", "extract '%s' -o x1 --quiet", data), 0, sx_err(), NULL);
    check_leaks = true;
    EXPECT_RUN(mpi_run(2, "extract '%s' -o x2 --quiet", data), 0, sx_err(), "40 computed", NULL);
    expect_same_store("x1", "x2");
    /* again, on 3: nothing to do */
    EXPECT_RUN(mpi_run(3, "extract '%s' -o x2 --quiet", data), 0, sx_err(), "0 computed, 40 reused",
               NULL);
    expect_same_store("x1", "x2");
    /* a file no process can decode: named once, by rank 0, the rest stored */
    char bad[800];
    snprintf(bad, sizeof bad, "%s/jazz/broken.wav", data);
    assert_int_equal(test_write_file(bad, "RIFF\x10\0\0\0WAVEjunk", 16), 0);
    EXPECT_RUN(mpi_run(2, "extract '%s' -o x3 --quiet", data), 0, sx_err(), "40 computed", "1 failed",
               "broken.wav", NULL);
    const char *err = sx_err(), *first = strstr(err, "broken.wav");
    assert_null(strstr(first + 1, "broken.wav"));
    remove(bad);
}

/* The parts of an extraction killed mid-way (rank 1 with SIGKILL) are
 * merged by the next run, on another process count; the result is the
 * one-process store. */
static void extract_continues_after_kill(void **state)
{
    (void)state;
    need_mpi();
    write_tones("long", 30, 12.0);
    EXPECT_RUN(sx_run("", "extract long -o k1 --quiet"), 0, sx_err(), NULL);
    setenv("MRNET_TEST_JOB", test_tmpdir(), 1);
    char cmd[4000], part[700];
    snprintf(part, sizeof part, "%s/k2/parts/rank-1/index.jsonl", test_path(""));
    snprintf(cmd, sizeof cmd, "cd '%s' && exec timeout %d mpirun -np 2 '%s' extract long -o k2 --quiet "
             "> '%s' 2>&1 < /dev/null", test_tmpdir(), MPI_TIMEOUT_S, MRNET_CLI_PATH,
             test_path("kill.out"));
    pid_t job = fork();
    assert_true(job >= 0);
    if (job == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* once rank 1 has journaled a few files, stop it dead */
    pid_t victim = 0;
    for (int i = 0; i < 20000 && !victim; i++) {
        const char *idx = sx_read(part);
        int lines = 0;
        for (const char *p = idx; (p = strchr(p, '\n')); p++)
            lines++;
        if (lines >= 4) /* header, labels, two files */
            victim = find_rank(1);
        else
            usleep(1000);
    }
    assert_true(victim > 0);
    assert_int_equal(kill(victim, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(job, &status, 0), job);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 124);
    EXPECT_RUN(mpi_run(3, "extract long -o k2 --quiet"), 0, sx_err(), "reused", NULL);
    expect_same_store("k1", "k2");
}

/* ---- predict and embed ---- */

/* The block of every rank merged in input order: the one-process output,
 * byte for byte, in every format. */
static void predict_equals_one_process(void **state)
{
    (void)state;
    need_mpi();
    /* a text format with a header (the parts' are dropped) and a matrix one */
    static const char *const formats[] = {"csv", "safetensors"};
    for (int i = 0; i < 2; i++) {
        EXPECT_RUN(sx_run("", "predict demo/run/best.safetensors demo/data -o p1.%s --quiet", formats[i]),
                   0, sx_err(), NULL);
        check_leaks = i == 0;
        EXPECT_RUN(mpi_run(2, "predict demo/run/best.safetensors demo/data -o p2.%s --quiet", formats[i]),
                   0, sx_err(), NULL);
        char a[700], b[700];
        snprintf(a, sizeof a, "%s/p1.%s", test_tmpdir(), formats[i]);
        snprintf(b, sizeof b, "%s/p2.%s", test_tmpdir(), formats[i]);
        char cmd[1600];
        snprintf(cmd, sizeof cmd, "cmp '%s' '%s'", a, b);
        if (system(cmd) != 0)
            fail_msg("%s: 2 processes wrote another file than 1", formats[i]);
    }
    EXPECT_RUN(sx_run("", "embed demo/run/best.safetensors demo/data -o e1.npy --quiet"), 0, sx_err(), NULL);
    EXPECT_RUN(mpi_run(3, "embed demo/run/best.safetensors demo/data -o e3.npy --quiet"), 0, sx_err(), NULL);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "cd '%s' && cmp e1.npy e3.npy && cmp e1.paths.txt e3.paths.txt && ! ls e3.npy.rank-* 2> /dev/null",
             test_tmpdir());
    assert_int_equal(system(cmd), 0);
    /* standard output cannot be merged */
    EXPECT_RUN(mpi_run(2, "predict demo/run/best.safetensors demo/data"), 1, sx_err(), "give -o FILE", NULL);
}

/* Rank 1 killed mid-run: the same command on another process count
 * continues (skipping what any part holds) to the one-process file, and
 * the parts go. */
static void predict_continues_after_kill(void **state)
{
    (void)state;
    need_mpi();
    struct stat st;
    if (stat(test_path("long"), &st) != 0)
        write_tones("long", 30, 12.0);
    EXPECT_RUN(sx_run("", "predict demo/run/best.safetensors long -o q1.jsonl --quiet -j 1"), 0, sx_err(), NULL);
    setenv("MRNET_TEST_JOB", test_tmpdir(), 1);
    char cmd[4000], journal[700];
    snprintf(journal, sizeof journal, "%s/q2.jsonl.rank-1-of-2.partial.journal", test_tmpdir());
    snprintf(cmd, sizeof cmd, "cd '%s' && exec timeout %d mpirun -np 2 '%s' predict demo/run/best.safetensors "
             "long -o q2.jsonl --quiet -j 1 > '%s' 2>&1 < /dev/null", test_tmpdir(), MPI_TIMEOUT_S,
             MRNET_CLI_PATH, test_path("q.out"));
    pid_t job = fork();
    assert_true(job >= 0);
    if (job == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    pid_t victim = 0;
    for (int i = 0; i < 20000 && !victim; i++) {
        const char *text = sx_read(journal);
        int lines = 0;
        for (const char *p = text; (p = strchr(p, '\n')); p++)
            lines++;
        if (lines >= 3) /* the settings, two files */
            victim = find_rank(1);
        else
            usleep(1000);
    }
    assert_true(victim > 0);
    assert_int_equal(kill(victim, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(job, &status, 0), job);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 124);
    EXPECT_RUN(mpi_run(3, "predict demo/run/best.safetensors long -o q2.jsonl -j 1"), 0, sx_err(),
               "continuing", NULL);
    snprintf(cmd, sizeof cmd, "cd '%s' && cmp q1.jsonl q2.jsonl && ! ls q2.jsonl.rank-* 2> /dev/null",
             test_tmpdir());
    assert_int_equal(system(cmd), 0);
    /* parts of a run with other settings are refused, or dropped by --restart */
    snprintf(cmd, sizeof cmd, "cd '%s' && printf 'mrnet-partial 1\\t0\\tother\\n' > q2.jsonl.rank-0-of-5.partial.journal"
             " && : > q2.jsonl.rank-0-of-5.partial", test_tmpdir());
    assert_int_equal(system(cmd), 0);
    EXPECT_RUN(mpi_run(2, "predict demo/run/best.safetensors long -o q2.jsonl --quiet -j 1"), 1, sx_err(),
               "other settings", "--restart", NULL);
    EXPECT_RUN(mpi_run(2, "predict demo/run/best.safetensors long -o q2.jsonl --quiet -j 1 --restart"), 0,
               sx_err(), NULL);
    snprintf(cmd, sizeof cmd, "cd '%s' && cmp q1.jsonl q2.jsonl && ! ls q2.jsonl.rank-* 2> /dev/null",
             test_tmpdir());
    assert_int_equal(system(cmd), 0);
}

/* Commands that would only repeat their work in every process refuse. */
static void one_process_commands_refuse(void **state)
{
    (void)state;
    need_mpi();
    EXPECT_RUN(mpi_run(2, "info '%s/../run/best.safetensors'", store), 2, sx_err(),
               "runs in one process", "train", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sync_bn_equals_one_process),
        cmocka_unit_test(resume_with_other_counts),
        cmocka_unit_test(cv_over_two),
        cmocka_unit_test(failing_file_stops_every_rank),
        cmocka_unit_test(dead_rank_ends_the_job),
        cmocka_unit_test(extract_equals_one_process),
        cmocka_unit_test(extract_continues_after_kill),
        cmocka_unit_test(predict_equals_one_process),
        cmocka_unit_test(predict_continues_after_kill),
        cmocka_unit_test(one_process_commands_refuse),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
