/* mrnet/model.h: the MRNet network, its configuration, checkpoints, the
 * optimizer and the learning-rate schedule. */
#ifndef MRNET_MODEL_H
#define MRNET_MODEL_H

#include <mrnet/common.h>

#ifdef __cplusplus
extern "C" {
#endif
/* Declarations here are the library's exported symbols; everything else is
 * built hidden (-fvisibility=hidden). */
#pragma GCC visibility push(default)

/* ---- Model configuration ------------------------------------------------ */

#define MRNET_BLOCKS 3 /* MRBlocks; fixed by the architecture */
#define MRNET_ROUTES 7 /* L1 L2 L3 H M1 M2 M3 */

/* Where the route weights w_all act (mrnet_config.route_weights;
 * docs/ROUTE_WEIGHTS.md). */
typedef enum {
    /* The paper and its release: each route's pooled vector times w_all[j]
     * just before bn5. bn5 normalises every feature again, so the output
     * depends on w_all only through its eps: the weights carry no meaning. */
    MRNET_ROUTE_WEIGHTS_PAPER = 0,
    /* A gate after bn5: route j's normalised features times
     * R softmax(w_all)_j over the R live routes (0 for a dropped route), so
     * uniform w_all (its initial 0) is the identity. w_all is then exempt
     * from weight decay (mrnet_tensor_info.no_decay). */
    MRNET_ROUTE_WEIGHTS_AFTER_NORM = 1
} mrnet_route_weights_mode;

typedef struct {
    int in_dim;       /* D: feature size per input channel (768 WavLM, 48 mel) */
    int in_channels;  /* S: audio channels side by side (2 stereo, 1 mono mel) */
    int n_layers;     /* L: stacked feature layers mixed by w (13 WavLM, 1 mel) */
    int channels;     /* C: width (512) */
    int embed;        /* E: embedding size (128) */
    int classes;      /* K: number of classes */
    int dilations[MRNET_BLOCKS]; /* 2, 3, 4 */
    int scale;        /* Res2Net split count (8) */
    int se_groups;    /* SE groups per block (3) */
    int input_norm;   /* an mrnet_input_norm: MRNET_INPUT_NORM_INSTANCE (0, the paper's) */
    int route_weights; /* an mrnet_route_weights_mode: paper (0, the default) */
} mrnet_config;

/* How the input features are normalised before fst_conv.
 *   INSTANCE (the paper): each feature row of each example is standardised
 *     over its own frames (InstanceNorm1d), which removes the example's
 *     per-band level and spread, i.e. its spectral envelope.
 *   GLOBAL: each input feature (s, l, d) is standardised with a fixed mean and
 *     standard deviation, the tensors input_norm.mean and input_norm.std
 *     (S, L, D) of the checkpoint, measured on the training set; the envelope
 *     stays visible to the network. */
typedef enum { MRNET_INPUT_NORM_INSTANCE = 0, MRNET_INPUT_NORM_GLOBAL = 1 } mrnet_input_norm;
const char *mrnet_input_norm_name(int input_norm);          /* "instance", "global" */
mrnet_status mrnet_parse_input_norm(const char *name, int *input_norm);

/* The paper's WavLM configuration (D 768, S 2, L 13, C 512, E 128) with K classes. */
void mrnet_config_default(mrnet_config *cfg, int classes);
/* Checks every field; names the first bad one. */
mrnet_status mrnet_config_validate(const mrnet_config *cfg);

/* Route names in route order: "L1","L2","L3","H","M1","M2","M3". */
const char *mrnet_route_name(int route);
/* Parses "L1,M2" style lists into a bit mask (bit j = route j dropped). */
mrnet_status mrnet_parse_routes(const char *list, unsigned *mask);
/* "paper" and "after-norm" for the route-weight placements; and back
 * (MRNET_ERR_ARG naming the choices for any other name). */
const char *mrnet_route_weights_name(int mode);
mrnet_status mrnet_route_weights_parse(const char *name, int *mode);


/* Derived sizes of a configuration. Safe on any configuration: 0 when the
 * fields cannot give a size (channels, scale or se_groups < 1, a size of 0
 * or one that does not fit an int); mrnet_config_validate refuses those. */
int mrnet_config_width(const mrnet_config *cfg);         /* W = floor(3C / scale) */
int mrnet_config_se_bottleneck(const mrnet_config *cfg); /* floor(floor(3C/16) / groups) */
int mrnet_config_asp_hidden(const mrnet_config *cfg);    /* C / 16 */
/* Compact JSON ({"in_dim":..,"dilations":[..],..}) into buf; and back.
 * from_json fills fields present and validates; names the bad field. */
mrnet_status mrnet_config_to_json(const mrnet_config *cfg, char *buf, size_t size);
mrnet_status mrnet_config_from_json(const char *json, mrnet_config *cfg);

/* ---- The model ------------------------------------------------------------
 * One flat buffer of trainable parameters, one of their gradients, one of
 * batch-norm running statistics; activations in a workspace planned once for
 * the largest batch and length (mrnet_model_reserve), so a training step
 * allocates nothing.
 *
 * Threads. Every call that runs the model writes to it: mrnet_forward fills
 * the workspace (with train false too) and, in training, the batch-norm
 * running statistics. So a model, even a loaded one that only classifies, is
 * used by one thread at a time; open one per thread to run several at once
 * (distinct models share no state). mrnet_last_error() is per thread. Inside
 * the calls the work runs on OpenMP threads, up to omp_get_max_threads() of
 * the calling thread; called from inside a parallel region, the convolutions
 * run on the calling thread alone. The count may change between calls: the
 * workspace records the count it was planned for, mrnet_forward and
 * mrnet_model_reserve re-plan for a larger one, and mrnet_backward uses at
 * most the count its forward was planned for, so a count raised in between
 * takes effect from the next forward. Results depend on the count only
 * through float reordering. */
typedef struct mrnet_model mrnet_model;

/* A new model with PyTorch's default initialisation drawn from seed. */
mrnet_status mrnet_model_create(const mrnet_config *cfg, uint64_t seed, mrnet_model **out);
void mrnet_model_free(mrnet_model *model);
const mrnet_config *mrnet_model_config(const mrnet_model *model);

/* Trainable parameter count (with or without the classifier head). */
size_t mrnet_model_param_count(const mrnet_model *model, bool with_head);
/* Plans the workspace for up to max_batch samples and max_batch*max_frames
 * frames in all (so also one track of max_batch*max_frames frames), and for
 * the current OpenMP thread count. It only grows; mrnet_forward grows it when
 * needed (a larger input or thread count), outside any training step. */
mrnet_status mrnet_model_reserve(mrnet_model *model, int max_batch, int max_frames);
/* Bytes of the planned workspace (activations and their gradients); 0 before
 * the first reserve or forward. */
size_t mrnet_model_workspace_bytes(const mrnet_model *model);
/* Training-time options: dropout probability (0.5 in the recipe; in [0, 1),
 * MRNET_ERR_ARG otherwise, the model unchanged) and the routes switched off
 * (bit j = route j, see mrnet_route_name). */
mrnet_status mrnet_model_set_dropout(mrnet_model *model, float p);
float mrnet_model_dropout(const mrnet_model *model);
mrnet_status mrnet_model_set_drop_routes(mrnet_model *model, unsigned mask);
unsigned mrnet_model_drop_routes(const mrnet_model *model);
/* Seeds the dropout stream; the state can be saved and restored for resume. */
void mrnet_model_set_rng(mrnet_model *model, uint64_t state);
uint64_t mrnet_model_rng(const mrnet_model *model);

/* Class names (NULL when unnamed). The model keeps copies. */
mrnet_status mrnet_model_set_labels(mrnet_model *model, char *const *labels, int n);
const char *mrnet_model_label(const mrnet_model *model, int k);

/* Forward pass. input (B, S, L, T, D) float32, row-major. train selects batch
 * statistics, dropout and caching for mrnet_backward (B >= 2 needed, as in
 * PyTorch). embedding (B, E) and logits (B, K) may each be NULL. */
mrnet_status mrnet_forward(mrnet_model *model, const float *input, int B, int T, bool train,
                           float *embedding, float *logits);
/* Backward of the last training forward with weighted cross entropy
 * (class_weight (K) or NULL for ones; labels (B) in [0, K)). Gradients are
 * overwritten, not accumulated. */
mrnet_status mrnet_backward(mrnet_model *model, const int *labels, const float *class_weight,
                            double *loss);
/* The same with soft targets (B, K), each row a distribution over the classes
 * (mixup, label smoothing): loss = sum_b sum_k q_bk w_k (-log p_bk) / sum_b
 * sum_k q_bk w_k, so one-hot rows give mrnet_backward's loss and gradients. */
mrnet_status mrnet_backward_soft(mrnet_model *model, const float *targets,
                                 const float *class_weight, double *loss);

/* What a tensor of the model holds (and so which of data, grad, count is set). */
typedef enum {
    MRNET_TENSOR_PARAMETER = 0,    /* trainable: data and grad */
    MRNET_TENSOR_RUNNING_STAT = 1, /* batch-norm running mean or variance: data */
    MRNET_TENSOR_COUNTER = 2       /* batch-norm num_batches_tracked: count */
} mrnet_tensor_kind;

/* The tensors of the model in checkpoint order (release names, head under
 * "head."). */
typedef struct {
    const char *name;
    mrnet_tensor_kind kind;
    int ndim;
    int64_t shape[5];
    size_t numel;
    float *data;      /* parameters and running statistics */
    float *grad;      /* parameters only */
    int64_t *count;   /* counters only */
    bool in_head;
    bool no_decay;    /* a parameter the optimizer must not decay (mrnet_adamw_set_no_decay):
                         w_all as after-norm gate logits */
} mrnet_tensor_info;
int mrnet_model_tensor_count(const mrnet_model *model);
const mrnet_tensor_info *mrnet_model_tensor(const mrnet_model *model, int index);
const mrnet_tensor_info *mrnet_model_find_tensor(const mrnet_model *model, const char *name);
/* The flat parameter and gradient buffers (n = mrnet_model_param_count(with head)). */
float *mrnet_model_params(mrnet_model *model);
float *mrnet_model_grads(mrnet_model *model);
/* The route weights as they act (7 values, route order). Paper placement:
 * w_all itself (the tensor's data). After-norm: the gate R softmax(w_all)_j
 * over the R live routes, 0 for a dropped one (1 each for uniform w_all),
 * computed from w_all and the route mask at this call into a buffer of the
 * model, valid until the next call or mrnet_model_free. The raw logits are
 * the tensor "w_all" (mrnet_model_find_tensor). */
const float *mrnet_model_route_weights(const mrnet_model *model);

/* ---- Checkpoints (safetensors) -----------------------------------------------
 * Tensors under the release's names (head under "head."), configuration and
 * labels in the metadata. Loading also takes a file with only the release's
 * state dicts: the configuration is then inferred from the shapes (dilations
 * 2,3,4; S = 1 when L = 1, else S = 2, unless in_channels_hint > 0).
 *
 * The metadata key "mrnet.format" holds the file's format version: the
 * lowest that can hold the model, so that a build that cannot compute it
 * refuses it rather than misreading it. 1: the paper's model; 2 (what
 * MRNET_CHECKPOINT_FORMAT counts up to): route_weights or input_norm in
 * mrnet.config, written for an after-norm or globally normalised model only. Loading takes a file without it
 * (written before versions, and release files) and versions up to
 * MRNET_CHECKPOINT_FORMAT; a newer version is MRNET_ERR_UNSUPPORTED, a value
 * that is not a positive integer MRNET_ERR_FORMAT. */
#define MRNET_CHECKPOINT_FORMAT 2
mrnet_status mrnet_model_load(const char *path, int in_channels_hint, mrnet_model **out);
/* Writes atomically. extra_meta: NULL or key/value pairs, NULL-terminated;
 * the model's own keys ("format", "mrnet.format", "mrnet.config",
 * "mrnet.drop_routes", "mrnet.labels") are refused (MRNET_ERR_ARG). */
mrnet_status mrnet_model_save(const mrnet_model *model, const char *path,
                              const char *const *extra_meta);

/* ---- Optimizer and schedule ------------------------------------------------ */
typedef struct mrnet_adamw mrnet_adamw;
/* AdamW (PyTorch 1.13 semantics, optional amsgrad) over n parameters. */
mrnet_status mrnet_adamw_create(size_t n, double beta1, double beta2, double eps,
                                double weight_decay, bool amsgrad, mrnet_adamw **out);
void mrnet_adamw_free(mrnet_adamw *opt);
/* Exempts the model's parameters marked no_decay (mrnet_tensor_info) from
 * weight decay, as a PyTorch parameter group with weight_decay 0 would; for
 * an optimizer over the model's flat parameters (mrnet_model_params, n =
 * mrnet_model_param_count(model, true)), MRNET_ERR_SHAPE otherwise. A model
 * with none marked (the paper's) leaves the optimizer as it is. */
mrnet_status mrnet_adamw_set_no_decay(mrnet_adamw *opt, const mrnet_model *model);
/* One step at learning rate lr: params -= update(grads). */
void mrnet_adamw_step(mrnet_adamw *opt, float *params, const float *grads, double lr);
int64_t mrnet_adamw_steps(const mrnet_adamw *opt);
size_t mrnet_adamw_size(const mrnet_adamw *opt); /* n */
/* The optimizer's state buffers, n floats each. */
typedef enum {
    MRNET_ADAMW_EXP_AVG = 0,       /* first moment m */
    MRNET_ADAMW_EXP_AVG_SQ = 1,    /* second moment v */
    MRNET_ADAMW_MAX_EXP_AVG_SQ = 2 /* running max of v (amsgrad; stays 0 without it) */
} mrnet_adamw_buffer;
/* State access for checkpoints: the buffer, or NULL (with a message) for a
 * value that names none. */
float *mrnet_adamw_state(mrnet_adamw *opt, mrnet_adamw_buffer which);
void mrnet_adamw_set_steps(mrnet_adamw *opt, int64_t steps);

/* Learning rate of epoch e (1-based) under cosine annealing with warm
 * restarts set once per epoch (the recipe: T0 1000, T_mult 2, 1e-3 -> 5e-4). */
double mrnet_cosine_restart_lr(long epoch, double lr_max, double lr_min, long T0, long T_mult);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
