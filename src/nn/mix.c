/* The learned mixing weights of MRNet:
 *   layermix:    the release's `(X * w).sum(2).permute(0, 1, 3, 2).reshape(...)`,
 *                a weighted sum of L feature layers fused with the (T,D) -> (D,T)
 *                transpose, done in 32x32 tiles so reads and writes both stay
 *                contiguous;
 *   routeweight: the release's `x * w_all` on the stacked route vectors, with
 *                route ablation as a bit mask;
 *   routegate:   the after-norm placement of w_all, a softmax gate over the
 *                live routes applied after bn5 (see nn.h). */
#include "nn/nn.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define MIX_TILE 32
/* Layer-mix weights reduced per block of this many layers (double sums on the
 * stack; L is 13 for WavLM, so one block). */
#define MIX_LBLOCK 64
#define MIX_PARALLEL_MIN 32768

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

// One tile of one (b,s): y[d, t] = sum_l w[l] X[l, t, d] for t in [t0,t1), d in [d0,d1).
// Xbs (L,T,D) and ybs (D,T) are the (b,s) slices.
static void layermix_tile(const float *Xbs, const float *w, float *ybs, int L, int T, int D,
                          int t0, int t1, int d0, int d1)
{
    float acc[MIX_TILE][MIX_TILE]; /* [t][d] */
    memset(acc, 0, sizeof acc);
    for (int l = 0; l < L; l++) {
        const float *Xl = Xbs + (size_t)l * T * D;
        const float wl = w[l];
        for (int t = t0; t < t1; t++)
            for (int d = d0; d < d1; d++)
                acc[t - t0][d - d0] += wl * Xl[(size_t)t * D + d];
    }
    for (int d = d0; d < d1; d++)
        for (int t = t0; t < t1; t++)
            ybs[(size_t)d * T + t] = acc[t - t0][d - d0];
}

// X (B,S,L,T,D), w (L) -> y (B,S*D,T)
void layermix_forward(const float *X, const float *w, float *y, int B, int S, int L, int T,
                      int D)
{
    const int tt = (T + MIX_TILE - 1) / MIX_TILE, td = (D + MIX_TILE - 1) / MIX_TILE;
    const long tiles = (long)B * S * tt * td;
#pragma omp parallel for schedule(static) if ((size_t)B * S * L * T * D >= MIX_PARALLEL_MIN)
    for (long i = 0; i < tiles; i++) {
        const long bs = i / ((long)tt * td);
        const int ti = (int)(i / td % tt), di = (int)(i % td);
        const int t0 = ti * MIX_TILE, d0 = di * MIX_TILE;
        layermix_tile(X + (size_t)bs * L * T * D, w, y + (size_t)bs * D * T, L, T, D, t0,
                      min_int(t0 + MIX_TILE, T), d0, min_int(d0 + MIX_TILE, D));
    }
}

// sum over t, d of dy[d, t] X[t, d] for one (b,s,l): Xl (T,D), dybs (D,T).
// dy is read in transposed tiles so both arrays stream contiguously.
static double layermix_dot(const float *Xl, const float *dybs, int T, int D)
{
    double sum = 0.0;
    float tile[MIX_TILE][MIX_TILE]; /* [t][d] of dy */
    for (int t0 = 0; t0 < T; t0 += MIX_TILE) {
        const int t1 = min_int(t0 + MIX_TILE, T);
        for (int d0 = 0; d0 < D; d0 += MIX_TILE) {
            const int d1 = min_int(d0 + MIX_TILE, D);
            for (int d = d0; d < d1; d++)
                for (int t = t0; t < t1; t++)
                    tile[t - t0][d - d0] = dybs[(size_t)d * T + t];
            for (int t = t0; t < t1; t++) {
                const float *xr = Xl + (size_t)t * D;
                for (int d = d0; d < d1; d++)
                    sum += (double)xr[d] * tile[t - t0][d - d0];
            }
        }
    }
    return sum;
}

