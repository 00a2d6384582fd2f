/* Finite-difference gradient checks for every op of nn/nn.h and every
 * gradient it produces. The loss is L = sum(y .* r) for a random r, so the
 * analytic gradients come from backward(dy = r); the numeric ones from central
 * differences of L evaluated in float32 (step H, error normalised by the
 * tensor's largest gradient, tolerance TOL; observed errors are ~1e-5, so TOL
 * catches a 1% slip in any sizeable term). Inputs that feed a ReLU are drawn
 * again (next seed) until no pre-activation lies within a margin of the kink,
 * so a finite step never crosses it. */
#include "test_ops_util.h"

#include <string.h>

#include "nn/nn.h"

#define H 1e-2f
#define TOL 2e-3
#define POINTS 32

/* ---- conv1d ------------------------------------------------------------- */

typedef struct {
    conv1d_params p;
    float *x, *y, *r, *scratch;
    int B, T;
} conv_ctx;

static double conv_loss(void *v)
{
    conv_ctx *c = v;
    conv1d_forward(&c->p, c->x, c->y, c->B, c->T, c->scratch);
    return dot_d(c->y, c->r, (size_t)c->B * c->p.out_ch * c->T);
}

static void conv_gradcheck(int in, int out, int k, int d, int B, int T, int with_bias)
{
    uint64_t rng = 100 + (uint64_t)(k * 10 + d);
    const size_t nx = (size_t)B * in * T, ny = (size_t)B * out * T, nw = (size_t)out * in * k;
    float *w = frand(nw, &rng, -0.5f, 0.5f), *b = with_bias ? frand(out, &rng, -1, 1) : NULL;
    conv_ctx c = {.p = {in, out, k, d, w, b}, .B = B, .T = T};
    c.x = frand(nx, &rng, -1, 1);
    c.y = fbuf(ny);
    c.r = frand(ny, &rng, -1, 1);
    c.scratch = fbuf(conv1d_scratch_floats(&c.p, T, conv1d_max_threads()));
    float *dx = fbuf(nx), *dw = fbuf(nw), *db = fbuf(out);
    conv_loss(&c);
    conv1d_backward(&c.p, c.x, c.r, dx, dw, with_bias ? db : NULL, B, T, c.scratch,
                    conv1d_max_threads());
    grad_target tg[] = {{"x", c.x, dx, nx}, {"weight", w, dw, nw}, {"bias", b, db, out}};
    check_grads("conv1d", conv_loss, &c, tg, with_bias ? 3 : 2, H, TOL, POINTS);
}

static void test_grad_conv1d(void **state)
{
    (void)state;
    conv_gradcheck(3, 4, 1, 1, 2, 9, 1);
    conv_gradcheck(3, 4, 3, 2, 2, 11, 1);
    conv_gradcheck(3, 2, 5, 3, 2, 11, 1);
    conv_gradcheck(2, 3, 5, 3, 2, 4, 0); /* receptive field wider than T */
}

/* ---- batch norm (train) --------------------------------------------------- */

typedef struct {
    batchnorm_params p;
    float *x, *y, *r, *mean, *rstd;
    int B, T;
} bn_ctx;

static double bn_loss(void *v)
{
    bn_ctx *c = v;
    batchnorm_forward_train(&c->p, c->x, c->y, c->B, c->T, c->mean, c->rstd);
    return dot_d(c->y, c->r, (size_t)c->B * c->p.channels * c->T);
}

static void bn_gradcheck(int B, int C, int T)
{
    uint64_t rng = 200 + (uint64_t)T;
    const size_t n = (size_t)B * C * T;
    float *w = frand(C, &rng, 0.5f, 1.5f), *b = frand(C, &rng, -0.5f, 0.5f);
    bn_ctx c = {.p = {C, 1e-5f, 0.1f, w, b, fbuf(C), fbuf(C), NULL}, .B = B, .T = T};
    c.x = frand(n, &rng, -2, 3);
    c.y = fbuf(n);
    c.r = frand(n, &rng, -1, 1);
    c.mean = fbuf(C);
    c.rstd = fbuf(C);
    float *dx = fbuf(n), *dw = fbuf(C), *db = fbuf(C);
    bn_loss(&c);
    batchnorm_backward(&c.p, c.x, c.mean, c.rstd, c.r, dx, dw, db, B, T);
    grad_target tg[] = {{"x", c.x, dx, n}, {"weight", w, dw, C}, {"bias", b, db, C}};
    check_grads("batchnorm", bn_loss, &c, tg, 3, H, TOL, POINTS);
}

