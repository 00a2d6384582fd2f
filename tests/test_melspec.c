/* Log-mel spectrogram against torchaudio 0.13 (tools/gen_mel_golden.py).
 *
 * Tolerances: linear outputs (power or magnitude) within 1e-5 of the largest
 * reference value plus 1e-4 relative per element; log outputs (ln, log10, dB)
 * within 1e-3 absolute. float32 FFTs of different libraries (FFTW vs
 * pocketfft/MKL) differ by a few ulps of the frame's energy, which is what
 * the relative term covers; log outputs magnify the error only where the
 * value is tiny next to its offset. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/melspec.h"
#include "tensor/npy.h"

static float *load_golden(const char *name, npy_header *h)
{
    char rel[128];
    snprintf(rel, sizeof rel, "tests/golden/%s.npy", name);
    float *data = NULL;
    mrnet_status s = npy_load_f32(test_source_path(rel), h, &data);
    if (s != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    return data;
}

typedef struct {
    const char *name;
    mrnet_mel_config cfg;
    bool is_log;
} golden_case;

static golden_case make_case(const char *name)
{
    golden_case g = {name, {0}, false};
    mrnet_mel_config *c = &g.cfg;
    mrnet_mel_config_preset(c, MRNET_MEL_PRESET_TORCHAUDIO);
    if (!strcmp(name, "torchaudio")) {
        /* the preset as is */
    } else if (!strcmp(name, "slaney_mag")) {
        c->n_fft = 512;
        c->win_length = 400;
        c->hop_length = 160;
        c->f_min = 20.0f;
        c->f_max = 7600.0f;
        c->n_mels = 80;
        c->power = 1.0f;
        c->norm = MRNET_MEL_NORM_SLANEY;
        c->scale = MRNET_MEL_SCALE_SLANEY;
    } else if (!strcmp(name, "librosa")) {
        mrnet_mel_config_preset(c, MRNET_MEL_PRESET_LIBROSA);
    } else if (!strcmp(name, "db_nocenter")) {
        c->n_fft = 256;
        c->win_length = 256;
        c->hop_length = 128;
        c->n_mels = 40;
        c->center = false;
        c->log = MRNET_MEL_LOG_DB;
        c->top_db = 80.0f;
        g.is_log = true;
    } else if (!strcmp(name, "melon")) {
        mrnet_mel_config_preset(c, MRNET_MEL_PRESET_MELON);
        g.is_log = true;
    } else if (!strcmp(name, "ln_odd")) {
        c->n_fft = 401;
        c->win_length = 300;
        c->hop_length = 100;
        c->n_mels = 64;
        c->f_min = 50.0f;
        c->log = MRNET_MEL_LOG_LN;
        c->log_offset = 1e-6f;
        g.is_log = true;
    } else {
        fail_msg("unknown case %s", name);
    }
    return g;
}

static void check_case(const char *name)
{
    golden_case g = make_case(name);
    npy_header hi, ho;
    float *x = load_golden("mel_input", &hi);
    char ref_name[64];
    snprintf(ref_name, sizeof ref_name, "mel_%s", name);
    float *ref = load_golden(ref_name, &ho);
    assert_int_equal(ho.ndim, 2);
    mrnet_melspec *m = NULL;
    assert_int_equal(mrnet_melspec_create(&g.cfg, &m), MRNET_OK);
    int64_t T = mrnet_melspec_frames(m, hi.numel);
    assert_int_equal(ho.shape[0], g.cfg.n_mels);
    assert_int_equal(ho.shape[1], T);
    float *out = malloc(sizeof(float) * (size_t)(g.cfg.n_mels * T));
    assert_int_equal(mrnet_melspec_compute(m, x, hi.numel, out), MRNET_OK);
    double maxref = test_max_abs(ref, (size_t)ho.numel), worst = 0.0;
    for (int64_t i = 0; i < ho.numel; i++) {
        double d = fabs((double)out[i] - ref[i]);
        double tol = g.is_log ? 1e-3 : 1e-5 * maxref + 1e-4 * fabs(ref[i]);
        if (!(d <= tol))
            fail_msg("%s: element %lld (band %lld, frame %lld): got %.7g, torchaudio %.7g", name, (long long)i,
                     (long long)(i / T), (long long)(i % T), out[i], ref[i]);
        if (d / (g.is_log ? 1.0 : maxref) > worst)
            worst = d / (g.is_log ? 1.0 : maxref);
    }
    print_message("  %-12s (%d, %lld): max error %.2e %s\n", name, g.cfg.n_mels, (long long)T, worst,
                  g.is_log ? "absolute" : "of max");
    free(out);
    mrnet_melspec_free(m);
    free(x);
    free(ref);
}

