/* SVG charts: well-formed XML (xmllint when installed, and a tag-balance
 * check here), the expected elements, escaping, atomic writes. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <mrnet/mrnet.h>
#include "plot/svg.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Every element closed in order, no bare '&' or '<' in text. */
static void assert_balanced(const char *s)
{
    char stack[64][32];
    int depth = 0, roots = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '&') {
            assert_true(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
                        strncmp(p, "&gt;", 4) == 0 || strncmp(p, "&quot;", 6) == 0 ||
                        strncmp(p, "&#39;", 5) == 0);
            continue;
        }
        if (*p != '<')
            continue;
        const char *end = strchr(p, '>');
        assert_non_null(end);
        if (p[1] == '?' || p[1] == '!') {
            p = end;
            continue;
        }
        bool closing = p[1] == '/', empty = end[-1] == '/';
        const char *name = p + (closing ? 2 : 1);
        size_t n = strcspn(name, " />\n");
        assert_true(n > 0 && n < 32);
        if (closing) {
            assert_true(depth > 0);
            depth--;
            assert_int_equal(strlen(stack[depth]), n);
            assert_memory_equal(stack[depth], name, n);
        } else if (!empty) {
            assert_true(depth < 64);
            if (depth == 0)
                roots++;
            memcpy(stack[depth], name, n);
            stack[depth][n] = '\0';
            depth++;
        }
        p = end;
    }
    assert_int_equal(depth, 0);
    assert_int_equal(roots, 1);
}

