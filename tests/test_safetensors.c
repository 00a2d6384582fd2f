/* The safetensors reader and writer (src/tensor/safetensors.c).
 *
 * Round trip of every dtype the writer takes, a scalar, metadata and names
 * that need JSON escaping; every tensor's data aligned to its dtype size and
 * the data area without holes. Then every malformed file the reader must
 * refuse, each with a status and a message that names the file and, where
 * one is involved, the tensor. Malformed files are written byte by byte
 * (raw_file) so the writer's own checks cannot hide a reader bug. Last, the
 * writer's atomicity: a failed save leaves no temporary and no half file. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor/safetensors.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Writes "<8-byte little-endian header length><header><data>" to
 * test_path(name); header_len overrides the real length when nonzero. */
static const char *raw_file(const char *name, uint64_t header_len, const char *header,
                            const void *data, size_t data_len)
{
    size_t hlen = strlen(header);
    if (!header_len)
        header_len = hlen;
    size_t n = 8 + hlen + data_len;
    unsigned char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(header_len >> (8 * i));
    memcpy(buf + 8, header, hlen);
    if (data_len)
        memcpy(buf + 8 + hlen, data, data_len);
    const char *path = test_path(name);
    assert_int_equal(test_write_file(path, buf, n), 0);
    free(buf);
    return path;
}

/* A file of one header and `data_len` zero bytes of data. */
static const char *header_file(const char *name, const char *header, size_t data_len)
{
    static const unsigned char zeros[256];
    assert_true(data_len <= sizeof zeros);
    return raw_file(name, 0, header, zeros, data_len);
}

/* mrnet_st_open must fail with `want`; the message must name the file and contain
 * each of the NULL-terminated fragments. */
static void expect_open_error(const char *path, mrnet_status want, ...)
{
    mrnet_st_file *f = (mrnet_st_file *)1;
    mrnet_status st = mrnet_st_open(path, &f);
    if (st == MRNET_OK) {
        mrnet_st_close(f);
        fail_msg("%s: st_open accepted a malformed file", path);
    }
    assert_null(f);
    const char *msg = mrnet_last_error();
    if (st != want)
        fail_msg("%s: status %s, expected %s (%s)", path, mrnet_status_name(st),
                 mrnet_status_name(want), msg);
    if (!strstr(msg, path))
        fail_msg("message does not name the file %s: %s", path, msg);
    va_list ap;
    va_start(ap, want);
    test_expect_fragments("message", msg, ap);
    va_end(ap);
}

static mrnet_st_file *open_ok(const char *path)
{
    mrnet_st_file *f = NULL;
    if (mrnet_st_open(path, &f) != MRNET_OK)
        fail_msg("st_open(%s): %s", path, mrnet_last_error());
    return f;
}

