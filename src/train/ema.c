#include "train/ema.h"

#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

mrnet_status ema_create(weight_ema *e, mrnet_model *m, double decay)
{
    *e = (weight_ema){.n_params = m->n_params, .n_running = m->n_running, .decay = decay};
    e->shadow = malloc((e->n_params + e->n_running) * sizeof(float));
    if (!e->shadow)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for the weight average");
    memcpy(e->shadow, m->params, e->n_params * sizeof(float));
    memcpy(e->shadow + e->n_params, m->running, e->n_running * sizeof(float));
    return MRNET_OK;
}

void ema_free(weight_ema *e)
{
    free(e->shadow);
    e->shadow = NULL;
}

size_t ema_size(const weight_ema *e) { return e->n_params + e->n_running; }

static void blend(float *shadow, const float *w, size_t n, float keep)
{
    for (size_t k = 0; k < n; k++)
        shadow[k] = keep * shadow[k] + (1.0f - keep) * w[k];
}

void ema_update(weight_ema *e, mrnet_model *m, int64_t step)
{
    double warm = (1.0 + (double)step) / (10.0 + (double)step);
    float keep = (float)(e->decay < warm ? e->decay : warm);
    blend(e->shadow, m->params, e->n_params, keep);
    blend(e->shadow + e->n_params, m->running, e->n_running, keep);
}

static void swap_floats(float *a, float *b, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        float t = a[k];
        a[k] = b[k];
        b[k] = t;
    }
}

void ema_swap(weight_ema *e, mrnet_model *m)
{
    swap_floats(e->shadow, m->params, e->n_params);
    swap_floats(e->shadow + e->n_params, m->running, e->n_running);
}

mrnet_status ema_load_average(const char *path, mrnet_model *m)
{
    mrnet_st_file *f;
    MRNET_TRY(mrnet_st_open(path, &f));
    const mrnet_st_tensor *t = mrnet_st_find(f, "train.ema");
    size_t n = m->n_params + m->n_running;
    float *avg = malloc(n * sizeof(float));
    mrnet_status st = !t ? mrnet_fail(MRNET_ERR_FORMAT, "%s: no weight average (train.ema)", path)
                      : !avg ? mrnet_fail(MRNET_ERR_NOMEM, "out of memory")
                             : mrnet_st_copy_to_f32(f, t, avg, (int64_t)n);
    if (st == MRNET_OK) {
        memcpy(m->params, avg, m->n_params * sizeof(float));
        memcpy(m->running, avg + m->n_params, m->n_running * sizeof(float));
    }
    free(avg);
    mrnet_st_close(f);
    return st;
}