static void test_grad_batchnorm(void **state)
{
    (void)state;
    bn_gradcheck(4, 3, 6); /* (B,C,T) */
    bn_gradcheck(8, 5, 1); /* (B,C) */
}

/* ---- instance norm ------------------------------------------------------- */

typedef struct {
    float *x, *y, *r, *rstd;
    int B, C, T;
} in_ctx;

static double in_loss(void *v)
{
    in_ctx *c = v;
    instnorm_forward(c->x, c->y, c->rstd, c->B, c->C, c->T, 1e-5f);
    return dot_d(c->y, c->r, (size_t)c->B * c->C * c->T);
}

static void test_grad_instnorm(void **state)
{
    (void)state;
    uint64_t rng = 300;
    in_ctx c = {.B = 2, .C = 3, .T = 7};
    const size_t n = 2 * 3 * 7;
    c.x = frand(n, &rng, -2, 3);
    c.y = fbuf(n);
    c.r = frand(n, &rng, -1, 1);
    c.rstd = fbuf(6);
    float *dx = fbuf(n);
    in_loss(&c);
    instnorm_backward(c.y, c.rstd, c.r, dx, 2, 3, 7);
    grad_target tg[] = {{"x", c.x, dx, n}};
    check_grads("instnorm", in_loss, &c, tg, 1, H, TOL, POINTS);
}

/* ---- elementwise and softmax --------------------------------------------- */

typedef struct {
    void (*forward)(const float *, float *, size_t);
    float *x, *y, *r;
    size_t n;
    int T; /* softmax only */
} elem_ctx;

static double elem_loss(void *v)
{
    elem_ctx *c = v;
    if (c->forward)
        c->forward(c->x, c->y, c->n);
    else
        softmax_forward(c->x, c->y, c->n / (size_t)c->T, c->T);
    return dot_d(c->y, c->r, c->n);
}

static void elem_gradcheck(const char *name, void (*forward)(const float *, float *, size_t),
                           void (*backward)(const float *, const float *, float *, size_t),
                           int away_from_zero)
{
    uint64_t rng = 400;
    const size_t n = 40;
    elem_ctx c = {.forward = forward, .n = n};
    c.x = frand(n, &rng, -3, 3);
    if (away_from_zero) /* |x| in [0.1, 3]: a step of H never crosses the ReLU kink */
        for (size_t i = 0; i < n; i++)
            c.x[i] = (c.x[i] < 0 ? -0.1f : 0.1f) + c.x[i] * (2.9f / 3.0f);
    c.y = fbuf(n);
    c.r = frand(n, &rng, -1, 1);
    float *dx = fbuf(n);
    elem_loss(&c);
    backward(c.y, c.r, dx, n);
    grad_target tg[] = {{"x", c.x, dx, n}};
    check_grads(name, elem_loss, &c, tg, 1, H, TOL, POINTS);
}

static void test_grad_activations(void **state)
{
    (void)state;
    elem_gradcheck("relu", relu_forward, relu_backward, 1);
    elem_gradcheck("tanh", tanh_forward, tanh_backward, 0);
    elem_gradcheck("sigmoid", sigmoid_forward, sigmoid_backward, 0);
}

static void test_grad_softmax(void **state)
{
    (void)state;
    uint64_t rng = 500;
    const size_t n = 4 * 6;
    elem_ctx c = {.n = n, .T = 6};
    c.x = frand(n, &rng, -3, 3);
    c.y = fbuf(n);
    c.r = frand(n, &rng, -1, 1);
    float *dx = fbuf(n);
    elem_loss(&c);
    softmax_backward(c.y, c.r, dx, 4, 6);
    grad_target tg[] = {{"x", c.x, dx, n}};
    check_grads("softmax", elem_loss, &c, tg, 1, H, TOL, POINTS);
}

/* ---- dropout (mask fixed by reseeding every forward) ---------------------- */

typedef struct {
    float *x, *y, *mask, *r;
    size_t n;
} drop_ctx;

static double drop_loss(void *v)
{
    drop_ctx *c = v;
    uint64_t seed = 77;
    dropout_forward(c->x, c->y, c->mask, c->n, 0.3f, &seed);
    return dot_d(c->y, c->r, c->n);
}

