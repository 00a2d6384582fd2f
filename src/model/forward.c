/* MRNet forward pass (spec "Forward pass", release MLFANet.forward). */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "model/slices.h"
#include "model/workspace.h"
#include "tensor/error.h"

/* conv -> ReLU -> BN. x (B,in,T) -> c->y (B,out,T), keeping c->z for the backward. */
void cbr_forward(cbr_layer *L, const float *x, cbr_cache *c, int B, int T, bool train,
                 float *scratch)
{
    conv1d_params cp = conv_view(&L->conv);
    size_t n = (size_t)B * (size_t)L->conv.out * (size_t)T;
    conv1d_forward(&cp, x, c->z, B, T, scratch);
    relu_forward(c->z, c->z, n);
    batchnorm_params bp = bn_view(&L->bn);
    if (train) {
        batchnorm_forward_train(&bp, c->z, c->y, B, T, c->mean, c->rstd);
        (*L->bn.num_batches_tracked)++;
    } else {
        batchnorm_forward_eval(&bp, c->z, c->y, B, T);
    }
}

/* Plain BN on (B,C,T); counts the step in training. */
static void bn_forward(bn_layer *L, const float *x, float *y, float *mean, float *rstd, int B,
                       int T, bool train)
{
    batchnorm_params bp = bn_view(L);
    if (train) {
        batchnorm_forward_train(&bp, x, y, B, T, mean, rstd);
        (*L->num_batches_tracked)++;
    } else {
        batchnorm_forward_eval(&bp, x, y, B, T);
    }
}

se_params model_se_view(const mrnet_model *m, const mrblock_layers *blk, const float **wa,
                        const float **ba, const float **wb, const float **bb)
{
    int G = m->cfg.se_groups;
    for (int g = 0; g < G; g++) {
        wa[g] = blk->se_a[g].weight;
        ba[g] = blk->se_a[g].bias;
        wb[g] = blk->se_b[g].weight;
        bb[g] = blk->se_b[g].bias;
    }
    return (se_params){G, 3 * m->cfg.channels / G, m->se_bottleneck, wa, ba, wb, bb};
}

asp_params model_asp_view(const mrnet_model *m, const asp_layers *a)
{
    return (asp_params){m->cfg.channels, m->asp_hidden, a->conv_a.weight, a->conv_a.bias,
                        bn_view(&a->bn), a->conv_b.weight, a->conv_b.bias};
}

/* The normalised input (B,SD,T): instance-normalised, or the layer mix of the
 * globally standardised input as it is. */
const float *model_front_normalised(const mrnet_model *m)
{
    return m->cfg.input_norm == MRNET_INPUT_NORM_INSTANCE ? m->ws->norm : m->ws->mix;
}

/* Block input as the block sees it: dropped out in training when p > 0. */
const float *model_block_input(const mrnet_model *m, int i, bool train)
{
    return (train && m->dropout > 0) ? m->ws->blocks[i].x_drop : m->ws->x[i];
}

/* MRBlock i (release Bottle2neck): ws->x[i] (B,C,T) -> ws->block_out (B,3C,T). */
static void mrblock_forward(mrnet_model *m, int i, int B, int T, bool train)
{
    model_workspace *ws = m->ws;
    mrblock_layers *blk = &m->blocks[i];
    block_cache *bc = &ws->blocks[i];
    int C = m->cfg.channels, W = m->width, S = m->cfg.scale;
    size_t N = (size_t)B * (size_t)T;

    if (train && m->dropout > 0)
        dropout_forward_samples(ws->x[i], bc->x_drop, bc->mask, B, (size_t)C * T, m->dropout,
                                &m->rng, m->sample0);
    const float *xd = model_block_input(m, i, train);

    cbr_forward(&blk->conv1, xd, &bc->conv1, B, T, train, ws->scratch);
    const float *u = bc->conv1.y; /* (B, S*W, T) */
    for (int j = 0; j < S - 1; j++) {
        slice_copy(bc->split_in[j], W, 0, u, S * W, j * W, W, B, T);
        if (j > 0) /* Res2Net: each split adds the previous split's output */
            slice_add(bc->split_in[j], W, 0, bc->convs[j - 1].y, W, 0, W, B, T);
        cbr_forward(&blk->convs[j], bc->split_in[j], &bc->convs[j], B, T, train, ws->scratch);
        slice_copy(bc->cat, S * W, j * W, bc->convs[j].y, W, 0, W, B, T);
    }
    slice_copy(bc->cat, S * W, (S - 1) * W, u, S * W, (S - 1) * W, W, B, T); /* last passes */
    cbr_forward(&blk->conv3, bc->cat, &bc->conv3, B, T, train, ws->scratch);

    const float *wa[MRNET_MAX_SE_GROUPS], *ba[MRNET_MAX_SE_GROUPS], *wb[MRNET_MAX_SE_GROUPS],
        *bb[MRNET_MAX_SE_GROUPS];
    se_params sp = model_se_view(m, blk, wa, ba, wb, bb);
    float *se_out = ws->g_v; /* gradient buffer, free during the forward */
    se_forward(&sp, bc->conv3.y, se_out, bc->se_m, bc->se_z, bc->se_s, B, T);
    conv1d_params rp = conv_view(&blk->residual);
    conv1d_forward(&rp, xd, ws->block_out, B, T, NULL);
    add_to(ws->block_out, se_out, 3 * (size_t)C * N);
}

