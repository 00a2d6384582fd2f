/* The training set's statistics for MRNET_INPUT_NORM_GLOBAL: the mean and
 * standard deviation of every input feature (s, l, d) over all frames of the
 * training entries, in double with a per-feature shift (the first entry's
 * mean), so that large means next to a small spread (WavLM hidden states)
 * do not cancel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"
#include "train/trainer_internal.h"

/* Adds entry `index` (S*L*D rows of T frames) to the sums. */
static mrnet_status add_entry(trainer *t, int index, float *buf, size_t rows, double *shift,
                              double *sum, double *sq, bool first)
{
    const mrnet_store_entry *e = mrnet_store_get(t->store, index);
    MRNET_TRY(mrnet_store_read_all(t->store, index, buf));
    for (size_t r = 0; r < rows; r++) {
        const float *x = buf + r * (size_t)e->T;
        if (first) {
            double m = 0;
            for (int64_t k = 0; k < e->T; k++)
                m += x[k];
            shift[r] = m / (double)e->T;
        }
        double s = 0, q = 0;
        for (int64_t k = 0; k < e->T; k++) {
            double d = x[k] - shift[r];
            s += d;
            q += d * d;
        }
        sum[r] += s;
        sq[r] += q;
    }
    return MRNET_OK;
}

mrnet_status trainer_input_statistics(trainer *t)
{
    mrnet_tensor_info *mean = (mrnet_tensor_info *)mrnet_model_find_tensor(t->model, "input_norm.mean");
    mrnet_tensor_info *sd = (mrnet_tensor_info *)mrnet_model_find_tensor(t->model, "input_norm.std");
    if (!mean || !sd)
        return mrnet_fail(MRNET_ERR_ARG, "input statistics: the model has no input_norm tensors");
    size_t rows = (size_t)t->S * t->L * t->D;
    int64_t longest = 0, frames = 0;
    for (int i = 0; i < t->n_train; i++) {
        int64_t T = mrnet_store_get(t->store, t->train[i])->T;
        longest = T > longest ? T : longest;
        frames += T;
    }
    double *acc = calloc(3 * rows, sizeof(double));
    float *buf = malloc(rows * (size_t)longest * sizeof(float));
    mrnet_status st = acc && buf ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory for input statistics");
    for (int i = 0; st == MRNET_OK && i < t->n_train; i++)
        st = add_entry(t, t->train[i], buf, rows, acc, acc + rows, acc + 2 * rows, i == 0);
    for (size_t r = 0; st == MRNET_OK && r < rows; r++) {
        double m = acc[rows + r] / (double)frames;
        double var = acc[2 * rows + r] / (double)frames - m * m;
        mean->data[r] = (float)(acc[r] + m);
        /* a constant feature keeps unit scale instead of dividing by ~0 */
        sd->data[r] = var > 1e-10 ? (float)sqrt(var) : 1.0f;
        if (!isfinite(mean->data[r]) || !isfinite(sd->data[r]))
            st = mrnet_fail(MRNET_ERR_NUMERIC, "input statistics: feature %zu is not finite", r);
    }
    free(acc);
    free(buf);
    return st;
}
