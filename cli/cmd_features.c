/* mrnet features FILE -o OUT: the features of one audio or .npy file, as
 * .npy or .safetensors (tensor "features", (S, D, T); WavLM: tensor
 * "hidden_states", (S, L, T, 768)), and/or a picture. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mrnet/mrnet.h>
#include "cli_util.h"
#include "commands.h"
#include "feature_flags.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet features FILE [-o OUT.npy|OUT.safetensors] [--image PIC.png|PIC.svg] [options]\n"
            "Computes the features of one audio file (wav flac ogg opus mp3 au aiff) or .npy file.\n"
            "  -o, --output PATH   .npy or .safetensors (tensor 'features', shape (S, D, T); with\n"
            "                      --frontend wavlm 'hidden_states', (S, 13, T, 768), float32)\n"
            "  --float16           store float16 instead of float32\n"
            "  --image PATH        a picture of channel 0 (.png or .svg)\n"
            "  --image-range DB    colour range in dB below the maximum (default: min to max);\n"
            "                      log-mel pictures are in dB on a Hz axis, with a colour bar (SVG)\n");
    feature_flags_usage(out);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

/* WavLM states as the encoder gives them: (S, L, D, T) -> (S, L, T, D) in place. */
static mrnet_status time_major(mrnet_features *f)
{
    size_t plane = (size_t)f->D * (size_t)f->T;
    float *tmp = malloc(sizeof(float) * plane);
    if (!tmp)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (size_t p = 0; p < (size_t)f->S * (size_t)f->L; p++) {
        float *x = f->data + p * plane;
        memcpy(tmp, x, sizeof(float) * plane);
        for (int d = 0; d < f->D; d++)
            for (int64_t t = 0; t < f->T; t++)
                x[(size_t)t * (size_t)f->D + (size_t)d] = tmp[(size_t)d * (size_t)f->T + (size_t)t];
    }
    free(tmp);
    return MRNET_OK;
}

/* The tensor's shape as written: (S, D, T), or (S, L, T, D) for WavLM. */
static int file_shape(const mrnet_features *f, bool wavlm, int64_t *shape)
{
    if (!wavlm) {
        shape[0] = f->S, shape[1] = f->D, shape[2] = f->T;
        return 3;
    }
    shape[0] = f->S, shape[1] = f->L, shape[2] = f->T, shape[3] = f->D;
    return 4;
}

static mrnet_status save_safetensors(const char *path, const mrnet_features *f, bool wavlm, const char *source,
                                     const char *settings, bool f16)
{
    int64_t shape[4];
    int ndim = file_shape(f, wavlm, shape);
    size_t n = (size_t)f->S * (size_t)f->L * (size_t)f->D * (size_t)f->T;
    uint16_t *half = NULL;
    if (f16) {
        half = malloc(sizeof(uint16_t) * n);
        if (!half)
            return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for the F16 copy", path);
        for (size_t i = 0; i < n; i++)
            half[i] = mrnet_float_to_half(f->data[i]);
    }
    mrnet_st_writer *w = mrnet_st_writer_create();
    mrnet_status s = w ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    if (s == MRNET_OK)
        s = mrnet_st_writer_add(w, wavlm ? "hidden_states" : "features", f16 ? MRNET_F16 : MRNET_F32, ndim, shape,
                                f16 ? (const void *)half : f->data);
    if (s == MRNET_OK)
        s = mrnet_st_writer_meta(w, "source", source);
    if (s == MRNET_OK)
        s = mrnet_st_writer_meta(w, "settings", settings);
    if (s == MRNET_OK)
        s = mrnet_st_writer_save(w, path);
    mrnet_st_writer_free(w);
    free(half);
    return s;
}

/* Channel 0 as a picture. Log-mel features are drawn in dB (whatever log
 * the settings use) on an axis of band centres in Hz; range is in dB then. */
static mrnet_status write_picture(const char *image, const char *path, const mrnet_features_options *fo,
                                  const mrnet_features *f, double range)
{
    mrnet_image_options io;
    mrnet_image_options_default(&io);
    io.frame_rate = f->frame_rate;
    io.dynamic_range = (float)range;
    io.title = path;
    bool mel = fo->kind == MRNET_FEATURES_MEL && !f->from_npy && fo->mel.n_mels == f->D;
    if (!mel)
        return mrnet_image_write_spectrogram(image, f->data, f->D, f->T, &io);
    size_t n = (size_t)f->D * (size_t)f->T;
    float *db = malloc(sizeof(float) * n);
    double *hz = malloc(sizeof(double) * (size_t)f->D);
    mrnet_status s = db && hz ? mrnet_mel_band_hz(&fo->mel, hz) : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (s == MRNET_OK) {
        mrnet_mel_values_to_db(&fo->mel, f->data, db, n);
        io.band_hz = hz;
        io.unit = "dB";
        s = mrnet_image_write_spectrogram(image, db, f->D, f->T, &io);
    }
    free(db);
    free(hz);
    return s;
}

