#include "features/features_parse.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

static int index_of(const char *value, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(value, names[i]))
            return i;
    return -1;
}

static mrnet_status bad(const char *key, const char *value)
{
    return mrnet_fail(MRNET_ERR_FORMAT, "feature settings: bad value '%s' for '%s'", value, key);
}

static mrnet_status set_number(const char *key, const char *value, double *out)
{
    char *end;
    double v = strtod(value, &end);
    if (end == value || *end || !isfinite(v))
        return bad(key, value);
    *out = v;
    return MRNET_OK;
}

/* A value converted to int or float must fit: (int)1e11 and (float)1e39 are
 * undefined behaviour (found by fuzz_features_line). */
static bool fits_int(double v)
{
    return v == floor(v) && v >= INT_MIN && v <= INT_MAX;
}

/* wavlm=<16 hex digits> ("unknown": not yet known) */
static mrnet_status parse_fingerprint(mrnet_features_options *o, const char *key, const char *value)
{
    if (!strcmp(value, "unknown")) {
        o->wavlm.fingerprint[0] = '\0';
        return MRNET_OK;
    }
    if (strlen(value) != 16 || strspn(value, "0123456789abcdef") != 16)
        return bad(key, value);
    memcpy(o->wavlm.fingerprint, value, 17);
    return MRNET_OK;
}

/* states=all | states=mix:w0,w1,... */
static mrnet_status parse_states(mrnet_features_options *o, const char *key, const char *value)
{
    o->wavlm.n_mix = 0;
    if (!strcmp(value, "all"))
        return MRNET_OK;
    if (!strcmp(value, "uniform")) {
        o->wavlm.n_mix = -1;
        return MRNET_OK;
    }
    if (strncmp(value, "mix:", 4) != 0)
        return bad(key, value);
    const char *p = value + 4;
    while (*p) {
        char *end;
        double w = strtod(p, &end);
        if (end == p || (*end && *end != ',') || o->wavlm.n_mix >= MRNET_WAVLM_MAX_STATES || !isfinite(w))
            return bad(key, value);
        o->wavlm.mix[o->wavlm.n_mix++] = (float)w;
        p = *end ? end + 1 : end;
    }
    return o->wavlm.n_mix > 0 ? MRNET_OK : bad(key, value);
}

