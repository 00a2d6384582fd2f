/* Per-clip statistics of stored features and their standardisation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/baseline.h"
#include "tensor/error.h"

// features (rows, T) -> out: [mean (rows) | std (rows) | delta mean (rows) | delta std (rows)]
void mrnet_baseline_clip_statistics(const float *features, int rows, int64_t T, double *out)
{
    for (int r = 0; r < rows; r++) {
        const float *x = features + (size_t)r * (size_t)T;
        /* two passes in double: clips are short, and the one-pass formula
         * loses the std of a loud band to cancellation */
        double sum = 0, dsum = 0;
        for (int64_t t = 0; t < T; t++)
            sum += x[t];
        for (int64_t t = 0; t + 1 < T; t++)
            dsum += (double)x[t + 1] - x[t];
        double mean = sum / (double)T, dmean = T > 1 ? dsum / (double)(T - 1) : 0;
        double var = 0, dvar = 0;
        for (int64_t t = 0; t < T; t++)
            var += (x[t] - mean) * (x[t] - mean);
        for (int64_t t = 0; t + 1 < T; t++) {
            double d = (double)x[t + 1] - x[t] - dmean;
            dvar += d * d;
        }
        out[r] = mean;
        out[rows + r] = sqrt(var / (double)T);
        out[2 * rows + r] = dmean;
        out[3 * rows + r] = T > 1 ? sqrt(dvar / (double)(T - 1)) : 0;
    }
}

void baseline_standardisation(const double *x, int n, int f, double *mean, double *std)
{
    for (int j = 0; j < f; j++) {
        double s = 0, v = 0;
        for (int i = 0; i < n; i++)
            s += x[(size_t)i * f + j];
        double m = n > 0 ? s / n : 0;
        for (int i = 0; i < n; i++) {
            double d = x[(size_t)i * f + j] - m;
            v += d * d;
        }
        double sd = n > 0 ? sqrt(v / n) : 0;
        mean[j] = m;
        std[j] = sd > 1e-12 * (fabs(m) + 1) ? sd : 1; /* a constant feature stays centred, unscaled */
    }
}

void baseline_standardise(double *x, int n, int f, const double *mean, const double *std)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < f; j++)
            x[(size_t)i * f + j] = (x[(size_t)i * f + j] - mean[j]) / std[j];
}

mrnet_status baseline_entry_features(const mrnet_store *store, const int *entries, int n, int S, int L,
                                     int D, const double *mean, const double *std, double *out)
{
    int rows = S * L * D, f = 4 * rows;
    mrnet_status first = MRNET_OK;
    char message[1024] = "";
    /* every entry on its own: the result does not depend on the thread count */
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < n; i++) {
        const mrnet_store_entry *e = mrnet_store_get(store, entries[i]);
        mrnet_status st = MRNET_OK;
        float *x = NULL;
        if (e->S != S || e->L != L || e->D != D)
            st = mrnet_fail(MRNET_ERR_SHAPE, "%s: features (S %d, L %d, D %d), the baseline's are (S %d, L %d, D %d)",
                            e->source, e->S, e->L, e->D, S, L, D);
        else if (!(x = malloc((size_t)rows * (size_t)e->T * sizeof *x)))
            st = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for %lld frames", e->source, (long long)e->T);
        else
            st = mrnet_store_read_all(store, entries[i], x);
        if (st == MRNET_OK)
            mrnet_baseline_clip_statistics(x, rows, e->T, out + (size_t)i * f);
        free(x);
        if (st != MRNET_OK) {
#pragma omp critical
            if (first == MRNET_OK) {
                first = st;
                snprintf(message, sizeof message, "%s", mrnet_last_error());
            }
        }
    }
    if (first != MRNET_OK)
        return mrnet_fail(first, "%s", message);
    for (size_t k = 0; k < (size_t)n * f; k++)
        if (!isfinite(out[k]))
            return mrnet_fail(MRNET_ERR_NUMERIC, "%s: a clip statistic is not finite",
                              mrnet_store_get(store, entries[k / f])->source);
    if (mean && std)
        baseline_standardise(out, n, f, mean, std);
    return MRNET_OK;
}
