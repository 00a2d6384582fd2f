/* The WavLM Base+ forward pass (spec 3-8), float32, as Hugging Face's
 * WavLMModel computes it in evaluation mode.
 *
 * Layout: every signal is time-major, (frames, channels) row-major. Then a
 * conv layer of kernel k and stride s needs no im2col: the input rows that
 * tap j reads for output frames 0, 1, 2, ... are rows j, j + s, j + 2s, ...,
 * a matrix with leading dimension s * C, so the layer is k GEMMs
 *     out (T_out, C) += in[j::s] (T_out, C) . W_j^T (C, C)
 * that OpenBLAS packs itself. (BLAS refuses the single GEMM over all taps,
 * whose rows would overlap with a leading dimension below k * C.)
 *
 * Memory: one allocation per call, planned from n (plan_carve). Conv layer 0
 * is never held whole (512 x 96 000 floats for 30 s): its GroupNorm
 * statistics need the whole utterance (spec 4), so a first pass computes
 * layer 0 chunk by chunk for the statistics only, and a second computes it
 * again chunk by chunk, normalised, and feeds each chunk straight into conv
 * layer 1 (layer 0 is 0.5 GMAC of the 74 for 30 s). Later conv layers
 * ping-pong between two buffers; the transformer keeps (T, 3D) q/k/v, the
 * FFN's (T, F) and one block of attention scores per thread.
 *
 * Threads: as src/nn/conv1d.c. OpenMP loops with an `if` on the size;
 * GEMMs outside parallel regions use OpenBLAS's threads, GEMMs inside
 * (positional conv blocks, attention heads) run single-threaded in their
 * task. Per-thread buffers are planned for the thread count of the call and
 * the teams are capped at it. Every reduction happens inside one task, so
 * results do not depend on the thread count beyond OpenBLAS's own blocking.
 * The model is only read. */
#include "frontend/wavlm.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "tensor/error.h"

/* Below this many values an OpenMP team costs more than the loop. */
#define PAR_MIN 32768
/* Frames of conv layer 1 per chunk of layer 0 (about 2 049 x C floats). */
#define CONV_CHUNK 1024
/* Frames per im2col block of the positional conv (K * D / G floats each). */
#define POS_ROWS 128
/* Query rows per attention task: a thread holds QUERY_BLOCK x T scores. */
#define QUERY_BLOCK 256
#define NORM_EPS 1e-5

/* ---- sizes --------------------------------------------------------------------- */

void wavlm_conv_lengths(const mrnet_wavlm_config *cfg, int64_t n, int64_t *len)
{
    int64_t L = n;
    for (int i = 0; i < cfg->conv_layers; i++) {
        const int k = cfg->conv_kernel[i], s = cfg->conv_stride[i];
        L = L >= k ? (L - k) / s + 1 : 0;
        len[i] = L;
    }
}

int64_t mrnet_wavlm_frames(const mrnet_wavlm *m, int64_t n_samples)
{
    if (!m || n_samples <= 0)
        return 0;
    int64_t len[MRNET_WAVLM_MAX_CONV];
    wavlm_conv_lengths(&m->cfg, n_samples, len);
    return len[m->cfg.conv_layers - 1];
}

/* Spec 8.1, in float32 as HF evaluates it (the spec checks that float and
 * double agree up to |r| = 200 000). */
int wavlm_bucket(int r, int buckets, int max_distance)
{
    const int nb = buckets / 2, max_exact = nb / 2;
    const int base = r > 0 ? nb : 0, a = r < 0 ? -r : r;
    if (a < max_exact)
        return base + a;
    const float scale = (float)log((double)max_distance / max_exact);
    const float v = logf((float)a / (float)max_exact) / scale * (float)(nb - max_exact);
    const int large = (int)((float)max_exact + v);
    return base + (large < nb - 1 ? large : nb - 1);
}

/* ---- the plan ------------------------------------------------------------------- */