static void test_grad_dropout(void **state)
{
    (void)state;
    uint64_t rng = 600;
    const size_t n = 50;
    drop_ctx c = {.n = n};
    c.x = frand(n, &rng, -2, 2);
    c.y = fbuf(n);
    c.mask = fbuf(n);
    c.r = frand(n, &rng, -1, 1);
    float *dx = fbuf(n);
    drop_loss(&c);
    dropout_backward(c.mask, c.r, dx, n);
    grad_target tg[] = {{"x", c.x, dx, n}};
    check_grads("dropout", drop_loss, &c, tg, 1, H, TOL, POINTS);
}

/* ---- squeeze-excitation --------------------------------------------------- */

enum { SE_G = 2, SE_C = 4, SE_CB = 2, SE_B = 3, SE_T = 5 };

typedef struct {
    se_params p;
    float *x, *y, *m, *z, *s, *r;
} se_ctx;

static double se_loss(void *v)
{
    se_ctx *c = v;
    se_forward(&c->p, c->x, c->y, c->m, c->z, c->s, SE_B, SE_T);
    return dot_d(c->y, c->r, (size_t)SE_B * SE_G * SE_C * SE_T);
}

/* smallest |conv_a(m)| over the batch: the distance of the bottleneck ReLU
 * inputs from the kink, computed naively */
static double se_relu_margin(const float *x, const float *wa, const float *ba)
{
    double margin = INFINITY;
    for (int b = 0; b < SE_B; b++)
        for (int g = 0; g < SE_G; g++)
            for (int j = 0; j < SE_CB; j++) {
                double acc = ba[g * SE_CB + j];
                for (int ch = 0; ch < SE_C; ch++) {
                    double mean = 0.0;
                    for (int t = 0; t < SE_T; t++)
                        mean += x[((b * SE_G + g) * SE_C + ch) * SE_T + t];
                    acc += wa[(g * SE_CB + j) * SE_C + ch] * mean / SE_T;
                }
                margin = fmin(margin, fabs(acc));
            }
    return margin;
}

static void test_grad_se(void **state)
{
    (void)state;
    const size_t n = (size_t)SE_B * SE_G * SE_C * SE_T, nwa = SE_G * SE_CB * SE_C;
    float *x = fbuf(n), *wa = fbuf(nwa), *ba = fbuf(SE_G * SE_CB);
    float *wb = fbuf(nwa), *bb = fbuf(SE_G * SE_C);
    uint64_t rng = 700;
    for (int tries = 0;; tries++) {
        assert_true(tries < 200);
        fill_uniform(x, n, &rng, -2, 2);
        fill_uniform(wa, nwa, &rng, -1, 1);
        fill_uniform(ba, SE_G * SE_CB, &rng, -0.5f, 0.5f);
        if (se_relu_margin(x, wa, ba) > 0.1)
            break;
    }
    fill_uniform(wb, nwa, &rng, -1, 1);
    fill_uniform(bb, SE_G * SE_C, &rng, -0.5f, 0.5f);
    const float *wa_g[SE_G], *ba_g[SE_G], *wb_g[SE_G], *bb_g[SE_G];
    float *dwa = fbuf(nwa), *dba = fbuf(SE_G * SE_CB), *dwb = fbuf(nwa), *dbb = fbuf(SE_G * SE_C);
    float *dwa_g[SE_G], *dba_g[SE_G], *dwb_g[SE_G], *dbb_g[SE_G];
    for (int g = 0; g < SE_G; g++) {
        wa_g[g] = wa + g * SE_CB * SE_C, dwa_g[g] = dwa + g * SE_CB * SE_C;
        ba_g[g] = ba + g * SE_CB, dba_g[g] = dba + g * SE_CB;
        wb_g[g] = wb + g * SE_C * SE_CB, dwb_g[g] = dwb + g * SE_C * SE_CB;
        bb_g[g] = bb + g * SE_C, dbb_g[g] = dbb + g * SE_C;
    }
    se_ctx c = {.p = {SE_G, SE_C, SE_CB, wa_g, ba_g, wb_g, bb_g}, .x = x};
    se_grads gr = {dwa_g, dba_g, dwb_g, dbb_g};
    c.y = fbuf(n);
    c.m = fbuf(SE_B * SE_G * SE_C);
    c.z = fbuf(SE_B * SE_G * SE_CB);
    c.s = fbuf(SE_B * SE_G * SE_C);
    c.r = frand(n, &rng, -1, 1);
    float *dx = fbuf(n), *scratch = fbuf((size_t)SE_B * SE_G * (SE_C + SE_CB));
    se_loss(&c);
    /* both sides of the bottleneck ReLU are exercised */
    int zeros = 0;
    for (int i = 0; i < SE_B * SE_G * SE_CB; i++)
        zeros += c.z[i] == 0.0f;
    assert_true(zeros > 0 && zeros < SE_B * SE_G * SE_CB);
    se_backward(&c.p, &gr, x, c.m, c.z, c.s, c.r, dx, SE_B, SE_T, scratch);
    grad_target tg[] = {{"x", x, dx, n},          {"wa", wa, dwa, nwa},
                        {"ba", ba, dba, SE_G * SE_CB}, {"wb", wb, dwb, nwa},
                        {"bb", bb, dbb, SE_G * SE_C}};
    check_grads("se", se_loss, &c, tg, 5, H, TOL, POINTS);
}