int cmd_features(int argc, char **argv)
{
    enum { O_FLOAT16 = 1, O_IMAGE, O_RANGE };
    int nf = feature_flag_count();
    struct option *opts = calloc((size_t)nf + 8, sizeof *opts);
    if (!opts)
        return cli_error("features", 1, "out of memory");
    memcpy(opts, feature_flag_options, sizeof *opts * (size_t)nf);
    opts[nf] = (struct option){"output", required_argument, 0, 'o'};
    opts[nf + 1] = (struct option){"float16", no_argument, 0, O_FLOAT16};
    opts[nf + 2] = (struct option){"image", required_argument, 0, O_IMAGE};
    opts[nf + 3] = (struct option){"image-range", required_argument, 0, O_RANGE};
    opts[nf + 4] = (struct option){"help", no_argument, 0, 'h'};
    feature_flags ff = {0};
    const char *out = NULL, *image = NULL;
    bool f16 = false;
    double range = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (feature_flags_take(&ff, c, optarg))
            continue;
        if (c == 'o')
            out = optarg;
        else if (c == O_FLOAT16)
            f16 = true;
        else if (c == O_IMAGE)
            image = optarg;
        else if (c == O_RANGE && cli_parse_double(optarg, &range) && range >= 0)
            continue;
        else if (c == 'h') {
            usage(stdout);
            free(opts);
            return 0;
        } else {
            usage(stderr);
            free(opts);
            return 2;
        }
    }
    free(opts);
    if (optind + 1 != argc || (!out && !image)) {
        usage(stderr);
        return 2;
    }
    if (out && !ends_with(out, ".npy") && !ends_with(out, ".safetensors"))
        return cli_error("features", 2, "%s: output must end in .npy or .safetensors", out);
    mrnet_features_options fo;
    int rc = feature_flags_apply("features", &ff, &fo);
    if (rc)
        return rc;
    const char *path = argv[optind];
    mrnet_status guard = cli_output_not_input("-o", out, (const char *const[]){path, fo.wavlm.weights}, 2);
    if (guard == MRNET_OK)
        guard = cli_output_not_input("--image", image, (const char *const[]){path, fo.wavlm.weights}, 2);
    if (guard != MRNET_OK)
        return cli_fail("features", guard);
    mrnet_wavlm *wavlm = NULL;
    mrnet_status s = mrnet_features_options_load(&fo, &wavlm);
    mrnet_features f;
    if (s == MRNET_OK)
        s = mrnet_features_from_file(path, &fo, NULL, &f);
    if (s != MRNET_OK) {
        mrnet_wavlm_free(wavlm);
        return cli_fail("features", s);
    }
    bool is_wavlm = fo.kind == MRNET_FEATURES_WAVLM && !f.from_npy;
    if (f.warning[0])
        fprintf(stderr, "mrnet features: warning: %s: %s\n", path, f.warning);
    char settings[1024];
    mrnet_features_options_describe(&fo, settings, sizeof settings);
    if (s == MRNET_OK && image)
        s = write_picture(image, path, &fo, &f, range);
    if (s == MRNET_OK && out && is_wavlm)
        s = time_major(&f);
    if (s == MRNET_OK && out) {
        int64_t shape[4];
        int ndim = file_shape(&f, is_wavlm, shape);
        s = ends_with(out, ".npy") ? mrnet_npy_save_f32(out, ndim, shape, f.data, f16)
                                   : save_safetensors(out, &f, is_wavlm, path, settings, f16);
    }
    if (s == MRNET_OK) {
        if (is_wavlm)
            printf("%s: hidden states (%d, %d, %lld, %d)", path, f.S, f.L, (long long)f.T, f.D);
        else
            printf("%s: features (%d, %d, %lld)", path, f.S, f.D, (long long)f.T);
        if (f.frame_rate > 0)
            printf(", %.2f s", (double)f.T / f.frame_rate);
        if (out)
            printf(" -> %s", out);
        if (image)
            printf(", picture %s", image);
        printf("\n");
    }
    mrnet_features_free(&f);
    mrnet_wavlm_free(wavlm);
    return s == MRNET_OK ? 0 : cli_fail("features", s);
}
