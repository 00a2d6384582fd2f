/* Spectrogram pictures: PNG (8-bit RGB, zlib stream of stored deflate blocks,
 * so no compression library is needed) or SVG (the same PNG embedded, with
 * axes and a title). Low bands at the bottom, time to the right, colours from
 * a viridis-like map over [max - range, max] (or [min, max]). */
#ifndef MRNET_PLOT_IMAGE_H
#define MRNET_PLOT_IMAGE_H

#include <stdint.h>
#include <mrnet/plot.h>

#endif
