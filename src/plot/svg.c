#include "plot/svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/fileio.h"
#include "tensor/text.h"

/* ---- text buffer ---- */

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
} sbuf;

static void sb_grow(sbuf *b, size_t extra)
{
    if (b->failed || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p) {
        b->failed = true;
        return;
    }
    b->buf = p;
    b->cap = cap;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    sb_grow(b, n);
    if (b->failed)
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...) MRNET_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    sb_grow(b, (size_t)n);
    if (b->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Text content or attribute value: XML-escaped, valid UTF-8 only. */
static void sb_escape(sbuf *b, const char *text)
{
    for (const unsigned char *s = (const unsigned char *)(text ? text : ""); *s;) {
        switch (*s) {
        case '&': sb_put(b, "&amp;", 5); s++; continue;
        case '<': sb_put(b, "&lt;", 4); s++; continue;
        case '>': sb_put(b, "&gt;", 4); s++; continue;
        case '"': sb_put(b, "&quot;", 6); s++; continue;
        case '\'': sb_put(b, "&#39;", 5); s++; continue;
        default: break;
        }
        if (*s < 0x20) { /* XML 1.0 forbids most control characters */
            sb_put(b, *s == '\t' || *s == '\n' ? " " : "?", 1);
            s++;
            continue;
        }
        int n = text_utf8_sequence(s);
        if (n == 0) {
            sb_put(b, "\xEF\xBF\xBD", 3);
            s++;
        } else {
            sb_put(b, (const char *)s, (size_t)n);
            s += n;
        }
    }
}

/* Approximate rendered width of text in a sans-serif font: 0.6 em per
 * narrow character, 1 em per wide (CJK, Hangul) one. */
static double text_width(const char *text, double font_size)
{
    double w = 0;
    for (const unsigned char *s = (const unsigned char *)(text ? text : ""); *s;) {
        int n = text_utf8_sequence(s);
        if (n == 0)
            n = 1;
        w += n >= 3 ? 1.0 : 0.6;
        s += n;
    }
    return w * font_size;
}

static mrnet_status sb_write(sbuf *b, const char *path)
{
    if (b->failed)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory building the SVG", path);
    mrnet_atomic_file af;
    MRNET_TRY(mrnet_atomic_open(&af, path));
    mrnet_atomic_write(&af, b->buf, b->len);
    return mrnet_atomic_commit(&af);
}

/* ---- shared pieces ---- */

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define PALETTE_N 10
#define FONT "DejaVu Sans, Helvetica, Arial, sans-serif"

static void svg_begin(sbuf *b, int w, int h, const char *title)
{
    sb_printf(b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
              "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"%s\">\n",
              w, h, w, h, FONT);
    sb_printf(b, "<title>");
    sb_escape(b, title ? title : "chart");
    sb_printf(b, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
              w, h);
}

static void svg_text(sbuf *b, double x, double y, double size, const char *anchor,
                     const char *extra, const char *text)
{
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y,
              size, anchor, extra && extra[0] ? " " : "", extra ? extra : "");
    sb_escape(b, text);
    sb_printf(b, "</text>\n");
}

/* An axis title turned by angle degrees (-90: reads bottom-up) about (x, y). */
static void svg_text_turned(sbuf *b, double x, double y, double angle, const char *text)
{
    char attrs[128];
    snprintf(attrs, sizeof attrs, "fill=\"#222\" transform=\"rotate(%.0f %.1f %.1f)\"", angle, x,
             y);
    svg_text(b, x, y, 13, "middle", attrs, text);
}

typedef struct {
    double lo, hi, step;
    int decimals;
} axis_scale;

static double nice_step(double range, int target)
{
    double raw = range / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* expand: widen lo/hi to whole steps (auto ranges); otherwise keep them. */
static axis_scale axis_make(double lo, double hi, int target, bool expand, bool integer)
{
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? 0.5 * fabs(lo) : 1.0;
        lo -= d;
        hi += d;
    }
    axis_scale a = {lo, hi, nice_step(hi - lo, target), 0};
    if (integer && a.step < 1)
        a.step = 1;
    if (expand) {
        a.lo = floor(lo / a.step + 1e-9) * a.step;
        a.hi = ceil(hi / a.step - 1e-9) * a.step;
    }
    int d = (int)fmax(0, -floor(log10(a.step) + 1e-9));
    while (d < 8 && fabs(a.step * pow(10, d) - round(a.step * pow(10, d))) > 1e-6)
        d++;
    a.decimals = d;
    return a;
}

