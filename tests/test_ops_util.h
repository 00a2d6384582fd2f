/* Helpers shared by the op tests (test_ops*.c): buffers, seeded random fills
 * and the finite-difference gradient check. Header-only so each test program
 * stays one file plus testutil.c. */
#ifndef MRNET_TESTS_TEST_OPS_UTIL_H
#define MRNET_TESTS_TEST_OPS_UTIL_H

#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor/rng.h"

/* Buffers live until the program ends: tests are short and this keeps each
 * test free of cleanup code. The pool is freed at exit for ASan's sake. */
#define OPS_MAX_BUFFERS 4096
static void *ops_buffers[OPS_MAX_BUFFERS];
static int ops_n_buffers;

static inline void ops_free_all(void)
{
    for (int i = 0; i < ops_n_buffers; i++)
        free(ops_buffers[i]);
    ops_n_buffers = 0;
}

static inline float *fbuf(size_t n)
{
    if (ops_n_buffers == 0)
        atexit(ops_free_all);
    assert_true(ops_n_buffers < OPS_MAX_BUFFERS);
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    ops_buffers[ops_n_buffers++] = p;
    return p;
}

static inline float *fcopy(const float *a, size_t n)
{
    float *p = fbuf(n);
    for (size_t i = 0; i < n; i++)
        p[i] = a[i];
    return p;
}

static inline void fill_uniform(float *a, size_t n, uint64_t *rng, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        a[i] = rng_uniform_range(rng, lo, hi);
}

static inline float *frand(size_t n, uint64_t *rng, float lo, float hi)
{
    float *p = fbuf(n);
    fill_uniform(p, n, rng, lo, hi);
    return p;
}

static inline double dot_d(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* Largest |a-b| / max(max|b|, floor): the error normalised by the tensor's scale. */
static inline double rel_max_err(const float *a, const float *b, size_t n, double floor)
{
    double scale = test_max_abs(b, n);
    if (scale < floor)
        scale = floor;
    return test_max_abs_diff(a, b, n) / scale;
}

/* ---- finite differences ---------------------------------------------------
 * A scalar loss L(params) evaluated in float32 by the op's forward; each
 * target is a tensor perturbed in place and the analytic gradient for it. */
typedef double (*ops_loss_fn)(void *ctx);

typedef struct {
    const char *name;
    float *value;
    const float *grad;
    size_t n;
} grad_target;

/* Checks up to max_points entries of each target (all when fewer, else a
 * seeded sample) by central differences with step h. The error is
 * max |numeric - analytic| over the points, divided by the largest |analytic|
 * of the whole tensor (at least 1e-3), and must stay below tol. */
static inline void check_grads(const char *op, ops_loss_fn loss, void *ctx, const grad_target *tg,
                        int n_targets, float h, double tol, int max_points)
{
    uint64_t rng = 12345;
    for (int k = 0; k < n_targets; k++) {
        const grad_target *t = &tg[k];
        double scale = test_max_abs(t->grad, t->n), worst = -1.0;
        if (scale < 1e-3)
            scale = 1e-3;
        size_t worst_i = 0;
        double worst_num = 0.0;
        const size_t points = t->n < (size_t)max_points ? t->n : (size_t)max_points;
        for (size_t j = 0; j < points; j++) {
            const size_t i = t->n <= (size_t)max_points ? j : (size_t)rng_below(&rng, t->n);
            const float v = t->value[i];
            const float vp = v + h, vm = v - h;
            t->value[i] = vp;
            const double lp = loss(ctx);
            t->value[i] = vm;
            const double lm = loss(ctx);
            t->value[i] = v;
            /* divide by the step actually taken in float */
            const double num = (lp - lm) / ((double)vp - (double)vm);
            const double err = fabs(num - t->grad[i]) / scale;
            if (err > worst) {
                worst = err;
                worst_i = i;
                worst_num = num;
            }
        }
        if (worst > tol || getenv("MRNET_TEST_VERBOSE"))
            fprintf(stderr, "%s: d%s[%zu] numeric %.6g analytic %.6g (scale %.3g): error %.3g (tol %.3g)\n",
                    op, t->name, worst_i, worst_num, (double)t->grad[worst_i], scale, worst, tol);
        assert_true(worst <= tol);
    }
}

#endif
