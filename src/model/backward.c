/* MRNet backward pass: the forward of forward.c in reverse, with weighted
 * cross entropy on the head's logits. Activation gradients live in the
 * workspace; parameter gradients in the model's flat gradient buffer.
 * The ops run on at most the threads the workspace was planned for
 * (ws->threads), so a count raised after the forward is safe here; the next
 * forward re-plans for it. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "model/slices.h"
#include "model/workspace.h"
#include "tensor/error.h"

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof(float)); }

/* The loss's denominator: this batch's weight sum, or in a data-parallel run
 * the sum over every process's slice (the returned loss and the gradients
 * are then this slice's part; summed over processes they are the batch's). */
static double batch_weight_sum(mrnet_model *m, double local)
{
    if (!m->dp.sum)
        return local;
    double *acc = m->dp.scratch;
    acc[0] = local;
    m->dp.sum(m->dp.ctx, acc, 1);
    return acc[0];
}

/* conv -> ReLU -> BN backward. dy (B,out,T) -> dx (B,in,T) +=; tmp (B,out,T);
 * scratch planned for `threads` threads. */
static void cbr_backward(cbr_layer *L, const float *x, const cbr_cache *c, const float *dy,
                         float *dx, int B, int T, float *tmp, float *scratch, int threads)
{
    size_t n = (size_t)B * (size_t)L->conv.out * (size_t)T;
    batchnorm_params bp = bn_view(&L->bn);
    batchnorm_backward(&bp, c->z, c->mean, c->rstd, dy, tmp, L->bn.dweight, L->bn.dbias, B, T);
    relu_backward(c->z, tmp, tmp, n);
    conv1d_params cp = conv_view(&L->conv);
    conv1d_backward(&cp, x, tmp, dx, L->conv.dweight, L->conv.dbias, B, T, scratch, threads);
}

static void bn_backward(bn_layer *L, const float *x, const float *mean, const float *rstd,
                        const float *dy, float *dx, int B, int T)
{
    batchnorm_params bp = bn_view(L);
    batchnorm_backward(&bp, x, mean, rstd, dy, dx, L->dweight, L->dbias, B, T);
}

/* Head, embedding and the route weights: dlogits -> ws->g_pooled (B,7,2C). */
static void head_backward(mrnet_model *m, int B)
{
    model_workspace *ws = m->ws;
    int C = m->cfg.channels, E = m->cfg.embed, K = m->cfg.classes;
    int F = 2 * MRNET_ROUTES * C;
    bn_backward(&m->head_bn1, ws->hz, ws->hz_mean, ws->hz_rstd, ws->g_logits, ws->g_hz, B, 1);
    zero(ws->g_emb, (size_t)B * E);
    linear_backward(ws->emb, m->head_fc1.weight, ws->g_hz, ws->g_emb, m->head_fc1.dweight,
                    m->head_fc1.dbias, B, E, K);
    bn_backward(&m->bn6, ws->f6, ws->emb_mean, ws->emb_rstd, ws->g_emb, ws->g_f6, B, 1);
    zero(ws->g_f5, (size_t)B * F);
    linear_backward(ws->f5, m->fc6.weight, ws->g_f6, ws->g_f5, m->fc6.dweight, m->fc6.dbias, B,
                    F, E);
    if (m->cfg.route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM) {
        /* gate * bn5(pooled): g_f5 becomes bn5's output gradient in place */
        routegate_backward(ws->f5_norm, m->gate, ws->g_f5, ws->g_f5, m->dw_all, B, MRNET_ROUTES,
                           2 * C, m->drop_routes);
        bn_backward(&m->bn5, ws->pooled, ws->f5_mean, ws->f5_rstd, ws->g_f5, ws->g_pooled, B, 1);
        return;
    }
    bn_backward(&m->bn5, ws->routed, ws->f5_mean, ws->f5_rstd, ws->g_f5, ws->g_routed, B, 1);
    zero(ws->g_pooled, (size_t)B * F);
    routeweight_backward(ws->pooled, m->w_all, ws->g_routed, ws->g_pooled, m->dw_all, B,
                         MRNET_ROUTES, 2 * C, m->drop_routes);
}

