/* The ops of nn/nn.h against PyTorch 1.13: tests/golden/ops.safetensors holds
 * inputs, parameters and upstream gradients drawn in float32 and the outputs
 * and gradients that torch.nn modules and autograd computed from them in
 * float64 (tools/gen_op_golden.py). The C ops run in float32, so the error
 * (normalised by the largest value of each tensor) is float32 rounding:
 * observed <= 3e-7, tolerance TOL = 1e-5. */
#include "test_ops_util.h"

#include <string.h>

#include "nn/nn.h"
#include "tensor/safetensors.h"

#define TOL 1e-5

static mrnet_st_file *golden;

static int open_golden(void **state)
{
    (void)state;
    const char *path = test_source_path("tests/golden/ops.safetensors");
    if (mrnet_st_open(path, &golden) != MRNET_OK) {
        fprintf(stderr, "%s\n", mrnet_last_error());
        return -1;
    }
    return 0;
}

static int close_golden(void **state)
{
    (void)state;
    mrnet_st_close(golden);
    return 0;
}

/* A writable float32 copy of golden tensor `name`, which must hold n values. */
static float *gold(const char *name, size_t n)
{
    const mrnet_st_tensor *t = mrnet_st_find(golden, name);
    if (!t)
        fprintf(stderr, "ops.safetensors: no tensor %s\n", name);
    assert_non_null(t);
    if ((size_t)t->numel != n)
        fprintf(stderr, "ops.safetensors: %s has %lld values, expected %zu\n", name,
                (long long)t->numel, n);
    assert_true((size_t)t->numel == n);
    float *p = fbuf(n);
    assert_int_equal(mrnet_st_copy_to_f32(golden, t, p, (int64_t)n), MRNET_OK);
    return p;
}

static void expect(const char *name, const float *got, size_t n, double tol)
{
    const float *want = gold(name, n);
    const double err = rel_max_err(got, want, n, 1e-3);
    if (err > tol || getenv("MRNET_TEST_VERBOSE"))
        fprintf(stderr, "%s: max error %.3g (normalised), tolerance %.3g\n", name, err, tol);
    assert_true(err <= tol);
}

static void test_golden_conv1d(void **state)
{
    (void)state;
    enum { B = 2, IN = 3, OUT = 4, K = 5, D = 3, T = 16 };
    conv1d_params p = {IN, OUT, K, D, gold("conv1d.weight", OUT * IN * K), gold("conv1d.bias", OUT)};
    float *x = gold("conv1d.x", B * IN * T), *dy = gold("conv1d.dy", B * OUT * T);
    float *y = fbuf(B * OUT * T), *dx = fbuf(B * IN * T), *dw = fbuf(OUT * IN * K), *db = fbuf(OUT);
    float *scratch = fbuf(conv1d_scratch_floats(&p, T, conv1d_max_threads()));
    conv1d_forward(&p, x, y, B, T, scratch);
    conv1d_backward(&p, x, dy, dx, dw, db, B, T, scratch, conv1d_max_threads());
    expect("conv1d.y", y, B * OUT * T, TOL);
    expect("conv1d.dx", dx, B * IN * T, TOL);
    expect("conv1d.dweight", dw, OUT * IN * K, TOL);
    expect("conv1d.dbias", db, OUT, TOL);
}

static void test_golden_batchnorm(void **state)
{
    (void)state;
    enum { B = 3, C = 4, T = 10, N = B * C * T };
    batchnorm_params p = {C, 1e-5f, 0.1f, gold("bn.weight", C), gold("bn.bias", C),
                          gold("bn.running_mean_in", C), gold("bn.running_var_in", C), NULL};
    float *x = gold("bn.x", N), *dy = gold("bn.dy", N), *y = fbuf(N), *dx = fbuf(N);
    float mean[C], rstd[C], dw[C] = {0}, db[C] = {0};
    batchnorm_forward_train(&p, x, y, B, T, mean, rstd);
    batchnorm_backward(&p, x, mean, rstd, dy, dx, dw, db, B, T);
    expect("bn.y", y, N, TOL);
    expect("bn.dx", dx, N, TOL);
    expect("bn.dweight", dw, C, TOL);
    expect("bn.dbias", db, C, TOL);
    expect("bn.running_mean", p.running_mean, C, TOL);
    expect("bn.running_var", p.running_var, C, TOL);
    batchnorm_forward_eval(&p, x, y, B, T);
    expect("bn.y_eval", y, N, TOL);
}

