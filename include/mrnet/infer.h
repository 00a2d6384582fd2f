/* mrnet/infer.h: running a trained model over tracks.
 *
 * Two levels:
 *   - mrnet_classifier: a checkpoint with the feature settings it was trained
 *     with; classifies and embeds a file, PCM in memory or a feature tensor,
 *     whole track or per window (timeline). What a music player or a batch
 *     tagger needs.
 *   - mrnet_infer_source: any number of items from a mrnet_feature_source
 *     (a feature store, or the caller's own features) through a model.
 *
 * Views of a track (the recipe's, mrnet.md):
 *   crop:    the first `crop` frames (wrap-padded when shorter), as validation
 *   windows: sliding windows of `crop` frames with `hop`, the last one ending
 *            at the track's end; class probabilities averaged (whole track)
 *   full:    the whole track in one pass (the pooling takes any length)
 *
 * Threads: a classifier, like a model, is used by one thread at a time (it
 * owns the model's workspace); open one per thread to classify in parallel. */
#ifndef MRNET_INFER_H
#define MRNET_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mrnet/common.h>
#include <mrnet/features.h>
#include <mrnet/model.h>
#include <mrnet/store.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef enum { MRNET_VIEW_CROP, MRNET_VIEW_WINDOWS, MRNET_VIEW_FULL } mrnet_view;

/* "crop", "windows", "full" -> view; MRNET_ERR_ARG names the bad one. */
mrnet_status mrnet_view_parse(const char *name, mrnet_view *view);
const char *mrnet_view_name(mrnet_view view);

/* ---- Classifying with a checkpoint ------------------------------------------ */

typedef struct {
    mrnet_view view;     /* MRNET_VIEW_WINDOWS */
    double crop_seconds; /* 6: the window (or crop) length */
    double hop_seconds;  /* 3: between window starts */
    int batch;           /* 32: windows per forward pass */
} mrnet_classify_options;

void mrnet_classify_options_default(mrnet_classify_options *opt);

typedef struct mrnet_classifier mrnet_classifier;

/* Loads a checkpoint (mrnet_model_load) and the feature settings recorded in
 * it ("mrnet.features"); a checkpoint without them gets the default (Melon
 * log-mel) settings and mrnet_classifier_has_feature_settings() says so. */
mrnet_status mrnet_classifier_open(const char *checkpoint, mrnet_classifier **out);
void mrnet_classifier_free(mrnet_classifier *c);
/* A checkpoint trained on WavLM features classifies audio only once it has
 * the weights: loads them and checks they are the ones the training store
 * was made with (fingerprint). Does nothing for other front ends. */
mrnet_status mrnet_classifier_set_wavlm(mrnet_classifier *c, const char *weights);
mrnet_model *mrnet_classifier_model(mrnet_classifier *c);
const mrnet_features_options *mrnet_classifier_features(const mrnet_classifier *c);
bool mrnet_classifier_has_feature_settings(const mrnet_classifier *c);
int mrnet_classifier_classes(const mrnet_classifier *c);    /* K */
int mrnet_classifier_embed_size(const mrnet_classifier *c); /* E */
/* Class name k; "class<k>" when the checkpoint names none. NULL outside [0, K). */
const char *mrnet_classifier_label(const mrnet_classifier *c, int k);

/* Called for every window in track order (view windows or crop) with its
 * span in seconds and its class probabilities (K). */
typedef void (*mrnet_timeline_fn)(void *ctx, double start, double end, const float *probs);

/* Class probabilities (K) of a track, averaged over its windows, and its
 * embedding (E, the mean over windows); probs, embedding and on_window may
 * each be NULL. The features must fit the model (S, L, D): MRNET_ERR_SHAPE
 * otherwise (f->L 0 is taken as 1). */
mrnet_status mrnet_classify_features(mrnet_classifier *c, const mrnet_features *f,
                                     const mrnet_classify_options *opt, float *probs,
                                     float *embedding, mrnet_timeline_fn on_window, void *ctx);
/* The same for an audio file (or a .npy feature file), whose features are
 * computed with the checkpoint's settings. *warning (may be NULL) receives
 * a non-fatal problem of the file ("" if none; truncated, silent). */
mrnet_status mrnet_classify_file(mrnet_classifier *c, const char *path,
                                 const mrnet_classify_options *opt, float *probs, float *embedding,
                                 mrnet_timeline_fn on_window, void *ctx, char warning[256]);