static int axis_ticks(const axis_scale *a, double *ticks, int max)
{
    int n = 0;
    for (double t = ceil(a->lo / a->step - 1e-9) * a->step; t <= a->hi + 1e-9 * a->step && n < max;
         t += a->step)
        ticks[n++] = fabs(t) < 1e-12 * a->step ? 0.0 : t;
    return n;
}

static void format_tick(char *out, size_t size, double v, int decimals)
{
    snprintf(out, size, "%.*f", decimals, v + 0.0);
}

/* Centred legend rows below the title; returns the height used. */
static double legend(sbuf *b, double cx, double y, double max_width, const char *const *names,
                     const char *const *colors, const bool *dashed, bool boxes, int n)
{
    const double font = 13, sample = boxes ? 12 : 26, gap = 8, spacing = 22;
    int start = 0;
    double row_y = y;
    while (start < n) {
        double w = 0;
        int end = start;
        while (end < n) {
            double item = sample + 6 + text_width(names[end], font) + (end > start ? spacing : 0);
            if (end > start && w + item > max_width)
                break;
            w += item;
            end++;
        }
        double x = cx - w / 2;
        for (int i = start; i < end; i++) {
            if (i > start)
                x += spacing;
            if (boxes)
                sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n",
                          x, row_y - 10, colors[i]);
            else
                sb_printf(b,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                          "stroke-width=\"2.5\"%s/>\n",
                          x, row_y - 4, x + sample, row_y - 4, colors[i],
                          dashed && dashed[i] ? " stroke-dasharray=\"6 4\"" : "");
            x += sample + 6;
            svg_text(b, x, row_y, font, "start", "fill=\"#222\"", names[i]);
            x += text_width(names[i], font);
        }
        start = end;
        row_y += gap + font;
    }
    return row_y - y;
}

/* ---- line chart ---- */

static bool series_range(const mrnet_plot_series *s, int n_series, int axis, double *lo, double *hi,
                         bool want_x)
{
    bool any = false;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n_series; i++) {
        if (!want_x && s[i].right_axis != axis)
            continue;
        for (int j = 0; j < s[i].n; j++) {
            double v = want_x ? (s[i].x ? s[i].x[j] : j + 1) : s[i].y[j];
            if (!isfinite(v) || (!want_x && !isfinite(s[i].y[j])))
                continue;
            if (want_x && !isfinite(s[i].y[j]))
                continue;
            *lo = fmin(*lo, v);
            *hi = fmax(*hi, v);
            any = true;
        }
    }
    return any;
}

static bool all_integer_x(const mrnet_plot_series *s, int n_series)
{
    for (int i = 0; i < n_series; i++)
        for (int j = 0; s[i].x && j < s[i].n; j++)
            if (s[i].x[j] != floor(s[i].x[j]))
                return false;
    return true;
}

