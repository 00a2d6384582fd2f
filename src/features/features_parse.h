/* The inverse of mrnet_features_options_describe(): a checkpoint records the line
 * of the store it was trained on ("mrnet.features"), and prediction on raw
 * audio rebuilds the same options from it, so the features match. */
#ifndef MRNET_FEATURES_FEATURES_PARSE_H
#define MRNET_FEATURES_FEATURES_PARSE_H

#include "features/features.h"

/* Fills opt from a description line; MRNET_ERR_FORMAT names the bad token.
 * Round trip: describe(parse(line)) == line for any line describe wrote. */
mrnet_status mrnet_features_options_parse(const char *line, mrnet_features_options *opt);

/* Frames per second along T: sample_rate / hop for mel features, the sample
 * rate for waveforms. */
double mrnet_features_options_frame_rate(const mrnet_features_options *opt);

#endif
