/* The training loop: resume after an interruption (mid-epoch and between
 * epochs) gives exactly the uninterrupted run; options that change the run
 * refuse to resume; outputs are written; a store without valid entries gets
 * a seeded, stratified hold-out of whole groups. Data: tones of three
 * pitches (classes), written as WAV and extracted into a feature store. */
#include "testutil.h"

#include <cjson/cJSON.h>

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
#include "train/trainer_internal.h"

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

/* A store in test_path(name) of 3 classes x 8 clips (WAVs in
 * test_path(name)_audio/CLASS/); clips 6 and 7 of a class are
 * "valid" unless all_train; with groups, clips 2g and 2g+1 form group g. */
static void make_store_at(const char *name, bool all_train, bool groups, char *dir, size_t dir_size)
{
    static const char *const classes[3] = {"low", "mid", "high"};
    static const double hz[3] = {220, 440, 880};
    char csv[8192];
    snprintf(csv, sizeof csv, "path,label,split%s\n", groups ? ",group" : "");
    for (int c = 0; c < 3; c++) {
        char folder[512];
        snprintf(folder, sizeof folder, "%s_audio", test_path(name));
        mkdir(folder, 0777);
        snprintf(folder + strlen(folder), sizeof folder - strlen(folder), "/%s", classes[c]);
        mkdir(folder, 0777);
        for (int i = 0; i < 8; i++) {
            char path[600];
            snprintf(path, sizeof path, "%s/%d.wav", folder, i);
            write_tone(path, hz[c] * (1 + 0.02 * i), 1.5 + 0.25 * (i % 3), i);
            snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%s,%s,%s", path, classes[c],
                     i < 6 || all_train ? "train" : "valid");
            if (groups)
                snprintf(csv + strlen(csv), sizeof csv - strlen(csv), ",%s track %d", classes[c], i / 2);
            snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "\n");
        }
    }
    char manifest[600];
    snprintf(manifest, sizeof manifest, "%s.csv", test_path(name));
    assert_int_equal(test_write_file(manifest, csv, strlen(csv)), 0);
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_dataset_read_manifest(&ds, manifest), MRNET_OK);
    assert_int_equal(mrnet_dataset_finalize_labels(&ds, NULL, 0), MRNET_OK);
    mrnet_extract_options eo;
    mrnet_extract_options_default(&eo);
    mrnet_extract_report rep;
    snprintf(dir, dir_size, "%s", test_path(name));
    assert_int_equal(mrnet_store_extract(dir, &ds, &eo, &rep), MRNET_OK);
    assert_int_equal(rep.failed, 0);
    mrnet_extract_report_free(&rep);
    mrnet_dataset_free(&ds);
}

static void make_store(void)
{
    static char dir[512];
    make_store_at("store", false, false, dir, sizeof dir);
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
    test_assert_same_tensor_files(a, b);
    snprintf(a, sizeof a, "%s/best.safetensors", test_path("full"));
    snprintf(b, sizeof b, "%s/best.safetensors", test_path("parts"));
    test_assert_same_tensor_files(a, b);
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

/* A run with the after-norm gate: its checkpoints say so (format 2), the
 * gate logits moved from 0 (no decay pulls them back), and resuming with the
 * other placement is refused both ways, naming it. The paper run's state
 * has no route_weights key, as states written before the option. */
static void after_norm_training(void **state)
{
    (void)state;
    mrnet_train_options o;
    mrnet_train_result r;
    small_options(&o, test_path("after"));
    o.epochs = 2;
    o.route_weights = MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    run_expect(&o, &r, MRNET_OK);
    assert_int_equal(r.epochs_run, 2);
    char p[600];
    snprintf(p, sizeof p, "%s/best.safetensors", test_path("after"));
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(p, &f), MRNET_OK);
    assert_string_equal(mrnet_st_meta(f, "mrnet.format"), "2");
    assert_non_null(strstr(mrnet_st_meta(f, "mrnet.train"), "\"route_weights\":\"after-norm\""));
    mrnet_st_close(f);
    mrnet_model *m;
    assert_int_equal(mrnet_model_load(p, 0, &m), MRNET_OK);
    assert_int_equal(mrnet_model_config(m)->route_weights, MRNET_ROUTE_WEIGHTS_AFTER_NORM);
    const float *a = mrnet_model_find_tensor(m, "w_all")->data;
    assert_true(test_max_abs(a, MRNET_ROUTES) > 0); /* trained from 0 */
    const float *gate = mrnet_model_route_weights(m);
    double sum = 0;
    for (int j = 0; j < MRNET_ROUTES; j++)
        sum += gate[j];
    assert_true(fabs(sum - MRNET_ROUTES) < 1e-4);
    mrnet_model_free(m);

    o.resume = true;
    o.epochs = 3;
    o.route_weights = MRNET_ROUTE_WEIGHTS_PAPER;
    run_expect(&o, &r, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "route weights are paper now but were after-norm"));
    o.route_weights = MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    run_expect(&o, &r, MRNET_OK);
    assert_int_equal(r.epochs_run, 3);

    small_options(&o, test_path("full"));
    o.resume = true;
    o.route_weights = MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    run_expect(&o, &r, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "route weights are after-norm now but were paper"));
    snprintf(p, sizeof p, "%s/last.safetensors", test_path("full"));
    assert_int_equal(mrnet_st_open(p, &f), MRNET_OK);
    assert_null(strstr(mrnet_st_meta(f, "train.state"), "route_weights"));
    assert_string_equal(mrnet_st_meta(f, "mrnet.format"), "1");
    mrnet_st_close(f);
}

