/* The training loop: resume after an interruption (mid-epoch and between
 * epochs) gives exactly the uninterrupted run; options that change the run
 * refuse to resume; outputs are written. Data: tones of three pitches
 * (classes), written as WAV and extracted into a feature store. */
#include "testutil.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"
#include "store/featstore.h"
#include "tensor/safetensors.h"
#include "train/trainer.h"

static const char *store_dir;
/* The uninterrupted run in test_path("full"), made by the group setup: the
 * cases compare with it or read its outputs, whichever runs first. */
static mrnet_train_result full;

static void write_tone(const char *path, double hz, double seconds, int seed)
{
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    assert_non_null(f);
    int n = (int)(seconds * 16000);
    float *x = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++)
        x[i] = 0.3f * (float)sin(2 * M_PI * hz * i / 16000.0 + seed) +
               0.05f * (float)sin(2 * M_PI * (hz * 2.01) * i / 16000.0);
    assert_int_equal(sf_writef_float(f, x, n), n);
    sf_close(f);
    free(x);
}

static void make_store(void)
{
    static const char *const classes[3] = {"low", "mid", "high"};
    static const double hz[3] = {220, 440, 880};
    char csv[8192] = "path,label,split\n";
    for (int c = 0; c < 3; c++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s", test_path(classes[c]));
        mkdir(dir, 0777);
        for (int i = 0; i < 8; i++) {
            char path[600];
            snprintf(path, sizeof path, "%s/%d.wav", dir, i);
            write_tone(path, hz[c] * (1 + 0.02 * i), 1.5 + 0.25 * (i % 3), i);
            snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%s,%s,%s\n", path, classes[c],
                     i < 6 ? "train" : "valid");
        }
    }
    const char *manifest = test_path("manifest.csv");
    assert_int_equal(test_write_file(manifest, csv, strlen(csv)), 0);
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_dataset_read_manifest(&ds, manifest), MRNET_OK);
    assert_int_equal(mrnet_dataset_finalize_labels(&ds, NULL, 0), MRNET_OK);
    mrnet_extract_options eo;
    mrnet_extract_options_default(&eo);
    mrnet_extract_report rep;
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", test_path("store"));
    assert_int_equal(mrnet_store_extract(dir, &ds, &eo, &rep), MRNET_OK);
    assert_int_equal(rep.failed, 0);
    mrnet_extract_report_free(&rep);
    mrnet_dataset_free(&ds);
    store_dir = dir;
}

/* mrnet_train that must return want; shows the library's message if not. */
static void run_expect(const mrnet_train_options *o, mrnet_train_result *r, mrnet_status want)
{
    mrnet_status st = mrnet_train(store_dir, o, r);
    if (st != want)
        fail_msg("trainer_run returned %d, expected %d: %s", st, want, mrnet_last_error());
}

static void small_options(mrnet_train_options *o, const char *out)
{
    mrnet_train_options_default(o);
    o->epochs = 3;
    o->batch = 6; /* 18 training clips: 3 batches per epoch */
    o->channels = 16;
    o->embed = 8;
    o->crop_seconds = 1.0;
    o->seed = 7;
    o->out_dir = out;
}

typedef struct {
    volatile sig_atomic_t flag;
    int stop_epoch, stop_batch;
} stopper;

static void stop_at(void *ctx, const mrnet_train_progress *p)
{
    stopper *s = ctx;
    if (!p->epoch_done && p->epoch == s->stop_epoch && p->batch == s->stop_batch)
        s->flag = 1;
}

static void assert_same_tensors(const char *a_path, const char *b_path)
{
    mrnet_st_file *a, *b;
    assert_int_equal(mrnet_st_open(a_path, &a), MRNET_OK);
    assert_int_equal(mrnet_st_open(b_path, &b), MRNET_OK);
    assert_int_equal(a->n_tensors, b->n_tensors);
    for (int i = 0; i < a->n_tensors; i++) {
        const mrnet_st_tensor *t = &a->tensors[i], *u = mrnet_st_find(b, t->name);
        assert_non_null(u);
        size_t bytes = (size_t)t->numel * mrnet_dtype_size(t->dtype);
        if (memcmp(t->data, u->data, bytes) != 0)
            fail_msg("%s differs between %s and %s", t->name, a_path, b_path);
    }
    mrnet_st_close(a);
    mrnet_st_close(b);
}

