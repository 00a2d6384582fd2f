/* WavLM as a feature kind: the settings line (round trip, bad values), the
 * window grid for long inputs, (S, L, D, T) features of PCM, weights that
 * are missing or not the recorded ones, and the whole path on the command
 * line with the tiny golden weights: extract, train, eval, predict. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mrnet/mrnet.h>
#include "audio/encode.h"
#include "wavlm_seeded.h"

static const char *tiny_weights(void) { return test_source_path("tests/golden/wavlm_tiny.safetensors"); }

static void round_trip(const char *line)
{
    mrnet_features_options o;
    assert_int_equal(mrnet_features_options_parse(line, &o), MRNET_OK);
    char again[1024];
    mrnet_features_options_describe(&o, again, sizeof again);
    assert_string_equal(line, again);
}

static void test_settings_line(void **state)
{
    (void)state;
    mrnet_features_options o;
    mrnet_features_options_wavlm(&o, "w.safetensors");
    assert_int_equal(o.kind, MRNET_FEATURES_WAVLM);
    assert_int_equal(o.audio.channels, MRNET_CHANNELS_STEREO);
    assert_int_equal(o.audio.sample_rate, 16000);
    assert_int_equal(mrnet_features_options_layers(&o), 13);
    assert_true(fabs(mrnet_features_options_frame_rate(&o) - 50.0) < 1e-12);
    char line[1024];
    mrnet_features_options_describe(&o, line, sizeof line);
    /* the path is not part of the identity; the weights' fingerprint is */
    assert_null(strstr(line, "w.safetensors"));
    assert_non_null(strstr(line, "kind=wavlm"));
    assert_non_null(strstr(line, "states=all"));
    round_trip(line);
    round_trip("kind=wavlm rate=16000 channels=stereo offset=0 duration=0 resample=hq wavlm=0123456789abcdef "
               "states=all window=30");
    round_trip("kind=wavlm rate=16000 channels=mono offset=1.5 duration=10 resample=vhq wavlm=0123456789abcdef "
               "states=mix:1,0.5,0.25,-2 window=0");
    round_trip("kind=wavlm rate=16000 channels=stereo offset=0 duration=0 resample=hq wavlm=unknown "
               "states=uniform window=30");
    assert_int_equal(mrnet_features_options_parse("kind=wavlm rate=16000 wavlm=0123456789abcdef states=mix:1,2 "
                                                  "window=30", &o), MRNET_OK);
    assert_int_equal(o.wavlm.n_mix, 2);
    assert_int_equal(mrnet_features_options_layers(&o), 1);
    assert_string_equal(o.wavlm.fingerprint, "0123456789abcdef");

    static const char *const bad[][2] = {
        {"kind=wavlm rate=16000 wavlm=xyz states=all window=30", "'xyz' for 'wavlm'"},
        {"kind=wavlm rate=16000 wavlm=0123456789ABCDEF states=all window=30", "for 'wavlm'"},
        {"kind=wavlm rate=16000 wavlm=unknown states=some window=30", "'some' for 'states'"},
        {"kind=wavlm rate=16000 wavlm=unknown states=mix: window=30", "for 'states'"},
        {"kind=wavlm rate=16000 wavlm=unknown states=mix:1,,2 window=30", "for 'states'"},
        {"kind=wavlm rate=16000 wavlm=unknown states=mix:nan window=30", "for 'states'"},
        {"kind=wavlm rate=22050 wavlm=unknown states=all window=30", "16000 Hz"},
        {"kind=wavlm rate=16000 wavlm=unknown states=all window=0.5", "window=0.5"},
        {"kind=wavlm rate=16000 wavlm=unknown states=all window=-1", "window=-1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mrnet_features_options_parse(bad[i][0], &o), MRNET_ERR_FORMAT);
        if (!strstr(mrnet_last_error(), bad[i][1]))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i][0], mrnet_last_error(), bad[i][1]);
    }
}