mrnet_status mrnet_plot_lines(const char *path, const mrnet_plot_line_options *opt,
                            const mrnet_plot_series *series, int n_series)
{
    mrnet_plot_line_options defaults = {0};
    if (!opt)
        opt = &defaults;
    if (n_series < 1 || n_series > 64)
        return mrnet_fail(MRNET_ERR_ARG, "%s: line chart with %d series", path, n_series);
    bool right = false;
    for (int i = 0; i < n_series; i++) {
        if (!series[i].y || series[i].n < 0)
            return mrnet_fail(MRNET_ERR_ARG, "%s: series %d has no values", path, i);
        right |= series[i].right_axis != 0;
    }
    double xlo, xhi, ylo, yhi, y2lo = 0, y2hi = 1;
    if (!series_range(series, n_series, 0, &xlo, &xhi, true))
        return mrnet_fail(MRNET_ERR_ARG, "%s: no finite value to plot", path);
    bool left_any = series_range(series, n_series, 0, &ylo, &yhi, false);
    if (!left_any)
        ylo = 0, yhi = 1;
    if (right && !series_range(series, n_series, 1, &y2lo, &y2hi, false))
        y2lo = 0, y2hi = 1;
    bool y_fixed = opt->y_hi > opt->y_lo, y2_fixed = opt->y2_hi > opt->y2_lo;
    axis_scale ax = axis_make(xlo, xhi, 8, false, all_integer_x(series, n_series));
    axis_scale ay = y_fixed ? axis_make(opt->y_lo, opt->y_hi, 5, false, false)
                            : axis_make(ylo, yhi, 5, true, false);
    axis_scale ay2 = y2_fixed ? axis_make(opt->y2_lo, opt->y2_hi, 5, false, false)
                              : axis_make(y2lo, y2hi, 5, true, false);

    int W = opt->width > 0 ? opt->width : 800, H = opt->height > 0 ? opt->height : 450;
    sbuf b = {0};
    svg_begin(&b, W, H, opt->title);
    double left = 78, right_edge = W - (right ? 78 : 28);
    double cx = (left + right_edge) / 2;
    double top = 24;
    if (opt->title) {
        svg_text(&b, cx, 28, 17, "middle", "font-weight=\"bold\" fill=\"#222\"", opt->title);
        top = 40;
    }
    const char *names[64], *colors[64];
    bool dashed[64];
    for (int i = 0; i < n_series; i++) {
        names[i] = series[i].name ? series[i].name : "";
        colors[i] = palette[i % PALETTE_N];
        dashed[i] = series[i].right_axis != 0;
    }
    top += 14 + legend(&b, cx, top + 14, right_edge - left, names, colors, dashed, false,
                       n_series);
    double bottom = H - 56, pw = right_edge - left, ph = bottom - top;

#define MAPX(v) (left + ((v) - ax.lo) / (ax.hi - ax.lo) * pw)
#define MAPY(a, v) (bottom - ((v) - (a).lo) / ((a).hi - (a).lo) * ph)
    double ticks[64];
    char label[64];
    /* grid and left ticks */
    int nt = axis_ticks(&ay, ticks, 64);
    for (int i = 0; i < nt; i++) {
        double y = MAPY(ay, ticks[i]);
        sb_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n",
                  left, y, right_edge, y);
        format_tick(label, sizeof label, ticks[i], ay.decimals);
        svg_text(&b, left - 8, y + 4, 12, "end", "fill=\"#444\"", label);
    }
    if (right) {
        nt = axis_ticks(&ay2, ticks, 64);
        for (int i = 0; i < nt; i++) {
            double y = MAPY(ay2, ticks[i]);
            sb_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                      right_edge, y, right_edge + 5, y);
            format_tick(label, sizeof label, ticks[i], ay2.decimals);
            svg_text(&b, right_edge + 8, y + 4, 12, "start", "fill=\"#444\"", label);
        }
    }
    nt = axis_ticks(&ax, ticks, 64);
    for (int i = 0; i < nt; i++) {
        double x = MAPX(ticks[i]);
        sb_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                  x, bottom, x, bottom + 5);
        format_tick(label, sizeof label, ticks[i], ax.decimals);
        svg_text(&b, x, bottom + 19, 12, "middle", "fill=\"#444\"", label);
    }
    /* frame: left and bottom axes, and the right one when used */
    sb_printf(&b, "<path d=\"M%.1f %.1fV%.1fH%.1f", left, top, bottom, right_edge);
    if (right)
        sb_printf(&b, "V%.1f", top);
    sb_printf(&b, "\" fill=\"none\" stroke=\"#333\" stroke-width=\"1\"/>\n");
    /* axis titles */
    if (opt->x_label)
        svg_text(&b, cx, H - 16, 13, "middle", "fill=\"#222\"", opt->x_label);
    if (opt->y_label)
        svg_text_turned(&b, 22, (top + bottom) / 2, -90, opt->y_label);
    if (right && opt->y2_label)
        svg_text_turned(&b, W - 22, (top + bottom) / 2, 90, opt->y2_label);
    /* series, clipped to the plot area */
    sb_printf(&b,
              "<defs><clipPath id=\"plot\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
              "height=\"%.1f\"/></clipPath></defs>\n<g clip-path=\"url(#plot)\" fill=\"none\" "
              "stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n",
              left - 4, top - 4, pw + 8, ph + 8);
    for (int i = 0; i < n_series; i++) {
        const mrnet_plot_series *s = &series[i];
        const axis_scale *a = s->right_axis ? &ay2 : &ay;
        sb_printf(&b, "<path class=\"series\" stroke=\"%s\"%s d=\"", colors[i],
                  dashed[i] ? " stroke-dasharray=\"6 4\"" : "");
        bool pen_down = false;
        for (int j = 0; j < s->n; j++) {
            double x = s->x ? s->x[j] : j + 1, y = s->y[j];
            if (!isfinite(x) || !isfinite(y)) {
                pen_down = false;
                continue;
            }
            sb_printf(&b, "%s%.2f %.2f", pen_down ? "L" : "M", MAPX(x), MAPY(*a, y));
            pen_down = true;
        }
        sb_printf(&b, "\"><title>");
        sb_escape(&b, names[i]);
        sb_printf(&b, "</title></path>\n");
        if (s->n <= 40)
            for (int j = 0; j < s->n; j++) {
                double x = s->x ? s->x[j] : j + 1, y = s->y[j];
                if (isfinite(x) && isfinite(y))
                    sb_printf(&b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.8\" fill=\"%s\" "
                              "stroke=\"none\"/>\n", MAPX(x), MAPY(*a, y), colors[i]);
            }
    }
    sb_printf(&b, "</g>\n</svg>\n");
