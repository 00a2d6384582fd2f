/* The command line never clobbers its inputs nor loses its output
 * (docs/RELIABILITY.md): "-" is standard output where a command writes text
 * and refused elsewhere; an output that is an input is refused naming both,
 * the input untouched; a write error on standard output (/dev/full) is exit
 * status 1; --json /dev/stdout with stdout redirected to a file appends to
 * it instead of replacing it; a non-finite logit is an error naming the
 * file, never a printed or scored NaN. One tone store and one tiny run are
 * made by the group setup; every case only reads them. */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safety_fixtures.h"

static const char *store;
static char ckpt[600], wav[700], wav_dir[600], index_path[700];

static int setup(void **state)
{
    (void)state;
    store = sx_make_store("tones", "store");
    mrnet_train_options o;
    sx_tiny_options(&o, test_path("run"), 1);
    mrnet_train_result r;
    if (mrnet_train(store, &o, &r) != MRNET_OK) {
        fprintf(stderr, "training: %s\n", mrnet_last_error());
        return -1;
    }
    snprintf(ckpt, sizeof ckpt, "%s/best.safetensors", test_path("run"));
    snprintf(wav_dir, sizeof wav_dir, "%s", test_path("tones"));
    snprintf(wav, sizeof wav, "%s/low0.wav", wav_dir);
    snprintf(index_path, sizeof index_path, "%s/index.jsonl", store);
    return 0;
}

/* No file named "-" appeared in the folder the commands run in. */
static void no_dash_file(void)
{
    char dash[600];
    snprintf(dash, sizeof dash, "%s/-", test_tmpdir());
    struct stat sb;
    if (lstat(dash, &sb) == 0)
        fail_msg("a file named '-' was written");
}

static void dash_is_standard_output(void **state)
{
    (void)state;
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o -", ckpt, wav), 0, sx_out(), "low0.wav", NULL);
    sx_expect(0, 0, sx_out(), "low", NULL);
    no_dash_file();
    /* JSON alone on stdout (a pipe to jq works); the table on stderr */
    EXPECT_RUN(sx_run("", "eval '%s' '%s' --split valid --json -", ckpt, store), 0, sx_err(),
              "accuracy", "confusion matrix", NULL);
    cJSON *j = cJSON_Parse(sx_out());
    if (!j)
        fail_msg("stdout is not JSON:\n%s", sx_out());
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "accuracy"));
    cJSON_Delete(j);
    EXPECT_RUN(sx_run("", "eval '%s' '%s' --split valid --predictions -", ckpt, store), 0, sx_out(),
              "path,label,predicted,probability\n", "low", NULL);
    no_dash_file();
}

static void dash_refused_elsewhere(void **state)
{
    (void)state;
    char in[700];
    snprintf(in, sizeof in, "%s", ckpt); /* any file: the refusal comes first */
    /* embed -o - is JSON lines on standard output, never a file named "-" */
    EXPECT_RUN(sx_run("", "embed '%s' '%s' -o -", ckpt, wav), 0, sx_out(), "{\"path\":", "low0.wav", "\"embedding\":[", NULL);
    assert_int_equal(access(test_path("-"), F_OK), -1);
    EXPECT_RUN(sx_run("", "embed '%s' '%s' -o - --format npy", ckpt, wav), 2, sx_err(), "npy", "-o FILE", NULL);
    EXPECT_RUN(sx_run("", "train '%s' -o - --epochs 1", store), 2, sx_err(), "-o -", "standard output", NULL);
    EXPECT_RUN(sx_run("", "cv '%s' -o - --epochs 1", store), 2, sx_err(), "-o -", "standard output", NULL);
    EXPECT_RUN(sx_run("", "extract '%s' -o -", wav_dir), 2, sx_err(), "-o -", "standard output", NULL);
    EXPECT_RUN(sx_run("", "eval '%s' '%s' --confusion -", ckpt, store), 2, sx_err(), "--confusion -", NULL);
    EXPECT_RUN(sx_run("", "eval '%s' '%s' --json - --predictions -", ckpt, store), 2, sx_err(),
              "only one", NULL);
    EXPECT_RUN(sx_run("", "routes '%s' --svg -", ckpt), 1, sx_err(), "standard output", NULL);
    EXPECT_RUN(sx_run("", "forward '%s' '%s' -o -", ckpt, in), 1, sx_err(), "standard output", NULL);
    no_dash_file();
}