/* Number of entries of the test directory whose name contains `part`. */
static int count_entries(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* ---- round trip --------------------------------------------------------------- */

static void round_trip(void **state)
{
    (void)state;
    /* Odd byte counts first, so that a writer laying data out in insertion
     * order would misalign the wider tensors behind them. */
    const uint8_t u8[3] = {1, 200, 7};
    const uint16_t f16[5] = {0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff}; /* 1 -2 ~1/3 2^-24 65504 */
    const uint16_t bf16[1] = {0x4049};                                  /* 3.140625 */
    const uint8_t flags[2] = {1, 0};
    const int8_t i8[3] = {-128, 0, 127};
    const int16_t i16[3] = {-300, 5, 32767};
    const float f32[6] = {0.5f, -1.25f, 3e-39f, 1e30f, -0.0f, 7.0f};
    const double f64[3] = {1.0 / 3.0, -2.5e-300, 4e300};
    const int64_t i64_scalar = -1234567890123LL;
    const int32_t i32[4] = {-7, 0, 2147483647, 42};
    const float empty[1] = {0};
    static const char *const weird = "odd \"name\"\\ with/ünïcode";

    mrnet_st_writer *w = mrnet_st_writer_create();
    assert_non_null(w);
    assert_int_equal(mrnet_st_writer_add(w, "u8", MRNET_U8, 1, (int64_t[]){3}, u8), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "f16", MRNET_F16, 1, (int64_t[]){5}, f16), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "bf16", MRNET_BF16, 2, (int64_t[]){1, 1}, bf16), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "bool", MRNET_BOOL, 1, (int64_t[]){2}, flags), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "i8", MRNET_I8, 1, (int64_t[]){3}, i8), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "i16", MRNET_I16, 1, (int64_t[]){3}, i16), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "f32", MRNET_F32, 2, (int64_t[]){2, 3}, f32), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "f64", MRNET_F64, 1, (int64_t[]){3}, f64), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "scalar", MRNET_I64, 0, NULL, &i64_scalar), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, weird, MRNET_I32, 3, (int64_t[]){2, 1, 2}, i32), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "empty", MRNET_F32, 2, (int64_t[]){0, 4}, empty), MRNET_OK);
    assert_int_equal(mrnet_st_writer_meta(w, "format", "mrnet"), MRNET_OK);
    assert_int_equal(mrnet_st_writer_meta(w, "note", "replaced below"), MRNET_OK);
    assert_int_equal(mrnet_st_writer_meta(w, "note", "{\"json\": [1, 2]} \"quoted\""), MRNET_OK);
    const char *path = test_path("round_trip.safetensors");
    assert_int_equal(mrnet_st_writer_save(w, path), MRNET_OK);
    mrnet_st_writer_free(w);

    mrnet_st_file *f = open_ok(path);
    static const char *const order[] = {"u8", "f16", "bf16", "bool", "i8", "i16", "f32",
                                        "f64", "scalar", NULL, "empty"};
    assert_int_equal(f->n_tensors, 11);
    for (int i = 0; i < 11; i++) /* insertion order kept in the header */
        assert_string_equal(f->tensors[i].name, order[i] ? order[i] : weird);

    /* Header padded to 8 bytes; every tensor aligned to its dtype size inside
     * the mapping; the data area exactly covered (the format forbids holes). */
    const unsigned char *base = f->map;
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--)
        header_len = (header_len << 8) | base[i];
    assert_int_equal(header_len % 8, 0);
    size_t data_bytes = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const mrnet_st_tensor *t = &f->tensors[i];
        size_t size = mrnet_dtype_size(t->dtype);
        size_t offset = (size_t)((const unsigned char *)t->data - base);
        if (offset % size != 0)
            fail_msg("tensor '%s' (%s) at file offset %zu is not %zu-byte aligned", t->name,
                     mrnet_dtype_name(t->dtype), offset, size);
        data_bytes += (size_t)t->numel * size;
    }
    assert_int_equal((long)(8 + header_len + data_bytes), file_size(path));

    const mrnet_st_tensor *t = mrnet_st_find(f, "scalar");
    assert_non_null(t);
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->numel, 1);
    assert_int_equal(t->dtype, MRNET_I64);
    assert_memory_equal(t->data, &i64_scalar, 8);

    t = mrnet_st_find(f, weird);
    assert_non_null(t);
    assert_int_equal(t->dtype, MRNET_I32);
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 1);
    assert_int_equal(t->shape[2], 2);
    assert_memory_equal(t->data, i32, sizeof i32);

    t = mrnet_st_find(f, "empty");
    assert_int_equal(t->numel, 0);
    assert_int_equal(t->shape[0], 0);
    assert_int_equal(t->shape[1], 4);

    const struct {
        const char *name;
        const void *data;
        size_t bytes;
    } raw[] = {{"u8", u8, sizeof u8},       {"f16", f16, sizeof f16}, {"bf16", bf16, sizeof bf16},
               {"bool", flags, sizeof flags}, {"i8", i8, sizeof i8}, {"i16", i16, sizeof i16},
               {"f32", f32, sizeof f32},     {"f64", f64, sizeof f64}};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        t = mrnet_st_find(f, raw[i].name);
        assert_non_null(t);
        assert_int_equal((size_t)t->numel * mrnet_dtype_size(t->dtype), raw[i].bytes);
        assert_memory_equal(t->data, raw[i].data, raw[i].bytes);
    }

    /* F32 behind odd-sized tensors is still readable in place. */
    const float *p;
    assert_int_equal(mrnet_st_get_f32(f, "f32", 2, (int64_t[]){2, 3}, &p), MRNET_OK);
    assert_memory_equal(p, f32, sizeof f32);
    assert_int_equal(mrnet_st_get_f32(f, "f32", 2, (int64_t[]){-1, 3}, &p), MRNET_OK);
    assert_int_equal(mrnet_st_get_f32(f, "empty", 2, (int64_t[]){0, 4}, &p), MRNET_OK);

    /* Conversions to float32. */
    float out[6];
    assert_int_equal(mrnet_st_copy_to_f32(f, mrnet_st_find(f, "f16"), out, 5), MRNET_OK);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[4] == 65504.0f);
    assert_true(fabsf(out[2] - 1.0f / 3.0f) < 1e-3f && out[3] == ldexpf(1.0f, -24));
    assert_int_equal(mrnet_st_copy_to_f32(f, mrnet_st_find(f, "bf16"), out, 1), MRNET_OK);
    assert_true(out[0] == 3.140625f);
    assert_int_equal(mrnet_st_copy_to_f32(f, mrnet_st_find(f, "f64"), out, 3), MRNET_OK);
    assert_true(out[0] == (float)(1.0 / 3.0) && out[1] == -0.0f && isinf(out[2]));
    assert_int_equal(mrnet_st_copy_to_f32(f, mrnet_st_find(f, "scalar"), out, 1), MRNET_OK);
    assert_true(out[0] == (float)i64_scalar);
    assert_int_equal(mrnet_st_copy_to_f32(f, mrnet_st_find(f, weird), out, 4), MRNET_OK);
    assert_true(out[0] == -7.0f && out[3] == 42.0f);
    assert_int_not_equal(mrnet_st_copy_to_f32(f, mrnet_st_find(f, "f32"), out, 5), MRNET_OK);
    assert_non_null(strstr(mrnet_last_error(), "'f32'"));
    assert_int_not_equal(mrnet_st_copy_to_f32(f, mrnet_st_find(f, "u8"), out, 3), MRNET_OK);
    assert_non_null(strstr(mrnet_last_error(), "U8"));

    assert_int_equal(f->n_meta, 2);
    assert_string_equal(mrnet_st_meta(f, "format"), "mrnet");
    assert_string_equal(mrnet_st_meta(f, "note"), "{\"json\": [1, 2]} \"quoted\"");
    assert_null(mrnet_st_meta(f, "absent"));
    assert_null(mrnet_st_find(f, "absent"));
    mrnet_st_close(f);
}