static void test_golden_instnorm(void **state)
{
    (void)state;
    enum { B = 2, C = 3, T = 12, N = B * C * T };
    float *x = gold("instnorm.x", N), *dy = gold("instnorm.dy", N), *y = fbuf(N), *dx = fbuf(N);
    float rstd[B * C];
    instnorm_forward(x, y, rstd, B, C, T, 1e-5f);
    instnorm_backward(y, rstd, dy, dx, B, C, T);
    expect("instnorm.y", y, N, TOL);
    expect("instnorm.dx", dx, N, TOL);
}

static void test_golden_se(void **state)
{
    (void)state;
    enum { G = 3, C = 4, CB = 2, B = 2, T = 7, N = B * G * C * T };
    float *wa = gold("se.wa", G * CB * C), *ba = gold("se.ba", G * CB);
    float *wb = gold("se.wb", G * C * CB), *bb = gold("se.bb", G * C);
    float *dwa = fbuf(G * CB * C), *dba = fbuf(G * CB), *dwb = fbuf(G * C * CB), *dbb = fbuf(G * C);
    const float *pa[G], *pba[G], *pb[G], *pbb[G];
    float *ga[G], *gba[G], *gb[G], *gbb[G];
    for (int g = 0; g < G; g++) {
        pa[g] = wa + g * CB * C, ga[g] = dwa + g * CB * C;
        pba[g] = ba + g * CB, gba[g] = dba + g * CB;
        pb[g] = wb + g * C * CB, gb[g] = dwb + g * C * CB;
        pbb[g] = bb + g * C, gbb[g] = dbb + g * C;
    }
    se_params p = {G, C, CB, pa, pba, pb, pbb};
    se_grads gr = {ga, gba, gb, gbb};
    float *x = gold("se.x", N), *dy = gold("se.dy", N), *y = fbuf(N), *dx = fbuf(N);
    float m[B * G * C], z[B * G * CB], s[B * G * C], scratch[B * G * (C + CB)];
    se_forward(&p, x, y, m, z, s, B, T);
    se_backward(&p, &gr, x, m, z, s, dy, dx, B, T, scratch);
    expect("se.y", y, N, TOL);
    expect("se.dx", dx, N, TOL);
    expect("se.dwa", dwa, G * CB * C, TOL);
    expect("se.dba", dba, G * CB, TOL);
    expect("se.dwb", dwb, G * C * CB, TOL);
    expect("se.dbb", dbb, G * C, TOL);
}

