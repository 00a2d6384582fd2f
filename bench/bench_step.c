/* mrnet side of the benchmark (bench/run_bench.sh runs it next to
 * bench/bench_torch.py): the paper configuration (D 768, S 2, L 13, C 512,
 * E 128, K 8) at T frames.
 *
 *   bench_step [--batches 8,48] [--T 300] [--repeats 3] [--what forward,train_step]
 *              [--in-dim D --in-channels S --layers L]   (e.g. 48 1 1 for log-mel)
 *              [--channels C --embed E]
 *
 * Per measurement: one warm-up, then the median of --repeats; one JSON line
 * {"impl":"mrnet","what":..,"B":..,"T":..,"ms":..,"samples_per_s":..,"threads":..}.
 *   forward     eval mode: network + head, logits
 *   train_step  train mode, dropout 0.5: forward, weighted CE, backward, AdamW step */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mrnet/mrnet.h"
#include "tensor/rng.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    mrnet_model *model;
    mrnet_adamw *opt;
    float *input, *logits;
    int *labels;
    int B, T;
} bench_state;

static int run_once(bench_state *s, bool train)
{
    if (!train)
        return mrnet_forward(s->model, s->input, s->B, s->T, false, NULL, s->logits) != MRNET_OK;
    double loss;
    if (mrnet_forward(s->model, s->input, s->B, s->T, true, NULL, s->logits) != MRNET_OK ||
        mrnet_backward(s->model, s->labels, NULL, &loss) != MRNET_OK)
        return 1;
    mrnet_adamw_step(s->opt, mrnet_model_params(s->model), mrnet_model_grads(s->model), 1e-3);
    return 0;
}

static double median_ms(bench_state *s, bool train, int repeats)
{
    double times[64];
    if (run_once(s, train)) { /* warm-up */
        fprintf(stderr, "bench_step: %s\n", mrnet_last_error());
        exit(1);
    }
    for (int r = 0; r < repeats; r++) {
        double t0 = now_ms();
        run_once(s, train);
        times[r] = now_ms() - t0;
    }
    qsort(times, (size_t)repeats, sizeof *times, cmp_double);
    return times[repeats / 2];
}

int main(int argc, char **argv)
{
    const char *batches = "8,48", *what = "forward,train_step";
    int T = 300, repeats = 3;
    mrnet_config cfg;
    mrnet_config_default(&cfg, 8);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batches")) batches = argv[i + 1];
        else if (!strcmp(argv[i], "--T")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeats")) repeats = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--what")) what = argv[i + 1];
        else if (!strcmp(argv[i], "--in-dim")) cfg.in_dim = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--in-channels")) cfg.in_channels = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--layers")) cfg.n_layers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--channels")) cfg.channels = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--embed")) cfg.embed = atoi(argv[i + 1]);
        else { fprintf(stderr, "bench_step: unknown option %s\n", argv[i]); return 2; }
    }
    if (repeats < 1 || repeats > 64 || T < 1) {
        fprintf(stderr, "bench_step: bad --repeats or --T\n");
        return 2;
    }
    char list[256];
    snprintf(list, sizeof list, "%s", batches);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        bench_state s = {.B = atoi(tok), .T = T};
        size_t n = (size_t)s.B * cfg.in_channels * cfg.n_layers * (size_t)T * cfg.in_dim;
        s.input = malloc(n * sizeof(float));
        s.logits = malloc((size_t)s.B * cfg.classes * sizeof(float));
        s.labels = malloc((size_t)s.B * sizeof(int));
        uint64_t rng = 42;
        for (size_t k = 0; k < n; k++)
            s.input[k] = rng_normal(&rng);
        for (int b = 0; b < s.B; b++)
            s.labels[b] = b % cfg.classes;
        if (mrnet_model_create(&cfg, 1, &s.model) != MRNET_OK ||
            mrnet_model_reserve(s.model, s.B, T) != MRNET_OK ||
            mrnet_adamw_create(mrnet_model_param_count(s.model, true), 0.9, 0.999, 1e-8, 1e-4,
                               true, &s.opt) != MRNET_OK) {
            fprintf(stderr, "bench_step: %s\n", mrnet_last_error());
            return 1;
        }
        for (int pass = 0; pass < 2; pass++) {
            const char *name = pass ? "train_step" : "forward";
            if (!strstr(what, name))
                continue;
            double ms = median_ms(&s, pass == 1, repeats);
            printf("{\"impl\":\"mrnet\",\"what\":\"%s\",\"B\":%d,\"T\":%d,\"ms\":%.1f,"
                   "\"samples_per_s\":%.2f,\"threads\":%d,\"workspace_gib\":%.2f}\n",
                   name, s.B, T, ms, s.B * 1e3 / ms, omp_get_max_threads(),
                   mrnet_model_workspace_bytes(s.model) / 1073741824.0);
            fflush(stdout);
        }
        mrnet_adamw_free(s.opt);
        mrnet_model_free(s.model);
        free(s.input);
        free(s.logits);
        free(s.labels);
    }
    return 0;
}
