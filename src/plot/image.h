/* Spectrogram pictures: PNG (8-bit RGB, zlib stream of stored deflate blocks,
 * so no compression library is needed) or SVG (the same PNG embedded, with
 * axes and a title). Low bands at the bottom, time to the right, colours from
 * a viridis-like map over [max - range, max] (or [min, max]). */
#ifndef MRNET_PLOT_IMAGE_H
#define MRNET_PLOT_IMAGE_H

#include <stdint.h>
#include "mrnet/mrnet.h"

typedef struct {
    int row_height;      /* pixels per band (>= 1) */
    float dynamic_range; /* > 0: colours cover [max - range, max]; 0: [min, max] */
    double frame_rate;   /* frames per second, for the time axis (0: frames) */
    const char *title;   /* SVG title (may be NULL) */
} mrnet_image_options;

void mrnet_image_options_default(mrnet_image_options *opt);
/* data (D, T) row-major, band 0 = lowest. Format from the extension of path:
 * .png or .svg (MRNET_ERR_ARG otherwise). Atomic write. */
mrnet_status mrnet_image_write_spectrogram(const char *path, const float *data, int D, int64_t T,
                                     const mrnet_image_options *opt);

#endif
