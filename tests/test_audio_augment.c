/* Recipe views and augmentation: wrap crops, random crop range, the noise's
 * probability and parameter ranges, reproducibility from a seed, sliding
 * windows. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/augment.h"
#include "tensor/rng.h"

static void test_crop_wrap(void **state)
{
    (void)state;
    float src[2 * 5] = {0, 1, 2, 3, 4, 10, 11, 12, 13, 14};
    float dst[2 * 12];
    /* Short clip repeated from the start (np.pad mode 'wrap'). */
    mrnet_crop_wrap(src, 2, 5, 0, 12, dst);
    for (int k = 0; k < 12; k++) {
        assert_true(dst[k] == (float)(k % 5));
        assert_true(dst[12 + k] == (float)(10 + k % 5));
    }
    /* A crop inside the clip. */
    mrnet_crop_wrap(src, 2, 5, 1, 3, dst);
    assert_true(dst[0] == 1 && dst[2] == 3 && dst[3] == 11 && dst[5] == 13);
    /* A crop running past the end wraps. */
    mrnet_crop_wrap(src, 1, 5, 3, 4, dst);
    assert_true(dst[0] == 3 && dst[1] == 4 && dst[2] == 0 && dst[3] == 1);
}

static void test_random_start(void **state)
{
    (void)state;
    uint64_t rng = 42;
    int64_t T = 1000, len = 96, lo = T, hi = -1;
    for (int i = 0; i < 20000; i++) {
        int64_t s = augment_random_start(&rng, T, len);
        assert_true(s >= 0 && s <= T - len);
        lo = s < lo ? s : lo;
        hi = s > hi ? s : hi;
    }
    assert_int_equal(lo, 0);
    assert_int_equal(hi, T - len);
    assert_int_equal(augment_random_start(&rng, 50, 96), 0);
}