static void test_golden_torchaudio(void **state) { (void)state; check_case("torchaudio"); }
static void test_golden_slaney_mag(void **state) { (void)state; check_case("slaney_mag"); }
static void test_golden_librosa(void **state) { (void)state; check_case("librosa"); }
static void test_golden_db_nocenter(void **state) { (void)state; check_case("db_nocenter"); }
static void test_golden_melon(void **state) { (void)state; check_case("melon"); }
static void test_golden_ln_odd(void **state) { (void)state; check_case("ln_odd"); }

static void test_mel_scale_roundtrip(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++)
        for (double hz = 0.0; hz < 24000.0; hz += 123.4) {
            double back = mel_to_hz(mel_from_hz(hz, (mrnet_mel_scale)s), (mrnet_mel_scale)s);
            assert_true(fabs(back - hz) < 1e-6 * (1.0 + hz));
        }
    /* Known points: HTK 1000 Hz = 999.99 mel; Slaney 1000 Hz = 15 mel. */
    assert_true(fabs(mel_from_hz(1000.0, MRNET_MEL_SCALE_HTK) - 999.9855) < 1e-3);
    assert_true(fabs(mel_from_hz(1000.0, MRNET_MEL_SCALE_SLANEY) - 15.0) < 1e-12);
}

static void test_frames(void **state)
{
    (void)state;
    mrnet_mel_config c;
    mrnet_mel_config_preset(&c, MRNET_MEL_PRESET_MELON);
    mrnet_melspec *m = NULL;
    assert_int_equal(mrnet_melspec_create(&c, &m), MRNET_OK);
    /* 30 s at 16 kHz, hop 256, centred: the Melon set's 1876 frames. */
    assert_int_equal(mrnet_melspec_frames(m, 480000), 1876);
    assert_int_equal(mrnet_melspec_frames(m, 0), 0);
    mrnet_melspec_free(m);
    c.center = false;
    assert_int_equal(mrnet_melspec_create(&c, &m), MRNET_OK);
    assert_int_equal(mrnet_melspec_frames(m, 511), 0);
    assert_int_equal(mrnet_melspec_frames(m, 512), 1);
    float x[100] = {0};
    assert_int_equal(mrnet_melspec_compute(m, x, 100, x), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "no frame"));
    mrnet_melspec_free(m);
}

static void test_invalid_config(void **state)
{
    (void)state;
    mrnet_mel_config c;
    mrnet_melspec *m = NULL;
    mrnet_mel_config_preset(&c, MRNET_MEL_PRESET_TORCHAUDIO);
    c.win_length = 800;
    assert_int_equal(mrnet_melspec_create(&c, &m), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "win_length"));
    assert_null(m);
    mrnet_mel_config_preset(&c, MRNET_MEL_PRESET_TORCHAUDIO);
    c.f_max = 9000.0f;
    assert_int_equal(mrnet_melspec_create(&c, &m), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "f_max"));
    mrnet_mel_preset p;
    assert_int_equal(mrnet_mel_preset_parse("essentia", &p), MRNET_ERR_ARG);
    assert_int_equal(mrnet_mel_preset_parse("librosa", &p), MRNET_OK);
    assert_int_equal(p, MRNET_MEL_PRESET_LIBROSA);
}

static void test_nonfinite_input(void **state)
{
    (void)state;
    mrnet_mel_config c;
    mrnet_mel_config_preset(&c, MRNET_MEL_PRESET_TORCHAUDIO);
    mrnet_melspec *m = NULL;
    assert_int_equal(mrnet_melspec_create(&c, &m), MRNET_OK);
    float x[1000] = {0};
    x[500] = NAN;
    float *out = malloc(sizeof(float) * 128 * 10);
    assert_int_equal(mrnet_melspec_compute(m, x, 1000, out), MRNET_ERR_NUMERIC);
    free(out);
    mrnet_melspec_free(m);
}

/* Reflect padding of a signal shorter than the padding (numpy repeats the
 * reflection; torch would refuse): must not read out of bounds. */
static void test_short_reflect(void **state)
{
    (void)state;
    mrnet_mel_config c;
    mrnet_mel_config_preset(&c, MRNET_MEL_PRESET_TORCHAUDIO);
    mrnet_melspec *m = NULL;
    assert_int_equal(mrnet_melspec_create(&c, &m), MRNET_OK);
    float x[3] = {0.1f, -0.2f, 0.3f};
    float out[128];
    assert_int_equal(mrnet_melspec_frames(m, 3), 1);
    assert_int_equal(mrnet_melspec_compute(m, x, 3, out), MRNET_OK);
    for (int i = 0; i < 128; i++)
        assert_true(isfinite(out[i]) && out[i] >= 0.0f);
    float one = 0.5f;
    assert_int_equal(mrnet_melspec_compute(m, &one, 1, out), MRNET_OK);
    mrnet_melspec_free(m);
}

