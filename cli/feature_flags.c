#include "feature_flags.h"

#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

enum {
    F_PRESET = FEATURE_FLAG_BASE, F_KIND, F_RATE, F_NFFT, F_WIN, F_HOP, F_NMELS, F_FMIN, F_FMAX, F_POWER,
    F_SCALE, F_NORM, F_LOG, F_LOGMULT, F_LOGOFF, F_TOPDB, F_CENTER, F_NOCENTER, F_PAD, F_WINNORM, F_NOWINNORM,
    F_CHANNELS, F_OFFSET, F_DURATION, F_RESAMPLE, F_FRONTEND, F_WAVLM, F_WAVLM_MIX, F_WAVLM_WINDOW
};

const struct option feature_flag_options[] = {
    {"preset", required_argument, 0, F_PRESET},       {"kind", required_argument, 0, F_KIND},
    {"sample-rate", required_argument, 0, F_RATE},    {"n-fft", required_argument, 0, F_NFFT},
    {"win-length", required_argument, 0, F_WIN},      {"hop", required_argument, 0, F_HOP},
    {"n-mels", required_argument, 0, F_NMELS},        {"f-min", required_argument, 0, F_FMIN},
    {"f-max", required_argument, 0, F_FMAX},          {"power", required_argument, 0, F_POWER},
    {"mel-scale", required_argument, 0, F_SCALE},     {"mel-norm", required_argument, 0, F_NORM},
    {"log", required_argument, 0, F_LOG},             {"log-mult", required_argument, 0, F_LOGMULT},
    {"log-offset", required_argument, 0, F_LOGOFF},   {"top-db", required_argument, 0, F_TOPDB},
    {"center", no_argument, 0, F_CENTER},             {"no-center", no_argument, 0, F_NOCENTER},
    {"pad", required_argument, 0, F_PAD},             {"window-norm", no_argument, 0, F_WINNORM},
    {"no-window-norm", no_argument, 0, F_NOWINNORM},  {"channels", required_argument, 0, F_CHANNELS},
    {"offset", required_argument, 0, F_OFFSET},       {"duration", required_argument, 0, F_DURATION},
    {"resample", required_argument, 0, F_RESAMPLE},   {"frontend", required_argument, 0, F_FRONTEND},
    {"wavlm", required_argument, 0, F_WAVLM},         {"wavlm-mix", required_argument, 0, F_WAVLM_MIX},
    {"wavlm-window", required_argument, 0, F_WAVLM_WINDOW}, {0, 0, 0, 0},
};

int feature_flag_count(void)
{
    int n = 0;
    while (feature_flag_options[n].name)
        n++;
    return n;
}

bool feature_flags_take(feature_flags *ff, int c, const char *arg)
{
    if (c < FEATURE_FLAG_BASE || c > F_WAVLM_WINDOW || ff->n >= FEATURE_FLAG_MAX)
        return false;
    ff->ids[ff->n] = c;
    ff->args[ff->n] = arg;
    ff->n++;
    return true;
}

static const char *flag_name(int id)
{
    for (int i = 0; feature_flag_options[i].name; i++)
        if (feature_flag_options[i].val == id)
            return feature_flag_options[i].name;
    return "?";
}

static bool get_int(const char *s, long lo, long hi, int *out)
{
    long v;
    if (!cli_parse_int(s, lo, hi, &v))
        return false;
    *out = (int)v;
    return true;
}

static bool get_float(const char *s, float *out)
{
    double v;
    if (!cli_parse_double(s, &v))
        return false;
    *out = (float)v;
    return true;
}

/* --wavlm-mix uniform | W0,W1,...: a fixed pre-mix of the hidden states. */
static bool parse_mix(mrnet_wavlm_options *w, const char *a)
{
    if (!strcmp(a, "uniform")) {
        w->n_mix = -1; /* one weight per state, resolved when the weights are loaded */
        return true;
    }
    w->n_mix = 0;
    while (*a) {
        char *end;
        double v = strtod(a, &end);
        if (end == a || (*end && *end != ',') || w->n_mix >= MRNET_WAVLM_MAX_STATES || !(v > -1e30 && v < 1e30))
            return false;
        w->mix[w->n_mix++] = (float)v;
        a = *end ? end + 1 : end;
    }
    return w->n_mix > 0;
}

