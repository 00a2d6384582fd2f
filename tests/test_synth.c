/* Synthetic demo audio: determinism, range, styles told apart by simple
 * statistics, and the resumable demo-set writer. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/synth.h"
#include "data_fixtures.h"

#define RATE 16000
#define SECONDS 4

static void test_determinism_and_range(void **state)
{
    (void)state;
    size_t n = SECONDS * RATE;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    for (int s = 0; s < SYNTH_STYLES; s++) {
        assert_int_equal(synth_clip(s, 3, 42, RATE, a, n), MRNET_OK);
        assert_int_equal(synth_clip(s, 3, 42, RATE, b, n), MRNET_OK);
        assert_memory_equal(a, b, n * sizeof *a); /* same seed: same samples */
        double energy = 0, peak = 0;
        for (size_t i = 0; i < n; i++) {
            assert_true(isfinite(a[i]));
            assert_true(a[i] >= -1.0f && a[i] <= 1.0f);
            energy += (double)a[i] * a[i];
            peak = fmax(peak, fabs(a[i]));
        }
        assert_true(sqrt(energy / n) > 0.02); /* not silent */
        assert_true(peak >= 0.29 && peak <= 0.91); /* loudness drawn in [0.3, 0.9] */
        assert_int_equal(synth_clip(s, 3, 43, RATE, b, n), MRNET_OK);
        assert_true(memcmp(a, b, n * sizeof *a) != 0); /* another seed: another clip */
        assert_int_equal(synth_clip(s, 4, 42, RATE, b, n), MRNET_OK);
        assert_true(memcmp(a, b, n * sizeof *a) != 0); /* another index: another clip */
    }
    assert_int_equal(synth_clip(SYNTH_STYLES, 0, 1, RATE, a, n), MRNET_ERR_ARG);
    assert_int_equal(synth_clip(SYNTH_BALLAD, 0, 1, 1000, a, n), MRNET_ERR_ARG);
    assert_int_equal(synth_style_index("noise-rock"), SYNTH_NOISE_ROCK);
    assert_int_equal(synth_style_index("polka"), -1);
    /* other rates work too */
    assert_int_equal(synth_clip(SYNTH_WALTZ, 0, 1, 44100, a, n), MRNET_OK);
    free(a);
    free(b);
}

/* zero-crossing rate (per s), onset rate (per s: 16 ms frames whose RMS
 * jumps by 1.6x), spread of the frames' log RMS (how percussive). */
#define N_FEATURES 3
static void mrnet_features(const float *x, size_t n, double *f)
{
    int z = 0;
    for (size_t i = 1; i < n; i++)
        z += (x[i - 1] < 0) != (x[i] < 0);
    const int F = 256;
    int frames = (int)(n / F), onsets = 0;
    double prev = 0, m = 0, m2 = 0;
    for (int k = 0; k < frames; k++) {
        double e = 0;
        for (int i = 0; i < F; i++)
            e += (double)x[k * F + i] * x[k * F + i];
        e = sqrt(e / F) + 1e-6;
        onsets += k > 0 && e > 1.6 * prev;
        prev = e;
        m += log(e);
        m2 += log(e) * log(e);
    }
    m /= frames;
    f[0] = z / ((double)n / RATE);
    f[1] = onsets / ((double)n / RATE);
    f[2] = sqrt(fmax(0, m2 / frames - m * m));
}

static void test_styles_distinguishable(void **state)
{
    (void)state;
    enum { TRAIN = 8, TEST = 4 };
    size_t n = SECONDS * RATE;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    double feat[SYNTH_STYLES][TRAIN + TEST][N_FEATURES];
    for (int s = 0; s < SYNTH_STYLES; s++)
        for (int i = 0; i < TRAIN + TEST; i++) {
            assert_int_equal(synth_clip(s, i, 7, RATE, x, n), MRNET_OK);
            mrnet_features(x, n, feat[s][i]);
        }
    free(x);
    /* class means and the training set's spread per feature */
    double mean[SYNTH_STYLES][N_FEATURES] = {{0}}, mu[N_FEATURES] = {0}, sd[N_FEATURES] = {0};
    for (int s = 0; s < SYNTH_STYLES; s++)
        for (int i = 0; i < TRAIN; i++)
            for (int k = 0; k < N_FEATURES; k++) {
                mean[s][k] += feat[s][i][k] / TRAIN;
                mu[k] += feat[s][i][k] / (SYNTH_STYLES * TRAIN);
            }
    for (int s = 0; s < SYNTH_STYLES; s++)
        for (int i = 0; i < TRAIN; i++)
            for (int k = 0; k < N_FEATURES; k++)
                sd[k] += pow(feat[s][i][k] - mu[k], 2) / (SYNTH_STYLES * TRAIN);
    for (int k = 0; k < N_FEATURES; k++)
        sd[k] = sqrt(sd[k]);
    /* the ballad is the calmest style */
    for (int s = 1; s < SYNTH_STYLES; s++)
        assert_true(mean[SYNTH_BALLAD][1] < mean[s][1]);
    assert_true(mean[SYNTH_TECHNO][1] > mean[SYNTH_JAZZ][1]);
    /* nearest class mean on held-out clips: far above chance (20 %) */
    int correct = 0;
    for (int s = 0; s < SYNTH_STYLES; s++)
        for (int i = TRAIN; i < TRAIN + TEST; i++) {
            int best = -1;
            double best_d = INFINITY;
            for (int c = 0; c < SYNTH_STYLES; c++) {
                double d = 0;
                for (int k = 0; k < N_FEATURES; k++)
                    d += pow((feat[s][i][k] - mean[c][k]) / sd[k], 2);
                if (d < best_d)
                    best_d = d, best = c;
            }
            correct += best == s;
        }
    print_message("nearest-mean accuracy on held-out synthetic clips: %d / %d\n", correct,
                  SYNTH_STYLES * TEST);
    assert_true(correct >= SYNTH_STYLES * TEST * 7 / 10);
}