/* --route-weights on the command line: a bad value names the choices; a
 * tiny after-norm run trains and mrnet routes shows its gate. */
static void route_weights_cli(void **state)
{
    (void)state;
    const char *out = test_path("cli_after");
    CLI_EXPECT(2, "train '%s' -o '%s' --route-weights bogus", store_dir, out);
    const char *said = test_cli_output();
    assert_non_null(strstr(said, "--route-weights"));
    assert_non_null(strstr(said, "bogus"));
    assert_non_null(strstr(said, "paper, after-norm"));
    CLI_EXPECT(0, "train '%s' -o '%s' --route-weights after-norm --epochs 1 --batch 6 --channels 16 "
                  "--embed 8 --crop-seconds 1 --quiet",
               store_dir, out);
    CLI_EXPECT(0, "routes '%s/best.safetensors'", out);
    assert_non_null(strstr(test_cli_output(), "placement after-norm"));
    CLI_EXPECT(0, "train --help");
    assert_non_null(strstr(test_cli_output(), "--route-weights"));
}

/* The entries trainer_hold_out_valid moves to validation (valid[i] != 0),
 * for a store whose split column has no "valid". */
static int held_out(const char *dir, uint64_t seed, double share, unsigned char *valid, char *note, size_t note_size)
{
    mrnet_train_options o;
    mrnet_train_options_default(&o);
    o.seed = seed;
    o.valid_holdout = share;
    trainer t = {.opt = &o};
    assert_int_equal(mrnet_store_open(dir, &t.store), MRNET_OK);
    int n = mrnet_store_count(t.store);
    t.train = malloc(sizeof(int) * n);
    t.valid = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++)
        t.train[t.n_train++] = i;
    mrnet_status st = trainer_hold_out_valid(&t);
    if (st != MRNET_OK)
        fail_msg("hold-out: %s", mrnet_last_error());
    memset(valid, 0, (size_t)n);
    for (int i = 0; i < t.n_valid; i++)
        valid[t.valid[i]] = 1;
    assert_int_equal(t.n_train + t.n_valid, n);
    assert_int_equal(t.n_held_out, t.n_valid);
    snprintf(note, note_size, "%s", t.note);
    free(t.train);
    free(t.valid);
    mrnet_store_close(t.store);
    return t.n_valid;
}

/* Per class: how many held out; groups whole. */
static void check_holdout(const char *dir, const unsigned char *valid, int per_class)
{
    mrnet_store *fs;
    assert_int_equal(mrnet_store_open(dir, &fs), MRNET_OK);
    int count[3] = {0};
    for (int i = 0; i < mrnet_store_count(fs); i++) {
        const mrnet_store_entry *e = mrnet_store_get(fs, i);
        count[e->label_index] += valid[i];
        for (int j = 0; j < mrnet_store_count(fs); j++)
            if (e->group[0] && !strcmp(e->group, mrnet_store_get(fs, j)->group))
                assert_int_equal(valid[i], valid[j]);
    }
    for (int k = 0; k < 3; k++)
        assert_int_equal(count[k], per_class);
    mrnet_store_close(fs);
}

