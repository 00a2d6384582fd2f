/* Decoding every format libsndfile writes (files generated here), channel
 * policies, partial reads, resampling accuracy on a sine sweep, and broken
 * files (garbage, empty, truncated, zero channels, NaN samples). */
#include "testutil.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "audio/decode.h"
#include "tensor/npy.h"
#include "tensor/safetensors.h"
#include "audio/resample.h"

/* Writes a test tone: channel c is a sine of freq * (c + 1) Hz, amplitude
 * 0.5 / (c + 1). Returns 0 on success. */
static int write_tone(const char *path, int format, int rate, int channels, double seconds, double freq)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        print_error("cannot write %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    int64_t n = (int64_t)(seconds * rate);
    float *buf = malloc(sizeof(float) * (size_t)n * (size_t)channels);
    for (int64_t t = 0; t < n; t++)
        for (int c = 0; c < channels; c++)
            buf[t * channels + c] = (float)(0.5 / (c + 1) * sin(2 * M_PI * freq * (c + 1) * t / rate));
    sf_count_t w = sf_writef_float(sf, buf, n);
    free(buf);
    sf_close(sf);
    return w == n ? 0 : -1;
}

/* Power of frequency f in x (Goertzel), normalised by length. */
static double tone_power(const float *x, int64_t n, double f, int rate)
{
    double w = 2 * M_PI * f / rate, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double s = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * n);
}

static double rms(const float *x, int64_t n)
{
    double acc = 0;
    for (int64_t i = 0; i < n; i++)
        acc += (double)x[i] * x[i];
    return sqrt(acc / (double)n);
}

typedef struct {
    const char *ext;
    int format;
    int rate;
    bool lossy;
} format_case;