/* No tensors and no metadata is a valid (empty) file. */
static void empty_writer(void **state)
{
    (void)state;
    mrnet_st_writer *w = mrnet_st_writer_create();
    const char *path = test_path("nothing.safetensors");
    assert_int_equal(mrnet_st_writer_save(w, path), MRNET_OK);
    mrnet_st_writer_free(w);
    mrnet_st_file *f = open_ok(path);
    assert_int_equal(f->n_tensors, 0);
    assert_int_equal(f->n_meta, 0);
    mrnet_st_close(f);
}

/* The writer refuses what it cannot write correctly. */
static void writer_rejects(void **state)
{
    (void)state;
    float x[4] = {0};
    mrnet_st_writer *w = mrnet_st_writer_create();
    assert_int_equal(mrnet_st_writer_add(w, "a", MRNET_F32, 1, (int64_t[]){4}, x), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "a", MRNET_F32, 1, (int64_t[]){4}, x), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "'a'"));
    assert_int_equal(mrnet_st_writer_add(w, "neg", MRNET_F32, 1, (int64_t[]){-4}, x), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "'neg'"));
    assert_int_equal(mrnet_st_writer_add(w, "deep", MRNET_F32, MRNET_ST_MAX_DIMS + 1,
                                   (int64_t[MRNET_ST_MAX_DIMS + 1]){1, 1, 1, 1, 1, 1, 1, 1, 1}, x),
                     MRNET_ERR_ARG);
    assert_int_equal(mrnet_st_writer_add(w, "__metadata__", MRNET_F32, 1, (int64_t[]){4}, x),
                     MRNET_ERR_ARG);
    assert_int_equal(mrnet_st_writer_add(w, "odd", (mrnet_dtype)42, 1, (int64_t[]){4}, x), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "'odd'"));
    /* The failed adds left the writer usable. */
    const char *path = test_path("after_rejects.safetensors");
    assert_int_equal(mrnet_st_writer_save(w, path), MRNET_OK);
    mrnet_st_writer_free(w);
    mrnet_st_file *f = open_ok(path);
    assert_int_equal(f->n_tensors, 1);
    mrnet_st_close(f);
}