/* ---- attentive statistics pooling (train-mode BN inside) ------------------ */

enum { ASP_C = 6, ASP_H = 3, ASP_B = 3, ASP_T = 7 };

typedef struct {
    asp_params p;
    asp_cache c;
    float *x, *out, *r;
} asp_ctx;

static double asp_loss(void *v)
{
    asp_ctx *c = v;
    asp_forward(&c->p, c->x, c->out, &c->c, ASP_B, ASP_T, true);
    return dot_d(c->out, c->r, (size_t)ASP_B * 2 * ASP_C);
}

static double asp_relu_margin(const float *x, const float *wa, const float *ba)
{
    double margin = INFINITY;
    for (int b = 0; b < ASP_B; b++)
        for (int j = 0; j < ASP_H; j++)
            for (int t = 0; t < ASP_T; t++) {
                double acc = ba[j];
                for (int ch = 0; ch < ASP_C; ch++)
                    acc += wa[j * ASP_C + ch] * x[(b * ASP_C + ch) * ASP_T + t];
                margin = fmin(margin, fabs(acc));
            }
    return margin;
}

static void test_grad_asp(void **state)
{
    (void)state;
    const size_t n = (size_t)ASP_B * ASP_C * ASP_T, nh = (size_t)ASP_B * ASP_H * ASP_T;
    const size_t nw = ASP_H * ASP_C;
    float *x = fbuf(n), *wa = fbuf(nw), *ba = fbuf(ASP_H);
    uint64_t rng = 800;
    for (int tries = 0;; tries++) {
        assert_true(tries < 500);
        fill_uniform(x, n, &rng, -2, 2);
        /* sample 0, channel 0 nearly constant: variance ~1e-5 < 1e-4 is clamped
         * (exactly constant would not test the clamp: its variance has zero
         * gradient anyway) */
        for (int t = 0; t < ASP_T; t++)
            x[t] = 0.7f + 0.005f * x[t];
        fill_uniform(wa, nw, &rng, -0.5f, 0.5f);
        fill_uniform(ba, ASP_H, &rng, -0.3f, 0.3f);
        if (asp_relu_margin(x, wa, ba) > 0.02)
            break;
    }
    asp_ctx c = {.x = x};
    float *bnw = frand(ASP_H, &rng, 0.5f, 1.5f), *bnb = frand(ASP_H, &rng, -0.5f, 0.5f);
    float *wb = frand(nw, &rng, -1, 1), *bb = frand(ASP_C, &rng, -0.5f, 0.5f);
    c.p = (asp_params){ASP_C, ASP_H, wa, ba, {ASP_H, 1e-5f, 0.1f, bnw, bnb, fbuf(ASP_H), fbuf(ASP_H), NULL},
                       wb, bb};
    c.c = (asp_cache){fbuf(nh), fbuf(ASP_H), fbuf(ASP_H), fbuf(nh), fbuf(n),
                      fbuf(ASP_B * ASP_C), fbuf(ASP_B * ASP_C)};
    c.out = fbuf(ASP_B * 2 * ASP_C);
    c.r = frand(ASP_B * 2 * ASP_C, &rng, -1, 1);
    asp_grads g = {fbuf(nw), fbuf(ASP_H), fbuf(ASP_H), fbuf(ASP_H), fbuf(nw), fbuf(ASP_C)};
    float *dx = fbuf(n);
    float *scratch = fbuf(asp_scratch_floats(&c.p, ASP_B, ASP_T, conv1d_max_threads()));
    asp_loss(&c);
    assert_float_equal(c.c.sg[0], 1e-2f, 1e-7f); /* the clamp is active there */
    asp_backward(&c.p, &g, x, &c.c, c.r, dx, ASP_B, ASP_T, scratch, conv1d_max_threads());
    /* a small step (the ReLU margin is 0.02), so more float noise: tolerance
     * 1e-2; every entry is checked so the clamped row is always among them */
    grad_target tg[] = {{"x", x, dx, n},           {"wa", wa, g.dwa, nw},
                        {"ba", ba, g.dba, ASP_H},    {"bn_weight", bnw, g.dbn_weight, ASP_H},
                        {"bn_bias", bnb, g.dbn_bias, ASP_H}, {"wb", wb, g.dwb, nw}};
    check_grads("asp", asp_loss, &c, tg, 6, 1e-3f, 1e-2, 1000);
    /* conv_b's bias adds a constant over t to each softmax row, which the
     * softmax ignores: its exact gradient is 0, below finite-difference noise */
    assert_true(test_max_abs(g.dbb, ASP_C) < 1e-5);
}

