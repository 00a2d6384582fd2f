#include "train/train_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

/* The AdamW buffers under their file names (torch's state keys). */
static const struct {
    mrnet_adamw_buffer which;
    const char *name;
} optim_tensors[] = {{MRNET_ADAMW_EXP_AVG, "optim.exp_avg"},
                     {MRNET_ADAMW_EXP_AVG_SQ, "optim.exp_avg_sq"},
                     {MRNET_ADAMW_MAX_EXP_AVG_SQ, "optim.max_exp_avg_sq"}};
#define N_OPTIM_TENSORS (sizeof optim_tensors / sizeof optim_tensors[0])

mrnet_status train_state_save(const char *path, const mrnet_model *model, mrnet_adamw *opt,
                              const train_state_extra *extra, const cJSON *state,
                              const char *const *extra_meta)
{
    mrnet_st_writer *w = mrnet_st_writer_create();
    char *json = cJSON_PrintUnformatted(state);
    if (!w || !json) {
        mrnet_st_writer_free(w);
        free(json);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    }
    int64_t n = (int64_t)mrnet_model_param_count(model, true);
    int64_t steps = mrnet_adamw_steps(opt);
    mrnet_status st = model_add_tensors(model, w);
    for (size_t k = 0; k < N_OPTIM_TENSORS && st == MRNET_OK; k++)
        st = mrnet_st_writer_add(w, optim_tensors[k].name, MRNET_F32, 1, &n,
                           mrnet_adamw_state(opt, optim_tensors[k].which));
    if (st == MRNET_OK)
        st = mrnet_st_writer_add(w, "optim.step", MRNET_I64, 0, NULL, &steps);
    int64_t n_extra = extra ? (int64_t)extra->n : 0;
    if (st == MRNET_OK && extra && extra->data)
        st = mrnet_st_writer_add(w, extra->name, MRNET_F32, 1, &n_extra, extra->data);
    if (st == MRNET_OK)
        st = model_add_metadata(model, w);
    char version[16];
    snprintf(version, sizeof version, "%d", MRNET_TRAIN_STATE_FORMAT);
    if (st == MRNET_OK)
        st = mrnet_st_writer_meta(w, "train.format", version);
    if (st == MRNET_OK)
        st = mrnet_st_writer_meta(w, "train.state", json);
    for (int i = 0; st == MRNET_OK && extra_meta && extra_meta[i]; i += 2)
        st = mrnet_st_writer_meta(w, extra_meta[i], extra_meta[i + 1] ? extra_meta[i + 1] : "");
    if (st == MRNET_OK)
        st = mrnet_st_writer_save(w, path);
    mrnet_st_writer_free(w);
    free(json);
    return st;
}

mrnet_status train_state_load(const char *path, mrnet_adamw *opt, const train_state_extra *extra,
                              cJSON **state)
{
    *state = NULL;
    mrnet_st_file *f;
    MRNET_TRY(mrnet_st_open(path, &f));
    mrnet_status st = model_check_format(path, "train.format", mrnet_st_meta(f, "train.format"),
                                         MRNET_TRAIN_STATE_FORMAT);
    for (size_t k = 0; k < N_OPTIM_TENSORS && st == MRNET_OK; k++) {
        const char *name = optim_tensors[k].name;
        const mrnet_st_tensor *t = mrnet_st_find(f, name);
        st = t ? mrnet_st_copy_to_f32(f, t, mrnet_adamw_state(opt, optim_tensors[k].which),
                                (int64_t)mrnet_adamw_size(opt))
               : mrnet_fail(MRNET_ERR_FORMAT, "%s: no '%s': not a training state (last.safetensors)",
                            path, name);
    }
    if (st == MRNET_OK && extra && extra->data) {
        const mrnet_st_tensor *t = mrnet_st_find(f, extra->name);
        st = t ? mrnet_st_copy_to_f32(f, t, extra->data, (int64_t)extra->n)
               : mrnet_fail(MRNET_ERR_FORMAT, "%s: no '%s' (the options ask for it)", path, extra->name);
    }
    const mrnet_st_tensor *step = mrnet_st_find(f, "optim.step");
    if (st == MRNET_OK && (!step || step->dtype != MRNET_I64 || step->numel != 1))
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s: 'optim.step' missing or not one int64", path);
    if (st == MRNET_OK) {
        int64_t steps;
        memcpy(&steps, step->data, 8);
        mrnet_adamw_set_steps(opt, steps);
        const char *json = mrnet_st_meta(f, "train.state");
        *state = json ? cJSON_Parse(json) : NULL;
        if (!cJSON_IsObject(*state)) {
            cJSON_Delete(*state);
            *state = NULL;
            st = mrnet_fail(MRNET_ERR_FORMAT, "%s: metadata 'train.state' missing or not JSON", path);
        }
    }
    mrnet_st_close(f);
    return st;
}
