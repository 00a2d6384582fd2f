/* Training with the paper's recipe on a feature store (data/featstore.h):
 * AdamW (amsgrad) with cosine warm restarts set per epoch, mini-batches of
 * random 6-second crops (wrap-padded), Gaussian noise per mini-batch, class
 * weights, dropout, validation on the first 6 seconds every epoch, best and
 * last checkpoints written atomically.
 *
 * Reproducibility: every random draw comes from a stream derived from the
 * seed and its position (epoch, batch, example), never from shared state,
 * so a run is the same for any thread count (up to float reordering) and a
 * resumed run continues exactly where the interrupted one stopped. */
#ifndef MRNET_TRAIN_TRAINER_H
#define MRNET_TRAIN_TRAINER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "train/augment.h"
#include "mrnet/mrnet.h"

struct mrnet_train_progress;

typedef struct {
    /* data */
    int valid_fold;       /* >= 0: entries of this fold validate, other folds train;
                             -1: the split column ("train" / "valid") */
    double crop_seconds;  /* 6 */
    double frame_rate;    /* frames per second; 0: from the store's settings */
    int valid_view;       /* mrnet_view: MRNET_VIEW_CROP (the recipe's first 6 s), or
                             MRNET_VIEW_WINDOWS (whole clips, steadier) */
    /* recipe */
    int epochs;           /* 1000 */
    int batch;            /* 48; the last partial batch is dropped */
    double lr_max, lr_min; /* 1e-3, 5e-4 */
    long restart_epochs, restart_mult; /* T_0 1000, T_mult 2 */
    double weight_decay;  /* 1e-4 */
    float dropout;        /* 0.5 */
    bool class_weights;   /* max count / count per class */
    bool noise;           /* Gaussian noise on the features */
    bool noise_per_example; /* draw mean/std per example instead of per batch */
    mrnet_noise_config noise_cfg;
    unsigned drop_routes; /* route ablation mask */
    uint64_t seed;
    /* model (in_dim, in_channels come from the store; n_layers 1) */
    int channels, embed, dilations[MRNET_BLOCKS], scale, se_groups;
    /* output */
    const char *out_dir;  /* last.safetensors, best.safetensors, log.jsonl, curve.svg */
    bool resume;          /* continue out_dir/last.safetensors */
    bool select_macro_f1; /* best checkpoint by macro-F1 instead of accuracy */
    volatile sig_atomic_t *stop; /* set by a signal: save and return INTERRUPTED */
    void (*progress)(void *ctx, const struct mrnet_train_progress *p);
    void *progress_ctx;
} mrnet_train_options;

typedef struct mrnet_train_progress {
    int epoch, epochs;
    int batch, batches;     /* batches done in this epoch, of */
    double loss, accuracy;  /* running means of this epoch */
    double samples_per_s;
    double lr;
    bool epoch_done;        /* validation figures below are set */
    double valid_loss, valid_accuracy, valid_macro_f1;
    bool best;              /* this epoch is the best so far */
} mrnet_train_progress;

typedef struct {
    int epochs_run;         /* epochs completed in total */
    int best_epoch;
    double best_accuracy, best_macro_f1;
    double last_accuracy, last_macro_f1;
    int n_train, n_valid;
    double seconds;
} mrnet_train_result;

void mrnet_train_options_default(mrnet_train_options *opt);
/* Trains on the store in store_dir. MRNET_ERR_INTERRUPTED when stopped (the
 * state is saved; run again with resume). */
mrnet_status mrnet_train(const char *store_dir, const mrnet_train_options *opt, mrnet_train_result *res);

#endif