static void note_progress(void *ctx, const mrnet_train_progress *p)
{
    if (p->note)
        snprintf(ctx, 256, "%s", p->note);
}

/* No valid entries: 15 % of the training groups (at least one per class of
 * three or more), the same for the same seed, whole groups; without groups
 * entries are drawn; the run says so (progress note, log) and validates. */
static void holdout_without_valid(void **state)
{
    (void)state;
    char grouped[512], plain[512], note[256];
    make_store_at("store_groups", true, true, grouped, sizeof grouped);
    unsigned char a[24], b[24], c[24];
    /* 4 groups per class: round(0.6) = 1 group of 2 clips each */
    assert_int_equal(held_out(grouped, 7, 0.15, a, note, sizeof note), 6);
    check_holdout(grouped, a, 2);
    assert_non_null(strstr(note, "3 of 12 training groups (6 entries, 15%, stratified by class, seed 7)"));
    assert_int_equal(held_out(grouped, 7, 0.15, b, note, sizeof note), 6);
    assert_memory_equal(a, b, sizeof a);
    bool other = false; /* another seed draws other groups (for one of these) */
    for (uint64_t seed = 1; seed <= 4 && !other; seed++) {
        held_out(grouped, seed, 0.15, c, note, sizeof note);
        check_holdout(grouped, c, 2);
        other = memcmp(a, c, sizeof a) != 0;
    }
    assert_true(other);
    /* 0.5 of 4 groups: 2 per class */
    assert_int_equal(held_out(grouped, 7, 0.5, c, note, sizeof note), 12);
    check_holdout(grouped, c, 4);

    make_store_at("store_plain", true, false, plain, sizeof plain);
    assert_int_equal(held_out(plain, 7, 0.15, c, note, sizeof note), 3); /* round(8 * 0.15) = 1 per class */
    check_holdout(plain, c, 1);
    assert_non_null(strstr(note, "3 of 24 training entries"));

    /* the run: says so, validates on the held-out groups, logs it */
    mrnet_train_options o;
    mrnet_train_result r;
    small_options(&o, test_path("holdout_run"));
    o.epochs = 1;
    char said[256] = "";
    o.progress = note_progress;
    o.progress_ctx = said;
    mrnet_status st = mrnet_train(grouped, &o, &r);
    if (st != MRNET_OK)
        fail_msg("train: %s", mrnet_last_error());
    assert_int_equal(r.n_held_out, 6);
    assert_int_equal(r.n_valid, 6);
    assert_int_equal(r.n_train, 18);
    assert_true(r.best_accuracy >= 0);
    assert_non_null(strstr(said, "no valid entries: 3 of 12 training groups"));
    char p[600], line[1024];
    snprintf(p, sizeof p, "%s/log.jsonl", test_path("holdout_run"));
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "\"note\":\"no valid entries: 3 of 12"));
    /* 0 keeps the old behaviour: no validation */
    o.valid_holdout = 0;
    o.out_dir = test_path("holdout_none");
    said[0] = '\0';
    assert_int_equal(mrnet_train(grouped, &o, &r), MRNET_OK);
    assert_int_equal(r.n_valid, 0);
    assert_int_equal(r.n_held_out, 0);
    assert_string_equal(said, "");
    o.valid_holdout = 1;
    assert_int_equal(mrnet_train(grouped, &o, &r), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "hold-out"));
}


/* Options of the robust recipe on a small run: global input statistics,
 * weight average, crops by duration and masks. */
static void robust_options(mrnet_train_options *o, const char *out)
{
    small_options(o, out);
    mrnet_train_options_robust(o);
    o->epochs = 3;
    o->restart_epochs = 3;
    o->batch = 6;
    o->channels = 16;
    o->embed = 8;
    o->crop_seconds = 0.5; /* clips of 1.5-2 s: 3 or 4 crops each an epoch */
    o->time_mask_seconds = 0.1;
    o->freq_mask_bands = 4;
    o->noise = false;
}

typedef struct {
    int batches;
} batch_count;