/* ---- malformed files -------------------------------------------------------------- */

static void too_short(void **state)
{
    (void)state;
    const char *path = test_path("empty.safetensors");
    assert_int_equal(test_write_file(path, "", 0), 0);
    expect_open_error(path, MRNET_ERR_FORMAT, "0 bytes", NULL);
    path = test_path("seven.safetensors");
    assert_int_equal(test_write_file(path, "\x08\0\0\0\0\0\0", 7), 0);
    expect_open_error(path, MRNET_ERR_FORMAT, "7 bytes", NULL);
    expect_open_error(test_path("does_not_exist.safetensors"), MRNET_ERR_IO, "cannot open",
                      NULL);
    expect_open_error(test_tmpdir(), MRNET_ERR_IO, "not a regular file", NULL);
}

static void header_length(void **state)
{
    (void)state;
    /* Claims 100 bytes of header in a 20-byte file. */
    const char *path = raw_file("hlen_big.safetensors", 100, "{}          ", NULL, 0);
    expect_open_error(path, MRNET_ERR_FORMAT, "header length 100", NULL);
    /* 2^63: no overflow in 8 + length. */
    path = raw_file("hlen_2_63.safetensors", (uint64_t)1 << 63, "{}      ", NULL, 0);
    expect_open_error(path, MRNET_ERR_FORMAT, "header length 9223372036854775808", NULL);
    path = raw_file("hlen_max.safetensors", UINT64_MAX, "{}      ", NULL, 0);
    expect_open_error(path, MRNET_ERR_FORMAT, "header length", NULL);
    /* Exactly the file: valid, no tensors. */
    mrnet_st_file *f = open_ok(raw_file("hlen_exact.safetensors", 0, "{}      ", NULL, 0));
    assert_int_equal(f->n_tensors, 0);
    mrnet_st_close(f);
}

static void header_not_json(void **state)
{
    (void)state;
    expect_open_error(header_file("not_json.safetensors", "{\"a\": {\"dtype\": ", 0),
                      MRNET_ERR_FORMAT, "JSON", NULL);
    expect_open_error(header_file("binary.safetensors", "\x89PNG\r\n\x1a\n", 0),
                      MRNET_ERR_FORMAT, "JSON", NULL);
    expect_open_error(header_file("array.safetensors", "[1, 2, 3]", 0), MRNET_ERR_FORMAT,
                      "not a JSON object", NULL);
    expect_open_error(header_file("string.safetensors", "\"tensors\"", 0), MRNET_ERR_FORMAT,
                      "not a JSON object", NULL);
    /* Padding after the object is spaces (or JSON whitespace), nothing else. */
    expect_open_error(header_file("trailing.safetensors", "{}  {\"x\": 1}", 0), MRNET_ERR_FORMAT,
                      "after its JSON object", NULL);
    static const char nul_padded[16] = {8,   0,   0, 0,   0,   0,   0,   0,
                                        '{', '}', 0, ' ', ' ', ' ', ' ', ' '};
    const char *path = test_path("trailing_nul.safetensors");
    assert_int_equal(test_write_file(path, nul_padded, sizeof nul_padded), 0);
    expect_open_error(path, MRNET_ERR_FORMAT, "after its JSON object", NULL);
    mrnet_st_file *f = open_ok(header_file("padded.safetensors", "{} \t\r\n    ", 0));
    mrnet_st_close(f);
}

