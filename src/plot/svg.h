/* Small SVG charts for reports: training curves, route weights, confusion
 * matrices. Each writer builds the whole document in memory and writes it
 * atomically; the output is standalone SVG 1.1 that browsers and
 * rsvg-convert display. Labels are UTF-8 and XML-escaped (invalid UTF-8
 * becomes U+FFFD, control characters '?'). */
#ifndef MRNET_PLOT_SVG_H
#define MRNET_PLOT_SVG_H

#include <stdint.h>
#include <mrnet/plot.h>

#endif