static void count_batches(void *ctx, const mrnet_train_progress *p)
{
    batch_count *c = ctx;
    if (!p->note && !p->epoch_done)
        c->batches = p->batches;
}

/* An interrupted robust run resumes to the same files (the weight average
 * travels in last.safetensors); an epoch holds round(T / crop) crops of each
 * clip; the checkpoint holds the training set's feature statistics. */
static void robust_recipe_resumes_exactly(void **state)
{
    (void)state;
    mrnet_train_options o;
    mrnet_train_result r;
    robust_options(&o, test_path("robust_full"));
    batch_count count = {0};
    o.progress = count_batches;
    o.progress_ctx = &count;
    run_expect(&o, &r, MRNET_OK);

    mrnet_store *fs;
    assert_int_equal(mrnet_store_open(store_dir, &fs), MRNET_OK);
    long crops = 0, frames = 0;
    int D = mrnet_store_get(fs, 0)->D;
    double *sum = calloc((size_t)D, sizeof(double));
    for (int i = 0; i < mrnet_store_count(fs); i++) {
        const mrnet_store_entry *e = mrnet_store_get(fs, i);
        if (strcmp(e->split, "train"))
            continue;
        int64_t crop = (int64_t)llround(0.5 * mrnet_features_settings_frame_rate(mrnet_store_settings(fs)));
        crops += lround((double)e->T / (double)crop);
        float *x = malloc(sizeof(float) * (size_t)D * (size_t)e->T);
        assert_int_equal(mrnet_store_read_all(fs, i, x), MRNET_OK);
        for (int d = 0; d < D; d++)
            for (int64_t t = 0; t < e->T; t++)
                sum[d] += x[(size_t)d * e->T + t];
        frames += e->T;
        free(x);
    }
    assert_true(crops > 18 * 2);
    assert_int_equal(count.batches, crops / 6);

    char p[600];
    snprintf(p, sizeof p, "%s/best.safetensors", test_path("robust_full"));
    mrnet_model *m;
    assert_int_equal(mrnet_model_load(p, 0, &m), MRNET_OK);
    assert_int_equal(mrnet_model_config(m)->input_norm, MRNET_INPUT_NORM_GLOBAL);
    const mrnet_tensor_info *mean = mrnet_model_find_tensor(m, "input_norm.mean");
    const mrnet_tensor_info *sd = mrnet_model_find_tensor(m, "input_norm.std");
    assert_non_null(mean);
    assert_non_null(sd);
    assert_int_equal(mean->numel, (size_t)D);
    for (int d = 0; d < D; d++) {
        double want = sum[d] / (double)frames;
        if (!(fabs(mean->data[d] - want) <= 1e-4 * (1 + fabs(want))))
            fail_msg("input_norm.mean[%d] = %g, the training frames' mean is %g", d, mean->data[d], want);
        assert_true(sd->data[d] > 0);
    }
    free(sum);
    mrnet_model_free(m);
    mrnet_store_close(fs);

    stopper s = {.stop_epoch = 2, .stop_batch = 2};
    robust_options(&o, test_path("robust_parts"));
    o.stop = &s.flag;
    o.progress = stop_at;
    o.progress_ctx = &s;
    run_expect(&o, &r, MRNET_ERR_INTERRUPTED);
    s.flag = 0;
    s.stop_epoch = 0;
    o.resume = true;
    run_expect(&o, &r, MRNET_OK);
    char a[600], b[600];
    for (int k = 0; k < 2; k++) {
        const char *file = k ? "best.safetensors" : "last.safetensors";
        snprintf(a, sizeof a, "%s/%s", test_path("robust_full"), file);
        snprintf(b, sizeof b, "%s/%s", test_path("robust_parts"), file);
        test_assert_same_tensor_files(a, b);
    }
    /* resuming without the average (or another mask count) is refused */
    o.ema_decay = 0;
    run_expect(&o, &r, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "ema_decay"));
    robust_options(&o, test_path("robust_parts"));
    o.resume = true;
    o.time_masks = 3;
    run_expect(&o, &r, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "time_masks"));
}

/* --restart-epochs 0 (the robust recipe): one cosine cycle over the run, so
 * the lr falls every epoch and the last one is the lowest, never the
 * restart's lr_max; resuming with more epochs would change the schedule and
 * is refused. */
