/* The WavLM forward against the PyTorch reference (tools/wavlm_ref.py).
 *
 * tests/golden/wavlm_tiny.safetensors: the reduced configuration's weights
 * (conv_dim 32, hidden 64, 4 heads, 3 layers), seed 7;
 * tests/golden/wavlm_tiny_out.safetensors: per case c in {400, 16000, 96000,
 * quiet}: input.c, conv0.c (400 and 16000 only), proj.c, hs.c;
 * tests/golden/wavlm_full_out.safetensors: the full-size model of seed
 * 20261202 (regenerated here, never stored), per n in {400, 16000, 96000}:
 * frames.n (13, 3, 768) = the states at frames 0, T/2, T-1, and abs_sum.n
 * (13, T) = sum over channels of |h|; weights.sum (248) float64 per-tensor
 * sums and input.400, to check the generator at full size.
 * The references are computed in float64 (metadata "precision").
 *
 * First the seeded generator is checked bit for bit against the golden
 * weights and inputs (so that the full-size weights rebuilt here are the
 * reference's). MRNET_WAVLM_GOLDEN_DIR overrides tests/golden (to check files
 * regenerated elsewhere). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/wavlm.h"
#include "tensor/safetensors.h"
#include "wavlm_seeded.h"

/* Tolerances (max absolute difference) of this float32 forward against the
 * float64 reference; measured (x86-64, OpenBLAS): conv0 7e-7, P 2e-6,
 * states 3e-6 (tiny) and 9e-6 (full size, 12 layers), sums 1e-7. */
#define TOL_CONV0 1e-5   /* conv layer 0 after GroupNorm and GELU */
#define TOL_PROJ 2e-5    /* the projection P */
#define TOL_STATES 1e-4  /* every hidden state, up to 12 layers */
#define TOL_ABS_SUM 1e-5 /* relative, per frame sum of 768 |h| */
/* mrnet_wavlm_fingerprint of the tiny and the full-size seeded weights */
#define TINY_FINGERPRINT "7a031db158abb836"
#define FULL_FINGERPRINT "cb25d9dd0c4c8ba8"

static const char *golden(const char *file)
{
    static char buf[4][1024];
    static int next;
    char *b = buf[next++ % 4];
    const char *dir = getenv("MRNET_WAVLM_GOLDEN_DIR");
    snprintf(b, 1024, "%s/%s", dir && dir[0] ? dir : test_source_path("tests/golden"), file);
    if (access(b, R_OK) != 0)
        fail_msg("golden file %s is missing: tools/wavlm_ref.py makes it", b);
    return b;
}

