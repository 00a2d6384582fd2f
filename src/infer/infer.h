/* Running a model over whole items (tracks): the views of the recipe.
 *   crop:    the first `crop` frames (wrap-padded when shorter), as validation
 *   windows: sliding windows of `crop` frames with `hop`, the last one ending
 *            at the track's end; class probabilities averaged (whole track)
 *   full:    the whole track in one pass (the pooling takes any length)
 * Items come from a mrnet_feature_source (a feature store, or features computed
 * in memory for prediction). */
#ifndef MRNET_INFER_INFER_H
#define MRNET_INFER_INFER_H

#include <stdbool.h>
#include <stdint.h>

#include "store/featstore.h"
#include "eval/metrics.h"
#include "mrnet/mrnet.h"

typedef enum { MRNET_VIEW_CROP, MRNET_VIEW_WINDOWS, MRNET_VIEW_FULL } mrnet_view;

mrnet_status mrnet_view_parse(const char *name, mrnet_view *view);
const char *mrnet_view_name(mrnet_view view);

typedef struct {
    mrnet_view view;
    int64_t crop;  /* frames of a crop or window */
    int64_t hop;   /* window hop (frames); <= 0: crop / 2 */
    int batch;     /* windows per forward pass */
} mrnet_infer_options;

typedef struct {
    int n_items;
    int S, D;
    int64_t (*frames)(void *ctx, int item);
    /* frames [t0, t0 + len) of item, wrapping, into dst (S, D, len) */
    mrnet_status (*read)(void *ctx, int item, int64_t t0, int64_t len, float *dst);
    void *ctx;
} mrnet_feature_source;

/* A source over the given entries of a store. */
typedef struct {
    const mrnet_store *store;
    const int *entries;
} mrnet_store_source_ctx;
mrnet_feature_source mrnet_store_source(mrnet_store_source_ctx *ctx, int n_entries);

/* Class probabilities (n_items, K) averaged over each item's windows, and
 * optionally the mean embedding (n_items, E) and per-window probabilities
 * through a callback (timeline). */
typedef void (*mrnet_window_fn)(void *ctx, int item, int64_t t0, int64_t len, const float *probs);
mrnet_status mrnet_infer_source(mrnet_model *model, const mrnet_feature_source *src, const mrnet_infer_options *o,
                             float *probs, float *embeddings, mrnet_window_fn on_window,
                             void *window_ctx);

/* Which entries of a store to evaluate: a split name, a fold, or all
 * labelled entries (split NULL and fold < 0). */
typedef struct {
    const char *split;
    int fold;
} mrnet_selection;

/* Evaluates the selected labelled entries of a store; labels are matched to
 * the model's by name (entries of classes the model does not know are
 * counted in *unknown and left out). cm: initialised for the model's K.
 * on_item (may be NULL) sees every item's store entry, true class and
 * averaged probabilities (K). */
typedef void (*mrnet_item_fn)(void *ctx, int entry, int truth, const float *probs);
mrnet_status mrnet_evaluate_store(mrnet_model *model, const mrnet_store *store, mrnet_selection sel,
                            const mrnet_infer_options *o, mrnet_confusion *cm, int *used, int *unknown,
                            mrnet_item_fn on_item, void *item_ctx);

/* Index of the largest of K scores (the first on ties). */
int mrnet_argmax(const float *scores, int K);

/* Model input (S, 1, len, D) from features (S, D, len): the layout of
 * mrnet_forward with L = 1. */
void mrnet_features_to_input(const float *feat, int S, int D, int64_t len, float *input);

/* Frames per second from a store's settings line ("rate=.. hop=.."); 0 when
 * it cannot be told (features read from .npy files). */
double mrnet_features_settings_frame_rate(const char *settings);

#endif
