#include "audio/decode.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensor/error.h"

/* More channels than any real recording; a header claiming more is broken. */
#define AUDIO_MAX_CHANNELS 256

void mrnet_audio_options_default(mrnet_audio_options *opt)
{
    opt->sample_rate = 16000;
    opt->channels = MRNET_CHANNELS_STEREO;
    opt->offset = 0.0;
    opt->duration = 0.0;
    opt->quality = MRNET_RESAMPLE_HQ;
}

mrnet_status mrnet_channels_parse(const char *name, mrnet_channels *out)
{
    if (!strcmp(name, "stereo"))
        *out = MRNET_CHANNELS_STEREO;
    else if (!strcmp(name, "mono"))
        *out = MRNET_CHANNELS_MONO;
    else if (!strcmp(name, "keep"))
        *out = MRNET_CHANNELS_KEEP;
    else
        return mrnet_fail(MRNET_ERR_ARG, "unknown channel policy '%s' (stereo, mono, keep)", name);
    return MRNET_OK;
}

const char *mrnet_channels_name(mrnet_channels c)
{
    return c == MRNET_CHANNELS_MONO ? "mono" : c == MRNET_CHANNELS_KEEP ? "keep" : "stereo";
}

void mrnet_audio_free(mrnet_audio *b)
{
    if (!b)
        return;
    free(b->samples);
    b->samples = NULL;
    b->frames = 0;
}

static void format_name(int format, char *buf, size_t size)
{
    SF_FORMAT_INFO major = {.format = format & SF_FORMAT_TYPEMASK};
    SF_FORMAT_INFO sub = {.format = format & SF_FORMAT_SUBMASK};
    const char *mname = "unknown", *sname = "unknown";
    if (sf_command(NULL, SFC_GET_FORMAT_INFO, &major, sizeof major) == 0 && major.name)
        mname = major.name;
    if (sf_command(NULL, SFC_GET_FORMAT_INFO, &sub, sizeof sub) == 0 && sub.name)
        sname = sub.name;
    snprintf(buf, size, "%s, %s", mname, sname);
}

/* The checks every caller needs before a decoder sees the file: exists, a
 * regular file, not empty. */
static mrnet_status check_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return mrnet_fail(MRNET_ERR_IO, "%s: is a folder, not an audio file", path);
    if (!S_ISREG(st.st_mode)) /* a FIFO or a device has size 0: not "empty" */
        return mrnet_fail(MRNET_ERR_IO, "%s: is %s, not a regular file; mrnet reads audio from "
                          "files (copy the stream to a file first)", path,
                          S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
                          : S_ISSOCK(st.st_mode) ? "a socket" : "a device");
    if (st.st_size == 0)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: empty file (0 bytes)", path);
    return MRNET_OK;
}

/* Opens with libsndfile and checks the channel count and rate. *sf stays
 * NULL, with libsndfile's reason in sndfile_error, when libsndfile cannot
 * read the file at all (FFmpeg may). */
static mrnet_status open_checked(const char *path, SNDFILE **sf, SF_INFO *info, char *sndfile_error, size_t size)
{
    *sf = NULL;
    MRNET_TRY(check_file(path));
    memset(info, 0, sizeof *info);
    *sf = sf_open(path, SFM_READ, info);
    if (!*sf) {
        snprintf(sndfile_error, size, "%s", sf_strerror(NULL));
        return MRNET_OK;
    }
    if (info->channels < 1 || info->channels > AUDIO_MAX_CHANNELS) {
        sf_close(*sf);
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: header says %d channels", path, info->channels);
    }
    if (info->samplerate < MRNET_AUDIO_MIN_RATE || info->samplerate > MRNET_AUDIO_MAX_RATE) {
        sf_close(*sf);
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: header says a sample rate of %d Hz; mrnet reads %d to %d Hz", path,
                          info->samplerate, MRNET_AUDIO_MIN_RATE, MRNET_AUDIO_MAX_RATE);
    }
    return MRNET_OK;
}

static int64_t audio_max_frames(int rate, int ch);
static mrnet_status too_long(const char *path, int rate, int ch);