static mrnet_st_file *open_golden(const char *file)
{
    mrnet_st_file *f = NULL;
    const char *path = golden(file);
    if (mrnet_st_open(path, &f) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    return f;
}

/* A golden tensor of the given shape (F32). */
static const float *tensor(const mrnet_st_file *f, const char *name, int ndim, const int64_t *shape)
{
    const float *p;
    if (mrnet_st_get_f32(f, name, ndim, shape, &p) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    return p;
}

static mrnet_wavlm *load_ok(const char *path)
{
    mrnet_wavlm *m = NULL;
    if (mrnet_wavlm_load(path, &m) != MRNET_OK)
        fail_msg("mrnet_wavlm_load(%s): %s", path, mrnet_last_error());
    return m;
}

static double check(const char *what, const float *got, const float *want, size_t n, double tol)
{
    const double err = test_max_abs_diff(got, want, n), scale = test_max_abs(want, n);
    print_message("%-14s max |diff| %.3g (max |ref| %.3g, tolerance %.0e)\n", what, err, scale,
                  tol);
    if (!(err <= tol))
        fail_msg("%s: max |diff| %.3g over tolerance %.3g", what, err, tol);
    return err;
}

/* ---- the generator ------------------------------------------------------------------ */

/* tests/wavlm_seeded.h rebuilds the golden tiny weights and inputs bit for bit. */
static void seeded_generator_matches(void **state)
{
    (void)state;
    const char *path = test_path("tiny.safetensors");
    const mrnet_wavlm_config c = seeded_tiny_config();
    assert_int_equal(seeded_write_weights(&c, SEEDED_TINY_SEED, path, NULL), MRNET_OK);
    mrnet_st_file *mine = NULL, *ref = open_golden("wavlm_tiny.safetensors");
    assert_int_equal(mrnet_st_open(path, &mine), MRNET_OK);
    assert_int_equal(mine->n_tensors, ref->n_tensors);
    for (int i = 0; i < mine->n_tensors; i++) {
        const mrnet_st_tensor *a = &mine->tensors[i], *b = mrnet_st_find(ref, a->name);
        if (!b)
            fail_msg("%s: no tensor '%s'", ref->path, a->name);
        if (b->dtype != MRNET_F32 || b->numel != a->numel ||
            memcmp(a->data, b->data, (size_t)a->numel * 4))
            fail_msg("tensor '%s': the seeded values differ from %s's", a->name, ref->path);
    }
    mrnet_st_close(mine);
    mrnet_st_close(ref);

    mrnet_st_file *out = open_golden("wavlm_tiny_out.safetensors");
    static const int64_t lengths[] = {400, 16000, 96000};
    for (int k = 0; k < 3; k++) {
        const int64_t n = lengths[k];
        char name[32];
        snprintf(name, sizeof name, "input.%lld", (long long)n);
        const float *want = tensor(out, name, 1, &n);
        float *x = malloc((size_t)n * sizeof *x);
        seeded_input(x, n, SEEDED_TINY_SEED);
        if (memcmp(x, want, (size_t)n * sizeof *x))
            fail_msg("'%s': the seeded input differs from the golden one (max %.3g)", name,
                     test_max_abs_diff(x, want, (size_t)n));
        free(x);
    }
    mrnet_st_close(out);
}

/* ---- the tiny configuration, every output ---------------------------------------------- */

static void tiny_case(const mrnet_wavlm *m, const mrnet_st_file *out, const char *c)
{
    char name[64];
    snprintf(name, sizeof name, "input.%s", c);
    const mrnet_st_tensor *t = mrnet_st_find(out, name);
    if (!t)
        fail_msg("%s: no tensor '%s'", out->path, name);
    const int64_t n = t->numel, T = mrnet_wavlm_frames(m, n), D = m->cfg.hidden,
                  S = mrnet_wavlm_states(m);
    int64_t len[MRNET_WAVLM_MAX_CONV];
    wavlm_conv_lengths(&m->cfg, n, len);
    const int64_t C = m->cfg.conv_dim, T0 = len[0];
    const float *wave = tensor(out, name, 1, &n);
    snprintf(name, sizeof name, "conv0.%s", c);
    const int has_conv0 = mrnet_st_find(out, name) != NULL;
    float *conv0 = has_conv0 ? malloc((size_t)(C * T0) * sizeof *conv0) : NULL;
    float *proj = malloc((size_t)(T * D) * sizeof *proj),
          *states = malloc((size_t)(S * T * D) * sizeof *states);
    if (wavlm_forward(m, wave, n,
                      &(wavlm_outputs){.states = states, .conv0 = conv0, .proj = proj}) != MRNET_OK)
        fail_msg("forward on %s: %s", c, mrnet_last_error());
    char what[96];
    print_message("case %s: %lld samples, %lld frames\n", c, (long long)n, (long long)T);
    if (has_conv0) {
        snprintf(what, sizeof what, "conv0.%s", c);
        check(what, conv0, tensor(out, name, 2, (int64_t[]){C, T0}), (size_t)(C * T0), TOL_CONV0);
    }
    snprintf(name, sizeof name, "proj.%s", c);
    check(name, proj, tensor(out, name, 2, (int64_t[]){T, D}), (size_t)(T * D), TOL_PROJ);
    snprintf(name, sizeof name, "hs.%s", c);
    const float *hs = tensor(out, name, 3, (int64_t[]){S, T, D});
    for (int l = 0; l < S; l++) {
        snprintf(what, sizeof what, "hs.%s[%d]", c, l);
        check(what, states + (size_t)l * T * D, hs + (size_t)l * T * D, (size_t)(T * D),
              TOL_STATES);
    }
    free(states);
    free(proj);
    free(conv0);
}

static void tiny_outputs(void **state)
{
    (void)state;
    mrnet_wavlm *m = load_ok(golden("wavlm_tiny.safetensors"));
    const mrnet_wavlm_config want = seeded_tiny_config();
    assert_memory_equal(mrnet_wavlm_get_config(m), &want, sizeof want);
    /* pinned: stores and checkpoints record fingerprints, so the definition
     * (src/frontend/wavlm_load.c) must not drift */
    assert_string_equal(mrnet_wavlm_fingerprint(m), TINY_FINGERPRINT);
    mrnet_st_file *out = open_golden("wavlm_tiny_out.safetensors");
    static const char *const cases[] = {"400", "16000", "96000", "quiet"};
    for (int k = 0; k < 4; k++)
        tiny_case(m, out, cases[k]);
    mrnet_st_close(out);
    mrnet_wavlm_free(m);
}

/* ---- full size ----------------------------------------------------------------------------- */

/* The full-size seeded weights through the public loader (a temporary
 * safetensors file of 378 MB, removed once loaded), three input lengths. */
static void full_size(void **state)
{
    (void)state;
    mrnet_st_file *out = open_golden("wavlm_full_out.safetensors");
    const char *seed_text = mrnet_st_meta(out, "seed");
    const uint64_t seed = seed_text ? strtoull(seed_text, NULL, 10) : SEEDED_FULL_SEED;
    assert_int_equal(seed, SEEDED_FULL_SEED);
    const char *path = test_path("full.safetensors");
    const mrnet_wavlm_config c = seeded_full_config();
    const int n_tensors = seeded_tensors(&c, NULL);
    seeded_tensor *list = calloc((size_t)n_tensors, sizeof *list);
    double *sums = calloc((size_t)n_tensors, sizeof *sums);
    assert_non_null(list);
    assert_non_null(sums);
    seeded_tensors(&c, list);
    if (seeded_write_weights(&c, seed, path, sums) != MRNET_OK)
        fail_msg("%s", mrnet_last_error());
    /* the generator at full size: every tensor's sum as the reference's,
     * and its input of 400 samples bit for bit */
    const float *x400 = tensor(out, "input.400", 1, (int64_t[]){400});
    float mine400[400];
    seeded_input(mine400, 400, seed);
    assert_memory_equal(mine400, x400, sizeof mine400);
    const mrnet_st_tensor *ref_sums = mrnet_st_find(out, "weights.sum");
    assert_non_null(ref_sums);
    assert_int_equal(ref_sums->dtype, MRNET_F64);
    assert_int_equal(ref_sums->numel, n_tensors);
    for (int i = 0; i < n_tensors; i++) {
        double want;
        memcpy(&want, (const char *)ref_sums->data + 8 * (size_t)i, sizeof want);
        if (fabs(sums[i] - want) > 1e-9 * (1.0 + fabs(want)))
            fail_msg("tensor '%s': sum %.17g, the reference's %.17g", list[i].name, sums[i], want);
    }
    free(sums);
    free(list);
    mrnet_wavlm *m = load_ok(path);
    unlink(path);
    assert_memory_equal(mrnet_wavlm_get_config(m), &c, sizeof c);
    assert_string_equal(mrnet_wavlm_fingerprint(m), FULL_FINGERPRINT);

    static const int64_t lengths[] = {400, 16000, 96000};
    const int64_t D = c.hidden, S = c.layers + 1;
    for (int k = 0; k < 3; k++) {
        const int64_t n = lengths[k], T = mrnet_wavlm_frames(m, n);
        float *wave = malloc((size_t)n * sizeof *wave),
              *states = malloc((size_t)(S * T * D) * sizeof *states);
        float *frames = malloc((size_t)(S * 3 * D) * sizeof *frames),
              *abs_sum = malloc((size_t)(S * T) * sizeof *abs_sum);
        seeded_input(wave, n, seed);
        if (mrnet_wavlm_hidden_states(m, wave, n, states) != MRNET_OK)
            fail_msg("n = %lld: %s", (long long)n, mrnet_last_error());
        const int64_t pick[3] = {0, T / 2, T - 1};
        for (int64_t l = 0; l < S; l++) {
            for (int p = 0; p < 3; p++)
                memcpy(frames + (l * 3 + p) * D, states + (l * T + pick[p]) * D,
                       (size_t)D * sizeof *frames);
            for (int64_t t = 0; t < T; t++) {
                double acc = 0.0;
                for (int64_t d = 0; d < D; d++)
                    acc += fabs(states[(l * T + t) * D + d]);
                abs_sum[l * T + t] = (float)acc;
            }
        }
        char name[64], what[96];
        print_message("full size, %lld samples, %lld frames\n", (long long)n, (long long)T);
        snprintf(name, sizeof name, "frames.%lld", (long long)n);
        const float *want = tensor(out, name, 3, (int64_t[]){S, 3, D});
        for (int64_t l = 0; l < S; l++) {
            snprintf(what, sizeof what, "%s[%lld]", name, (long long)l);
            check(what, frames + l * 3 * D, want + l * 3 * D, (size_t)(3 * D), TOL_STATES);
        }
        snprintf(name, sizeof name, "abs_sum.%lld", (long long)n);
        const float *sums = tensor(out, name, 2, (int64_t[]){S, T});
        double worst = 0.0;
        for (int64_t i = 0; i < S * T; i++) {
            const double rel = fabs(abs_sum[i] - sums[i]) / fabs(sums[i]);
            worst = rel > worst ? rel : worst;
        }
        print_message("%-14s max relative diff %.3g (tolerance %.0e)\n", name, worst, TOL_ABS_SUM);
        if (!(worst <= TOL_ABS_SUM))
            fail_msg("%s: max relative diff %.3g over tolerance %.3g", name, worst, TOL_ABS_SUM);
        free(abs_sum);
        free(frames);
        free(states);
        free(wave);
    }
    mrnet_st_close(out);
    mrnet_wavlm_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seeded_generator_matches),
        cmocka_unit_test(tiny_outputs),
        cmocka_unit_test(full_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
