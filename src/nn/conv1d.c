/* Conv1d with "same" output length, as torch.nn.Conv1d(in, out, k, dilation=d,
 * padding=d*(k-1)/2). Kernel 1 is one GEMM per sample. Kernel k > 1 is k GEMMs
 * per sample, one per tap j, each on the shifted window of the input that the
 * tap sees ("shift-and-GEMM"):
 *     y_b[:, t0:t1] += W_j . x_b[:, t0+s : t1+s],   s = j*d - pad,
 * where [t0, t1) are the output frames whose source t+s lies inside [0, T):
 * the zero padding is simply never read. W_j (out,in) is column j of the
 * weight (out, in, k), gathered once per call into scratch so that GEMM sees
 * unit strides.
 *
 * Why not im2col: the column matrix is a serial copy of k times the input per
 * sample between GEMMs, while OpenBLAS packs the shifted windows itself, in
 * its own threads. Measured at B=48, T=300 on 2 cores (min of 5-8 runs, OpenMP
 * OpenBLAS): 192 -> 192, k 3 forward 20.8 -> 16.1 ms, backward 37.9 -> 33.5 ms;
 * 1536 -> 512, k 5 forward 595 -> 552 ms. The copy does not scale with cores,
 * so the gap grows on bigger machines.
 * Threads: with at least as many samples as threads, the samples are split
 * into one contiguous chunk per thread and each GEMM runs single-threaded
 * inside it (the OpenMP build of OpenBLAS does that within a parallel
 * region): one fork/join per call instead of one per GEMM, which dominated
 * at MRNet's sizes (thousands of GEMMs a step). The weight gradient is then
 * accumulated per thread in scratch and summed in thread order, so results
 * depend on the thread count only through that float reordering. With fewer
 * samples than threads (inference on one track), samples run one after
 * another and OpenBLAS threads inside each GEMM. The partials live in the
 * caller's scratch, sized for a thread count (conv1d_scratch_floats): the
 * backward never runs on more threads than that, whatever
 * omp_get_max_threads() has become since. */
#include "nn/nn.h"
#include "nn/reduce.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <omp.h>
#include <string.h>

/* Below this many floats an OpenMP team costs more than the loop. */
#define CONV_PARALLEL_MIN 32768

static int conv1d_padding(const conv1d_params *p)
{
    /* Same length needs an even dilation*(kernel-1): true for the odd kernels
     * MRNet uses. */
    assert((p->dilation * (p->kernel - 1)) % 2 == 0);
    return p->dilation * (p->kernel - 1) / 2;
}

/* Tap j reads x[t + shift]; the outputs with a source inside [0, T) are
 * [*t0, *t1), empty when the tap lies entirely in the padding. */
static int conv1d_tap(const conv1d_params *p, int j, int T, int *t0, int *t1)
{
    const int shift = j * p->dilation - conv1d_padding(p);
    *t0 = shift < 0 ? -shift : 0;
    *t1 = shift > 0 ? T - shift : T;
    return shift;
}

/* The taps (k > 1), and one weight gradient per thread beyond the first. */
size_t conv1d_scratch_floats(const conv1d_params *p, int T, int threads)
{
    (void)T; /* the taps need the weight, not the signal */
    size_t w = (size_t)p->kernel * (size_t)p->out_ch * (size_t)p->in_ch;
    return (p->kernel > 1 ? 2 * w : 0) + (threads > 1 ? (size_t)threads * w : 0);
}

/* Inside a parallel region the caller's team already has the cores: one
 * thread (the OpenMP build of OpenBLAS also runs its GEMMs on one there). */
int conv1d_max_threads(void) { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

/* Batch-parallel when every thread gets a sample, on at most cap threads. */
static int conv1d_threads(int B, int cap)
{
    int n = conv1d_max_threads();
    n = n < cap ? n : cap;
    return (n > 1 && B >= n) ? n : 1;
}

/* Samples [*b0, *b1) of thread `id` among n: contiguous, balanced. */
static void conv1d_chunk(int B, int id, int n, int *b0, int *b1)
{
    *b0 = (int)((long)B * id / n);
    *b1 = (int)((long)B * (id + 1) / n);
}

// weight (out,in,k) -> taps (k,out,in)
static void conv1d_gather_taps(const conv1d_params *p, float *taps)
{
    const int k = p->kernel, in = p->in_ch, out = p->out_ch;
#pragma omp parallel for schedule(static) if ((size_t)out * in * k >= CONV_PARALLEL_MIN)
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) {
            const float *w = p->weight + ((size_t)o * in + i) * k;
            for (int j = 0; j < k; j++)
                taps[((size_t)j * out + o) * in + i] = w[j];
        }
}

// dweight (out,in,k) += dtaps (k,out,in)
static void conv1d_scatter_taps(const conv1d_params *p, const float *dtaps, float *dweight)
{
    const int k = p->kernel, in = p->in_ch, out = p->out_ch;
#pragma omp parallel for schedule(static) if ((size_t)out * in * k >= CONV_PARALLEL_MIN)
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) {
            float *dw = dweight + ((size_t)o * in + i) * k;
            for (int j = 0; j < k; j++)
                dw[j] += dtaps[((size_t)j * out + o) * in + i];
        }
}

// y (B,out,T) = bias broadcast over time, or zeros; the GEMMs then add W x.
// One team for the whole batch, before the per-sample GEMM loop.
static void fill_bias(float *y, const float *bias, int B, int out, int T)
{
    const long rows = (long)B * out;
#pragma omp parallel for schedule(static) if ((size_t)rows * T >= CONV_PARALLEL_MIN)
    for (long r = 0; r < rows; r++) {
        float *row = y + (size_t)r * T;
        const float v = bias ? bias[r % out] : 0.0f;
        for (int t = 0; t < T; t++)
            row[t] = v;
    }
}