static const format_case formats[] = {
    {"wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, false},
    {"flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, false},
    {"au", SF_FORMAT_AU | SF_FORMAT_PCM_16, 22050, false},
    {"aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 48000, false},
    {"ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, true},
    {"opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, true},
    {"mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, true},
};

static void test_decode_formats(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        const format_case *fc = &formats[i];
        char name[64];
        snprintf(name, sizeof name, "tone.%s", fc->ext);
        const char *path = test_path(name);
        assert_int_equal(write_tone(path, fc->format, fc->rate, 2, 1.0, 440.0), 0);
        mrnet_audio_options opt;
        mrnet_audio_options_default(&opt);
        mrnet_audio b;
        mrnet_status s = mrnet_audio_decode(path, &opt, &b);
        if (s != MRNET_OK)
            fail_msg("%s: %s", fc->ext, mrnet_last_error());
        assert_int_equal(b.channels, 2);
        assert_int_equal(b.sample_rate, 16000);
        assert_int_equal(b.file_rate, fc->rate);
        /* Lossy codecs add encoder delay/padding (MP3 up to ~2 frames of
         * 1152 samples at the source rate). */
        int64_t slack = fc->lossy ? 2400 : 1;
        if (llabs(b.frames - 16000) > slack)
            fail_msg("%s: %lld frames, expected ~16000", fc->ext, (long long)b.frames);
        const float *left = b.samples, *right = b.samples + b.frames;
        /* Channel order and content: 440 Hz on the left, 880 Hz on the right. */
        double l440 = tone_power(left, b.frames, 440, 16000), l880 = tone_power(left, b.frames, 880, 16000);
        double r440 = tone_power(right, b.frames, 440, 16000), r880 = tone_power(right, b.frames, 880, 16000);
        assert_true(l440 > 100 * l880);
        assert_true(r880 > 100 * r440);
        double lr = rms(left + 2000, b.frames - 4000), rr = rms(right + 2000, b.frames - 4000);
        double tol = fc->lossy ? 0.15 : 0.01;
        if (fabs(lr - 0.5 / sqrt(2)) > tol * 0.5 || fabs(rr - 0.25 / sqrt(2)) > tol * 0.25)
            fail_msg("%s: rms %.4f / %.4f, expected %.4f / %.4f", fc->ext, lr, rr, 0.5 / sqrt(2), 0.25 / sqrt(2));
        if (!fc->lossy) {
            /* Lossless: sample-accurate against the analytic tone at 16 kHz. */
            double worst = 0;
            for (int64_t t = 200; t < b.frames - 200; t++)
                worst = fmax(worst, fabs(left[t] - 0.5 * sin(2 * M_PI * 440.0 * t / 16000)));
            if (worst > 2e-3)
                fail_msg("%s: max error %.2e against the analytic tone", fc->ext, worst);
        }
        assert_string_equal(b.warning, "");
        print_message("  %-5s %-40s %lld frames\n", fc->ext, b.format, (long long)b.frames);
        mrnet_audio_free(&b);
    }
}

static void test_channel_policies(void **state)
{
    (void)state;
    const char *mono = test_path("mono.wav"), *st = test_path("stereo.wav");
    assert_int_equal(write_tone(mono, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, 0.25, 300.0), 0);
    assert_int_equal(write_tone(st, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, 0.25, 300.0), 0);
    mrnet_audio_options opt;
    mrnet_audio_options_default(&opt);
    mrnet_audio b;
    /* mono -> stereo duplicates (the recipe). */
    assert_int_equal(mrnet_audio_decode(mono, &opt, &b), MRNET_OK);
    assert_int_equal(b.channels, 2);
    assert_int_equal(b.frames, 4000);
    assert_memory_equal(b.samples, b.samples + b.frames, sizeof(float) * (size_t)b.frames);
    mrnet_audio_free(&b);
    /* stereo -> mono is the mean. */
    opt.channels = MRNET_CHANNELS_MONO;
    assert_int_equal(mrnet_audio_decode(st, &opt, &b), MRNET_OK);
    assert_int_equal(b.channels, 1);
    for (int64_t t = 0; t < b.frames; t++) {
        double want = 0.5 * (0.5 * sin(2 * M_PI * 300 * t / 16000.0) + 0.25 * sin(2 * M_PI * 600 * t / 16000.0));
        assert_true(fabs(b.samples[t] - want) < 1e-6);
    }
    mrnet_audio_free(&b);
    opt.channels = MRNET_CHANNELS_KEEP;
    assert_int_equal(mrnet_audio_decode(mono, &opt, &b), MRNET_OK);
    assert_int_equal(b.channels, 1);
    mrnet_audio_free(&b);
    mrnet_channels c;
    assert_int_equal(mrnet_channels_parse("downmix", &c), MRNET_ERR_ARG);
    assert_int_equal(mrnet_channels_parse("mono", &c), MRNET_OK);
}

/* A ramp makes the position of every sample checkable. */
static void write_ramp(const char *path, int format, int rate, int64_t n)
{
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    assert_non_null(sf);
    short *buf = malloc(sizeof(short) * (size_t)n);
    for (int64_t t = 0; t < n; t++)
        buf[t] = (short)(t % 30000);
    assert_int_equal(sf_writef_short(sf, buf, n), n);
    free(buf);
    sf_close(sf);
}

static void test_partial_read(void **state)
{
    (void)state;
    const char *exts[] = {"wav", "flac"};
    int fmts[] = {SF_FORMAT_WAV | SF_FORMAT_PCM_16, SF_FORMAT_FLAC | SF_FORMAT_PCM_16};
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "ramp.%s", exts[i]);
        const char *path = test_path(name);
        write_ramp(path, fmts[i], 16000, 16000 * 3);
        mrnet_audio_options opt;
        mrnet_audio_options_default(&opt);
        opt.channels = MRNET_CHANNELS_KEEP;
        opt.offset = 1.25;
        opt.duration = 0.5;
        mrnet_audio b;
        assert_int_equal(mrnet_audio_decode(path, &opt, &b), MRNET_OK);
        assert_int_equal(b.frames, 8000);
        for (int64_t t = 0; t < b.frames; t++)
            assert_true(fabsf(b.samples[t] - (float)((20000 + t) % 30000) / 32768.0f) < 1e-6f);
        mrnet_audio_free(&b);
        /* Duration past the end: what is there, no error. */
        opt.offset = 2.5;
        opt.duration = 10.0;
        assert_int_equal(mrnet_audio_decode(path, &opt, &b), MRNET_OK);
        assert_int_equal(b.frames, 8000);
        mrnet_audio_free(&b);
        /* Offset past the end: an error naming the file. */
        opt.offset = 4.0;
        assert_int_equal(mrnet_audio_decode(path, &opt, &b), MRNET_ERR_ARG);
        assert_non_null(strstr(mrnet_last_error(), path));
    }
    /* Lossy, seekable: MP3 offset read returns the requested length. */
    const char *mp3 = test_path("seek.mp3");
    assert_int_equal(write_tone(mp3, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 16000, 1, 3.0, 440.0), 0);
    mrnet_audio_options opt;
    mrnet_audio_options_default(&opt);
    opt.offset = 1.0;
    opt.duration = 1.0;
    mrnet_audio b;
    assert_int_equal(mrnet_audio_decode(mp3, &opt, &b), MRNET_OK);
    assert_int_equal(b.frames, 16000);
    assert_true(tone_power(b.samples, b.frames, 440, 16000) > 0.01);
    mrnet_audio_free(&b);
}

/* Resampling a linear sweep 50 Hz -> 7 kHz must match the sweep computed
 * directly at the target rate: max error < 1e-3 of full scale (-60 dB)
 * away from the edges, for down- and up-sampling. */
static void check_sweep(int in_rate, int out_rate)
{
    double seconds = 2.0, f0 = 50.0, f1 = 7000.0, k = (f1 - f0) / seconds;
    int64_t n_in = (int64_t)(seconds * in_rate);
    float *x = malloc(sizeof(float) * (size_t)n_in);
    for (int64_t i = 0; i < n_in; i++) {
        double t = (double)i / in_rate;
        x[i] = (float)(0.5 * sin(2 * M_PI * (f0 * t + 0.5 * k * t * t)));
    }
    float *y = NULL;
    int64_t n_out = 0;
    assert_int_equal(audio_resample("sweep", x, 1, n_in, in_rate, out_rate, MRNET_RESAMPLE_HQ, &y, &n_out), MRNET_OK);
    assert_int_equal(n_out, (int64_t)(seconds * out_rate));
    double worst = 0;
    for (int64_t i = out_rate / 20; i < n_out - out_rate / 20; i++) {
        double t = (double)i / out_rate;
        double want = 0.5 * sin(2 * M_PI * (f0 * t + 0.5 * k * t * t));
        worst = fmax(worst, fabs(y[i] - want));
    }
    print_message("  sweep %d -> %d Hz: max error %.2e\n", in_rate, out_rate, worst);
    assert_true(worst < 1e-3);
    free(x);
    free(y);
}

static void test_resample_sweep(void **state)
{
    (void)state;
    check_sweep(44100, 16000);
    check_sweep(48000, 16000);
    check_sweep(22050, 16000);
    check_sweep(16000, 22050);
}

static void test_resample_planar(void **state)
{
    (void)state;
    /* Two channels resample independently (planar layout kept). */
    int64_t n = 4410;
    float *x = malloc(sizeof(float) * 2 * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)sin(2 * M_PI * 300 * i / 44100.0);
        x[n + i] = 0.0f;
    }
    float *y;
    int64_t m;
    assert_int_equal(audio_resample(NULL, x, 2, n, 44100, 16000, MRNET_RESAMPLE_HQ, &y, &m), MRNET_OK);
    assert_int_equal(m, 1600);
    assert_true(test_max_abs(y + m, (size_t)m) == 0.0);
    assert_true(test_max_abs(y, (size_t)m) > 0.9);
    free(x);
    free(y);
}

static void expect_error(const char *path, mrnet_status want, const char *fragment)
{
    mrnet_audio_options opt;
    mrnet_audio_options_default(&opt);
    mrnet_audio b;
    mrnet_status s = mrnet_audio_decode(path, &opt, &b);
    if (s != want)
        fail_msg("%s: status %s, expected %s (%s)", path, mrnet_status_name(s), mrnet_status_name(want),
                 mrnet_last_error());
    assert_non_null(strstr(mrnet_last_error(), path));
    if (fragment && !strstr(mrnet_last_error(), fragment))
        fail_msg("message '%s' lacks '%s'", mrnet_last_error(), fragment);
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void test_broken_files(void **state)
{
    (void)state;
    /* Zero-length, garbage with a .wav name, missing. */
    const char *empty = test_path("empty.wav");
    assert_int_equal(test_write_file(empty, "", 0), 0);
    expect_error(empty, MRNET_ERR_FORMAT, "empty");
    unsigned char junk[4096];
    uint64_t s = 99;
    for (size_t i = 0; i < sizeof junk; i++) {
        s = s * 6364136223846793005ULL + 1;
        junk[i] = (unsigned char)(s >> 56);
    }
    const char *garbage = test_path("garbage.wav");
    assert_int_equal(test_write_file(garbage, junk, sizeof junk), 0);
    expect_error(garbage, MRNET_ERR_FORMAT, "not a readable audio file");
    expect_error(test_path("missing.flac"), MRNET_ERR_IO, "cannot open");

    /* A WAV header declaring zero channels. */
    unsigned char wav[44 + 64] = {0};
    memcpy(wav, "RIFF", 4);
    put_le(wav + 4, 36 + 64, 4);
    memcpy(wav + 8, "WAVEfmt ", 8);
    put_le(wav + 16, 16, 4);
    put_le(wav + 20, 1, 2);     /* PCM */
    put_le(wav + 22, 0, 2);     /* channels */
    put_le(wav + 24, 16000, 4);
    put_le(wav + 28, 0, 4);
    put_le(wav + 32, 0, 2);
    put_le(wav + 34, 16, 2);
    memcpy(wav + 36, "data", 4);
    put_le(wav + 40, 64, 4);
    const char *zero_ch = test_path("zero_channels.wav");
    assert_int_equal(test_write_file(zero_ch, wav, sizeof wav), 0);
    mrnet_audio_options opt;
    mrnet_audio_options_default(&opt);
    mrnet_audio b;
    assert_int_equal(mrnet_audio_decode(zero_ch, &opt, &b), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), zero_ch));

    /* A WAV with a header and no frames. */
    const char *noframes = test_path("noframes.wav");
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(noframes, SFM_WRITE, &info);
    sf_close(sf);
    expect_error(noframes, MRNET_ERR_FORMAT, "no audio frames");

    /* NaN samples in a float WAV. */
    const char *nan_wav = test_path("nan.wav");
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    sf = sf_open(nan_wav, SFM_WRITE, &info);
    float vals[1000] = {0};
    vals[10] = 0.5f;
    vals[500] = NAN;
    sf_writef_float(sf, vals, 1000);
    sf_close(sf);
    expect_error(nan_wav, MRNET_ERR_NUMERIC, "not finite");

    /* Silent: decodes, with a warning. */
    const char *silent = test_path("silent.wav");
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    sf = sf_open(silent, SFM_WRITE, &info);
    float zeros[1600] = {0};
    sf_writef_float(sf, zeros, 1600);
    sf_close(sf);
    assert_int_equal(mrnet_audio_decode(silent, &opt, &b), MRNET_OK);
    assert_non_null(strstr(b.warning, "silent"));
    mrnet_audio_free(&b);

    /* Truncated WAV: header claims 1 s, data holds less. */
    const char *full = test_path("full.wav");
    assert_int_equal(write_tone(full, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 1.0, 440.0), 0);
    FILE *f = fopen(full, "rb");
    unsigned char *bytes = malloc(32044);
    size_t nb = fread(bytes, 1, 32044, f);
    fclose(f);
    assert_int_equal(nb, 32044);
    const char *trunc_wav = test_path("truncated.wav");
    assert_int_equal(test_write_file(trunc_wav, bytes, 44 + 16000), 0);
    free(bytes);
    mrnet_status st = mrnet_audio_decode(trunc_wav, &opt, &b);
    assert_int_equal(st, MRNET_OK);
    assert_int_equal(b.frames, 8000);
    mrnet_audio_free(&b);

    /* Truncated MP3: cut mid-stream. Decodes what is there or fails cleanly. */
    const char *mp3 = test_path("whole.mp3");
    assert_int_equal(write_tone(mp3, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 2.0, 440.0), 0);
    f = fopen(mp3, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    const char *trunc_mp3 = test_path("truncated.mp3");
    assert_int_equal(test_write_file(trunc_mp3, bytes, (size_t)size / 2 + 17), 0);
    st = mrnet_audio_decode(trunc_mp3, &opt, &b);
    if (st == MRNET_OK) {
        assert_true(b.frames > 8000 && b.frames < 30000);
        print_message("  truncated mp3: %lld frames, warning '%s'\n", (long long)b.frames, b.warning);
        mrnet_audio_free(&b);
    } else {
        assert_non_null(strstr(mrnet_last_error(), trunc_mp3));
    }
    /* Only the first 300 bytes of an MP3. */
    const char *stub = test_path("stub.mp3");
    assert_int_equal(test_write_file(stub, bytes, 300), 0);
    st = mrnet_audio_decode(stub, &opt, &b);
    if (st == MRNET_OK)
        mrnet_audio_free(&b);
    else
        assert_non_null(strstr(mrnet_last_error(), stub));
    free(bytes);
}

/* A mono PCM_16 WAV header for data_bytes of data at rate, followed by
 * have_bytes of a 440 Hz-ish pattern (have_bytes may be less than the header
 * claims: a truncated file). */
static void write_wav_claiming(const char *path, int rate, uint32_t data_bytes, size_t have_bytes)
{
    unsigned char *wav = calloc(1, 44 + have_bytes);
    memcpy(wav, "RIFF", 4);
    put_le(wav + 4, 36 + data_bytes, 4);
    memcpy(wav + 8, "WAVEfmt ", 8);
    put_le(wav + 16, 16, 4);
    put_le(wav + 20, 1, 2); /* PCM */
    put_le(wav + 22, 1, 2); /* channels */
    put_le(wav + 24, (uint32_t)rate, 4);
    put_le(wav + 28, (uint32_t)rate * 2, 4);
    put_le(wav + 32, 2, 2);
    put_le(wav + 34, 16, 2);
    memcpy(wav + 36, "data", 4);
    put_le(wav + 40, data_bytes, 4);
    for (size_t i = 0; i + 1 < have_bytes; i += 2)
        put_le(wav + 44 + i, (uint32_t)(int16_t)(8000 * sin(0.1 * (double)i)), 2);
    assert_int_equal(test_write_file(path, wav, 44 + have_bytes), 0);
    free(wav);
}

/* Issue 11, finding 10: a tiny file must not make mrnet allocate gigabytes. */
static void test_bounded_memory(void **state)
{
    (void)state;
    /* 32 KB claiming 1 Hz: 16000 frames would resample to 256 M frames (2 GB
     * in stereo). Refused, as is a rate above 768 kHz. */
    const char *slow = test_path("one_hz.wav");
    write_wav_claiming(slow, 1, 32000, 32000);
    expect_error(slow, MRNET_ERR_FORMAT, "sample rate of 1 Hz");
    const char *fast = test_path("fast.wav");
    write_wav_claiming(fast, 800000, 32000, 32000);
    expect_error(fast, MRNET_ERR_FORMAT, "768000 Hz");
    mrnet_audio_info info;
    assert_int_equal(mrnet_audio_probe(slow, &info), MRNET_ERR_FORMAT);

    /* A header claiming 1 GB of data in a 32 KB file: what is on disk is
     * decoded, with the "truncated" warning. */
    const char *liar = test_path("huge_claim.wav");
    write_wav_claiming(liar, 16000, 0x40000000u, 32000);
    mrnet_audio_options opt;
    mrnet_audio_options_default(&opt);
    opt.channels = MRNET_CHANNELS_MONO;
    mrnet_audio b;
    assert_int_equal(mrnet_audio_decode(liar, &opt, &b), MRNET_OK);
    assert_int_equal(b.frames, 16000);
    if (!strstr(b.warning, "truncated"))
        fail_msg("warning '%s' lacks 'truncated'", b.warning);
    mrnet_audio_free(&b);

    /* Resampling's output size is checked before it is allocated: 10^9
     * frames at 1 kHz to 768 kHz would be 3 TB. The input is never read. */
    float one = 0.0f, *res = NULL;
    int64_t n_res = 0;
    mrnet_status st = audio_resample("big", &one, 1, 1000000000, 1000, 768000, MRNET_RESAMPLE_HQ, &res, &n_res);
    assert_int_equal(st, MRNET_ERR_UNSUPPORTED);
    assert_non_null(strstr(mrnet_last_error(), "--duration"));
    assert_null(res);

    /* Longer than MRNET_AUDIO_MAX_SECONDS (7200 s; 7201 s at 1 kHz, 8-bit,
     * 7 MB): refused naming the file; a part of it decodes. */
    const char *hours = test_path("two_hours.wav");
    SF_INFO si = {.samplerate = 1000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_U8};
    SNDFILE *sf = sf_open(hours, SFM_WRITE, &si);
    assert_non_null(sf);
    static float block[100000];
    for (int i = 0; i < 100000; i++)
        block[i] = 0.25f * (float)sin(0.05 * i);
    for (int k = 0; k < 72; k++)
        assert_int_equal(sf_writef_float(sf, block, 100000), 100000);
    assert_int_equal(sf_writef_float(sf, block, 1000), 1000);
    sf_close(sf);
    opt.sample_rate = 0;
    st = mrnet_audio_decode(hours, &opt, &b);
    if (st != MRNET_ERR_UNSUPPORTED)
        fail_msg("7201 s: status %s, expected UNSUPPORTED", mrnet_status_name(st));
    assert_non_null(strstr(mrnet_last_error(), hours));
    assert_non_null(strstr(mrnet_last_error(), "--duration"));
    opt.duration = 1e9; /* past the limit, on a file that fills it */
    assert_int_equal(mrnet_audio_decode(hours, &opt, &b), MRNET_ERR_UNSUPPORTED);
    opt.offset = 3600.0;
    opt.duration = 60.0;
    assert_int_equal(mrnet_audio_decode(hours, &opt, &b), MRNET_OK);
    assert_int_equal(b.frames, 60000);
    mrnet_audio_free(&b);
    /* A duration beyond the limit on a short file reads what is there. */
    opt.offset = 0.0;
    opt.duration = 1e12;
    assert_int_equal(mrnet_audio_decode(liar, &opt, &b), MRNET_OK);
    assert_int_equal(b.frames, 16000);
    mrnet_audio_free(&b);
    /* AU and AIFF cut short decode with the same warning. */
    const char *cut_ext[] = {"au", "aiff"};
    int cut_fmt[] = {SF_FORMAT_AU | SF_FORMAT_PCM_16, SF_FORMAT_AIFF | SF_FORMAT_PCM_16};
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "cut.%s", cut_ext[k]);
        const char *cut = test_path(name);
        assert_int_equal(write_tone(cut, cut_fmt[k], 16000, 1, 1.0, 440.0), 0);
        assert_int_equal(truncate(cut, 20000), 0);
        mrnet_audio_options o2;
        mrnet_audio_options_default(&o2);
        assert_int_equal(mrnet_audio_decode(cut, &o2, &b), MRNET_OK);
        assert_true(b.frames > 9000 && b.frames < 10000);
        if (!strstr(b.warning, "truncated"))
            fail_msg("%s: warning '%s' lacks 'truncated'", cut, b.warning);
        mrnet_audio_free(&b);
    }
    /* An offset no file reaches is an error, not a silent start at 0. */
    opt.offset = 1e15;
    opt.duration = 0.0;
    st = mrnet_audio_decode(liar, &opt, &b);
    assert_int_equal(st, MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "offset"));
}

