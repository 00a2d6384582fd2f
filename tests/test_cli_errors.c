/* The mrnet command line on bad input, run as a separate process
 * (test_run_cli): exit 2 with usage for a wrong command line, exit 1 with a
 * message naming the file, tensor or option for a failure, and never a
 * half-written output. Plus `mrnet info` on a good checkpoint. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensor/safetensors.h"
#include <mrnet/model.h>
#include <mrnet/parallel.h>

/* tiny_a: D 6, S 2, L 3, K 4. */
#define CKPT "tests/golden/tiny_a.ckpt.safetensors"

static char ckpt[512];

static int setup(void **state)
{
    (void)state;
    snprintf(ckpt, sizeof ckpt, "%s", test_source_path(CKPT));
    return 0;
}

/* Output and exit status must match; the output must contain each
 * NULL-terminated fragment. */
static void expect_output(int rc, int want_rc, ...)
{
    const char *out = test_cli_output();
    if (rc != want_rc)
        fail_msg("exit status %d, expected %d; output:\n%s", rc, want_rc, out);
    va_list ap;
    va_start(ap, want_rc);
    test_expect_fragments("output", out, ap);
    va_end(ap);
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* An input file for tiny_a-like models: input (B,S,L,T,D), optional labels. */
typedef struct {
    int B, S, L, T, D;
    long nan_at; /* >= 0: index of a NaN */
    const int64_t *labels;
    int n_labels;
    bool labels_f32;
} input_spec;

static const char *write_input(const char *name, input_spec s)
{
    size_t n = (size_t)s.B * s.S * s.L * s.T * s.D;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t k = 0; k < n; k++)
        x[k] = sinf((float)k * 0.37f);
    if (s.nan_at >= 0)
        x[(size_t)s.nan_at] = NAN;
    float fl[16];
    mrnet_st_writer *w = mrnet_st_writer_create();
    assert_int_equal(mrnet_st_writer_add(w, "input", MRNET_F32, 5,
                                   (int64_t[]){s.B, s.S, s.L, s.T, s.D}, x),
                     MRNET_OK);
    if (s.labels && s.labels_f32) {
        for (int b = 0; b < s.n_labels; b++)
            fl[b] = (float)s.labels[b];
        assert_int_equal(mrnet_st_writer_add(w, "labels", MRNET_F32, 1, (int64_t[]){s.n_labels}, fl),
                         MRNET_OK);
    } else if (s.labels) {
        assert_int_equal(mrnet_st_writer_add(w, "labels", MRNET_I64, 1, (int64_t[]){s.n_labels},
                                       s.labels),
                         MRNET_OK);
    }
    const char *path = test_path(name);
    assert_int_equal(mrnet_st_writer_save(w, path), MRNET_OK);
    mrnet_st_writer_free(w);
    free(x);
    return path;
}

static input_spec tiny_a_input(void)
{
    return (input_spec){.B = 2, .S = 2, .L = 3, .T = 8, .D = 6, .nan_at = -1};
}

/* ---- the command line ---------------------------------------------------------- */

static void no_arguments(void **state)
{
    (void)state;
    expect_output(test_run_cli(""), 2, "usage", "forward", "info", NULL);
    expect_output(test_run_cli("frobnicate"), 2, "unknown command 'frobnicate'", "usage", NULL);
    expect_output(test_run_cli("--help"), 0, "usage", NULL);
    expect_output(test_run_cli("forward"), 2, "usage", NULL);
    expect_output(test_run_cli("forward --help"), 0, "usage", "--train-step", NULL);
    expect_output(test_run_cli("info"), 2, "usage", NULL);
    expect_output(test_run_cli("info a b"), 2, "usage", NULL);
}