typedef struct {
    int64_t len[MRNET_WAVLM_MAX_CONV]; /* frames of every conv layer */
    int T, threads;
    int rows0;                  /* layer-0 rows of one chunk */
    float *chunk0;              /* (rows0, C) */
    double *gn_mean, *gn_scale; /* (C) layer 0's mean and rstd * gamma */
    float *gn_mean_f, *gn_scale_f; /* the same in float, for the vectorised normalisation */
    double *gn_work;            /* (3, C) first values, shifted sums, shifted sums of squares */
    float *conv_a, *conv_b;     /* conv outputs, ping-pong */
    float *feat;                /* (T, C) LayerNorm'd conv features */
    float *proj;                /* (T, D) P */
    float *col;                 /* (threads, POS_ROWS, K * D / G) im2col blocks */
    float *x;                   /* (T, D) the layer state when no states are kept */
    float *qkv;                 /* (T, 3D) */
    float *ctx;                 /* (T, D) attention output, heads side by side */
    float *tmp;                 /* (T, D) */
    float *ffn;                 /* (T, F) */
    float *rel;                 /* (H, 2T - 1) raw bias by key - query + T - 1 */
    float *gate;                /* (H, T) */
    float *scores;              /* (threads, QUERY_BLOCK, T) */
    void *block;                /* the one allocation */
} wavlm_plan;

typedef struct {
    char *base; /* NULL while measuring */
    size_t used;
} plan_carver;

/* n floats' worth of bytes, 64-byte aligned. */
static void *plan_carve(plan_carver *c, size_t floats)
{
    void *p = c->base ? c->base + c->used : NULL;
    c->used += (floats * sizeof(float) + 63) / 64 * 64;
    return p;
}

static void plan_layout(const mrnet_wavlm *m, wavlm_plan *p, plan_carver *cv, bool keep_states)
{
    const mrnet_wavlm_config *c = &m->cfg;
    const size_t C = (size_t)c->conv_dim, D = (size_t)c->hidden, T = (size_t)p->T,
                 H = (size_t)c->heads;
    const size_t thr = (size_t)p->threads, qb = T < QUERY_BLOCK ? T : QUERY_BLOCK;
    const size_t conv_a = (size_t)p->len[c->conv_layers > 1 ? 1 : 0];
    const size_t conv_b = c->conv_layers > 2 ? (size_t)p->len[2] : 0;
    const size_t pos_row = (size_t)c->pos_kernel * (D / (size_t)c->pos_groups);
    p->chunk0 = plan_carve(cv, (size_t)p->rows0 * C);
    p->gn_mean = plan_carve(cv, 2 * C); /* C doubles */
    p->gn_scale = plan_carve(cv, 2 * C);
    p->gn_mean_f = plan_carve(cv, C);
    p->gn_scale_f = plan_carve(cv, C);
    p->gn_work = plan_carve(cv, 6 * C);
    p->conv_a = plan_carve(cv, conv_a * C);
    p->conv_b = plan_carve(cv, conv_b * C);
    p->feat = plan_carve(cv, T * C);
    p->proj = plan_carve(cv, T * D);
    p->col = plan_carve(cv, thr * POS_ROWS * pos_row);
    p->x = keep_states ? NULL : plan_carve(cv, T * D);
    p->qkv = plan_carve(cv, 3 * T * D);
    p->ctx = plan_carve(cv, T * D);
    p->tmp = plan_carve(cv, T * D);
    p->ffn = plan_carve(cv, T * (size_t)c->ffn);
    p->rel = plan_carve(cv, H * (2 * T - 1));
    p->gate = plan_carve(cv, H * T);
    p->scores = plan_carve(cv, thr * qb * T);
}

static mrnet_status plan_create(const mrnet_wavlm *m, int64_t n, bool keep_states, wavlm_plan *p)
{
    const mrnet_wavlm_config *c = &m->cfg;
    memset(p, 0, sizeof *p);
    wavlm_conv_lengths(c, n, p->len);
    p->T = (int)p->len[c->conv_layers - 1];
    p->threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    p->rows0 =
        c->conv_layers > 1 ? (CONV_CHUNK - 1) * c->conv_stride[1] + c->conv_kernel[1] : CONV_CHUNK;
    plan_carver cv = {0};
    plan_layout(m, p, &cv, keep_states);
    p->block = aligned_alloc(64, cv.used);
    if (!p->block)
        return mrnet_fail(MRNET_ERR_NOMEM,
                          "WavLM: out of memory for %zu MB of buffers (%lld samples)",
                          cv.used >> 20, (long long)n);
    cv = (plan_carver){.base = p->block};
    plan_layout(m, p, &cv, keep_states);
    return MRNET_OK;
}

/* ---- elementwise and norms ---------------------------------------------------- */