/* One tensor entry "t" whose fields are `fields`, over `data_len` bytes. */
static void expect_tensor_error(const char *file, const char *fields, size_t data_len,
                                const char *fragment)
{
    char header[1024];
    snprintf(header, sizeof header, "{\"ok\":{\"dtype\":\"U8\",\"shape\":[0],"
             "\"data_offsets\":[0,0]},\"t\":{%s}}", fields);
    expect_open_error(header_file(file, header, data_len), MRNET_ERR_FORMAT, "'t'", fragment,
                      NULL);
}

static void bad_dtype(void **state)
{
    (void)state;
    expect_tensor_error("no_dtype.safetensors", "\"shape\":[1],\"data_offsets\":[0,4]", 4,
                        "dtype");
    expect_tensor_error("int_dtype.safetensors",
                        "\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]", 4, "dtype");
    expect_tensor_error("unknown_dtype.safetensors",
                        "\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]", 1,
                        "F8_E4M3");
    expect_tensor_error("lower_dtype.safetensors",
                        "\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]", 4, "'f32'");
    expect_open_error(header_file("entry_number.safetensors", "{\"t\": 5}", 0),
                      MRNET_ERR_FORMAT, "'t'", "not an object", NULL);
}

static void bad_shape(void **state)
{
    (void)state;
    expect_tensor_error("shape_number.safetensors",
                        "\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]", 16, "shape");
    expect_tensor_error("shape_missing.safetensors", "\"dtype\":\"F32\",\"data_offsets\":[0,4]",
                        4, "shape");
    expect_tensor_error("shape_negative.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]", 8, "shape");
    expect_tensor_error("shape_fraction.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]", 4, "shape");
    expect_tensor_error("shape_string.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]", 8, "shape");
    expect_tensor_error("shape_9dims.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]",
                        4, "8 dims");
    /* numel beyond any file: 2^40 per dim passes, the product does not. */
    expect_tensor_error("shape_overflow.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776,16],"
                        "\"data_offsets\":[0,4]", 4, "too large");
    expect_tensor_error("shape_overflow64.safetensors",
                        "\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,4294967296,"
                        "4294967296],\"data_offsets\":[0,8]", 8, "too large");
    expect_tensor_error("shape_huge_dim.safetensors",
                        "\"dtype\":\"U8\",\"shape\":[1e300],\"data_offsets\":[0,1]", 1, "shape");
    /* A zero dim makes the tensor empty whatever the others are. */
    mrnet_st_file *f = open_ok(header_file(
        "shape_zero.safetensors",
        "{\"z\":{\"dtype\":\"F32\",\"shape\":[0,1099511627776],\"data_offsets\":[0,0]}}", 0));
    assert_int_equal(mrnet_st_find(f, "z")->numel, 0);
    mrnet_st_close(f);
}