static void bad_option_values(void **state)
{
    (void)state;
    char in[512], out[512];
    snprintf(in, sizeof in, "%s", write_input("opts_in.st", tiny_a_input()));
    snprintf(out, sizeof out, "%s", test_path("opts_out.st"));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --lr abc", ckpt, in, out), 2,
                  "'abc'", "--lr", NULL);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --lr -1", ckpt, in, out), 2, "--lr",
                  NULL);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --dropout 2", ckpt, in, out), 2,
                  "'2'", "--dropout", NULL);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --dropout 0.5x", ckpt, in, out), 2,
                  "--dropout", NULL);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --weight-decay nan", ckpt, in, out), 2,
                  "--weight-decay", NULL);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --seed -3", ckpt, in, out), 2,
                  "--seed", NULL);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --in-channels 0", ckpt, in, out), 2,
                  "--in-channels", NULL);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --frobnicate", ckpt, in, out), 2,
                  "usage", NULL);
    expect_output(test_run_cli("forward '%s' '%s'", ckpt, in), 2, "usage", NULL); /* no -o */
    expect_output(test_run_cli("forward '%s' -o '%s'", ckpt, out), 2, "usage", NULL);
    expect_output(test_run_cli("info --in-channels x '%s'", ckpt), 2, "'x'", "--in-channels",
                  NULL);
    expect_output(test_run_cli("info --in-channels 65 '%s'", ckpt), 2, "--in-channels", NULL);
    /* A bad route list is a failure of the run, named. */
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --drop-route L1,Q7", ckpt, in, out), 1,
                  "--drop-route", "'Q7'", NULL);
    assert_false(exists(out));
}

/* ---- failures of a run --------------------------------------------------------- */

static void missing_checkpoint(void **state)
{
    (void)state;
    char in[512], out[512], absent[512];
    snprintf(in, sizeof in, "%s", write_input("mc_in.st", tiny_a_input()));
    snprintf(out, sizeof out, "%s", test_path("mc_out.st"));
    snprintf(absent, sizeof absent, "%s", test_path("no_such.ckpt"));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s'", absent, in, out), 1, absent, NULL);
    assert_false(exists(out));
    /* The input missing instead. */
    expect_output(test_run_cli("forward '%s' '%s' -o '%s'", ckpt, absent, out), 1, absent, NULL);
    assert_false(exists(out));
}

static void wrong_input_shape(void **state)
{
    (void)state;
    input_spec s = tiny_a_input();
    s.T = 24;
    s.D = 7;
    char in[512], out[512];
    snprintf(in, sizeof in, "%s", write_input("shape_in.st", s));
    snprintf(out, sizeof out, "%s", test_path("shape_out.st"));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s'", ckpt, in, out), 1, in, "'input'",
                  "(2, 2, 3, 24, 7)", "(*, 2, 3, *, 6)", NULL);
    assert_false(exists(out));
    /* Wrong L, and a missing 'input' tensor. */
    s = tiny_a_input();
    s.L = 13;
    snprintf(in, sizeof in, "%s", write_input("layers_in.st", s));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s'", ckpt, in, out), 1, "'input'",
                  "(2, 2, 13, 8, 6)", NULL);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s'", ckpt, ckpt, out), 1, "'input'",
                  "missing", NULL);
    assert_false(exists(out));
}

static void nan_input(void **state)
{
    (void)state;
    input_spec s = tiny_a_input();
    s.nan_at = 300; /* sample 1 */
    char in[512], out[512];
    snprintf(in, sizeof in, "%s", write_input("nan_in.st", s));
    snprintf(out, sizeof out, "%s", test_path("nan_out.st"));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s'", ckpt, in, out), 1, in, "NaN",
                  "finite", "sample 1", NULL);
    assert_false(exists(out));
}

