/* mrnet/train.h: training with the paper's recipe, with progress and cancellation */
#ifndef MRNET_TRAIN_H
#define MRNET_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <mrnet/common.h>
#include <mrnet/model.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Training with the paper's recipe on a feature store (mrnet/store.h):
 * AdamW (amsgrad) with cosine warm restarts set per epoch, mini-batches of
 * random 6-second crops (wrap-padded), Gaussian noise per mini-batch, class
 * weights, dropout, validation on the first 6 seconds every epoch, best and
 * last checkpoints written atomically.
 *
 * Reproducibility: every random draw comes from a stream derived from the
 * seed and its position (epoch, batch, example), never from shared state,
 * so a run is the same for any thread count (up to float reordering) and a
 * resumed run continues exactly where the interrupted one stopped. */

/* GaussianNoise(p=0.7, mean=[-0.03, 0.03], std=[0.05, 0.1]) of the release:
 * with probability p one mean and one standard deviation are drawn and
 * N(mean, std^2) is added to every value of the mini-batch. */
typedef struct {
    float p;                 /* probability of applying */
    float mean_lo, mean_hi;  /* mean ~ U(mean_lo, mean_hi) */
    float std_lo, std_hi;    /* std ~ U(std_lo, std_hi) */
} mrnet_noise_config;
void mrnet_noise_default(mrnet_noise_config *cfg);

struct mrnet_train_progress;

typedef struct {
    /* data */
    int valid_fold;       /* >= 0: entries of this fold validate, other folds train;
                             -1: the split column ("train" / "valid"; see valid_holdout) */
    double crop_seconds;  /* 6 */
    double frame_rate;    /* frames per second; 0: from the store's settings */
    int valid_view;       /* an mrnet_view (mrnet/infer.h): MRNET_VIEW_CROP (the recipe's first 6 s), or
                             MRNET_VIEW_WINDOWS (whole clips, steadier) */
    /* recipe */
    int epochs;           /* 1000 */
    int batch;            /* 48; the last partial batch is dropped */
    double lr_max, lr_min; /* 1e-3, 5e-4 */
    long restart_epochs, restart_mult; /* T_0 1000, T_mult 2; T_0 0: one cycle over the run
                                          (epochs + 1, so the last epoch is at the cycle's end) */
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
    int route_weights;    /* an mrnet_route_weights_mode: paper (the default) or after-norm */
    /* output */
    const char *out_dir;  /* last.safetensors, best.safetensors, log.jsonl, curve.svg */
    const char *task;     /* what the classes are ("genre", "mood"; NULL: not said),
                             recorded in best.safetensors' model card ("mrnet.card") */
    bool resume;          /* continue out_dir/last.safetensors */
    bool select_macro_f1; /* best checkpoint by macro-F1 instead of accuracy */
    volatile sig_atomic_t *stop; /* set by a signal: save and return INTERRUPTED */
    void (*progress)(void *ctx, const struct mrnet_train_progress *p);
    void *progress_ctx;
    /* 0.15: when the split column gives no "valid" entry, this share of the
     * training groups (entries without a group count one each), stratified
     * by class and drawn with seed (mrnet_folds_assign_split), validates
     * instead; the progress callback gets a note saying so, and the log
     * records it. 0: no hold-out (the best epoch is then the best training
     * accuracy). */
    double valid_holdout;
    /* ---- beyond the paper (mrnet_train_options_robust sets them; the
     * defaults here are the paper's recipe, unchanged) ---- */
    int input_norm;          /* model input: MRNET_INPUT_NORM_INSTANCE (paper), or GLOBAL:
                                standardised with the training set's per-feature mean and
                                std, measured before the first epoch, kept in the checkpoint */
    double ema_decay;        /* 0: off. Else an exponential moving average of the weights
                                (this decay per step) is what validates and what best and
                                the checkpoint hold; the raw weights go on training */
    bool crops_by_duration;  /* false: one crop per training entry an epoch (paper). true:
                                max(1, round(frames / crop)) crops of each entry an epoch,
                                so an epoch covers the audio once whatever the clip length */
    int time_masks;          /* SpecAugment: masks per example across time ... */
    double time_mask_seconds; /* ... each up to this long */
    int freq_masks;          /* ... and across features (bands) ... */
    int freq_mask_bands;     /* ... each up to this many; a masked value becomes the
                                example's mean of that feature over the crop */
    double mixup_alpha;      /* 0: off. Else mixup: each batch is mixed with a permutation
                                of itself, lambda ~ Beta(alpha, alpha) folded to [0.5, 1],
                                inputs and targets alike */
    double label_smoothing;  /* 0: off. Else the targets are (1 - this) one-hot + this / K */
    /* ---- several processes (mrnet/parallel.h; NULL: this one) ----
     * Each batch is shared by the collective's processes, each computing
     * its slice; gradients are summed, so every process keeps the same
     * weights. Only rank 0 writes files and calls progress. Results match
     * one process's up to float reordering when sync_bn is set. */
    const struct mrnet_collective *comm;
    bool sync_bn;            /* batch statistics over the whole batch, not each slice */
} mrnet_train_options;

/* mrnet's recipe for collections of a few hours of audio (docs/RECIPES.md):
 * the options a measurement on real music kept. Sets every field that
 * differs from mrnet_train_options_default; call it on a default, then
 * override what you like. */
void mrnet_train_options_robust(mrnet_train_options *opt);