static void bad_offsets(void **state)
{
    (void)state;
    expect_tensor_error("offs_missing.safetensors", "\"dtype\":\"F32\",\"shape\":[1]", 4,
                        "data_offsets");
    expect_tensor_error("offs_one.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]", 4,
                        "data_offsets");
    expect_tensor_error("offs_three.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]", 8,
                        "data_offsets");
    expect_tensor_error("offs_negative.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]", 4,
                        "data_offsets");
    expect_tensor_error("offs_object.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"a\":0,\"b\":4}", 4,
                        "data_offsets");
    expect_tensor_error("offs_reversed.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]", 8, "[8, 4]");
    expect_tensor_error("offs_beyond.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]", 12,
                        "outside the 12 data bytes");
    expect_tensor_error("offs_count.safetensors",
                        "\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]", 24,
                        "needs 24");
    expect_tensor_error("offs_count_f16.safetensors",
                        "\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,3]", 4, "needs 6");
    expect_tensor_error("offs_scalar.safetensors",
                        "\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]", 8, "needs 8");
}

/* A valid file cut short: the last tensor's data runs past the end. */
static void truncated(void **state)
{
    (void)state;
    float a[16], b[64];
    for (int i = 0; i < 16; i++)
        a[i] = (float)i;
    for (int i = 0; i < 64; i++)
        b[i] = (float)-i;
    mrnet_st_writer *w = mrnet_st_writer_create();
    assert_int_equal(mrnet_st_writer_add(w, "first", MRNET_F32, 1, (int64_t[]){16}, a), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "second", MRNET_F32, 2, (int64_t[]){8, 8}, b), MRNET_OK);
    const char *path = test_path("full.safetensors");
    assert_int_equal(mrnet_st_writer_save(w, path), MRNET_OK);
    mrnet_st_writer_free(w);

    long size = file_size(path);
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, in), (size_t)size);
    fclose(in);
    const char *cut = test_path("truncated.safetensors");
    assert_int_equal(test_write_file(cut, bytes, (size_t)size - 5), 0);
    expect_open_error(cut, MRNET_ERR_FORMAT, "'second'", "truncated", NULL);
    /* Cut inside the header: the length now exceeds the file. */
    assert_int_equal(test_write_file(cut, bytes, 40), 0);
    expect_open_error(cut, MRNET_ERR_FORMAT, "header length", NULL);
    free(bytes);
}

static void overlap(void **state)
{
    (void)state;
    expect_open_error(
        header_file("overlap.safetensors",
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                    12),
        MRNET_ERR_FORMAT, "'a'", "'b'", "overlap", NULL);
    /* Same range twice. */
    expect_open_error(
        header_file("alias.safetensors",
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                    8),
        MRNET_ERR_FORMAT, "overlap", NULL);
    /* b lies inside a, with an empty tensor between them in offset order:
     * comparing neighbours only would miss it. */
    expect_open_error(
        header_file("overlap_nested.safetensors",
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]},"
                    "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
                    32),
        MRNET_ERR_FORMAT, "'a'", "'b'", "overlap", NULL);
    /* A long tensor spanning two later ones. */
    expect_open_error(
        header_file("overlap_span.safetensors",
                    "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                    "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                    "\"c\":{\"dtype\":\"U8\",\"shape\":[12],\"data_offsets\":[2,14]}}",
                    14),
        MRNET_ERR_FORMAT, "overlap", NULL);
    /* Touching is fine, and empty tensors anywhere are fine. */
    mrnet_st_file *f = open_ok(
        header_file("touching.safetensors",
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                    16));
    assert_int_equal(f->n_tensors, 3);
    mrnet_st_close(f);
}

static void duplicate_names(void **state)
{
    (void)state;
    expect_open_error(
        header_file("duplicate.safetensors",
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                    8),
        MRNET_ERR_FORMAT, "'a'", "more than once", NULL);
    expect_open_error(header_file("duplicate_meta.safetensors",
                                  "{\"__metadata__\":{\"k\":\"1\"},\"__metadata__\":{\"k\":\"2\"}}",
                                  0),
                      MRNET_ERR_FORMAT, "__metadata__", NULL);
}

