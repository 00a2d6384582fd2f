#include "features/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tensor/npy.h"
#include "tensor/error.h"

void mrnet_features_options_default(mrnet_features_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->kind = MRNET_FEATURES_MEL;
    mrnet_mel_config_preset(&opt->mel, MRNET_MEL_PRESET_MELON);
    mrnet_audio_options_default(&opt->audio);
    opt->audio.channels = MRNET_CHANNELS_MONO;
    opt->audio.sample_rate = opt->mel.sample_rate;
}

mrnet_status mrnet_features_kind_parse(const char *name, mrnet_features_kind *kind)
{
    if (!strcmp(name, "mel"))
        *kind = MRNET_FEATURES_MEL;
    else if (!strcmp(name, "waveform") || !strcmp(name, "wave"))
        *kind = MRNET_FEATURES_WAVEFORM;
    else
        return mrnet_fail(MRNET_ERR_ARG, "unknown feature kind '%s' (mel, waveform)", name);
    return MRNET_OK;
}

void mrnet_features_options_describe(const mrnet_features_options *opt, char *buf, size_t size)
{
    static const char *const quality[] = {"qq", "hq", "vhq"};
    int rate = opt->kind == MRNET_FEATURES_MEL ? opt->mel.sample_rate : opt->audio.sample_rate;
    int k = snprintf(buf, size, "kind=%s rate=%d channels=%s offset=%.9g duration=%.9g resample=%s",
                     opt->kind == MRNET_FEATURES_MEL ? "mel" : "waveform", rate, mrnet_channels_name(opt->audio.channels),
                     opt->audio.offset, opt->audio.duration, quality[opt->audio.quality % 3]);
    if (opt->kind == MRNET_FEATURES_MEL && k >= 0 && (size_t)k + 2 < size) {
        buf[k] = ' ';
        mrnet_mel_config_describe(&opt->mel, buf + k + 1, size - (size_t)k - 1);
    }
}

bool features_is_npy(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && !strcasecmp(path + n - 4, ".npy");
}

void mrnet_features_free(mrnet_features *f)
{
    if (!f)
        return;
    free(f->data);
    f->data = NULL;
}

static bool all_zero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f)
            return false;
    return true;
}

static mrnet_status npy_features(const char *path, const mrnet_features_options *opt, mrnet_features *out)
{
    npy_header h;
    float *data = NULL;
    MRNET_TRY(npy_load_f32(path, &h, &data));
    int64_t S, D, T;
    if (h.ndim == 2) {
        S = 1;
        D = h.shape[0];
        T = h.shape[1];
    } else if (h.ndim == 3) {
        S = h.shape[0];
        D = h.shape[1];
        T = h.shape[2];
    } else {
        free(data);
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: npy features must be (D, T) or (S, D, T), found %d dimensions", path,
                          h.ndim);
    }
    if (opt->kind == MRNET_FEATURES_MEL && D != opt->mel.n_mels) {
        free(data);
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: npy features have %lld bands, the settings ask for %d (n_mels)", path,
                          (long long)D, opt->mel.n_mels);
    }
    if (S < 1 || D < 1 || T < 1 || S > 64) {
        free(data);
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: npy features of shape (%lld, %lld, %lld) hold no usable frames",
                          path, (long long)S, (long long)D, (long long)T);
    }
    /* offset/duration in frames of the mel hop. */
    double fps = opt->kind == MRNET_FEATURES_MEL ? (double)opt->mel.sample_rate / opt->mel.hop_length : 0.0;
    int64_t t0 = fps > 0 ? (int64_t)llround(opt->audio.offset * fps) : 0;
    int64_t len = fps > 0 && opt->audio.duration > 0 ? (int64_t)llround(opt->audio.duration * fps) : T - t0;
    if (t0 >= T) {
        free(data);
        return mrnet_fail(MRNET_ERR_ARG, "%s: offset %.3f s is past the end (%lld frames)", path, opt->audio.offset,
                          (long long)T);
    }
    if (t0 + len > T)
        len = T - t0;
    if (t0 > 0 || len < T) {
        for (int64_t r = 0; r < S * D; r++)
            memmove(data + r * len, data + r * T + t0, sizeof(float) * (size_t)len);
        T = len;
    }
    out->data = data;
    out->S = (int)S;
    out->D = (int)D;
    out->T = T;
    out->frame_rate = fps;
    out->from_npy = true;
    if (all_zero(data, (size_t)(S * D * T)))
        snprintf(out->warning, sizeof out->warning, "all values are zero");
    return MRNET_OK;
}

