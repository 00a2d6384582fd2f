/* .npy reading and writing: round trips (float32, float16), numpy-written
 * headers (versions 1 and 2, Fortran order, big-endian, other dtypes), and
 * hostile files (bad magic, huge dimensions, truncated data, NaN). */
#include "testutil.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor/npy.h"
#include <mrnet/features.h>
#include <mrnet/io.h>

/* A .npy with the given dict text and data bytes (version 1 or 2). */
static void write_npy(const char *path, int version, const char *dict, const void *data, size_t n)
{
    size_t pre = version == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = pre + dl + 1, pad = (64 - total % 64) % 64, hlen = dl + pad + 1;
    unsigned char *buf = malloc(pre + hlen + n);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version;
    buf[7] = 0;
    if (version == 1) {
        buf[8] = (unsigned char)hlen;
        buf[9] = (unsigned char)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++)
            buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    }
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', pad);
    buf[pre + dl + pad] = '\n';
    memcpy(buf + pre + hlen, data, n);
    assert_int_equal(test_write_file(path, buf, pre + hlen + n), 0);
    free(buf);
}

static void test_roundtrip(void **state)
{
    (void)state;
    float x[2 * 3 * 5];
    for (int i = 0; i < 30; i++)
        x[i] = (float)i * 0.25f - 3.0f;
    int64_t shape[3] = {2, 3, 5};
    const char *p = test_path("rt.npy");
    assert_int_equal(mrnet_npy_save_f32(p, 3, shape, x, false), MRNET_OK);
    npy_header h;
    float *y;
    assert_int_equal(npy_load_f32(p, &h, &y), MRNET_OK);
    assert_int_equal(h.ndim, 3);
    assert_int_equal(h.shape[2], 5);
    assert_int_equal(h.data_offset % 64, 0);
    assert_memory_equal(x, y, sizeof x);
    free(y);
    /* float16: these values are exact in half precision. */
    const char *p16 = test_path("rt16.npy");
    assert_int_equal(mrnet_npy_save_f32(p16, 3, shape, x, true), MRNET_OK);
    assert_int_equal(npy_load_f32(p16, &h, &y), MRNET_OK);
    assert_string_equal(h.descr, "<f2");
    assert_memory_equal(x, y, sizeof x);
    free(y);
    /* 1-D shape is written "(n,)". */
    int64_t one[1] = {4};
    assert_int_equal(mrnet_npy_save_f32(test_path("one.npy"), 1, one, x, false), MRNET_OK);
    assert_int_equal(npy_read_header(test_path("one.npy"), &h), MRNET_OK);
    assert_int_equal(h.ndim, 1);
    assert_int_equal(h.shape[0], 4);
}

static void test_half_conversion(void **state)
{
    (void)state;
    /* Every half value converts to float and back unchanged (NaN aside). */
    for (uint32_t v = 0; v < 65536; v++) {
        float f = mrnet_half_to_float((uint16_t)v);
        if (isnan(f))
            continue;
        assert_int_equal(mrnet_float_to_half(f), v);
    }
    assert_int_equal(mrnet_float_to_half(65520.0f), 0x7c00);   /* overflow -> inf */
    assert_int_equal(mrnet_float_to_half(1.0f + 1.0f / 4096), 0x3c00); /* tie to even */
    assert_true(fabsf(mrnet_half_to_float(mrnet_float_to_half(0.1f)) - 0.1f) < 1e-4f);
}

static void test_numpy_variants(void **state)
{
    (void)state;
    /* Fortran order (2, 3): memory holds columns. */
    float col[6] = {1, 4, 2, 5, 3, 6};
    const char *pf = test_path("fortran.npy");
    write_npy(pf, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", col, sizeof col);
    float *y;
    npy_header h;
    assert_int_equal(npy_load_f32(pf, &h, &y), MRNET_OK);
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == (float)(i + 1));
    free(y);
    /* Big-endian float64, version 2 header. */
    unsigned char be[16];
    double vals[2] = {1.5, -2.25};
    for (int k = 0; k < 2; k++) {
        unsigned char b[8];
        memcpy(b, &vals[k], 8);
        for (int i = 0; i < 8; i++)
            be[k * 8 + i] = b[7 - i];
    }
    const char *pb = test_path("be.npy");
    write_npy(pb, 2, "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", be, sizeof be);
    assert_int_equal(npy_load_f32(pb, &h, &y), MRNET_OK);
    assert_true(y[0] == 1.5f && y[1] == -2.25f);
    free(y);
    /* int16 */
    short s[3] = {-2, 0, 7};
    const char *pi = test_path("i2.npy");
    write_npy(pi, 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }", s, sizeof s);
    assert_int_equal(npy_load_f32(pi, &h, &y), MRNET_OK);
    assert_true(y[0] == -2.0f && y[2] == 7.0f);
    free(y);
    /* numpy's own golden file. */
    assert_int_equal(npy_read_header(test_source_path("tests/golden/mel_input.npy"), &h), MRNET_OK);
    assert_int_equal(h.dtype, NPY_F32);
    assert_int_equal(h.numel, 8000);
}

static void expect_bad(const char *name, const char *dict, const void *data, size_t n, mrnet_status want,
                       const char *fragment)
{
    const char *p = test_path(name);
    write_npy(p, 1, dict, data, n);
    float *y = NULL;
    mrnet_status s = npy_load_f32(p, NULL, &y);
    if (s != want)
        fail_msg("%s: got %s (%s)", name, mrnet_status_name(s), mrnet_last_error());
    assert_null(y);
    assert_non_null(strstr(mrnet_last_error(), p));
    if (!strstr(mrnet_last_error(), fragment))
        fail_msg("%s: message '%s' lacks '%s'", name, mrnet_last_error(), fragment);
}

