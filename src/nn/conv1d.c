/* Conv1d with "same" output length, as torch.nn.Conv1d(in, out, k, dilation=d,
 * padding=d*(k-1)/2). Kernel 1 is a plain GEMM per sample; kernel k > 1 first
 * unrolls the sample into columns (im2col) so that the convolution is one GEMM
 * too. Samples run one after another; OpenBLAS threads inside each GEMM. */
#include "nn/nn.h"

#include <assert.h>
#include <cblas.h>
#include <string.h>

/* Below this many floats an OpenMP team costs more than the loop. */
#define CONV_PARALLEL_MIN 32768

/* im2col and col2im run serially on purpose: they sit between the GEMMs of
 * consecutive samples, and an OpenMP team there fights OpenBLAS's own (pthread)
 * workers for the cores, both spinning while they wait: measured 10x slower
 * for a 192->192 kernel-3 conv at B=48 on 2 cores. They only copy memory and
 * cost a few percent of the GEMM. */

static int conv1d_padding(const conv1d_params *p)
{
    /* Same length needs an even dilation*(kernel-1): true for the odd kernels
     * MRNet uses. */
    assert((p->dilation * (p->kernel - 1)) % 2 == 0);
    return p->dilation * (p->kernel - 1) / 2;
}

size_t conv1d_scratch_floats(const conv1d_params *p, int T)
{
    if (p->kernel == 1)
        return 0;
    return (size_t)p->in_ch * (size_t)p->kernel * (size_t)T;
}

// x (in,T) -> col (in*k, T): col[i*k + j, t] = x[i, t + j*d - pad], zero outside.
// Row i*k + j matches weight (out, in, k) read as (out, in*k).
static void im2col(const conv1d_params *p, const float *x, float *col, int T)
{
    const int k = p->kernel, rows = p->in_ch * k, pad = conv1d_padding(p);
    for (int r = 0; r < rows; r++) {
        const int i = r / k, j = r % k;
        const int shift = j * p->dilation - pad; /* source t = t + shift */
        const float *src = x + (size_t)i * T;
        float *dst = col + (size_t)r * T;
        int t0 = shift < 0 ? -shift : 0;           /* first t with a source */
        int t1 = shift > 0 ? T - shift : T;        /* one past the last */
        if (t1 < t0)
            t1 = t0 = T < t0 ? T : t0;             /* kernel wider than T */
        memset(dst, 0, (size_t)t0 * sizeof(float));
        if (t1 > t0)
            memcpy(dst + t0, src + t0 + shift, (size_t)(t1 - t0) * sizeof(float));
        memset(dst + t1, 0, (size_t)(T - t1) * sizeof(float));
    }
}

// dcol (in*k, T) -> dx (in,T) +=, the transpose of im2col; taps added in order.
static void col2im_add(const conv1d_params *p, const float *dcol, float *dx, int T)
{
    const int k = p->kernel, pad = conv1d_padding(p);
    for (int i = 0; i < p->in_ch; i++) {
        float *dst = dx + (size_t)i * T;
        for (int j = 0; j < k; j++) {
            const int shift = j * p->dilation - pad;
            const float *src = dcol + ((size_t)i * k + j) * T;
            int t0 = shift < 0 ? -shift : 0;
            int t1 = shift > 0 ? T - shift : T;
            for (int t = t0; t < t1; t++)
                dst[t + shift] += src[t];
        }
    }
}

// y (rows,T) = bias broadcast over time, or zeros; the GEMM then adds W x.
static void fill_bias(float *y, const float *bias, int rows, int T)
{
    for (int o = 0; o < rows; o++) {
        float *row = y + (size_t)o * T;
        const float v = bias ? bias[o] : 0.0f;
        for (int t = 0; t < T; t++)
            row[t] = v;
    }
}

// x (B,in,T) -> y (B,out,T); scratch: conv1d_scratch_floats() floats
void conv1d_forward(const conv1d_params *p, const float *x, float *y, int B, int T,
                    float *scratch)
{
    const int out = p->out_ch, kin = p->in_ch * p->kernel;
    const size_t xs = (size_t)p->in_ch * T, ys = (size_t)out * T;
    for (int b = 0; b < B; b++) {
        const float *xb = x + b * xs;
        float *yb = y + b * ys;
        const float *cols = xb; /* kernel 1: the sample is its own column matrix */
        if (p->kernel > 1) {
            im2col(p, xb, scratch, T);
            cols = scratch;
        }
        fill_bias(yb, p->bias, out, T);
        // yb (out,T) += W (out, in*k) . cols (in*k, T)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, T, kin, 1.0f, p->weight,
                    kin, cols, T, 1.0f, yb, T);
    }
}

// dbias (out) += sum over b, t of dy (B,out,T); double sums, one thread per row.
static void conv1d_bias_grad(const float *dy, float *dbias, int B, int out, int T)
{
#pragma omp parallel for schedule(static) if ((size_t)B * out * T >= CONV_PARALLEL_MIN)
    for (int o = 0; o < out; o++) {
        double acc = 0.0;
        for (int b = 0; b < B; b++) {
            const float *row = dy + ((size_t)b * out + o) * T;
            for (int t = 0; t < T; t++)
                acc += row[t];
        }
        dbias[o] += (float)acc;
    }
}

// dy (B,out,T) -> dx (B,in,T) +=, dweight (out,in,k) +=, dbias (out) +=
void conv1d_backward(const conv1d_params *p, const float *x, const float *dy, float *dx,
                     float *dweight, float *dbias, int B, int T, float *scratch)
{
    const int out = p->out_ch, kin = p->in_ch * p->kernel;
    const size_t xs = (size_t)p->in_ch * T, ys = (size_t)out * T;
    if (dbias)
        conv1d_bias_grad(dy, dbias, B, out, T);
    for (int b = 0; b < B; b++) {
        const float *xb = x + b * xs, *dyb = dy + b * ys;
        if (p->kernel == 1) {
            // dW (out,in) += dy_b (out,T) . x_b^T (T,in)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, kin, T, 1.0f, dyb, T, xb,
                        T, 1.0f, dweight, kin);
            // dx_b (in,T) += W^T (in,out) . dy_b (out,T)
            if (dx)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kin, T, out, 1.0f,
                            p->weight, kin, dyb, T, 1.0f, dx + b * xs, T);
            continue;
        }
        im2col(p, xb, scratch, T);
        // dW (out, in*k) += dy_b (out,T) . col_b^T (T, in*k)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, kin, T, 1.0f, dyb, T, scratch,
                    T, 1.0f, dweight, kin);
        if (!dx)
            continue;
        // dcol (in*k, T) = W^T (in*k, out) . dy_b (out,T), reusing the column buffer
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kin, T, out, 1.0f, p->weight, kin,
                    dyb, T, 0.0f, scratch, T);
        col2im_add(p, scratch, dx + b * xs, T);
    }
}