/* libsndfile could not open path: FFmpeg's turn, when built in. */
static mrnet_status ffmpeg_read(const char *path, const char *sndfile_error, double offset, double duration,
                                audio_ffmpeg_result *r)
{
    mrnet_status s = audio_ffmpeg_read(path, offset, duration, audio_max_frames, r);
    if (s == MRNET_OK)
        return MRNET_OK;
    if (s == MRNET_ERR_NOMEM)
        return mrnet_fail(s, "%s: out of memory", path);
    if (!mrnet_audio_has_ffmpeg())
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: not a readable audio file: %s", path, sndfile_error);
    if (s == MRNET_ERR_UNSUPPORTED)
        return too_long(path, r->rate, r->channels);
    char why[1024]; /* the message buffer is the one mrnet_fail writes: copy it first */
    snprintf(why, sizeof why, "%s", mrnet_last_error());
    return mrnet_fail(MRNET_ERR_FORMAT, "%s: not a readable audio file: %s; FFmpeg: %s", path, sndfile_error,
                      why);
}

mrnet_status mrnet_audio_probe(const char *path, mrnet_audio_info *out)
{
    SNDFILE *sf = NULL;
    SF_INFO info;
    char why[160] = "";
    MRNET_TRY(open_checked(path, &sf, &info, why, sizeof why));
    if (!sf) {
        audio_ffmpeg_result r;
        MRNET_TRY(ffmpeg_read(path, why, 0, 0.01, &r));
        free(r.samples);
        out->channels = r.channels;
        out->sample_rate = r.rate;
        out->frames = r.file_frames;
        snprintf(out->format, sizeof out->format, "%s", r.format);
        return MRNET_OK;
    }
    out->channels = info.channels;
    out->sample_rate = info.samplerate;
    out->frames = (info.frames >= 0 && info.frames < SF_COUNT_MAX) ? (int64_t)info.frames : -1;
    format_name(info.format, out->format, sizeof out->format);
    sf_close(sf);
    return MRNET_OK;
}

/* libsndfile shortens a WAV, AU or AIFF data chunk that runs past the end
 * of the file to what is there and reports the shorter length, so the frame
 * count cannot tell a truncated file. Its log keeps the header's claim:
 * "data : 32000 (should be 19956)" (WAV), "Data Size : ..." (AU),
 * "SSND : ..." (AIFF). Returns true with both byte counts when it says so. */
static bool header_truncation(SNDFILE *sf, long long *claimed, long long *present)
{
    static const char *const keys[] = {"data :", "Data Size :", "Data Size   :", "SSND :"};
    char buf[16384] = "";
    sf_command(sf, SFC_GET_LOG_INFO, buf, (int)sizeof buf);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        while (*line == ' ')
            line++;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t n = strlen(keys[k]);
            if (strncmp(line, keys[k], n) == 0 &&
                sscanf(line + n, " %lld (should be %lld)", claimed, present) == 2 && *claimed > *present)
                return true;
        }
    }
    return false;
}

/* Most frames one decode may hold at rate with ch channels. */
static int64_t audio_max_frames(int rate, int ch)
{
    int64_t by_time = (int64_t)(MRNET_AUDIO_MAX_SECONDS * rate);
    int64_t by_samples = MRNET_AUDIO_MAX_SAMPLES / ch;
    return by_time < by_samples ? by_time : by_samples;
}

static mrnet_status too_long(const char *path, int rate, int ch)
{
    return mrnet_fail(MRNET_ERR_UNSUPPORTED,
                      "%s: longer than mrnet decodes at once (%.0f s, or %lld samples over %d channels at %d Hz); "
                      "take a part with --offset and --duration",
                      path, (double)audio_max_frames(rate, ch) / rate, (long long)MRNET_AUDIO_MAX_SAMPLES, ch, rate);
}

/* Reads up to `want` frames (want < 0: to the end) as interleaved floats into
 * a growing buffer. Sets *decode_error when libsndfile reported one. The
 * buffer starts small and doubles as data arrives: a header's length is never
 * trusted for the allocation, so memory follows what is on disk. More than
 * limit frames is an error. */
