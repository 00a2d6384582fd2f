/* Decoding with FFmpeg (libavformat, libavcodec, libswresample) for what
 * libsndfile does not read: m4a/AAC/ALAC above all, the format of many
 * personal collections, and WMA, Matroska, WebM, CAF, APE, WavPack. Only the
 * container and the codec are FFmpeg's; the channel policy and resampling
 * stay those of decode.c (soxr), so a file gives the same samples whichever
 * library opened it. Built when CMake finds FFmpeg (MRNET_FFMPEG). */
#include "audio/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tensor/error.h"

#ifdef MRNET_HAVE_FFMPEG
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <pthread.h>

bool mrnet_audio_has_ffmpeg(void) { return true; }

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void make_quiet(void) { av_log_set_level(AV_LOG_QUIET); } /* our messages name the file instead */

typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    SwrContext *swr;
    AVPacket *pkt;
    AVFrame *frame;
    int stream;
} ff_reader;

static void ff_close(ff_reader *r)
{
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    swr_free(&r->swr);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
}

static const char *ff_error(int err, char *buf, size_t size)
{
    if (av_strerror(err, buf, size) < 0)
        snprintf(buf, size, "error %d", err);
    return buf;
}

static mrnet_status ff_open(const char *path, ff_reader *r, int *ch, int *rate)
{
    char e[128];
    pthread_once(&quiet_once, make_quiet);
    memset(r, 0, sizeof *r);
    int err = avformat_open_input(&r->fmt, path, NULL, NULL);
    if (err < 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s", ff_error(err, e, sizeof e));
    if ((err = avformat_find_stream_info(r->fmt, NULL)) < 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s", ff_error(err, e, sizeof e));
    const AVCodec *codec = NULL;
    r->stream = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (r->stream < 0 || !codec)
        return mrnet_fail(MRNET_ERR_FORMAT, "no audio stream FFmpeg can decode");
    r->dec = avcodec_alloc_context3(codec);
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    if (!r->dec || !r->pkt || !r->frame)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if ((err = avcodec_parameters_to_context(r->dec, r->fmt->streams[r->stream]->codecpar)) < 0 ||
        (err = avcodec_open2(r->dec, codec, NULL)) < 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: %s", codec->name, ff_error(err, e, sizeof e));
    *ch = r->dec->ch_layout.nb_channels;
    *rate = r->dec->sample_rate;
    if (*ch < 1 || *ch > 256)
        return mrnet_fail(MRNET_ERR_FORMAT, "the stream says %d channels", *ch);
    if (*rate < MRNET_AUDIO_MIN_RATE || *rate > MRNET_AUDIO_MAX_RATE)
        return mrnet_fail(MRNET_ERR_FORMAT, "the stream says a sample rate of %d Hz; mrnet reads %d to %d Hz", *rate,
                          MRNET_AUDIO_MIN_RATE, MRNET_AUDIO_MAX_RATE);
    /* to interleaved float at the same rate and layout: only the sample format changes */
    if (swr_alloc_set_opts2(&r->swr, &r->dec->ch_layout, AV_SAMPLE_FMT_FLT, *rate, &r->dec->ch_layout,
                            r->dec->sample_fmt, *rate, 0, NULL) < 0 ||
        swr_init(r->swr) < 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "cannot convert %s samples", av_get_sample_fmt_name(r->dec->sample_fmt));
    return MRNET_OK;
}

typedef struct {
    float *data;
    int64_t n, cap; /* frames */
    int ch;
    int64_t skip, want, limit; /* frames to drop first; to keep (-1: all); most allowed */
    bool full, too_long;
} ff_sink;

/* Appends a decoded frame's samples (converted), honouring skip and want. */
static mrnet_status ff_take(ff_reader *r, ff_sink *s)
{
    int n = r->frame->nb_samples;
    if (n <= 0)
        return MRNET_OK;
    if (s->n + n > s->cap) {
        int64_t cap = s->cap ? s->cap : 1 << 16;
        while (cap < s->n + n)
            cap *= 2;
        float *d = realloc(s->data, sizeof(float) * (size_t)cap * (size_t)s->ch);
        if (!d)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        s->data = d;
        s->cap = cap;
    }
    uint8_t *out = (uint8_t *)(s->data + (size_t)s->n * (size_t)s->ch);
    int got = swr_convert(r->swr, &out, n, (const uint8_t **)r->frame->extended_data, n);
    if (got < 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "sample conversion failed");
    int64_t drop = s->skip < got ? s->skip : got;
    if (drop > 0) {
        memmove(out, out + (size_t)drop * (size_t)s->ch * sizeof(float),
                sizeof(float) * (size_t)(got - drop) * (size_t)s->ch);
        s->skip -= drop;
        got -= (int)drop;
    }
    s->n += got;
    if (s->want >= 0 && s->n >= s->want) {
        s->n = s->want;
        s->full = true;
    }
    if (s->n > s->limit) {
        s->too_long = true;
        s->full = true;
    }
    return MRNET_OK;
}

/* Receives every frame the decoder has ready. */
static mrnet_status ff_drain(ff_reader *r, ff_sink *s, int *decode_error)
{
    for (;;) {
        int err = avcodec_receive_frame(r->dec, r->frame);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
            return MRNET_OK;
        if (err < 0) {
            *decode_error = err;
            return MRNET_OK;
        }
        mrnet_status st = ff_take(r, s);
        av_frame_unref(r->frame);
        if (st != MRNET_OK || s->full)
            return st;
    }
}

mrnet_status audio_ffmpeg_read(const char *path, double offset, double duration, int64_t (*max_frames)(int, int),
                               audio_ffmpeg_result *res)
{
    memset(res, 0, sizeof *res);
    ff_reader r;
    int ch = 0, rate = 0;
    mrnet_status st = ff_open(path, &r, &ch, &rate);
    if (st != MRNET_OK) {
        ff_close(&r);
        return st;
    }
    res->channels = ch;
    res->rate = rate;
    AVStream *stream = r.fmt->streams[r.stream];
    if (stream->duration > 0 && stream->time_base.den > 0)
        res->file_frames = (int64_t)((double)stream->duration * stream->time_base.num / stream->time_base.den * rate + 0.5);
    else if (r.fmt->duration > 0)
        res->file_frames = (int64_t)((double)r.fmt->duration / AV_TIME_BASE * rate + 0.5);
    else
        res->file_frames = -1;
    snprintf(res->format, sizeof res->format, "%s, %s (FFmpeg)", r.fmt->iformat->name, r.dec->codec->name);
    ff_sink s = {.ch = ch, .skip = (int64_t)(offset * rate + 0.5), .want = duration > 0 ? (int64_t)(duration * rate + 0.5) : -1,
                 .limit = max_frames(rate, ch)};
    int decode_error = 0, err = 0;
    while (st == MRNET_OK && !s.full && !decode_error && (err = av_read_frame(r.fmt, r.pkt)) >= 0) {
        if (r.pkt->stream_index == r.stream) {
            int sent = avcodec_send_packet(r.dec, r.pkt);
            if (sent < 0 && sent != AVERROR(EAGAIN))
                decode_error = sent;
            else
                st = ff_drain(&r, &s, &decode_error);
        }
        av_packet_unref(r.pkt);
    }
    if (st == MRNET_OK && err < 0 && err != AVERROR_EOF && !decode_error)
        decode_error = err; /* the container broke off (a truncated file) */
    if (st == MRNET_OK && !s.full && !decode_error) { /* the decoder's last frames */
        avcodec_send_packet(r.dec, NULL);
        st = ff_drain(&r, &s, &decode_error);
    }
    ff_close(&r);
    if (st == MRNET_OK && s.too_long)
        st = MRNET_ERR_UNSUPPORTED; /* decode.c says why, with the limits */
    if (st == MRNET_OK && decode_error) {
        char e[128];
        snprintf(res->decode_error, sizeof res->decode_error, "%s", ff_error(decode_error, e, sizeof e));
    }
    if (st != MRNET_OK) {
        free(s.data);
        return st;
    }
    res->samples = s.data;
    res->frames = s.n;
    res->offset_past_end = s.skip > 0;
    return MRNET_OK;
}

#else /* built without FFmpeg */

bool mrnet_audio_has_ffmpeg(void) { return false; }

mrnet_status audio_ffmpeg_read(const char *path, double offset, double duration, int64_t (*max_frames)(int, int),
                               audio_ffmpeg_result *res)
{
    (void)offset;
    (void)duration;
    (void)max_frames;
    memset(res, 0, sizeof *res);
    return mrnet_fail(MRNET_ERR_UNSUPPORTED, "%s: this mrnet is built without FFmpeg", path);
}

#endif

bool mrnet_audio_is_media_name(const char *path)
{
    static const char *const sndfile_exts[] = {"wav", "flac", "ogg", "oga", "opus", "mp3", "au", "snd", "aiff", "aif"};
    static const char *const ffmpeg_exts[] = {"m4a", "m4b", "mp4", "aac", "alac", "wma", "mka", "webm", "caf",
                                              "ape", "wv", "ac3"};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return false;
    for (size_t i = 0; i < sizeof sndfile_exts / sizeof *sndfile_exts; i++)
        if (!strcasecmp(dot + 1, sndfile_exts[i]))
            return true;
    for (size_t i = 0; mrnet_audio_has_ffmpeg() && i < sizeof ffmpeg_exts / sizeof *ffmpeg_exts; i++)
        if (!strcasecmp(dot + 1, ffmpeg_exts[i]))
            return true;
    return false;
}