static void train_step_labels(void **state)
{
    (void)state;
    char in[512], out[512];
    snprintf(out, sizeof out, "%s", test_path("labels_out.st"));
    snprintf(in, sizeof in, "%s", write_input("nolabels_in.st", tiny_a_input()));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --train-step", ckpt, in, out), 1, in,
                  "'labels'", NULL);

    input_spec s = tiny_a_input();
    s.labels = (const int64_t[]){1, 9};
    s.n_labels = 2;
    snprintf(in, sizeof in, "%s", write_input("label9_in.st", s));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --train-step", ckpt, in, out), 1, in,
                  "labels", "9", "[0, 4)", NULL);
    s.labels = (const int64_t[]){-5, 0};
    snprintf(in, sizeof in, "%s", write_input("labelneg_in.st", s));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --train-step", ckpt, in, out), 1, in,
                  "labels", "-5", NULL);
    s.labels = (const int64_t[]){(int64_t)1 << 40, 0};
    snprintf(in, sizeof in, "%s", write_input("labelbig_in.st", s));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --train-step", ckpt, in, out), 1, in,
                  "labels", "1099511627776", NULL);
    s.labels = (const int64_t[]){1, 2, 3};
    s.n_labels = 3;
    snprintf(in, sizeof in, "%s", write_input("label3_in.st", s));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --train-step", ckpt, in, out), 1, in,
                  "'labels'", "(2)", NULL);
    s.labels = (const int64_t[]){1, 2};
    s.n_labels = 2;
    s.labels_f32 = true;
    snprintf(in, sizeof in, "%s", write_input("labelf32_in.st", s));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --train-step", ckpt, in, out), 1, in,
                  "'labels'", "int64", NULL);
    assert_false(exists(out));

    /* The same input with good labels trains. */
    s.labels_f32 = false;
    snprintf(in, sizeof in, "%s", write_input("labelok_in.st", s));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s' --train-step --dropout 0.2 --seed 4",
                               ckpt, in, out),
                  0, NULL);
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(out, &f), MRNET_OK);
    assert_non_null(mrnet_st_find(f, "loss"));
    assert_non_null(mrnet_st_find(f, "grad.fst_conv.weight"));
    assert_non_null(mrnet_st_find(f, "running.bn5.running_mean"));
    assert_non_null(mrnet_st_find(f, "param_after_step.head.fc1.weight"));
    mrnet_st_close(f);
}

/* Output into a directory that does not exist: exit 1, nothing written; an
 * existing output is left as it was when a run fails. */