static void bad_metadata(void **state)
{
    (void)state;
    expect_open_error(header_file("meta_array.safetensors", "{\"__metadata__\":[\"a\",\"b\"]}", 0),
                      MRNET_ERR_FORMAT, "__metadata__", "not a JSON object", NULL);
    expect_open_error(header_file("meta_string.safetensors", "{\"__metadata__\":\"format\"}", 0),
                      MRNET_ERR_FORMAT, "__metadata__", NULL);
    expect_open_error(
        header_file("meta_number.safetensors", "{\"__metadata__\":{\"ok\":\"x\",\"steps\":4}}", 0),
        MRNET_ERR_FORMAT, "'steps'", "not a string", NULL);
    expect_open_error(
        header_file("meta_nested.safetensors", "{\"__metadata__\":{\"cfg\":{\"C\":512}}}", 0),
        MRNET_ERR_FORMAT, "'cfg'", "not a string", NULL);
    expect_open_error(header_file("meta_null.safetensors", "{\"__metadata__\":{\"n\":null}}", 0),
                      MRNET_ERR_FORMAT, "'n'", NULL);
}

/* ---- mrnet_st_get_f32 ------------------------------------------------------------------- */

static void get_f32_errors(void **state)
{
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t n[1] = {9};
    mrnet_st_writer *w = mrnet_st_writer_create();
    assert_int_equal(mrnet_st_writer_add(w, "x", MRNET_F32, 2, (int64_t[]){2, 3}, x), MRNET_OK);
    assert_int_equal(mrnet_st_writer_add(w, "n", MRNET_I64, 1, (int64_t[]){1}, n), MRNET_OK);
    const char *path = test_path("get.safetensors");
    assert_int_equal(mrnet_st_writer_save(w, path), MRNET_OK);
    mrnet_st_writer_free(w);
    mrnet_st_file *f = open_ok(path);
    const float *p = x;

    assert_int_equal(mrnet_st_get_f32(f, "y", 2, (int64_t[]){2, 3}, &p), MRNET_ERR_SHAPE);
    assert_null(p);
    const char *msg = mrnet_last_error();
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "'y'"));
    assert_non_null(strstr(msg, "missing"));

    assert_int_equal(mrnet_st_get_f32(f, "n", 1, (int64_t[]){1}, &p), MRNET_ERR_SHAPE);
    msg = mrnet_last_error();
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "'n'"));
    assert_non_null(strstr(msg, "I64"));
    assert_non_null(strstr(msg, "F32"));

    assert_int_equal(mrnet_st_get_f32(f, "x", 2, (int64_t[]){3, 2}, &p), MRNET_ERR_SHAPE);
    msg = mrnet_last_error();
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "'x'"));
    assert_non_null(strstr(msg, "(2, 3)"));
    assert_non_null(strstr(msg, "(3, 2)"));

    assert_int_equal(mrnet_st_get_f32(f, "x", 3, (int64_t[]){2, 3, 1}, &p), MRNET_ERR_SHAPE);
    assert_non_null(strstr(mrnet_last_error(), "(2, 3, 1)"));
    /* A wildcard dimension is shown as such, not as -1. */
    assert_int_equal(mrnet_st_get_f32(f, "x", 2, (int64_t[]){-1, 4}, &p), MRNET_ERR_SHAPE);
    msg = mrnet_last_error();
    assert_non_null(strstr(msg, "(2, 3)"));
    /* past the path: mkdtemp's name can itself hold "-1" (mrnet-test-1xxxxx) */
    assert_non_null(strstr(msg, path));
    assert_null(strstr(strstr(msg, path) + strlen(path), "-1"));

    assert_int_equal(mrnet_st_get_f32(f, "x", 2, (int64_t[]){-1, -1}, &p), MRNET_OK);
    assert_memory_equal(p, x, sizeof x);
    mrnet_st_close(f);
}

/* ---- atomic saves ------------------------------------------------------------------ */