/* The features of decoded audio (owned and freed here); name is for
 * messages. */
static mrnet_status features_of_audio(const char *path, mrnet_audio *audio,
                                      const mrnet_features_options *opt, const mrnet_melspec *m,
                                      mrnet_features *out)
{
    snprintf(out->warning, sizeof out->warning, "%s", audio->warning);
    if (opt->kind == MRNET_FEATURES_WAVEFORM) {
        out->data = audio->samples;
        out->S = audio->channels;
        out->D = 1;
        out->T = audio->frames;
        out->frame_rate = audio->sample_rate;
        return MRNET_OK;
    }
    mrnet_melspec *own = NULL;
    if (!m) {
        mrnet_status s = mrnet_melspec_create(&opt->mel, &own);
        if (s != MRNET_OK) {
            mrnet_audio_free(audio);
            return s;
        }
        m = own;
    }
    int64_t T = mrnet_melspec_frames(m, audio->frames);
    mrnet_status s = MRNET_OK;
    float *data = NULL;
    if (T <= 0) {
        s = mrnet_fail(MRNET_ERR_FORMAT, "%s: %.4f s of audio is shorter than one analysis frame (%d samples)", path,
                       (double)audio->frames / audio->sample_rate, opt->mel.n_fft);
    } else {
        size_t per = (size_t)opt->mel.n_mels * (size_t)T;
        data = malloc(sizeof(float) * per * (size_t)audio->channels);
        if (!data)
            s = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for (%d, %d, %lld) features", path, audio->channels,
                           opt->mel.n_mels, (long long)T);
        for (int c = 0; c < audio->channels && s == MRNET_OK; c++) {
            s = mrnet_melspec_compute(m, audio->samples + (size_t)c * (size_t)audio->frames, audio->frames,
                                      data + per * (size_t)c);
            if (s != MRNET_OK)
                mrnet_fail_context(s, "%s", path);
        }
    }
    int channels = audio->channels;
    mrnet_audio_free(audio);
    mrnet_melspec_free(own);
    if (s != MRNET_OK) {
        free(data);
        return s;
    }
    out->data = data;
    out->S = channels;
    out->D = opt->mel.n_mels;
    out->T = T;
    out->frame_rate = (double)opt->mel.sample_rate / opt->mel.hop_length;
    return MRNET_OK;
}

/* The decoding options the feature settings imply (mel: its own rate). */
static mrnet_audio_options decode_options(const mrnet_features_options *opt)
{
    mrnet_audio_options aopt = opt->audio;
    if (opt->kind == MRNET_FEATURES_MEL)
        aopt.sample_rate = opt->mel.sample_rate;
    return aopt;
}

mrnet_status mrnet_features_from_file(const char *path, const mrnet_features_options *opt, const mrnet_melspec *m,
                                      mrnet_features *out)
{
    memset(out, 0, sizeof *out);
    if (features_is_npy(path))
        return npy_features(path, opt, out);
    mrnet_audio_options aopt = decode_options(opt);
    mrnet_audio audio;
    MRNET_TRY(mrnet_audio_decode(path, &aopt, &audio));
    return features_of_audio(path, &audio, opt, m, out);
}

mrnet_status mrnet_features_from_pcm(const float *pcm, int channels, int64_t frames, int sample_rate,
                                     const mrnet_features_options *opt, const mrnet_melspec *m,
                                     mrnet_features *out)
{
    memset(out, 0, sizeof *out);
    mrnet_audio_options aopt = decode_options(opt);
    mrnet_audio audio;
    MRNET_TRY(mrnet_audio_from_pcm(pcm, channels, frames, sample_rate, &aopt, &audio));
    return features_of_audio("PCM input", &audio, opt, m, out);
}