static void test_weights_needed(void **state)
{
    (void)state;
    mrnet_features_options o;
    mrnet_features_options_wavlm(&o, NULL);
    mrnet_wavlm *m;
    assert_int_equal(mrnet_features_options_load(&o, &m), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "--wavlm"));
    assert_null(m);
    mrnet_features_options_wavlm(&o, test_path("missing.safetensors"));
    assert_int_equal(mrnet_features_options_load(&o, &m), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), "missing.safetensors"));
    /* features of audio need them too */
    float pcm[800] = {0};
    mrnet_features f;
    assert_int_not_equal(mrnet_features_from_pcm(pcm, 1, 800, 16000, &o, NULL, &f), MRNET_OK);
    assert_non_null(strstr(mrnet_last_error(), "missing.safetensors"));
}

/* A test signal: two tones and a little noise, different per channel. */
static float *test_signal(int channels, int64_t n)
{
    float *x = malloc(sizeof(float) * (size_t)(channels * n));
    uint64_t r = 12345;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < channels; c++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            double noise = (double)(r >> 40) / (double)(1 << 24) - 0.5;
            x[i * channels + c] = (float)(0.3 * sin(2 * M_PI * (220 + 110 * c) * (double)i / 16000) +
                                          0.1 * sin(2 * M_PI * 1234 * (double)i / 16000) + 0.05 * noise);
        }
    return x;
}

static void test_features_of_pcm(void **state)
{
    (void)state;
    mrnet_wavlm *m;
    assert_int_equal(mrnet_wavlm_load(tiny_weights(), &m), MRNET_OK);
    const mrnet_wavlm_config *cfg = mrnet_wavlm_get_config(m);
    int L = mrnet_wavlm_states(m), D = cfg->hidden;
    int64_t n = 16000 * 3 + 123, T = mrnet_wavlm_frames(m, n);
    float *pcm = test_signal(2, n);
    mrnet_features_options o;
    mrnet_features_options_wavlm(&o, NULL);
    o.wavlm.model = m;
    mrnet_features f;
    assert_int_equal(mrnet_features_from_pcm(pcm, 2, n, 16000, &o, NULL, &f), MRNET_OK);
    assert_int_equal(f.S, 2);
    assert_int_equal(f.L, L);
    assert_int_equal(f.D, D);
    assert_int_equal(f.T, T);
    assert_true(fabs(f.frame_rate - 50) < 1e-12);
    /* each channel is the encoder's states of that channel, transposed */
    float *x = malloc(sizeof(float) * (size_t)n), *states = malloc(sizeof(float) * (size_t)(L * T * D));
    for (int c = 0; c < 2; c++) {
        for (int64_t i = 0; i < n; i++)
            x[i] = pcm[i * 2 + c];
        assert_int_equal(mrnet_wavlm_hidden_states(m, x, n, states), MRNET_OK);
        for (int l = 0; l < L; l++)
            for (int64_t t = 0; t < T; t += 7)
                for (int d = 0; d < D; d += 5)
                    assert_true(f.data[(((size_t)c * L + l) * D + d) * (size_t)T + (size_t)t] ==
                                states[((size_t)l * T + (size_t)t) * D + d]);
    }
    mrnet_features_free(&f);
    /* a pre-mix: L 1, the weighted sum */
    o.wavlm.n_mix = L;
    for (int l = 0; l < L; l++)
        o.wavlm.mix[l] = 0.5f + (float)l;
    assert_int_equal(mrnet_features_from_pcm(pcm, 2, n, 16000, &o, NULL, &f), MRNET_OK);
    assert_int_equal(f.L, 1);
    for (int64_t t = 0; t < T; t += 11)
        for (int d = 0; d < D; d += 3) {
            double want = 0;
            for (int l = 0; l < L; l++)
                want += (0.5 + l) * states[((size_t)l * T + (size_t)t) * D + d];
            float got = f.data[((size_t)1 * D + d) * (size_t)T + (size_t)t]; /* channel 1 */
            assert_true(fabs(got - want) <= 1e-4 * (1 + fabs(want)));
        }
    mrnet_features_free(&f);
    /* a pre-mix of the wrong length */
    o.wavlm.n_mix = L + 1;
    assert_int_equal(mrnet_features_from_pcm(pcm, 2, n, 16000, &o, NULL, &f), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "pre-mix"));
    /* too short for a frame */
    o.wavlm.n_mix = 0;
    assert_int_equal(mrnet_features_from_pcm(pcm, 2, 399, 16000, &o, NULL, &f), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "400 samples"));
    /* a recorded fingerprint that is not these weights' */
    snprintf(o.wavlm.fingerprint, sizeof o.wavlm.fingerprint, "%s", "0000000000000000");
    assert_int_equal(mrnet_features_from_pcm(pcm, 2, n, 16000, &o, NULL, &f), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "not the ones"));
    free(x);
    free(states);
    free(pcm);
    mrnet_wavlm_free(m);
}