/* ---- output = input ------------------------------------------------------------- */

typedef struct {
    char path[700];
    char *bytes;
    size_t size;
    ino_t ino;
} snapshot;

static void take(snapshot *s, const char *path)
{
    snprintf(s->path, sizeof s->path, "%s", path);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    s->size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    s->bytes = malloc(s->size + 1);
    assert_non_null(s->bytes);
    assert_int_equal(fread(s->bytes, 1, s->size, f), s->size);
    fclose(f);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    s->ino = sb.st_ino;
}

static void unchanged(snapshot *s)
{
    snapshot now;
    take(&now, s->path);
    if (now.size != s->size || memcmp(now.bytes, s->bytes, s->size) != 0 || now.ino != s->ino)
        fail_msg("%s was changed", s->path);
    free(now.bytes);
}

/* Each writer, pointed at one of its inputs: exit 1, both named, the input
 * untouched. */
static void output_is_input_refused(void **state)
{
    (void)state;
    snapshot c, w, ix;
    take(&c, ckpt);
    take(&w, wav);
    take(&ix, index_path);
    char link[600], npy[600], fwd_in[600];
    snprintf(link, sizeof link, "%s", test_path("ckpt.link"));
    assert_int_equal(symlink(ckpt, link), 0);
    snprintf(npy, sizeof npy, "%s", test_path("feat.npy"));
    snprintf(fwd_in, sizeof fwd_in, "%s", test_path("fwd_in.safetensors"));
    assert_int_equal(test_write_file(npy, "not really", 10), 0);
    assert_int_equal(test_write_file(fwd_in, "not really", 10), 0);
    snapshot n, f;
    take(&n, npy);
    take(&f, fwd_in);

    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s'", ckpt, wav, ckpt), 1, sx_err(), "the same", ckpt, NULL);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --format jsonl", ckpt, wav, link), 1, sx_err(), "the same", link,
               NULL);
    /* a file found in a folder given as input */
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --format csv", ckpt, wav_dir, wav), 1, sx_err(), "the same",
               wav, NULL);
    EXPECT_RUN(sx_run("", "embed '%s' '%s' -o '%s'", ckpt, wav, ckpt), 1, sx_err(), "the same", NULL);
    EXPECT_RUN(sx_run("", "eval '%s' '%s' --json '%s'", ckpt, store, ckpt), 1, sx_err(), "--json", ckpt, NULL);
    EXPECT_RUN(sx_run("", "eval '%s' '%s' --confusion '%s'", ckpt, store, ckpt), 1, sx_err(), "--confusion", NULL);
    EXPECT_RUN(sx_run("", "eval '%s' '%s' --predictions '%s'", ckpt, store, index_path), 1, sx_err(),
              "--predictions", "index.jsonl", NULL);
    EXPECT_RUN(sx_run("", "forward '%s' '%s' -o '%s'", ckpt, fwd_in, ckpt), 1, sx_err(), "the same", NULL);
    EXPECT_RUN(sx_run("", "forward '%s' '%s' -o '%s'", ckpt, fwd_in, fwd_in), 1, sx_err(), "the same", NULL);
    EXPECT_RUN(sx_run("", "routes '%s' --svg '%s'", ckpt, ckpt), 1, sx_err(), "--svg", NULL);
    EXPECT_RUN(sx_run("", "features '%s' -o '%s'", npy, npy), 1, sx_err(), "the same", NULL);
    EXPECT_RUN(sx_run("", "features '%s' --image '%s'", wav, wav), 1, sx_err(), "--image", NULL);
    EXPECT_RUN(sx_run("", "train '%s' -o '%s' --epochs 1", store, store), 1, sx_err(), "the same", NULL);
    EXPECT_RUN(sx_run("", "cv '%s' -o '%s' --epochs 1", store, store), 1, sx_err(), "the same", NULL);
    char manifest[700];
    snprintf(manifest, sizeof manifest, "%s/manifest.csv", wav_dir);
    snapshot m;
    take(&m, manifest);
    EXPECT_RUN(sx_run("", "extract '%s' -o '%s'", manifest, manifest), 1, sx_err(), "the same", NULL);

    snapshot *all[] = {&c, &w, &ix, &n, &f, &m};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        unchanged(all[i]);
        free(all[i]->bytes);
    }
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    char stray[700];
    snprintf(stray, sizeof stray, "%s/best.safetensors", store);
    assert_int_equal(access(stray, F_OK), -1); /* no run wrote into the store */
}