static void test_hostile(void **state)
{
    (void)state;
    float data[8] = {0};
    expect_bad("huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (48, 999999999999), }", data,
               sizeof data, MRNET_ERR_FORMAT, "needs more data");
    expect_bad("huge2.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }",
               data, sizeof data, MRNET_ERR_FORMAT, "");
    expect_bad("trunc.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", data, sizeof data,
               MRNET_ERR_FORMAT, "truncated");
    expect_bad("dtype.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", data, sizeof data,
               MRNET_ERR_FORMAT, "not supported");
    expect_bad("object.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", data, sizeof data,
               MRNET_ERR_FORMAT, "not supported");
    expect_bad("nokey.npy", "{'descr': '<f4', 'shape': (2,), }", data, sizeof data, MRNET_ERR_FORMAT, "fortran_order");
    expect_bad("garbled.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,", data, sizeof data,
               MRNET_ERR_FORMAT, "");
    float nan_data[4] = {0, 1, NAN, 2};
    expect_bad("nan.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", nan_data, sizeof nan_data,
               MRNET_ERR_NUMERIC, "NaN");
    /* Not npy at all, and empty. */
    const char *p = test_path("magic.npy");
    assert_int_equal(test_write_file(p, "RIFF....WAVEfmt ", 16), 0);
    npy_header h;
    assert_int_equal(npy_read_header(p, &h), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "magic"));
    p = test_path("empty.npy");
    assert_int_equal(test_write_file(p, "", 0), 0);
    assert_int_equal(npy_read_header(p, &h), MRNET_ERR_FORMAT);
    /* A header length beyond the file. */
    unsigned char bad[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0xff, '{', '}'};
    p = test_path("hlen.npy");
    assert_int_equal(test_write_file(p, bad, sizeof bad), 0);
    assert_int_equal(npy_read_header(p, &h), MRNET_ERR_FORMAT);
}

static void test_read_range(void **state)
{
    (void)state;
    float x[100];
    for (int i = 0; i < 100; i++)
        x[i] = (float)i;
    int64_t shape[2] = {10, 10};
    const char *p = test_path("range.npy");
    assert_int_equal(mrnet_npy_save_f32(p, 2, shape, x, true), MRNET_OK);
    npy_header h;
    assert_int_equal(npy_read_header(p, &h), MRNET_OK);
    int fd = open(p, O_RDONLY);
    float y[7];
    assert_int_equal(npy_read_f32_at(fd, p, &h, 42, 7, y), MRNET_OK);
    for (int i = 0; i < 7; i++)
        assert_true(y[i] == (float)(42 + i));
    assert_int_equal(npy_read_f32_at(fd, p, &h, 95, 7, y), MRNET_ERR_ARG);
    close(fd);
}

/* Issue 11, finding 11: a .npy taken as features obeys the store's channel
 * policy (8 channels into a mono store is refused, naming the file), and an
 * offset or duration of 1e18 s is compared before it is converted (an error
 * past the end, the whole array), not undefined behaviour. */
static void test_npy_channels_and_huge_offset(void **state)
{
    (void)state;
    mrnet_features_options opt;
    mrnet_features_options_default(&opt);
    int64_t shape[3] = {8, opt.mel.n_mels, 10};
    size_t n = (size_t)(8 * opt.mel.n_mels * 10);
    float *x = calloc(n, sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(i % 7);
    const char *eight = test_path("eight.npy");
    assert_int_equal(mrnet_npy_save_f32(eight, 3, shape, x, false), MRNET_OK);
    shape[0] = 1;
    const char *one = test_path("one.npy");
    assert_int_equal(mrnet_npy_save_f32(one, 3, shape, x, false), MRNET_OK);
    free(x);
    mrnet_features f;
    opt.audio.channels = MRNET_CHANNELS_MONO;
    assert_int_equal(mrnet_features_from_file(eight, &opt, NULL, &f), MRNET_ERR_SHAPE);
    assert_non_null(strstr(mrnet_last_error(), eight));
    assert_non_null(strstr(mrnet_last_error(), "8 channels"));
    opt.audio.channels = MRNET_CHANNELS_KEEP;
    assert_int_equal(mrnet_features_from_file(eight, &opt, NULL, &f), MRNET_OK);
    assert_int_equal(f.S, 8);
    mrnet_features_free(&f);
    opt.audio.channels = MRNET_CHANNELS_MONO;
    assert_int_equal(mrnet_features_from_file(one, &opt, NULL, &f), MRNET_OK);
    assert_int_equal(f.S, 1);
    mrnet_features_free(&f);
    opt.audio.offset = 1e18;
    assert_int_equal(mrnet_features_from_file(one, &opt, NULL, &f), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "past the end"));
    opt.audio.offset = 0.0;
    opt.audio.duration = 1e18;
    assert_int_equal(mrnet_features_from_file(one, &opt, NULL, &f), MRNET_OK);
    assert_int_equal(f.T, 10);
    mrnet_features_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_half_conversion),
        cmocka_unit_test(test_numpy_variants), cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_read_range), cmocka_unit_test(test_npy_channels_and_huge_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