typedef struct {
    const mrnet_melspec *m;
    const float *x;
    int64_t n;
    float *out;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    mrnet_melspec_compute(j->m, j->x, j->n, j->out);
    return NULL;
}

/* One shared melspec, several threads: bitwise the same as one thread. */
static void test_shared_threads(void **state)
{
    (void)state;
    mrnet_mel_config c;
    mrnet_mel_config_preset(&c, MRNET_MEL_PRESET_MELON);
    mrnet_melspec *m = NULL;
    assert_int_equal(mrnet_melspec_create(&c, &m), MRNET_OK);
    int64_t n = 16000 * 3;
    float *x = malloc(sizeof(float) * (size_t)n);
    uint64_t s = 7;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(s >> 40) / 16777216.0 - 0.5);
    }
    int64_t T = mrnet_melspec_frames(m, n);
    size_t sz = (size_t)(48 * T);
    float *single = malloc(sizeof(float) * sz);
    assert_int_equal(mrnet_melspec_compute(m, x, n, single), MRNET_OK);
    pthread_t th[4];
    job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){m, x, n, malloc(sizeof(float) * sz)};
        pthread_create(&th[i], NULL, run_job, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_memory_equal(jobs[i].out, single, sizeof(float) * sz);
        free(jobs[i].out);
    }
    free(single);
    free(x);
    mrnet_melspec_free(m);
}

static void test_describe_differs(void **state)
{
    (void)state;
    mrnet_mel_config a, b;
    mrnet_mel_config_preset(&a, MRNET_MEL_PRESET_MELON);
    b = a;
    char da[512], db[512];
    mrnet_mel_config_describe(&a, da, sizeof da);
    mrnet_mel_config_describe(&b, db, sizeof db);
    assert_string_equal(da, db);
    b.hop_length = 255;
    mrnet_mel_config_describe(&b, db, sizeof db);
    assert_string_not_equal(da, db);
}

/* A long file (200 s of 44.1 kHz stereo, past the 180 s where segments
 * start) gives the features of the whole file decoded at once: same shape,
 * the same frames to float rounding, across segment seams included. */
static void test_long_file_in_segments(void **state)
{
    (void)state;
    enum { RATE = 44100, CH = 2 };
    const int64_t n = (int64_t)200 * RATE;
    float *pcm = malloc(sizeof(float) * (size_t)n * CH);
    assert_non_null(pcm);
    uint64_t rng = 3;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / RATE, f = 200 + 30 * t; /* a sweep, so every frame differs */
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        float noise = (float)((rng >> 40) & 0xffff) / 65536.0f - 0.5f;
        pcm[CH * i] = 0.3f * (float)sin(2 * M_PI * f * t) + 0.02f * noise;
        pcm[CH * i + 1] = 0.2f * (float)sin(2 * M_PI * 1.5 * f * t) - 0.02f * noise;
    }
    const char *path = test_path("long.wav");
    SF_INFO info = {.samplerate = RATE, .channels = CH, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    assert_non_null(f);
    assert_int_equal(sf_writef_float(f, pcm, n), n);
    sf_close(f);
    mrnet_features_options opt;
    mrnet_features_options_default(&opt);
    mrnet_features whole, seg;
    assert_int_equal(mrnet_features_from_pcm(pcm, CH, n, RATE, &opt, NULL, &whole), MRNET_OK);
    assert_int_equal(mrnet_features_from_file(path, &opt, NULL, &seg), MRNET_OK);
    assert_int_equal(seg.S, whole.S);
    assert_int_equal(seg.D, whole.D);
    assert_int_equal(seg.T, whole.T);
    double worst = test_max_abs_diff(seg.data, whole.data, (size_t)seg.S * seg.D * (size_t)seg.T);
    print_message("200-s file in segments: max |diff| %.3g over %lld frames\n", worst, (long long)seg.T);
    assert_true(worst < 1e-4);
    assert_string_equal(seg.warning, "");
    mrnet_features_free(&whole);
    mrnet_features_free(&seg);
    free(pcm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_file_in_segments),
        cmocka_unit_test(test_golden_torchaudio),  cmocka_unit_test(test_golden_slaney_mag),
        cmocka_unit_test(test_golden_librosa),     cmocka_unit_test(test_golden_db_nocenter),
        cmocka_unit_test(test_golden_melon),       cmocka_unit_test(test_golden_ln_odd),
        cmocka_unit_test(test_mel_scale_roundtrip), cmocka_unit_test(test_frames),
        cmocka_unit_test(test_invalid_config),     cmocka_unit_test(test_nonfinite_input),
        cmocka_unit_test(test_short_reflect),      cmocka_unit_test(test_shared_threads),
        cmocka_unit_test(test_describe_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