static void test_probe(void **state)
{
    (void)state;
    const char *path = test_path("probe.flac");
    assert_int_equal(write_tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 2, 0.5, 440.0), 0);
    mrnet_audio_info info;
    assert_int_equal(mrnet_audio_probe(path, &info), MRNET_OK);
    assert_int_equal(info.channels, 2);
    assert_int_equal(info.sample_rate, 22050);
    assert_int_equal(info.frames, 11025);
    assert_non_null(strstr(info.format, "FLAC"));
}

/* A FIFO (or a device) has size 0: it is named as what it is, not as "an
 * empty file", and nothing waits for a writer that never comes (an alarm
 * ends the test if a call blocks). */
static void test_fifo_refused(void **state)
{
    (void)state;
    const char *names[3] = {"pipe.wav", "pipe.npy", "pipe.safetensors"};
    char path[3][512];
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s", test_path(names[i]));
        assert_int_equal(mkfifo(path[i], 0600), 0);
    }
    alarm(20);
    mrnet_audio_info info;
    assert_int_equal(mrnet_audio_probe(path[0], &info), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), "FIFO"));
    assert_null(strstr(mrnet_last_error(), "empty"));
    mrnet_audio_options opt;
    mrnet_audio_options_default(&opt);
    mrnet_audio a;
    assert_int_equal(mrnet_audio_decode(path[0], &opt, &a), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), "FIFO"));
    npy_header h;
    assert_int_equal(npy_read_header(path[1], &h), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), "FIFO"));
    float *data;
    assert_int_equal(npy_load_f32(path[1], &h, &data), MRNET_ERR_IO);
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(path[2], &f), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), "not a regular file"));
    alarm(0);
    assert_int_equal(test_run_cli("info '%s'", path[2]), 1);
    assert_non_null(strstr(test_cli_output(), "not a regular file"));
}

