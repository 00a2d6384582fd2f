/* The inverse of mrnet_features_options_describe(): a checkpoint records the line
 * of the store it was trained on ("mrnet.features"), and prediction on raw
 * audio rebuilds the same options from it, so the features match. */
#ifndef MRNET_FEATURES_FEATURES_PARSE_H
#define MRNET_FEATURES_FEATURES_PARSE_H

#include <mrnet/features.h>
#include "features/features.h"

#endif