static void one_cycle_schedule(void **state)
{
    (void)state;
    mrnet_train_options o;
    mrnet_train_result r;
    robust_options(&o, test_path("one_cycle"));
    o.restart_epochs = 0;
    o.epochs = 3;
    run_expect(&o, &r, MRNET_OK);
    char p[600], line[1024];
    snprintf(p, sizeof p, "%s/log.jsonl", test_path("one_cycle"));
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    double lr[3] = {0};
    int n = 0;
    while (n < 3 && fgets(line, sizeof line, f))
        assert_int_equal(sscanf(strstr(line, "\"lr\":"), "\"lr\":%lf", &lr[n++]), 1);
    fclose(f);
    assert_int_equal(n, 3);
    assert_true(lr[0] < o.lr_max && lr[1] < lr[0] && lr[2] < lr[1] && lr[2] > o.lr_min);
    o.resume = true;
    o.epochs = 4;
    run_expect(&o, &r, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "restart_epochs"));
}

/* With one epoch the best epoch is the last, and best.safetensors holds the
 * weight average of last.safetensors (train.ema), not the raw weights. */
static void best_is_the_weight_average(void **state)
{
    (void)state;
    mrnet_train_options o;
    mrnet_train_result r;
    robust_options(&o, test_path("robust_ema"));
    o.epochs = 1;
    run_expect(&o, &r, MRNET_OK);
    char p[600];
    mrnet_st_file *last;
    snprintf(p, sizeof p, "%s/last.safetensors", test_path("robust_ema"));
    assert_int_equal(mrnet_st_open(p, &last), MRNET_OK);
    const mrnet_st_tensor *ema = mrnet_st_find(last, "train.ema");
    assert_non_null(ema);
    snprintf(p, sizeof p, "%s/best.safetensors", test_path("robust_ema"));
    mrnet_model *best, *raw;
    assert_int_equal(mrnet_model_load(p, 0, &best), MRNET_OK);
    snprintf(p, sizeof p, "%s/last.safetensors", test_path("robust_ema"));
    assert_int_equal(mrnet_model_load(p, 0, &raw), MRNET_OK);
    size_t n = mrnet_model_param_count(best, true);
    assert_true((size_t)ema->numel > n);
    float *avg = malloc(sizeof(float) * (size_t)ema->numel);
    assert_int_equal(mrnet_st_copy_to_f32(last, ema, avg, ema->numel), MRNET_OK);
    assert_memory_equal(avg, mrnet_model_params(best), n * sizeof(float));
    assert_true(test_max_abs_diff(mrnet_model_params(raw), mrnet_model_params(best), n) > 0);
    free(avg);
    mrnet_model_free(best);
    mrnet_model_free(raw);
    mrnet_st_close(last);
}

/* --recipe and the new flags on the command line: bad values name the
 * choices; a robust run writes a globally normalised checkpoint that eval reads. */
static void recipe_cli(void **state)
{
    (void)state;
    char out[600];
    snprintf(out, sizeof out, "%s", test_path("cli_robust")); /* test_path's buffers rotate */
    CLI_EXPECT(2, "train '%s' -o '%s' --recipe fast", store_dir, out);
    assert_non_null(strstr(test_cli_output(), "choose paper or robust"));
    CLI_EXPECT(2, "demo -o '%s' --recipe fast", out);
    assert_non_null(strstr(test_cli_output(), "choose paper or robust"));
    CLI_EXPECT(2, "train '%s' -o '%s' --input-norm batch", store_dir, out);
    assert_non_null(strstr(test_cli_output(), "instance or global"));
    CLI_EXPECT(2, "train '%s' -o '%s' --ema 1", store_dir, out);
    assert_non_null(strstr(test_cli_output(), "--ema"));
    CLI_EXPECT(2, "train '%s' -o '%s' --time-masks -1", store_dir, out);
    CLI_EXPECT(2, "train '%s' -o '%s' --freq-mask-bands x", store_dir, out);
    /* the recipe first, whatever its place: --channels before it still wins */
    CLI_EXPECT(0, "train '%s' -o '%s' --channels 16 --recipe robust --epochs 1 --batch 6 --embed 8 "
                  "--crop-seconds 0.5 --time-mask-seconds 0.1 --quiet",
               store_dir, out);
    char p[640];
    snprintf(p, sizeof p, "%s/best.safetensors", out);
    mrnet_model *m;
    assert_int_equal(mrnet_model_load(p, 0, &m), MRNET_OK);
    assert_int_equal(mrnet_model_config(m)->channels, 16);
    assert_int_equal(mrnet_model_config(m)->input_norm, MRNET_INPUT_NORM_GLOBAL);
    mrnet_model_free(m);
    CLI_EXPECT(0, "info '%s'", p);
    assert_non_null(strstr(test_cli_output(), "input norm   global"));
    CLI_EXPECT(0, "eval '%s' '%s' --split valid", p, store_dir);
    assert_non_null(strstr(test_cli_output(), "accuracy"));
    CLI_EXPECT(0, "train --help");
    assert_non_null(strstr(test_cli_output(), "--recipe"));
}