/* ---- standard output ------------------------------------------------------------ */

static void stdout_write_errors(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    EXPECT_RUN(sx_run("/dev/full", "info '%s'", ckpt), 1, sx_err(), "standard output", NULL);
    EXPECT_RUN(sx_run("/dev/full", "routes '%s'", ckpt), 1, sx_err(), "standard output", NULL);
    EXPECT_RUN(sx_run("/dev/full", "predict '%s' '%s'", ckpt, wav), 1, sx_err(), "standard output", NULL);
    EXPECT_RUN(sx_run("/dev/full", "predict '%s' '%s' -o -", ckpt, wav), 1, sx_err(), "standard output", NULL);
    EXPECT_RUN(sx_run("/dev/full", "eval '%s' '%s'", ckpt, store), 1, sx_err(), "standard output", NULL);
    EXPECT_RUN(sx_run("/dev/full", "eval '%s' '%s' --json -", ckpt, store), 1, sx_err(), "/dev/stdout",
              NULL);
    EXPECT_RUN(sx_run("/dev/full", "--version"), 1, sx_err(), "standard output", NULL);
    /* the same commands to a file succeed */
    EXPECT_RUN(sx_run("", "info '%s'", ckpt), 0, sx_out(), "route weights", NULL);
}

/* --json /dev/stdout with stdout redirected to a file: the JSON lands after
 * the table in that file, which is not replaced (rename would lose the
 * table and leave the shell writing to a deleted file). */
static void json_to_redirected_stdout(void **state)
{
    (void)state;
    const char *out = test_path("report.txt");
    EXPECT_RUN(sx_run(out, "eval '%s' '%s' --json /dev/stdout", ckpt, store), 0, sx_read(out),
              "accuracy", "confusion matrix", "\"macro_f1\"", NULL);
    const char *text = sx_read(out);
    assert_true(strstr(text, "confusion matrix") < strstr(text, "\"macro_f1\""));
}

/* ---- non-finite logits ---------------------------------------------------------- */

static void set_value(float *data, int64_t n, void *ctx)
{
    for (int64_t i = 0; i < n; i++)
        data[i] = *(const float *)ctx;
}

static void non_finite_logits(void **state)
{
    (void)state;
    char bad[600];
    snprintf(bad, sizeof bad, "%s", test_path("huge.safetensors"));
    /* finite values, so the loader takes them, but the head's batch norm
     * (x - 3e38) / sqrt(0 + eps) overflows to -inf */
    float huge = 3e38f, zero = 0;
    sx_rewrite(ckpt, test_path("huge_mean.safetensors"), "head.bn1.running_mean", set_value, &huge, NULL, NULL);
    sx_rewrite(test_path("huge_mean.safetensors"), bad, "head.bn1.running_var", set_value, &zero, NULL, NULL);
    EXPECT_RUN(sx_run("", "predict '%s' '%s'", bad, wav), 1, sx_err(), "low0.wav", "logit", NULL);
    if (strstr(sx_out(), "nan") || strstr(sx_out(), "inf"))
        fail_msg("a non-finite value was printed:\n%s", sx_out());
    EXPECT_RUN(sx_run("", "predict '%s' '%s' --timeline --format jsonl", bad, wav), 1, sx_err(), "logit", NULL);
    if (strstr(sx_out(), "nan") || strstr(sx_out(), "inf"))
        fail_msg("a non-finite value was printed:\n%s", sx_out());
    EXPECT_RUN(sx_run("", "eval '%s' '%s' --json '%s'", bad, store, test_path("huge.json")), 1, sx_err(),
              ".wav", "logit", NULL);
    assert_int_equal(access(test_path("huge.json"), F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dash_is_standard_output),
        cmocka_unit_test(dash_refused_elsewhere),
        cmocka_unit_test(output_is_input_refused),
        cmocka_unit_test(stdout_write_errors),
        cmocka_unit_test(json_to_redirected_stdout),
        cmocka_unit_test(non_finite_logits),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