/* Long inputs: windows of W on the whole input's frame grid, the last one
 * absorbing a remainder under W / 2; an input under 1.5 W is one pass. */
static void test_windows(void **state)
{
    (void)state;
    mrnet_wavlm *m;
    assert_int_equal(mrnet_wavlm_load(tiny_weights(), &m), MRNET_OK);
    int L = mrnet_wavlm_states(m), D = mrnet_wavlm_get_config(m)->hidden;
    const int64_t W = 16000; /* window 1 s */
    int64_t n = 3 * W + W / 4; /* windows [0,W+80) [W,2W+80) and the rest (1.25 W) from 2W */
    int64_t T = mrnet_wavlm_frames(m, n);
    float *x = test_signal(1, n);
    mrnet_features_options o;
    mrnet_features_options_wavlm(&o, NULL);
    o.audio.channels = MRNET_CHANNELS_MONO;
    o.wavlm.model = m;
    o.wavlm.window_seconds = 1;
    mrnet_features f;
    assert_int_equal(mrnet_features_from_pcm(x, 1, n, 16000, &o, NULL, &f), MRNET_OK);
    assert_int_equal(f.T, T);
    int64_t starts[3] = {0, W, 2 * W}, lens[3] = {W + 80, W + 80, n - 2 * W};
    float *states = malloc(sizeof(float) * (size_t)(L * T * D));
    int64_t covered = 0;
    for (int k = 0; k < 3; k++) {
        int64_t Tk = mrnet_wavlm_frames(m, lens[k]), t0 = starts[k] / 320;
        assert_int_equal(mrnet_wavlm_hidden_states(m, x + starts[k], lens[k], states), MRNET_OK);
        for (int l = 0; l < L; l++)
            for (int64_t t = 0; t < Tk; t++)
                for (int d = 0; d < D; d += 9)
                    assert_true(f.data[((size_t)l * D + d) * (size_t)T + (size_t)(t0 + t)] ==
                                states[((size_t)l * Tk + (size_t)t) * D + d]);
        covered += Tk;
    }
    assert_int_equal(covered, T);
    mrnet_features_free(&f);
    /* 1.4 W: one pass, as window 0 (whole input) gives */
    int64_t n1 = W + 2 * W / 5;
    mrnet_features g;
    assert_int_equal(mrnet_features_from_pcm(x, 1, n1, 16000, &o, NULL, &f), MRNET_OK);
    o.wavlm.window_seconds = 0;
    assert_int_equal(mrnet_features_from_pcm(x, 1, n1, 16000, &o, NULL, &g), MRNET_OK);
    assert_int_equal(f.T, g.T);
    assert_memory_equal(f.data, g.data, sizeof(float) * (size_t)(L * D * f.T));
    mrnet_features_free(&f);
    mrnet_features_free(&g);
    free(states);
    free(x);
    mrnet_wavlm_free(m);
}

/* A track longer than 1.5 encoder windows is classified segment by
 * segment: the mean over all windows of the segments' own features. */
