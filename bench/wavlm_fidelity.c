/* How far the cheap ways of storing and cropping WavLM features are from the
 * exact ones (docs/WAVLM.md quotes its output):
 *
 *   wavlm_fidelity [--weights FILE] [--crops N] [--seed S] AUDIO...
 *
 * The audio files are decoded to 16 kHz mono and concatenated into one clip
 * (e.g. four 8-s demo clips make a 32-s track). Its 13 hidden states H are
 * computed in one pass. Then, per state:
 *   - crop vs slice: WavLM of a 6-s crop (random, on the frame grid) against
 *     the same frames of H, as relative RMS error (RMS of the difference over
 *     RMS of H's frames), over all frames of the crop and over its interior
 *     (25 frames, 0.5 s, dropped at each end);
 *   - float16: H rounded to half precision and back;
 *   - int8: H quantised with one scale per (state, dimension), max |x| / 127,
 *     as `extract --int8` stores it.
 * Weights: FILE (tools/convert_wavlm.py), or the full-size seeded random
 * weights of the golden test (tests/wavlm_seeded.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mrnet/mrnet.h"
#include "../tests/wavlm_seeded.h"

typedef struct {
    double err, ref; /* sums of squares */
} rel_error;

static double rel(rel_error e) { return e.ref > 0 ? sqrt(e.err / e.ref) : 0; }

static float *load_clip(char **paths, int n_paths, int64_t *n_out)
{
    mrnet_audio_options ao;
    mrnet_audio_options_default(&ao);
    ao.channels = MRNET_CHANNELS_MONO;
    ao.sample_rate = MRNET_WAVLM_SAMPLE_RATE;
    float *clip = NULL;
    int64_t n = 0;
    for (int i = 0; i < n_paths; i++) {
        mrnet_audio a;
        if (mrnet_audio_decode(paths[i], &ao, &a) != MRNET_OK) {
            fprintf(stderr, "wavlm_fidelity: %s\n", mrnet_last_error());
            exit(1);
        }
        float *grown = realloc(clip, sizeof(float) * (size_t)(n + a.frames));
        if (!grown)
            exit(1);
        clip = grown;
        memcpy(clip + n, a.samples, sizeof(float) * (size_t)a.frames);
        n += a.frames;
        mrnet_audio_free(&a);
    }
    *n_out = n;
    return clip;
}