/* Attentive pooling of each live route: g_pooled -> g_route[j] (B,C,T). */
static void pooling_backward(mrnet_model *m, int B, int T)
{
    model_workspace *ws = m->ws;
    int C = m->cfg.channels;
    for (int j = 0; j < MRNET_ROUTES; j++) {
        zero(ws->g_route[j], (size_t)B * C * T);
        if (m->drop_routes & (1u << j))
            continue;
        slice_copy(ws->g_asp_out, 2 * C, 0, ws->g_pooled, MRNET_ROUTES * 2 * C, j * 2 * C, 2 * C,
                   B, 1);
        asp_layers *a = &m->att[j];
        asp_params ap = model_asp_view(m, a);
        asp_grads ag = {a->conv_a.dweight, a->conv_a.dbias, a->bn.dweight,
                        a->bn.dbias,       a->conv_b.dweight, a->conv_b.dbias};
        asp_backward(&ap, &ag, model_route_input(m, j), &ws->asp[j], ws->g_asp_out,
                     ws->g_route[j], B, T, ws->scratch, ws->threads);
    }
}

/* Mid and high routes: g_route[3..6] -> g_long_cat (B,3C,T), and the mid
 * routes' r_i gradients left in g_route[4+i] (B,C,T). */
static void route_convs_backward(mrnet_model *m, int B, int T)
{
    model_workspace *ws = m->ws;
    int C = m->cfg.channels;
    zero(ws->g_global, (size_t)B * C * T);
    for (int i = 0; i < MRNET_BLOCKS; i++) {
        float *g_mid = ws->g_route[MRNET_BLOCKS + 1 + i];
        zero(ws->g_mid_in, (size_t)B * 2 * C * T);
        cbr_backward(&m->reprocessing[i], ws->mid_in[i], &ws->reprocessing[i], g_mid,
                     ws->g_mid_in, B, T, ws->g_tmp, ws->scratch, ws->threads);
        slice_copy(g_mid, C, 0, ws->g_mid_in, 2 * C, 0, C, B, T);      /* -> r_i */
        slice_add(ws->g_global, C, 0, ws->g_mid_in, 2 * C, C, C, B, T); /* -> G */
    }
    zero(ws->g_long_cat, (size_t)B * 3 * C * T);
    cbr_backward(&m->l_conv, ws->long_cat, &ws->l_conv, ws->g_route[MRNET_BLOCKS],
                 ws->g_long_cat, B, T, ws->g_tmp, ws->scratch, ws->threads);
    cbr_backward(&m->r_global, ws->long_cat, &ws->r_global, ws->g_global, ws->g_long_cat, B, T,
                 ws->g_tmp, ws->scratch, ws->threads);
}

/* The Res2Net splits of block i: g_cat (B,S*W,T) -> g_u (B,S*W,T). */
static void splits_backward(mrnet_model *m, int i, int B, int T)
{
    model_workspace *ws = m->ws;
    mrblock_layers *blk = &m->blocks[i];
    block_cache *bc = &ws->blocks[i];
    int W = m->width, S = m->cfg.scale;
    size_t nW = (size_t)B * W * T;
    slice_copy(ws->g_u, S * W, (S - 1) * W, ws->g_cat, S * W, (S - 1) * W, W, B, T);
    for (int j = S - 2; j >= 0; j--) {
        /* o_j feeds the concatenation and, for j < S-2, the next split's input */
        slice_copy(ws->g_r, W, 0, ws->g_cat, S * W, j * W, W, B, T);
        if (j < S - 2)
            slice_add(ws->g_r, W, 0, ws->g_split, W, 0, W, B, T);
        zero(ws->g_split, nW);
        cbr_backward(&blk->convs[j], bc->split_in[j], &bc->convs[j], ws->g_r, ws->g_split, B, T,
                     ws->g_r, ws->scratch, ws->threads);
        slice_copy(ws->g_u, S * W, j * W, ws->g_split, W, 0, W, B, T);
    }
}