/* erf as a rational function of x^2 on [-4, 4] (the form Eigen and XLA use
 * for float), clamped outside: within 4.3e-7 of erf everywhere, branch-free
 * so that the loops below vectorise. libm's erff was a tenth of the forward
 * time at one thread. */
static inline float erf_rational(float x)
{
    x = x > 4.0f ? 4.0f : (x < -4.0f ? -4.0f : x);
    const float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return x * p / q;
}

/* The erf form of GELU (spec 4), not the tanh one; within 1.3e-6 of it. */
static inline float gelu(float x) { return 0.5f * x * (1.0f + erf_rational(x * 0.70710678118654752f)); }

// x (n) -> x (n) = GELU(x)
static void gelu_inplace(float *x, size_t n)
{
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        x[i] = gelu(x[i]);
}

// x (rows, n) -> y (rows, n), each row normalised (biased variance, eps
// 1e-5, statistics in double) then scaled; y may alias x
static void layernorm_rows(const float *x, float *y, const float *w, const float *b, int rows,
                           int n)
{
#pragma omp parallel for schedule(static) if ((size_t)rows * n >= PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * n;
        float *yr = y + (size_t)r * n;
        double sum = 0.0;
        for (int i = 0; i < n; i++)
            sum += xr[i];
        const double mean = sum / n;
        double ss = 0.0;
        for (int i = 0; i < n; i++)
            ss += (xr[i] - mean) * (xr[i] - mean);
        const double rstd = 1.0 / sqrt(ss / n + NORM_EPS);
        for (int i = 0; i < n; i++)
            yr[i] = (float)((xr[i] - mean) * rstd) * w[i] + b[i];
    }
}

// res (rows, n), h (rows, n) -> y (rows, n) = LayerNorm(res + h); h is
// overwritten, y may alias res (the post-LN residual of spec 7)
static void add_layernorm(const float *res, float *h, const float *w, const float *b, float *y,
                          int rows, int n)
{
    const size_t total = (size_t)rows * n;
#pragma omp parallel for schedule(static) if (total >= PAR_MIN)
    for (size_t i = 0; i < total; i++)
        h[i] += res[i];
    layernorm_rows(h, y, w, b, rows, n);
}

/* ---- conv feature encoder (spec 4) ------------------------------------------------ */

// wave (n) -> out (r1 - r0, C): rows r0 .. r1-1 of conv layer 0, before the norm
static void conv0_rows(const mrnet_wavlm *m, const float *wave, int64_t r0, int64_t r1, float *out)
{
    const int C = m->cfg.conv_dim, k = m->cfg.conv_kernel[0], s = m->cfg.conv_stride[0];
    const float *taps = m->conv0_taps;
#pragma omp parallel for schedule(static) if ((size_t)(r1 - r0) * C * k >= PAR_MIN)
    for (int64_t t = r0; t < r1; t++) {
        float *y = out + (size_t)(t - r0) * C;
        const float *x = wave + t * s;
        for (int c = 0; c < C; c++)
            y[c] = 0.0f;
        for (int j = 0; j < k; j++) {
            const float xj = x[j], *w = taps + (size_t)j * C;
            for (int c = 0; c < C; c++)
                y[c] += xj * w[c];
        }
    }
}

/* GroupNorm with one group per channel over all T0 frames (spec 4): the
 * statistics in double, shifted by each channel's first value so that a
 * large mean does not cancel the variance away. */
static void groupnorm_stats(const mrnet_wavlm *m, const float *wave, const wavlm_plan *p)
{
    const int C = m->cfg.conv_dim;
    const int64_t T0 = p->len[0];
    double *shift = p->gn_work, *sum = p->gn_work + C, *sum2 = p->gn_work + 2 * C;
    for (int64_t r0 = 0; r0 < T0; r0 += p->rows0) {
        const int64_t r1 = r0 + p->rows0 < T0 ? r0 + p->rows0 : T0;
        conv0_rows(m, wave, r0, r1, p->chunk0);
        if (r0 == 0)
            for (int c = 0; c < C; c++)
                shift[c] = p->chunk0[c], sum[c] = 0.0, sum2[c] = 0.0;
        /* 16 channels (one cache line) per task: rows stream, sums stay put */
#pragma omp parallel for schedule(static) if ((size_t)(r1 - r0) * C >= PAR_MIN)
        for (int c0 = 0; c0 < C; c0 += 16) {
            const int c1 = c0 + 16 < C ? c0 + 16 : C;
            for (int64_t t = 0; t < r1 - r0; t++) {
                const float *row = p->chunk0 + (size_t)t * C;
                for (int c = c0; c < c1; c++) {
                    const double d = (double)row[c] - shift[c];
                    sum[c] += d;
                    sum2[c] += d * d;
                }
            }
        }
    }
    for (int c = 0; c < C; c++) {
        const double mean_d = sum[c] / (double)T0;
        const double var = sum2[c] / (double)T0 - mean_d * mean_d;
        const double rstd = 1.0 / sqrt((var > 0.0 ? var : 0.0) + NORM_EPS);
        p->gn_mean[c] = shift[c] + mean_d;
        p->gn_scale[c] = rstd * m->gn_w[c];
        p->gn_mean_f[c] = (float)p->gn_mean[c];
        p->gn_scale_f[c] = (float)p->gn_scale[c];
    }
}