static mrnet_status save_values(const char *path, const float *v, int64_t n)
{
    mrnet_st_writer *w = mrnet_st_writer_create();
    assert_non_null(w);
    mrnet_status st = mrnet_st_writer_add(w, "v", MRNET_F32, 1, &n, v);
    if (st == MRNET_OK)
        st = mrnet_st_writer_save(w, path);
    mrnet_st_writer_free(w);
    return st;
}

static void expect_values(const char *path, const float *v, int64_t n)
{
    mrnet_st_file *f = open_ok(path);
    const float *p;
    assert_int_equal(mrnet_st_get_f32(f, "v", 1, &n, &p), MRNET_OK);
    assert_memory_equal(p, v, (size_t)n * sizeof *v);
    mrnet_st_close(f);
}

static void save_missing_dir(void **state)
{
    (void)state;
    float v[4] = {1, 2, 3, 4};
    char path[600];
    snprintf(path, sizeof path, "%s/no_such_dir/out.safetensors", test_tmpdir());
    int before = count_entries(test_tmpdir(), ".tmp");
    assert_int_equal(save_values(path, v, 4), MRNET_ERR_IO);
    const char *msg = mrnet_last_error();
    if (!strstr(msg, path))
        fail_msg("message does not name %s: %s", path, msg);
    assert_int_equal(file_size(path), -1);
    assert_int_equal(count_entries(test_tmpdir(), ".tmp"), before);
}

static void save_replaces(void **state)
{
    (void)state;
    const char *path = test_path("replace.safetensors");
    float old_v[3] = {1, 2, 3};
    enum { BIG = 1 << 16 };
    float *new_v = malloc(BIG * sizeof *new_v);
    assert_non_null(new_v);
    for (int i = 0; i < BIG; i++)
        new_v[i] = (float)i * 0.5f;

    assert_int_equal(save_values(path, old_v, 3), MRNET_OK);
    expect_values(path, old_v, 3);
    assert_int_equal(save_values(path, new_v, BIG), MRNET_OK);
    expect_values(path, new_v, BIG);
    assert_int_equal(save_values(path, old_v, 3), MRNET_OK);
    expect_values(path, old_v, 3);
    assert_int_equal(count_entries(test_tmpdir(), "replace.safetensors.tmp"), 0);

    /* A save that fails half way (file size limit: the write itself fails,
     * as on a full disk; root ignores permission bits but not this) leaves
     * the old file intact and no temporary behind. */
    struct rlimit old_limit, limit;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    limit = old_limit;
    limit.rlim_cur = 16384;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
    mrnet_status st = save_values(path, new_v, BIG);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(st, MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), path));
    expect_values(path, old_v, 3);
    assert_int_equal(count_entries(test_tmpdir(), "replace.safetensors.tmp"), 0);

    /* Not writable as a file at all: the target is a directory. */
    char dir_target[600];
    snprintf(dir_target, sizeof dir_target, "%s/a_directory", test_tmpdir());
    assert_int_equal(mkdir(dir_target, 0700), 0);
    assert_int_not_equal(save_values(dir_target, old_v, 3), MRNET_OK);
    assert_non_null(strstr(mrnet_last_error(), dir_target));
    assert_int_equal(count_entries(test_tmpdir(), "a_directory.tmp"), 0);
    free(new_v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),       cmocka_unit_test(empty_writer),
        cmocka_unit_test(writer_rejects),   cmocka_unit_test(too_short),
        cmocka_unit_test(header_length),    cmocka_unit_test(header_not_json),
        cmocka_unit_test(bad_dtype),        cmocka_unit_test(bad_shape),
        cmocka_unit_test(bad_offsets),      cmocka_unit_test(truncated),
        cmocka_unit_test(overlap),          cmocka_unit_test(duplicate_names),
        cmocka_unit_test(bad_metadata),     cmocka_unit_test(get_f32_errors),
        cmocka_unit_test(save_missing_dir), cmocka_unit_test(save_replaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
