#include "plot/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "tensor/error.h"
#include "tensor/fileio.h"

/* Widest picture written: longer inputs are averaged down to this many columns. */
#define IMAGE_MAX_WIDTH 8192

void mrnet_image_options_default(mrnet_image_options *opt)
{
    opt->row_height = 4;
    opt->dynamic_range = 0.0f;
    opt->frame_rate = 0.0;
    opt->title = NULL;
    opt->band_hz = NULL;
    opt->unit = NULL;
}

/* ---- colour map: viridis sampled at 9 points, linearly interpolated ---- */
static void colour(float v, unsigned char rgb[3])
{
    static const unsigned char stops[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                              {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                              {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
    if (!(v >= 0.0f))
        v = 0.0f;
    if (v > 1.0f)
        v = 1.0f;
    float pos = v * 8.0f;
    int i = (int)pos;
    if (i >= 8)
        i = 7;
    float f = pos - (float)i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (unsigned char)lrintf(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]));
}

/* ---- PNG pieces (zlib: deflate and CRC-32) ---- */
typedef struct {
    unsigned char *p;
    size_t n, cap;
    int oom;
} buffer;

static void put(buffer *b, const void *data, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_be32(buffer *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    put(b, x, 4);
}

static void put_chunk(buffer *b, const char *type, const unsigned char *data, size_t n)
{
    put_be32(b, (uint32_t)n);
    put(b, type, 4);
    put(b, data, n);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (n)
        crc = crc32(crc, data, (uInt)n);
    put_be32(b, (uint32_t)crc);
}

/* raw: height rows of (1 filter byte + 3*width) bytes. */
static void encode_png(buffer *out, const unsigned char *raw, size_t raw_n, int width, int height)
{
    put(out, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ihdr[13];
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (unsigned char)((uint32_t)width >> (24 - 8 * i));
        ihdr[4 + i] = (unsigned char)((uint32_t)height >> (24 - 8 * i));
    }
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* RGB */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    put_chunk(out, "IHDR", ihdr, sizeof ihdr);
    /* the image data: deflate at the best level (a spectrogram of flat
     * colour areas shrinks about 100x) */
    uLongf zn = compressBound((uLong)raw_n);
    unsigned char *z = malloc(zn);
    if (!z || compress2(z, &zn, raw, (uLong)raw_n, Z_BEST_COMPRESSION) != Z_OK)
        out->oom = 1;
    else
        put_chunk(out, "IDAT", z, zn);
    free(z);
    put_chunk(out, "IEND", NULL, 0);
}

static mrnet_status render_png(const float *data, int D, int64_t T, const mrnet_image_options *opt, buffer *png,
                               int *width_out, int *height_out, float range[2])
{
    int width = (int)(T < IMAGE_MAX_WIDTH ? T : IMAGE_MAX_WIDTH);
    int rh = opt->row_height > 0 ? opt->row_height : 1, height = D * rh;
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < (int64_t)D * T; i++)
        if (isfinite(data[i])) {
            lo = fminf(lo, data[i]);
            hi = fmaxf(hi, data[i]);
        }
    if (!(lo <= hi))
        lo = hi = 0.0f;
    if (opt->dynamic_range > 0.0f && hi - opt->dynamic_range > lo)
        lo = hi - opt->dynamic_range;
    float span = hi > lo ? hi - lo : 1.0f;
    range[0] = lo;
    range[1] = hi;
    size_t stride = 1 + 3 * (size_t)width;
    unsigned char *raw = malloc(stride * (size_t)height);
    if (!raw)
        return mrnet_fail(MRNET_ERR_NOMEM, "image: out of memory for %d x %d pixels", width, height);
    for (int d = 0; d < D; d++) {
        int y0 = (D - 1 - d) * rh;
        unsigned char *row = raw + stride * (size_t)y0;
        row[0] = 0;
        for (int x = 0; x < width; x++) {
            int64_t a = (int64_t)x * T / width, b = (int64_t)(x + 1) * T / width;
            if (b <= a)
                b = a + 1;
            double acc = 0;
            for (int64_t t = a; t < b; t++)
                acc += data[(int64_t)d * T + t];
            colour((float)((acc / (double)(b - a) - lo) / span), row + 1 + 3 * x);
        }
        for (int r = 1; r < rh; r++)
            memcpy(raw + stride * (size_t)(y0 + r), row, stride);
    }
    encode_png(png, raw, stride * (size_t)height, width, height);
    free(raw);
    if (png->oom)
        return mrnet_fail(MRNET_ERR_NOMEM, "image: out of memory encoding the PNG");
    *width_out = width;
    *height_out = height;
    return MRNET_OK;
}

static void put_str(buffer *b, const char *s) { put(b, s, strlen(s)); }

static void put_escaped(buffer *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            put_str(b, "&lt;");
        else if (*s == '>')
            put_str(b, "&gt;");
        else if (*s == '&')
            put_str(b, "&amp;");
        else
            put(b, s, 1);
    }
}

static void put_base64(buffer *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '='};
        put(b, q, 4);
    }
}

/* A frequency label: "250 Hz", "1.2 kHz", "12 kHz". */
static void hz_label(double hz, char *buf, size_t size)
{
    if (hz < 1000)
        snprintf(buf, size, "%.0f Hz", hz);
    else if (hz < 10000)
        snprintf(buf, size, "%.1f kHz", hz / 1000);
    else
        snprintf(buf, size, "%.0f kHz", hz / 1000);
}

