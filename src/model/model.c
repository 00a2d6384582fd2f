/* Model lifetime, initialisation and accessors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "tensor/error.h"
#include "tensor/rng.h"

/* PyTorch's default for Conv1d and Linear: kaiming_uniform_(a = sqrt(5)) on
 * the weight, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for
 * the bias. The values differ from torch's RNG; the distribution is the same. */
static void init_uniform(float *w, size_t n, size_t fan_in, uint64_t *rng)
{
    float bound = 1.0f / sqrtf((float)fan_in);
    for (size_t i = 0; i < n; i++)
        w[i] = rng_uniform_range(rng, -bound, bound);
}

void model_init_parameters(mrnet_model *m, uint64_t seed)
{
    uint64_t rng = rng_derive(seed, 1);
    for (int i = 0; i < m->n_tensors; i++) {
        mrnet_tensor_info *t = &m->tensors[i];
        const char *suffix = strrchr(t->name, '.');
        suffix = suffix ? suffix + 1 : t->name;
        if (t->kind == MRNET_TENSOR_COUNTER) {
            *t->count = 0;
        } else if (t->kind == MRNET_TENSOR_RUNNING_STAT) {
            float v = !strcmp(suffix, "running_var") || !strcmp(suffix, "std") ? 1.0f : 0.0f;
            for (size_t k = 0; k < t->numel; k++)
                t->data[k] = v;
        } else if (!strcmp(t->name, "w") || !strcmp(t->name, "w_all")) {
            /* after-norm, w_all holds gate logits: 0, the uniform gate 1 */
            bool logits = t->data == m->w_all &&
                          m->cfg.route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM;
            for (size_t k = 0; k < t->numel; k++)
                t->data[k] = logits ? 0.0f : 1.0f;
        } else if (t->ndim >= 2) { /* conv (out,in,k) or linear (out,in) weight */
            size_t fan_in = t->numel / (size_t)t->shape[0];
            init_uniform(t->data, t->numel, fan_in, &rng);
            /* the bias follows its weight in the table */
            mrnet_tensor_info *bias = &m->tensors[i + 1];
            if (i + 1 < m->n_tensors && bias->ndim == 1 && strstr(bias->name, ".bias")) {
                init_uniform(bias->data, bias->numel, fan_in, &rng);
                i++;
            }
        } else { /* batch norm affine: ones and zeros */
            float v = !strcmp(suffix, "weight") ? 1.0f : 0.0f;
            for (size_t k = 0; k < t->numel; k++)
                t->data[k] = v;
        }
    }
}

void mrnet_model_free(mrnet_model *m)
{
    if (!m)
        return;
    /* a model whose tensor table failed to allocate has a count but no table */
    for (int i = 0; m->tensors && i < m->n_tensors; i++)
        free((char *)m->tensors[i].name);
    for (int k = 0; k < m->n_labels; k++)
        free(m->labels[k]);
    free(m->labels);
    free(m->tensors);
    free(m->params);
    free(m->grads);
    free(m->running);
    free(m->counts);
    free(m->dp.scratch);
    model_workspace_free(m->ws);
    free(m);
}

/* The widest batch norm: its scratch bounds every BN's (2 C + 1). */
static int widest_bn(const mrnet_model *m)
{
    int widest = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const mrnet_tensor_info *t = &m->tensors[i];
        if (t->kind == MRNET_TENSOR_RUNNING_STAT && (int)t->numel > widest)
            widest = (int)t->numel;
    }
    return widest;
}

mrnet_status model_set_data_parallel(mrnet_model *m, const nn_allreduce *sum, bool sync_bn)
{
    free(m->dp.scratch);
    m->dp = (nn_allreduce){0};
    m->bn_sync = NULL;
    if (!sum || !sum->sum)
        return MRNET_OK;
    size_t n = 2 * (size_t)widest_bn(m) + 2; /* + the loss's weight sum */
    double *scratch = malloc(n * sizeof *scratch);
    if (!scratch)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    m->dp = (nn_allreduce){sum->sum, sum->ctx, scratch, n};
    m->bn_sync = sync_bn ? &m->dp : NULL;
    m->have_train_forward = false;
    return MRNET_OK;
}

void model_set_first_sample(mrnet_model *m, long sample0) { m->sample0 = sample0; }

/* A model with its tensors allocated but not initialised. */
mrnet_status model_alloc(const mrnet_config *cfg, mrnet_model **out)
{
    *out = NULL;
    MRNET_TRY(mrnet_config_validate(cfg));
    mrnet_model *m = calloc(1, sizeof *m);
    if (!m)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for the model");
    m->cfg = *cfg;
    m->width = mrnet_config_width(cfg);
    m->se_bottleneck = mrnet_config_se_bottleneck(cfg);
    m->asp_hidden = mrnet_config_asp_hidden(cfg);
    m->dropout = 0.5f;
    m->rng = rng_derive(0, 2);
    mrnet_status st = model_build_tensors(m);
    if (st != MRNET_OK) {
        mrnet_model_free(m);
        return st;
    }
    *out = m;
    return MRNET_OK;
}