static void assert_well_formed(const char *path)
{
    char *s = slurp(path);
    assert_balanced(s);
    assert_non_null(strstr(s, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    free(s);
    if (system("command -v xmllint > /dev/null 2>&1") == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
        assert_int_equal(system(cmd), 0);
    }
}

static void assert_no_temporaries(void)
{
    DIR *d = opendir(test_tmpdir());
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);
}

static void test_line_chart(void **state)
{
    (void)state;
    enum { N = 30 };
    double train_loss[N], valid_loss[N], train_acc[N], valid_acc[N];
    for (int e = 0; e < N; e++) {
        train_loss[e] = 2.3 * exp(-e / 8.0) + 0.1;
        valid_loss[e] = 2.3 * exp(-e / 10.0) + 0.3;
        train_acc[e] = 1 - 0.9 * exp(-e / 6.0);
        valid_acc[e] = 0.85 - 0.75 * exp(-e / 8.0);
    }
    valid_loss[12] = NAN; /* a missing evaluation leaves a gap */
    mrnet_plot_series series[] = {
        {.name = "train loss", .y = train_loss, .n = N},
        {.name = "valid loss", .y = valid_loss, .n = N},
        {.name = "train accuracy", .y = train_acc, .n = N, .right_axis = 1},
        {.name = "valid accuracy <6 s crops>", .y = valid_acc, .n = N, .right_axis = 1},
    };
    mrnet_plot_line_options opt = {.title = "Training & validation",
                            .x_label = "epoch",
                            .y_label = "cross-entropy loss",
                            .y2_label = "accuracy",
                            .y2_lo = 0,
                            .y2_hi = 1};
    const char *path = test_path("curves.svg");
    assert_int_equal(mrnet_plot_lines(path, &opt, series, 4), MRNET_OK);
    assert_well_formed(path);
    char *s = slurp(path);
    assert_int_equal(count(s, "class=\"series\""), 4);
    assert_non_null(strstr(s, "Training &amp; validation"));
    assert_non_null(strstr(s, "valid accuracy &lt;6 s crops&gt;"));
    assert_non_null(strstr(s, ">epoch</text>"));
    assert_non_null(strstr(s, ">accuracy</text>"));
    assert_non_null(strstr(s, ">1.0</text>")); /* right axis tick at the fixed top */
    assert_non_null(strstr(s, ">30</text>"));  /* last epoch on the x axis */
    /* the gap: the valid-loss path restarts once */
    const char *valid = strstr(s, "class=\"series\" stroke=\"#ff7f0e\"");
    assert_non_null(valid);
    const char *d = strstr(valid, " d=\"");
    const char *d_end = strchr(d + 4, '"');
    int moves = 0;
    for (const char *p = d + 4; p < d_end; p++)
        moves += *p == 'M';
    assert_int_equal(moves, 2);
    free(s);

    /* one series, no options */
    assert_int_equal(mrnet_plot_lines(test_path("one.svg"), NULL, series, 1), MRNET_OK);
    assert_well_formed(test_path("one.svg"));
    assert_int_equal(mrnet_plot_lines(test_path("none.svg"), NULL, series, 0), MRNET_ERR_ARG);
    double nans[2] = {NAN, NAN};
    mrnet_plot_series empty = {.name = "x", .y = nans, .n = 2};
    assert_int_equal(mrnet_plot_lines(test_path("nan.svg"), NULL, &empty, 1), MRNET_ERR_ARG);
    assert_int_equal(mrnet_plot_lines(test_path("missing/dir/c.svg"), &opt, series, 4),
                     MRNET_ERR_IO);
    assert_no_temporaries();
}

static void test_bar_chart(void **state)
{
    (void)state;
    const char *routes[] = {"L1", "L2", "L3", "H", "M1", "M2", "M3"};
    const char *ckpts[] = {"GTZAN fold 1", "FMA small", "Melon <mel>"};
    double w[3][7] = {{0.21, 0.18, 0.16, 0.09, 0.12, 0.13, 0.11},
                      {0.19, 0.17, 0.15, 0.12, 0.13, 0.12, 0.12},
                      {0.10, 0.11, 0.12, 0.22, 0.15, 0.16, 0.14}};
    mrnet_plot_bar_options opt = {.title = "Route weights", .x_label = "route", .y_label = "weight",
                           .value_format = "%.3f"};
    const char *path = test_path("routes.svg");
    assert_int_equal(mrnet_plot_bars(path, &opt, routes, 7, ckpts, &w[0][0], 3), MRNET_OK);
    assert_well_formed(path);
    char *s = slurp(path);
    assert_int_equal(count(s, "class=\"bar\""), 21);
    for (int r = 0; r < 7; r++) {
        char label[32];
        snprintf(label, sizeof label, ">%s</text>", routes[r]);
        assert_non_null(strstr(s, label));
    }
    assert_non_null(strstr(s, ">0.220</text>")); /* value label */
    assert_non_null(strstr(s, "Melon &lt;mel&gt;"));
    free(s);

    /* one unnamed series with a negative value */
    double v[7] = {0.5, -0.25, 1, 0, 0.1, 0.2, 0.3};
    assert_int_equal(mrnet_plot_bars(test_path("bars1.svg"), NULL, routes, 7, NULL, v, 1), MRNET_OK);
    assert_well_formed(test_path("bars1.svg"));
    assert_int_equal(mrnet_plot_bars(test_path("bars0.svg"), NULL, routes, 0, NULL, v, 1),
                     MRNET_ERR_ARG);
}

static void test_confusion(void **state)
{
    (void)state;
    const char *names[] = {"blues", "R&B / soul", "jazz", "bad \xff utf8", "발라드"};
    int64_t counts[25] = {
        9, 1, 0, 0, 0, /* */
        2, 7, 1, 0, 0, /* */
        0, 0, 10, 0, 0, /* */
        0, 0, 0, 0, 0, /* a class with no example */
        1, 0, 0, 0, 4,
    };
    const char *path = test_path("confusion.svg");
    assert_int_equal(mrnet_plot_confusion(path, "GTZAN \"test\" fold", counts, 5, names),
                     MRNET_OK);
    assert_well_formed(path);
    char *s = slurp(path);
    assert_int_equal(count(s, "class=\"cell\""), 25);
    assert_non_null(strstr(s, "R&amp;B / soul"));
    assert_non_null(strstr(s, "bad \xEF\xBF\xBD utf8")); /* invalid byte -> U+FFFD */
    assert_non_null(strstr(s, "발라드"));
    assert_non_null(strstr(s, "GTZAN &quot;test&quot; fold"));
    assert_non_null(strstr(s, "true jazz, predicted jazz: 10 (100.0% of the row)"));
    assert_non_null(strstr(s, "true R&amp;B / soul, predicted blues: 2 (20.0% of the row)"));
    assert_non_null(strstr(s, ">Predicted class</text>"));
    assert_non_null(strstr(s, ">100%</text>")); /* colour bar */
    free(s);

    /* 30 classes without names */
    int64_t big[900] = {0};
    for (int i = 0; i < 30; i++)
        big[i * 30 + i] = 100 + i, big[i * 30 + (i + 1) % 30] = 12345;
    assert_int_equal(mrnet_plot_confusion(test_path("big.svg"), NULL, big, 30, NULL), MRNET_OK);
    assert_well_formed(test_path("big.svg"));
    assert_int_equal(mrnet_plot_confusion(test_path("c0.svg"), NULL, big, 0, NULL), MRNET_ERR_ARG);
    assert_no_temporaries();
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A spectrogram PNG decodes with zlib: every chunk's CRC holds, the IDAT
 * data inflates to height rows of a filter byte and width RGB pixels, the
 * lowest band's loudest frame is the top of the colour map (viridis yellow),
 * and the file is compressed (a few percent of the raw pixels). */
static void test_png_decodes(void **state)
{
    (void)state;
    enum { D = 8, T = 200 };
    float x[D * T];
    for (int d = 0; d < D; d++)
        for (int t = 0; t < T; t++)
            x[d * T + t] = d == 0 && t == 0 ? 10.0f : (float)(t / 50); /* flat areas */
    const char *path = test_path("spec.png");
    mrnet_image_options opt;
    mrnet_image_options_default(&opt);
    assert_int_equal(mrnet_image_write_spectrogram(path, x, D, T, &opt), MRNET_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char png[1 << 20];
    size_t n = fread(png, 1, sizeof png, f);
    fclose(f);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    uint32_t width = 0, height = 0;
    static unsigned char idat[1 << 20];
    size_t idat_n = 0, pos = 8;
    bool end = false;
    while (pos + 12 <= n && !end) {
        uint32_t len = be32(png + pos);
        const unsigned char *type = png + pos + 4, *data = png + pos + 8;
        assert_true(pos + 12 + len <= n);
        uLong crc = crc32(crc32(0L, type, 4), data, len);
        assert_int_equal((uint32_t)crc, be32(data + len));
        if (!memcmp(type, "IHDR", 4)) {
            width = be32(data);
            height = be32(data + 4);
            assert_int_equal(data[8], 8); /* 8 bits */
            assert_int_equal(data[9], 2); /* RGB */
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(idat + idat_n, data, len);
            idat_n += len;
        } else if (!memcmp(type, "IEND", 4)) {
            end = true;
        }
        pos += 12 + len;
    }
    assert_true(end);
    assert_int_equal(width, T);
    assert_int_equal(height, D * opt.row_height);
    size_t raw_n = (size_t)height * (1 + 3 * width);
    static unsigned char raw[1 << 20];
    uLongf got = sizeof raw;
    assert_int_equal(uncompress(raw, &got, idat, (uLong)idat_n), Z_OK);
    assert_int_equal(got, raw_n);
    const unsigned char *bottom_left = raw + (height - 1) * (1 + 3 * width) + 1;
    assert_int_equal(bottom_left[0], 253); /* viridis at 1: (253, 231, 37) */
    assert_int_equal(bottom_left[1], 231);
    assert_int_equal(bottom_left[2], 37);
    print_message("spectrogram PNG: %zu bytes for %zu bytes of pixels\n", n, raw_n);
    assert_true(n < raw_n / 10);
}

/* A log-mel picture: values in dB whatever the log, band centres in Hz on
 * the frequency axis, a colour bar whose ends are the dB range. */
static void test_spectrogram_axes_in_hz_and_db(void **state)
{
    (void)state;
    mrnet_mel_config mel;
    mrnet_mel_config_preset(&mel, MRNET_MEL_PRESET_MELON);
    double hz[512];
    assert_int_equal(mrnet_mel_band_hz(&mel, hz), MRNET_OK);
    assert_true(hz[0] > mel.f_min);
    for (int b = 1; b < mel.n_mels; b++)
        assert_true(hz[b] > hz[b - 1]);
    assert_true(hz[mel.n_mels - 1] < (mel.f_max > 0 ? mel.f_max : mel.sample_rate / 2.0));
    /* one value per log kind, all meaning a power of 0.01 (-20 dB) */
    mrnet_mel_config c = mel;
    float in, out;
    c.log = MRNET_MEL_LOG_NONE;
    in = 0.01f;
    mrnet_mel_values_to_db(&c, &in, &out, 1);
    assert_float_equal(out, -20.0, 1e-4);
    c.log = MRNET_MEL_LOG_LN;
    in = logf(0.01f);
    mrnet_mel_values_to_db(&c, &in, &out, 1);
    assert_float_equal(out, -20.0, 1e-4);
    c.log = MRNET_MEL_LOG_LOG10;
    in = -2.0f;
    mrnet_mel_values_to_db(&c, &in, &out, 1);
    assert_float_equal(out, -20.0, 1e-4);
    c.log = MRNET_MEL_LOG_NONE;
    in = 0.0f;
    mrnet_mel_values_to_db(&c, &in, &out, 1);
    assert_float_equal(out, -100.0, 1e-4);

    enum { D = 48, T = 100 };
    static float x[D * T];
    for (int i = 0; i < D * T; i++)
        x[i] = -60.0f + (float)(i % T) * 0.6f; /* -60 .. -0.6 dB */
    mrnet_image_options opt;
    mrnet_image_options_default(&opt);
    opt.band_hz = hz;
    opt.unit = "dB";
    opt.frame_rate = 50;
    opt.dynamic_range = 40;
    const char *path = test_path("spec_axes.svg");
    assert_int_equal(mrnet_image_write_spectrogram(path, x, D, T, &opt), MRNET_OK);
    static char svg[1 << 18];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    svg[fread(svg, 1, sizeof svg - 1, f)] = '\0';
    fclose(f);
    assert_non_null(strstr(svg, " Hz</text>"));
    assert_non_null(strstr(svg, " kHz</text>"));
    assert_non_null(strstr(svg, ">dB</text>"));
    assert_non_null(strstr(svg, "linearGradient"));
    assert_non_null(strstr(svg, ">-0.6</text>"));  /* the top of the bar: the maximum */
    assert_non_null(strstr(svg, ">-40.6</text>")); /* the bottom: 40 dB below it */
    assert_non_null(strstr(svg, "2.0 s</text>"));
    assert_well_formed(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_chart),
        cmocka_unit_test(test_bar_chart),
        cmocka_unit_test(test_confusion),
        cmocka_unit_test(test_png_decodes),
        cmocka_unit_test(test_spectrogram_axes_in_hz_and_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