static bool tensors_differ(const char *a_path, const char *b_path, const char *name)
{
    mrnet_st_file *a, *b;
    assert_int_equal(mrnet_st_open(a_path, &a), MRNET_OK);
    assert_int_equal(mrnet_st_open(b_path, &b), MRNET_OK);
    const mrnet_st_tensor *t = mrnet_st_find(a, name), *u = mrnet_st_find(b, name);
    assert_non_null(t);
    assert_non_null(u);
    bool differ = memcmp(t->data, u->data, (size_t)t->numel * mrnet_dtype_size(t->dtype)) != 0;
    mrnet_st_close(a);
    mrnet_st_close(b);
    return differ;
}

/* Mixup and label smoothing: each changes the run (the soft targets reach the
 * gradients), an interrupted run resumes to the same files, resuming with
 * another alpha is refused, and out-of-range values are refused. */
static void mixup_and_smoothing(void **state)
{
    (void)state;
    mrnet_train_options o;
    mrnet_train_result r;
    char plain[600], mixed[600], smooth[600], parts[600], a[700], b[700];
    snprintf(plain, sizeof plain, "%s", test_path("soft_plain"));
    snprintf(mixed, sizeof mixed, "%s", test_path("soft_mixup"));
    snprintf(smooth, sizeof smooth, "%s", test_path("soft_smooth"));
    snprintf(parts, sizeof parts, "%s", test_path("soft_parts"));
    robust_options(&o, plain);
    o.epochs = o.restart_epochs = 2;
    run_expect(&o, &r, MRNET_OK);
    o.out_dir = mixed;
    o.mixup_alpha = 0.4;
    o.label_smoothing = 0.1;
    run_expect(&o, &r, MRNET_OK);
    assert_true(r.epochs_run == 2);
    o.out_dir = smooth;
    o.mixup_alpha = 0;
    run_expect(&o, &r, MRNET_OK);
    snprintf(a, sizeof a, "%s/last.safetensors", plain);
    snprintf(b, sizeof b, "%s/last.safetensors", smooth);
    assert_true(tensors_differ(a, b, "fc6.weight"));
    snprintf(b, sizeof b, "%s/last.safetensors", mixed);
    assert_true(tensors_differ(a, b, "fc6.weight"));
    snprintf(a, sizeof a, "%s/last.safetensors", smooth);
    assert_true(tensors_differ(a, b, "fc6.weight"));

    stopper s = {.stop_epoch = 2, .stop_batch = 1};
    robust_options(&o, parts);
    o.epochs = o.restart_epochs = 2;
    o.mixup_alpha = 0.4;
    o.label_smoothing = 0.1;
    o.stop = &s.flag;
    o.progress = stop_at;
    o.progress_ctx = &s;
    run_expect(&o, &r, MRNET_ERR_INTERRUPTED);
    s.flag = 0;
    s.stop_epoch = 0;
    o.resume = true;
    o.mixup_alpha = 0.2;
    run_expect(&o, &r, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "mixup_alpha"));
    o.mixup_alpha = 0.4;
    run_expect(&o, &r, MRNET_OK);
    for (int k = 0; k < 2; k++) {
        const char *file = k ? "best.safetensors" : "last.safetensors";
        snprintf(a, sizeof a, "%s/%s", mixed, file);
        snprintf(b, sizeof b, "%s/%s", parts, file);
        test_assert_same_tensor_files(a, b);
    }

    robust_options(&o, test_path("soft_bad"));
    o.mixup_alpha = -1;
    run_expect(&o, &r, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "mixup"));
    o.mixup_alpha = 0;
    o.label_smoothing = 1;
    run_expect(&o, &r, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "label smoothing"));

    char out[600];
    snprintf(out, sizeof out, "%s", test_path("soft_cli"));
    CLI_EXPECT(2, "train '%s' -o '%s' --mixup -0.5", store_dir, out);
    assert_non_null(strstr(test_cli_output(), "--mixup"));
    CLI_EXPECT(2, "train '%s' -o '%s' --label-smoothing 1", store_dir, out);
    assert_non_null(strstr(test_cli_output(), "--label-smoothing"));
    CLI_EXPECT(2, "train '%s' -o '%s' --mixup x", store_dir, out);
}