static void test_long_track_segments(void **state)
{
    (void)state;
    mrnet_wavlm *m;
    assert_int_equal(mrnet_wavlm_load(tiny_weights(), &m), MRNET_OK);
    mrnet_config cfg;
    mrnet_config_default(&cfg, 3);
    cfg.in_dim = mrnet_wavlm_get_config(m)->hidden;
    cfg.n_layers = mrnet_wavlm_states(m);
    cfg.in_channels = 1;
    cfg.channels = 16;
    cfg.embed = 8;
    mrnet_model *model;
    assert_int_equal(mrnet_model_create(&cfg, 5, &model), MRNET_OK);
    mrnet_features_options o;
    mrnet_features_options_wavlm(&o, NULL);
    o.audio.channels = MRNET_CHANNELS_MONO;
    o.wavlm.model = m;
    snprintf(o.wavlm.fingerprint, sizeof o.wavlm.fingerprint, "%s", mrnet_wavlm_fingerprint(m));
    char line[1024];
    mrnet_features_options_describe(&o, line, sizeof line);
    const char *meta[] = {"mrnet.features", line, NULL};
    const char *ckpt = test_path("long.safetensors");
    assert_int_equal(mrnet_model_save(model, ckpt, meta), MRNET_OK);
    mrnet_model_free(model);

    mrnet_classifier *c;
    assert_int_equal(mrnet_classifier_open(ckpt, &c), MRNET_OK);
    float pcm1[1000] = {0}, p[3], e[8];
    assert_int_equal(mrnet_classify_pcm(c, pcm1, 1, 1000, 16000, NULL, p, e, NULL, NULL), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "--wavlm"));
    assert_int_equal(mrnet_classifier_set_wavlm(c, tiny_weights()), MRNET_OK);

    const int64_t W = 30 * 16000, n = 2 * W + W / 2 + 4321; /* segments from 0, W, and 2W to the end */
    float *x = test_signal(1, n);
    mrnet_classify_options co;
    mrnet_classify_options_default(&co);
    assert_int_equal(mrnet_classify_pcm(c, x, 1, n, 16000, &co, p, e, NULL, NULL), MRNET_OK);
    int64_t starts[3] = {0, W, 2 * W}, lens[3] = {W + 80, W + 80, n - 2 * W};
    double want_p[3] = {0}, want_e[8] = {0}, total = 0;
    for (int k = 0; k < 3; k++) {
        mrnet_features_options one = o;
        one.wavlm.window_seconds = 0;
        mrnet_features f;
        assert_int_equal(mrnet_features_from_pcm(x + starts[k], 1, lens[k], 16000, &one, NULL, &f), MRNET_OK);
        float pk[3], ek[8];
        assert_int_equal(mrnet_classify_features(c, &f, &co, pk, ek, NULL, NULL), MRNET_OK);
        double w = (double)mrnet_window_count(f.T, 300, 150);
        for (int i = 0; i < 3; i++)
            want_p[i] += w * pk[i];
        for (int i = 0; i < 8; i++)
            want_e[i] += w * ek[i];
        total += w;
        mrnet_features_free(&f);
    }
    for (int i = 0; i < 3; i++)
        assert_true(fabs(p[i] - want_p[i] / total) < 1e-6);
    for (int i = 0; i < 8; i++)
        assert_true(fabs(e[i] - want_e[i] / total) < 1e-5 * (1 + fabs(want_e[i] / total)));
    free(x);
    mrnet_classifier_free(c);
    mrnet_wavlm_free(m);
}

static void write_wav(const char *path, const float *x, int channels, int64_t n)
{
    assert_int_equal(audio_write_wav16(path, x, channels, n, 16000), MRNET_OK);
}

/* extract -> train -> eval -> predict with the tiny weights, two classes
 * of tones; then the errors a user meets. */