/* The store, and the uninterrupted 3-epoch run. */
static int setup(void **state)
{
    (void)state;
    make_store();
    mrnet_train_options o;
    small_options(&o, test_path("full"));
    mrnet_status st = mrnet_train(store_dir, &o, &full);
    if (st != MRNET_OK || full.epochs_run != 3) {
        fprintf(stderr, "uninterrupted run: %s, %d epochs: %s\n", mrnet_status_name(st),
                full.epochs_run, mrnet_last_error());
        return -1;
    }
    return 0;
}

static void resume_equals_uninterrupted(void **state)
{
    (void)state;
    mrnet_train_options o;
    mrnet_train_result part;
    /* interrupted in the middle of epoch 2, then between epochs */
    stopper s = {.stop_epoch = 2, .stop_batch = 1};
    small_options(&o, test_path("parts"));
    o.stop = &s.flag;
    o.progress = stop_at;
    o.progress_ctx = &s;
    run_expect(&o, &part, MRNET_ERR_INTERRUPTED);
    assert_non_null(strstr(mrnet_last_error(), "--resume"));
    s.flag = 0;
    s.stop_epoch = 3; /* after the last batch of epoch 2 the loop stops at the epoch's end */
    s.stop_batch = 0;
    o.resume = true;
    o.epochs = 2;
    run_expect(&o, &part, MRNET_OK);
    assert_int_equal(part.epochs_run, 2);
    o.epochs = 3;
    run_expect(&o, &part, MRNET_OK);
    assert_int_equal(part.epochs_run, 3);

    char a[600], b[600];
    snprintf(a, sizeof a, "%s/last.safetensors", test_path("full"));
    snprintf(b, sizeof b, "%s/last.safetensors", test_path("parts"));
    assert_same_tensors(a, b);
    snprintf(a, sizeof a, "%s/best.safetensors", test_path("full"));
    snprintf(b, sizeof b, "%s/best.safetensors", test_path("parts"));
    assert_same_tensors(a, b);
    assert_int_equal(full.best_epoch, part.best_epoch);
    assert_true(full.best_accuracy == part.best_accuracy);
    assert_true(full.last_macro_f1 == part.last_macro_f1);
}

static void outputs_written(void **state)
{
    (void)state;
    const char *files[] = {"best.safetensors", "last.safetensors", "log.jsonl", "curve.svg"};
    for (int i = 0; i < 4; i++) {
        char p[600];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", test_path("full"), files[i]);
        assert_int_equal(stat(p, &sb), 0);
        assert_true(sb.st_size > 0);
    }
    char p[600];
    snprintf(p, sizeof p, "%s/log.jsonl", test_path("full"));
    FILE *f = fopen(p, "r");
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        assert_non_null(strstr(line, "\"valid_accuracy\":"));
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 3);
    /* the best checkpoint carries labels and the feature settings */
    snprintf(p, sizeof p, "%s/best.safetensors", test_path("full"));
    mrnet_st_file *st;
    assert_int_equal(mrnet_st_open(p, &st), MRNET_OK);
    assert_non_null(strstr(mrnet_st_meta(st, "mrnet.labels"), "\"high\""));
    assert_non_null(strstr(mrnet_st_meta(st, "mrnet.features"), "kind=mel"));
    mrnet_st_close(st);
}

static void resume_refuses_other_options(void **state)
{
    (void)state;
    mrnet_train_options o;
    mrnet_train_result r;
    small_options(&o, test_path("full"));
    o.resume = true;
    o.weight_decay = 0.5;
    run_expect(&o, &r, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "weight_decay"));
}

static void bad_store_and_options(void **state)
{
    (void)state;
    mrnet_train_options o;
    mrnet_train_result r;
    small_options(&o, test_path("bad"));
    assert_int_not_equal(mrnet_train(test_path("no-such-store"), &o, &r), MRNET_OK);
    assert_non_null(strstr(mrnet_last_error(), "no-such-store"));
    o.batch = 1;
    assert_int_equal(mrnet_train(store_dir, &o, &r), MRNET_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_equals_uninterrupted),
        cmocka_unit_test(outputs_written),
        cmocka_unit_test(resume_refuses_other_options),
        cmocka_unit_test(bad_store_and_options),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
