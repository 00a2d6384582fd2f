/* Fixture helpers for the safety tests (test_cli_safety, test_train_guard):
 * a tiny store of tones, a tiny training run, rewriting a safetensors file
 * with one tensor or metadata value changed, and running the CLI in the
 * test folder with standard output and error kept apart. Header-only
 * (static) so each test program stays one .c file. Include after testutil.h. */
#ifndef MRNET_TESTS_SAFETY_FIXTURES_H
#define MRNET_TESTS_SAFETY_FIXTURES_H

#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "data/dataset.h"
#include "store/featstore.h"
#include "tensor/safetensors.h"
#include "train/trainer.h"

/* Three pitches (classes) x 8 short tones, 6 train and 2 valid each, in
 * test_path(name)/ as WAVs and extracted into test_path(store). Returns the
 * store folder (static). */
static inline const char *sx_make_store(const char *wav_dir, const char *store)
{
    static const char *const classes[3] = {"low", "mid", "high"};
    static const double hz[3] = {220, 440, 880};
    char csv[8192] = "path,label,split\n", root[512];
    snprintf(root, sizeof root, "%s", test_path(wav_dir));
    mkdir(root, 0777);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 8; i++) {
            char path[700];
            snprintf(path, sizeof path, "%s/%s%d.wav", root, classes[c], i);
            SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
            SNDFILE *f = sf_open(path, SFM_WRITE, &info);
            assert_non_null(f);
            int n = (int)((1.5 + 0.25 * (i % 3)) * 16000);
            float *x = malloc(sizeof(float) * (size_t)n);
            assert_non_null(x);
            double f0 = hz[c] * (1 + 0.02 * i);
            for (int k = 0; k < n; k++)
                x[k] = 0.3f * (float)sin(2 * M_PI * f0 * k / 16000.0 + i) +
                       0.05f * (float)sin(2 * M_PI * f0 * 2.01 * k / 16000.0);
            assert_int_equal(sf_writef_float(f, x, n), n);
            sf_close(f);
            free(x);
            snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%s,%s,%s\n", path, classes[c],
                     i < 6 ? "train" : "valid");
        }
    char manifest[700];
    snprintf(manifest, sizeof manifest, "%s/manifest.csv", root);
    assert_int_equal(test_write_file(manifest, csv, strlen(csv)), 0);
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_dataset_read_manifest(&ds, manifest), MRNET_OK);
    assert_int_equal(mrnet_dataset_finalize_labels(&ds, NULL, 0), MRNET_OK);
    mrnet_extract_options eo;
    mrnet_extract_options_default(&eo);
    mrnet_extract_report rep;
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", test_path(store));
    assert_int_equal(mrnet_store_extract(dir, &ds, &eo, &rep), MRNET_OK);
    assert_int_equal(rep.failed, 0);
    mrnet_extract_report_free(&rep);
    mrnet_dataset_free(&ds);
    return dir;
}

/* Options of a tiny run: 3 batches of 6 an epoch, C 16, E 8, 1-s crops. */
static inline void sx_tiny_options(mrnet_train_options *o, const char *out_dir, int epochs)
{
    mrnet_train_options_default(o);
    o->epochs = epochs;
    o->batch = 6;
    o->channels = 16;
    o->embed = 8;
    o->crop_seconds = 1.0;
    o->seed = 7;
    o->out_dir = out_dir;
}

/* The tone store (sx_make_store("tones", "store")) and a one-epoch tiny
 * checkpoint trained on it in test_path(run) with seed; the checkpoint's
 * path into ckpt. Returns the store folder, NULL (message printed) when
 * training fails: for a group setup. */
static inline const char *sx_tiny_checkpoint(const char *run, uint64_t seed, char *ckpt, size_t size)
{
    static const char *tone_store;
    if (!tone_store)
        tone_store = sx_make_store("tones", "store");
    mrnet_train_options o;
    sx_tiny_options(&o, test_path(run), 1);
    o.seed = seed;
    mrnet_train_result r;
    if (mrnet_train(tone_store, &o, &r) != MRNET_OK) {
        fprintf(stderr, "training: %s\n", mrnet_last_error());
        return NULL;
    }
    snprintf(ckpt, size, "%s/best.safetensors", test_path(run));
    return tone_store;
}