/* ---- linear --------------------------------------------------------------- */

typedef struct {
    float *x, *w, *b, *y, *r;
    int B, in, out;
} lin_ctx;

static double lin_loss(void *v)
{
    lin_ctx *c = v;
    linear_forward(c->x, c->w, c->b, c->y, c->B, c->in, c->out);
    return dot_d(c->y, c->r, (size_t)c->B * c->out);
}

static void test_grad_linear(void **state)
{
    (void)state;
    uint64_t rng = 900;
    lin_ctx c = {.B = 3, .in = 5, .out = 4};
    c.x = frand(15, &rng, -1, 1);
    c.w = frand(20, &rng, -1, 1);
    c.b = frand(4, &rng, -1, 1);
    c.y = fbuf(12);
    c.r = frand(12, &rng, -1, 1);
    float *dx = fbuf(15), *dw = fbuf(20), *db = fbuf(4);
    lin_loss(&c);
    linear_backward(c.x, c.w, c.r, dx, dw, db, 3, 5, 4);
    grad_target tg[] = {{"x", c.x, dx, 15}, {"weight", c.w, dw, 20}, {"bias", c.b, db, 4}};
    check_grads("linear", lin_loss, &c, tg, 3, H, TOL, POINTS);
}

/* ---- layer mix and route weights ----------------------------------------- */

enum { LM_B = 2, LM_S = 2, LM_L = 3, LM_T = 5, LM_D = 4 };

typedef struct {
    float *X, *w, *y, *r;
} lm_ctx;

static double lm_loss(void *v)
{
    lm_ctx *c = v;
    layermix_forward(c->X, c->w, c->y, LM_B, LM_S, LM_L, LM_T, LM_D);
    return dot_d(c->y, c->r, (size_t)LM_B * LM_S * LM_D * LM_T);
}

static void test_grad_layermix(void **state)
{
    (void)state;
    uint64_t rng = 1000;
    const size_t nX = (size_t)LM_B * LM_S * LM_L * LM_T * LM_D, ny = nX / LM_L;
    lm_ctx c = {frand(nX, &rng, -1, 1), frand(LM_L, &rng, 0.5f, 1.5f), fbuf(ny),
                frand(ny, &rng, -1, 1)};
    float *dw = fbuf(LM_L);
    lm_loss(&c);
    layermix_backward(c.X, c.r, dw, LM_B, LM_S, LM_L, LM_T, LM_D);
    grad_target tg[] = {{"w", c.w, dw, LM_L}};
    check_grads("layermix", lm_loss, &c, tg, 1, H, TOL, POINTS);
}

enum { RW_B = 2, RW_R = 4, RW_F = 3 };
#define RW_DROP 0x4u /* route 2 ablated */

typedef struct {
    float *x, *w, *y, *r;
} rw_ctx;

static double rw_loss(void *v)
{
    rw_ctx *c = v;
    routeweight_forward(c->x, c->w, c->y, RW_B, RW_R, RW_F, RW_DROP);
    return dot_d(c->y, c->r, RW_B * RW_R * RW_F);
}

static void test_grad_routeweight(void **state)
{
    (void)state;
    uint64_t rng = 1100;
    const size_t n = RW_B * RW_R * RW_F;
    rw_ctx c = {frand(n, &rng, -1, 1), frand(RW_R, &rng, 0.5f, 1.5f), fbuf(n),
                frand(n, &rng, -1, 1)};
    float *dx = fbuf(n), *dw = fbuf(RW_R);
    rw_loss(&c);
    routeweight_backward(c.x, c.w, c.r, dx, dw, RW_B, RW_R, RW_F, RW_DROP);
    assert_true(dw[2] == 0.0f);
    grad_target tg[] = {{"x", c.x, dx, n}, {"w", c.w, dw, RW_R}};
    check_grads("routeweight", rw_loss, &c, tg, 2, H, TOL, POINTS);
}

