/* The public inference API (mrnet/infer.h, mrnet/features.h) as an embedding
 * program uses it: a checkpoint with recorded feature settings classifies a
 * WAV file, the same PCM in memory and the same features alike; timelines,
 * embeddings, top-k, labels, and bad input (no audio, NaN, wrong shapes,
 * missing files, bad options) with messages that name the problem. Only
 * public headers are included. */
#include "testutil.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mrnet/mrnet.h>

#define RATE 22050
#define SECONDS 8.0

/* A small mel model (S 1, D 48, L 1) saved with the default feature settings
 * recorded (or none) and named classes (or none). */
static void save_model(const char *path, bool record_features, bool named)
{
    mrnet_config cfg;
    mrnet_config_default(&cfg, 3);
    cfg.in_dim = 48;
    cfg.in_channels = 1;
    cfg.n_layers = 1;
    cfg.channels = 16;
    cfg.embed = 8;
    mrnet_model *m;
    assert_int_equal(mrnet_model_create(&cfg, 7, &m), MRNET_OK);
    char *labels[] = {"ballad", "techno", "waltz"};
    if (named)
        assert_int_equal(mrnet_model_set_labels(m, labels, 3), MRNET_OK);
    mrnet_features_options fo;
    mrnet_features_options_default(&fo);
    char line[1024];
    mrnet_features_options_describe(&fo, line, sizeof line);
    const char *meta[] = {"mrnet.features", line, NULL};
    assert_int_equal(mrnet_model_save(m, path, record_features ? meta : NULL), MRNET_OK);
    mrnet_model_free(m);
}

/* Interleaved stereo: a chord on the left, a sweep on the right. */
static float *make_pcm(int64_t *frames)
{
    int64_t n = (int64_t)(SECONDS * RATE);
    float *x = malloc(sizeof(float) * (size_t)n * 2);
    for (int64_t t = 0; t < n; t++) {
        double s = (double)t / RATE;
        x[2 * t] = (float)(0.3 * sin(2 * M_PI * 220 * s) + 0.2 * sin(2 * M_PI * 330 * s));
        x[2 * t + 1] = (float)(0.4 * sin(2 * M_PI * (200 + 100 * s) * s));
    }
    *frames = n;
    return x;
}