/* A change to one tensor's float32 values while copying a file. */
typedef void (*sx_edit_fn)(float *data, int64_t n, void *ctx);

/* Copies the safetensors file src to dst with tensor `tensor` (float32)
 * passed through edit and metadata `key` set to `value` (either may be NULL). */
static inline void sx_rewrite(const char *src, const char *dst, const char *tensor, sx_edit_fn edit,
                              void *ctx, const char *key, const char *value)
{
    mrnet_st_file *f;
    if (mrnet_st_open(src, &f) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    mrnet_st_writer *w = mrnet_st_writer_create();
    assert_non_null(w);
    float *copy = NULL;
    for (int i = 0; i < f->n_tensors; i++) {
        const mrnet_st_tensor *t = &f->tensors[i];
        const void *data = t->data;
        if (tensor && !strcmp(t->name, tensor)) {
            assert_int_equal(t->dtype, MRNET_F32);
            copy = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
            assert_non_null(copy);
            memcpy(copy, t->data, sizeof(float) * (size_t)t->numel);
            edit(copy, t->numel, ctx);
            data = copy;
        }
        assert_int_equal(mrnet_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, data), MRNET_OK);
    }
    bool key_done = false;
    for (int i = 0; i < f->n_meta; i++) {
        bool ours = key && !strcmp(f->meta_keys[i], key);
        key_done |= ours;
        assert_int_equal(mrnet_st_writer_meta(w, f->meta_keys[i], ours ? value : f->meta_values[i]),
                         MRNET_OK);
    }
    if (key && !key_done)
        assert_int_equal(mrnet_st_writer_meta(w, key, value), MRNET_OK);
    if (mrnet_st_writer_save(w, dst) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    mrnet_st_writer_free(w);
    free(copy);
    mrnet_st_close(f);
}

/* Runs `mrnet ARGS` in the test folder, standard output to stdout_to (a
 * path, "" for test_path("out.txt")), standard error to test_path("err.txt");
 * returns the exit status. */
static inline int sx_run(const char *stdout_to, const char *args_fmt, ...)
{
    char args[4096], cmd[8192], out[600], err[600];
    va_list ap;
    va_start(ap, args_fmt);
    vsnprintf(args, sizeof args, args_fmt, ap);
    va_end(ap);
    snprintf(out, sizeof out, "%s", stdout_to && stdout_to[0] ? stdout_to : test_path("out.txt"));
    snprintf(err, sizeof err, "%s", test_path("err.txt"));
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > '%s' 2> '%s' < /dev/null", test_tmpdir(),
             MRNET_CLI_PATH, args, out, err);
    int rc = system(cmd);
    if (rc == -1)
        return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

/* A whole small file (static buffer, NUL-terminated; "" when missing). */
static inline const char *sx_read(const char *path)
{
    static char buf[2][1 << 16];
    static int next;
    char *b = buf[next++ % 2];
    b[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return b;
    size_t n = fread(b, 1, sizeof buf[0] - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static inline const char *sx_out(void) { return sx_read(test_path("out.txt")); }
static inline const char *sx_err(void) { return sx_read(test_path("err.txt")); }

/* Fails unless rc matches (want < 0: any non-zero) and text holds each fragment. */
static inline void sx_expect(int rc, int want, const char *text, ...)
{
    if (want < 0 ? rc == 0 : rc != want)
        fail_msg("exit status %d, expected %s%d; stdout:\n%s\nstderr:\n%s", rc, want < 0 ? "non-zero, not " : "",
                 want < 0 ? 0 : want, sx_out(), sx_err());
    va_list ap;
    va_start(ap, text);
    test_expect_fragments("output", text, ap);
    va_end(ap);
}

/* sx_expect on a run, with the text read after the run (an argument list
 * has no evaluation order): EXPECT_RUN(sx_run(...), want, sx_err(), "a", NULL). */
#define EXPECT_RUN(run, want, ...)       \
    do {                                 \
        int rc_ = (run);                 \
        sx_expect(rc_, want, __VA_ARGS__); \
    } while (0)

#endif