/* MRBlock i: g_block_out (B,3C,T) -> g_x_drop (B,C,T) (overwritten). */
static void mrblock_backward(mrnet_model *m, int i, int B, int T)
{
    model_workspace *ws = m->ws;
    mrblock_layers *blk = &m->blocks[i];
    block_cache *bc = &ws->blocks[i];
    int C = m->cfg.channels, SW = m->cfg.scale * m->width;
    const float *xd = model_block_input(m, i, true);

    zero(ws->g_x_drop, (size_t)B * C * T);
    conv1d_params rp = conv_view(&blk->residual);
    conv1d_backward(&rp, xd, ws->g_block_out, ws->g_x_drop, blk->residual.dweight,
                    blk->residual.dbias, B, T, ws->scratch, ws->threads);

    const float *wa[MRNET_MAX_SE_GROUPS], *ba[MRNET_MAX_SE_GROUPS], *wb[MRNET_MAX_SE_GROUPS],
        *bb[MRNET_MAX_SE_GROUPS];
    float *dwa[MRNET_MAX_SE_GROUPS], *dba[MRNET_MAX_SE_GROUPS], *dwb[MRNET_MAX_SE_GROUPS],
        *dbb[MRNET_MAX_SE_GROUPS];
    se_params sp = model_se_view(m, blk, wa, ba, wb, bb);
    for (int g = 0; g < m->cfg.se_groups; g++) {
        dwa[g] = blk->se_a[g].dweight;
        dba[g] = blk->se_a[g].dbias;
        dwb[g] = blk->se_b[g].dweight;
        dbb[g] = blk->se_b[g].dbias;
    }
    se_grads sg = {dwa, dba, dwb, dbb};
    zero(ws->g_v, (size_t)B * 3 * C * T);
    se_backward(&sp, &sg, bc->conv3.y, bc->se_m, bc->se_z, bc->se_s, ws->g_block_out, ws->g_v, B,
                T, ws->scratch);

    zero(ws->g_cat, (size_t)B * SW * T);
    cbr_backward(&blk->conv3, bc->cat, &bc->conv3, ws->g_v, ws->g_cat, B, T, ws->g_h3,
                 ws->scratch, ws->threads);
    splits_backward(m, i, B, T);
    cbr_backward(&blk->conv1, xd, &bc->conv1, ws->g_u, ws->g_x_drop, B, T, ws->g_h1, ws->scratch,
                 ws->threads);
}

/* The three blocks in reverse. On return ws->g_x = dL/dx_0 (B,C,T). */
static void blocks_backward(mrnet_model *m, int B, int T)
{
    model_workspace *ws = m->ws;
    int C = m->cfg.channels;
    size_t n = (size_t)B * C * T;
    zero(ws->g_x, n); /* the last block's x_3 = x_2 + l_2 is unused */
    for (int i = MRNET_BLOCKS - 1; i >= 0; i--) {
        /* block output = [s_i, l_i, r_i]; l_i also feeds x_{i+1} */
        slice_copy(ws->g_block_out, 3 * C, 0, ws->g_route[i], C, 0, C, B, T);
        slice_copy(ws->g_block_out, 3 * C, C, ws->g_long_cat, 3 * C, i * C, C, B, T);
        slice_add(ws->g_block_out, 3 * C, C, ws->g_x, C, 0, C, B, T);
        slice_copy(ws->g_block_out, 3 * C, 2 * C, ws->g_route[MRNET_BLOCKS + 1 + i], C, 0, C, B,
                   T);
        mrblock_backward(m, i, B, T);
        if (m->dropout > 0)
            dropout_backward(ws->blocks[i].mask, ws->g_x_drop, ws->g_x_drop, n);
        add_to(ws->g_x, ws->g_x_drop, n); /* dx_i = dx_{i+1} (skip) + through the block */
    }
}