/* The colour bar right of the picture: the map from lo (bottom) to hi, 5 ticks. */
static void svg_colour_bar(buffer *svg, int x, int top, int h, const float range[2], const char *unit)
{
    char line[512];
    put_str(svg, "<defs><linearGradient id=\"map\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n");
    for (int i = 0; i <= 8; i++) {
        unsigned char rgb[3];
        colour(i / 8.0f, rgb);
        snprintf(line, sizeof line, "<stop offset=\"%.3f\" stop-color=\"rgb(%d,%d,%d)\"/>\n", i / 8.0, rgb[0], rgb[1],
                 rgb[2]);
        put_str(svg, line);
    }
    put_str(svg, "</linearGradient></defs>\n");
    snprintf(line, sizeof line, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"%d\" fill=\"url(#map)\" "
             "stroke=\"black\"/>\n", x, top, h);
    put_str(svg, line);
    for (int k = 0; k <= 4; k++) {
        double v = range[0] + (range[1] - range[0]) * k / 4;
        int y = top + h - (int)((double)h * k / 4);
        snprintf(line, sizeof line, "<text x=\"%d\" y=\"%d\">%.1f</text>\n", x + 18, y + 4, v);
        put_str(svg, line);
    }
    if (unit) {
        snprintf(line, sizeof line, "<text x=\"%d\" y=\"%d\">", x, top - 8);
        put_str(svg, line);
        put_escaped(svg, unit);
        put_str(svg, "</text>\n");
    }
}

static void svg_wrap(buffer *svg, const buffer *png, int w, int h, int D, int64_t T, const mrnet_image_options *opt,
                     const float range[2])
{
    char line[512];
    int left = 72, top = 30, bottom = 40, right = 90;
    snprintf(line, sizeof line,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
             "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
             left + w + right, top + h + bottom);
    put_str(svg, line);
    if (opt->title) {
        snprintf(line, sizeof line, "<text x=\"%d\" y=\"18\">", left);
        put_str(svg, line);
        put_escaped(svg, opt->title);
        put_str(svg, "</text>\n");
    }
    snprintf(line, sizeof line,
             "<image x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" preserveAspectRatio=\"none\" "
             "style=\"image-rendering:pixelated\" href=\"data:image/png;base64,", left, top, w, h);
    put_str(svg, line);
    put_base64(svg, png->p, png->n);
    put_str(svg, "\"/>\n");
    snprintf(line, sizeof line, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>\n",
             left, top, w, h);
    put_str(svg, line);
    /* Axes: frequency (or bands) on the left, time (or frames) below, 5 ticks each. */
    for (int k = 0; k <= 4; k++) {
        int band = (D - 1) * k / 4, y = top + h - (int)((double)(band + 0.5) * h / D);
        char label[32];
        if (opt->band_hz)
            hz_label(opt->band_hz[band], label, sizeof label);
        else
            snprintf(label, sizeof label, "%d", band);
        snprintf(line, sizeof line, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 6, y + 4, label);
        put_str(svg, line);
        double frame = (double)T * k / 4;
        int x = left + (int)((double)w * k / 4);
        if (opt->frame_rate > 0)
            snprintf(line, sizeof line, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%.1f s</text>\n", x,
                     top + h + 16, frame / opt->frame_rate);
        else
            snprintf(line, sizeof line, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n", x,
                     top + h + 16, frame);
        put_str(svg, line);
    }
    snprintf(line, sizeof line,
             "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n<text x=\"14\" y=\"%d\" "
             "transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">%s</text>\n",
             left + w / 2, top + h + 34, opt->frame_rate > 0 ? "time" : "frame", top + h / 2, top + h / 2,
             opt->band_hz ? "frequency (mel band centres)" : "band");
    put_str(svg, line);
    svg_colour_bar(svg, left + w + 16, top, h, range, opt->unit);
    put_str(svg, "</svg>\n");
}

mrnet_status mrnet_image_write_spectrogram(const char *path, const float *data, int D, int64_t T, const mrnet_image_options *opt)
{
    size_t n = strlen(path);
    bool is_svg = n >= 4 && !strcasecmp(path + n - 4, ".svg");
    bool is_png = n >= 4 && !strcasecmp(path + n - 4, ".png");
    if (!is_svg && !is_png)
        return mrnet_fail(MRNET_ERR_ARG, "%s: picture must be .png or .svg", path);
    if (D < 1 || T < 1 || D > 4096)
        return mrnet_fail(MRNET_ERR_ARG, "%s: cannot draw a (%d, %lld) spectrogram", path, D, (long long)T);
    mrnet_image_options defaults;
    if (!opt) {
        mrnet_image_options_default(&defaults);
        opt = &defaults;
    }
    buffer png = {0}, svg = {0};
    int w = 0, h = 0;
    float range[2];
    mrnet_status s = render_png(data, D, T, opt, &png, &w, &h, range);
    if (s == MRNET_OK && is_svg) {
        svg_wrap(&svg, &png, w, h, D, T, opt, range);
        if (svg.oom)
            s = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    }
    if (s == MRNET_OK) {
        mrnet_atomic_file af;
        s = mrnet_atomic_open(&af, path);
        if (s == MRNET_OK) {
            const buffer *b = is_svg ? &svg : &png;
            mrnet_atomic_write(&af, b->p, b->n);
            s = mrnet_atomic_commit(&af);
        }
    }
    free(png.p);
    free(svg.p);
    return s;
}