static void write_float_wav(const char *path, const float *x, int64_t frames)
{
    SF_INFO info = {.samplerate = RATE, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    assert_non_null(sf);
    assert_int_equal(sf_writef_float(sf, x, frames), frames);
    sf_close(sf);
}

typedef struct {
    int n;
    double last_end;
    float sum_first;
} timeline_count;

static void count_window(void *ctx, double start, double end, const float *probs)
{
    timeline_count *c = ctx;
    assert_true(end > start);
    assert_true(start >= 0);
    c->n++;
    c->last_end = end;
    c->sum_first += probs[0];
}

static void check_probs(const float *p, int K)
{
    double sum = 0;
    for (int k = 0; k < K; k++) {
        assert_true(p[k] >= 0 && p[k] <= 1);
        sum += p[k];
    }
    assert_true(fabs(sum - 1) < 1e-5);
}

static void test_file_pcm_features_agree(void **state)
{
    (void)state;
    const char *ckpt = test_path("infer_model.safetensors");
    save_model(ckpt, true, true);
    mrnet_classifier *c;
    assert_int_equal(mrnet_classifier_open(ckpt, &c), MRNET_OK);
    assert_true(mrnet_classifier_has_feature_settings(c));
    assert_int_equal(mrnet_classifier_classes(c), 3);
    assert_int_equal(mrnet_classifier_embed_size(c), 8);
    assert_string_equal(mrnet_classifier_label(c, 1), "techno");
    assert_null(mrnet_classifier_label(c, 3));
    assert_null(mrnet_classifier_label(c, -1));

    int64_t frames;
    float *pcm = make_pcm(&frames);
    const char *wav = test_path("infer_input.wav");
    write_float_wav(wav, pcm, frames);

    mrnet_classify_options o;
    mrnet_classify_options_default(&o);
    float p_file[3], p_pcm[3], p_feat[3], e_file[8], e_pcm[8];
    char warning[256];
    timeline_count tl = {0};
    assert_int_equal(mrnet_classify_file(c, wav, &o, p_file, e_file, count_window, &tl, warning), MRNET_OK);
    assert_string_equal(warning, "");
    check_probs(p_file, 3);
    assert_int_equal(mrnet_classify_pcm(c, pcm, 2, frames, RATE, &o, p_pcm, e_pcm, NULL, NULL), MRNET_OK);
    for (int k = 0; k < 3; k++)
        assert_float_equal(p_file[k], p_pcm[k], 1e-6);
    for (int e = 0; e < 8; e++)
        assert_float_equal(e_file[e], e_pcm[e], 1e-6);

    /* The timeline: every window of the view, the last ending at the end;
     * the average of its probabilities is the track's. */
    mrnet_features f;
    assert_int_equal(mrnet_features_from_pcm(pcm, 2, frames, RATE, mrnet_classifier_features(c), NULL, &f),
                     MRNET_OK);
    assert_int_equal(f.S, 1);
    assert_int_equal(f.D, 48);
    int64_t crop = llround(6 * f.frame_rate), hop = llround(3 * f.frame_rate);
    assert_int_equal(tl.n, mrnet_window_count(f.T, crop, hop));
    assert_true(tl.n >= 2);
    assert_float_equal(tl.last_end, (double)f.T / f.frame_rate, 1e-9);
    assert_float_equal(tl.sum_first / tl.n, p_file[0], 1e-5);
    assert_int_equal(mrnet_classify_features(c, &f, NULL, p_feat, NULL, NULL, NULL), MRNET_OK);
    for (int k = 0; k < 3; k++)
        assert_float_equal(p_feat[k], p_pcm[k], 1e-6);

    /* Views change the result but each is a distribution. */
    o.view = MRNET_VIEW_FULL;
    assert_int_equal(mrnet_classify_features(c, &f, &o, p_feat, NULL, NULL, NULL), MRNET_OK);
    check_probs(p_feat, 3);
    o.view = MRNET_VIEW_CROP;
    assert_int_equal(mrnet_classify_features(c, &f, &o, p_feat, NULL, NULL, NULL), MRNET_OK);
    check_probs(p_feat, 3);

    mrnet_features_free(&f);
    free(pcm);
    mrnet_classifier_free(c);
}

static void test_unrecorded_and_unnamed(void **state)
{
    (void)state;
    const char *ckpt = test_path("infer_plain.safetensors");
    save_model(ckpt, false, false);
    mrnet_classifier *c;
    assert_int_equal(mrnet_classifier_open(ckpt, &c), MRNET_OK);
    assert_false(mrnet_classifier_has_feature_settings(c));
    assert_int_equal(mrnet_classifier_features(c)->kind, MRNET_FEATURES_MEL);
    assert_string_equal(mrnet_classifier_label(c, 2), "class2");
    mrnet_classifier_free(c);
}

static void expect_error(mrnet_status got, mrnet_status want, const char *fragment)
{
    assert_int_equal(got, want);
    if (!strstr(mrnet_last_error(), fragment))
        fail_msg("message '%s' lacks '%s'", mrnet_last_error(), fragment);
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *ckpt = test_path("infer_bad.safetensors");
    save_model(ckpt, true, true);
    mrnet_classifier *c;
    expect_error(mrnet_classifier_open(test_path("no-such.safetensors"), &c), MRNET_ERR_IO, "no-such.safetensors");
    assert_null(c);
    assert_int_equal(mrnet_classifier_open(ckpt, &c), MRNET_OK);
    float p[3];
    float pcm[4000] = {0};
    expect_error(mrnet_classify_pcm(c, pcm, 2, 0, RATE, NULL, p, NULL, NULL, NULL), MRNET_ERR_ARG, "no audio");
    expect_error(mrnet_classify_pcm(c, pcm, 0, 100, RATE, NULL, p, NULL, NULL, NULL), MRNET_ERR_ARG, "no audio");
    expect_error(mrnet_classify_pcm(c, NULL, 1, 100, RATE, NULL, p, NULL, NULL, NULL), MRNET_ERR_ARG, "no audio");
    pcm[17] = NAN;
    expect_error(mrnet_classify_pcm(c, pcm, 1, 4000, RATE, NULL, p, NULL, NULL, NULL), MRNET_ERR_NUMERIC,
                 "not finite");
    expect_error(mrnet_classify_file(c, test_path("missing.wav"), NULL, p, NULL, NULL, NULL, NULL), MRNET_ERR_IO,
                 "missing.wav");
    const char *garbage = test_path("garbage.wav");
    assert_int_equal(test_write_file(garbage, "RIFF....WAVEjunk", 16), 0);
    assert_int_not_equal(mrnet_classify_file(c, garbage, NULL, p, NULL, NULL, NULL, NULL), MRNET_OK);
    assert_non_null(strstr(mrnet_last_error(), "garbage.wav"));

    /* Features of the wrong shape, and none. */
    float data[2 * 40 * 10] = {0};
    mrnet_features f = {.data = data, .S = 2, .D = 40, .T = 10, .frame_rate = 62.5};
    expect_error(mrnet_classify_features(c, &f, NULL, p, NULL, NULL, NULL), MRNET_ERR_SHAPE, "(S 2, L 1, D 40)");
    /* stacked layers (WavLM states) that the model does not mix */
    f = (mrnet_features){.data = data, .S = 1, .L = 13, .D = 48, .T = 1, .frame_rate = 62.5};
    expect_error(mrnet_classify_features(c, &f, NULL, p, NULL, NULL, NULL), MRNET_ERR_SHAPE, "(S 1, L 13, D 48)");
    f = (mrnet_features){.data = data, .S = 2, .D = 40, .T = 10, .frame_rate = 62.5};
    f.T = 0;
    expect_error(mrnet_classify_features(c, &f, NULL, p, NULL, NULL, NULL), MRNET_ERR_ARG, "no features");

    /* Options. */
    mrnet_classify_options o;
    mrnet_classify_options_default(&o);
    f = (mrnet_features){.data = data, .S = 1, .D = 48, .T = 10, .frame_rate = 62.5};
    o.crop_seconds = 0;
    expect_error(mrnet_classify_features(c, &f, &o, p, NULL, NULL, NULL), MRNET_ERR_ARG, "crop");
    mrnet_classify_options_default(&o);
    o.batch = 0;
    expect_error(mrnet_classify_features(c, &f, &o, p, NULL, NULL, NULL), MRNET_ERR_ARG, "batch");
    mrnet_classify_options_default(&o);
    o.hop_seconds = NAN;
    expect_error(mrnet_classify_features(c, &f, &o, p, NULL, NULL, NULL), MRNET_ERR_ARG, "hop");
    /* A short clip (10 frames) still classifies: one wrap-padded window. */
    mrnet_classify_options_default(&o);
    assert_int_equal(mrnet_classify_features(c, &f, &o, p, NULL, NULL, NULL), MRNET_OK);
    check_probs(p, 3);
    mrnet_classifier_free(c);
    mrnet_classifier_free(NULL);
}

static void test_top_k(void **state)
{
    (void)state;
    const float s[5] = {0.1f, 0.4f, 0.4f, 0.05f, 0.05f};
    int idx[5];
    assert_int_equal(mrnet_top_k(s, 5, 3, idx), 3);
    assert_int_equal(idx[0], 1); /* ties: lower index first */
    assert_int_equal(idx[1], 2);
    assert_int_equal(idx[2], 0);
    assert_int_equal(mrnet_top_k(s, 5, 100000, idx), 5);
    assert_int_equal(idx[3], 3);
    assert_int_equal(idx[4], 4);
    assert_int_equal(mrnet_top_k(s, 5, 0, idx), 0);
    assert_int_equal(mrnet_top_k(s, 5, -3, idx), 0);
    assert_int_equal(mrnet_argmax(s, 5), 1);
}

static void test_audio_from_pcm(void **state)
{
    (void)state;
    int64_t frames;
    float *pcm = make_pcm(&frames);
    mrnet_audio_options o;
    mrnet_audio_options_default(&o); /* 16 kHz stereo */
    o.offset = 1.0;
    o.duration = 2.0;
    mrnet_audio a;
    assert_int_equal(mrnet_audio_from_pcm(pcm, 2, frames, RATE, &o, &a), MRNET_OK);
    assert_int_equal(a.channels, 2);
    assert_int_equal(a.sample_rate, 16000);
    assert_int_equal(a.frames, 32000);
    assert_int_equal(a.file_rate, RATE);
    assert_string_equal(a.format, "PCM float");
    mrnet_audio_free(&a);
    o.channels = MRNET_CHANNELS_MONO;
    o.sample_rate = 0; /* keep the rate: the mix is exact */
    assert_int_equal(mrnet_audio_from_pcm(pcm, 2, frames, RATE, &o, &a), MRNET_OK);
    assert_int_equal(a.channels, 1);
    assert_int_equal(a.frames, 2 * RATE);
    for (int64_t t = 0; t < a.frames; t += 997)
        assert_float_equal(a.samples[t], 0.5f * (pcm[2 * (t + RATE)] + pcm[2 * (t + RATE) + 1]), 1e-6);
    mrnet_audio_free(&a);
    o.offset = SECONDS + 1;
    expect_error(mrnet_audio_from_pcm(pcm, 2, frames, RATE, &o, &a), MRNET_ERR_ARG, "past the end");
    free(pcm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_pcm_features_agree), cmocka_unit_test(test_unrecorded_and_unnamed),
        cmocka_unit_test(test_bad_input), cmocka_unit_test(test_top_k), cmocka_unit_test(test_audio_from_pcm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