static bool apply_one(mrnet_features_options *o, int id, const char *a)
{
    mrnet_mel_config *m = &o->mel;
    double d;
    switch (id) {
    case F_KIND:
    case F_FRONTEND: return mrnet_features_kind_parse(a, &o->kind) == MRNET_OK;
    case F_WAVLM:
        snprintf(o->wavlm.weights, sizeof o->wavlm.weights, "%s", a);
        return strlen(a) < sizeof o->wavlm.weights;
    case F_WAVLM_MIX: return parse_mix(&o->wavlm, a);
    case F_WAVLM_WINDOW:
        if (!cli_parse_double(a, &d) || !(d == 0 || (d >= 1 && d <= 3600)))
            return false;
        o->wavlm.window_seconds = d;
        return true;
    case F_RATE:
        if (!get_int(a, 1000, 768000, &m->sample_rate))
            return false;
        o->audio.sample_rate = m->sample_rate;
        return true;
    case F_NFFT: return get_int(a, 2, 65536, &m->n_fft);
    case F_WIN: return get_int(a, 1, 65536, &m->win_length);
    case F_HOP: return get_int(a, 1, 1 << 20, &m->hop_length);
    case F_NMELS: return get_int(a, 1, 4096, &m->n_mels);
    case F_FMIN: return get_float(a, &m->f_min);
    case F_FMAX: return get_float(a, &m->f_max);
    case F_POWER: return get_float(a, &m->power);
    case F_SCALE:
        if (!strcmp(a, "htk"))
            m->scale = MRNET_MEL_SCALE_HTK;
        else if (!strcmp(a, "slaney"))
            m->scale = MRNET_MEL_SCALE_SLANEY;
        else
            return false;
        return true;
    case F_NORM:
        if (!strcmp(a, "none"))
            m->norm = MRNET_MEL_NORM_NONE;
        else if (!strcmp(a, "slaney"))
            m->norm = MRNET_MEL_NORM_SLANEY;
        else
            return false;
        return true;
    case F_LOG:
        if (!strcmp(a, "none"))
            m->log = MRNET_MEL_LOG_NONE;
        else if (!strcmp(a, "ln"))
            m->log = MRNET_MEL_LOG_LN;
        else if (!strcmp(a, "log10"))
            m->log = MRNET_MEL_LOG_LOG10;
        else if (!strcmp(a, "db"))
            m->log = MRNET_MEL_LOG_DB;
        else
            return false;
        return true;
    case F_LOGMULT: return get_float(a, &m->log_mult);
    case F_LOGOFF: return get_float(a, &m->log_offset);
    case F_TOPDB: return get_float(a, &m->top_db);
    case F_CENTER: m->center = true; return true;
    case F_NOCENTER: m->center = false; return true;
    case F_PAD:
        if (!strcmp(a, "reflect"))
            m->pad_mode = MRNET_MEL_PAD_REFLECT;
        else if (!strcmp(a, "constant"))
            m->pad_mode = MRNET_MEL_PAD_CONSTANT;
        else
            return false;
        return true;
    case F_WINNORM: m->window_normalize = true; return true;
    case F_NOWINNORM: m->window_normalize = false; return true;
    case F_CHANNELS: return mrnet_channels_parse(a, &o->audio.channels) == MRNET_OK;
    case F_OFFSET:
        if (!cli_parse_double(a, &d) || d < 0)
            return false;
        o->audio.offset = d;
        return true;
    case F_DURATION:
        if (!cli_parse_double(a, &d) || d < 0)
            return false;
        o->audio.duration = d;
        return true;
    case F_RESAMPLE:
        if (!strcmp(a, "qq"))
            o->audio.quality = MRNET_RESAMPLE_QUICK;
        else if (!strcmp(a, "hq"))
            o->audio.quality = MRNET_RESAMPLE_HQ;
        else if (!strcmp(a, "vhq"))
            o->audio.quality = MRNET_RESAMPLE_VHQ;
        else
            return false;
        return true;
    }
    return false;
}

