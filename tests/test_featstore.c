/* The feature store end to end: extraction of a generated folder with broken
 * files (the batch goes on), thread-count independence, windowed reads with
 * wrap, interruption and resume, staleness, a torn index line, settings
 * mismatch, float16, int8, .npy sources referenced in place, and the CLI. */
#include "testutil.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train/augment.h"
#include "data/dataset.h"
#include "store/featstore.h"
#include "tensor/npy.h"
#include "tensor/safetensors.h"

static char root[512];

static void write_tone(const char *path, int format, int rate, double seconds, double freq)
{
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    assert_non_null(sf);
    int64_t n = (int64_t)(seconds * rate);
    float *buf = malloc(sizeof(float) * (size_t)n);
    for (int64_t t = 0; t < n; t++)
        buf[t] = (float)(0.4 * sin(2 * M_PI * freq * t / rate) + 0.1 * sin(2 * M_PI * 3.7 * freq * t / rate));
    assert_int_equal(sf_writef_float(sf, buf, n), n);
    free(buf);
    sf_close(sf);
}

static const char *in_root(const char *rel)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 1024, "%s/%s", root, rel);
    return b;
}

/* jazz/a.wav as made; test_interrupt_resume_stale changes it, then puts it back. */
static void write_a_wav(void)
{
    write_tone(in_root("jazz/a.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1.0, 300);
}

/* root/{jazz,rock}/...: 8 good clips of 1-3 s in several formats, a melon
 * style npy, and broken files: garbage .wav, empty .wav, truncated .mp3 stub,
 * NaN .npy, huge-header .npy, wrong band count .npy. */
static void make_tree(void)
{
    snprintf(root, sizeof root, "%s", test_path("tree"));
    mkdir(root, 0777);
    mkdir(in_root("jazz"), 0777);
    mkdir(in_root("rock"), 0777);
    const struct {
        const char *name;
        int format;
        int rate;
        double sec, freq;
    } clips[] = {
        {"jazz/b.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2.0, 500},
        {"jazz/c.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 22050, 1.5, 700},
        {"jazz/d.au", SF_FORMAT_AU | SF_FORMAT_PCM_16, 8000, 1.2, 400},
        {"rock/e.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 3.0, 900},
        {"rock/f.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2.0, 1100},
        {"rock/g.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 16000, 0.5, 1300},
        {"rock/h.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 1.0, 1500},
    };
    write_a_wav(); /* jazz/a.wav: 1 s at 16 kHz */
    for (size_t i = 0; i < sizeof clips / sizeof clips[0]; i++)
        write_tone(in_root(clips[i].name), clips[i].format, clips[i].rate, clips[i].sec, clips[i].freq);
    /* A Melon-style mel-spectrogram (48, 100). */
    float *mel = malloc(sizeof(float) * 48 * 100);
    for (int i = 0; i < 4800; i++)
        mel[i] = (float)(i % 97) * 0.01f;
    int64_t shape[2] = {48, 100};
    assert_int_equal(mrnet_npy_save_f32(in_root("rock/m.npy"), 2, shape, mel, false), MRNET_OK);
    int64_t bad_shape[2] = {40, 10};
    assert_int_equal(mrnet_npy_save_f32(in_root("rock/bands40.npy"), 2, bad_shape, mel, false), MRNET_OK);
    mel[5] = NAN;
    assert_int_equal(mrnet_npy_save_f32(in_root("rock/nan.npy"), 2, shape, mel, false), MRNET_OK);
    free(mel);
    const char huge[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (48, 99999999999999), }"
                        "                                                  \n";
    assert_int_equal(test_write_file(in_root("rock/huge.npy"), huge, sizeof huge - 1), 0);
    char junk[2048];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7919 % 251);
    assert_int_equal(test_write_file(in_root("jazz/garbage.wav"), junk, sizeof junk), 0);
    assert_int_equal(test_write_file(in_root("jazz/empty.wav"), "", 0), 0);
    /* the first 200 bytes of a real mp3 */
    FILE *f = fopen(in_root("rock/f.mp3"), "rb");
    char head[200];
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    assert_int_equal(test_write_file(in_root("rock/stub.mp3"), head, sizeof head), 0);
}

static const int n_good = 9, n_bad = 6;

static void read_tree(mrnet_dataset *ds)
{
    mrnet_dataset_init(ds);
    assert_int_equal(mrnet_dataset_read_folder(ds, root), MRNET_OK);
    assert_int_equal(mrnet_dataset_finalize_labels(ds, NULL, 0), MRNET_OK);
    assert_int_equal(ds->n_items, n_good + n_bad);
}

static mrnet_extract_report run(const char *store, int threads, mrnet_extract_options *opt_in, mrnet_status want)
{
    mrnet_dataset ds;
    read_tree(&ds);
    mrnet_extract_options opt;
    if (opt_in)
        opt = *opt_in;
    else
        mrnet_extract_options_default(&opt);
    opt.threads = threads;
    mrnet_extract_report rep;
    mrnet_status s = mrnet_store_extract(store, &ds, &opt, &rep);
    if (s != want)
        fail_msg("extract %s: %s (%s)", store, mrnet_status_name(s), mrnet_last_error());
    mrnet_dataset_free(&ds);
    return rep;
}

static bool has_failure(const mrnet_extract_report *r, const char *name, const char *fragment)
{
    for (int i = 0; i < r->n_failures; i++)
        if (strstr(r->failures[i].source, name) && strstr(r->failures[i].reason, name) &&
            strstr(r->failures[i].reason, fragment))
            return true;
    return false;
}

static void test_extract_and_read(void **state)
{
    (void)state;
    const char *s1 = test_path("store1"), *s3 = test_path("store3");
    mrnet_extract_report r1 = run(s1, 1, NULL, MRNET_OK);
    assert_int_equal(r1.total, n_good + n_bad);
    assert_int_equal(r1.computed, n_good);
    assert_int_equal(r1.failed, n_bad);
    assert_true(has_failure(&r1, "garbage.wav", "not a readable audio file"));
    assert_true(has_failure(&r1, "empty.wav", "empty"));
    assert_true(has_failure(&r1, "nan.npy", "NaN"));
    assert_true(has_failure(&r1, "huge.npy", "needs more data"));
    assert_true(has_failure(&r1, "bands40.npy", "40 bands"));
    assert_true(has_failure(&r1, "stub.mp3", "stub.mp3"));
    mrnet_extract_report r3 = run(s3, 3, NULL, MRNET_OK);
    assert_int_equal(r3.computed, n_good);
    mrnet_extract_report_free(&r1);
    mrnet_extract_report_free(&r3);

    mrnet_store *a, *b;
    assert_int_equal(mrnet_store_open(s1, &a), MRNET_OK);
    assert_int_equal(mrnet_store_open(s3, &b), MRNET_OK);
    assert_int_equal(mrnet_store_count(a), n_good);
    assert_int_equal(mrnet_store_count(b), n_good);
    int n_labels;
    char *const *labels = mrnet_store_labels(a, &n_labels);
    assert_int_equal(n_labels, 2);
    assert_string_equal(labels[0], "jazz");
    assert_string_equal(mrnet_store_settings(a), mrnet_store_settings(b));
    for (int i = 0; i < n_good; i++) {
        const mrnet_store_entry *ea = mrnet_store_get(a, i), *eb = mrnet_store_get(b, i);
        /* Same order (dataset order) and bitwise-equal features for 1 and 3 threads. */
        assert_string_equal(ea->source, eb->source);
        assert_int_equal(ea->S, 1);
        assert_int_equal(ea->D, 48);
        assert_int_equal(ea->T, eb->T);
        assert_int_equal(ea->label_index, strstr(ea->source, "/jazz/") ? 0 : 1);
        size_t n = (size_t)ea->S * ea->D * (size_t)ea->T;
        float *fa = malloc(sizeof(float) * n), *fb = malloc(sizeof(float) * n);
        assert_int_equal(mrnet_store_read_all(a, i, fa), MRNET_OK);
        assert_int_equal(mrnet_store_read_all(b, i, fb), MRNET_OK);
        assert_memory_equal(fa, fb, sizeof(float) * n);
        /* A window that wraps equals mrnet_crop_wrap of the whole. */
        int64_t len = ea->T + 37, t0 = ea->T / 3;
        float *w = malloc(sizeof(float) * (size_t)(48 * len)), *want = malloc(sizeof(float) * (size_t)(48 * len));
        assert_int_equal(mrnet_store_read(a, i, t0, len, w), MRNET_OK);
        mrnet_crop_wrap(fa, 48, ea->T, t0, len, want);
        assert_memory_equal(w, want, sizeof(float) * (size_t)(48 * len));
        free(w);
        free(want);
        free(fa);
        free(fb);
    }
    /* The 1 s, 16 kHz wav: 1 + 16000/256 = 63 frames. */
    int ia = mrnet_store_find(a, in_root("jazz/a.wav"));
    assert_true(ia >= 0);
    assert_int_equal(mrnet_store_get(a, ia)->T, 63);
    /* The npy source is referenced in place. */
    int im = mrnet_store_find(a, in_root("rock/m.npy"));
    assert_true(im >= 0);
    assert_true(mrnet_store_get(a, im)->external);
    assert_int_equal(mrnet_store_get(a, im)->T, 100);
    float *m = malloc(sizeof(float) * 4800);
    assert_int_equal(mrnet_store_read_all(a, im, m), MRNET_OK);
    assert_true(m[96] == 0.96f && m[97] == 0.0f);
    free(m);
    assert_int_equal(mrnet_store_read(a, 99, 0, 1, NULL), MRNET_ERR_ARG);
    mrnet_store_close(a);
    mrnet_store_close(b);
}

typedef struct {
    volatile sig_atomic_t *stop;
    int after;
} stopper;

static void stop_after(void *ctx, const mrnet_extract_progress *p)
{
    stopper *s = ctx;
    if (p->computed >= s->after)
        *s->stop = 1;
}

static void test_interrupt_resume_stale(void **state)
{
    (void)state;
    const char *store = test_path("resume");
    volatile sig_atomic_t stop = 0;
    stopper st = {&stop, 3};
    mrnet_extract_options opt;
    mrnet_extract_options_default(&opt);
    opt.stop = &stop;
    opt.progress = stop_after;
    opt.progress_ctx = &st;
    mrnet_extract_report r = run(store, 2, &opt, MRNET_ERR_INTERRUPTED);
    assert_non_null(strstr(mrnet_last_error(), "run the same command again"));
    int first = r.computed;
    assert_true(first >= 3 && first < n_good);
    mrnet_extract_report_free(&r);
    mrnet_store *fs;
    assert_int_equal(mrnet_store_open(store, &fs), MRNET_OK);
    assert_int_equal(mrnet_store_count(fs), first);
    mrnet_store_close(fs);

    /* A crash mid-append leaves a torn line: ignored, then repaired. */
    char index[1024];
    snprintf(index, sizeof index, "%s/%s", store, FEATSTORE_INDEX);
    FILE *f = fopen(index, "ab");
    fputs("{\"source\":\"/half/written", f);
    fclose(f);

    r = run(store, 2, NULL, MRNET_OK);
    assert_int_equal(r.reused, first);
    assert_int_equal(r.computed, n_good - first);
    mrnet_extract_report_free(&r);

    /* Unchanged: everything reused. Touched (same bytes): reused via checksum. */
    struct timespec later[2] = {{time(NULL) + 100, 0}, {time(NULL) + 100, 0}};
    assert_int_equal(utimensat(AT_FDCWD, in_root("jazz/a.wav"), later, 0), 0);
    r = run(store, 1, NULL, MRNET_OK);
    assert_int_equal(r.reused, n_good);
    assert_int_equal(r.computed, 0);
    mrnet_extract_report_free(&r);
    /* Changed content: recomputed. */
    write_tone(in_root("jazz/a.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2.0, 350);
    r = run(store, 1, NULL, MRNET_OK);
    assert_int_equal(r.computed, 1);
    assert_int_equal(r.reused, n_good - 1);
    mrnet_extract_report_free(&r);
    assert_int_equal(mrnet_store_open(store, &fs), MRNET_OK);
    assert_int_equal(mrnet_store_get(fs, mrnet_store_find(fs, in_root("jazz/a.wav")))->T, 126);
    mrnet_store_close(fs);

    /* Other settings: refused, unless rebuild. */
    mrnet_extract_options_default(&opt);
    opt.features.mel.n_mels = 40;
    run(store, 1, &opt, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "other settings"));
    opt.rebuild = true;
    opt.features.mel.n_mels = 48;
    r = run(store, 2, &opt, MRNET_OK);
    assert_int_equal(r.computed, n_good);
    mrnet_extract_report_free(&r);
}

/* The tree is shared by the cases: the original jazz/a.wav back, pass or fail. */
static int restore_a_wav(void **state)
{
    (void)state;
    write_a_wav();
    return 0;
}

static void test_float16_and_copy(void **state)
{
    (void)state;
    const char *s32 = test_path("f32"), *s16 = test_path("f16");
    mrnet_extract_report r = run(s32, 2, NULL, MRNET_OK);
    mrnet_extract_report_free(&r);
    mrnet_extract_options opt;
    mrnet_extract_options_default(&opt);
    opt.float16 = true;
    opt.copy_npy = true;
    r = run(s16, 2, &opt, MRNET_OK);
    mrnet_extract_report_free(&r);
    mrnet_store *a, *b;
    assert_int_equal(mrnet_store_open(s32, &a), MRNET_OK);
    assert_int_equal(mrnet_store_open(s16, &b), MRNET_OK);
    for (int i = 0; i < mrnet_store_count(a); i++) {
        const mrnet_store_entry *ea = mrnet_store_get(a, i), *eb = mrnet_store_get(b, i);
        assert_true(eb->float16);
        assert_false(eb->external);
        size_t n = (size_t)48 * (size_t)ea->T;
        float *fa = malloc(sizeof(float) * n), *fb = malloc(sizeof(float) * n);
        assert_int_equal(mrnet_store_read_all(a, i, fa), MRNET_OK);
        assert_int_equal(mrnet_store_read_all(b, i, fb), MRNET_OK);
        for (size_t k = 0; k < n; k++)
            assert_true(fabsf(fa[k] - fb[k]) <= 1e-3f * fabsf(fa[k]) + 1e-6f);
        free(fa);
        free(fb);
    }
    mrnet_store_close(a);
    mrnet_store_close(b);
}

/* int8 with a scale per channel: within half a step of float32, reads
 * windows like any entry, and a missing or wrong scale file is named. */
static void test_int8(void **state)
{
    (void)state;
    const char *s32 = test_path("i8_f32"), *s8 = test_path("i8");
    mrnet_extract_report r = run(s32, 1, NULL, MRNET_OK);
    mrnet_extract_report_free(&r);
    mrnet_extract_options opt;
    mrnet_extract_options_default(&opt);
    opt.int8 = true;
    opt.copy_npy = true;
    r = run(s8, 1, &opt, MRNET_OK);
    mrnet_extract_report_free(&r);
    mrnet_store *a, *b;
    assert_int_equal(mrnet_store_open(s32, &a), MRNET_OK);
    assert_int_equal(mrnet_store_open(s8, &b), MRNET_OK);
    assert_int_equal(mrnet_store_count(a), mrnet_store_count(b));
    for (int i = 0; i < mrnet_store_count(a); i++) {
        const mrnet_store_entry *ea = mrnet_store_get(a, i), *eb = mrnet_store_get(b, i);
        assert_true(eb->int8);
        assert_false(eb->float16);
        size_t n = (size_t)48 * (size_t)ea->T;
        float *fa = malloc(sizeof(float) * n), *fb = malloc(sizeof(float) * n);
        assert_int_equal(mrnet_store_read_all(a, i, fa), MRNET_OK);
        assert_int_equal(mrnet_store_read_all(b, i, fb), MRNET_OK);
        for (int d = 0; d < 48; d++) {
            float m = 0;
            for (int64_t t = 0; t < ea->T; t++)
                m = fmaxf(m, fabsf(fa[(size_t)d * (size_t)ea->T + (size_t)t]));
            for (int64_t t = 0; t < ea->T; t++) {
                size_t k = (size_t)d * (size_t)ea->T + (size_t)t;
                assert_true(fabsf(fa[k] - fb[k]) <= 0.5f * m / 127.0f * 1.001f + 1e-7f);
            }
        }
        /* a wrapping window equals the same window of the float32 store */
        int64_t len = ea->T + 7, t0 = ea->T / 2;
        float *wa = malloc(sizeof(float) * 48 * (size_t)len), *wb = malloc(sizeof(float) * 48 * (size_t)len);
        assert_int_equal(mrnet_store_read(a, i, t0, len, wa), MRNET_OK);
        assert_int_equal(mrnet_store_read(b, i, t0, len, wb), MRNET_OK);
        float top = 0;
        for (size_t k = 0; k < n; k++)
            top = fmaxf(top, fabsf(fa[k]));
        for (size_t k = 0; k < (size_t)48 * (size_t)len; k++)
            assert_true(fabsf(wa[k] - wb[k]) <= 0.5f * top / 127.0f * 1.001f + 1e-7f);
        free(wa);
        free(wb);
        free(fa);
        free(fb);
    }
    /* the scale file of entry 0 gone, then of the wrong size */
    const mrnet_store_entry *e = mrnet_store_get(b, 0);
    char path[2048], scale[2048];
    snprintf(path, sizeof path, "%s/%s", s8, e->file);
    snprintf(scale, sizeof scale, "%.*s.scale.npy", (int)strlen(path) - 4, path);
    float *buf = malloc(sizeof(float) * 48 * (size_t)e->T);
    assert_int_equal(rename(scale, test_path("scale.bak")), 0);
    assert_int_equal(mrnet_store_read_all(b, 0, buf), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), ".scale.npy"));
    int64_t three[1] = {3};
    float junk[3] = {1, 2, 3};
    assert_int_equal(mrnet_npy_save_f32(scale, 1, three, junk, false), MRNET_OK);
    assert_int_equal(mrnet_store_read_all(b, 0, buf), MRNET_ERR_SHAPE);
    assert_non_null(strstr(mrnet_last_error(), "3 scales"));
    assert_int_equal(rename(test_path("scale.bak"), scale), 0);
    assert_int_equal(mrnet_store_read_all(b, 0, buf), MRNET_OK);
    free(buf);
    mrnet_store_close(a);
    mrnet_store_close(b);
}

static void test_corrupt_index(void **state)
{
    (void)state;
    const char *dir = test_path("corrupt");
    mkdir(dir, 0777);
    char index[1024];
    snprintf(index, sizeof index, "%s/%s", dir, FEATSTORE_INDEX);
    const char *text = "{\"format\":\"mrnet-featstore\",\"version\":1,\"settings\":\"x\"}\n{not json}\n{}\n";
    assert_int_equal(test_write_file(index, text, strlen(text)), 0);
    mrnet_store *fs;
    assert_int_equal(mrnet_store_open(dir, &fs), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "line 2"));
    assert_int_equal(mrnet_store_open(test_path("nowhere"), &fs), MRNET_ERR_IO);
}

/* Issue 11, finding 11: numbers out of an int's range in index.jsonl (found
 * by UBSan under libFuzzer) are errors naming the line, not undefined
 * conversions. JSON has no NaN; 1e999 parses as infinity. */
static void test_index_numbers_out_of_range(void **state)
{
    (void)state;
    const char *dir = test_path("bad_numbers");
    mkdir(dir, 0777);
    char index[1024];
    snprintf(index, sizeof index, "%s/%s", dir, FEATSTORE_INDEX);
    static const char *const head = "{\"format\":\"mrnet-featstore\",\"version\":1,\"settings\":\"x\"}\n";
    static const char *const entry =
        "{\"source\":\"a.wav\",\"label\":\"x\",\"split\":\"\",\"fold\":%s,\"id\":\"\",\"file\":\"a.npy\","
        "\"external\":false,\"dtype\":\"f32\",\"shape\":[%s,80,%s],\"src_size\":%s,\"src_mtime_ns\":\"1\","
        "\"checksum\":\"0000000000000000\"}\n";
    struct {
        const char *fold, *s, *t, *size, *fragment;
    } cases[] = {
        {"1", "1", "100", "10", NULL},
        {"1e30", "1", "100", "10", "fold"},
        {"-1e30", "1", "100", "10", "fold"},
        {"1e999", "1", "100", "10", "fold"},
        {"0.5", "1", "100", "10", "fold"},
        {"1", "1e30", "100", "10", "shape"},
        {"1", "-1e999", "100", "10", "shape"},
        {"1", "1", "1e999", "10", "shape"},
        {"1", "1", "100", "1e30", "src_size"},
        {"1", "1", "100", "-1e30", "src_size"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[1024];
        int n = snprintf(text, sizeof text, "%s", head);
        snprintf(text + n, sizeof text - (size_t)n, entry, cases[k].fold, cases[k].s, cases[k].t, cases[k].size);
        assert_int_equal(test_write_file(index, text, strlen(text)), 0);
        mrnet_store *fs = NULL;
        mrnet_status st = mrnet_store_open(dir, &fs);
        if (!cases[k].fragment) {
            if (st != MRNET_OK)
                fail_msg("case %zu: %s", k, mrnet_last_error());
            mrnet_store_close(fs);
            continue;
        }
        if (st != MRNET_ERR_FORMAT)
            fail_msg("case %zu (%s): status %s", k, cases[k].fragment, mrnet_status_name(st));
        assert_non_null(strstr(mrnet_last_error(), "line 2"));
        if (!strstr(mrnet_last_error(), cases[k].fragment))
            fail_msg("case %zu: '%s' lacks '%s'", k, mrnet_last_error(), cases[k].fragment);
    }
}

/* The manifest's group reaches the store's entries (index field "group", and
 * a later extraction without the column clears it); a store whose entries
 * have no "group" field, as written before groups, opens with "" groups;
 * extract --make-split keeps each group in one split. */
static void test_groups(void **state)
{
    (void)state;
    char csv[4096] = "path,label,group\n";
    for (int i = 0; i < 12; i++) {
        char name[64];
        snprintf(name, sizeof name, "grp/%s%d.wav", i % 2 ? "hi" : "lo", i);
        mkdir(test_path("grp"), 0777);
        write_tone(test_path(name), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 0.5, i % 2 ? 900 : 300);
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%s,%s,track %d\n", test_path(name),
                 i % 2 ? "high" : "low", i / 4); /* tracks 0..2, both classes each */
    }
    const char *manifest = test_path("grp/list.csv"), *store = test_path("grp_store");
    assert_int_equal(test_write_file(manifest, csv, strlen(csv)), 0);
    int rc = test_run_cli("extract '%s' -o '%s' --make-split 0.34,0.34 --seed 3", manifest, store);
    if (rc != 0)
        fail_msg("mrnet extract: %s", test_cli_output());
    assert_non_null(strstr(test_cli_output(), "(drawn, stratified, whole groups)"));
    mrnet_store *fs;
    assert_int_equal(mrnet_store_open(store, &fs), MRNET_OK);
    assert_int_equal(mrnet_store_count(fs), 12);
    for (int i = 0; i < 12; i++) {
        const mrnet_store_entry *e = mrnet_store_get(fs, i);
        assert_non_null(strstr(e->group, "track "));
        for (int j = 0; j < 12; j++)
            if (!strcmp(e->group, mrnet_store_get(fs, j)->group))
                assert_string_equal(e->split, mrnet_store_get(fs, j)->split);
    }
    mrnet_store_close(fs);

    /* an entry line as stores wrote it before groups */
    const char *old = test_path("old_store");
    mkdir(old, 0777);
    char index[1024], text[2048];
    snprintf(index, sizeof index, "%s/%s", old, FEATSTORE_INDEX);
    snprintf(text, sizeof text,
             "{\"format\":\"mrnet-featstore\",\"version\":1,\"settings\":\"x\"}\n"
             "{\"labels\":[\"low\"]}\n"
             "{\"source\":\"/x/a.wav\",\"label\":\"low\",\"split\":\"train\",\"fold\":-1,\"id\":\"a\","
             "\"file\":\"features/00/a.npy\",\"external\":false,\"dtype\":\"f32\",\"shape\":[1,48,10],"
             "\"src_size\":10,\"src_mtime_ns\":\"1\",\"checksum\":\"00\"}\n");
    assert_int_equal(test_write_file(index, text, strlen(text)), 0);
    assert_int_equal(mrnet_store_open(old, &fs), MRNET_OK);
    assert_string_equal(mrnet_store_get(fs, 0)->group, "");
    assert_int_equal(mrnet_store_get(fs, 0)->label_index, 0);
    mrnet_store_close(fs);

    /* the same files without the column: reused, and their groups cleared */
    char *nl = strchr(csv, '\n');
    memcpy(csv, "path,label", 10);
    memmove(csv + 10, nl, strlen(nl) + 1);
    for (char *p = strstr(csv, ",track "); p; p = strstr(p, ",track ")) {
        char *end = strchr(p, '\n');
        memmove(p, end, strlen(end) + 1);
    }
    assert_int_equal(test_write_file(manifest, csv, strlen(csv)), 0);
    rc = test_run_cli("extract '%s' -o '%s'", manifest, store);
    if (rc != 0)
        fail_msg("mrnet extract: %s", test_cli_output());
    assert_non_null(strstr(test_cli_output(), "12 reused"));
    assert_int_equal(mrnet_store_open(store, &fs), MRNET_OK);
    for (int i = 0; i < mrnet_store_count(fs); i++)
        assert_string_equal(mrnet_store_get(fs, i)->group, "");
    mrnet_store_close(fs);
}

static void test_cli(void **state)
{
    (void)state;
    const char *store = test_path("cli_store");
    int rc = test_run_cli("extract '%s' -o '%s' -j 2", root, store);
    const char *out = test_cli_output();
    if (rc != 0)
        fail_msg("mrnet extract: %d\n%s", rc, out);
    assert_non_null(strstr(out, "failed (6)"));
    assert_non_null(strstr(out, "garbage.wav"));
    /* again: all reused */
    assert_int_equal(test_run_cli("extract '%s' -o '%s' --strict", root, store), 1);
    assert_non_null(strstr(test_cli_output(), "9 reused"));
    /* one file: npy, safetensors and a picture */
    const char *npy = test_path("one.npy"), *st = test_path("one.safetensors"), *png = test_path("one.png");
    rc = test_run_cli("features '%s' -o '%s' --preset torchaudio --image '%s'", in_root("rock/e.wav"), npy, png);
    if (rc != 0)
        fail_msg("mrnet features: %s", test_cli_output());
    npy_header h;
    assert_int_equal(npy_read_header(npy, &h), MRNET_OK);
    assert_int_equal(h.ndim, 3);
    assert_int_equal(h.shape[1], 128);
    assert_int_equal(h.shape[2], 1 + 48000 / 200);
    FILE *f = fopen(png, "rb");
    unsigned char sig[8];
    assert_int_equal(fread(sig, 1, 8, f), 8);
    fclose(f);
    assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
    assert_int_equal(test_run_cli("features '%s' -o '%s' --n-mels 64 --float16 --image '%s'", in_root("jazz/b.flac"),
                                  st, test_path("one.svg")), 0);
    mrnet_st_file *sf;
    assert_int_equal(mrnet_st_open(st, &sf), MRNET_OK);
    const mrnet_st_tensor *t = mrnet_st_find(sf, "features");
    assert_non_null(t);
    assert_int_equal(t->dtype, MRNET_F16);
    assert_int_equal(t->shape[1], 64);
    mrnet_st_close(sf);
    assert_int_equal(test_run_cli("features '%s' -o '%s'", in_root("jazz/garbage.wav"), npy), 1);
    assert_non_null(strstr(test_cli_output(), "garbage.wav"));
    assert_int_equal(test_run_cli("features '%s' -o x.wav", in_root("jazz/a.wav")), 2);
    assert_int_equal(test_run_cli("features '%s' -o '%s' --preset essentia", in_root("jazz/a.wav"), npy), 2);
}

static int setup(void **state)
{
    (void)state;
    make_tree();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_and_read),
        cmocka_unit_test_teardown(test_interrupt_resume_stale, restore_a_wav),
        cmocka_unit_test(test_float16_and_copy), cmocka_unit_test(test_int8), cmocka_unit_test(test_corrupt_index), cmocka_unit_test(test_index_numbers_out_of_range),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_groups),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