typedef struct mrnet_train_progress {
    int epoch, epochs;
    int batch, batches;     /* batches done in this epoch, of */
    double loss, accuracy;  /* running means of this epoch */
    double samples_per_s;
    double lr;
    bool epoch_done;        /* validation figures below are set */
    double valid_loss, valid_accuracy, valid_macro_f1;
    bool best;              /* this epoch is the best so far */
    /* Not NULL: a message about the run (the validation hold-out), sent once
     * before the first batch; the other fields are then 0. */
    const char *note;
} mrnet_train_progress;

typedef struct {
    int epochs_run;         /* epochs completed in total */
    int best_epoch;
    double best_accuracy, best_macro_f1;
    double last_accuracy, last_macro_f1;
    int n_train, n_valid;
    double seconds;
    int n_held_out;         /* validation entries held out of the training split (valid_holdout) */
} mrnet_train_result;

void mrnet_train_options_default(mrnet_train_options *opt);
/* Trains on the store in store_dir. MRNET_ERR_INTERRUPTED when stopped (the
 * state is saved; run again with resume). */
mrnet_status mrnet_train(const char *store_dir, const mrnet_train_options *opt, mrnet_train_result *res);

/* ---- Cross-validation --------------------------------------------------------
 * For each fold k of the store's labelled entries: train on the other folds
 * (validating on k every epoch, as the release does) into OUT/fold-k/, then
 * evaluate the last epoch's model on fold k over whole tracks. Writes
 * OUT/cv.json (mean, std and values over folds) and OUT/confusion.svg (summed
 * over folds). */

typedef struct {
    int fold;
    double accuracy, macro_f1;
    int n_train, n_test;
} mrnet_cv_fold;

typedef struct {
    mrnet_train_options train; /* out_dir: OUT; valid_fold and out_dir are set per fold */
    int view;                  /* an mrnet_view for the test: MRNET_VIEW_WINDOWS */
    const int *folds;          /* only these folds (n_folds of them); NULL: every fold */
    int n_folds;
    /* Called before each fold's training and after its evaluation (may be NULL). */
    void (*on_fold_start)(void *ctx, int fold);
    void (*on_fold_done)(void *ctx, const mrnet_cv_fold *result);
    void *fold_ctx;
} mrnet_cv_options;

#define MRNET_CV_MAX_FOLDS 256

typedef struct {
    int n_folds;                        /* folds done */
    mrnet_cv_fold folds[MRNET_CV_MAX_FOLDS];
    double mean_accuracy, std_accuracy, mean_macro_f1, std_macro_f1;
} mrnet_cv_result;

void mrnet_cv_options_default(mrnet_cv_options *opt);
/* MRNET_ERR_ARG when the store has fewer than 2 folds; MRNET_ERR_INTERRUPTED
 * when stopped (folds done keep their folders; run again with resume). */
mrnet_status mrnet_cross_validate(const char *store_dir, const mrnet_cv_options *opt,
                                  mrnet_cv_result *result);

/* ---- Route ablation (the paper's Table 3) -------------------------------------
 * Trains the full model and one model per route dropped in training
 * (mrnet_train_options.drop_routes), each with `seeds` seeds (train.seed,
 * train.seed + 1, ...), into OUT/full-s<seed>/ and OUT/drop-<route>-s<seed>/,
 * and evaluates each run's best checkpoint on the store's test split (else
 * valid) with `view`. Rows: the full model, then L1 L2 L3 H M1 M2 M3. Writes
 * OUT/ablate.json (per row: the values, mean and sample std, and the mean's
 * difference from the full model) and OUT/ablate.svg (mean accuracy and
 * macro-F1 per row). A run whose folder holds a finished evaluation
 * (result.json) is not trained again, and a run with a last.safetensors is
 * resumed, so an interrupted ablation continues where it stopped. */

#define MRNET_ABLATE_MAX_SEEDS 32

typedef struct {
    mrnet_train_options train; /* out_dir: OUT; drop_routes, seed and out_dir are set per run */
    int seeds;                 /* runs per row, 1..MRNET_ABLATE_MAX_SEEDS */
    int view;                  /* an mrnet_view for the test: MRNET_VIEW_WINDOWS */
    /* Called before each run's training and after its evaluation (may be NULL). */
    void (*on_run_start)(void *ctx, const char *run);
    void (*on_run_done)(void *ctx, const char *run, double accuracy, double macro_f1);
    void *run_ctx;
} mrnet_ablate_options;

typedef struct {
    char name[16];             /* "full" or the dropped route ("L1" ...) */
    unsigned dropped;          /* route mask of the row (0 for the full model) */
    int n;                     /* seeds run */
    double accuracy[MRNET_ABLATE_MAX_SEEDS], macro_f1[MRNET_ABLATE_MAX_SEEDS];
    double mean_accuracy, std_accuracy, mean_macro_f1, std_macro_f1;
    double delta_accuracy, delta_macro_f1; /* mean minus the full model's mean */
} mrnet_ablate_row;

typedef struct {
    int n_rows;                /* 1 + MRNET_ROUTES */
    mrnet_ablate_row rows[1 + MRNET_ROUTES];
    const char *split;         /* the split evaluated ("test" or "valid") */
} mrnet_ablate_result;

void mrnet_ablate_options_default(mrnet_ablate_options *opt);
/* MRNET_ERR_ARG without a test or valid split or with a bad seed count;
 * MRNET_ERR_INTERRUPTED when stopped (run again to continue). */
mrnet_status mrnet_ablate(const char *store_dir, const mrnet_ablate_options *opt, mrnet_ablate_result *result);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