/* Splits block i's output into its routes and forms the next block's input. */
static void mrblock_route(mrnet_model *m, int i, int B, int T)
{
    model_workspace *ws = m->ws;
    int C = m->cfg.channels;
    slice_copy(ws->low[i], C, 0, ws->block_out, 3 * C, 0, C, B, T);
    slice_copy(ws->long_cat, 3 * C, i * C, ws->block_out, 3 * C, C, C, B, T);
    slice_copy(ws->mid_in[i], 2 * C, 0, ws->block_out, 3 * C, 2 * C, C, B, T);
    if (i + 1 < MRNET_BLOCKS) { /* x_{i+1} = x_i + l_i: the residual skips the dropout */
        float *next = ws->x[i + 1];
        copy_floats(next, ws->x[i], (size_t)B * C * T);
        slice_add(next, C, 0, ws->block_out, 3 * C, C, C, B, T);
    }
}

/* Route j's (B,C,T) input, in route order L1 L2 L3 H M1 M2 M3. */
const float *model_route_input(const mrnet_model *m, int j)
{
    const model_workspace *ws = m->ws;
    if (j < MRNET_BLOCKS)
        return ws->low[j];
    if (j == MRNET_BLOCKS)
        return ws->l_conv.y;
    return ws->reprocessing[j - MRNET_BLOCKS - 1].y;
}

/* The seven routes, pooled: ws->pooled (B, 7, 2C). Dropped routes are zero
 * and their attention is not computed. */
static void routes_forward(mrnet_model *m, int B, int T, bool train)
{
    model_workspace *ws = m->ws;
    int C = m->cfg.channels;
    cbr_forward(&m->r_global, ws->long_cat, &ws->r_global, B, T, train, ws->scratch);
    cbr_forward(&m->l_conv, ws->long_cat, &ws->l_conv, B, T, train, ws->scratch);
    for (int i = 0; i < MRNET_BLOCKS; i++) {
        slice_copy(ws->mid_in[i], 2 * C, C, ws->r_global.y, C, 0, C, B, T);
        cbr_forward(&m->reprocessing[i], ws->mid_in[i], &ws->reprocessing[i], B, T, train,
                    ws->scratch);
    }
    for (int j = 0; j < MRNET_ROUTES; j++) {
        if (m->drop_routes & (1u << j)) {
            for (int b = 0; b < B; b++)
                memset(ws->pooled + ((size_t)b * MRNET_ROUTES + j) * 2 * C, 0,
                       2 * (size_t)C * sizeof(float));
            continue;
        }
        asp_params ap = model_asp_view(m, &m->att[j]);
        asp_forward(&ap, model_route_input(m, j), ws->asp_out, &ws->asp[j], B, T, train);
        if (train)
            (*m->att[j].bn.num_batches_tracked)++;
        slice_copy(ws->pooled, MRNET_ROUTES * 2 * C, j * 2 * C, ws->asp_out, 2 * C, 0, 2 * C, B,
                   1);
    }
}

const float *model_bn5_input(const mrnet_model *m)
{
    bool after_norm = m->cfg.route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    return after_norm ? m->ws->pooled : m->ws->routed;
}

float *model_bn5_output(const mrnet_model *m)
{
    bool after_norm = m->cfg.route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    return after_norm ? m->ws->f5_norm : m->ws->f5;
}

/* The route weights and bn5: ws->pooled (B,7,2C) -> ws->f5 (B,14C). Paper:
 * bn5(w_all * pooled). After-norm: gate * bn5(pooled), the gate R softmax(w_all)
 * over the live routes kept in m->gate for the backward. Dropped routes are
 * zero in pooled either way. */
