#define _XOPEN_SOURCE 700 /* nftw */
#include "testutil.h"
#include "audio/encode.h"
#include <mrnet/mrnet.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    if (remove(path) != 0)
        perror(path);
    return 0; /* go on: remove as much as possible */
}

/* At exit, whatever the result: a run leaves nothing in /tmp. Set
 * MRNET_TEST_KEEP_TMPDIR to keep the folder for a look after a failure. */
static void remove_tmpdir(void)
{
    if (getenv("MRNET_TEST_KEEP_TMPDIR")) {
        fprintf(stderr, "test files kept in %s\n", tmpdir);
        return;
    }
    /* depth first (contents before their folder), links not followed */
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/mrnet-test-XXXXXX", base && base[0] ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

const char *test_path(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 512, "%s/%s", test_tmpdir(), name);
    return b;
}

const char *test_source_path(const char *relative)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 512, "%s/%s", MRNET_SOURCE_DIR, relative);
    return b;
}

int test_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

int test_run_cli(const char *args_fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, args_fmt);
    vsnprintf(args, sizeof args, args_fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2>&1 < /dev/null", MRNET_CLI_PATH, args,
             test_path("cli.out"));
    int rc = system(cmd);
    if (rc == -1)
        return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

const char *test_cli_output(void)
{
    static char buf[65536];
    buf[0] = '\0';
    FILE *f = fopen(test_path("cli.out"), "rb");
    if (!f)
        return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

double test_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) /* NaN counts as infinite */
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

double test_max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i]) > m)
            m = fabs(a[i]);
    return m;
}

void test_expect_fragments(const char *what, const char *text, va_list ap)
{
    for (const char *frag; (frag = va_arg(ap, const char *)) != NULL;)
        if (!strstr(text, frag))
            fail_msg("%s lacks '%s': %s", what, frag, text);
}

void test_write_tone(const char *path, double seconds, double freq)
{
    int64_t n = (int64_t)(seconds * 16000);
    float *x = malloc(sizeof(float) * (size_t)n);
    assert_non_null(x);
    for (int64_t t = 0; t < n; t++)
        x[t] = (float)(0.3 * sin(2 * M_PI * freq * (double)t / 16000));
    assert_int_equal(audio_write_wav16(path, x, 1, n, 16000), MRNET_OK);
    free(x);
}

void test_write_two_classes(const char *dir, int per_class)
{
    static const char *const classes[2] = {"low", "high"};
    mkdir(dir, 0777);
    for (int c = 0; c < 2; c++) {
        char sub[1100], path[1200];
        snprintf(sub, sizeof sub, "%s/%s", dir, classes[c]);
        mkdir(sub, 0777);
        for (int i = 0; i < per_class; i++) {
            snprintf(path, sizeof path, "%s/%d.wav", sub, i);
            test_write_tone(path, 1.0, (c ? 1800.0 : 150.0) * (1 + 0.05 * i));
        }
    }
}

void test_assert_same_tensor_files(const char *a_path, const char *b_path)
{
    mrnet_st_file *a = NULL, *b = NULL;
    if (mrnet_st_open(a_path, &a) != MRNET_OK || mrnet_st_open(b_path, &b) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    assert_int_equal(a->n_tensors, b->n_tensors);
    for (int i = 0; i < a->n_tensors; i++) {
        const mrnet_st_tensor *t = &a->tensors[i], *u = mrnet_st_find(b, t->name);
        if (!u)
            fail_msg("%s is in %s but not in %s", t->name, a_path, b_path);
        size_t bytes = (size_t)t->numel * mrnet_dtype_size(t->dtype);
        if (memcmp(t->data, u->data, bytes) != 0)
            fail_msg("%s differs between %s and %s", t->name, a_path, b_path);
    }
    mrnet_st_close(a);
    mrnet_st_close(b);
}