/* The front end the flags ask for (the last --kind / --frontend wins). */
static bool wants_wavlm(const feature_flags *ff)
{
    bool wavlm = false;
    for (int i = 0; i < ff->n; i++)
        if (ff->ids[i] == F_KIND || ff->ids[i] == F_FRONTEND)
            wavlm = ff->args[i] && !strcmp(ff->args[i], "wavlm");
    return wavlm;
}

int feature_flags_apply(const char *cmd, const feature_flags *ff, mrnet_features_options *o)
{
    mrnet_features_options_default(o);
    if (wants_wavlm(ff))
        mrnet_features_options_wavlm(o, NULL); /* stereo 16 kHz, all 13 states */
    for (int i = 0; i < ff->n; i++)
        if (ff->ids[i] == F_PRESET) {
            mrnet_mel_preset p;
            if (mrnet_mel_preset_parse(ff->args[i], &p) != MRNET_OK)
                return cli_error(cmd, 2, "%s", mrnet_last_error());
            mrnet_mel_config_preset(&o->mel, p);
            o->audio.sample_rate = o->mel.sample_rate;
        }
    for (int i = 0; i < ff->n; i++)
        if (ff->ids[i] != F_PRESET && !apply_one(o, ff->ids[i], ff->args[i]))
            return cli_error(cmd, 2, "bad value '%s' for --%s", ff->args[i] ? ff->args[i] : "", flag_name(ff->ids[i]));
    if (o->kind == MRNET_FEATURES_MEL && mrnet_mel_config_validate(&o->mel) != MRNET_OK)
        return cli_error(cmd, 2, "%s", mrnet_last_error());
    if (o->kind == MRNET_FEATURES_WAVLM) {
        if (o->audio.sample_rate != MRNET_WAVLM_SAMPLE_RATE)
            return cli_error(cmd, 2, "WavLM reads 16000 Hz audio; drop --sample-rate %d", o->audio.sample_rate);
        if (!o->wavlm.weights[0])
            return cli_error(cmd, 2, "--frontend wavlm needs --wavlm WEIGHTS (a safetensors file; "
                             "tools/convert_wavlm.py makes it from pytorch_model.bin)");
    } else if (o->wavlm.weights[0] || o->wavlm.n_mix) {
        return cli_error(cmd, 2, "--wavlm and --wavlm-mix need --frontend wavlm");
    }
    return 0;
}

void feature_flags_usage(FILE *out)
{
    fprintf(out,
            "feature options (a preset first, then any flag overrides it):\n"
            "  --preset melon|torchaudio|librosa   default melon: 16 kHz, n_fft 512, hop 256, 48 Slaney\n"
            "                        bands to 8 kHz, log10(1 + 10000 x); torchaudio: MelSpectrogram()\n"
            "                        defaults; librosa: feature.melspectrogram() defaults (>= 0.10)\n"
            "  --kind mel|waveform|wavlm   waveform stores (S, 1, samples) at --sample-rate\n"
            "  --frontend wavlm --wavlm WEIGHTS   WavLM Base+ hidden states (S 2, L 13, D 768, 50 frames/s)\n"
            "                        of 16 kHz stereo; WEIGHTS from tools/convert_wavlm.py\n"
            "  --wavlm-mix uniform|W0,..,W12   store one fixed mix of the 13 states (13x less disk)\n"
            "  --wavlm-window SEC    encoder window for long files (default 30; 0 whole file)\n"
            "  --sample-rate HZ  --n-fft N  --win-length N  --hop N  --n-mels N  --f-min HZ  --f-max HZ\n"
            "  --power P (2 power, 1 magnitude)  --mel-scale htk|slaney  --mel-norm none|slaney\n"
            "  --log none|ln|log10|db  --log-mult X  --log-offset X  --top-db DB\n"
            "  --center | --no-center  --pad reflect|constant  --window-norm | --no-window-norm\n"
            "  --channels mono|stereo|keep (default mono; stereo duplicates mono files)\n"
            "  --offset SEC  --duration SEC  --resample qq|hq|vhq\n");
}
