/* AdamW as torch.optim.AdamW computes it in PyTorch 1.13 (single-tensor path,
 * torch/optim/adamw.py): decoupled weight decay applied first, then
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  vmax = max(vmax, v) (amsgrad)
 *   p -= lr/(1-b1^t) * m / (sqrt(vmax)/sqrt(1-b2^t) + eps).
 * Scalars are formed in double as Python does, then used in float32.
 * Parameters marked in no_decay (mrnet_adamw_set_no_decay) skip the decay,
 * as a parameter group with weight_decay 0: p * 1 is p exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mrnet/mrnet.h"
#include "tensor/error.h"

struct mrnet_adamw {
    size_t n;
    double beta1, beta2, eps, weight_decay; /* double, as Python holds them */
    bool amsgrad;
    int64_t steps;
    float *exp_avg, *exp_avg_sq, *max_exp_avg_sq;
    unsigned char *no_decay; /* (n) 1: not decayed; NULL: every parameter decayed */
};

mrnet_status mrnet_adamw_create(size_t n, double beta1, double beta2, double eps,
                                double weight_decay, bool amsgrad, mrnet_adamw **out)
{
    *out = NULL;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) ||
        !(weight_decay >= 0))
        return mrnet_fail(MRNET_ERR_ARG,
                          "AdamW: betas (%g, %g) must be in [0,1), eps %g and weight decay %g >= 0",
                          beta1, beta2, eps, weight_decay);
    mrnet_adamw *o = calloc(1, sizeof *o);
    if (!o)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for the optimizer");
    *o = (mrnet_adamw){n, beta1, beta2, eps, weight_decay, amsgrad, 0, NULL, NULL, NULL, NULL};
    o->exp_avg = calloc(n ? n : 1, sizeof(float));
    o->exp_avg_sq = calloc(n ? n : 1, sizeof(float));
    o->max_exp_avg_sq = calloc(n ? n : 1, sizeof(float));
    if (!o->exp_avg || !o->exp_avg_sq || !o->max_exp_avg_sq) {
        mrnet_adamw_free(o);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for the optimizer state (%zu values)", n);
    }
    *out = o;
    return MRNET_OK;
}

void mrnet_adamw_free(mrnet_adamw *o)
{
    if (!o)
        return;
    free(o->exp_avg);
    free(o->exp_avg_sq);
    free(o->max_exp_avg_sq);
    free(o->no_decay);
    free(o);
}

mrnet_status mrnet_adamw_set_no_decay(mrnet_adamw *o, const mrnet_model *model)
{
    size_t n = mrnet_model_param_count(model, true);
    if (o->n != n)
        return mrnet_fail(MRNET_ERR_SHAPE,
                          "AdamW: the optimizer holds %zu parameters, the model %zu", o->n, n);
    const float *base = mrnet_model_params((mrnet_model *)model);
    for (int i = 0; i < mrnet_model_tensor_count(model); i++) {
        const mrnet_tensor_info *t = mrnet_model_tensor(model, i);
        if (t->kind != MRNET_TENSOR_PARAMETER || !t->no_decay)
            continue;
        if (!o->no_decay && !(o->no_decay = calloc(n, 1)))
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for the weight-decay mask");
        memset(o->no_decay + (t->data - base), 1, t->numel);
    }
    return MRNET_OK;
}

void mrnet_adamw_step(mrnet_adamw *o, float *params, const float *grads, double lr)
{
    o->steps++;
    double t = (double)o->steps;
    float decay = (float)(1.0 - lr * o->weight_decay);
    float b1 = (float)o->beta1, b2 = (float)o->beta2, one_b1 = (float)(1.0 - o->beta1),
          one_b2 = (float)(1.0 - o->beta2);
    float step_size = (float)(lr / (1.0 - pow(o->beta1, t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow(o->beta2, t));
    float eps = (float)o->eps;
    bool ams = o->amsgrad;
    float *m = o->exp_avg, *v = o->exp_avg_sq, *vmax = o->max_exp_avg_sq;
    const unsigned char *keep = o->no_decay;
    size_t n = o->n;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        float p = params[i] * (keep && keep[i] ? 1.0f : decay);
        m[i] = m[i] * b1 + g * one_b1;
        v[i] = v[i] * b2 + one_b2 * g * g;
        float second = v[i];
        if (ams) {
            vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
            second = vmax[i];
        }
        float denom = sqrtf(second) / bc2_sqrt + eps;
        params[i] = p - step_size * (m[i] / denom);
    }
}

int64_t mrnet_adamw_steps(const mrnet_adamw *o) { return o->steps; }
size_t mrnet_adamw_size(const mrnet_adamw *o) { return o->n; }
void mrnet_adamw_set_steps(mrnet_adamw *o, int64_t steps) { o->steps = steps; }

float *mrnet_adamw_state(mrnet_adamw *o, mrnet_adamw_buffer which)
{
    switch (which) {
    case MRNET_ADAMW_EXP_AVG: return o->exp_avg;
    case MRNET_ADAMW_EXP_AVG_SQ: return o->exp_avg_sq;
    case MRNET_ADAMW_MAX_EXP_AVG_SQ: return o->max_exp_avg_sq;
    }
    /* an int cast to the enum can hold anything */
    mrnet_fail(MRNET_ERR_ARG, "AdamW: no state buffer %d (0 exp_avg, 1 exp_avg_sq, "
               "2 max_exp_avg_sq)", (int)which);
    return NULL;
}
