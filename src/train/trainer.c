/* The training loop of the recipe (see trainer.h). */
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/featstore.h"
#include "tensor/error.h"
#include "tensor/fileio.h"
#include "tensor/rng.h"
#include "infer/infer.h"
#include "eval/metrics.h"
#include "train/train_state.h"
#include "train/augment.h"
#include "model/model.h"
#include "train/trainer_internal.h"

void mrnet_train_options_default(mrnet_train_options *o)
{
    *o = (mrnet_train_options){.valid_fold = -1, .crop_seconds = 6.0, .epochs = 1000, .batch = 48,
                           .lr_max = 1e-3, .lr_min = 5e-4, .restart_epochs = 1000,
                           .restart_mult = 2, .weight_decay = 1e-4, .dropout = 0.5f,
                           .class_weights = true, .noise = true, .channels = 512, .embed = 128,
                           .dilations = {2, 3, 4}, .scale = 8, .se_groups = 3,
                           .valid_holdout = 0.15};
    mrnet_noise_default(&o->noise_cfg);
}

/* Chosen on the real-music set's valid split (docs/RECIPES.md, where each
 * choice is measured). */
void mrnet_train_options_robust(mrnet_train_options *o)
{
    o->input_norm = MRNET_INPUT_NORM_GLOBAL; /* the spectral envelope stays visible */
    o->noise = false; /* on raw features it swamps the quiet bands (and the mean shift survives) */
    o->ema_decay = 0.999;
    o->crops_by_duration = true;
    o->valid_view = MRNET_VIEW_WINDOWS;
    o->select_macro_f1 = true;
    o->time_masks = 2;
    o->time_mask_seconds = 0.5;
    o->freq_masks = 2;
    o->freq_mask_bands = 6;
    o->dropout = 0.2f;
    o->channels = 64;
    o->embed = 64;
    o->epochs = 25;
    o->restart_epochs = 0; /* one cosine cycle over the run, whatever --epochs */
    o->batch = 32;
}

/* Random streams: one per (purpose, epoch, batch, example). */
enum { STREAM_SHUFFLE = 1, STREAM_CROP, STREAM_NOISE, STREAM_DROPOUT, STREAM_MASK, STREAM_MIXUP,
       STREAM_NOISE_VALUES };

static uint64_t stream(uint64_t seed, int purpose, long epoch, long batch, long example)
{
    uint64_t s = seed;
    s = rng_derive(s, (uint64_t)purpose);
    s = rng_derive(s, (uint64_t)epoch);
    s = rng_derive(s, (uint64_t)batch);
    return rng_derive(s, (uint64_t)example);
}

/* ---- set-up ------------------------------------------------------------------ */

static mrnet_status split_entries(trainer *t)
{
    int n = mrnet_store_count(t->store);
    t->train = malloc((size_t)(n ? n : 1) * sizeof(int));
    t->valid = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!t->train || !t->valid)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const mrnet_store_entry *e = mrnet_store_get(t->store, i);
        if (e->label_index < 0)
            continue;
        if (t->n_train + t->n_valid == 0) {
            t->S = e->S;
            t->L = e->L;
            t->D = e->D;
        } else if (e->S != t->S || e->L != t->L || e->D != t->D) {
            return mrnet_fail(MRNET_ERR_SHAPE, "%s: features (S %d, L %d, D %d) differ from (S %d, L %d, D %d)",
                              e->source, e->S, e->L, e->D, t->S, t->L, t->D);
        }
        bool is_valid = t->opt->valid_fold >= 0 ? e->fold == t->opt->valid_fold
                                                : !strcmp(e->split, "valid");
        bool is_train = t->opt->valid_fold >= 0 ? (e->fold >= 0 && !is_valid)
                                                : !strcmp(e->split, "train");
        if (is_valid)
            t->valid[t->n_valid++] = i;
        else if (is_train)
            t->train[t->n_train++] = i;
    }
    MRNET_TRY(trainer_hold_out_valid(t));
    if (t->n_train < 2)
        return mrnet_fail(MRNET_ERR_ARG,
                          "%d labelled training entries (need 2 or more): set the split column "
                          "to train/valid, or use folds",
                          t->n_train);
    return MRNET_OK;
}