static void test_noise(void **state)
{
    (void)state;
    mrnet_noise_config cfg;
    mrnet_noise_default(&cfg);
    assert_true(cfg.p == 0.7f && cfg.mean_lo == -0.03f && cfg.std_hi == 0.1f);
    uint64_t rng = 7;
    int applied = 0, trials = 2000;
    size_t n = 4096;
    float *x = malloc(sizeof(float) * n);
    for (int t = 0; t < trials; t++) {
        memset(x, 0, sizeof(float) * n);
        if (!augment_gaussian_noise(&rng, &cfg, x, n)) {
            assert_true(test_max_abs(x, n) == 0.0);
            continue;
        }
        applied++;
        double mean = 0, var = 0;
        for (size_t i = 0; i < n; i++)
            mean += x[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            var += (x[i] - mean) * (x[i] - mean);
        double sd = sqrt(var / (double)(n - 1));
        /* one mean in [-0.03, 0.03], one std in [0.05, 0.1] per call (sampling slack) */
        assert_true(mean > -0.03 - 0.01 && mean < 0.03 + 0.01);
        assert_true(sd > 0.05 * 0.9 && sd < 0.1 * 1.1);
    }
    double p = (double)applied / trials;
    assert_true(fabs(p - 0.7) < 0.05);
    /* Same seed, same noise. */
    float *a = calloc(n, sizeof(float)), *b = calloc(n, sizeof(float));
    uint64_t r1 = 99, r2 = 99;
    augment_gaussian_noise(&r1, &cfg, a, n);
    augment_gaussian_noise(&r2, &cfg, b, n);
    assert_memory_equal(a, b, sizeof(float) * n);
    assert_true(r1 == r2);
    free(a);
    free(b);
    free(x);
}

static void test_windows(void **state)
{
    (void)state;
    /* 1000 frames, windows of 375 with hop 200: 0, 200, 400, 600, 625. */
    assert_int_equal(mrnet_window_count(1000, 375, 200), 5);
    int64_t want[5] = {0, 200, 400, 600, 625};
    for (int i = 0; i < 5; i++)
        assert_int_equal(mrnet_window_start(1000, 375, 200, i), want[i]);
    assert_int_equal(mrnet_window_count(300, 375, 200), 1);
    assert_int_equal(mrnet_window_start(300, 375, 200, 0), 0);
    assert_int_equal(mrnet_window_count(375, 375, 200), 1);
    assert_int_equal(mrnet_window_count(575, 375, 200), 2);
}

/* SpecAugment masks on (P, T, D): masked values are the (plane, feature)
 * means over time, whole frames (time) or whole bands (features) at a time,
 * never wider than asked; the same stream gives the same masks; no masks
 * leave the input as it was. */
static void test_masks(void **state)
{
    (void)state;
    enum { P = 2, T = 50, D = 12 };
    float x[P * T * D], y[P * T * D], mean[P * D] = {0};
    uint64_t s = 3;
    for (int i = 0; i < P * T * D; i++)
        x[i] = rng_normal(&s) + (float)(i % D); /* a different level per feature */
    for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++)
                mean[p * D + d] += x[(p * T + t) * D + d] / T;
    memcpy(y, x, sizeof x);
    uint64_t rng = 11;
    augment_mask(&rng, y, P, T, D, 0, 8, 0, 3);
    assert_memory_equal(x, y, sizeof x);

    int masked_frames = 0, masked_bands = 0;
    for (int trial = 0; trial < 20; trial++) {
        memcpy(y, x, sizeof x);
        rng = 100 + (uint64_t)trial;
        augment_mask(&rng, y, P, T, D, 1, 8, 0, 0);
        int frames = 0;
        for (int t = 0; t < T; t++) {
            bool none = true;
            for (int p = 0; p < P; p++)
                for (int d = 0; d < D; d++) {
                    float v = y[(p * T + t) * D + d];
                    bool m = v != x[(p * T + t) * D + d];
                    none &= !m;
                    if (m)
                        assert_true(fabsf(v - mean[p * D + d]) < 1e-5f);
                }
            if (!none)
                frames++;
        }
        assert_true(frames <= 8);
        masked_frames += frames;

        memcpy(y, x, sizeof x);
        augment_mask(&rng, y, P, T, D, 0, 0, 1, 3);
        int bands = 0;
        for (int d = 0; d < D; d++) {
            int changed = 0;
            for (int p = 0; p < P; p++)
                for (int t = 0; t < T; t++)
                    changed += y[(p * T + t) * D + d] != x[(p * T + t) * D + d];
            assert_true(changed == 0 || changed >= P * T - 2); /* whole bands (a value may equal its mean) */
            bands += changed > 0;
        }
        assert_true(bands <= 3);
        masked_bands += bands;
    }
    assert_true(masked_frames > 20); /* widths are drawn, not always 0 */
    assert_true(masked_bands > 5);

    float a[P * T * D], b[P * T * D];
    memcpy(a, x, sizeof x);
    memcpy(b, x, sizeof x);
    uint64_t r1 = 7, r2 = 7;
    augment_mask(&r1, a, P, T, D, 2, 5, 2, 4);
    augment_mask(&r2, b, P, T, D, 2, 5, 2, 4);
    assert_memory_equal(a, b, sizeof a);
}

/* The mixup weight: Beta(alpha, alpha) folded to [0.5, 1]. For alpha 1 the
 * fold of a uniform is uniform on [0.5, 1] (mean 0.75, variance 1/48); for
 * alpha 0.2 most mass sits near 1. */
static void test_mixup_weight(void **state)
{
    (void)state;
    uint64_t rng = 11;
    double sum = 0, sum2 = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        double l = augment_mixup_weight(&rng, 1.0);
        assert_true(l >= 0.5 && l <= 1.0);
        sum += l;
        sum2 += l * l;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    assert_true(fabs(mean - 0.75) < 0.005);
    assert_true(fabs(var - 1.0 / 48) < 0.002);
    int near_one = 0;
    for (int i = 0; i < n; i++) {
        double l = augment_mixup_weight(&rng, 0.2);
        assert_true(l >= 0.5 && l <= 1.0);
        near_one += l > 0.9;
    }
    assert_true(near_one > n / 2); /* Beta(0.2, 0.2): P(max > 0.9) is about 0.6 */
    assert_true(near_one < n * 3 / 4);
}

