/* Ops of MRNet as forward/backward pairs.
 *
 * Layout: activations are (B, channels, T) row-major float32; 2-D tensors are
 * (B, features). Every op is stride 1. Conventions for backward functions:
 *   - parameter gradients (dweight, dbias, ...) are ACCUMULATED (+=); the
 *     caller zeroes them once per step;
 *   - the input gradient dx is ACCUMULATED (+=) for ops whose input may feed
 *     several consumers (conv1d, linear, se, asp, layermix, routeweight);
 *     for the elementwise chain ops (relu, tanh, sigmoid, softmax, dropout,
 *     batchnorm, instnorm, routegate) dx is OVERWRITTEN and may alias dy.
 * Caches named in a forward are exactly what its backward reads.
 * Nothing here allocates except the *_scratch_floats helpers' callers. */
#ifndef MRNET_NN_NN_H
#define MRNET_NN_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- conv1d --------------------------------------------------------------
 * Conv1d with "same" output length: padding = dilation * (kernel - 1) / 2.
 * weight (out, in, kernel), bias (out) or NULL. */
typedef struct {
    int in_ch, out_ch, kernel, dilation;
    const float *weight;
    const float *bias;
} conv1d_params;

/* Floats of scratch that conv1d_forward/backward need on up to `threads`
 * threads for signals of length T: the gathered taps and their gradient
 * (kernel > 1) and one weight gradient per thread (threads > 1). */
size_t conv1d_scratch_floats(const conv1d_params *p, int T, int threads);
/* The threads a conv1d call started here would use at most (1 inside a
 * parallel region, else omp_get_max_threads()): what to plan scratch for. */
int conv1d_max_threads(void);
// x (B,in,T) -> y (B,out,T)
void conv1d_forward(const conv1d_params *p, const float *x, float *y, int B, int T,
                    float *scratch);
// dy (B,out,T) -> dx (B,in,T) +=, dweight (out,in,k) +=, dbias (out) +=
// dx may be NULL (input gradient not needed); dbias may be NULL when bias is.
// Runs on at most `threads` threads, the count scratch was sized for (the
// forward keeps nothing per thread and takes any count).
void conv1d_backward(const conv1d_params *p, const float *x, const float *dy, float *dx,
                     float *dweight, float *dbias, int B, int T, float *scratch, int threads);

/* ---- data-parallel sums ------------------------------------------------------
 * A data-parallel run splits each batch over processes; the few ops whose
 * result depends on the whole batch (batch statistics, the loss's weight
 * sum) add their per-process partial sums through this. sum() adds buf (n
 * doubles) in place over every process, the same on each; scratch holds
 * scratch_n doubles for the caller's partial sums. */
typedef struct {
    void (*sum)(void *ctx, double *buf, int n);
    void *ctx;
    double *scratch;
    size_t scratch_n;
} nn_allreduce;

/* ---- batch norm 1-d --------------------------------------------------------
 * eps 1e-5, momentum 0.1 as PyTorch. T = 1 for 2-D (B, C) input. */
typedef struct {
    int channels;
    float eps, momentum;
    const float *weight, *bias;       /* (C) */
    float *running_mean, *running_var; /* (C), updated in training */
    /* NULL: statistics of this call's batch. Else of the batches of every
     * process (synchronised BN); scratch_n >= 2 C + 1. */
    const nn_allreduce *sync;
} batchnorm_params;

// train: x (B,C,T) -> y (B,C,T); caches mean (C), rstd (C) of the batch;
// updates running_mean/var with momentum and the unbiased variance.
// Needs B*T > 1 (the caller checks, as PyTorch refuses).
void batchnorm_forward_train(const batchnorm_params *p, const float *x, float *y, int B,
                             int T, float *mean, float *rstd);
// eval: x (B,C,T) -> y (B,C,T) with the running statistics.
void batchnorm_forward_eval(const batchnorm_params *p, const float *x, float *y, int B,
                            int T);
// train-mode backward: dy (B,C,T) -> dx (B,C,T) =, dweight (C) +=, dbias (C) +=
void batchnorm_backward(const batchnorm_params *p, const float *x, const float *mean,
                        const float *rstd, const float *dy, float *dx, float *dweight,
                        float *dbias, int B, int T);

/* ---- instance norm (no affine, no running statistics) -------------------- */
// x (B,C,T) -> y (B,C,T), per (b,c) over T, biased variance; caches rstd (B*C)
// Fixed standardisation of each feature: x (R,T,D) -> y (R,T,D) with
// y[r,t,d] = (x[r,t,d] - mean[r % P, d]) / std[r % P, d] for P planes (S*L) of
// D features; R = B*P. No backward: the input needs no gradient.
void featnorm_forward(const float *x, const float *mean, const float *std, float *y, long R, int P,
                      int T, int D);
