/* Seeded WavLM weights and inputs, bit-exact with the Python reference
 * (tools/wavlm_ref.py), so that a full-size model (378 MB) never has to live
 * in the repository: both sides regenerate it from a seed.
 *
 * splitmix64 seeded per tensor with seed ^ FNV-1a64(HF key); value i
 * (row-major) is center + scale * (2u - 1), u = (next() >> 40) * 2^-24, in
 * double, rounded once to float32. Inputs "input.<n>" are a 220 Hz sine of
 * amplitude 0.25 plus uniform noise of amplitude 0.1.
 *
 * Header-only (static inline): tests/test_wavlm*.c and bench/bench_wavlm.c
 * include it. */
#ifndef MRNET_TESTS_WAVLM_SEEDED_H
#define MRNET_TESTS_WAVLM_SEEDED_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mrnet/frontend.h>
#include <mrnet/io.h>

#define SEEDED_FULL_SEED 20261202ULL
#define SEEDED_TINY_SEED 7ULL
#define SEEDED_NAME_LEN 128

static inline uint64_t seeded_fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static inline uint64_t seeded_next(uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* u in [0, 1) on a 2^-24 grid */
static inline double seeded_uniform(uint64_t *state)
{
    return (double)(seeded_next(state) >> 40) * (1.0 / 16777216.0);
}

// x (n) = center + scale * (2u - 1) for the tensor called name
static inline void seeded_fill(float *x, int64_t n, uint64_t seed, const char *name, double center,
                               double scale)
{
    uint64_t state = seed ^ seeded_fnv1a64(name);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(center + scale * (2.0 * seeded_uniform(&state) - 1.0));
}

// x (n): the input wave "input.<n>"
static inline void seeded_input(float *x, int64_t n, uint64_t seed)
{
    char name[64];
    snprintf(name, sizeof name, "input.%lld", (long long)n);
    uint64_t state = seed ^ seeded_fnv1a64(name);
    for (int64_t i = 0; i < n; i++) {
        const double u = seeded_uniform(&state);
        x[i] = (float)(0.25 * sin(2 * M_PI * 220 * (double)i / 16000) + 0.1 * (2.0 * u - 1.0));
    }
}

static inline int seeded_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* (center, scale) of a tensor by its HF key */
static inline void seeded_rule(const char *name, int ndim, const int64_t *shape, double *center,
                               double *scale)
{
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= shape[i];
    *center = 0.0;
    if (seeded_ends_with(name, "gru_rel_pos_linear.bias"))
        *scale = 0.5;
    else if (seeded_ends_with(name, ".bias"))
        *scale = 0.1;
    else if (seeded_ends_with(name, "layer_norm.weight"))
        *center = 1.0, *scale = 0.2;
    else if (seeded_ends_with(name, "weight_v"))
        *scale = sqrt(3.0 / (double)(shape[1] * shape[2]));
    else if (seeded_ends_with(name, "weight_g"))
        *center = 2.0, *scale = 0.5;
    else if (seeded_ends_with(name, "rel_attn_embed.weight") || !strcmp(name, "masked_spec_embed"))
        *scale = 1.0;
    else if (seeded_ends_with(name, "gru_rel_pos_const"))
        *center = 1.0, *scale = 0.5;
    else /* conv and linear weights */
        *scale = sqrt(3.0 / (double)(numel / shape[0]));
}

static inline mrnet_wavlm_config seeded_full_config(void)
{
    mrnet_wavlm_config c = {.conv_layers = 7,
                            .conv_dim = 512,
                            .conv_kernel = {10, 3, 3, 3, 3, 2, 2},
                            .conv_stride = {5, 2, 2, 2, 2, 2, 2},
                            .hidden = 768,
                            .heads = 12,
                            .ffn = 3072,
                            .layers = 12,
                            .pos_kernel = 128,
                            .pos_groups = 16,
                            .buckets = 320,
                            .max_distance = 800};
    return c;
}

/* The golden files' reduced configuration (tests/golden/wavlm_tiny.safetensors). */
static inline mrnet_wavlm_config seeded_tiny_config(void)
{
    mrnet_wavlm_config c = seeded_full_config();
    c.conv_dim = 32, c.hidden = 64, c.heads = 4, c.ffn = 128, c.layers = 3, c.pos_kernel = 16,
    c.pos_groups = 4;
    return c;
}

typedef struct {
    char name[SEEDED_NAME_LEN];
    int ndim;
    int64_t shape[4];
} seeded_tensor;

static inline void seeded_add(seeded_tensor *list, int *n, int ndim, int64_t s0, int64_t s1,
                              int64_t s2, int64_t s3, const char *name)
{
    if (list) {
        seeded_tensor *t = &list[*n];
        snprintf(t->name, sizeof t->name, "%s", name);
        t->ndim = ndim;
        t->shape[0] = s0, t->shape[1] = s1, t->shape[2] = s2, t->shape[3] = s3;
    }
    (*n)++;
}

/* Every tensor of WavLMModel's state_dict for config c (spec 11.2), with
 * masked_spec_embed, in the order of tools/wavlm_ref.py's expected_keys (the
 * order of the golden file's per-tensor sums); returns the count (list may
 * be NULL to count). */
static inline int seeded_tensors(const mrnet_wavlm_config *c, seeded_tensor *list)
{
    const int64_t C = c->conv_dim, D = c->hidden, H = c->heads, F = c->ffn, K = c->pos_kernel;
    int n = 0;
    char name[SEEDED_NAME_LEN];
    for (int i = 0; i < c->conv_layers; i++) {
        snprintf(name, sizeof name, "feature_extractor.conv_layers.%d.conv.weight", i);
        seeded_add(list, &n, 3, C, i ? C : 1, c->conv_kernel[i], 0, name);
        if (i == 0) {
            seeded_add(list, &n, 1, C, 0, 0, 0,
                       "feature_extractor.conv_layers.0.layer_norm.weight");
            seeded_add(list, &n, 1, C, 0, 0, 0, "feature_extractor.conv_layers.0.layer_norm.bias");
        }
    }
    seeded_add(list, &n, 1, C, 0, 0, 0, "feature_projection.layer_norm.weight");
    seeded_add(list, &n, 1, C, 0, 0, 0, "feature_projection.layer_norm.bias");
    seeded_add(list, &n, 2, D, C, 0, 0, "feature_projection.projection.weight");
    seeded_add(list, &n, 1, D, 0, 0, 0, "feature_projection.projection.bias");
    seeded_add(list, &n, 1, D, 0, 0, 0, "masked_spec_embed");
    seeded_add(list, &n, 3, 1, 1, K, 0, "encoder.pos_conv_embed.conv.weight_g");
    seeded_add(list, &n, 3, D, D / c->pos_groups, K, 0, "encoder.pos_conv_embed.conv.weight_v");
    seeded_add(list, &n, 1, D, 0, 0, 0, "encoder.pos_conv_embed.conv.bias");
    seeded_add(list, &n, 1, D, 0, 0, 0, "encoder.layer_norm.weight");
    seeded_add(list, &n, 1, D, 0, 0, 0, "encoder.layer_norm.bias");
    for (int l = 0; l < c->layers; l++) {
        static const char *const proj[] = {"q", "k", "v", "out"};
        for (int i = 0; i < 8; i++) { /* the weights, then the biases */
            snprintf(name, sizeof name, "encoder.layers.%d.attention.%s_proj.%s", l, proj[i % 4],
                     i < 4 ? "weight" : "bias");
            seeded_add(list, &n, i < 4 ? 2 : 1, D, i < 4 ? D : 0, 0, 0, name);
        }
        snprintf(name, sizeof name, "encoder.layers.%d.attention.gru_rel_pos_const", l);
        seeded_add(list, &n, 4, 1, H, 1, 1, name);
        snprintf(name, sizeof name, "encoder.layers.%d.attention.gru_rel_pos_linear.weight", l);
        seeded_add(list, &n, 2, 8, D / H, 0, 0, name);
        snprintf(name, sizeof name, "encoder.layers.%d.attention.gru_rel_pos_linear.bias", l);
        seeded_add(list, &n, 1, 8, 0, 0, 0, name);
        if (l == 0)
            seeded_add(list, &n, 2, c->buckets, H, 0, 0,
                       "encoder.layers.0.attention.rel_attn_embed.weight");
        static const char *const rest[] = {"layer_norm.weight",
                                           "layer_norm.bias",
                                           "feed_forward.intermediate_dense.weight",
                                           "feed_forward.intermediate_dense.bias",
                                           "feed_forward.output_dense.weight",
                                           "feed_forward.output_dense.bias",
                                           "final_layer_norm.weight",
                                           "final_layer_norm.bias"};
        const int64_t rows[] = {D, D, F, F, D, D, D, D}, cols[] = {0, 0, D, 0, F, 0, 0, 0};
        for (int i = 0; i < 8; i++) {
            snprintf(name, sizeof name, "encoder.layers.%d.%s", l, rest[i]);
            seeded_add(list, &n, cols[i] ? 2 : 1, rows[i], cols[i], 0, 0, name);
        }
    }
    return n;
}

static inline int64_t seeded_numel(const seeded_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

/* Writes the seeded weights of config c to a safetensors file (F32, HF keys,
 * metadata "seed"); sums (one per seeded_tensors() entry) or NULL receives
 * each tensor's sum in double. Holds all the weights in memory until the
 * file is written. */
static inline mrnet_status seeded_write_weights(const mrnet_wavlm_config *c, uint64_t seed,
                                                const char *path, double *sums)
{
    const int n = seeded_tensors(c, NULL);
    seeded_tensor *list = calloc((size_t)n, sizeof *list);
    float **data = calloc((size_t)n, sizeof *data);
    mrnet_st_writer *w = mrnet_st_writer_create();
    mrnet_status st =
        list && data && w ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "seeded weights: out of memory");
    if (st == MRNET_OK)
        seeded_tensors(c, list);
    for (int i = 0; st == MRNET_OK && i < n; i++) {
        const int64_t numel = seeded_numel(&list[i]);
        data[i] = malloc((size_t)numel * sizeof(float));
        if (!data[i]) {
            st = mrnet_fail(MRNET_ERR_NOMEM, "seeded weights: out of memory");
            break;
        }
        double center, scale;
        seeded_rule(list[i].name, list[i].ndim, list[i].shape, &center, &scale);
        seeded_fill(data[i], numel, seed, list[i].name, center, scale);
        for (int64_t k = 0; sums && k < numel; k++)
            sums[i] = (k ? sums[i] : 0.0) + data[i][k];
        st = mrnet_st_writer_add(w, list[i].name, MRNET_F32, list[i].ndim, list[i].shape, data[i]);
    }
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
    if (st == MRNET_OK)
        st = mrnet_st_writer_meta(w, "seed", seed_text);
    if (st == MRNET_OK)
        st = mrnet_st_writer_save(w, path);
    mrnet_st_writer_free(w);
    for (int i = 0; data && i < n; i++)
        free(data[i]);
    free(data);
    free(list);
    return st;
}

#endif