/* One key=value token. */
static mrnet_status apply(mrnet_features_options *o, const char *key, const char *value)
{
    static const char *const kinds[] = {"mel", "waveform", "wavlm"}, *const quality[] = {"qq", "hq", "vhq"},
                             *const yes_no[] = {"no", "yes"}, *const pads[] = {"reflect", "constant"},
                             *const scales[] = {"htk", "slaney"}, *const norms[] = {"none", "slaney"},
                             *const logs[] = {"none", "ln", "log10", "db"};
    mrnet_mel_config *m = &o->mel;
    double v = 0;
    int i;
#define CHOICE(names, field, type)                                                     \
    do {                                                                               \
        if ((i = index_of(value, names, (int)(sizeof names / sizeof names[0]))) < 0)  \
            return bad(key, value);                                                    \
        field = (type)i;                                                               \
    } while (0)
    if (!strcmp(key, "kind")) CHOICE(kinds, o->kind, mrnet_features_kind);
    else if (!strcmp(key, "wavlm")) return parse_fingerprint(o, key, value);
    else if (!strcmp(key, "states")) return parse_states(o, key, value);
    else if (!strcmp(key, "channels")) return mrnet_channels_parse(value, &o->audio.channels) == MRNET_OK ? MRNET_OK : bad(key, value);
    else if (!strcmp(key, "resample")) CHOICE(quality, o->audio.quality, mrnet_resample_quality);
    else if (!strcmp(key, "center")) CHOICE(yes_no, m->center, bool);
    else if (!strcmp(key, "window_norm")) CHOICE(yes_no, m->window_normalize, bool);
    else if (!strcmp(key, "pad")) CHOICE(pads, m->pad_mode, mrnet_mel_pad);
    else if (!strcmp(key, "scale")) CHOICE(scales, m->scale, mrnet_mel_scale);
    else if (!strcmp(key, "norm")) CHOICE(norms, m->norm, mrnet_mel_norm);
    else if (!strcmp(key, "log")) CHOICE(logs, m->log, mrnet_mel_log);
    else {
        MRNET_TRY(set_number(key, value, &v));
        bool int_key = !strcmp(key, "rate") || !strcmp(key, "sr") || !strcmp(key, "n_fft") || !strcmp(key, "win") ||
                       !strcmp(key, "hop") || !strcmp(key, "n_mels");
        if (int_key ? !fits_int(v) : fabs(v) > FLT_MAX)
            return bad(key, value);
        if (!strcmp(key, "rate")) o->audio.sample_rate = (int)v;
        else if (!strcmp(key, "offset")) o->audio.offset = v;
        else if (!strcmp(key, "duration")) o->audio.duration = v;
        else if (!strcmp(key, "window")) o->wavlm.window_seconds = v;
        else if (!strcmp(key, "sr")) m->sample_rate = (int)v;
        else if (!strcmp(key, "n_fft")) m->n_fft = (int)v;
        else if (!strcmp(key, "win")) m->win_length = (int)v;
        else if (!strcmp(key, "hop")) m->hop_length = (int)v;
        else if (!strcmp(key, "n_mels")) m->n_mels = (int)v;
        else if (!strcmp(key, "f_min")) m->f_min = (float)v;
        else if (!strcmp(key, "f_max")) m->f_max = (float)v;
        else if (!strcmp(key, "power")) m->power = (float)v;
        else if (!strcmp(key, "log_mult")) m->log_mult = (float)v;
        else if (!strcmp(key, "log_offset")) m->log_offset = (float)v;
        else if (!strcmp(key, "amin")) m->amin = (float)v;
        else if (!strcmp(key, "top_db")) m->top_db = (float)v;
        else return mrnet_fail(MRNET_ERR_FORMAT, "feature settings: unknown key '%s'", key);
    }
#undef CHOICE
    return MRNET_OK;
}

mrnet_status mrnet_features_options_parse(const char *line, mrnet_features_options *opt)
{
    mrnet_features_options_default(opt);
    if (!line || !*line)
        return mrnet_fail(MRNET_ERR_FORMAT, "feature settings: empty");
    char *copy = strdup(line);
    if (!copy)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    mrnet_status st = MRNET_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok && st == MRNET_OK;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            st = mrnet_fail(MRNET_ERR_FORMAT, "feature settings: token '%s' is not key=value", tok);
            break;
        }
        *eq = '\0';
        st = apply(opt, tok, eq + 1);
    }
    free(copy);
    if (st == MRNET_OK && opt->kind == MRNET_FEATURES_MEL)
        opt->audio.sample_rate = opt->mel.sample_rate;
    if (st == MRNET_OK && opt->kind == MRNET_FEATURES_WAVLM) {
        double w = opt->wavlm.window_seconds;
        if (opt->audio.sample_rate != MRNET_WAVLM_SAMPLE_RATE)
            st = mrnet_fail(MRNET_ERR_FORMAT, "feature settings: WavLM reads 16000 Hz, not rate=%d",
                            opt->audio.sample_rate);
        else if (!(w == 0 || (w >= 1 && w <= 3600)))
            st = mrnet_fail(MRNET_ERR_FORMAT, "feature settings: window=%g (0 or 1..3600 seconds)", w);
    }
    return st;
}

double mrnet_features_options_frame_rate(const mrnet_features_options *opt)
{
    if (opt->kind == MRNET_FEATURES_WAVLM)
        return MRNET_WAVLM_SAMPLE_RATE / 320.0;
    if (opt->kind == MRNET_FEATURES_WAVEFORM)
        return opt->audio.sample_rate;
    return opt->mel.hop_length > 0 ? (double)opt->mel.sample_rate / opt->mel.hop_length : 0;
}

double mrnet_features_settings_frame_rate(const char *settings)
{
    mrnet_features_options fo;
    return mrnet_features_options_parse(settings, &fo) == MRNET_OK ? mrnet_features_options_frame_rate(&fo) : 0;
}
