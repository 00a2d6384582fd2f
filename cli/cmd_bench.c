/* mrnet bench: training and inference speed on random data, against the
 * machine's own sgemm rate on the model's largest GEMM shape, measured in
 * the same run (mrnet/bench.h). */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <mrnet/mrnet.h>
#include "cli_util.h"
#include "commands.h"

typedef struct {
    const char *config;
    long channels, batch, T, threads, repeats;
    bool train, infer, json;
} bench_args;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet bench [--config paper|mel] [--channels C] [--batch B] [--T N]\n"
            "                   [--mode train|infer|both] [--dtype f32] [--threads N] [--repeats R] [--json]\n"
            "Times training steps (forward, loss, backward, AdamW) and inference passes on random\n"
            "data: a warm-up, then the median of R repeats. Prints ms per step, samples/s, the\n"
            "achieved GFLOP/s of the convolution, linear and SE products (counted while running),\n"
            "the sgemm rate this machine reaches on the model's largest product shape (measured\n"
            "first, every thread multiplying at once) and the share of it, and the peak RSS.\n"
            "  --config C    paper: WavLM Base+ input (D 768, S 2, L 13, C 512, E 128, K 8);\n"
            "                mel: 48-band log-mel (D 48, S 1, L 1, C 128, E 128, K 8)\n"
            "  --channels C  the network's width instead of the config's\n"
            "  --batch B     (default 48 for train, 16 for infer)   --T N  frames (300)\n"
            "  --threads N   OpenMP threads (default: OMP_NUM_THREADS or all)\n"
            "  --json        one JSON object per line: mode, config, batch, T, threads, dtype, ms,\n"
            "                samples_per_s, gflops, sgemm_gflops, peak_share, peak_rss_mb\n");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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

static mrnet_status step(bench_state *s, bool train)
{
    if (!train)
        return mrnet_forward(s->model, s->input, s->B, s->T, false, NULL, s->logits);
    double loss;
    MRNET_TRY(mrnet_forward(s->model, s->input, s->B, s->T, true, NULL, s->logits));
    MRNET_TRY(mrnet_backward(s->model, s->labels, NULL, &loss));
    mrnet_adamw_step(s->opt, mrnet_model_params(s->model), mrnet_model_grads(s->model), 1e-3);
    return MRNET_OK;
}

static mrnet_status setup(const bench_args *a, const mrnet_config *cfg, int B, bench_state *s)
{
    memset(s, 0, sizeof *s);
    s->B = B;
    s->T = (int)a->T;
    size_t n = (size_t)B * cfg->in_channels * cfg->n_layers * (size_t)s->T * cfg->in_dim;
    s->input = malloc(n * sizeof(float));
    s->logits = malloc((size_t)B * cfg->classes * sizeof(float));
    s->labels = malloc((size_t)B * sizeof(int));
    if (!s->input || !s->logits || !s->labels)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for a batch of %d x %d frames", B, s->T);
    uint32_t x = 12345;
    for (size_t k = 0; k < n; k++) { /* a cheap LCG: the numbers only need to be non-degenerate */
        x = x * 1664525u + 1013904223u;
        s->input[k] = (float)(x >> 8) / 16777216.0f - 0.5f;
    }
    for (int b = 0; b < B; b++)
        s->labels[b] = b % cfg->classes;
    MRNET_TRY(mrnet_model_create(cfg, 1, &s->model));
    MRNET_TRY(mrnet_model_reserve(s->model, B, s->T));
    return mrnet_adamw_create(mrnet_model_param_count(s->model, true), 0.9, 0.999, 1e-8, 1e-4, true, &s->opt);
}

static void teardown(bench_state *s)
{
    mrnet_adamw_free(s->opt);
    mrnet_model_free(s->model);
    free(s->input);
    free(s->logits);
    free(s->labels);
}