#undef MAPX
#undef MAPY
    mrnet_status st = sb_write(&b, path);
    free(b.buf);
    return st;
}

/* ---- bar chart ---- */

mrnet_status mrnet_plot_bars(const char *path, const mrnet_plot_bar_options *opt,
                           const char *const *categories, int n_categories,
                           const char *const *series_names, const double *values, int n_series)
{
    mrnet_plot_bar_options defaults = {0};
    if (!opt)
        opt = &defaults;
    if (n_categories < 1 || n_series < 1 || n_series > 64)
        return mrnet_fail(MRNET_ERR_ARG, "%s: bar chart with %d categories and %d series", path,
                          n_categories, n_series);
    double lo = 0, hi = 0;
    for (int i = 0; i < n_categories * n_series; i++)
        if (isfinite(values[i])) {
            lo = fmin(lo, values[i]);
            hi = fmax(hi, values[i]);
        }
    /* headroom for the value labels above the bars */
    axis_scale ay = axis_make(lo < 0 ? lo * 1.15 : 0, hi > 0 ? hi * 1.15 : 0, 5, true, false);
    const char *fmt = opt->value_format ? opt->value_format : "%.2f";

    int W = opt->width > 0 ? opt->width : 800, H = opt->height > 0 ? opt->height : 450;
    sbuf b = {0};
    svg_begin(&b, W, H, opt->title);
    double left = 70, right_edge = W - 24, cx = (left + right_edge) / 2, top = 24;
    if (opt->title) {
        svg_text(&b, cx, 28, 17, "middle", "font-weight=\"bold\" fill=\"#222\"", opt->title);
        top = 40;
    }
    const char *colors[64];
    for (int s = 0; s < n_series; s++)
        colors[s] = palette[s % PALETTE_N];
    if (series_names && n_series > 0)
        top += 14 + legend(&b, cx, top + 14, right_edge - left, (const char **)series_names,
                           colors, NULL, true, n_series);
    else
        top += 10;
    double bottom = H - (opt->x_label ? 58 : 36), pw = right_edge - left, ph = bottom - top;
#define MAPY(v) (bottom - ((v) - ay.lo) / (ay.hi - ay.lo) * ph)
    double ticks[64];
    char label[64];
    int nt = axis_ticks(&ay, ticks, 64);
    for (int i = 0; i < nt; i++) {
        double y = MAPY(ticks[i]);
        sb_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n",
                  left, y, right_edge, y);
        format_tick(label, sizeof label, ticks[i], ay.decimals);
        svg_text(&b, left - 8, y + 4, 12, "end", "fill=\"#444\"", label);
    }
    double slot = pw / n_categories, group = 0.8 * slot, bw = group / n_series;
    double zero = MAPY(0.0);
    for (int c = 0; c < n_categories; c++) {
        double x0 = left + c * slot + 0.1 * slot;
        for (int s = 0; s < n_series; s++) {
            double v = values[(size_t)s * (size_t)n_categories + (size_t)c];
            if (!isfinite(v))
                continue;
            double x = x0 + s * bw + 0.06 * bw, w = 0.88 * bw;
            double y = fmin(MAPY(v), zero), h = fabs(MAPY(v) - zero);
            sb_printf(&b, "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                      "fill=\"%s\"><title>", x, y, w, h, colors[s]);
            char value[64];
            snprintf(value, sizeof value, fmt, v);
            sb_escape(&b, categories[c]);
            if (series_names) {
                sb_printf(&b, ", ");
                sb_escape(&b, series_names[s]);
            }
            sb_printf(&b, ": ");
            sb_escape(&b, value);
            sb_printf(&b, "</title></rect>\n");
            /* value label: above (below for negatives); vertical if too wide */
            double font = bw < 22 ? 9 : 10.5, tx = x + w / 2;
            double ty = v >= 0 ? y - 4 : y + h + 4 + font;
            if (text_width(value, font) > bw * 1.05) {
                char rot[96];
                snprintf(rot, sizeof rot, "fill=\"#333\" transform=\"rotate(-90 %.2f %.2f)\"",
                         tx + font * 0.35, v >= 0 ? y - 4 : y + h + 4);
                svg_text(&b, tx + font * 0.35, v >= 0 ? y - 4 : y + h + 4, font,
                         v >= 0 ? "start" : "end", rot, value);
            } else {
                svg_text(&b, tx, ty, font, "middle", "fill=\"#333\"", value);
            }
        }
        svg_text(&b, left + (c + 0.5) * slot, bottom + 20, 13, "middle", "fill=\"#222\"",
                 categories[c]);
    }
    sb_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
              left, zero, right_edge, zero);
    sb_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
              left, top, left, bottom);
    if (opt->x_label)
        svg_text(&b, cx, H - 14, 13, "middle", "fill=\"#222\"", opt->x_label);
    if (opt->y_label)
        svg_text_turned(&b, 20, (top + bottom) / 2, -90, opt->y_label);
    sb_printf(&b, "</svg>\n");