static mrnet_status read_interleaved(const char *path, SNDFILE *sf, int ch, int rate, int64_t want, float **data,
                                     int64_t *got, int *decode_error)
{
    int64_t limit = audio_max_frames(rate, ch);
    int64_t cap = want > 0 && want < (1 << 16) ? want : 1 << 16, n = 0;
    float *buf = malloc(sizeof(float) * (size_t)cap * (size_t)ch);
    if (!buf)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    for (;;) {
        if (want >= 0 && n >= want)
            break;
        if (n == cap) {
            if (n > limit) {
                free(buf);
                return too_long(path, rate, ch);
            }
            int64_t ncap = cap * 2;
            if (want > 0 && ncap > want)
                ncap = want;
            if (ncap > limit + 1)
                ncap = limit + 1; /* one frame past the limit tells "too long" from "exactly the limit" */
            float *nb = realloc(buf, sizeof(float) * (size_t)ncap * (size_t)ch);
            if (!nb) {
                free(buf);
                return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory after %lld frames", path, (long long)n);
            }
            buf = nb;
            cap = ncap;
        }
        int64_t chunk = cap - n;
        if (chunk > 65536)
            chunk = 65536;
        sf_count_t r = sf_readf_float(sf, buf + (size_t)n * (size_t)ch, (sf_count_t)chunk);
        if (r <= 0)
            break;
        n += r;
    }
    if (n > limit) { /* a --duration past the limit, filled */
        free(buf);
        return too_long(path, rate, ch);
    }
    *decode_error = sf_error(sf);
    *data = buf;
    *got = n;
    return MRNET_OK;
}

/* Interleaved (frames, file_ch) -> planar (out_ch, frames) per the policy. */
static float *apply_channel_policy(const float *in, int file_ch, int64_t frames, mrnet_channels policy,
                                   int *out_ch)
{
    int oc = policy == MRNET_CHANNELS_MONO ? 1 : policy == MRNET_CHANNELS_STEREO ? 2 : file_ch;
    float *out = malloc(sizeof(float) * (size_t)oc * (size_t)(frames > 0 ? frames : 1));
    if (!out)
        return NULL;
    if (policy == MRNET_CHANNELS_MONO) {
        float scale = 1.0f / (float)file_ch;
        for (int64_t t = 0; t < frames; t++) {
            float acc = 0.0f;
            for (int c = 0; c < file_ch; c++)
                acc += in[t * file_ch + c];
            out[t] = acc * scale;
        }
    } else {
        for (int c = 0; c < oc; c++) {
            int src = c < file_ch ? c : file_ch - 1; /* mono -> both channels */
            float *dst = out + (size_t)c * (size_t)frames;
            for (int64_t t = 0; t < frames; t++)
                dst[t] = in[t * file_ch + src];
        }
    }
    *out_ch = oc;
    return out;
}

/* Interleaved (frames, ch) samples at rate, owned and freed here -> out, per
 * the options' channel policy and rate. name is for messages. */
static mrnet_status finish_audio(const char *path, float *inter, int ch, int64_t got, int rate,
                                 const mrnet_audio_options *opt, mrnet_audio *out)
{
    mrnet_status s;
    for (int64_t i = 0; i < got * ch; i++)
        if (!isfinite(inter[i])) {
            free(inter);
            return mrnet_fail(MRNET_ERR_NUMERIC, "%s: sample %lld of channel %d is not finite", path,
                              (long long)(i / ch), (int)(i % ch));
        }
    int oc = 0;
    float *planar = apply_channel_policy(inter, ch, got, opt->channels, &oc);
    free(inter);
    if (!planar)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
    int target = opt->sample_rate > 0 ? opt->sample_rate : rate;
    if (target != rate) {
        float *res = NULL;
        int64_t n_res = 0;
        s = audio_resample(path, planar, oc, got, rate, target, opt->quality, &res, &n_res);
        free(planar);
        if (s != MRNET_OK)
            return s;
        planar = res;
        got = n_res;
        if (got == 0) {
            free(planar);
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: too short to resample to %d Hz", path, target);
        }
    }
    float peak = 0.0f;
    for (int64_t i = 0; i < got * oc; i++)
        peak = fmaxf(peak, fabsf(planar[i]));
    if (peak == 0.0f && !out->warning[0])
        snprintf(out->warning, sizeof out->warning, "silent: every sample is zero");
    out->samples = planar;
    out->channels = oc;
    out->frames = got;
    out->sample_rate = target;
    return MRNET_OK;
}

