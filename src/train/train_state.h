/* The state of a training run in one safetensors file (last.safetensors):
 * the model (as any checkpoint), the AdamW state as optim.exp_avg,
 * optim.exp_avg_sq, optim.max_exp_avg_sq (flat, parameter order), and the
 * loop's position, history and options as JSON in the metadata key
 * "train.state". Written atomically, so a crash leaves the previous state.
 *
 * The checkpoint part carries "mrnet.format" (mrnet/model.h); the training
 * part its own version in "train.format", MRNET_TRAIN_STATE_FORMAT, checked
 * the same way on loading (absent: written before versions, accepted). */
#ifndef MRNET_TRAIN_TRAIN_STATE_H
#define MRNET_TRAIN_TRAIN_STATE_H

#include <cjson/cJSON.h>
#include "mrnet/mrnet.h"

#define MRNET_TRAIN_STATE_FORMAT 1

/* A flat float tensor saved beside the state, such as the weight average
 * ("train.ema"); data NULL for none. */
typedef struct {
    const char *name;
    float *data;
    size_t n;
} train_state_extra;

/* extra_meta: NULL or NULL-terminated key/value pairs (e.g. mrnet.features);
 * extra: NULL or a tensor to save too. */
mrnet_status train_state_save(const char *path, const mrnet_model *model, mrnet_adamw *opt,
                              const train_state_extra *extra, const cJSON *state,
                              const char *const *extra_meta);
/* Loads the optimizer state (and extra, when not NULL: it must be there with
 * its size) and returns the JSON state (caller deletes); the model comes from
 * mrnet_model_load on the same file. */
mrnet_status train_state_load(const char *path, mrnet_adamw *opt, const train_state_extra *extra,
                              cJSON **state);

#endif