/* Class weight k = (largest class count) / (count of k) over the training set. */
static mrnet_status make_class_weights(trainer *t)
{
    int K = t->n_labels;
    t->class_weight = calloc((size_t)K, sizeof(float));
    long *count = calloc((size_t)K, sizeof(long));
    if (!t->class_weight || !count) {
        free(count);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    long largest = 0;
    for (int i = 0; i < t->n_train; i++)
        count[mrnet_store_get(t->store, t->train[i])->label_index]++;
    for (int k = 0; k < K; k++)
        largest = count[k] > largest ? count[k] : largest;
    for (int k = 0; k < K; k++)
        t->class_weight[k] = (!t->opt->class_weights || !count[k]) ? 1.0f
                                                                   : (float)largest / (float)count[k];
    free(count);
    return MRNET_OK;
}

static mrnet_status create_model(trainer *t)
{
    const mrnet_train_options *o = t->opt;
    mrnet_config cfg = {.in_dim = t->D, .in_channels = t->S, .n_layers = t->L,
                        .channels = o->channels, .embed = o->embed, .classes = t->n_labels,
                        .scale = o->scale, .se_groups = o->se_groups,
                        .input_norm = o->input_norm, .route_weights = o->route_weights};
    memcpy(cfg.dilations, o->dilations, sizeof cfg.dilations);
    MRNET_TRY(mrnet_model_create(&cfg, o->seed, &t->model));
    MRNET_TRY(mrnet_model_set_labels(t->model, t->labels, t->n_labels));
    MRNET_TRY(mrnet_model_set_drop_routes(t->model, o->drop_routes));
    MRNET_TRY(mrnet_model_set_dropout(t->model, o->dropout));
    MRNET_TRY(mrnet_adamw_create(mrnet_model_param_count(t->model, true), 0.9, 0.999, 1e-8,
                                 o->weight_decay, true, &t->adamw));
    return mrnet_adamw_set_no_decay(t->adamw, t->model);
}

/* ---- one epoch ---------------------------------------------------------------- */

/* The entries an epoch draws crops from: each training entry once (the
 * paper), or max(1, round(T / crop)) times (crops_by_duration). */
static long crops_of(const trainer *t, int entry)
{
    if (!t->opt->crops_by_duration)
        return 1;
    long r = lround((double)mrnet_store_get(t->store, entry)->T / (double)t->crop);
    return r < 1 ? 1 : r;
}

static mrnet_status make_epoch_items(trainer *t)
{
    long n = 0;
    for (int i = 0; i < t->n_train; i++)
        n += crops_of(t, t->train[i]);
    if (n > INT32_MAX / 2)
        return mrnet_fail(MRNET_ERR_ARG, "%ld crops an epoch: too many", n);
    if (!(t->epoch_items = malloc((size_t)n * sizeof(int))))
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    n = 0;
    for (int i = 0; i < t->n_train; i++)
        for (long k = crops_of(t, t->train[i]); k > 0; k--)
            t->epoch_items[n++] = t->train[i];
    t->n_epoch_items = (int)n;
    return MRNET_OK;
}

/* Fisher-Yates shuffle of the epoch's training entries. */
static void shuffled(const trainer *t, int epoch, int *order)
{
    uint64_t rng = stream(t->opt->seed, STREAM_SHUFFLE, epoch, 0, 0);
    memcpy(order, t->epoch_items, (size_t)t->n_epoch_items * sizeof(int));
    for (int i = t->n_epoch_items - 1; i > 0; i--) {
        int j = (int)rng_below(&rng, (uint64_t)i + 1);
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

/* Global example k of the batch (entry `entry`): its random crop into x
 * (S, L, crop, D) through the read buffer feat, then its masks. */
static mrnet_status build_example(trainer *t, int entry, int epoch, int batch, int k, float *feat,
                                  float *x)
{
    const mrnet_store_entry *e = mrnet_store_get(t->store, entry);
    uint64_t rng = stream(t->opt->seed, STREAM_CROP, epoch, batch, k);
    int64_t t0 = augment_random_start(&rng, e->T, t->crop);
    MRNET_TRY(mrnet_store_read(t->store, entry, t0, t->crop, feat));
    mrnet_features_to_input(feat, t->S * t->L, t->D, t->crop, x);
    uint64_t mask_rng = stream(t->opt->seed, STREAM_MASK, epoch, batch, k);
    augment_mask(&mask_rng, x, t->S * t->L, t->crop, t->D, t->opt->time_masks, t->mask_frames,
                 t->opt->freq_masks, t->opt->freq_mask_bands);
    return MRNET_OK;
}

/* Examples ks[0..n) of the batch into out (n, slot), in parallel. */
static mrnet_status build_examples(trainer *t, const int *entries, const int *ks, int n, int epoch,
                                   int batch, float *out)
{
    size_t slot = (size_t)t->S * t->L * t->D * (size_t)t->crop;
    mrnet_status first_error = MRNET_OK;
    char message[1024] = "";
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < n; i++) {
        mrnet_status st = build_example(t, entries[ks[i]], epoch, batch, ks[i],
                                        t->feat + (size_t)i * slot, out + (size_t)i * slot);
        if (st != MRNET_OK) {
#pragma omp critical
            if (first_error == MRNET_OK) {
                first_error = st;
                snprintf(message, sizeof message, "%s", mrnet_last_error());
            }
        }
    }
    if (first_error != MRNET_OK)
        return mrnet_fail(first_error, "training batch: %s", message);
    return MRNET_OK;
}

/* Mixup of this process's rows: the partner permutation and lambda are drawn
 * for the whole batch, so a row is mixed with the same partner whichever
 * process holds it; a partner another process holds is built here from its
 * own streams. Targets (B, K) are mixed for the whole batch. */
static mrnet_status mix_batch(trainer *t, const int *entries, int B, batch_slice s, int epoch,
                              int batch)
{
    size_t slot = (size_t)t->S * t->L * t->D * (size_t)t->crop;
    int K = t->n_labels, n = s.hi - s.lo;
    uint64_t rng = stream(t->opt->seed, STREAM_MIXUP, epoch, batch, 0);
    const double lambda = augment_mixup_pairs(&rng, t->opt->mixup_alpha, B, t->partner);
    int *remote = malloc((size_t)n * sizeof *remote), n_remote = 0;
    if (!remote)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for mixup");
    for (int b = s.lo; b < s.hi; b++) {
        int p = t->partner[b];
        if (p < s.lo || p >= s.hi)
            remote[n_remote++] = p;
    }
    mrnet_status st = n_remote ? build_examples(t, entries, remote, n_remote, epoch, batch,
                                                t->partner_input)
                               : MRNET_OK;
    if (st == MRNET_OK) {
        float *x0 = t->feat; /* free now: the unmixed rows */
        memcpy(x0, t->input, (size_t)n * slot * sizeof *x0);
        for (int b = s.lo, r = 0; b < s.hi; b++) {
            int p = t->partner[b];
            const float *xp = (p >= s.lo && p < s.hi) ? x0 + (size_t)(p - s.lo) * slot
                                                      : t->partner_input + (size_t)r++ * slot;
            augment_mix(lambda, t->input + (size_t)(b - s.lo) * slot, xp, slot);
        }
        memcpy(t->targets_copy, t->targets, (size_t)B * K * sizeof *t->targets);
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++) {
                float *q = t->targets + (size_t)b * K;
                const float *qb = t->targets_copy + (size_t)b * K,
                            *qp = t->targets_copy + (size_t)t->partner[b] * K;
                q[k] = (float)lambda * qb[k] + (float)(1.0 - lambda) * qp[k];
            }
    }
    free(remote);
    return st;
}

/* Gaussian noise on this process's rows: per example, or the release's one
 * mean/std per mini-batch, the values of example k from its own stream. */
static void add_noise(trainer *t, int epoch, int batch, batch_slice s)
{
    size_t slot = (size_t)t->S * t->L * t->D * (size_t)t->crop;
    if (t->opt->noise_per_example) {
        for (int k = s.lo; k < s.hi; k++) {
            uint64_t rng = stream(t->opt->seed, STREAM_NOISE, epoch, batch, k + 1);
            augment_gaussian_noise(&rng, &t->opt->noise_cfg, t->input + (size_t)(k - s.lo) * slot,
                                   slot);
        }
        return;
    }
    uint64_t rng = stream(t->opt->seed, STREAM_NOISE, epoch, batch, 0);
    float mean, std;
    if (!augment_noise_draw(&rng, &t->opt->noise_cfg, &mean, &std))
        return;
    for (int k = s.lo; k < s.hi; k++) {
        uint64_t values = stream(t->opt->seed, STREAM_NOISE_VALUES, epoch, batch, k);
        augment_noise_add(&values, mean, std, t->input + (size_t)(k - s.lo) * slot, slot);
    }
}

/* This process's examples [s.lo, s.hi) of the batch `entries` (B) into
 * t->input, with their labels; the soft targets of the whole batch. Every
 * draw comes from the example's global index, so the batch is the same
 * however the processes share it. */
static mrnet_status build_batch(trainer *t, const int *entries, int B, batch_slice s, int epoch,
                                int batch)
{
    int n = s.hi - s.lo;
    for (int k = 0; k < n; k++)
        t->local_ks[k] = s.lo + k;
    MRNET_TRY(build_examples(t, entries, t->local_ks, n, epoch, batch, t->input));
    for (int k = s.lo; k < s.hi; k++)
        t->batch_labels[k - s.lo] = mrnet_store_get(t->store, entries[k])->label_index;
    if (t->targets) {
        for (int b = 0; b < B; b++)
            t->all_labels[b] = mrnet_store_get(t->store, entries[b])->label_index;
        augment_soft_targets(t->all_labels, B, t->n_labels, t->opt->label_smoothing, t->targets);
        if (t->opt->mixup_alpha > 0 && B >= 2)
            MRNET_TRY(mix_batch(t, entries, B, s, epoch, batch));
    }
    if (t->opt->noise)
        add_noise(t, epoch, batch, s);
    return MRNET_OK;
}

static mrnet_status train_batch(trainer *t, const int *entries, int B, int epoch, int batch,
                                double lr)
{
    batch_slice s = trainer_slice(t, B);
    int n = s.hi - s.lo;
    /* a failed read anywhere stops every process before the first sum */
    MRNET_TRY(trainer_agree(t, build_batch(t, entries, B, s, epoch, batch)));
    mrnet_model_set_rng(t->model, stream(t->opt->seed, STREAM_DROPOUT, epoch, batch, 0));
    model_set_first_sample(t->model, s.lo);
    mrnet_status st = mrnet_forward(t->model, t->input, n, (int)t->crop, true, NULL, t->logits);
    double loss = 0;
    if (st == MRNET_OK)
        st = t->targets ? mrnet_backward_soft(t->model, t->targets + (size_t)s.lo * t->n_labels,
                                              t->class_weight, &loss)
                        : mrnet_backward(t->model, t->batch_labels, t->class_weight, &loss);
    MRNET_TRY(trainer_agree(t, st));
    trainer_sum_gradients(t);
    loss = trainer_sum(t, loss); /* each slice's part of the batch's loss */
    if (!isfinite(loss))
        return mrnet_fail(MRNET_ERR_NUMERIC,
                          "epoch %d batch %d: the loss is %g; the last good state is in %s", epoch,
                          batch + 1, loss, t->path_last);
    mrnet_adamw_step(t->adamw, mrnet_model_params(t->model), mrnet_model_grads(t->model), lr);
    if (t->ema.shadow)
        ema_update(&t->ema, t->model, mrnet_adamw_steps(t->adamw));
    t->loss_sum += loss;
    long correct = 0;
    for (int k = 0; k < n; k++)
        correct += mrnet_argmax(t->logits + (size_t)k * t->n_labels, t->n_labels) == t->batch_labels[k];
    t->correct += lround(trainer_sum(t, (double)correct));
    t->seen += B;
    return MRNET_OK;
}

/* Validation on the first crop of every validation entry. In a
 * data-parallel run each process scores its share of the entries and the
 * probabilities are summed, so every process sees the same figures. */
static mrnet_status validate(trainer *t, epoch_record *r)
{
    r->valid_loss = r->valid_acc = r->valid_f1 = NAN;
    if (t->n_valid == 0)
        return MRNET_OK;
    int K = t->n_labels;
    float *probs = calloc((size_t)t->n_valid * K, sizeof(float));
    mrnet_confusion cm;
    if (!probs || mrnet_confusion_init(&cm, K) != MRNET_OK) {
        free(probs);
        return trainer_agree(t, mrnet_fail(MRNET_ERR_NOMEM, "out of memory for validation"));
    }
    batch_slice share = trainer_slice(t, t->n_valid);
    mrnet_store_source_ctx ctx = {t->store, t->valid + share.lo};
    mrnet_feature_source src = mrnet_store_source(&ctx, share.hi - share.lo);
    mrnet_infer_options eo = {.view = t->opt->valid_view, .crop = t->crop, .hop = t->crop / 2,
                       .batch = t->opt->batch};
    mrnet_status st = share.hi > share.lo
                          ? mrnet_infer_source(t->model, &src, &eo, probs + (size_t)share.lo * K,
                                               NULL, NULL, NULL)
                          : MRNET_OK;
    st = trainer_agree(t, st);
    if (st == MRNET_OK && trainer_ranks(t) > 1)
        t->comm->sum_float(t->comm->ctx, probs, (size_t)t->n_valid * K);
    double loss = 0;
    for (int i = 0; st == MRNET_OK && i < t->n_valid; i++) {
        int y = mrnet_store_get(t->store, t->valid[i])->label_index;
        const float *p = probs + (size_t)i * K;
        loss -= log(p[y] > 1e-12f ? p[y] : 1e-12f);
        mrnet_confusion_add(&cm, y, mrnet_argmax(p, K));
    }
    mrnet_metrics rep;
    if (st == MRNET_OK && (st = mrnet_metrics_compute(&cm, &rep)) == MRNET_OK) {
        r->valid_loss = loss / t->n_valid;
        r->valid_acc = rep.accuracy;
        r->valid_f1 = rep.macro_f1;
        mrnet_metrics_free(&rep);
    }
    mrnet_confusion_free(&cm);
    free(probs);
    return st;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the loop ------------------------------------------------------------------- */

/* best.safetensors from the model as it validates, with the recipe and the
 * model card. */
static mrnet_status save_best(trainer *t, const epoch_record *r)
{
    /* the recipe (noise place included) and the epoch, for the record */
    cJSON *recipe = trainer_options_json(t);
    cJSON_AddNumberToObject(recipe, "epoch", t->epoch);
    char *text = cJSON_PrintUnformatted(recipe);
    cJSON_Delete(recipe);
    cJSON *card = trainer_model_card(t, r);
    char *card_text = card ? cJSON_PrintUnformatted(card) : NULL;
    cJSON_Delete(card);
    const char *meta[] = {"mrnet.features", t->settings, "mrnet.train", text ? text : "{}",
                          "mrnet.card", card_text ? card_text : "{}", NULL};
    mrnet_status st = (text && card_text) ? mrnet_model_save(t->model, t->path_best, meta)
                                          : mrnet_fail(MRNET_ERR_NOMEM, "out of memory for "
                                                       "the checkpoint's metadata");
    free(text);
    free(card_text);
    return st;
}

/* last.safetensors, log.jsonl and curve.svg: rank 0's files. */
static mrnet_status write_outputs(trainer *t)
{
    if (!trainer_is_root(t))
        return MRNET_OK;
    MRNET_TRY(trainer_save_last(t));
    MRNET_TRY(trainer_write_log(t));
    return trainer_write_curve(t);
}

static mrnet_status end_epoch(trainer *t, int batches, double lr, double seconds, bool *best)
{
    epoch_record r = {.train_loss = batches ? t->loss_sum / batches : NAN,
                      .train_acc = t->seen ? (double)t->correct / t->seen : NAN,
                      .lr = lr, .seconds = seconds, .processes = trainer_ranks(t),
                      .comm_seconds = t->comm_seconds};
    t->comm_seconds = 0;
    /* a ReLU can hide NaN weights from the loss: never save them */
    MRNET_TRY(trainer_check_finite(t));
    /* validation and the best checkpoint see the weight average */
    if (t->ema.shadow)
        ema_swap(&t->ema, t->model);
    mrnet_status st = validate(t, &r);
    if (st != MRNET_OK)
        st = mrnet_fail_context(st, "epoch %d: validation", t->epoch);
    double metric = 0;
    if (st == MRNET_OK) {
        t->history[t->n_history++] = r;
        metric = t->n_valid ? (t->opt->select_macro_f1 ? r.valid_f1 : r.valid_acc) : r.train_acc;
        *best = t->best_epoch == 0 || metric > t->best_metric;
        if (*best)
            st = trainer_agree(t, trainer_is_root(t) ? save_best(t, &r) : MRNET_OK);
    }
    if (t->ema.shadow)
        ema_swap(&t->ema, t->model);
    MRNET_TRY(st);
    if (*best) {
        t->best_epoch = t->epoch;
        t->best_metric = metric;
    }
    t->epoch++;
    t->next_batch = 0;
    t->loss_sum = 0;
    t->correct = t->seen = 0;
    MRNET_TRY(trainer_check_replicas(t));
    return trainer_agree(t, write_outputs(t));
}

static mrnet_status run_epochs(trainer *t, mrnet_train_result *res)
{
    const mrnet_train_options *o = t->opt;
    int B = o->batch < t->n_epoch_items ? o->batch : t->n_epoch_items;
    int batches = t->n_epoch_items / B; /* drop_last */
    int *order = malloc((size_t)t->n_epoch_items * sizeof(int));
    if (!order)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    mrnet_status st = MRNET_OK;
    while (st == MRNET_OK && t->epoch <= o->epochs) {
        double lr = mrnet_cosine_restart_lr(t->epoch, o->lr_max, o->lr_min, trainer_restart_epochs(o),
                                            o->restart_mult);
        shuffled(t, t->epoch, order);
        double start = now_seconds();
        int first = t->next_batch;
        for (int b = first; b < batches && st == MRNET_OK; b++) {
            st = train_batch(t, order + (size_t)b * B, B, t->epoch, b, lr);
            if (st != MRNET_OK)
                break;
            t->next_batch = b + 1;
            if (o->progress && trainer_is_root(t)) {
                double el = now_seconds() - start;
                mrnet_train_progress p = {.epoch = t->epoch, .epochs = o->epochs, .batch = b + 1,
                                      .batches = batches,
                                      .loss = t->loss_sum / (b + 1 - 0),
                                      .accuracy = (double)t->correct / t->seen,
                                      .samples_per_s = el > 0 ? (b + 1 - first) * B / el : 0,
                                      .lr = lr};
                o->progress(o->progress_ctx, &p);
            }
            /* a signal to any process stops them all at the same batch */
            if (trainer_any(t, o->stop && *o->stop) && b + 1 < batches) {
                st = trainer_check_finite(t);
                if (st == MRNET_OK && trainer_is_root(t))
                    st = trainer_save_last(t);
                st = trainer_agree(t, st);
                free(order);
                if (st != MRNET_OK)
                    return st;
                return mrnet_fail(MRNET_ERR_INTERRUPTED,
                                  "interrupted in epoch %d after batch %d of %d; state saved in "
                                  "%s (run again with --resume)",
                                  t->epoch, b + 1, batches, t->path_last);
            }
        }
        if (st != MRNET_OK)
            break;
        bool best = false;
        int epoch = t->epoch;
        st = end_epoch(t, batches, lr, now_seconds() - start, &best);
        if (st == MRNET_OK && o->progress && trainer_is_root(t)) {
            const epoch_record *r = &t->history[t->n_history - 1];
            mrnet_train_progress p = {epoch, o->epochs, batches, batches, r->train_loss, r->train_acc,
                                  0, lr, true, r->valid_loss, r->valid_acc, r->valid_f1, best, NULL};
            o->progress(o->progress_ctx, &p);
        }
        if (st == MRNET_OK && trainer_any(t, o->stop && *o->stop) && t->epoch <= o->epochs)
            st = mrnet_fail(MRNET_ERR_INTERRUPTED,
                            "interrupted after epoch %d; state saved in %s (run again with --resume)",
                            epoch, t->path_last);
    }
    free(order);
    if (t->n_history > 0) {
        const epoch_record *last = &t->history[t->n_history - 1];
        const epoch_record *best = &t->history[t->best_epoch - 1];
        *res = (mrnet_train_result){t->n_history, t->best_epoch, best->valid_acc, best->valid_f1,
                                last->valid_acc, last->valid_f1, t->n_train, t->n_valid, 0,
                                t->n_held_out};
    }
    return st;
}

static void trainer_free(trainer *t)
{
    dir_unlock(t->lock_fd);
    mrnet_store_close(t->store);
    free(t->train);
    free(t->valid);
    free(t->epoch_items);
    ema_free(&t->ema);
    mrnet_model_free(t->model);
    mrnet_adamw_free(t->adamw);
    free(t->class_weight);
    free(t->input);
    free(t->feat);
    free(t->logits);
    free(t->batch_labels);
    free(t->targets);
    free(t->targets_copy);
    free(t->partner);
    free(t->all_labels);
    free(t->local_ks);
    free(t->partner_input);
    free(t->history);
}

static mrnet_status check_options(trainer *t)
{
    const mrnet_train_options *o = t->opt;
    if (o->epochs < 1 || o->batch < 2)
        return mrnet_fail(MRNET_ERR_ARG, "epochs (%d) must be >= 1 and batch (%d) >= 2", o->epochs,
                          o->batch);
    if (!(o->ema_decay >= 0 && o->ema_decay < 1))
        return mrnet_fail(MRNET_ERR_ARG, "EMA decay %g must be in [0, 1)", o->ema_decay);
    if (o->time_masks < 0 || o->freq_masks < 0 || o->freq_mask_bands < 0 ||
        !(o->time_mask_seconds >= 0 && o->time_mask_seconds <= 3600))
        return mrnet_fail(MRNET_ERR_ARG, "masks: counts and widths must be >= 0 (time mask %g s)",
                          o->time_mask_seconds);
    if (!(o->mixup_alpha >= 0 && o->mixup_alpha <= 100))
        return mrnet_fail(MRNET_ERR_ARG, "mixup alpha %g must be in [0, 100] (0: off)",
                          o->mixup_alpha);
    if (!(o->label_smoothing >= 0 && o->label_smoothing < 1))
        return mrnet_fail(MRNET_ERR_ARG, "label smoothing %g must be in [0, 1)",
                          o->label_smoothing);
    if (!o->out_dir)
        return mrnet_fail(MRNET_ERR_ARG, "training needs an output folder");
    snprintf(t->path_last, sizeof t->path_last, "%s/last.safetensors", o->out_dir);
    snprintf(t->path_best, sizeof t->path_best, "%s/best.safetensors", o->out_dir);
    snprintf(t->path_log, sizeof t->path_log, "%s/log.jsonl", o->out_dir);
    snprintf(t->path_curve, sizeof t->path_curve, "%s/curve.svg", o->out_dir);
    return MRNET_OK;
}

/* Rank 0's part: the run folder, its lock, a killed run's temporaries. */
static mrnet_status prepare_folder(trainer *t)
{
    const mrnet_train_options *o = t->opt;
    if (!trainer_is_root(t))
        return MRNET_OK;
    MRNET_TRY(mrnet_make_dirs(o->out_dir));
    MRNET_TRY(dir_lock(o->out_dir, "training", &t->lock_fd));
    /* a killed run's temporaries go even when this run has nothing left to write */
    const char *outputs[] = {t->path_last, t->path_best, t->path_log, t->path_curve};
    for (size_t k = 0; k < sizeof outputs / sizeof *outputs; k++)
        remove_stale_temporaries_of(outputs[k]);
    return MRNET_OK;
}

static mrnet_status prepare_run(trainer *t, const char *store_dir)
{
    const mrnet_train_options *o = t->opt;
    MRNET_TRY(mrnet_store_open(store_dir, &t->store));
    if (!realpath(store_dir, t->store_path))
        snprintf(t->store_path, sizeof t->store_path, "%s", store_dir);
    snprintf(t->settings, sizeof t->settings, "%s", mrnet_store_settings(t->store));
    t->labels = mrnet_store_labels(t->store, &t->n_labels);
    if (t->n_labels < 2)
        return mrnet_fail(MRNET_ERR_ARG, "%s: %d classes; training needs labelled entries of 2 or "
                          "more classes", store_dir, t->n_labels);
    MRNET_TRY(split_entries(t));
    double rate = o->frame_rate > 0 ? o->frame_rate : mrnet_features_settings_frame_rate(t->settings);
    if (!(rate > 0))
        return mrnet_fail(MRNET_ERR_ARG, "%s: the store does not tell its frame rate (features "
                          "from .npy files?): give it (--frame-rate)", store_dir);
    t->crop = (int64_t)llround(o->crop_seconds * rate);
    if (t->crop < 1)
        return mrnet_fail(MRNET_ERR_ARG, "crop of %g s at %g frames/s is empty", o->crop_seconds, rate);
    t->mask_frames = (int64_t)llround(o->time_mask_seconds * rate);
    MRNET_TRY(make_class_weights(t));
    MRNET_TRY(make_epoch_items(t));
    MRNET_TRY(create_model(t));
    if (o->input_norm == MRNET_INPUT_NORM_GLOBAL)
        MRNET_TRY(trainer_input_statistics(t));
    if (o->ema_decay > 0)
        MRNET_TRY(ema_create(&t->ema, t->model, o->ema_decay));
    int B = o->batch < t->n_epoch_items ? o->batch : t->n_epoch_items;
    MRNET_TRY(trainer_parallel_setup(t, B));
    batch_slice share = trainer_slice(t, B);
    int n = share.hi - share.lo; /* this process's examples of a batch */
    size_t slot = (size_t)t->S * t->L * t->D * (size_t)t->crop;
    t->input = malloc((size_t)n * slot * sizeof(float));
    t->feat = malloc((size_t)n * slot * sizeof(float));
    t->logits = malloc((size_t)n * t->n_labels * sizeof(float));
    t->batch_labels = malloc((size_t)n * sizeof(int));
    t->local_ks = malloc((size_t)n * sizeof(int));
    t->history = calloc((size_t)o->epochs, sizeof(epoch_record));
    if (!t->input || !t->feat || !t->logits || !t->batch_labels || !t->local_ks || !t->history)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for a batch of %d x %lld frames", n,
                          (long long)t->crop);
    if (o->mixup_alpha > 0 || o->label_smoothing > 0) {
        t->targets = malloc((size_t)B * t->n_labels * sizeof(float));
        t->targets_copy = malloc((size_t)B * t->n_labels * sizeof(float));
        t->partner = malloc((size_t)B * sizeof(int));
        t->all_labels = malloc((size_t)B * sizeof(int));
        if (!t->targets || !t->targets_copy || !t->partner || !t->all_labels)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for the soft targets");
        /* partners another process holds: at most this process's rows */
        if (o->mixup_alpha > 0 && trainer_ranks(t) > 1 &&
            !(t->partner_input = malloc((size_t)n * slot * sizeof(float))))
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for mixup's partners");
    }
    MRNET_TRY(mrnet_model_reserve(t->model, n, (int)t->crop));
    t->epoch = 1;
    return o->resume ? trainer_resume(t) : MRNET_OK;
}

mrnet_status mrnet_train(const char *store_dir, const mrnet_train_options *opt, mrnet_train_result *res)
{
    trainer t = {.opt = opt, .lock_fd = -1, .comm = opt->comm};
    memset(res, 0, sizeof *res);
    double start = now_seconds();
    /* every step that can fail on one process is agreed on before the
     * next collective, so no process waits for one that has given up */
    mrnet_status st = check_options(&t);
    if (st == MRNET_OK)
        st = trainer_agree(&t, prepare_folder(&t));
    if (st == MRNET_OK)
        st = trainer_agree(&t, prepare_run(&t, store_dir));
    if (st == MRNET_OK && t.note[0] && opt->progress && trainer_is_root(&t))
        opt->progress(opt->progress_ctx, &(mrnet_train_progress){.note = t.note});
    if (st == MRNET_OK)
        st = run_epochs(&t, res);
    res->n_train = t.n_train;
    res->n_valid = t.n_valid;
    res->n_held_out = t.n_held_out;
    res->seconds = now_seconds() - start;
    trainer_free(&t);
    return st;
}