// wave (n) -> out (r1 - r0, C): rows of conv layer 0 after GroupNorm, then
// GELU unless raw
static void conv0_normalised(const mrnet_wavlm *m, const float *wave, const wavlm_plan *p,
                             int64_t r0, int64_t r1, float *out, bool raw)
{
    const int C = m->cfg.conv_dim;
    conv0_rows(m, wave, r0, r1, out);
    const size_t rows = (size_t)(r1 - r0);
#pragma omp parallel for schedule(static) if (rows * C >= PAR_MIN)
    for (size_t t = 0; t < rows; t++) {
        float *y = out + t * C;
        const float *mean = p->gn_mean_f, *scale = p->gn_scale_f, *beta = m->gn_b;
        if (raw) {
#pragma omp simd
            for (int c = 0; c < C; c++)
                y[c] = (y[c] - mean[c]) * scale[c] + beta[c];
        } else {
#pragma omp simd
            for (int c = 0; c < C; c++)
                y[c] = gelu((y[c] - mean[c]) * scale[c] + beta[c]);
        }
    }
}

// in (rows_in, C) -> out (rows_out, C) = conv with kernel k, stride s, taps
// (k, C, C): out[t] = sum_j W_j in[t*s + j], one GEMM per tap (header)
static void conv_layer(const float *taps, int k, int s, int C, const float *in, int64_t rows_out,
                       float *out)
{
    for (int j = 0; j < k; j++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows_out, C, C, 1.0f,
                    in + (size_t)j * C, s * C, taps + (size_t)j * C * C, C, j ? 1.0f : 0.0f, out,
                    C);
}

/* Layer 0 whole, for the tests: conv0 (C, T0), with GELU unless raw. */
static void conv0_export(const mrnet_wavlm *m, const float *wave, const wavlm_plan *p, float *conv0,
                         bool raw)
{
    const int C = m->cfg.conv_dim;
    const int64_t T0 = p->len[0];
    for (int64_t r0 = 0; r0 < T0; r0 += p->rows0) {
        const int64_t r1 = r0 + p->rows0 < T0 ? r0 + p->rows0 : T0;
        conv0_normalised(m, wave, p, r0, r1, p->chunk0, raw);
        for (int c = 0; c < C; c++)
            for (int64_t t = r0; t < r1; t++)
                conv0[(size_t)c * T0 + t] = p->chunk0[(size_t)(t - r0) * C + c];
    }
}

// wave (n) -> the last conv layer's output (T, C), in conv_a or conv_b
static const float *conv_encoder(const mrnet_wavlm *m, const float *wave, const wavlm_plan *p)
{
    const mrnet_wavlm_config *c = &m->cfg;
    const int C = c->conv_dim;
    groupnorm_stats(m, wave, p);
    if (c->conv_layers == 1) {
        for (int64_t r0 = 0; r0 < p->len[0]; r0 += p->rows0) {
            const int64_t r1 = r0 + p->rows0 < p->len[0] ? r0 + p->rows0 : p->len[0];
            conv0_normalised(m, wave, p, r0, r1, p->conv_a + (size_t)r0 * C, false);
        }
        return p->conv_a;
    }
    /* layer 1 chunk by chunk, each from the layer-0 rows it reads */
    const int k1 = c->conv_kernel[1], s1 = c->conv_stride[1];
    for (int64_t a = 0; a < p->len[1]; a += CONV_CHUNK) {
        const int64_t b = a + CONV_CHUNK < p->len[1] ? a + CONV_CHUNK : p->len[1];
        conv0_normalised(m, wave, p, a * s1, (b - 1) * s1 + k1, p->chunk0, false);
        conv_layer(m->conv_taps[1], k1, s1, C, p->chunk0, b - a, p->conv_a + (size_t)a * C);
    }
    gelu_inplace(p->conv_a, (size_t)p->len[1] * C);
    float *in = p->conv_a, *out = p->conv_b;
    for (int i = 2; i < c->conv_layers; i++) {
        conv_layer(m->conv_taps[i], c->conv_kernel[i], c->conv_stride[i], C, in, p->len[i], out);
        gelu_inplace(out, (size_t)p->len[i] * C);
        float *t = in;
        in = out;
        out = t;
    }
    return in;
}