/* ---- weighted cross entropy ------------------------------------------------ */

enum { CE_B = 6, CE_K = 4 };

typedef struct {
    float *logits, *weight, *dtmp;
    int *labels;
} ce_ctx;

static double ce_loss(void *v)
{
    ce_ctx *c = v;
    return cross_entropy_forward_backward(c->logits, c->labels, c->weight, c->dtmp, CE_B, CE_K);
}

static void test_grad_cross_entropy(void **state)
{
    (void)state;
    uint64_t rng = 1200;
    int labels[CE_B] = {0, 3, 1, 1, 2, 3};
    ce_ctx c = {frand(CE_B * CE_K, &rng, -3, 3), frand(CE_K, &rng, 0.5f, 4.0f),
                fbuf(CE_B * CE_K), labels};
    float *dl = fbuf(CE_B * CE_K);
    cross_entropy_forward_backward(c.logits, labels, c.weight, dl, CE_B, CE_K);
    grad_target tg[] = {{"logits", c.logits, dl, CE_B * CE_K}};
    check_grads("cross_entropy", ce_loss, &c, tg, 1, H, TOL, POINTS);
}

/* Soft targets: one-hot rows give the hard loss and gradient exactly; mixed
 * and smoothed rows match finite differences. */
typedef struct {
    float *logits, *targets, *weight, *dtmp;
} soft_ctx;

static double soft_loss(void *v)
{
    soft_ctx *c = v;
    return cross_entropy_soft_forward_backward(c->logits, c->targets, c->weight, c->dtmp, CE_B,
                                               CE_K);
}

static void test_soft_cross_entropy(void **state)
{
    (void)state;
    uint64_t rng = 1300;
    int labels[CE_B] = {0, 3, 1, 1, 2, 3};
    float *z = frand(CE_B * CE_K, &rng, -3, 3), *w = frand(CE_K, &rng, 0.5f, 4.0f);
    float *onehot = fbuf(CE_B * CE_K), *d_hard = fbuf(CE_B * CE_K), *d_soft = fbuf(CE_B * CE_K);
    for (int b = 0; b < CE_B; b++)
        onehot[b * CE_K + labels[b]] = 1.0f;
    double hard = cross_entropy_forward_backward(z, labels, w, d_hard, CE_B, CE_K);
    double soft = cross_entropy_soft_forward_backward(z, onehot, w, d_soft, CE_B, CE_K);
    assert_true(fabs(hard - soft) <= 1e-12 * fabs(hard));
    for (int i = 0; i < CE_B * CE_K; i++)
        assert_true(fabsf(d_hard[i] - d_soft[i]) <= 1e-7f);

    /* rows mixed 0.7/0.3 with another row's label, then smoothed by 0.1 */
    float *q = fbuf(CE_B * CE_K);
    for (int b = 0; b < CE_B; b++)
        for (int k = 0; k < CE_K; k++)
            q[b * CE_K + k] = 0.9f * (0.7f * onehot[b * CE_K + k] +
                                      0.3f * onehot[((b + 1) % CE_B) * CE_K + k]) + 0.1f / CE_K;
    soft_ctx c = {z, q, w, fbuf(CE_B * CE_K)};
    cross_entropy_soft_forward_backward(z, q, w, d_soft, CE_B, CE_K);
    grad_target tg[] = {{"logits", z, d_soft, CE_B * CE_K}};
    check_grads("soft_cross_entropy", soft_loss, &c, tg, 1, H, TOL, POINTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_conv1d),     cmocka_unit_test(test_grad_batchnorm),
        cmocka_unit_test(test_grad_instnorm),   cmocka_unit_test(test_grad_activations),
        cmocka_unit_test(test_grad_softmax),    cmocka_unit_test(test_grad_dropout),
        cmocka_unit_test(test_grad_se),         cmocka_unit_test(test_grad_asp),
        cmocka_unit_test(test_grad_linear),     cmocka_unit_test(test_grad_layermix),
        cmocka_unit_test(test_grad_routeweight), cmocka_unit_test(test_grad_cross_entropy),
        cmocka_unit_test(test_soft_cross_entropy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
