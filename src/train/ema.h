/* An exponential moving average of the model's weights (parameters and
 * batch-norm running statistics), the "EMA" or Polyak average that evens out
 * the epoch-to-epoch swings of a small data set: validation and the best
 * checkpoint use the average, training goes on with the raw weights. */
#ifndef MRNET_TRAIN_EMA_H
#define MRNET_TRAIN_EMA_H

#include <stddef.h>
#include <stdint.h>
#include "mrnet/mrnet.h"

typedef struct {
    float *shadow; /* params then running statistics, as the model's flat buffers */
    size_t n_params, n_running;
    double decay;
} weight_ema;

/* The average starts at the model's current weights. */
mrnet_status ema_create(weight_ema *e, mrnet_model *model, double decay);
void ema_free(weight_ema *e);
size_t ema_size(const weight_ema *e);
/* After optimizer step `step` (1-based): shadow += (1 - d) (w - shadow) with
 * d = min(decay, (1 + step) / (10 + step)), so early steps are not frozen
 * into the average. */
void ema_update(weight_ema *e, mrnet_model *model, int64_t step);
/* Exchanges the model's weights with the average; twice restores both. */
void ema_swap(weight_ema *e, mrnet_model *model);

/* Replaces the model's weights with the average saved in the training
 * state at path ("train.ema", trainer_save_last): what validation saw. */
mrnet_status ema_load_average(const char *path, mrnet_model *model);

#endif
