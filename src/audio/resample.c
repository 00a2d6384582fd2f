#include "audio/resample.h"

#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

mrnet_status audio_resample(const char *path, const float *in, int channels, int64_t in_frames, int in_rate,
                            int out_rate, mrnet_resample_quality quality, float **out, int64_t *out_frames)
{
    *out = NULL;
    *out_frames = 0;
    if (!path)
        path = "(audio)";
    if (channels < 1 || in_frames < 0 || in_rate <= 0 || out_rate <= 0)
        return mrnet_fail(MRNET_ERR_ARG, "%s: cannot resample %d channels x %lld frames from %d Hz to %d Hz",
                          path, channels, (long long)in_frames, in_rate, out_rate);
    /* The output's size is checked before it is allocated: a low input rate
     * (or a long input) would otherwise ask for gigabytes. */
    double n_out_d = (double)in_frames * out_rate / in_rate + 0.5;
    if (n_out_d * channels > (double)MRNET_AUDIO_MAX_SAMPLES)
        return mrnet_fail(MRNET_ERR_UNSUPPORTED,
                          "%s: resampling %lld frames of %d channels from %d Hz to %d Hz gives %.0f samples, more than "
                          "the %lld mrnet holds at once; take a part with --offset and --duration",
                          path, (long long)in_frames, channels, in_rate, out_rate, n_out_d * channels,
                          (long long)MRNET_AUDIO_MAX_SAMPLES);
    int64_t n_out = (int64_t)n_out_d;
    float *dst = malloc(sizeof(float) * (size_t)channels * (size_t)(n_out > 0 ? n_out : 1));
    if (!dst)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory resampling %lld frames", path, (long long)in_frames);
    if (in_rate == out_rate || in_frames == 0) {
        if (n_out > 0)
            memcpy(dst, in, sizeof(float) * (size_t)channels * (size_t)n_out);
        *out = dst;
        *out_frames = n_out;
        return MRNET_OK;
    }
    unsigned long recipe = quality == MRNET_RESAMPLE_QUICK ? SOXR_QQ : quality == MRNET_RESAMPLE_VHQ ? SOXR_VHQ : SOXR_HQ;
    soxr_quality_spec_t q = soxr_quality_spec(recipe, 0);
    /* Planar ("split") buffers on both sides: no interleaving copies. */
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_S, SOXR_FLOAT32_S);
    /* One thread: extraction parallelises over files, and soxr's own OpenMP
     * would oversubscribe the cores. */
    soxr_runtime_spec_t rt = soxr_runtime_spec(1);
    const float **ins = malloc(sizeof(float *) * (size_t)channels);
    float **outs = malloc(sizeof(float *) * (size_t)channels);
    if (!ins || !outs) {
        free(ins);
        free(outs);
        free(dst);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int c = 0; c < channels; c++) {
        ins[c] = in + (size_t)c * (size_t)in_frames;
        outs[c] = dst + (size_t)c * (size_t)n_out;
    }
    size_t done = 0;
    soxr_error_t err = soxr_oneshot((double)in_rate, (double)out_rate, (unsigned)channels, (const void *)ins,
                                    (size_t)in_frames, NULL, (void *)outs, (size_t)n_out, &done, &io, &q, &rt);
    free(ins);
    free(outs);
    if (err) {
        free(dst);
        return mrnet_fail(MRNET_ERR_UNSUPPORTED, "%s: resampling %d Hz -> %d Hz failed: %s", path, in_rate, out_rate,
                          err);
    }
    /* soxr_oneshot flushes; it may deliver a frame less than the rounded
     * length. Pad the tail with zeros so the length is exactly n_out. */
    for (int c = 0; c < channels && (int64_t)done < n_out; c++)
        memset(dst + (size_t)c * (size_t)n_out + done, 0, sizeof(float) * (size_t)(n_out - (int64_t)done));
    *out = dst;
    *out_frames = n_out;
    return MRNET_OK;
}