static mrnet_status decode_with_ffmpeg(const char *path, const char *sndfile_error, const mrnet_audio_options *opt,
                                       mrnet_audio *out)
{
    audio_ffmpeg_result r;
    MRNET_TRY(ffmpeg_read(path, sndfile_error, opt->offset, opt->duration, &r));
    out->file_channels = r.channels;
    out->file_rate = r.rate;
    out->file_frames = r.file_frames;
    snprintf(out->format, sizeof out->format, "%s", r.format);
    if (r.frames == 0) {
        free(r.samples);
        if (r.offset_past_end)
            return mrnet_fail(MRNET_ERR_ARG, "%s: offset %.3f s is past the end of the audio", path, opt->offset);
        if (r.decode_error[0])
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: no audio could be decoded: %s", path, r.decode_error);
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: no audio frames", path);
    }
    int64_t start = (int64_t)llround(opt->offset * r.rate);
    if (r.decode_error[0])
        snprintf(out->warning, sizeof out->warning, "decoding stopped after %.3f s: %s",
                 (double)(start + r.frames) / r.rate, r.decode_error);
    else if (opt->duration <= 0 && r.file_frames > 0 && start + r.frames < 0.95 * (double)r.file_frames)
        snprintf(out->warning, sizeof out->warning, "truncated: the container says %.3f s, decoded %.3f s",
                 (double)r.file_frames / r.rate, (double)(start + r.frames) / r.rate);
    return finish_audio(path, r.samples, r.channels, r.frames, r.rate, opt, out);
}

mrnet_status mrnet_audio_decode(const char *path, const mrnet_audio_options *opt, mrnet_audio *out)
{
    memset(out, 0, sizeof *out);
    if (!(opt->offset >= 0.0) || !isfinite(opt->offset) || !isfinite(opt->duration))
        return mrnet_fail(MRNET_ERR_ARG, "%s: invalid offset %g s / duration %g s", path, opt->offset, opt->duration);
    if (opt->sample_rate < 0 || (unsigned)opt->channels > MRNET_CHANNELS_KEEP)
        return mrnet_fail(MRNET_ERR_ARG, "%s: invalid sample rate %d or channel policy", path, opt->sample_rate);
    SNDFILE *sf = NULL;
    SF_INFO info;
    char sndfile_error[160] = "";
    MRNET_TRY(open_checked(path, &sf, &info, sndfile_error, sizeof sndfile_error));
    if (!sf)
        return decode_with_ffmpeg(path, sndfile_error, opt, out);
    int ch = info.channels, rate = info.samplerate;
    int64_t file_frames = (info.frames >= 0 && info.frames < SF_COUNT_MAX) ? (int64_t)info.frames : -1;
    out->file_channels = ch;
    out->file_rate = rate;
    out->file_frames = file_frames;
    format_name(info.format, out->format, sizeof out->format);

    /* Checked before the casts: a double beyond int64's range is undefined
     * behaviour in llround, and an offset past any real file is an error,
     * not a silent start at 0. */
    if (opt->offset * rate > 9e15) {
        sf_close(sf);
        return mrnet_fail(MRNET_ERR_ARG, "%s: offset %g s is past the end of any audio", path, opt->offset);
    }
    int64_t start = (int64_t)llround(opt->offset * rate);
    int64_t want = -1;
    if (opt->duration > 0.0) /* past the limit: read to the limit; a file that holds more is refused */
        want = opt->duration * rate > (double)audio_max_frames(rate, ch) ? audio_max_frames(rate, ch) + 1
                                                                          : (int64_t)llround(opt->duration * rate);
    if (file_frames >= 0 && start >= file_frames && start > 0) {
        sf_close(sf);
        return mrnet_fail(MRNET_ERR_ARG, "%s: offset %.3f s is past the end (%.3f s)", path, opt->offset,
                          (double)file_frames / rate);
    }
    if (start > 0) {
        /* Seek where the format allows (PCM, FLAC, Vorbis, Opus, MP3 via
         * mpg123); otherwise decode and drop. */
        if (!info.seekable || sf_seek(sf, (sf_count_t)start, SEEK_SET) < 0) {
            float skip[4096];
            int64_t left = start, per = (int64_t)(sizeof skip / sizeof skip[0]) / ch;
            while (left > 0) {
                sf_count_t r = sf_readf_float(sf, skip, (sf_count_t)(left < per ? left : per));
                if (r <= 0)
                    break;
                left -= r;
            }
            if (left > 0) {
                sf_close(sf);
                return mrnet_fail(MRNET_ERR_ARG, "%s: offset %.3f s is past the end of the audio", path,
                                  opt->offset);
            }
        }
    }
    float *inter = NULL;
    int64_t got = 0;
    int decode_error = 0;
    mrnet_status s = read_interleaved(path, sf, ch, rate, want, &inter, &got, &decode_error);
    const char *why = decode_error ? sf_error_number(decode_error) : NULL;
    char why_copy[160] = "";
    if (why)
        snprintf(why_copy, sizeof why_copy, "%s", why);
    long long claimed = 0, present = 0;
    bool cut = header_truncation(sf, &claimed, &present);
    sf_close(sf);
    if (s != MRNET_OK)
        return s;
    if (got == 0) {
        free(inter);
        if (decode_error)
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: no audio could be decoded: %s", path, why_copy);
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: no audio frames%s", path, start > 0 ? " after the offset" : "");
    }
    int64_t expected = want >= 0 ? want : (file_frames >= 0 ? file_frames - start : -1);
    if (decode_error)
        snprintf(out->warning, sizeof out->warning, "decoding stopped after %.3f s: %s", (double)got / rate,
                 why_copy);
    else if (want < 0 && expected > 0 && got < expected)
        snprintf(out->warning, sizeof out->warning, "truncated: header says %.3f s, decoded %.3f s",
                 (double)expected / rate, (double)got / rate);
    else if (cut)
        snprintf(out->warning, sizeof out->warning,
                 "truncated: header says %lld bytes of audio, the file holds %lld; decoded %.3f s", claimed, present,
                 (double)got / rate);

    return finish_audio(path, inter, ch, got, rate, opt, out);
}

