/* Squeeze-excitation in G groups (release MLFA_SEModule): group g of C channels
 * has its own bottleneck  m -> z = ReLU(Wa_g m + ba_g) -> s = sigmoid(Wb_g z + bb_g)
 * and scales its channels by s. Per group the batch is one GEMM: the group's
 * columns of m (B, G*C) form a (B, C) matrix with leading dimension G*C. */
#include "nn/nn.h"
#include "nn/reduce.h"

#include <cblas.h>
#include <string.h>

#define SE_PARALLEL_MIN 32768

// m (B,G*C) time means of x (B,G*C,T); one thread per row, double sums
static void se_time_mean(const float *x, float *m, long rows, int T)
{
#pragma omp parallel for schedule(static) if ((size_t)rows * T >= SE_PARALLEL_MIN)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * T;
        m[r] = (float)(reduce_sum(xr, T) / T);
    }
}

// in (B, K) with leading dim ldi -> out (B, N) with leading dim ldo:
// out = in W^T + bias, W (N, K), as a 1x1 convolution on a length-1 signal
static void se_dense(const float *in, int ldi, const float *w, const float *bias, float *out,
                     int ldo, int B, int K, int N)
{
    for (int b = 0; b < B; b++)
        memcpy(out + (size_t)b * ldo, bias, (size_t)N * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, N, K, 1.0f, in, ldi, w, K, 1.0f,
                out, ldo);
    nn_count_gemm(B, N, K);
}

// x (B,G*C,T) -> y (B,G*C,T) = x * s; caches m (B,G*C), z (B,G*Cb), s (B,G*C)
void se_forward(const se_params *p, const float *x, float *y, float *m, float *z, float *s,
                int B, int T)
{
    const int G = p->groups, C = p->channels, Cb = p->bottleneck;
    const long rows = (long)B * G * C;
    se_time_mean(x, m, rows, T);
    for (int g = 0; g < G; g++)
        se_dense(m + g * C, G * C, p->wa[g], p->ba[g], z + g * Cb, G * Cb, B, C, Cb);
    relu_forward(z, z, (size_t)B * G * Cb);
    for (int g = 0; g < G; g++)
        se_dense(z + g * Cb, G * Cb, p->wb[g], p->bb[g], s + g * C, G * C, B, Cb, C);
    sigmoid_forward(s, s, (size_t)rows);
#pragma omp parallel for schedule(static) if ((size_t)rows * T >= SE_PARALLEL_MIN)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * T;
        float *yr = y + (size_t)r * T;
        const float sr = s[r];
        for (int t = 0; t < T; t++)
            yr[t] = xr[t] * sr;
    }
}

// The backward of se_dense: dout (B,N) with leading dim ldo, its input in (B,K)
// with leading dim ldi -> dbias (N) +=, dW (N,K) +=, din (B,K) = (overwritten,
// leading dim ldi).
static void se_dense_backward(const float *dout, int ldo, const float *in, int ldi,
                              const float *w, float *dw, float *dbias, float *din, int B, int K,
                              int N)
{
    for (int n = 0; n < N; n++) {
        double acc = 0.0;
        for (int b = 0; b < B; b++)
            acc += dout[(size_t)b * ldo + n];
        dbias[n] += (float)acc;
    }
    // dW (N,K) += dout^T (N,B) . in (B,K)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, B, 1.0f, dout, ldo, in, ldi, 1.0f,
                dw, K);
    nn_count_gemm(N, K, B);
    // din (B,K) = dout (B,N) . W (N,K)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, K, N, 1.0f, dout, ldo, w, K, 0.0f,
                din, ldi);
    nn_count_gemm(B, K, N);
}

// ds (B,G*C) = sum_t dy x, then through the sigmoid: dsp = ds s (1 - s)
static void se_scale_grad(const float *x, const float *s, const float *dy, float *dsp,
                          long rows, int T)
{
#pragma omp parallel for schedule(static) if ((size_t)rows * T >= SE_PARALLEL_MIN)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * T, *dr = dy + (size_t)r * T;
        dsp[r] = (float)reduce_dot(dr, xr, T) * s[r] * (1.0f - s[r]);
    }
}

// dy (B,G*C,T) -> dx (B,G*C,T) +=, parameter gradients +=;
// scratch (B*G*(C+Cb)): dsp, later dm (B,G*C), then dz (B,G*Cb)
void se_backward(const se_params *p, const se_grads *g, const float *x, const float *m,
                 const float *z, const float *s, const float *dy, float *dx, int B, int T,
                 float *scratch)
{
    const int G = p->groups, C = p->channels, Cb = p->bottleneck, GC = G * C, GCb = G * Cb;
    const long rows = (long)B * GC;
    float *dsp = scratch, *dz = scratch + (size_t)B * GC, *dm = dsp;
    se_scale_grad(x, s, dy, dsp, rows, T);
    for (int k = 0; k < G; k++) /* conv_b: dsp -> dz */
        se_dense_backward(dsp + k * C, GC, z + k * Cb, GCb, p->wb[k], g->dwb[k], g->dbb[k],
                          dz + k * Cb, B, Cb, C);
    relu_backward(z, dz, dz, (size_t)B * GCb);
    /* dsp is dead from here on: its space takes dm. */
    for (int k = 0; k < G; k++) /* conv_a: dz -> dm */
        se_dense_backward(dz + k * Cb, GCb, m + k * C, GC, p->wa[k], g->dwa[k], g->dba[k],
                          dm + k * C, B, C, Cb);
    // dx += dy s (the scaling) + dm / T (the time mean feeding m)
    const float inv_t = 1.0f / (float)T;
#pragma omp parallel for schedule(static) if ((size_t)rows * T >= SE_PARALLEL_MIN)
    for (long r = 0; r < rows; r++) {
        const float *dr = dy + (size_t)r * T;
        float *dxr = dx + (size_t)r * T;
        const float sr = s[r], dmr = dm[r] * inv_t;
        for (int t = 0; t < T; t++)
            dxr[t] += dr[t] * sr + dmr;
    }
}
