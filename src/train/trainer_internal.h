/* Shared by trainer.c (the loop) and trainer_state.c (saving, resuming and
 * reporting a run). */
#ifndef MRNET_TRAIN_TRAINER_INTERNAL_H
#define MRNET_TRAIN_TRAINER_INTERNAL_H

#include <cjson/cJSON.h>

#include "store/featstore.h"
#include "train/ema.h"
#include "mrnet/parallel.h"
#include "train/trainer.h"

typedef struct {
    double train_loss, train_acc, valid_loss, valid_acc, valid_f1, lr, seconds;
    /* several processes (in log.jsonl, not in the resumable state): their
     * count and the epoch's seconds in sums over them (gradients, batch
     * statistics, the loss) */
    int processes;
    double comm_seconds;
} epoch_record;

typedef struct {
    const mrnet_train_options *opt;
    mrnet_store *store;
    char *const *labels;
    int n_labels;
    int *train, n_train, *valid, n_valid;
    int *epoch_items, n_epoch_items; /* training entries of an epoch, before shuffling
                                        (repeated per crops_by_duration) */
    weight_ema ema;                  /* shadow NULL when opt->ema_decay is 0 */
    int S, L, D;
    int64_t crop;
    int64_t mask_frames; /* widest time mask */
    mrnet_model *model;
    mrnet_adamw *adamw;
    float *class_weight;
    float *input, *feat, *logits;
    int *batch_labels;
    /* soft targets (mixup or label smoothing; NULL otherwise): the batch's
     * targets (B, K), a copy for mixup, and mixup's partners (B) */
    float *targets, *targets_copy;
    int *partner;
    /* position and history */
    int epoch;          /* 1-based epoch in progress */
    int next_batch;     /* first batch of `epoch` still to run */
    double loss_sum;    /* over the batches of `epoch` done */
    long correct, seen;
    epoch_record *history;
    int n_history;
    int best_epoch;
    double best_metric;
    char path_last[4096], path_best[4096], path_log[4096], path_curve[4096];
    char settings[1024];
    int n_held_out;     /* validation entries held out of the training split */
    char note[256];     /* "" or what the run says about its validation set */
    int lock_fd; /* the run folder's lock (tensor/fileio.h), -1 when not held */
    char store_path[4096]; /* the store, absolute when it resolves, for the model card */
    const mrnet_collective *comm; /* opt->comm: NULL in one process */
    double comm_seconds;          /* in sums over processes, this epoch */
    /* mixup in a data-parallel run: inputs of partners another process
     * holds (B, slot), built here from their own streams */
    float *partner_input;
    int *all_labels; /* (B) the whole batch's labels, for its soft targets */
    int *local_ks;   /* (B / processes) this process's example indices */
} trainer;

/* ---- data-parallel runs (parallel.c) ---- */
typedef struct {
    int lo, hi; /* this process's examples [lo, hi) of a batch */
} batch_slice;
bool trainer_is_root(const trainer *t); /* rank 0, or one process: writes the files */
int trainer_ranks(const trainer *t);
batch_slice trainer_slice(const trainer *t, int B);
/* Every process's status: the lowest failing rank's, named (mrnet/parallel.h). */
mrnet_status trainer_agree(const trainer *t, mrnet_status st);
double trainer_sum(const trainer *t, double v);
bool trainer_any(const trainer *t, bool flag);
/* Puts the model in data-parallel mode for batches of B (B >= processes). */
mrnet_status trainer_parallel_setup(trainer *t, int B);
/* The batch's gradient from the slices'; running statistics averaged
 * unless they are synchronised. */
void trainer_sum_gradients(trainer *t);
/* The replicas' weights are identical (agreed). */
mrnet_status trainer_check_replicas(const trainer *t);

/* With no valid entries (split column) and opt->valid_holdout > 0: moves a
 * seeded, stratified share of the training groups into t->valid and writes
 * t->note. */
mrnet_status trainer_hold_out_valid(trainer *t);
/* T_0 of the schedule: restart_epochs, or for 0 one cycle over the run. The
 * schedule's epoch e sits at T_cur = e (the release), so a cycle of `epochs`
 * epochs needs T_0 = epochs + 1 to end low. */
static inline long trainer_restart_epochs(const mrnet_train_options *o)
{
    return o->restart_epochs > 0 ? o->restart_epochs : (long)o->epochs + 1;
}
/* MRNET_INPUT_NORM_GLOBAL: the training entries' mean and standard deviation
 * of every input feature into the model's input_norm tensors. */
mrnet_status trainer_input_statistics(trainer *t);
/* The options a resumed run must share with the interrupted one (JSON). */
cJSON *trainer_options_json(const trainer *t);
/* The model card of best.safetensors ("mrnet.card"): task, data, the kept
 * epoch's validation figures, mrnet's version, the date. */
cJSON *trainer_model_card(const trainer *t, const epoch_record *r);
/* last.safetensors: model, optimizer, position and history. */
mrnet_status trainer_save_last(trainer *t);
/* Continues from last.safetensors when it exists: the options must match,
 * every field of the state is range-checked against the store and the
 * options, and parameters and optimizer moments must be finite. */
mrnet_status trainer_resume(trainer *t);
/* MRNET_ERR_NUMERIC naming the epoch and the first tensor (parameter,
 * running statistic, optimizer moment) holding NaN or an infinity. */
mrnet_status trainer_check_finite(trainer *t);
/* log.jsonl and curve.svg from the history. */
mrnet_status trainer_write_log(const trainer *t);
mrnet_status trainer_write_curve(const trainer *t);

#endif