/* FFmpeg decoding (m4a): ALAC is bit-exact to the WAV it was made from, AAC
 * close to it; a garbage or truncated m4a is an error naming the file and
 * both decoders' reasons; folders list m4a files. Without FFmpeg: a clear
 * error, and m4a is not a media name. */
static void test_m4a_with_ffmpeg(void **state)
{
    (void)state;
    char wav[600], alac[600], aac[600];
    snprintf(wav, sizeof wav, "%s", test_source_path("tests/media/tone.wav"));
    snprintf(alac, sizeof alac, "%s", test_source_path("tests/media/tone_alac.m4a"));
    snprintf(aac, sizeof aac, "%s", test_source_path("tests/media/tone_aac.m4a"));
    mrnet_audio_options o;
    mrnet_audio_options_default(&o);
    o.channels = MRNET_CHANNELS_KEEP;
    o.sample_rate = 0; /* the file's rate: no resampling in the comparison */
    mrnet_audio ref, a;
    assert_int_equal(mrnet_audio_decode(wav, &o, &ref), MRNET_OK);
    if (!mrnet_audio_has_ffmpeg()) {
        assert_false(mrnet_audio_is_media_name("x/song.M4A"));
        assert_int_equal(mrnet_audio_decode(alac, &o, &a), MRNET_ERR_FORMAT);
        assert_non_null(strstr(mrnet_last_error(), "tone_alac.m4a"));
        mrnet_audio_free(&ref);
        skip();
    }
    assert_true(mrnet_audio_is_media_name("x/song.M4A"));
    assert_int_equal(mrnet_audio_decode(alac, &o, &a), MRNET_OK);
    assert_int_equal(a.channels, 1);
    assert_int_equal(a.sample_rate, 16000);
    assert_int_equal(a.frames, ref.frames);
    assert_memory_equal(a.samples, ref.samples, sizeof(float) * (size_t)ref.frames);
    assert_non_null(strstr(a.format, "alac"));
    assert_string_equal(a.warning, "");
    mrnet_audio_free(&a);
    /* an offset and a duration, as for libsndfile's files */
    o.offset = 0.1;
    o.duration = 0.2;
    assert_int_equal(mrnet_audio_decode(alac, &o, &a), MRNET_OK);
    assert_int_equal(a.frames, 3200);
    assert_memory_equal(a.samples, ref.samples + 1600, sizeof(float) * 3200);
    mrnet_audio_free(&a);
    o.offset = 5;
    o.duration = 0;
    assert_int_equal(mrnet_audio_decode(alac, &o, &a), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "past the end"));
    o.offset = 0;
    /* AAC: lossy, and the encoder's priming delays it; energy within 10 % */
    assert_int_equal(mrnet_audio_decode(aac, &o, &a), MRNET_OK);
    assert_true(llabs((long long)(a.frames - ref.frames)) <= 2048);
    double e_ref = 0, e = 0;
    for (int64_t i = 0; i < ref.frames; i++)
        e_ref += (double)ref.samples[i] * ref.samples[i];
    for (int64_t i = 0; i < a.frames; i++)
        e += (double)a.samples[i] * a.samples[i];
    assert_true(fabs(e / e_ref - 1) < 0.1);
    mrnet_audio_free(&a);
    /* probe */
    mrnet_audio_info info;
    assert_int_equal(mrnet_audio_probe(alac, &info), MRNET_OK);
    assert_int_equal(info.sample_rate, 16000);
    assert_true(info.frames >= 7900 && info.frames <= 8100);
    /* garbage and a file cut in half (its index, at the end, is gone) */
    const char *junk = test_path("junk.m4a"), *cut = test_path("cut.m4a");
    assert_int_equal(test_write_file(junk, "ftypM4A not really an mp4 file", 30), 0);
    assert_int_equal(mrnet_audio_decode(junk, &o, &a), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "junk.m4a"));
    assert_non_null(strstr(mrnet_last_error(), "FFmpeg"));
    FILE *f = fopen(alac, "rb");
    assert_non_null(f);
    static char bytes[1 << 15];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    assert_int_equal(test_write_file(cut, bytes, n / 2), 0);
    mrnet_status st = mrnet_audio_decode(cut, &o, &a);
    if (st == MRNET_OK) { /* a container whose index comes first decodes partly, with a warning */
        assert_true(a.warning[0] != '\0');
        mrnet_audio_free(&a);
    } else
        assert_non_null(strstr(mrnet_last_error(), "cut.m4a"));
    mrnet_audio_free(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_formats), cmocka_unit_test(test_channel_policies),
        cmocka_unit_test(test_partial_read),   cmocka_unit_test(test_resample_sweep),
        cmocka_unit_test(test_resample_planar), cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_probe),          cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_fifo_refused),    cmocka_unit_test(test_m4a_with_ffmpeg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