mrnet_status mrnet_model_create(const mrnet_config *cfg, uint64_t seed, mrnet_model **out)
{
    MRNET_TRY(model_alloc(cfg, out));
    model_init_parameters(*out, seed);
    (*out)->rng = rng_derive(seed, 2);
    return MRNET_OK;
}

const mrnet_config *mrnet_model_config(const mrnet_model *m) { return &m->cfg; }

size_t mrnet_model_param_count(const mrnet_model *m, bool with_head)
{
    return with_head ? m->n_params : m->n_params - m->n_head_params;
}

mrnet_status mrnet_model_reserve(mrnet_model *m, int max_batch, int max_frames)
{
    return model_workspace_reserve(m, max_batch, max_frames);
}

size_t mrnet_model_workspace_bytes(const mrnet_model *m)
{
    return m->ws ? model_workspace_floats(m->ws) * sizeof(float) : 0;
}

mrnet_status mrnet_model_set_dropout(mrnet_model *m, float p)
{
    /* p = 1 would scale the kept values by 1/(1-p) = inf; NaN fails every test */
    if (!(p >= 0.0f && p < 1.0f))
        return mrnet_fail(MRNET_ERR_ARG, "dropout probability %g must be in [0, 1)", (double)p);
    m->dropout = p;
    m->have_train_forward = false; /* the backward must see the forward's dropout */
    return MRNET_OK;
}

float mrnet_model_dropout(const mrnet_model *m) { return m->dropout; }

mrnet_status mrnet_model_set_drop_routes(mrnet_model *m, unsigned mask)
{
    if (mask >= (1u << MRNET_ROUTES) - 1)
        return mrnet_fail(MRNET_ERR_ARG, "route mask 0x%x drops every route or is out of range",
                          mask);
    m->drop_routes = mask;
    m->have_train_forward = false;
    return MRNET_OK;
}

unsigned mrnet_model_drop_routes(const mrnet_model *m) { return m->drop_routes; }
void mrnet_model_set_rng(mrnet_model *m, uint64_t state) { m->rng = state; }
uint64_t mrnet_model_rng(const mrnet_model *m) { return m->rng; }

mrnet_status mrnet_model_set_labels(mrnet_model *m, char *const *labels, int n)
{
    if (labels && (n < 1 || n != m->cfg.classes))
        return mrnet_fail(MRNET_ERR_ARG, "%d label names for a model of %d classes", n,
                          m->cfg.classes);
    for (int k = 0; labels && k < n; k++)
        if (!labels[k])
            return mrnet_fail(MRNET_ERR_ARG, "label name %d of %d is NULL", k, n);
    char **copy = NULL;
    if (labels) {
        copy = calloc((size_t)n, sizeof *copy);
        for (int k = 0; copy && k < n; k++)
            if (!(copy[k] = strdup(labels[k]))) {
                for (int j = 0; j < k; j++)
                    free(copy[j]);
                free(copy);
                copy = NULL;
            }
        if (!copy)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for label names");
    }
    for (int k = 0; k < m->n_labels; k++)
        free(m->labels[k]);
    free(m->labels);
    m->labels = copy;
    m->n_labels = labels ? n : 0;
    return MRNET_OK;
}

const char *mrnet_model_label(const mrnet_model *m, int k)
{
    return (m->labels && k >= 0 && k < m->n_labels) ? m->labels[k] : NULL;
}

int mrnet_model_tensor_count(const mrnet_model *m) { return m->n_tensors; }

const mrnet_tensor_info *mrnet_model_tensor(const mrnet_model *m, int index)
{
    return (index >= 0 && index < m->n_tensors) ? &m->tensors[index] : NULL;
}

const mrnet_tensor_info *mrnet_model_find_tensor(const mrnet_model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name))
            return &m->tensors[i];
    return NULL;
}

float *mrnet_model_params(mrnet_model *m) { return m->params; }
float *mrnet_model_grads(mrnet_model *m) { return m->grads; }
const float *mrnet_model_route_weights(const mrnet_model *m)
{
    if (m->cfg.route_weights == MRNET_ROUTE_WEIGHTS_PAPER)
        return m->w_all;
    /* the model is allocated writable; a call on it is one thread's, as any */
    float *shown = ((mrnet_model *)m)->shown_gate;
    routegate_values(m->w_all, shown, MRNET_ROUTES, m->drop_routes);
    return shown;
}