static void output_not_writable(void **state)
{
    (void)state;
    char in[512], out[600], dir[512];
    snprintf(in, sizeof in, "%s", write_input("out_in.st", tiny_a_input()));
    snprintf(dir, sizeof dir, "%s", test_path("no_such_dir"));
    snprintf(out, sizeof out, "%s/out.st", dir);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s'", ckpt, in, out), 1, out, NULL);
    assert_false(exists(dir));
    DIR *d = opendir(test_tmpdir());
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".tmp"))
            fail_msg("temporary file left behind: %s", e->d_name);
    closedir(d);

    /* A good run writes eval outputs... */
    snprintf(out, sizeof out, "%s", test_path("kept_out.st"));
    expect_output(test_run_cli("forward '%s' '%s' -o '%s'", ckpt, in, out), 0, NULL);
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(out, &f), MRNET_OK);
    const float *p;
    assert_int_equal(mrnet_st_get_f32(f, "embedding", 2, (int64_t[]){2, 8}, &p), MRNET_OK);
    assert_int_equal(mrnet_st_get_f32(f, "logits", 2, (int64_t[]){2, 4}, &p), MRNET_OK);
    mrnet_st_close(f);
    struct stat before, after;
    assert_int_equal(stat(out, &before), 0);
    /* ...and a failing run leaves them alone. */
    input_spec s = tiny_a_input();
    s.nan_at = 0;
    const char *bad = write_input("out_bad_in.st", s);
    expect_output(test_run_cli("forward '%s' '%s' -o '%s'", ckpt, bad, out), 1, NULL);
    assert_int_equal(stat(out, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(mrnet_st_open(out, &f), MRNET_OK);
    mrnet_st_close(f);
}

/* ---- mrnet info ------------------------------------------------------------------ */

static void info(void **state)
{
    (void)state;
    const char *garbage = test_path("garbage.ckpt");
    assert_int_equal(test_write_file(garbage, "PK\3\4 definitely not safetensors", 32), 0);
    expect_output(test_run_cli("info '%s'", garbage), 1, garbage, NULL);
    expect_output(test_run_cli("info '%s'", test_path("absent.ckpt")), 1, "absent.ckpt", NULL);

    expect_output(test_run_cli("info '%s'", ckpt), 0, "79842", "L1", "L2", "L3", "H ", "M1",
                  "M2", "M3", "c0", "c3", "D 6", "S 2", "L 3",
                  "\nformat       unversioned (written before 0.1)\n", NULL);
    const char *rel = test_source_path("tests/golden/tiny_a.release.safetensors");
    expect_output(test_run_cli("info '%s'", rel), 0, "79842", "(none stored)",
                  "\nformat       release state dict", NULL);
    expect_output(test_run_cli("info --in-channels 1 '%s'", rel), 0, "D 12", "S 1", NULL);
    expect_output(test_run_cli("info --in-channels 5 '%s'", rel), 1, rel, "divisible", NULL);
    expect_output(test_run_cli("info '%s'",
                               test_source_path("tests/golden/tiny_a.io_drop.safetensors")),
                  1, "not an MRNet checkpoint", NULL);
}

/* Started by an MPI launcher (its environment says so, here without one):
 * a one-process command refuses, naming those that share their work; in a
 * build without MPI those refuse too, saying how to build with it. */
static void launcher_refusals(void **state)
{
    (void)state;
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    expect_output(test_run_cli("info x.safetensors"), 2, "runs in one process", "train", "extract",
                  NULL);
    if (!mrnet_mpi_built())
        expect_output(test_run_cli("train store -o run"), 2, "built without MPI", "MRNET_MPI=ON",
                      NULL);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    setenv("PMI_SIZE", "1", 1); /* one process: not a job to share */
    expect_output(test_run_cli("info x.safetensors"), 1, "x.safetensors", NULL);
    unsetenv("PMI_SIZE");
}

/* Issue 11, finding 11: class names with control characters (an escape
 * sequence, a line break) are printed as \xNN, never raw. */
static void labels_escaped(void **state)
{
    (void)state;
    mrnet_config cfg;
    mrnet_config_default(&cfg, 2);
    cfg.n_layers = 1;
    cfg.channels = 16;
    cfg.embed = 8;
    mrnet_model *m;
    assert_int_equal(mrnet_model_create(&cfg, 3, &m), MRNET_OK);
    char *labels[] = {"red\x1b[31mrock", "two\nlines"};
    assert_int_equal(mrnet_model_set_labels(m, labels, 2), MRNET_OK);
    const char *ck = test_path("control_labels.safetensors");
    assert_int_equal(mrnet_model_save(m, ck, NULL), MRNET_OK);
    mrnet_model_free(m);
    assert_int_equal(test_run_cli("info '%s'", ck), 0);
    const char *out = test_cli_output();
    if (!strstr(out, "red\\x1b[31mrock") || !strstr(out, "two\\x0alines"))
        fail_msg("labels not escaped:\n%s", out);
    assert_null(strchr(out, '\x1b'));

    /* eval's tables take the store's class names through the same escape */
    char dir[512], manifest[600], store[600], run[600], wav[700];
    snprintf(dir, sizeof dir, "%s", test_path("control_set"));
    snprintf(manifest, sizeof manifest, "%s/list.csv", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    mkdir(dir, 0755);
    FILE *f = fopen(manifest, "w");
    assert_non_null(f);
    fprintf(f, "path,label,split\n");
    for (int i = 0; i < 8; i++) {
        snprintf(wav, sizeof wav, "%s/%d.wav", dir, i);
        test_write_tone(wav, 1.0, i % 2 ? 1500 + 30 * i : 200 + 10 * i);
        fprintf(f, "%d.wav,%s,%s\n", i, i % 2 ? "calm" : "red\x1b[31mrock", i < 6 ? "train" : "test");
    }
    fclose(f);
    CLI_EXPECT(0, "extract '%s' -o '%s' --quiet", manifest, store);
    CLI_EXPECT(0, "train '%s' -o '%s' --epochs 1 --batch 2 --channels 16 --embed 8 --crop-seconds 0.5 "
                  "--valid-holdout 0 --quiet", store, run);
    CLI_EXPECT(0, "eval '%s/best.safetensors' '%s' --split test", run, store);
    out = test_cli_output();
    if (!strstr(out, "red\\x1b[31mrock") || strchr(out, '\x1b'))
        fail_msg("eval's table does not escape the class name:\n%s", out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_arguments),       cmocka_unit_test(bad_option_values),
        cmocka_unit_test(missing_checkpoint), cmocka_unit_test(wrong_input_shape),
        cmocka_unit_test(nan_input),          cmocka_unit_test(train_step_labels),
        cmocka_unit_test(output_not_writable), cmocka_unit_test(info), cmocka_unit_test(labels_escaped),
        cmocka_unit_test(launcher_refusals),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
