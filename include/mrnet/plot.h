/* mrnet/plot.h: SVG charts and spectrogram images */
#ifndef MRNET_PLOT_H
#define MRNET_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mrnet/common.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Small SVG charts for reports: training curves, route weights, confusion
 * matrices. Each writer builds the whole document in memory and writes it
 * atomically; the output is standalone SVG 1.1 that browsers and
 * rsvg-convert display. Labels are UTF-8 and XML-escaped (invalid UTF-8
 * becomes U+FFFD, control characters '?'). */

/* ---- line chart ---- */

typedef struct {
    const char *name; /* legend entry */
    const double *y;  /* n values; NaN leaves a gap */
    const double *x;  /* n values, increasing; NULL: 1, 2, ..., n (epochs) */
    int n;
    int right_axis; /* 0: left y axis, 1: right y axis (drawn dashed) */
} mrnet_plot_series;

typedef struct {
    const char *title;
    const char *x_label;
    const char *y_label;  /* left axis */
    const char *y2_label; /* right axis; needed when a series uses it */
    /* Axis ranges; lo == hi (e.g. both 0): chosen from the data. */
    double y_lo, y_hi, y2_lo, y2_hi;
    int width, height; /* pixels; 0: 800 x 450 */
} mrnet_plot_line_options;

/* E.g. loss (left) and accuracy (right) of train and valid per epoch. */
mrnet_status mrnet_plot_lines(const char *path, const mrnet_plot_line_options *opt,
                            const mrnet_plot_series *series, int n_series);

/* ---- grouped bar chart ---- */

typedef struct {
    const char *title;
    const char *x_label;
    const char *y_label;
    const char *value_format; /* printf format for value labels; NULL: "%.2f" */
    int width, height;        /* 0: 800 x 450 */
} mrnet_plot_bar_options;

/* n_categories groups along x (e.g. the 7 routes "L1" .. "M3"), each with
 * one bar per series (e.g. checkpoints): values is (n_series,
 * n_categories), row-major. series_names may be NULL for one series. */
mrnet_status mrnet_plot_bars(const char *path, const mrnet_plot_bar_options *opt,
                           const char *const *categories, int n_categories,
                           const char *const *series_names, const double *values, int n_series);

/* ---- confusion matrix heatmap ---- */

/* counts is (k, k), row = true class. Colours are normalised per row (the
 * recall view); each cell shows its count, with a tooltip giving the row
 * percentage. title may be NULL. */
mrnet_status mrnet_plot_confusion(const char *path, const char *title, const int64_t *counts,
                                  int k, const char *const *class_names);

/* Spectrogram pictures: PNG (8-bit RGB, deflated with zlib at its best
 * level: the picture alone) or SVG (the same PNG embedded, with a title,
 * axes in Hz and seconds, and a colour bar with its unit). Low bands at the
 * bottom, time to the right, colours from a viridis-like map over
 * [max - range, max] (or [min, max]). */

typedef struct {
    int row_height;      /* pixels per band (>= 1) */
    float dynamic_range; /* > 0: colours cover [max - range, max]; 0: [min, max] */
    double frame_rate;   /* frames per second, for the time axis (0: frames) */
    const char *title;   /* SVG title (may be NULL) */
    const double *band_hz; /* D centre frequencies for the frequency axis (NULL: band numbers) */
    const char *unit;      /* the values' unit on the colour bar ("dB"; NULL: none) */
} mrnet_image_options;

void mrnet_image_options_default(mrnet_image_options *opt);
/* data (D, T) row-major, band 0 = lowest. Format from the extension of path:
 * .png or .svg (MRNET_ERR_ARG otherwise). Atomic write. */
mrnet_status mrnet_image_write_spectrogram(const char *path, const float *data, int D, int64_t T,
                                     const mrnet_image_options *opt);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
