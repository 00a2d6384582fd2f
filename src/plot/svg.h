/* Small SVG charts for reports: training curves, route weights, confusion
 * matrices. Each writer builds the whole document in memory and writes it
 * atomically; the output is standalone SVG 1.1 that browsers and
 * rsvg-convert display. Labels are UTF-8 and XML-escaped (invalid UTF-8
 * becomes U+FFFD, control characters '?'). */
#ifndef MRNET_PLOT_SVG_H
#define MRNET_PLOT_SVG_H

#include <stdint.h>
#include "mrnet/mrnet.h"

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

#endif
