/* The activation workspace: every buffer the forward keeps for the backward,
 * and the gradient buffers, carved from one allocation sized for
 * (max_batch, max_frames). Sizes below with N = B*T. */
#ifndef MRNET_MODEL_WORKSPACE_H
#define MRNET_MODEL_WORKSPACE_H

#include "model/model.h"

typedef struct { /* conv -> ReLU -> BN */
    float *z;          /* (B,out,T) ReLU(conv(x)), the BN input */
    float *y;          /* (B,out,T) BN output */
    float *mean, *rstd; /* (out) batch statistics */
} cbr_cache;

typedef struct {
    float *x_drop, *mask;               /* (B,C,T) dropout of the block input */
    cbr_cache conv1;                    /* (B,scale*W,T) */
    float *split_in[MRNET_MAX_SCALE];   /* (B,W,T) input of convs[j] */
    cbr_cache convs[MRNET_MAX_SCALE];   /* (B,W,T) */
    float *cat;                         /* (B,scale*W,T) [o_0..o_{s-2}, c_{s-1}] */
    cbr_cache conv3;                    /* (B,3C,T) */
    float *se_m, *se_z, *se_s;          /* (B,3C), (B,G*Cb), (B,3C) */
} block_cache;

struct model_workspace {
    /* front */
    float *mix, *norm, *norm_rstd, *x_drop0, *mask0; /* (B,SD,T) x4, (B*SD) */
    float *std_input; /* (B,S,L,T,D) standardised input, MRNET_INPUT_NORM_GLOBAL only */
    cbr_cache fst;                                   /* (B,C,T) */
    float *x[MRNET_BLOCKS];                          /* (B,C,T) block inputs */
    block_cache blocks[MRNET_BLOCKS];
    float *block_out;                                /* (B,3C,T) */
    float *low[MRNET_BLOCKS];                        /* (B,C,T) s_i */
    float *long_cat;                                 /* (B,3C,T) [l_0,l_1,l_2] */
    float *mid_in[MRNET_BLOCKS];                     /* (B,2C,T) [r_i, G] */
    cbr_cache r_global, l_conv, reprocessing[MRNET_BLOCKS]; /* (B,C,T) */
    asp_cache asp[MRNET_ROUTES];
    float *asp_out;                                  /* (B,2C) */
    float *pooled;                                   /* (B,7,2C) */
    /* bn5 reads routed = w_all * pooled in the paper placement, pooled
     * itself after-norm, where it writes f5_norm (B,14C) and the gate f5 */
    float *routed, *f5, *f5_mean, *f5_rstd;          /* (B,14C) x2, (14C) x2 */
    float *f5_norm;                                  /* (B,14C) after-norm, else none */
    float *f6, *emb, *emb_mean, *emb_rstd;           /* (B,E) x2, (E) x2 */
    float *hz, *logits, *hz_mean, *hz_rstd;          /* (B,K) x2, (K) x2 */
    float *scratch;                                  /* conv/se/asp scratch */

    /* gradients */
    float *g_logits, *g_hz, *g_emb, *g_f6, *g_f5, *g_routed, *g_pooled, *g_asp_out;
    float *g_route[MRNET_ROUTES];                    /* (B,C,T) */
    float *g_mid_in, *g_global, *g_long_cat, *g_tmp; /* (B,2C,T) (B,C,T) (B,3C,T) (B,C,T) */
    float *g_block_out, *g_v, *g_h3;                 /* (B,3C,T) */
    float *g_cat, *g_u, *g_h1;                       /* (B,scale*W,T) */
    float *g_split, *g_r;                            /* (B,W,T) */
    float *g_x_drop, *g_x, *g_fst_z;                 /* (B,C,T) */
    float *g_x_drop0, *g_norm;                       /* (B,SD,T) */

    float *base;
    size_t floats; /* buffers and their guards (workspace.c) */
    int threads;   /* planned for: the scratch holds this many threads' partials */
};

/* The terms the scratch is the largest of, for B samples, N frames in all
 * and `threads` threads: the largest convolution's (its taps and per-thread
 * weight gradients, conv1d_scratch_floats), SE's and ASP's backward. */
typedef struct {
    size_t conv, se, asp;
} model_scratch_terms;
model_scratch_terms model_workspace_scratch_terms(const mrnet_model *m, int B, size_t N,
                                                  int threads);
/* The number of guards between the workspace's buffers that were overwritten
 * (0: no op wrote past its buffer); 0 without a workspace. */
int model_workspace_check_guards(const mrnet_model *m);

/* Shared by forward.c and backward.c. */
void cbr_forward(cbr_layer *L, const float *x, cbr_cache *c, int B, int T, bool train,
                 float *scratch);
se_params model_se_view(const mrnet_model *m, const mrblock_layers *blk, const float **wa,
                        const float **ba, const float **wb, const float **bb);
asp_params model_asp_view(const mrnet_model *m, const asp_layers *a);
const float *model_block_input(const mrnet_model *m, int i, bool train);
const float *model_front_normalised(const mrnet_model *m);
const float *model_route_input(const mrnet_model *m, int j);
/* bn5's input and output in the model's route-weight placement (above). */
const float *model_bn5_input(const mrnet_model *m);
float *model_bn5_output(const mrnet_model *m);

#endif
