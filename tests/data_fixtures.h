/* Fixture helpers for the dataset tests: folders, small files, short WAVs.
 * Header-only (static) so each test program stays one .c file. Include after
 * testutil.h. */
#ifndef MRNET_TESTS_DATA_FIXTURES_H
#define MRNET_TESTS_DATA_FIXTURES_H

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"

static inline void fx_mkdir_p(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

static inline void fx_mkdir_parent(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        fx_mkdir_p(dir);
    }
}

/* A file with some bytes, parents created. */
static inline void fx_touch(const char *path)
{
    fx_mkdir_parent(path);
    assert_int_equal(test_write_file(path, "x", 1), 0);
}

static inline void fx_write_text(const char *path, const char *text)
{
    fx_mkdir_parent(path);
    assert_int_equal(test_write_file(path, text, strlen(text)), 0);
}

/* A short mono 16-bit WAV (a 440 Hz tone), parents created. */
static inline void fx_write_wav(const char *path, int frames, int rate)
{
    fx_mkdir_parent(path);
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    assert_non_null(f);
    for (int i = 0; i < frames; i++) {
        float x = 0.3f * sinf(6.2831853f * 440.0f * (float)i / (float)rate);
        assert_int_equal(sf_writef_float(f, &x, 1), 1);
    }
    assert_int_equal(sf_close(f), 0);
}

/* Index of the skipped entry whose source ends with suffix, or -1. */
static inline int fx_find_skip(const mrnet_dataset *ds, const char *suffix)
{
    size_t n = strlen(suffix);
    for (int i = 0; i < ds->n_skipped; i++) {
        size_t m = strlen(ds->skipped[i].source);
        if (m >= n && strcmp(ds->skipped[i].source + m - n, suffix) == 0)
            return i;
    }
    return -1;
}

/* Index of the first skipped entry whose reason contains text, or -1. */
static inline int fx_find_skip_reason(const mrnet_dataset *ds, const char *text)
{
    for (int i = 0; i < ds->n_skipped; i++)
        if (strstr(ds->skipped[i].reason, text))
            return i;
    return -1;
}

/* Index of the item whose path ends with suffix, or -1. */
static inline int fx_find_item(const mrnet_dataset *ds, const char *suffix)
{
    size_t n = strlen(suffix);
    for (int i = 0; i < ds->n_items; i++) {
        size_t m = strlen(ds->items[i].path);
        if (m >= n && strcmp(ds->items[i].path + m - n, suffix) == 0)
            return i;
    }
    return -1;
}

#endif