#undef MAPY
    mrnet_status st = sb_write(&b, path);
    free(b.buf);
    return st;
}

/* ---- confusion matrix ---- */

/* ColorBrewer "Blues", v in [0, 1]. */
static void blues(double v, char out[8])
{
    static const unsigned char stops[9][3] = {
        {0xf7, 0xfb, 0xff}, {0xde, 0xeb, 0xf7}, {0xc6, 0xdb, 0xef}, {0x9e, 0xca, 0xe1},
        {0x6b, 0xae, 0xd6}, {0x42, 0x92, 0xc6}, {0x21, 0x71, 0xb5}, {0x08, 0x51, 0x9c},
        {0x08, 0x30, 0x6b}};
    v = fmin(1, fmax(0, v)) * 8;
    int i = (int)floor(v);
    if (i >= 8)
        i = 7;
    double t = v - i;
    int rgb[3];
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(stops[i][c] + t * (stops[i + 1][c] - stops[i][c]));
    snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

mrnet_status mrnet_plot_confusion(const char *path, const char *title, const int64_t *counts,
                                  int k, const char *const *class_names)
{
    if (k < 1 || k > 1000)
        return mrnet_fail(MRNET_ERR_ARG, "%s: confusion matrix of %d classes", path, k);
    double cell = fmin(56, fmax(16, 520.0 / k));
    double count_font = fmin(13, fmax(7, cell * 0.3));
    double name_font = fmin(12, fmax(8, cell * 0.42));
    double name_w = 0;
    char index[16];
    for (int i = 0; i < k; i++) {
        snprintf(index, sizeof index, "%d", i);
        name_w = fmax(name_w, text_width(class_names ? class_names[i] : index, name_font));
    }
    bool slanted = name_w > cell * 0.9; /* column names at 45 degrees */
    double grid = cell * k;
    double x0 = 44 + name_w + 10, y0 = title ? 52 : 24;
    double below = slanted ? name_w * 0.62 + name_font + 8 : name_font + 14;
    double bar_x = x0 + grid + 22;
    int W = (int)ceil(fmax(bar_x + 14 + 54, x0 + grid / 2 + 200));
    int H = (int)ceil(y0 + grid + below + 34);

    sbuf b = {0};
    svg_begin(&b, W, H, title ? title : "confusion matrix");
    if (title)
        svg_text(&b, x0 + grid / 2, 30, 17, "middle", "font-weight=\"bold\" fill=\"#222\"", title);
    for (int t = 0; t < k; t++) {
        int64_t row = 0;
        for (int p = 0; p < k; p++)
            row += counts[(size_t)t * (size_t)k + (size_t)p];
        const char *tname = class_names ? class_names[t] : NULL;
        for (int p = 0; p < k; p++) {
            int64_t c = counts[(size_t)t * (size_t)k + (size_t)p];
            double v = row > 0 ? (double)c / (double)row : 0.0;
            char fill[8];
            blues(v, fill);
            double x = x0 + p * cell, y = y0 + t * cell;
            sb_printf(&b, "<g><rect class=\"cell\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                      "height=\"%.2f\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\"/>",
                      x, y, cell, cell, fill);
            sb_printf(&b, "<title>true ");
            if (tname)
                sb_escape(&b, tname);
            else
                sb_printf(&b, "%d", t);
            sb_printf(&b, ", predicted ");
            if (class_names)
                sb_escape(&b, class_names[p]);
            else
                sb_printf(&b, "%d", p);
            sb_printf(&b, ": %lld (%.1f%% of the row)</title>", (long long)c, 100 * v);
            char text[32];
            snprintf(text, sizeof text, "%lld", (long long)c);
            const char *color = c == 0 ? "#b8b8b8" : v > 0.5 ? "#ffffff" : "#1a1a1a";
            double font = text_width(text, count_font) > cell * 0.9
                              ? count_font * cell * 0.9 / text_width(text, count_font)
                              : count_font;
            sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\" text-anchor=\"middle\" "
                      "fill=\"%s\">%s</text></g>\n",
                      x + cell / 2, y + cell / 2 + font * 0.36, font, color, text);
        }
    }
    sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
              "stroke=\"#555\"/>\n", x0, y0, grid, grid);
    /* class names: rows at the left, columns below */
    for (int i = 0; i < k; i++) {
        snprintf(index, sizeof index, "%d", i);
        const char *name = class_names ? class_names[i] : index;
        svg_text(&b, x0 - 8, y0 + (i + 0.5) * cell + name_font * 0.36, name_font, "end",
                 "fill=\"#222\"", name);
        double cx = x0 + (i + 0.5) * cell, cy = y0 + grid + 8 + name_font * 0.8;
        if (slanted) {
            char rot[96];
            snprintf(rot, sizeof rot, "fill=\"#222\" transform=\"rotate(-45 %.2f %.2f)\"",
                     cx + name_font * 0.3, y0 + grid + 8);
            svg_text(&b, cx + name_font * 0.3, y0 + grid + 8, name_font, "end", rot, name);
        } else {
            svg_text(&b, cx, cy, name_font, "middle", "fill=\"#222\"", name);
        }
    }
    svg_text(&b, x0 + grid / 2, H - 12, 13, "middle", "fill=\"#222\"", "Predicted class");
    svg_text_turned(&b, 18, y0 + grid / 2, -90, "True class");
    /* colour bar: share of the true class's examples */
    sb_printf(&b, "<defs><linearGradient id=\"blues\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
    for (int i = 0; i <= 8; i++) {
        char fill[8];
        blues(i / 8.0, fill);
        sb_printf(&b, "<stop offset=\"%.3f\" stop-color=\"%s\"/>", i / 8.0, fill);
    }
    sb_printf(&b, "</linearGradient></defs>\n<rect x=\"%.2f\" y=\"%.2f\" width=\"14\" "
              "height=\"%.2f\" fill=\"url(#blues)\" stroke=\"#555\"/>\n", bar_x, y0, grid);
    for (int i = 0; i <= 4; i++) {
        double y = y0 + grid - i * grid / 4;
        char pct[16];
        snprintf(pct, sizeof pct, "%d%%", i * 25);
        sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#555\"/>\n",
                  bar_x + 14, y, bar_x + 18, y);
        svg_text(&b, bar_x + 21, y + 4, 11, "start", "fill=\"#444\"", pct);
    }
    sb_printf(&b, "</svg>\n");
    mrnet_status st = sb_write(&b, path);
    free(b.buf);
    return st;
}