/* The model card: train --task records the task, the data per class, the
 * kept epoch's validation figures, the version and the date in
 * best.safetensors; info prints them and --json gives all of it. */
static void model_card(void **state)
{
    (void)state;
    char out[600], json[700], ckpt[700];
    snprintf(out, sizeof out, "%s", test_path("card_run"));
    snprintf(json, sizeof json, "%s/info.json", out);
    snprintf(ckpt, sizeof ckpt, "%s/best.safetensors", out);
    CLI_EXPECT(2, "train '%s' -o '%s' --task ''", store_dir, out);
    assert_non_null(strstr(test_cli_output(), "--task"));
    CLI_EXPECT(0, "train '%s' -o '%s' --task genre --epochs 2 --batch 6 --channels 16 --embed 8 "
                  "--crop-seconds 1 --quiet", store_dir, out);
    CLI_EXPECT(0, "info '%s'", ckpt);
    const char *text = test_cli_output();
    if (!strstr(text, "task         genre") || !strstr(text, "trained      20") ||
        !strstr(text, "validation   accuracy") || !strstr(text, MRNET_VERSION_STRING))
        fail_msg("info does not show the card:\n%s", text);
    CLI_EXPECT(0, "info '%s' --json '%s'", ckpt, json);
    FILE *f = fopen(json, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    const cJSON *card = cJSON_GetObjectItemCaseSensitive(j, "card");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(card, "task")->valuestring, "genre");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(card, "mrnet_version")->valuestring,
                        mrnet_version());
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(card, "classes"), *c;
    double train = 0, valid = 0;
    cJSON_ArrayForEach(c, classes) {
        train += cJSON_GetObjectItemCaseSensitive(c, "train")->valuedouble;
        valid += cJSON_GetObjectItemCaseSensitive(c, "valid")->valuedouble;
    }
    assert_true(train == cJSON_GetObjectItemCaseSensitive(card, "n_train")->valuedouble && train > 0);
    assert_true(valid == cJSON_GetObjectItemCaseSensitive(card, "n_valid")->valuedouble && valid > 0);
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(card, "valid"),
                                                        "accuracy");
    assert_true(cJSON_IsNumber(acc) && acc->valuedouble >= 0 && acc->valuedouble <= 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "labels")),
                     cJSON_GetArraySize(classes));
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "training")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "config")));
    cJSON_Delete(j);
    CLI_EXPECT(0, "info '%s' --json -", ckpt);
    assert_non_null(strstr(test_cli_output(), "\"card\""));
    CLI_EXPECT(1, "info '%s' --json '%s'", ckpt, ckpt); /* never onto its input */
    CLI_EXPECT(0, "info '%s'", ckpt);                   /* still intact */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_equals_uninterrupted),
        cmocka_unit_test(outputs_written),
        cmocka_unit_test(resume_refuses_other_options),
        cmocka_unit_test(bad_store_and_options),
        cmocka_unit_test(holdout_without_valid),
        cmocka_unit_test(after_norm_training),
        cmocka_unit_test(route_weights_cli),
        cmocka_unit_test(robust_recipe_resumes_exactly),
        cmocka_unit_test(best_is_the_weight_average),
        cmocka_unit_test(one_cycle_schedule),
        cmocka_unit_test(recipe_cli),
        cmocka_unit_test(mixup_and_smoothing),
        cmocka_unit_test(model_card),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