void instnorm_forward(const float *x, float *y, float *rstd, int B, int C, int T, float eps);
// dy (B,C,T) -> dx (B,C,T) =, using the normalised output y
void instnorm_backward(const float *y, const float *rstd, const float *dy, float *dx, int B,
                       int C, int T);

/* ---- elementwise ---------------------------------------------------------- */
// x (n) -> y (n); y may alias x
void relu_forward(const float *x, float *y, size_t n);
// dx = dy * (y > 0); dx may alias dy
void relu_backward(const float *y, const float *dy, float *dx, size_t n);
void tanh_forward(const float *x, float *y, size_t n);
// dx = dy * (1 - y^2)
void tanh_backward(const float *y, const float *dy, float *dx, size_t n);
void sigmoid_forward(const float *x, float *y, size_t n);
// dx = dy * y * (1 - y)
void sigmoid_backward(const float *y, const float *dy, float *dx, size_t n);
// softmax over the last axis: x (rows, T) -> y (rows, T); y may alias x
void softmax_forward(const float *x, float *y, size_t rows, int T);
// dx = y * (dy - sum_t(dy * y)); dx may alias dy
void softmax_backward(const float *y, const float *dy, float *dx, size_t rows, int T);

/* ---- dropout ---------------------------------------------------------------
 * Inverted dropout: kept values scaled by 1/(1-p). The mask (n floats, each
 * 0 or 1/(1-p)) is drawn from *rng_state (see tensor/rng.h) so a seed
 * reproduces it. p = 0 gives a mask of ones. */
void dropout_forward(const float *x, float *y, float *mask, size_t n, float p,
                     uint64_t *rng_state);
/* The same over B samples of n values each, sample b's mask drawn from its
 * own stream (sample0 + b): a sample keeps its mask whichever slice of a
 * batch (a process of a data-parallel run) it is drawn in.
 * dropout_forward is this with B = 1, sample0 = 0. */
// x (B, n) -> y (B, n), mask (B, n)
void dropout_forward_samples(const float *x, float *y, float *mask, int B, size_t n, float p,
                             uint64_t *rng_state, long sample0);
// dx = dy * mask; dx may alias dy
void dropout_backward(const float *mask, const float *dy, float *dx, size_t n);

/* ---- squeeze-excitation in groups (release MLFA_SEModule) ------------------
 * Input (B, G*C, T) is G groups of C channels; group g has its own
 * conv_a (Cb <- C, kernel 1) and conv_b (C <- Cb, kernel 1). */
typedef struct {
    int groups, channels, bottleneck; /* G, C (per group), Cb */
    const float *const *wa, *const *ba; /* [g] -> (Cb, C), (Cb) */
    const float *const *wb, *const *bb; /* [g] -> (C, Cb), (C) */
} se_params;
typedef struct {
    float *const *dwa, *const *dba, *const *dwb, *const *dbb; /* like se_params */
} se_grads;
// x (B,G*C,T) -> y (B,G*C,T) = x * s; caches m (B,G*C) time means,
// z (B,G*Cb) ReLU(conv_a(m)), s (B,G*C) sigmoid(conv_b(z))
void se_forward(const se_params *p, const float *x, float *y, float *m, float *z, float *s,
                int B, int T);
// dy (B,G*C,T) -> dx (B,G*C,T) +=, parameter gradients +=; scratch (B*G*(C+Cb)) floats
void se_backward(const se_params *p, const se_grads *g, const float *x, const float *m,
                 const float *z, const float *s, const float *dy, float *dx, int B, int T,
                 float *scratch);

/* ---- attentive statistics pooling (release ASPLayer) -----------------------
 * a = softmax_t(conv_b(tanh(BN(ReLU(conv_a(x)))))), conv_a: H <- C, conv_b: C <- H.
 * mu = sum_t x a; sg = sqrt(max(sum_t x^2 a - mu^2, 1e-4)); out = [mu, sg]. */
typedef struct {
    int channels, hidden; /* C, H = C / 16 */
    const float *wa, *ba; /* (H, C), (H) */
    batchnorm_params bn;  /* H channels */
    const float *wb, *bb; /* (C, H), (C) */
} asp_params;
typedef struct {
    float *dwa, *dba, *dbn_weight, *dbn_bias, *dwb, *dbb;
} asp_grads;
typedef struct {          /* what the forward keeps for the backward */
    float *h;             /* (B,H,T) ReLU(conv_a(x)) */
    float *bn_mean, *bn_rstd; /* (H) batch statistics (training) */
    float *th;            /* (B,H,T) tanh(BN(h)) */
    float *a;             /* (B,C,T) attention weights */
    float *mu, *sg;       /* (B,C) */
} asp_cache;
// x (B,C,T) -> out (B,2C): out[b] = [mu(b,0..C-1), sg(b,0..C-1)]
void asp_forward(const asp_params *p, const float *x, float *out, asp_cache *c, int B, int T,
                 bool train);