/* What mrnet_classify_file_info tells besides the scores. */
typedef struct {
    double seconds;    /* the track's length */
    char warning[256]; /* non-fatal problems ("" if none): truncated, silent, shorter than one window */
} mrnet_classify_info;
/* mrnet_classify_file, and the track's length and warnings into info (may be NULL). */
mrnet_status mrnet_classify_file_info(mrnet_classifier *c, const char *path,
                                      const mrnet_classify_options *opt, float *probs, float *embedding,
                                      mrnet_timeline_fn on_window, void *ctx, mrnet_classify_info *info);
/* The same for PCM in memory: interleaved (frames, channels) float samples
 * in [-1, 1] at sample_rate Hz; resampled and mixed as the settings ask. */
mrnet_status mrnet_classify_pcm(mrnet_classifier *c, const float *pcm, int channels,
                                int64_t frames, int sample_rate,
                                const mrnet_classify_options *opt, float *probs, float *embedding,
                                mrnet_timeline_fn on_window, void *ctx);

/* Indices of the k largest of K scores, largest first (ties: lower index
 * first), into indices (min(k, K) of them); returns that count. */
int mrnet_top_k(const float *scores, int K, int k, int *indices);
/* Index of the largest of K scores (the first on ties). */
int mrnet_argmax(const float *scores, int K);

/* ---- Any features through a model ------------------------------------------- */

typedef struct {
    mrnet_view view;
    int64_t crop;  /* frames of a crop or window */
    int64_t hop;   /* window hop (frames); <= 0: crop / 2 */
    int batch;     /* windows per forward pass */
} mrnet_infer_options;

/* Items of (S, L, D, T) features, T varying per item; read may be called
 * for any window, wrapping past T to the start. A read that fails sets its
 * message with mrnet_fail() and returns the status. */
typedef struct {
    int n_items;
    int S, D;
    int64_t (*frames)(void *ctx, int item);
    /* frames [t0, t0 + len) of item, wrapping, into dst (S, L, D, len) */
    mrnet_status (*read)(void *ctx, int item, int64_t t0, int64_t len, float *dst);
    void *ctx;
    int L; /* stacked layers (WavLM states); 0 is taken as 1 */
    /* optional: the item's name (its file) for messages; NULL: "item N" */
    const char *(*name)(void *ctx, int item);
} mrnet_feature_source;

/* A source over the given entries of a store. */
typedef struct {
    const mrnet_store *store;
    const int *entries;
} mrnet_store_source_ctx;
mrnet_feature_source mrnet_store_source(mrnet_store_source_ctx *ctx, int n_entries);

/* Class probabilities (n_items, K) averaged over each item's windows, and
 * optionally the mean embedding (n_items, E) and per-window probabilities
 * through a callback (timeline; t0 and len in frames). A logit that is not
 * finite (a diverged or damaged checkpoint) is MRNET_ERR_NUMERIC naming the
 * item, before anything of its window is reported. */
typedef void (*mrnet_window_fn)(void *ctx, int item, int64_t t0, int64_t len, const float *probs);
mrnet_status mrnet_infer_source(mrnet_model *model, const mrnet_feature_source *src,
                                const mrnet_infer_options *o, float *probs, float *embeddings,
                                mrnet_window_fn on_window, void *window_ctx);

/* ---- Windows and layout ------------------------------------------------------ */

/* src (C, T) -> dst (C, len) with dst[c][k] = src[c][(t0 + k) mod T]: a crop
 * that wraps to the start, which is the release's repeat padding when
 * T < len (np.pad mode 'wrap'). Requires T > 0, 0 <= t0. */
void mrnet_crop_wrap(const float *src, int channels, int64_t T, int64_t t0, int64_t len, float *dst);

/* Sliding windows of len with hop over T, the last one ending at T; T <= len
 * gives a single (wrap-padded) window at 0. */
int64_t mrnet_window_count(int64_t T, int64_t len, int64_t hop);
int64_t mrnet_window_start(int64_t T, int64_t len, int64_t hop, int64_t index);

/* Model input (S, L, len, D) from features (S, L, D, len): the layout of
 * mrnet_forward. planes = S * L (each (D, len) plane is transposed). */
void mrnet_features_to_input(const float *feat, int planes, int D, int64_t len, float *input);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
