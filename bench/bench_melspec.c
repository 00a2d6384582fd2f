/* Log-mel extraction speed, one core, and `mrnet extract` throughput.
 * bench/bench_melspec_torch.py measures torchaudio on the same signals.
 *
 *   bench_melspec [--seconds 60] [--repeats 5]            log-mel, 1 thread
 *   bench_melspec --extract DIR [--clips 300] [--clip-seconds 10] [-j N]
 *
 * Log-mel: per preset (torchaudio, librosa, melon) one warm-up then the median
 * of --repeats over a deterministic noise+chirp signal at the preset's rate;
 * one JSON line {"impl":"mrnet","preset":..,"seconds":..,"ms":..,"xrt":..}
 * where xrt = audio seconds per second of one core.
 * Extract: writes --clips stereo 44.1 kHz 16-bit WAV clips under DIR/audio
 * (once), then extracts them (melon preset: decode, resample to 16 kHz, mono,
 * log-mel, write) into a fresh DIR/store-jN and prints files/s and xrt. */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "features/melspec.h"
#include "data/dataset.h"
#include "store/featstore.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void make_signal(float *x, int64_t n, int rate)
{
    uint64_t s = 12345;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double noise = (double)(s >> 40) / 16777216.0 - 0.5;
        x[i] = (float)(0.3 * sin(2 * M_PI * (100 * t + 20 * t * t)) + 0.05 * noise);
    }
}

static int bench_melspec(double seconds, int repeats)
{
    const char *names[] = {"torchaudio", "librosa", "melon"};
    for (int p = 0; p < 3; p++) {
        mrnet_mel_preset preset;
        mrnet_mel_preset_parse(names[p], &preset);
        mrnet_mel_config cfg;
        mrnet_mel_config_preset(&cfg, preset);
        mrnet_melspec *m;
        if (mrnet_melspec_create(&cfg, &m) != MRNET_OK) {
            fprintf(stderr, "%s\n", mrnet_last_error());
            return 1;
        }
        int64_t n = (int64_t)(seconds * cfg.sample_rate);
        float *x = malloc(sizeof(float) * (size_t)n);
        make_signal(x, n, cfg.sample_rate);
        int64_t T = mrnet_melspec_frames(m, n);
        float *out = malloc(sizeof(float) * (size_t)(T * cfg.n_mels));
        double *ms = malloc(sizeof(double) * (size_t)repeats);
        mrnet_melspec_compute(m, x, n, out); /* warm-up */
        for (int r = 0; r < repeats; r++) {
            double t0 = now_s();
            mrnet_melspec_compute(m, x, n, out);
            ms[r] = (now_s() - t0) * 1e3;
        }
        qsort(ms, (size_t)repeats, sizeof *ms, cmp_double);
        double med = ms[repeats / 2];
        printf("{\"impl\":\"mrnet\",\"preset\":\"%s\",\"seconds\":%.0f,\"ms\":%.3f,\"xrt\":%.0f,\"threads\":1}\n",
               names[p], seconds, med, seconds / (med / 1e3));
        free(ms);
        free(out);
        free(x);
        mrnet_melspec_free(m);
    }
    return 0;
}

static int write_clips(const char *dir, int clips, double clip_seconds)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/audio", dir);
    mkdir(dir, 0777);
    mkdir(path, 0777);
    int rate = 44100;
    int64_t n = (int64_t)(clip_seconds * rate);
    float *mono = malloc(sizeof(float) * (size_t)n), *st = malloc(sizeof(float) * 2 * (size_t)n);
    make_signal(mono, n, rate);
    for (int64_t i = 0; i < n; i++) {
        st[2 * i] = mono[i];
        st[2 * i + 1] = 0.5f * mono[(i * 7) % n];
    }
    for (int c = 0; c < clips; c++) {
        snprintf(path, sizeof path, "%s/audio/clip%04d.wav", dir, c);
        struct stat sb;
        if (stat(path, &sb) == 0)
            continue;
        SF_INFO info = {.samplerate = rate, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
        SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
        if (!sf) {
            fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL));
            return 1;
        }
        st[0] = (float)c / (float)clips * 0.1f; /* clips differ */
        sf_writef_float(sf, st, n);
        sf_close(sf);
    }
    free(mono);
    free(st);
    return 0;
}

static int bench_extract(const char *dir, int clips, double clip_seconds, int threads)
{
    if (write_clips(dir, clips, clip_seconds))
        return 1;
    char audio[4096], store[4096], cmd[8300];
    snprintf(audio, sizeof audio, "%s/audio", dir);
    snprintf(store, sizeof store, "%s/store-j%d", dir, threads);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", store);
    if (system(cmd) != 0)
        return 1;
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    if (mrnet_dataset_read_files(&ds, audio) != MRNET_OK) {
        fprintf(stderr, "%s\n", mrnet_last_error());
        return 1;
    }
    mrnet_extract_options opt;
    mrnet_extract_options_default(&opt);
    opt.threads = threads;
    mrnet_extract_report rep;
    double t0 = now_s();
    mrnet_status s = mrnet_store_extract(store, &ds, &opt, &rep);
    double dt = now_s() - t0;
    if (s != MRNET_OK) {
        fprintf(stderr, "%s\n", mrnet_last_error());
        return 1;
    }
    printf("{\"impl\":\"mrnet\",\"what\":\"extract\",\"clips\":%d,\"clip_seconds\":%.1f,\"format\":\"wav 44.1kHz "
           "stereo\",\"threads\":%d,\"s\":%.3f,\"files_per_s\":%.1f,\"xrt\":%.0f,\"computed\":%d}\n",
           clips, clip_seconds, threads, dt, rep.computed / dt, rep.computed * clip_seconds / dt, rep.computed);
    mrnet_extract_report_free(&rep);
    mrnet_dataset_free(&ds);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 60, clip_seconds = 10;
    int repeats = 5, clips = 300, threads = 1;
    const char *extract_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--extract") && i + 1 < argc)
            extract_dir = argv[++i];
        else if (!strcmp(argv[i], "--clips") && i + 1 < argc)
            clips = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clip-seconds") && i + 1 < argc)
            clip_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "-j") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_melspec [--seconds S] [--repeats N] | --extract DIR [--clips N] "
                            "[--clip-seconds S] [-j N]\n");
            return 2;
        }
    }
    if (repeats < 1 || seconds <= 0 || clips < 1 || threads < 1)
        return 2;
    return extract_dir ? bench_extract(extract_dir, clips, clip_seconds, threads) : bench_melspec(seconds, repeats);
}