/* fst_conv, dropout, instance norm and the layer mix: ws->g_x -> dw. */
static void front_backward(mrnet_model *m, int B, int T)
{
    model_workspace *ws = m->ws;
    const mrnet_config *cfg = &m->cfg;
    int SD = cfg->in_channels * cfg->in_dim;
    size_t n = (size_t)B * SD * T;
    const float *x0 = m->dropout > 0 ? ws->x_drop0 : model_front_normalised(m);
    zero(ws->g_x_drop0, n);
    cbr_backward(&m->fst, x0, &ws->fst, ws->g_x, ws->g_x_drop0, B, T, ws->g_fst_z, ws->scratch,
                 ws->threads);
    if (m->dropout > 0)
        dropout_backward(ws->mask0, ws->g_x_drop0, ws->g_x_drop0, n);
    const float *g_mix = ws->g_x_drop0; /* global: the mix is the normalised input */
    if (cfg->input_norm == MRNET_INPUT_NORM_INSTANCE) {
        instnorm_backward(ws->norm, ws->norm_rstd, ws->g_x_drop0, ws->g_norm, B, SD, T);
        g_mix = ws->g_norm;
    }
    layermix_backward(m->input, g_mix, m->dw, B, cfg->in_channels, cfg->n_layers, T,
                      cfg->in_dim);
}

/* From the logits' gradient (in ws->g_logits) back to the input. */
static void backward_from_logits(mrnet_model *m)
{
    int B = m->last_batch, T = m->last_frames;
    head_backward(m, B);
    pooling_backward(m, B, T);
    route_convs_backward(m, B, T);
    blocks_backward(m, B, T);
    front_backward(m, B, T);
    m->have_train_forward = false;
    assert(model_workspace_check_guards(m) == 0); /* no op wrote past its buffer */
}

mrnet_status mrnet_backward(mrnet_model *m, const int *labels, const float *class_weight,
                            double *loss)
{
    if (!m->have_train_forward)
        return mrnet_fail(MRNET_ERR_ARG, "backward: no training forward to differentiate");
    int B = m->last_batch, K = m->cfg.classes;
    for (int b = 0; b < B; b++)
        if (labels[b] < 0 || labels[b] >= K)
            return mrnet_fail(MRNET_ERR_ARG, "backward: label %d of sample %d is not in [0, %d)",
                              labels[b], b, K);
    double wsum = 0;
    for (int b = 0; b < B; b++)
        wsum += class_weight ? class_weight[labels[b]] : 1.0;
    wsum = batch_weight_sum(m, wsum);
    if (!(wsum > 0))
        return mrnet_fail(MRNET_ERR_ARG, "backward: the batch's class weights sum to %g", wsum);

    zero(m->grads, m->n_params);
    double l = cross_entropy_partial(m->ws->logits, labels, class_weight, m->ws->g_logits, B, K,
                                     wsum);
    backward_from_logits(m);
    if (loss)
        *loss = l;
    return MRNET_OK;
}

mrnet_status mrnet_backward_soft(mrnet_model *m, const float *targets, const float *class_weight,
                                 double *loss)
{
    if (!m->have_train_forward)
        return mrnet_fail(MRNET_ERR_ARG, "backward: no training forward to differentiate");
    int B = m->last_batch, K = m->cfg.classes;
    double wsum = 0;
    for (int b = 0; b < B; b++) {
        double row = 0;
        for (int k = 0; k < K; k++) {
            float q = targets[(size_t)b * K + k];
            if (!(q >= 0.0f && q <= 1.0f))
                return mrnet_fail(MRNET_ERR_ARG, "backward: target %d of sample %d is %g, not in "
                                  "[0, 1]", k, b, (double)q);
            row += q;
            wsum += q * (class_weight ? class_weight[k] : 1.0);
        }
        if (fabs(row - 1.0) > 1e-4)
            return mrnet_fail(MRNET_ERR_ARG, "backward: the targets of sample %d sum to %g, not 1",
                              b, row);
    }
    wsum = batch_weight_sum(m, wsum);
    if (!(wsum > 0))
        return mrnet_fail(MRNET_ERR_ARG, "backward: the batch's class weights sum to %g", wsum);

    zero(m->grads, m->n_params);
    double l = cross_entropy_soft_partial(m->ws->logits, targets, class_weight, m->ws->g_logits,
                                          B, K, wsum);
    backward_from_logits(m);
    if (loss)
        *loss = l;
    return MRNET_OK;
}
