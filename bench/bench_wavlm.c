/* WavLM front end speed: mrnet_wavlm_hidden_states on mono clips (bench/
 * run_bench.sh runs it next to bench/bench_wavlm_torch.py).
 *
 *   bench_wavlm [--seconds 6,30] [--threads N] [--repeats 3] [--weights FILE] [--json]
 *
 * Weights: FILE, or the full-size seeded weights of the golden test (seed
 * 20261202, tests/wavlm_seeded.h) written to a temporary file and loaded
 * through the public loader. Input: the seeded test wave of that length.
 * Per clip length: one warm-up, then the median of --repeats, in ms per clip,
 * and the peak RSS of a process that holds the loaded model and runs the
 * forward. Each length runs in a child forked after loading (before any
 * OpenMP team exists), so the peak is not the load's (the mapping and the
 * float32 copy side by side) nor another length's. --json: one line per
 * length, {"impl":"mrnet","what":"wavlm","seconds":..,"threads":..,"ms":..,
 * "peak_rss_mb":..}. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mrnet/mrnet.h"
#include "../tests/wavlm_seeded.h"

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
    double ms, peak_rss_mb;
    int ok;
} result;

/* In the child: warm-up, then the median of `repeats` runs. */
static result measure(const mrnet_wavlm *m, double seconds, int threads, int repeats)
{
    result r = {0};
    omp_set_num_threads(threads);
    const int64_t n = (int64_t)(seconds * MRNET_WAVLM_SAMPLE_RATE);
    const size_t size = (size_t)mrnet_wavlm_states(m) * (size_t)mrnet_wavlm_frames(m, n) *
                        (size_t)mrnet_wavlm_get_config(m)->hidden;
    float *wave = malloc((size_t)n * sizeof *wave), *states = malloc(size * sizeof *states);
    double *ms = malloc((size_t)repeats * sizeof *ms);
    if (!wave || !states || !ms) {
        fprintf(stderr, "bench_wavlm: out of memory\n");
        return r;
    }
    seeded_input(wave, n, SEEDED_FULL_SEED);
    r.ok = mrnet_wavlm_hidden_states(m, wave, n, states) == MRNET_OK;
    for (int i = 0; r.ok && i < repeats; i++) {
        const double t0 = now_ms();
        r.ok = mrnet_wavlm_hidden_states(m, wave, n, states) == MRNET_OK;
        ms[i] = now_ms() - t0;
    }
    if (!r.ok)
        fprintf(stderr, "bench_wavlm: %s\n", mrnet_last_error());
    qsort(ms, (size_t)repeats, sizeof *ms, cmp_double);
    r.ms = ms[repeats / 2];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r.peak_rss_mb = ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
    free(ms);
    free(states);
    free(wave);
    return r;
}

/* Runs measure() in a forked child; the result comes back through a pipe. */
static result measure_in_child(const mrnet_wavlm *m, double seconds, int threads, int repeats)
{
    result r = {0};
    int fd[2];
    if (pipe(fd) != 0) {
        perror("bench_wavlm: pipe");
        return r;
    }
    fflush(NULL);
    const pid_t pid = fork();
    if (pid < 0) {
        perror("bench_wavlm: fork");
        return r;
    }
    if (pid == 0) {
        close(fd[0]);
        result c = measure(m, seconds, threads, repeats);
        ssize_t w = write(fd[1], &c, sizeof c);
        _exit(w == (ssize_t)sizeof c && c.ok ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], &r, sizeof r);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof r || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        r.ok = 0;
    return r;
}

static mrnet_wavlm *load_weights(const char *weights)
{
    mrnet_wavlm *m = NULL;
    if (weights) {
        if (mrnet_wavlm_load(weights, &m) != MRNET_OK)
            fprintf(stderr, "bench_wavlm: %s\n", mrnet_last_error());
        return m;
    }
    char path[] = "/tmp/bench_wavlm_XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) {
        perror("bench_wavlm: mkstemp");
        return NULL;
    }
    close(fd);
    const mrnet_wavlm_config c = seeded_full_config();
    if (seeded_write_weights(&c, SEEDED_FULL_SEED, path, NULL) != MRNET_OK ||
        mrnet_wavlm_load(path, &m) != MRNET_OK)
        fprintf(stderr, "bench_wavlm: %s\n", mrnet_last_error());
    unlink(path);
    return m;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_wavlm [--seconds 6,30] [--threads N] [--repeats R] [--weights "
                    "FILE] [--json]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *seconds_list = "6,30", *weights = NULL;
    int threads = omp_get_max_threads(), repeats = 3, json = 0;
    for (int i = 1; i < argc; i++) {
        const int more = i + 1 < argc;
        if (!strcmp(argv[i], "--seconds") && more)
            seconds_list = argv[++i];
        else if (!strcmp(argv[i], "--threads") && more)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && more)
            repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--weights") && more)
            weights = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else
            return usage();
    }
    if (threads < 1 || repeats < 1)
        return usage();
    mrnet_wavlm *m = load_weights(weights);
    if (!m)
        return 1;
    int failed = 0;
    for (const char *p = seconds_list; *p;) {
        char *end;
        const double seconds = strtod(p, &end);
        if (end == p || seconds * MRNET_WAVLM_SAMPLE_RATE < 400) {
            mrnet_wavlm_free(m);
            return usage();
        }
        p = *end == ',' ? end + 1 : end;
        const result r = measure_in_child(m, seconds, threads, repeats);
        if (!r.ok) {
            failed = 1;
            continue;
        }
        if (json)
            printf(
                "{\"impl\":\"mrnet\",\"what\":\"wavlm\",\"seconds\":%g,\"threads\":%d,\"ms\":%.1f,"
                "\"peak_rss_mb\":%.0f,\"fingerprint\":\"%s\"}\n",
                seconds, threads, r.ms, r.peak_rss_mb, mrnet_wavlm_fingerprint(m));
        else
            printf("wavlm %5.1f s mono, %d threads: %9.1f ms per clip, peak RSS %6.0f MB\n",
                   seconds, threads, r.ms, r.peak_rss_mb);
    }
    mrnet_wavlm_free(m);
    return failed;
}
