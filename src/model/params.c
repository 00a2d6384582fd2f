/* The tensor table: every checkpoint tensor in the release's state_dict order
 * with its name and shape, and the layer descriptors pointing into the flat
 * buffers. Built in two passes over the same code: the first counts, the
 * second (after allocation) assigns, so names and layout cannot drift. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "tensor/error.h"

typedef struct {
    mrnet_model *m;
    bool assign;
    bool head;
    size_t n_param, n_running, n_count;
    int n_tensor;
    bool out_of_memory;
} builder;

static mrnet_tensor_info *add_tensor(builder *b, mrnet_tensor_kind kind, int ndim,
                                     const int64_t *shape, const char *prefix, const char *suffix)
{
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= (size_t)shape[i];
    mrnet_tensor_info *t = NULL;
    if (b->assign) {
        t = &b->m->tensors[b->n_tensor];
        char name[256];
        snprintf(name, sizeof name, "%s%s%s%s", b->head ? "head." : "", prefix,
                 *suffix ? "." : "", suffix);
        t->name = strdup(name);
        b->out_of_memory |= t->name == NULL;
        t->kind = kind;
        t->ndim = ndim;
        memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
        t->numel = numel;
        t->in_head = b->head;
        if (kind == MRNET_TENSOR_PARAMETER) {
            t->data = b->m->params + b->n_param;
            t->grad = b->m->grads + b->n_param;
        } else if (kind == MRNET_TENSOR_RUNNING_STAT) {
            t->data = b->m->running + b->n_running;
        } else {
            t->count = b->m->counts + b->n_count;
        }
    }
    b->n_tensor++;
    if (kind == MRNET_TENSOR_PARAMETER)
        b->n_param += numel;
    else if (kind == MRNET_TENSOR_RUNNING_STAT)
        b->n_running += numel;
    else
        b->n_count += numel;
    return t;
}

/* A trainable tensor: returns its data (NULL while counting) and sets *grad. */
static float *param(builder *b, float **grad, int ndim, const int64_t *shape, const char *prefix,
                    const char *suffix)
{
    mrnet_tensor_info *t = add_tensor(b, MRNET_TENSOR_PARAMETER, ndim, shape, prefix, suffix);
    *grad = t ? t->grad : NULL;
    return t ? t->data : NULL;
}

static void conv(builder *b, conv_layer *c, int out, int in, int kernel, int dilation,
                 const char *prefix)
{
    *c = (conv_layer){.out = out, .in = in, .kernel = kernel, .dilation = dilation};
    c->weight = param(b, &c->dweight, 3, (int64_t[]){out, in, kernel}, prefix, "weight");
    c->bias = param(b, &c->dbias, 1, (int64_t[]){out}, prefix, "bias");
}

static void batchnorm(builder *b, bn_layer *n, int channels, const char *prefix)
{
    *n = (bn_layer){.channels = channels, .sync = &b->m->bn_sync};
    int64_t shape[1] = {channels};
    n->weight = param(b, &n->dweight, 1, shape, prefix, "weight");
    n->bias = param(b, &n->dbias, 1, shape, prefix, "bias");
    mrnet_tensor_info *mean =
        add_tensor(b, MRNET_TENSOR_RUNNING_STAT, 1, shape, prefix, "running_mean");
    mrnet_tensor_info *var =
        add_tensor(b, MRNET_TENSOR_RUNNING_STAT, 1, shape, prefix, "running_var");
    mrnet_tensor_info *count = add_tensor(b, MRNET_TENSOR_COUNTER, 0, shape, prefix,
                                          "num_batches_tracked");
    if (b->assign) {
        n->running_mean = mean->data;
        n->running_var = var->data;
        n->num_batches_tracked = count->count;
    }
}

static void linear(builder *b, linear_layer *l, int out, int in, const char *prefix)
{
    *l = (linear_layer){.out = out, .in = in};
    l->weight = param(b, &l->dweight, 2, (int64_t[]){out, in}, prefix, "weight");
    l->bias = param(b, &l->dbias, 1, (int64_t[]){out}, prefix, "bias");
}

/* nn.Sequential(Conv1d, ReLU, BatchNorm1d): children ".0" and ".2". */
static void sequential_cbr(builder *b, cbr_layer *u, int out, int in, const char *prefix)
{
    char name[160];
    snprintf(name, sizeof name, "%s.0", prefix);
    conv(b, &u->conv, out, in, 1, 1, name);
    snprintf(name, sizeof name, "%s.2", prefix);
    batchnorm(b, &u->bn, out, name);
}