static void test_write_demo(void **state)
{
    (void)state;
    char root[512];
    snprintf(root, sizeof root, "%s", test_path("demo/set"));
    mrnet_demo_options opt = {.root = root, .clips_per_style = 4, .seconds = 1.5, .seed = 5};
    mrnet_demo_report rep;
    assert_int_equal(mrnet_demo_write(&opt, &rep), MRNET_OK);
    assert_int_equal(rep.written, 4 * SYNTH_STYLES);
    assert_int_equal(rep.existing, 0);

    char path[1024];
    snprintf(path, sizeof path, "%s/jazz/jazz.003.wav", root);
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    assert_non_null(f);
    assert_int_equal(info.samplerate, 16000);
    assert_int_equal(info.channels, 1);
    assert_int_equal(info.frames, 24000);
    sf_close(f);

    /* The manifest reads back through the generic reader. */
    snprintf(path, sizeof path, "%s/manifest.csv", root);
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    assert_int_equal(mrnet_dataset_read_manifest(&ds, path), MRNET_OK);
    assert_int_equal(ds.n_items, 4 * SYNTH_STYLES);
    assert_int_equal(ds.n_skipped, 0);
    assert_int_equal(mrnet_dataset_finalize_labels(&ds, NULL, 0), MRNET_OK);
    assert_int_equal(ds.n_labels, SYNTH_STYLES);
    /* 4 per style at 15 % / 15 %: one valid, one test, two train each */
    assert_int_equal(mrnet_dataset_count_split(&ds, "train"), 2 * SYNTH_STYLES);
    assert_int_equal(mrnet_dataset_count_split(&ds, "valid"), SYNTH_STYLES);
    assert_int_equal(mrnet_dataset_count_split(&ds, "test"), SYNTH_STYLES);
    mrnet_dataset_free(&ds);

    /* Resumable: complete clips are kept, a truncated one is rewritten. */
    snprintf(path, sizeof path, "%s/waltz/waltz.001.wav", root);
    assert_int_equal(truncate(path, 1000), 0);
    assert_int_equal(mrnet_demo_write(&opt, &rep), MRNET_OK);
    assert_int_equal(rep.written, 1);
    assert_int_equal(rep.existing, 4 * SYNTH_STYLES - 1);

    /* The regenerated clip is identical to a fresh one. */
    float *want = malloc(24000 * sizeof *want), *got = malloc(24000 * sizeof *got);
    assert_int_equal(synth_clip(SYNTH_WALTZ, 1, 5, 16000, want, 24000), MRNET_OK);
    f = sf_open(path, SFM_READ, &info);
    assert_non_null(f);
    assert_int_equal(sf_readf_float(f, got, 24000), 24000);
    sf_close(f);
    /* 16-bit: half a step of rounding, and libsndfile scales by 32767 on
     * writing and 1/32768 on reading */
    assert_true(test_max_abs_diff(want, got, 24000) < 2.0 / 32768);
    free(want);
    free(got);

    mrnet_demo_options bad = {.root = NULL};
    assert_int_equal(mrnet_demo_write(&bad, NULL), MRNET_ERR_ARG);
    fx_write_text(test_path("demo/file"), "x");
    mrnet_demo_options blocked = {.root = test_path("demo/file/sub"), .clips_per_style = 1};
    assert_int_equal(mrnet_demo_write(&blocked, NULL), MRNET_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism_and_range),
        cmocka_unit_test(test_styles_distinguishable),
        cmocka_unit_test(test_write_demo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
