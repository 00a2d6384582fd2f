/* WavLM Base+ inside the library: the loaded model and the entry points the
 * tests use beyond mrnet/frontend.h. The contract is /work/shared/spec/wavlm.md
 * (sections cited as "spec N").
 *
 * Weights are float32, folded at load time and laid out for the forward:
 * every convolution keeps its taps apart (tap j of a (out, in, k) weight is
 * one (out, in) matrix) so that a strided conv over time-major signals is
 * one GEMM per tap with no copy; the positional conv's weight norm is folded
 * (spec 6) and its weight is stored (out, k, in / groups) for the im2col GEMM;
 * q, k and v of a layer are one (3D, D) matrix; the gate's 8-row linear is
 * summed to 2 rows (spec 8.3). */
#ifndef MRNET_FRONTEND_WAVLM_H
#define MRNET_FRONTEND_WAVLM_H

#include <stddef.h>
#include <stdint.h>
#include <mrnet/frontend.h>

/* One post-LN transformer layer (spec 7), D = hidden, F = ffn, H heads of
 * width d_h = D / H. */
typedef struct {
    const float *qkv_w, *qkv_b;           /* (3D, D): rows q, then k, then v; (3D) */
    const float *out_w, *out_b;           /* (D, D), (D) */
    const float *gate_w, *gate_b;         /* (2, d_h), (2): rows 0-3 and 4-7 summed */
    const float *gate_const;              /* (H) */
    const float *attn_ln_w, *attn_ln_b;   /* (D) "layer_norm" */
    const float *ffn_in_w, *ffn_in_b;     /* (F, D), (F) */
    const float *ffn_out_w, *ffn_out_b;   /* (D, F), (D) */
    const float *final_ln_w, *final_ln_b; /* (D) */
} wavlm_layer;

struct mrnet_wavlm {
    mrnet_wavlm_config cfg;
    char fingerprint[17];
    float *weights; /* one allocation; every pointer below points into it */
    size_t n_weights;
    const float *conv0_taps;                      /* (k0, C): tap j = W0[:, 0, j] */
    const float *conv_taps[MRNET_WAVLM_MAX_CONV]; /* layer i >= 1: (k_i, C, C) */
    const float *gn_w, *gn_b;                     /* (C) GroupNorm of conv layer 0 */
    const float *fp_ln_w, *fp_ln_b;               /* (C) feature projection LayerNorm */
    const float *fp_w, *fp_b;                     /* (D, C), (D) */
    const float *pos_w, *pos_b;                   /* (D, K, D / G) folded, (D) */
    const float *enc_ln_w, *enc_ln_b;             /* (D) encoder LayerNorm */
    const float *rel_embed;                       /* (buckets, H), layer 0's table */
    wavlm_layer *layer;                           /* [layers] */
};

/* What one forward pass writes; NULL members are not wanted. */
typedef struct {
    float *states;      /* (layers + 1, T, D) */
    const float *mix_w; /* (layers + 1): with mixed, the weights of the sum */
    float *mixed;       /* (T, D) = sum_l mix_w[l] * states[l] */
    float *conv0;       /* (C, T0): conv layer 0 after GroupNorm and GELU */
    float *conv0_norm;  /* (C, T0): conv layer 0 after GroupNorm, before GELU */
    float *proj;        /* (T, D): the feature projection P (spec 5) */
} wavlm_outputs;

/* The forward pass behind mrnet_wavlm_hidden_states and mrnet_wavlm_mixed,
 * with the intermediate results the golden test compares. */
mrnet_status wavlm_forward(const mrnet_wavlm *m, const float *wave, int64_t n,
                           const wavlm_outputs *out);

/* Output length of every conv layer for n samples (len[i], i < conv_layers;
 * 0 once a layer's input is shorter than its kernel). */
void wavlm_conv_lengths(const mrnet_wavlm_config *cfg, int64_t n, int64_t *len);

/* Bucket of relative position r = key - query (spec 8.1). */
int wavlm_bucket(int r, int buckets, int max_distance);

/* FNV-1a 64 over n bytes, continuing from h (start: WAVLM_FNV_OFFSET). */
#define WAVLM_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t wavlm_fnv1a(uint64_t h, const void *data, size_t n);

#endif