int main(int argc, char **argv)
{
    const char *weights = NULL;
    int crops = 8;
    uint64_t seed = 1;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (!strcmp(argv[first], "--weights") && first + 1 < argc)
            weights = argv[++first];
        else if (!strcmp(argv[first], "--crops") && first + 1 < argc)
            crops = atoi(argv[++first]);
        else if (!strcmp(argv[first], "--seed") && first + 1 < argc)
            seed = strtoull(argv[++first], NULL, 10);
        else {
            fprintf(stderr, "usage: wavlm_fidelity [--weights FILE] [--crops N] [--seed S] AUDIO...\n");
            return 2;
        }
    }
    if (first >= argc || crops < 1) {
        fprintf(stderr, "usage: wavlm_fidelity [--weights FILE] [--crops N] [--seed S] AUDIO...\n");
        return 2;
    }
    char tmp[] = "/tmp/wavlm_fidelity_XXXXXX";
    if (!weights) {
        int fd = mkstemp(tmp);
        if (fd < 0)
            return 1;
        close(fd);
        mrnet_wavlm_config c = seeded_full_config();
        if (seeded_write_weights(&c, SEEDED_FULL_SEED, tmp, NULL) != MRNET_OK) {
            fprintf(stderr, "wavlm_fidelity: %s\n", mrnet_last_error());
            return 1;
        }
        weights = tmp;
    }
    mrnet_wavlm *m;
    mrnet_status st = mrnet_wavlm_load(weights, &m);
    if (weights == tmp)
        remove(tmp);
    if (st != MRNET_OK) {
        fprintf(stderr, "wavlm_fidelity: %s\n", mrnet_last_error());
        return 1;
    }
    int64_t n;
    float *clip = load_clip(argv + first, argc - first, &n);
    const int L = mrnet_wavlm_states(m), D = mrnet_wavlm_get_config(m)->hidden;
    const int64_t T = mrnet_wavlm_frames(m, n), crop_n = 6 * MRNET_WAVLM_SAMPLE_RATE;
    const int64_t Tc = mrnet_wavlm_frames(m, crop_n), edge = 25;
    if (n < crop_n + 320) {
        fprintf(stderr, "wavlm_fidelity: the clip (%.1f s) must be longer than the 6-s crop\n", n / 16000.0);
        return 2;
    }
    float *H = malloc(sizeof(float) * (size_t)L * (size_t)T * (size_t)D);
    float *C = malloc(sizeof(float) * (size_t)L * (size_t)Tc * (size_t)D);
    if (!H || !C || mrnet_wavlm_hidden_states(m, clip, n, H) != MRNET_OK) {
        fprintf(stderr, "wavlm_fidelity: %s\n", mrnet_last_error());
        return 1;
    }
    rel_error *all = calloc((size_t)L, sizeof *all), *inner = calloc((size_t)L, sizeof *inner);
    rel_error *f16 = calloc((size_t)L, sizeof *f16), *q8 = calloc((size_t)L, sizeof *q8);
    uint64_t rng = seed;
    for (int k = 0; k < crops; k++) {
        int64_t t0 = (int64_t)(seeded_uniform(&rng) * (double)(T - Tc));
        if (mrnet_wavlm_hidden_states(m, clip + 320 * t0, crop_n, C) != MRNET_OK) {
            fprintf(stderr, "wavlm_fidelity: %s\n", mrnet_last_error());
            return 1;
        }
        for (int l = 0; l < L; l++)
            for (int64_t t = 0; t < Tc; t++)
                for (int d = 0; d < D; d++) {
                    double h = H[((size_t)l * T + (size_t)(t0 + t)) * D + d];
                    double c = C[((size_t)l * Tc + (size_t)t) * D + d];
                    all[l].err += (c - h) * (c - h);
                    all[l].ref += h * h;
                    if (t >= edge && t < Tc - edge) {
                        inner[l].err += (c - h) * (c - h);
                        inner[l].ref += h * h;
                    }
                }
    }
    for (int l = 0; l < L; l++)
        for (int d = 0; d < D; d++) {
            float top = 0;
            for (int64_t t = 0; t < T; t++)
                top = fmaxf(top, fabsf(H[((size_t)l * T + (size_t)t) * D + d]));
            float scale = top / 127.0f, inv = top > 0 ? 127.0f / top : 0;
            for (int64_t t = 0; t < T; t++) {
                float h = H[((size_t)l * T + (size_t)t) * D + d];
                float half = mrnet_half_to_float(mrnet_float_to_half(h));
                float q = (float)lrintf(fminf(127.0f, fmaxf(-127.0f, h * inv))) * scale;
                f16[l].err += (double)(half - h) * (half - h);
                f16[l].ref += (double)h * h;
                q8[l].err += (double)(q - h) * (q - h);
                q8[l].ref += (double)h * h;
            }
        }
    printf("clip %.1f s (T %lld), %d crops of 6 s, weights %s\n", n / 16000.0, (long long)T, crops,
           weights == tmp ? "seeded random (full size)" : weights);
    printf("relative RMS error per hidden state\n");
    printf("state  crop-vs-slice  (interior)   float16      int8\n");
    rel_error sum[4] = {{0}};
    for (int l = 0; l < L; l++) {
        printf("%5d  %13.2e  %11.2e  %9.2e  %9.2e\n", l, rel(all[l]), rel(inner[l]), rel(f16[l]), rel(q8[l]));
        rel_error *parts[4] = {&all[l], &inner[l], &f16[l], &q8[l]};
        for (int i = 0; i < 4; i++) {
            sum[i].err += parts[i]->err;
            sum[i].ref += parts[i]->ref;
        }
    }
    printf("  all  %13.2e  %11.2e  %9.2e  %9.2e\n", rel(sum[0]), rel(sum[1]), rel(sum[2]), rel(sum[3]));
    free(H);
    free(C);
    free(clip);
    free(all);
    free(inner);
    free(f16);
    free(q8);
    mrnet_wavlm_free(m);
    return 0;
}
