/* mrnet/frontend.h: the WavLM Base+ front end (microsoft/wavlm-base-plus),
 * frozen, in evaluation mode, as Hugging Face's WavLMModel computes it.
 *
 * 16 kHz mono float32 samples in [-1, 1], not normalised, go through the conv
 * feature encoder (7 layers, GroupNorm over the whole input on layer 0),
 * the feature projection, the weight-normalised positional convolution and
 * 12 post-LN transformer layers with the gated relative position bias. The
 * result is hidden_states[0..12], each (T, 768), T = floor((n - 400) / 320)
 * + 1. Because of layer 0's GroupNorm the features of a crop are not a slice
 * of the features of the whole track.
 *
 * The weights are a safetensors file with the Hugging Face key names
 * (tools/convert_wavlm.py makes one from pytorch_model.bin or from
 * Microsoft's WavLM-Base+.pt). Smaller configurations of the same layout
 * load too (sizes are read from the tensor shapes), which is what the tests
 * use. */
#ifndef MRNET_FRONTEND_H
#define MRNET_FRONTEND_H

#include <stdint.h>
#include <mrnet/common.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define MRNET_WAVLM_SAMPLE_RATE 16000
#define MRNET_WAVLM_MAX_CONV 8

typedef struct {
    int conv_layers;                      /* 7 */
    int conv_dim;                         /* 512: channels of every conv layer */
    int conv_kernel[MRNET_WAVLM_MAX_CONV]; /* 10, 3, 3, 3, 3, 2, 2 */
    int conv_stride[MRNET_WAVLM_MAX_CONV]; /* 5, 2, 2, 2, 2, 2, 2 */
    int hidden;                           /* 768: model width D */
    int heads;                            /* 12 (head width hidden / heads) */
    int ffn;                              /* 3072 */
    int layers;                           /* 12 transformer layers: layers + 1 hidden states */
    int pos_kernel, pos_groups;           /* 128, 16 */
    int buckets, max_distance;            /* 320, 800 */
} mrnet_wavlm_config;

typedef struct mrnet_wavlm mrnet_wavlm;

/* Loads and checks a weight file: an optional "wavlm." prefix, weight_g /
 * weight_v or parametrizations.weight.original0 / original1, F32, F16 or
 * BF16 (converted to float32). Every tensor's presence and shape is checked
 * and a wrong one is named; the positional conv's weight norm is folded
 * once. MRNET_ERR_IO / FORMAT / SHAPE with the file and tensor named. */
mrnet_status mrnet_wavlm_load(const char *path, mrnet_wavlm **out);
void mrnet_wavlm_free(mrnet_wavlm *m);
const mrnet_wavlm_config *mrnet_wavlm_get_config(const mrnet_wavlm *m);
/* 16 hex digits that identify the weights' values (not the file's name or
 * dtype spelling): stores and checkpoints record it. */
const char *mrnet_wavlm_fingerprint(const mrnet_wavlm *m);
/* Number of hidden states: layers + 1 (13). */
int mrnet_wavlm_states(const mrnet_wavlm *m);
/* Output frames for n samples (0 when n < the receptive field, 400). */
int64_t mrnet_wavlm_frames(const mrnet_wavlm *m, int64_t n_samples);

/* wave (n) -> states (layers + 1, T, hidden), T = mrnet_wavlm_frames(m, n)
 * >= 1. m is only read: several threads may share it; each call plans its
 * memory once for n and allocates nothing per layer. MRNET_ERR_ARG when n
 * gives no frame, MRNET_ERR_NUMERIC on non-finite samples. */
mrnet_status mrnet_wavlm_hidden_states(const mrnet_wavlm *m, const float *wave, int64_t n, float *states);

/* The weighted sum MRNet's layer mix takes, without holding all states:
 * out (T, hidden) = sum over l of w[l] * hidden_states[l], w (layers + 1). */
mrnet_status mrnet_wavlm_mixed(const mrnet_wavlm *m, const float *wave, int64_t n, const float *w, float *out);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