static void test_cli_path(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_path("songs"));
    mkdir(dir, 0777);
    const char *classes[2] = {"low", "high"};
    for (int c = 0; c < 2; c++) {
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/%s", dir, classes[c]);
        mkdir(sub, 0777);
        for (int i = 0; i < 6; i++) {
            int64_t n = 16000 * 2 + 320 * i;
            float *x = malloc(sizeof(float) * (size_t)n);
            for (int64_t t = 0; t < n; t++)
                x[t] = (float)(0.4 * sin(2 * M_PI * (c ? 2000.0 : 150.0) * (1 + 0.05 * i) * (double)t / 16000));
            char path[1200];
            snprintf(path, sizeof path, "%s/%d.wav", sub, i);
            write_wav(path, x, 1, n);
            free(x);
        }
    }
    char w[1024], store[1024], run[1024]; /* test_path's buffers rotate */
    snprintf(w, sizeof w, "%s", tiny_weights());
    snprintf(store, sizeof store, "%s", test_path("store"));
    snprintf(run, sizeof run, "%s", test_path("run"));
    CLI_EXPECT(0, "extract '%s' -o '%s' --frontend wavlm --wavlm '%s' --make-split 0.25,0.25 --quiet", dir, store, w);
    CLI_EXPECT(0, "train '%s' -o '%s' --epochs 2 --channels 16 --embed 8 --batch 4 --crop-seconds 1 "
                                  "--quiet", store, run);
    char ckpt[1100];
    snprintf(ckpt, sizeof ckpt, "%s/best.safetensors", run);
    CLI_EXPECT(0, "info '%s'", ckpt);
    assert_non_null(strstr(test_cli_output(), "kind=wavlm"));
    CLI_EXPECT(0, "eval '%s' '%s'", ckpt, store);
    CLI_EXPECT(0, "predict '%s' '%s/low/0.wav' --wavlm '%s' --format csv", ckpt, dir, w);
    assert_non_null(strstr(test_cli_output(), "0.wav"));
    /* predict without the weights, or with weights of another model */
    assert_int_not_equal(test_run_cli("predict '%s' '%s/low/0.wav'", ckpt, dir), 0);
    assert_non_null(strstr(test_cli_output(), "--wavlm"));
    /* features: hidden_states (S, L, T, D) */
    char out[1024];
    snprintf(out, sizeof out, "%s", test_path("hs.safetensors"));
    CLI_EXPECT(0, "features '%s/high/1.wav' --frontend wavlm --wavlm '%s' -o '%s'", dir, w, out);
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(out, &f), MRNET_OK);
    const mrnet_st_tensor *t = mrnet_st_find(f, "hidden_states");
    assert_non_null(t);
    assert_int_equal(t->ndim, 4);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 4);
    assert_int_equal(t->shape[2], (16000 * 2 + 320 - 400) / 320 + 1);
    assert_int_equal(t->shape[3], 64);
    mrnet_st_close(f);
    /* flags that do not fit */
    CLI_EXPECT(2, "features '%s/high/1.wav' --frontend wavlm -o '%s'", dir, out);
    assert_non_null(strstr(test_cli_output(), "--wavlm WEIGHTS"));
    CLI_EXPECT(2, "features '%s/high/1.wav' --wavlm '%s' -o '%s'", dir, w, out);
    CLI_EXPECT(2, "features '%s/high/1.wav' --frontend wavlm --wavlm '%s' --sample-rate 22050 -o '%s'",
                                  dir, w, out);
    CLI_EXPECT(2, "features '%s/high/1.wav' --frontend wavlm --wavlm '%s' --wavlm-mix 1,x -o '%s'",
                                  dir, w, out);
    /* weights of another model: refused by predict (fingerprint) and by
     * extract into a store made with the first ones (settings) */
    mrnet_wavlm_config tiny = seeded_tiny_config();
    char other[1024];
    snprintf(other, sizeof other, "%s", test_path("other.safetensors"));
    assert_int_equal(seeded_write_weights(&tiny, SEEDED_TINY_SEED + 1, other, NULL), MRNET_OK);
    CLI_EXPECT(1, "predict '%s' '%s/low/0.wav' --wavlm '%s'", ckpt, dir, other);
    assert_non_null(strstr(test_cli_output(), "not the ones"));
    CLI_EXPECT(1, "extract '%s' -o '%s' --frontend wavlm --wavlm '%s' --quiet", dir, store, other);
    if (!strstr(test_cli_output(), "other settings"))
        fail_msg("%s", test_cli_output());
    /* a mel checkpoint's store is not a WavLM checkpoint's */
    char mel_store[1024];
    snprintf(mel_store, sizeof mel_store, "%s", test_path("mel_store"));
    CLI_EXPECT(0, "extract '%s' -o '%s' --make-split 0.25,0.25 --quiet", dir, mel_store);
    CLI_EXPECT(1, "eval '%s' '%s'", ckpt, mel_store);
    assert_non_null(strstr(test_cli_output(), "L 13") ? strstr(test_cli_output(), "L 13") : strstr(test_cli_output(), "(S 1"));
    /* a store of other weights' features is refused by extract without --rebuild */
    const char *garbage = test_path("garbage.safetensors");
    assert_int_equal(test_write_file(garbage, "not a weight file", 17), 0);
    assert_int_not_equal(test_run_cli("extract '%s' -o '%s' --frontend wavlm --wavlm '%s' --quiet", dir, store,
                                      garbage), 0);
    assert_non_null(strstr(test_cli_output(), "garbage.safetensors"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_line),   cmocka_unit_test(test_weights_needed),
        cmocka_unit_test(test_features_of_pcm), cmocka_unit_test(test_windows),
        cmocka_unit_test(test_long_track_segments), cmocka_unit_test(test_cli_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
