/* The MRNet network inside the library: layer descriptors pointing into the
 * flat parameter/gradient/statistics buffers, and the activation workspace.
 * Shapes use B batch, T frames, C width, W = floor(3C/scale) Res2Net width. */
#ifndef MRNET_MODEL_MODEL_H
#define MRNET_MODEL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mrnet/mrnet.h"
#include "nn/nn.h"

#define MRNET_MAX_SCALE 16
#define MRNET_MAX_SE_GROUPS 8

typedef struct {
    int out, in, kernel, dilation;
    float *weight, *bias;   /* (out, in, kernel), (out) */
    float *dweight, *dbias;
} conv_layer;

typedef struct {
    int channels;
    float *weight, *bias, *running_mean, *running_var; /* (C) each */
    int64_t *num_batches_tracked;
    float *dweight, *dbias;
    nn_allreduce *const *sync; /* the model's bn_sync: synchronised statistics when set */
} bn_layer;

typedef struct {
    int out, in;
    float *weight, *bias; /* (out, in), (out) */
    float *dweight, *dbias;
} linear_layer;

/* Conv -> ReLU -> BN, the unit used everywhere in this network. */
typedef struct {
    conv_layer conv;
    bn_layer bn;
} cbr_layer;

typedef struct { /* release Bottle2neck */
    cbr_layer conv1;                       /* C -> scale*W, kernel 1 */
    cbr_layer convs[MRNET_MAX_SCALE - 1];  /* W -> W, kernel 3, dilation d */
    cbr_layer conv3;                       /* scale*W -> 3C, kernel 1 */
    conv_layer se_a[MRNET_MAX_SE_GROUPS];  /* C' -> Cb per group */
    conv_layer se_b[MRNET_MAX_SE_GROUPS];  /* Cb -> C' per group */
    conv_layer residual;                   /* C -> 3C, kernel 1 */
} mrblock_layers;

typedef struct { /* release ASPLayer */
    conv_layer conv_a; /* C -> H */
    bn_layer bn;       /* H */
    conv_layer conv_b; /* H -> C */
} asp_layers;

/* Activations and their gradients, planned for (max_batch, max_frames). */
typedef struct model_workspace model_workspace;

struct mrnet_model {
    mrnet_config cfg;
    int width, se_bottleneck, asp_hidden;

    /* flat storage */
    float *params, *grads, *running;
    int64_t *counts;
    size_t n_params, n_head_params, n_running, n_counts;
    mrnet_tensor_info *tensors;
    int n_tensors;

    /* layers */
    float *w, *dw;         /* layer mix (L) */
    float *in_mean, *in_std; /* (S, L, D), MRNET_INPUT_NORM_GLOBAL only, else NULL */
    float *w_all, *dw_all; /* route weights (7); after-norm: the gate's logits */
    cbr_layer fst;
    mrblock_layers blocks[MRNET_BLOCKS];
    cbr_layer reprocessing[MRNET_BLOCKS], r_global, l_conv;
    asp_layers att[MRNET_ROUTES];
    bn_layer bn5, bn6;
    linear_layer fc6;
    linear_layer head_fc1;
    bn_layer head_bn1;

    /* training options and state */
    float dropout;
    unsigned drop_routes;
    uint64_t rng;
    char **labels;
    int n_labels;

    float gate[MRNET_ROUTES];  /* after-norm: the last forward's gate, for its backward */
    float shown_gate[MRNET_ROUTES]; /* after-norm: what mrnet_model_route_weights returns */

    const float *input; /* of the last forward; the backward reads it */
    model_workspace *ws;
    int ws_batch;     /* the workspace holds up to ws_batch samples ... */
    size_t ws_frames; /* ... and up to ws_frames frames in all (B*T) */
    bool have_train_forward; /* backward needs a training forward first */
    int last_batch, last_frames;

    /* data-parallel training (model_set_data_parallel): NULL/0 in one process */
    nn_allreduce dp;         /* sums over the processes; dp.sum NULL: one process */
    nn_allreduce *bn_sync;   /* &dp when BN statistics are synchronised, else NULL */
    long sample0;            /* the global index of this slice's first sample */
};

/* Data-parallel training: this model computes one process's slice of every
 * batch. sum adds partial sums over the processes (the loss's weight sum
 * always; the batch statistics too with sync_bn); the model keeps a copy and
 * its own scratch. sum NULL returns to one process. */
mrnet_status model_set_data_parallel(mrnet_model *m, const nn_allreduce *sum, bool sync_bn);
/* The global index of the first sample of the next forward's batch (the
 * dropout masks follow the sample, not its place in the slice). */
void model_set_first_sample(mrnet_model *m, long sample0);

/* Builds the tensor table and layer descriptors (params.c). */
mrnet_status model_build_tensors(mrnet_model *m);
/* A model with tensors allocated, not initialised (model.c). */
mrnet_status model_alloc(const mrnet_config *cfg, mrnet_model **out);
/* PyTorch default initialisation (model.c). */
void model_init_parameters(mrnet_model *m, uint64_t seed);

/* Checkpoint pieces shared with training checkpoints (checkpoint.c). */
struct mrnet_st_writer;
mrnet_status model_add_tensors(const mrnet_model *m, struct mrnet_st_writer *w);
mrnet_status model_add_metadata(const mrnet_model *m, struct mrnet_st_writer *w);
/* Checks the format version `value` of metadata `key` (NULL when absent) of
 * the file at path: absent (an unversioned file) or up to `supported` is OK,
 * a newer one MRNET_ERR_UNSUPPORTED, anything but a positive integer
 * MRNET_ERR_FORMAT; the message names the file and both versions. */
mrnet_status model_check_format(const char *path, const char *key, const char *value,
                                int supported);

/* Workspace planning (workspace.c). The plan covers a batch, the frames in
 * all and a thread count (conv1d_max_threads() when planned); it fits when
 * all three do, and reserve grows the ones that do not. */
mrnet_status model_workspace_reserve(mrnet_model *m, int max_batch, int max_frames);
bool model_workspace_fits(const mrnet_model *m, int batch, size_t frames);
void model_workspace_free(model_workspace *ws);
size_t model_workspace_floats(const model_workspace *ws);

/* nn parameter views of the layer descriptors. */
static inline conv1d_params conv_view(const conv_layer *c)
{
    return (conv1d_params){c->in, c->out, c->kernel, c->dilation, c->weight, c->bias};
}
static inline batchnorm_params bn_view(const bn_layer *b)
{
    return (batchnorm_params){b->channels, 1e-5f, 0.1f, b->weight, b->bias, b->running_mean,
                              b->running_var, b->sync ? *b->sync : NULL};
}

#endif