/* Mixup of a batch: row b = lambda row b + (1 - lambda) row of a partner, in
 * inputs and targets alike; the partners are a permutation; a seed
 * reproduces it. */
static void test_mixup_batch(void **state)
{
    (void)state;
    enum { B = 5, SLOT = 7, K = 3 };
    int labels[B] = {0, 1, 2, 1, 0};
    float x[B * SLOT], q[B * K], x0[B * SLOT], q0[B * K], xc[B * SLOT], qc[B * K];
    int partner[B];
    for (int i = 0; i < B * SLOT; i++)
        x[i] = x0[i] = (float)(i / SLOT * 100 + i % SLOT); /* row b holds 100 b + i */
    augment_soft_targets(labels, B, K, 0.0, q);
    memcpy(q0, q, sizeof q);
    uint64_t rng = 5, again = 5;
    augment_mixup(&rng, 0.4, x, SLOT, q, B, K, partner, xc, qc);
    double lambda = augment_mixup_weight(&again, 0.4); /* the same first draw */
    int seen[B] = {0};
    for (int b = 0; b < B; b++) {
        int p = partner[b];
        assert_true(p >= 0 && p < B);
        seen[p]++;
        double qsum = 0;
        for (int i = 0; i < SLOT; i++)
            assert_true(fabs(x[b * SLOT + i] - (lambda * x0[b * SLOT + i] +
                                                 (1 - lambda) * x0[p * SLOT + i])) < 1e-3);
        for (int k = 0; k < K; k++) {
            assert_true(fabs(q[b * K + k] - (lambda * q0[b * K + k] + (1 - lambda) * q0[p * K + k])) <
                        1e-6);
            qsum += q[b * K + k];
        }
        assert_true(fabs(qsum - 1) < 1e-6);
        assert_true(q[b * K + labels[b]] >= 0.5f - 1e-6f); /* the own label keeps the majority */
    }
    for (int b = 0; b < B; b++)
        assert_int_equal(seen[b], 1);

    float y[B * SLOT], r[B * K];
    memcpy(y, x0, sizeof x0);
    memcpy(r, q0, sizeof q0);
    uint64_t rng2 = 5;
    augment_mixup(&rng2, 0.4, y, SLOT, r, B, K, partner, xc, qc);
    assert_memory_equal(x, y, sizeof x);

    /* one example: nothing to mix */
    memcpy(y, x0, sizeof x0);
    augment_mixup(&rng2, 0.4, y, SLOT, r, 1, K, partner, xc, qc);
    assert_memory_equal(y, x0, SLOT * sizeof(float));
}

static void test_label_smoothing(void **state)
{
    (void)state;
    int labels[2] = {2, 0};
    float q[2 * 4];
    augment_soft_targets(labels, 2, 4, 0.2, q);
    assert_true(fabsf(q[2] - 0.85f) < 1e-6f && fabsf(q[0] - 0.05f) < 1e-6f);
    assert_true(fabsf(q[4] - 0.85f) < 1e-6f && fabsf(q[7] - 0.05f) < 1e-6f);
    augment_soft_targets(labels, 2, 4, 0.0, q);
    assert_true(q[2] == 1.0f && q[3] == 0.0f && q[4] == 1.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crop_wrap), cmocka_unit_test(test_random_start),
        cmocka_unit_test(test_noise), cmocka_unit_test(test_windows),
        cmocka_unit_test(test_masks), cmocka_unit_test(test_mixup_weight),
        cmocka_unit_test(test_mixup_batch), cmocka_unit_test(test_label_smoothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