// dy (B,S*D,T) -> dw (L) +=   (the input needs no gradient)
// Thread j owns layer l for every (b,s), visited in order: the sum per layer does
// not depend on the thread count. The (b,s) loop is outside so that all
// threads read the same slice of dy while it is in cache.
void layermix_backward(const float *X, const float *dy, float *dw, int B, int S, int L, int T,
                       int D)
{
    const size_t slice = (size_t)T * D;
    for (int l0 = 0; l0 < L; l0 += MIX_LBLOCK) {
        const int nl = min_int(MIX_LBLOCK, L - l0);
        double acc[MIX_LBLOCK] = {0};
        for (long bs = 0; bs < (long)B * S; bs++) {
            const float *dybs = dy + (size_t)bs * slice;
#pragma omp parallel for schedule(static) if (nl > 1 && (size_t)nl * slice >= MIX_PARALLEL_MIN)
            for (int j = 0; j < nl; j++)
                acc[j] += layermix_dot(X + ((size_t)bs * L + l0 + j) * slice, dybs, T, D);
        }
        for (int j = 0; j < nl; j++)
            dw[l0 + j] += (float)acc[j];
    }
}

// x (B,R,F), w (R) -> y (B,R*F); a dropped route (bit j of drop_mask) gives zeros.
// (B,R,F) and (B,R*F) share one layout, so this is a scaling per F-block; y may
// alias x (the after-norm gate's forward, with w = the gate, is this op too).
void routeweight_forward(const float *x, const float *w, float *y, int B, int R, int F,
                         unsigned drop_mask)
{
    assert(R <= 32); /* one bit per route in drop_mask */
    for (int b = 0; b < B; b++)
        for (int j = 0; j < R; j++) {
            const size_t o = ((size_t)b * R + j) * F;
            if ((drop_mask >> j) & 1u) {
                /* zeros, not 0 * x: an ablated route must not pass a NaN on */
                memset(y + o, 0, (size_t)F * sizeof(float));
                continue;
            }
            for (int f = 0; f < F; f++)
                y[o + f] = w[j] * x[o + f];
        }
}

// dy (B,R*F) -> dx (B,R,F) +=, dw (R) +=; dropped routes get no gradient at all
void routeweight_backward(const float *x, const float *w, const float *dy, float *dx,
                          float *dw, int B, int R, int F, unsigned drop_mask)
{
    for (int j = 0; j < R; j++) {
        if ((drop_mask >> j) & 1u)
            continue;
        double acc = 0.0;
        for (int b = 0; b < B; b++) {
            const size_t o = ((size_t)b * R + j) * F;
            for (int f = 0; f < F; f++) {
                acc += (double)dy[o + f] * x[o + f];
                dx[o + f] += w[j] * dy[o + f];
            }
        }
        dw[j] += (float)acc;
    }
}

// a (R) -> gate (R): R' softmax(a) over the R' live routes, 0 for a dropped one.
// In double, max subtracted; uniform logits give exactly 1 (R' e / (R' e)).
void routegate_values(const float *a, float *gate, int R, unsigned drop_mask)
{
    assert(R <= 32);
    double amax = -HUGE_VAL, sum = 0.0, e[32];
    int live = 0;
    for (int j = 0; j < R; j++)
        if (!((drop_mask >> j) & 1u)) {
            amax = a[j] > amax ? a[j] : amax;
            live++;
        }
    for (int j = 0; j < R; j++) {
        e[j] = ((drop_mask >> j) & 1u) ? 0.0 : exp((double)a[j] - amax);
        sum += e[j];
    }
    for (int j = 0; j < R; j++)
        gate[j] = live ? (float)(live * e[j] / sum) : 0.0f;
}

// dy (B,R*F) -> dx (B,R*F) = gate[j] dy (may alias dy), da (R) +=.
// With s_j = sum_{b,f} dy x over route j and g = gate / R' (the softmax):
// da_k = R' g_k (s_k - sum_j g_j s_j) = gate_k (s_k - sum_j gate_j s_j / R')
// over the live routes; a dropped route gets da 0 and dx 0.
void routegate_backward(const float *x, const float *gate, const float *dy, float *dx,
                        float *da, int B, int R, int F, unsigned drop_mask)
{
    assert(R <= 32);
    double s[32] = {0}, mean = 0.0; /* mean = sum_j gate_j s_j / R' */
    int live = 0;
    for (int j = 0; j < R; j++) {
        if ((drop_mask >> j) & 1u)
            continue;
        live++;
        for (int b = 0; b < B; b++) {
            const size_t o = ((size_t)b * R + j) * F;
            for (int f = 0; f < F; f++)
                s[j] += (double)dy[o + f] * x[o + f];
        }
        mean += gate[j] * s[j];
    }
    mean = live ? mean / live : 0.0;
    for (int j = 0; j < R; j++)
        if (!((drop_mask >> j) & 1u))
            da[j] += (float)(gate[j] * (s[j] - mean));
    routeweight_forward(dy, gate, dx, B, R, F, drop_mask); /* after the sums: dx may be dy */
}