// x (B,in,T) -> y (B,out,T); scratch: conv1d_scratch_floats() floats
void conv1d_forward(const conv1d_params *p, const float *x, float *y, int B, int T,
                    float *scratch)
{
    const int k = p->kernel, in = p->in_ch, out = p->out_ch;
    const size_t xs = (size_t)in * T, ys = (size_t)out * T, tap = (size_t)out * in;
    const float *taps = p->weight; /* kernel 1: the weight is the only tap */
    if (k > 1) {
        conv1d_gather_taps(p, scratch);
        taps = scratch;
    }
    fill_bias(y, p->bias, B, out, T);
    const int n = conv1d_threads(B, INT_MAX); /* the threads share the taps, keep nothing */
#pragma omp parallel num_threads(n) if (n > 1)
    {
        int b0, b1;
        conv1d_chunk(B, omp_get_thread_num(), omp_get_num_threads(), &b0, &b1);
        for (int b = b0; b < b1; b++) {
            const float *xb = x + b * xs;
            float *yb = y + b * ys;
            for (int j = 0; j < k; j++) {
                int t0, t1;
                const int s = conv1d_tap(p, j, T, &t0, &t1);
                if (t1 <= t0)
                    continue;
                // yb[:, t0:t1] (out, n) += W_j (out,in) . xb[:, t0+s : t1+s] (in, n)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, t1 - t0, in, 1.0f,
                            taps + j * tap, in, xb + t0 + s, T, 1.0f, yb + t0, T);
                nn_count_gemm(out, t1 - t0, in);
            }
        }
    }
}

// dbias (out) += sum over b, t of dy (B,out,T); double sums, one thread per row.
static void conv1d_bias_grad(const float *dy, float *dbias, int B, int out, int T)
{
#pragma omp parallel for schedule(static) if ((size_t)B * out * T >= CONV_PARALLEL_MIN)
    for (int o = 0; o < out; o++) {
        double acc = 0.0;
        for (int b = 0; b < B; b++)
            acc += reduce_sum(dy + ((size_t)b * out + o) * T, T);
        dbias[o] += (float)acc;
    }
}

// dy (B,out,T) -> dx (B,in,T) +=, dweight (out,in,k) +=, dbias (out) +=
// scratch: the gathered taps, then their gradient (k,out,in) each, then the
// partials of up to `threads` threads (conv1d_scratch_floats(p, T, threads))
void conv1d_backward(const conv1d_params *p, const float *x, const float *dy, float *dx,
                     float *dweight, float *dbias, int B, int T, float *scratch, int threads)
{
    const int k = p->kernel, in = p->in_ch, out = p->out_ch;
    const size_t xs = (size_t)in * T, ys = (size_t)out * T, tap = (size_t)out * in;
    if (dbias)
        conv1d_bias_grad(dy, dbias, B, out, T);
    /* kernel 1: the weight and its gradient are the only tap, used in place */
    const float *taps = p->weight;
    float *dtaps = dweight;
    if (k > 1) {
        taps = scratch;
        dtaps = scratch + k * tap;
        if (dx)
            conv1d_gather_taps(p, scratch);
        memset(dtaps, 0, k * tap * sizeof(float));
    }
    /* without scratch (kernel 1), no room for per-thread partials; with it,
     * room for as many as it was sized for, whatever the count is now */
    const int n = scratch ? conv1d_threads(B, threads) : 1;
    /* thread 0 accumulates into dtaps, thread i > 0 into its own partial */
    float *partials = scratch + (k > 1 ? 2 * k * tap : 0);
    if (n > 1)
        memset(partials, 0, (size_t)(n - 1) * k * tap * sizeof(float));
#pragma omp parallel num_threads(n) if (n > 1)
    {
        int id = omp_get_thread_num(), b0, b1;
        conv1d_chunk(B, id, omp_get_num_threads(), &b0, &b1);
        float *dt = id == 0 ? dtaps : partials + (size_t)(id - 1) * k * tap;
        for (int b = b0; b < b1; b++) {
            const float *xb = x + b * xs, *dyb = dy + b * ys;
            for (int j = 0; j < k; j++) {
                int t0, t1;
                const int s = conv1d_tap(p, j, T, &t0, &t1);
                if (t1 <= t0)
                    continue;
                // dW_j (out,in) += dy_b[:, t0:t1] (out,n) . x_b[:, t0+s : t1+s]^T (n,in)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, in, t1 - t0, 1.0f,
                            dyb + t0, T, xb + t0 + s, T, 1.0f, dt + j * tap, in);
                nn_count_gemm(out, in, t1 - t0);
                // dx_b[:, t0+s : t1+s] (in,n) += W_j^T (in,out) . dy_b[:, t0:t1] (out,n)
                if (dx) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, t1 - t0, out, 1.0f,
                                taps + j * tap, in, dyb + t0, T, 1.0f, dx + b * xs + t0 + s, T);
                    nn_count_gemm(in, t1 - t0, out);
                }
            }
        }
    }
    /* partial gradients summed in thread order */
    for (int i = 1; i < n; i++) {
        const float *part = partials + (size_t)(i - 1) * k * tap;
        size_t total = (size_t)k * tap;
#pragma omp parallel for schedule(static) if (total >= CONV_PARALLEL_MIN)
        for (size_t e = 0; e < total; e++)
            dtaps[e] += part[e];
    }
    if (k > 1)
        conv1d_scatter_taps(p, dtaps, dweight);
}