static mrnet_status measure(const bench_args *a, const mrnet_config *cfg, bool train)
{
    int B = (int)(a->batch > 0 ? a->batch : train ? 48 : 16);
    bench_state s;
    mrnet_status st = setup(a, cfg, B, &s);
    int64_t largest[3] = {0};
    double flops = 0, ms[64];
    if (st == MRNET_OK) { /* the warm-up counts the products */
        mrnet_flops_start();
        st = step(&s, train);
        flops = mrnet_flops_stop(largest);
    }
    for (int r = 0; st == MRNET_OK && r < a->repeats; r++) {
        double t0 = now_ms();
        st = step(&s, train);
        ms[r] = now_ms() - t0;
    }
    if (st == MRNET_OK) {
        qsort(ms, (size_t)a->repeats, sizeof *ms, cmp_double);
        double med = ms[a->repeats / 2], gflops = flops / (med * 1e6);
        double sgemm = mrnet_sgemm_gflops(largest[0], largest[1], largest[2], 1.0);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double rss_mb = ru.ru_maxrss / 1024.0;
        const char *mode = train ? "train" : "infer";
        if (a->json)
            printf("{\"mode\":\"%s\",\"config\":\"%s\",\"channels\":%d,\"batch\":%d,\"T\":%d,\"threads\":%d,"
                   "\"dtype\":\"f32\",\"ms\":%.2f,\"samples_per_s\":%.2f,\"gflops\":%.2f,\"sgemm_gflops\":%.2f,"
                   "\"sgemm_shape\":[%lld,%lld,%lld],\"peak_share\":%.3f,\"gflop_per_step\":%.3f,\"peak_rss_mb\":%.1f}\n",
                   mode, a->config, cfg->channels, B, s.T, omp_get_max_threads(), med, B * 1e3 / med, gflops, sgemm,
                   (long long)largest[0], (long long)largest[1], (long long)largest[2],
                   sgemm > 0 ? gflops / sgemm : 0, flops / 1e9, rss_mb);
        else
            printf("%-5s %-5s C %-4d B %-3d T %-5d %d threads: %9.1f ms  %8.1f samples/s  %6.1f GFLOP/s "
                   "(%.2f GFLOP a step)  sgemm %lldx%lldx%lld: %6.1f GFLOP/s  share %4.0f %%  peak RSS %.0f MB\n",
                   mode, a->config, cfg->channels, B, s.T, omp_get_max_threads(), med, B * 1e3 / med, gflops,
                   flops / 1e9, (long long)largest[0], (long long)largest[1], (long long)largest[2], sgemm,
                   sgemm > 0 ? 100 * gflops / sgemm : 0, rss_mb);
        fflush(stdout);
    }
    teardown(&s);
    return st;
}

int cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"channels", required_argument, 0, 'C'},
        {"batch", required_argument, 0, 'b'},  {"T", required_argument, 0, 'T'},
        {"mode", required_argument, 0, 'm'},   {"dtype", required_argument, 0, 'd'},
        {"threads", required_argument, 0, 'j'}, {"repeats", required_argument, 0, 'r'},
        {"json", no_argument, 0, 'J'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    bench_args a = {.config = "paper", .T = 300, .repeats = 3, .train = true, .infer = true};
    int c, index = 0;
    while ((c = getopt_long(argc, argv, "h", opts, &index)) != -1) {
        bool ok = true;
        switch (c) {
        case 'c': a.config = optarg; ok = !strcmp(optarg, "paper") || !strcmp(optarg, "mel"); break;
        case 'C': ok = cli_parse_int(optarg, 8, 4096, &a.channels) && a.channels % 8 == 0; break;
        case 'b': ok = cli_parse_int(optarg, 1, 4096, &a.batch); break;
        case 'T': ok = cli_parse_int(optarg, 8, 100000, &a.T); break;
        case 'm':
            ok = !strcmp(optarg, "train") || !strcmp(optarg, "infer") || !strcmp(optarg, "both");
            a.train = strcmp(optarg, "infer") != 0;
            a.infer = strcmp(optarg, "train") != 0;
            break;
        case 'd':
            if (!strcmp(optarg, "bf16"))
                return cli_error("bench", 2, "--dtype bf16: bf16 inference is not in mrnet yet (issue 12); "
                                 "f32 is what this build runs");
            ok = !strcmp(optarg, "f32");
            break;
        case 'j': ok = cli_parse_int(optarg, 1, 1024, &a.threads); break;
        case 'r': ok = cli_parse_int(optarg, 1, 64, &a.repeats); break;
        case 'J': a.json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok)
            return cli_error("bench", 2, "bad value '%s' for --%s (--config paper|mel, --channels a multiple of 8, "
                             "--mode train|infer|both, --dtype f32)", optarg, opts[index].name);
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (a.threads > 0)
        omp_set_num_threads((int)a.threads);
    mrnet_config cfg;
    mrnet_config_default(&cfg, 8);
    if (!strcmp(a.config, "mel")) {
        cfg.in_dim = 48;
        cfg.in_channels = 1;
        cfg.n_layers = 1;
        cfg.channels = 128;
    }
    if (a.channels > 0)
        cfg.channels = (int)a.channels;
    for (int pass = 0; pass < 2; pass++) {
        bool train = pass == 0;
        if (train ? !a.train : !a.infer)
            continue;
        mrnet_status st = measure(&a, &cfg, train);
        if (st != MRNET_OK)
            return cli_fail("bench", st);
    }
    return 0;
}