mrnet_status mrnet_audio_from_pcm(const float *pcm, int channels, int64_t frames, int sample_rate,
                                  const mrnet_audio_options *opt, mrnet_audio *out)
{
    static const char *const name = "PCM input";
    memset(out, 0, sizeof *out);
    if (!pcm || channels < 1 || channels > 64 || frames < 1 || sample_rate < 1)
        return mrnet_fail(MRNET_ERR_ARG, "%s: %lld frames of %d channels at %d Hz is no audio", name,
                          (long long)frames, channels, sample_rate);
    if (!(opt->offset >= 0.0) || !isfinite(opt->offset) || !isfinite(opt->duration))
        return mrnet_fail(MRNET_ERR_ARG, "%s: invalid offset %g s / duration %g s", name, opt->offset, opt->duration);
    if (opt->sample_rate < 0 || (unsigned)opt->channels > MRNET_CHANNELS_KEEP)
        return mrnet_fail(MRNET_ERR_ARG, "%s: invalid sample rate %d or channel policy", name, opt->sample_rate);
    if (opt->offset * sample_rate >= (double)frames)
        return mrnet_fail(MRNET_ERR_ARG, "%s: offset %.3f s is past the end (%.3f s)", name, opt->offset,
                          (double)frames / sample_rate);
    int64_t start = (int64_t)llround(opt->offset * sample_rate);
    int64_t want = opt->duration > 0.0 && opt->duration * sample_rate < (double)frames
                       ? (int64_t)llround(opt->duration * sample_rate)
                       : frames - start;
    if (start >= frames)
        return mrnet_fail(MRNET_ERR_ARG, "%s: offset %.3f s is past the end (%.3f s)", name, opt->offset,
                          (double)frames / sample_rate);
    if (want > frames - start)
        want = frames - start;
    out->file_channels = channels;
    out->file_rate = sample_rate;
    out->file_frames = frames;
    snprintf(out->format, sizeof out->format, "PCM float");
    float *inter = malloc(sizeof(float) * (size_t)want * (size_t)channels);
    if (!inter)
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", name);
    memcpy(inter, pcm + (size_t)start * (size_t)channels, sizeof(float) * (size_t)want * (size_t)channels);
    return finish_audio(name, inter, channels, want, sample_rate, opt, out);
}

bool audio_is_readable(const char *path, char *why, size_t why_size)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        char sndfile_error[160];
        snprintf(sndfile_error, sizeof sndfile_error, "%s", sf_strerror(NULL));
        audio_ffmpeg_result r;
        if (mrnet_audio_has_ffmpeg() && audio_ffmpeg_read(path, 0, 0.05, audio_max_frames, &r) == MRNET_OK) {
            free(r.samples);
            if (r.frames > 0)
                return true;
            snprintf(why, why_size, "holds no audio frames");
            return false;
        }
        snprintf(why, why_size, "cannot be decoded: %s", sndfile_error);
        return false;
    }
    bool ok = true;
    if (info.channels < 1 || info.samplerate < 1) {
        snprintf(why, why_size, "cannot be decoded: %d channels at %d Hz", info.channels,
                 info.samplerate);
        ok = false;
    } else {
        float block[64 * 8];
        sf_count_t want = (sf_count_t)(sizeof block / sizeof *block) / info.channels;
        if (want < 1 || sf_readf_float(f, block, want) < 1) {
            snprintf(why, why_size, "holds no audio frames");
            ok = false;
        }
    }
    sf_close(f);
    return ok;
}