/* ---- positional convolution (spec 6) -------------------------------------------- */

// P (T, D) -> pos (T, D) = grouped conv of P (kernel K, padding K/2, the
// frame past T dropped), before bias and GELU; one im2col block and one GEMM
// per (group, block of POS_ROWS frames)
static void positional_conv(const mrnet_wavlm *m, const wavlm_plan *p, const float *P, float *pos)
{
    const int T = p->T, D = m->cfg.hidden, K = m->cfg.pos_kernel, cin = D / m->cfg.pos_groups;
    const int half = K / 2, row = K * cin, blocks = (T + POS_ROWS - 1) / POS_ROWS;
    const int tasks = m->cfg.pos_groups * blocks;
#pragma omp parallel num_threads(p->threads) if (p->threads > 1 && tasks > 1)
    {
        float *col = p->col + (size_t)omp_get_thread_num() * POS_ROWS * row;
#pragma omp for schedule(static)
        for (int task = 0; task < tasks; task++) {
            const int g = task / blocks, t0 = (task % blocks) * POS_ROWS;
            const int t1 = t0 + POS_ROWS < T ? t0 + POS_ROWS : T;
            // col (t1 - t0, K, cin): col[t, j] = P[t - half + j, group g], 0 outside
            for (int t = t0; t < t1; t++)
                for (int j = 0; j < K; j++) {
                    float *dst = col + (size_t)(t - t0) * row + (size_t)j * cin;
                    const int src = t - half + j;
                    if (src >= 0 && src < T)
                        memcpy(dst, P + (size_t)src * D + (size_t)g * cin,
                               (size_t)cin * sizeof(float));
                    else
                        memset(dst, 0, (size_t)cin * sizeof(float));
                }
            // pos[t0:t1, group g] (rows, cin) = col (rows, K*cin) . W_g^T (K*cin, cin)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t1 - t0, cin, row, 1.0f, col, row,
                        m->pos_w + (size_t)g * cin * row, row, 0.0f,
                        pos + (size_t)t0 * D + (size_t)g * cin, D);
        }
    }
}

// P (T, D) -> x (T, D) = LayerNorm_enc(P + GELU(posconv(P) + b)): state 0
static void positional_embedding(const mrnet_wavlm *m, const wavlm_plan *p, float *x)
{
    const int T = p->T, D = m->cfg.hidden;
    positional_conv(m, p, p->proj, p->tmp);
    const size_t total = (size_t)T * D;
#pragma omp parallel for schedule(static) if (total >= PAR_MIN)
    for (size_t i = 0; i < total; i++)
        p->tmp[i] = gelu(p->tmp[i] + m->pos_b[i % D]);
    add_layernorm(p->proj, p->tmp, m->enc_ln_w, m->enc_ln_b, x, T, D);
}

/* ---- transformer layers (spec 7, 8) ----------------------------------------------- */

// -> rel (H, 2T - 1): rel[h, d + T - 1] = E[bucket(d), h], d = key - query
static void relative_bias(const mrnet_wavlm *m, const wavlm_plan *p)
{
    const int T = p->T, H = m->cfg.heads, W = 2 * T - 1;
    for (int d = -(T - 1); d <= T - 1; d++) {
        const float *e =
            m->rel_embed + (size_t)wavlm_bucket(d, m->cfg.buckets, m->cfg.max_distance) * H;
        for (int h = 0; h < H; h++)
            p->rel[(size_t)h * W + d + T - 1] = e[h];
    }
}

static inline float sigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