// dout (B,2C) -> dx (B,C,T) +=, gradients +=; scratch: asp_scratch_floats() floats
// for up to `threads` threads, the most its convolutions then use
size_t asp_scratch_floats(const asp_params *p, int B, int T, int threads);
void asp_backward(const asp_params *p, const asp_grads *g, const float *x, const asp_cache *c,
                  const float *dout, float *dx, int B, int T, float *scratch, int threads);

/* ---- linear ------------------------------------------------------------------
 * weight (out, in), bias (out) or NULL, as torch.nn.Linear. */
// x (B,in) -> y (B,out) = x W^T + b
void linear_forward(const float *x, const float *weight, const float *bias, float *y, int B,
                    int in, int out);
// dy (B,out) -> dx (B,in) += (dx may be NULL), dweight (out,in) +=, dbias (out) +=
void linear_backward(const float *x, const float *weight, const float *dy, float *dx,
                     float *dweight, float *dbias, int B, int in, int out);

/* ---- layer mix w and its transpose ------------------------------------------
 * y[b, s*D + d, t] = sum_l w[l] * X[b, s, l, t, d]  (release: (x * w).sum(2),
 * permute, reshape). */
// X (B,S,L,T,D), w (L) -> y (B,S*D,T)
void layermix_forward(const float *X, const float *w, float *y, int B, int S, int L, int T,
                      int D);
// dy (B,S*D,T) -> dw (L) +=   (the input needs no gradient)
void layermix_backward(const float *X, const float *dy, float *dw, int B, int S, int L, int T,
                       int D);

/* ---- route weights w_all --------------------------------------------------------
 * y[b, j*F + f] = w_all[j] * x[b, j, f] for R routes of F = 2C features;
 * a dropped route (bit j of drop_mask) gives zeros and no gradient. */
// x (B,R,F), w (R) -> y (B,R*F)
void routeweight_forward(const float *x, const float *w, float *y, int B, int R, int F,
                         unsigned drop_mask);
// dy (B,R*F) -> dx (B,R,F) +=, dw (R) +=
void routeweight_backward(const float *x, const float *w, const float *dy, float *dx,
                          float *dw, int B, int R, int F, unsigned drop_mask);

/* ---- route gate (the after-norm placement of w_all) ------------------------------
 * After bn5: y[b, j*F + f] = gate[j] * x[b, j*F + f], gate = R' softmax(a)
 * over the R' live routes (0 for a dropped one, which is also left out of
 * the softmax). Uniform a gives gate 1, the identity. The gate is computed
 * once per forward (routegate_values) and kept for the backward. */
// a (R) -> gate (R)
void routegate_values(const float *a, float *gate, int R, unsigned drop_mask);
// the forward is routeweight_forward(x, gate, y, ...): the same per-route scaling
// dy (B,R*F) -> dx (B,R*F) = (may alias dy), da (R) +=; x is the forward's input
void routegate_backward(const float *x, const float *gate, const float *dy, float *dx,
                        float *da, int B, int R, int F, unsigned drop_mask);

/* ---- weighted cross entropy (release CCE with class weights) ----------------
 * loss = sum_b wt[y_b] * -log softmax(z_b)[y_b] / sum_b wt[y_b]; wt NULL = ones.
 * Returns the loss and writes dlogits (B,K) = (its gradient) (overwritten).
 * Labels must be in [0, K); the caller validates. */
// logits (B,K), labels (B) -> loss, dlogits (B,K)
double cross_entropy_forward_backward(const float *logits, const int *labels,
                                      const float *class_weight, float *dlogits, int B, int K);
/* The same with soft targets (B,K), each row a distribution (mixup, label
 * smoothing): loss = sum_b sum_k q_bk wt_k (-log softmax(z_b)_k) / W with
 * W = sum_b sum_k q_bk wt_k, so one-hot rows give the loss above. */
// logits (B,K), targets (B,K) -> loss, dlogits (B,K)
double cross_entropy_soft_forward_backward(const float *logits, const float *targets,
                                           const float *class_weight, float *dlogits, int B,
                                           int K);
/* The two above with the denominator W given (the weight sum over every
 * process's batch in a data-parallel run): returns this batch's part of the
 * loss, sum_b ... / W, and its gradient. */
double cross_entropy_partial(const float *logits, const int *labels, const float *class_weight,
                             float *dlogits, int B, int K, double wsum);
double cross_entropy_soft_partial(const float *logits, const float *targets,
                                  const float *class_weight, float *dlogits, int B, int K,
                                  double wsum);

/* Adds 2 M N K to the FLOP counter when it is on (mrnet/bench.h); called
 * next to every GEMM of the ops. */
void nn_count_gemm(int64_t M, int64_t N, int64_t K);

#endif