static void route_weights_forward(mrnet_model *m, int B, bool train)
{
    model_workspace *ws = m->ws;
    int F = 2 * m->cfg.channels;
    if (m->cfg.route_weights == MRNET_ROUTE_WEIGHTS_PAPER)
        routeweight_forward(ws->pooled, m->w_all, ws->routed, B, MRNET_ROUTES, F,
                            m->drop_routes);
    bn_forward(&m->bn5, model_bn5_input(m), model_bn5_output(m), ws->f5_mean, ws->f5_rstd, B, 1,
               train);
    if (m->cfg.route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM) {
        routegate_values(m->w_all, m->gate, MRNET_ROUTES, m->drop_routes);
        routeweight_forward(ws->f5_norm, m->gate, ws->f5, B, MRNET_ROUTES, F, m->drop_routes);
    }
}

static mrnet_status check_input(const mrnet_model *m, const float *input, int B, int T, bool train)
{
    if (B < 1 || T < 1)
        return mrnet_fail(MRNET_ERR_SHAPE, "input: batch %d and frames %d must be positive", B, T);
    if (train && B < 2)
        return mrnet_fail(MRNET_ERR_SHAPE,
                          "input: training needs a batch of at least 2 (batch norm over the "
                          "batch of embeddings), got %d",
                          B);
    const mrnet_config *c = &m->cfg;
    size_t n = (size_t)B * c->in_channels * c->n_layers * (size_t)T * c->in_dim;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(input[k]))
            return mrnet_fail(MRNET_ERR_NUMERIC,
                              "input: value %zu (sample %zu) is %s; features must be finite", k,
                              k / (n / (size_t)B), isnan(input[k]) ? "NaN" : "infinite");
    return MRNET_OK;
}

mrnet_status mrnet_forward(mrnet_model *m, const float *input, int B, int T, bool train,
                           float *embedding, float *logits)
{
    MRNET_TRY(check_input(m, input, B, T, train));
    /* also re-plans for a thread count raised since, which the backward of
     * this forward can then use (it never uses more than the plan's) */
    if (!model_workspace_fits(m, B, (size_t)B * T))
        MRNET_TRY(mrnet_model_reserve(m, B, T));
    model_workspace *ws = m->ws;
    const mrnet_config *cfg = &m->cfg;
    int S = cfg->in_channels, D = cfg->in_dim, SD = S * D, C = cfg->channels;
    int E = cfg->embed, K = cfg->classes;

    if (cfg->input_norm == MRNET_INPUT_NORM_GLOBAL) {
        featnorm_forward(input, m->in_mean, m->in_std, ws->std_input, (long)B * S * cfg->n_layers,
                         S * cfg->n_layers, T, D);
        input = ws->std_input;
    }
    m->input = input;
    layermix_forward(input, m->w, ws->mix, B, S, cfg->n_layers, T, D);
    const float *x0 = model_front_normalised(m);
    if (cfg->input_norm == MRNET_INPUT_NORM_INSTANCE)
        instnorm_forward(ws->mix, ws->norm, ws->norm_rstd, B, SD, T, 1e-5f);
    if (train && m->dropout > 0) {
        dropout_forward_samples(x0, ws->x_drop0, ws->mask0, B, (size_t)SD * T, m->dropout,
                                &m->rng, m->sample0);
        x0 = ws->x_drop0;
    }
    cbr_forward(&m->fst, x0, &ws->fst, B, T, train, ws->scratch);
    for (int i = 0; i < MRNET_BLOCKS; i++) {
        mrblock_forward(m, i, B, T, train);
        mrblock_route(m, i, B, T);
    }
    routes_forward(m, B, T, train);

    int F = 2 * MRNET_ROUTES * C;
    route_weights_forward(m, B, train);
    linear_forward(ws->f5, m->fc6.weight, m->fc6.bias, ws->f6, B, F, E);
    bn_forward(&m->bn6, ws->f6, ws->emb, ws->emb_mean, ws->emb_rstd, B, 1, train);
    linear_forward(ws->emb, m->head_fc1.weight, m->head_fc1.bias, ws->hz, B, E, K);
    bn_forward(&m->head_bn1, ws->hz, ws->logits, ws->hz_mean, ws->hz_rstd, B, 1, train);

    if (embedding)
        memcpy(embedding, ws->emb, (size_t)B * E * sizeof(float));
    if (logits)
        memcpy(logits, ws->logits, (size_t)B * K * sizeof(float));
    m->have_train_forward = train;
    m->last_batch = B;
    m->last_frames = T;
    assert(model_workspace_check_guards(m) == 0); /* no op wrote past its buffer */
    return MRNET_OK;
}