// x (T, D) the layer input -> gate (H, T) (spec 8.3)
static void gate_forward(const mrnet_wavlm *m, const wavlm_layer *ly, const float *x, float *gate,
                         int T)
{
    const int D = m->cfg.hidden, H = m->cfg.heads, dh = D / H;
#pragma omp parallel for schedule(static) if ((size_t)T * D >= PAR_MIN)
    for (int i = 0; i < T; i++)
        for (int h = 0; h < H; h++) {
            const float *xh = x + (size_t)i * D + (size_t)h * dh;
            float za = ly->gate_b[0], zb = ly->gate_b[1];
            for (int k = 0; k < dh; k++) {
                za += ly->gate_w[k] * xh[k];
                zb += ly->gate_w[dh + k] * xh[k];
            }
            gate[(size_t)h * T + i] = sigmoid(za) * (sigmoid(zb) * ly->gate_const[h] - 1.0f) + 2.0f;
        }
}

// s (rows, T) scores of queries i0.. of head h -> softmax(s + gate * R) in place
static void bias_softmax(const wavlm_plan *p, int h, int i0, int rows, float *s)
{
    const int T = p->T;
    for (int r = 0; r < rows; r++) {
        const int i = i0 + r;
        const float g = p->gate[(size_t)h * T + i];
        const float *rel = p->rel + (size_t)h * (2 * T - 1) + (T - 1 - i); /* rel[j] is key j */
        float *row = s + (size_t)r * T;
        float mx = -INFINITY;
        for (int j = 0; j < T; j++) {
            row[j] += g * rel[j];
            mx = row[j] > mx ? row[j] : mx;
        }
        double sum = 0.0;
        for (int j = 0; j < T; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        const float inv = (float)(1.0 / sum);
        for (int j = 0; j < T; j++)
            row[j] *= inv;
    }
}

// qkv (T, 3D) -> ctx (T, D): per head and block of queries,
// softmax(Q K^T / 8 + gate * R) V (spec 7.3-7.4; 1/8 for d_h = 64 is exact)
static void attention(const mrnet_wavlm *m, const wavlm_plan *p, const float *qkv, float *ctx)
{
    const int T = p->T, D = m->cfg.hidden, H = m->cfg.heads, dh = D / H, ld = 3 * D;
    const int qb = T < QUERY_BLOCK ? T : QUERY_BLOCK, blocks = (T + qb - 1) / qb,
              tasks = H * blocks;
    const float scale = (float)(1.0 / sqrt((double)dh));
#pragma omp parallel num_threads(p->threads) if (p->threads > 1 && tasks > 1)
    {
        float *s = p->scores + (size_t)omp_get_thread_num() * qb * T;
#pragma omp for schedule(static)
        for (int task = 0; task < tasks; task++) {
            const int h = task / blocks, i0 = (task % blocks) * qb;
            const int rows = i0 + qb < T ? qb : T - i0;
            // s (rows, T) = Q_h[i0:] (rows, dh) . K_h^T (dh, T) * scale
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, T, dh, scale,
                        qkv + (size_t)i0 * ld + (size_t)h * dh, ld, qkv + D + (size_t)h * dh, ld,
                        0.0f, s, T);
            bias_softmax(p, h, i0, rows, s);
            // ctx[i0:, head h] (rows, dh) = s (rows, T) . V_h (T, dh)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, dh, T, 1.0f, s, T,
                        qkv + 2 * (size_t)D + (size_t)h * dh, ld, 0.0f,
                        ctx + (size_t)i0 * D + (size_t)h * dh, D);
        }
    }
}

// x (T, D) -> y (T, D): one post-LN layer; y may alias x
static void layer_forward(const mrnet_wavlm *m, const wavlm_plan *p, int l, const float *x,
                          float *y)
{
    const wavlm_layer *ly = &m->layer[l];
    const int T = p->T, D = m->cfg.hidden, F = m->cfg.ffn;
    linear_forward(x, ly->qkv_w, ly->qkv_b, p->qkv, T, D, 3 * D);
    gate_forward(m, ly, x, p->gate, T);
    attention(m, p, p->qkv, p->ctx);
    linear_forward(p->ctx, ly->out_w, ly->out_b, p->tmp, T, D, D);
    add_layernorm(x, p->tmp, ly->attn_ln_w, ly->attn_ln_b, y, T, D);
    linear_forward(y, ly->ffn_in_w, ly->ffn_in_b, p->ffn, T, D, F);
    gelu_inplace(p->ffn, (size_t)T * F);
    linear_forward(p->ffn, ly->ffn_out_w, ly->ffn_out_b, p->tmp, T, F, D);
    add_layernorm(y, p->tmp, ly->final_ln_w, ly->final_ln_b, y, T, D);
}