static void test_golden_asp(void **state)
{
    (void)state;
    enum { C = 8, H = 3, B = 3, T = 9, N = B * C * T, NH = B * H * T };
    asp_params p = {C, H, gold("asp.wa", H * C), gold("asp.ba", H),
                    {H, 1e-5f, 0.1f, gold("asp.bn_weight", H), gold("asp.bn_bias", H),
                     gold("asp.running_mean_in", H), gold("asp.running_var_in", H), NULL},
                    gold("asp.wb", C * H), gold("asp.bb", C)};
    asp_cache c = {fbuf(NH), fbuf(H), fbuf(H), fbuf(NH), fbuf(N), fbuf(B * C), fbuf(B * C)};
    asp_grads g = {fbuf(H * C), fbuf(H), fbuf(H), fbuf(H), fbuf(C * H), fbuf(C)};
    float *x = gold("asp.x", N), *dout = gold("asp.dout", B * 2 * C);
    float *out = fbuf(B * 2 * C), *dx = fbuf(N);
    asp_forward(&p, x, out, &c, B, T, true);
    assert_true(out[1 * 2 * C + C + 2] == 1e-2f); /* the clamped channel */
    const int threads = conv1d_max_threads();
    asp_backward(&p, &g, x, &c, dout, dx, B, T, fbuf(asp_scratch_floats(&p, B, T, threads)),
                 threads);
    expect("asp.out", out, B * 2 * C, TOL);
    expect("asp.dx", dx, N, TOL);
    expect("asp.dwa", g.dwa, H * C, TOL);
    expect("asp.dba", g.dba, H, TOL);
    expect("asp.dbn_weight", g.dbn_weight, H, TOL);
    expect("asp.dbn_bias", g.dbn_bias, H, TOL);
    expect("asp.dwb", g.dwb, C * H, TOL);
    /* exactly 0 in theory (the softmax ignores a constant shift over t): both
     * sides are rounding noise ~1e-8, measured against the 1e-3 floor */
    expect("asp.dbb", g.dbb, C, 1e-4);
    expect("asp.running_mean", p.bn.running_mean, H, TOL);
    expect("asp.running_var", p.bn.running_var, H, TOL);
    asp_forward(&p, x, out, &c, B, T, false);
    expect("asp.out_eval", out, B * 2 * C, TOL);
}

static void test_golden_linear(void **state)
{
    (void)state;
    enum { B = 3, IN = 5, OUT = 4 };
    float *x = gold("linear.x", B * IN), *w = gold("linear.weight", OUT * IN);
    float *b = gold("linear.bias", OUT), *dy = gold("linear.dy", B * OUT);
    float y[B * OUT], dx[B * IN] = {0}, dw[OUT * IN] = {0}, db[OUT] = {0};
    linear_forward(x, w, b, y, B, IN, OUT);
    linear_backward(x, w, dy, dx, dw, db, B, IN, OUT);
    expect("linear.y", y, B * OUT, TOL);
    expect("linear.dx", dx, B * IN, TOL);
    expect("linear.dweight", dw, OUT * IN, TOL);
    expect("linear.dbias", db, OUT, TOL);
}

static void test_golden_cross_entropy(void **state)
{
    (void)state;
    enum { B = 6, K = 4 };
    float *z = gold("ce.logits", B * K), *wt = gold("ce.weight", K), *lab = gold("ce.labels", B);
    int labels[B];
    for (int b = 0; b < B; b++)
        labels[b] = (int)lab[b];
    const mrnet_st_tensor *t = mrnet_st_find(golden, "ce.loss");
    assert_non_null(t);
    assert_true(t->dtype == MRNET_F64 && t->numel == 1);
    double want;
    memcpy(&want, t->data, sizeof want);
    float dz[B * K];
    const double loss = cross_entropy_forward_backward(z, labels, wt, dz, B, K);
    assert_true(fabs(loss - want) <= 1e-6 * fabs(want));
    expect("ce.dlogits", dz, B * K, TOL);
}

static void test_golden_layermix(void **state)
{
    (void)state;
    enum { B = 2, S = 2, L = 3, T = 5, D = 4, NX = B * S * L * T * D, NY = B * S * D * T };
    float *X = gold("layermix.X", NX), *w = gold("layermix.w", L), *dy = gold("layermix.dy", NY);
    float y[NY], dw[L] = {0};
    layermix_forward(X, w, y, B, S, L, T, D);
    layermix_backward(X, dy, dw, B, S, L, T, D);
    expect("layermix.y", y, NY, TOL);
    expect("layermix.dw", dw, L, TOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_conv1d),   cmocka_unit_test(test_golden_batchnorm),
        cmocka_unit_test(test_golden_instnorm), cmocka_unit_test(test_golden_se),
        cmocka_unit_test(test_golden_asp),      cmocka_unit_test(test_golden_linear),
        cmocka_unit_test(test_golden_cross_entropy), cmocka_unit_test(test_golden_layermix),
    };
    return cmocka_run_group_tests(tests, open_golden, close_golden);
}