static void mrblock(builder *b, mrblock_layers *blk, int i)
{
    const mrnet_config *cfg = &b->m->cfg;
    int C = cfg->channels, W = b->m->width, scale = cfg->scale, G = cfg->se_groups;
    int group = 3 * C / G, Cb = b->m->se_bottleneck;
    char p[128], name[160];
    snprintf(p, sizeof p, "conv_blocks.%d", i);
    snprintf(name, sizeof name, "%s.conv1", p);
    conv(b, &blk->conv1.conv, scale * W, C, 1, 1, name);
    snprintf(name, sizeof name, "%s.bn1", p);
    batchnorm(b, &blk->conv1.bn, scale * W, name);
    for (int j = 0; j < scale - 1; j++) {
        snprintf(name, sizeof name, "%s.convs.%d", p, j);
        conv(b, &blk->convs[j].conv, W, W, 3, cfg->dilations[i], name);
    }
    for (int j = 0; j < scale - 1; j++) {
        snprintf(name, sizeof name, "%s.bns.%d", p, j);
        batchnorm(b, &blk->convs[j].bn, W, name);
    }
    snprintf(name, sizeof name, "%s.conv3", p);
    conv(b, &blk->conv3.conv, 3 * C, scale * W, 1, 1, name);
    snprintf(name, sizeof name, "%s.bn3", p);
    batchnorm(b, &blk->conv3.bn, 3 * C, name);
    for (int g = 0; g < G; g++) {
        snprintf(name, sizeof name, "%s.se.se_modules.%d.1", p, g);
        conv(b, &blk->se_a[g], Cb, group, 1, 1, name);
        snprintf(name, sizeof name, "%s.se.se_modules.%d.3", p, g);
        conv(b, &blk->se_b[g], group, Cb, 1, 1, name);
    }
    snprintf(name, sizeof name, "%s.residual_conv", p);
    conv(b, &blk->residual, 3 * C, C, 1, 1, name);
}

static void build(builder *b)
{
    mrnet_model *m = b->m;
    const mrnet_config *cfg = &m->cfg;
    int C = cfg->channels, E = cfg->embed, H = m->asp_hidden;
    char name[128];

    m->w = param(b, &m->dw, 5, (int64_t[]){1, 1, cfg->n_layers, 1, 1}, "w", "");
    m->w_all = param(b, &m->dw_all, 3, (int64_t[]){1, MRNET_ROUTES, 1}, "w_all", "");
    /* As gate logits, decay would pull the gate towards uniform; the paper's
     * w_all is decayed like every parameter (the release). */
    if (b->assign)
        m->tensors[b->n_tensor - 1].no_decay =
            cfg->route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    if (cfg->input_norm == MRNET_INPUT_NORM_GLOBAL) { /* measured, not learned */
        int64_t shape[3] = {cfg->in_channels, cfg->n_layers, cfg->in_dim};
        mrnet_tensor_info *mean = add_tensor(b, MRNET_TENSOR_RUNNING_STAT, 3, shape, "input_norm", "mean");
        mrnet_tensor_info *std = add_tensor(b, MRNET_TENSOR_RUNNING_STAT, 3, shape, "input_norm", "std");
        if (b->assign) {
            m->in_mean = mean->data;
            m->in_std = std->data;
        }
    }
    conv(b, &m->fst.conv, C, cfg->in_channels * cfg->in_dim, 5, 1, "fst_conv");
    batchnorm(b, &m->fst.bn, C, "fst_conv_bn");
    for (int i = 0; i < MRNET_BLOCKS; i++)
        mrblock(b, &m->blocks[i], i);
    for (int i = 0; i < MRNET_BLOCKS; i++) {
        snprintf(name, sizeof name, "reprocessing_convs.%d", i);
        sequential_cbr(b, &m->reprocessing[i], C, 2 * C, name);
    }
    sequential_cbr(b, &m->r_global, C, 3 * C, "r_global_conv");
    sequential_cbr(b, &m->l_conv, C, 3 * C, "l_conv");
    for (int j = 0; j < MRNET_ROUTES; j++) {
        snprintf(name, sizeof name, "att.%d.attention.0", j);
        conv(b, &m->att[j].conv_a, H, C, 1, 1, name);
        snprintf(name, sizeof name, "att.%d.attention.2", j);
        batchnorm(b, &m->att[j].bn, H, name);
        snprintf(name, sizeof name, "att.%d.attention.4", j);
        conv(b, &m->att[j].conv_b, C, H, 1, 1, name);
    }
    batchnorm(b, &m->bn5, 2 * MRNET_ROUTES * C, "bn5");
    linear(b, &m->fc6, E, 2 * MRNET_ROUTES * C, "fc6");
    batchnorm(b, &m->bn6, E, "bn6");

    size_t before_head = b->n_param;
    b->head = true;
    linear(b, &m->head_fc1, cfg->classes, E, "fc1");
    batchnorm(b, &m->head_bn1, cfg->classes, "bn1");
    b->head = false;
    m->n_head_params = b->n_param - before_head;
}

mrnet_status model_build_tensors(mrnet_model *m)
{
    builder count = {.m = m};
    build(&count);
    m->n_params = count.n_param;
    m->n_running = count.n_running;
    m->n_counts = count.n_count;
    m->n_tensors = count.n_tensor;
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    m->running = calloc(m->n_running, sizeof(float));
    m->counts = calloc(m->n_counts, sizeof(int64_t));
    m->tensors = calloc((size_t)m->n_tensors, sizeof *m->tensors);
    if (!m->params || !m->grads || !m->running || !m->counts || !m->tensors)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %zu model parameters", m->n_params);
    builder assign = {.m = m, .assign = true};
    build(&assign);
    if (assign.out_of_memory)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for tensor names");
    return MRNET_OK;
}