// mixed (T, D) = (first ? 0 : mixed) + w * x
static void mix_accumulate(float *mixed, const float *x, float w, size_t n, bool first)
{
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        mixed[i] = (first ? 0.0f : mixed[i]) + w * x[i];
}

/* ---- entry points ----------------------------------------------------------------- */

static mrnet_status check_call(const mrnet_wavlm *m, const float *wave, int64_t n,
                               const wavlm_outputs *out)
{
    if (!m || !wave || !out)
        return mrnet_fail(MRNET_ERR_ARG, "WavLM: NULL model, wave or output");
    if (n > INT_MAX)
        return mrnet_fail(MRNET_ERR_ARG, "WavLM: %lld samples, at most %d in one call",
                          (long long)n, INT_MAX);
    if (mrnet_wavlm_frames(m, n) < 1)
        return mrnet_fail(MRNET_ERR_ARG,
                          "WavLM: %lld samples give no frame (the receptive field is 400 "
                          "samples, 25 ms at 16 kHz)",
                          (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(wave[i]))
            return mrnet_fail(MRNET_ERR_NUMERIC, "WavLM: input sample %lld of %lld is not finite",
                              (long long)i, (long long)n);
    if (out->mixed) {
        if (!out->mix_w)
            return mrnet_fail(MRNET_ERR_ARG, "WavLM: NULL layer weights");
        for (int l = 0; l <= m->cfg.layers; l++)
            if (!isfinite(out->mix_w[l]))
                return mrnet_fail(MRNET_ERR_NUMERIC, "WavLM: layer weight %d is not finite", l);
    }
    return MRNET_OK;
}

mrnet_status wavlm_forward(const mrnet_wavlm *m, const float *wave, int64_t n,
                           const wavlm_outputs *out)
{
    MRNET_TRY(check_call(m, wave, n, out));
    wavlm_plan p;
    MRNET_TRY(plan_create(m, n, out->states != NULL, &p));
    const int T = p.T, C = m->cfg.conv_dim, D = m->cfg.hidden;
    const size_t TD = (size_t)T * D;

    const float *features = conv_encoder(m, wave, &p);
    if (out->conv0)
        conv0_export(m, wave, &p, out->conv0, false);
    if (out->conv0_norm)
        conv0_export(m, wave, &p, out->conv0_norm, true);
    layernorm_rows(features, p.feat, m->fp_ln_w, m->fp_ln_b, T, C);
    linear_forward(p.feat, m->fp_w, m->fp_b, p.proj, T, C, D);
    if (out->proj)
        memcpy(out->proj, p.proj, TD * sizeof(float));

    float *x = out->states ? out->states : p.x;
    positional_embedding(m, &p, x);
    if (out->mixed)
        mix_accumulate(out->mixed, x, out->mix_w[0], TD, true);
    relative_bias(m, &p);
    for (int l = 0; l < m->cfg.layers; l++) {
        float *y = out->states ? x + TD : x;
        layer_forward(m, &p, l, x, y);
        x = y;
        if (out->mixed)
            mix_accumulate(out->mixed, x, out->mix_w[l + 1], TD, false);
    }
    free(p.block);
    return MRNET_OK;
}

mrnet_status mrnet_wavlm_hidden_states(const mrnet_wavlm *m, const float *wave, int64_t n,
                                       float *states)
{
    if (!states)
        return mrnet_fail(MRNET_ERR_ARG, "mrnet_wavlm_hidden_states: states is NULL");
    return wavlm_forward(m, wave, n, &(wavlm_outputs){.states = states});
}

mrnet_status mrnet_wavlm_mixed(const mrnet_wavlm *m, const float *wave, int64_t n, const float *w,
                               float *out)
{
    if (!out || !w)
        return mrnet_fail(MRNET_ERR_ARG, "mrnet_wavlm_mixed: NULL weights or output");
    return wavlm_forward(m, wave, n, &(wavlm_outputs){.mix_w = w, .mixed = out});
}
