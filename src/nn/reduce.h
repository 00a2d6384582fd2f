/* Row reductions in double with a fixed order of additions.
 *
 * A single running sum is a chain of dependent adds the compiler may not
 * reorder (no -ffast-math), so it runs at one add per 4 cycles, scalar: at
 * MRNet's sizes batch norm's statistics and the bias gradients took a tenth
 * of a training step that way. These keep REDUCE_LANES independent sums,
 * lane l taking elements l, l + LANES, ..., and add the lanes in order at the
 * end: the compiler vectorises the lanes, and the result depends on the row
 * alone (never on threads or alignment), as before, in another fixed order. */
#ifndef MRNET_NN_REDUCE_H
#define MRNET_NN_REDUCE_H

#define REDUCE_LANES 8

static inline double reduce_lanes(const double *acc)
{
    double s = 0.0;
    for (int l = 0; l < REDUCE_LANES; l++)
        s += acc[l];
    return s;
}

// sum of x[0..n)
static inline double reduce_sum(const float *x, int n)
{
    double acc[REDUCE_LANES] = {0};
    int t = 0;
    for (; t + REDUCE_LANES <= n; t += REDUCE_LANES)
        for (int l = 0; l < REDUCE_LANES; l++)
            acc[l] += (double)x[t + l];
    for (int l = 0; t + l < n; l++)
        acc[l] += (double)x[t + l];
    return reduce_lanes(acc);
}

// sum of (x[t] - mu)^2
static inline double reduce_squares(const float *x, int n, double mu)
{
    double acc[REDUCE_LANES] = {0};
    int t = 0;
    for (; t + REDUCE_LANES <= n; t += REDUCE_LANES)
        for (int l = 0; l < REDUCE_LANES; l++) {
            const double d = (double)x[t + l] - mu;
            acc[l] += d * d;
        }
    for (int l = 0; t + l < n; l++) {
        const double d = (double)x[t + l] - mu;
        acc[l] += d * d;
    }
    return reduce_lanes(acc);
}

// sum of a[t] * b[t]
static inline double reduce_dot(const float *a, const float *b, int n)
{
    double acc[REDUCE_LANES] = {0};
    int t = 0;
    for (; t + REDUCE_LANES <= n; t += REDUCE_LANES)
        for (int l = 0; l < REDUCE_LANES; l++)
            acc[l] += (double)a[t + l] * (double)b[t + l];
    for (int l = 0; t + l < n; l++)
        acc[l] += (double)a[t + l] * (double)b[t + l];
    return reduce_lanes(acc);
}

// *s1 = sum of x[t] a[t]; *s2 = sum of x[t]^2 a[t] (x a in double, as ASP)
static inline void reduce_weighted_moments(const float *x, const float *a, int n, double *s1,
                                           double *s2)
{
    double a1[REDUCE_LANES] = {0}, a2[REDUCE_LANES] = {0};
    int t = 0;
    for (; t + REDUCE_LANES <= n; t += REDUCE_LANES)
        for (int l = 0; l < REDUCE_LANES; l++) {
            const double xa = (double)x[t + l] * (double)a[t + l];
            a1[l] += xa;
            a2[l] += xa * (double)x[t + l];
        }
    for (int l = 0; t + l < n; l++) {
        const double xa = (double)x[t + l] * (double)a[t + l];
        a1[l] += xa;
        a2[l] += xa * (double)x[t + l];
    }
    *s1 = reduce_lanes(a1);
    *s2 = reduce_lanes(a2);
}

// *sum_dy += sum of dy[t]; *sum_dy_xhat += sum of dy[t] * ((x[t] - mu) * rs)
static inline void reduce_bn_grad(const float *x, const float *dy, int n, float mu, float rs,
                                  double *sum_dy, double *sum_dy_xhat)
{
    double a1[REDUCE_LANES] = {0}, a2[REDUCE_LANES] = {0};
    int t = 0;
    for (; t + REDUCE_LANES <= n; t += REDUCE_LANES)
        for (int l = 0; l < REDUCE_LANES; l++) {
            a1[l] += (double)dy[t + l];
            a2[l] += (double)dy[t + l] * (double)((x[t + l] - mu) * rs);
        }
    for (int l = 0; t + l < n; l++) {
        a1[l] += (double)dy[t + l];
        a2[l] += (double)dy[t + l] * (double)((x[t + l] - mu) * rs);
    }
    *sum_dy += reduce_lanes(a1);
    *sum_dy_xhat += reduce_lanes(a2);
}

#endif
