#include "features/melspec.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

/* Frames transformed per FFTW call: enough to amortise the call, few enough
 * for the frame, spectrum and power buffers to stay in L2 (about 3 x 128 KiB). */
#define MELSPEC_BATCH_FLOATS 32768


/* FFTW's planner is not thread-safe; execution of an existing plan on new
 * arrays is. */
static pthread_mutex_t fftw_planner_lock = PTHREAD_MUTEX_INITIALIZER;

struct mrnet_melspec {
    mrnet_mel_config cfg;
    int n_freqs;
    float *window;     /* (n_fft): Hann of win_length centred, zeros around */
    int win_lo, win_hi;/* nonzero range of window */
    /* Sparse filterbank: band m uses bins [band_lo[m], band_lo[m]+band_len[m])
     * with weights at weights[band_off[m] ...]. */
    int *band_lo, *band_len, *band_off;
    float *weights;
    int batch;             /* frames per FFTW call */
    int pw_stride;         /* floats per row of the (n_freqs, batch) power block */
    /* Even n_fft: the real frame is read as n_fft/2 complex samples and goes
     * through a complex FFT of half the size, then split_half_spectrum
     * (FFTW's SIMD complex codelets are about 2.5x faster than its r2c ones
     * here). Odd n_fft: FFTW's r2c. */
    bool half;
    float *twiddle_re, *twiddle_im; /* (n_fft/2+1): 0.5 cos, -0.5 sin of 2 pi k / n_fft */
    fftwf_plan plan_batch; /* batch frames at once */
};

/* ---- presets and validation -------------------------------------------- */

void mrnet_mel_config_preset(mrnet_mel_config *c, mrnet_mel_preset preset)
{
    memset(c, 0, sizeof *c);
    c->f_min = 0.0f;
    c->f_max = 0.0f;
    c->power = 2.0f;
    c->center = true;
    c->log_mult = 1.0f;
    c->log_offset = 0.0f;
    c->amin = 1e-10f;
    c->top_db = 0.0f;
    c->window_normalize = false;
    switch (preset) {
    case MRNET_MEL_PRESET_TORCHAUDIO:
        /* torchaudio.transforms.MelSpectrogram(): n_fft 400, win n_fft, hop
         * win//2, 128 mels, HTK, no norm, reflect padding. */
        c->sample_rate = 16000;
        c->n_fft = 400;
        c->win_length = 400;
        c->hop_length = 200;
        c->n_mels = 128;
        c->pad_mode = MRNET_MEL_PAD_REFLECT;
        c->scale = MRNET_MEL_SCALE_HTK;
        c->norm = MRNET_MEL_NORM_NONE;
        c->log = MRNET_MEL_LOG_NONE;
        break;
    case MRNET_MEL_PRESET_LIBROSA:
        /* librosa.feature.melspectrogram() (0.10): sr 22050, n_fft 2048, hop
         * 512, 128 mels, Slaney scale and norm; centre frames are padded with
         * zeros (pad_mode 'constant' since 0.10; 'reflect' before). */
        c->sample_rate = 22050;
        c->n_fft = 2048;
        c->win_length = 2048;
        c->hop_length = 512;
        c->n_mels = 128;
        c->pad_mode = MRNET_MEL_PAD_CONSTANT;
        c->scale = MRNET_MEL_SCALE_SLANEY;
        c->norm = MRNET_MEL_NORM_SLANEY;
        c->log = MRNET_MEL_LOG_NONE;
        break;
    case MRNET_MEL_PRESET_MELON:
    default:
        /* Melon Playlist Dataset (Ferraro et al. 2021): 16 kHz, Essentia,
         * 48 bands, hop 256. The rest follows MTG's Essentia mel extractors
         * of that time (musicnn input): frame 512, Hann with Essentia's
         * window normalisation, Slaney bands of unit area ('unit_tri') up
         * to 8 kHz, power, zero-centred first frame, log10(1 + 10000 x).
         * A 30 s excerpt gives 1 + 480000/256 = 1876 frames, as in the
         * dataset. */
        c->sample_rate = 16000;
        c->n_fft = 512;
        c->win_length = 512;
        c->hop_length = 256;
        c->n_mels = 48;
        c->f_max = 8000.0f;
        c->pad_mode = MRNET_MEL_PAD_CONSTANT;
        c->scale = MRNET_MEL_SCALE_SLANEY;
        c->norm = MRNET_MEL_NORM_SLANEY;
        c->window_normalize = true;
        c->log = MRNET_MEL_LOG_LOG10;
        c->log_mult = 10000.0f;
        c->log_offset = 1.0f;
        break;
    }
}

mrnet_status mrnet_mel_preset_parse(const char *name, mrnet_mel_preset *preset)
{
    if (!strcmp(name, "melon"))
        *preset = MRNET_MEL_PRESET_MELON;
    else if (!strcmp(name, "torchaudio"))
        *preset = MRNET_MEL_PRESET_TORCHAUDIO;
    else if (!strcmp(name, "librosa"))
        *preset = MRNET_MEL_PRESET_LIBROSA;
    else
        return mrnet_fail(MRNET_ERR_ARG, "unknown mel preset '%s' (melon, torchaudio, librosa)", name);
    return MRNET_OK;
}

static float effective_f_max(const mrnet_mel_config *c)
{
    return c->f_max > 0.0f ? c->f_max : (float)c->sample_rate / 2.0f;
}

mrnet_status mrnet_mel_config_validate(const mrnet_mel_config *c)
{
    if (c->sample_rate < 1000 || c->sample_rate > 768000)
        return mrnet_fail(MRNET_ERR_ARG, "mel: sample_rate %d out of range [1000, 768000]", c->sample_rate);
    if (c->n_fft < 2 || c->n_fft > 65536)
        return mrnet_fail(MRNET_ERR_ARG, "mel: n_fft %d out of range [2, 65536]", c->n_fft);
    if (c->win_length < 1 || c->win_length > c->n_fft)
        return mrnet_fail(MRNET_ERR_ARG, "mel: win_length %d must be in [1, n_fft=%d]", c->win_length,
                          c->n_fft);
    if (c->hop_length < 1 || c->hop_length > 1 << 20)
        return mrnet_fail(MRNET_ERR_ARG, "mel: hop_length %d must be positive", c->hop_length);
    if (c->n_mels < 1 || c->n_mels > 4096)
        return mrnet_fail(MRNET_ERR_ARG, "mel: n_mels %d out of range [1, 4096]", c->n_mels);
    float f_max = effective_f_max(c);
    if (!(c->f_min >= 0.0f) || !(f_max <= (float)c->sample_rate / 2.0f) || !(c->f_min < f_max))
        return mrnet_fail(MRNET_ERR_ARG, "mel: need 0 <= f_min (%g) < f_max (%g) <= sample_rate/2 (%g)",
                          (double)c->f_min, (double)f_max, c->sample_rate / 2.0);
    if (!(c->power > 0.0f) || !isfinite(c->power))
        return mrnet_fail(MRNET_ERR_ARG, "mel: power %g must be positive", (double)c->power);
    if ((unsigned)c->pad_mode > MRNET_MEL_PAD_CONSTANT || (unsigned)c->scale > MRNET_MEL_SCALE_SLANEY ||
        (unsigned)c->norm > MRNET_MEL_NORM_SLANEY || (unsigned)c->log > MRNET_MEL_LOG_DB)
        return mrnet_fail(MRNET_ERR_ARG, "mel: invalid pad_mode, scale, norm or log value");
    if ((c->log == MRNET_MEL_LOG_LN || c->log == MRNET_MEL_LOG_LOG10) &&
        (!(c->log_mult > 0.0f) || !(c->log_offset >= 0.0f) || !isfinite(c->log_mult) ||
         !isfinite(c->log_offset)))
        return mrnet_fail(MRNET_ERR_ARG, "mel: log needs log_mult > 0 and log_offset >= 0 (got %g, %g)",
                          (double)c->log_mult, (double)c->log_offset);
    if (c->log == MRNET_MEL_LOG_DB && (!(c->amin > 0.0f) || !(c->top_db >= 0.0f)))
        return mrnet_fail(MRNET_ERR_ARG, "mel: dB needs amin > 0 and top_db >= 0 (got %g, %g)",
                          (double)c->amin, (double)c->top_db);
    return MRNET_OK;
}

void mrnet_mel_config_describe(const mrnet_mel_config *c, char *buf, size_t size)
{
    static const char *const pads[] = {"reflect", "constant"};
    static const char *const scales[] = {"htk", "slaney"};
    static const char *const norms[] = {"none", "slaney"};
    static const char *const logs[] = {"none", "ln", "log10", "db"};
    snprintf(buf, size,
             "sr=%d n_fft=%d win=%d hop=%d n_mels=%d f_min=%.9g f_max=%.9g power=%.9g center=%s "
             "pad=%s scale=%s norm=%s window_norm=%s log=%s log_mult=%.9g log_offset=%.9g "
             "amin=%.9g top_db=%.9g",
             c->sample_rate, c->n_fft, c->win_length, c->hop_length, c->n_mels, (double)c->f_min,
             (double)effective_f_max(c), (double)c->power, c->center ? "yes" : "no",
             pads[c->pad_mode & 1], scales[c->scale & 1], norms[c->norm & 1],
             c->window_normalize ? "yes" : "no", logs[c->log & 3], (double)c->log_mult,
             (double)c->log_offset, (double)c->amin, (double)c->top_db);
}

/* ---- mel scale ------------------------------------------------------------ */

/* Slaney's Auditory Toolbox scale (librosa htk=False, torchaudio "slaney"):
 * linear below 1 kHz (200/3 Hz per mel), logarithmic above. */
#define SLANEY_F_SP (200.0 / 3.0)
#define SLANEY_MIN_LOG_HZ 1000.0
#define SLANEY_MIN_LOG_MEL (SLANEY_MIN_LOG_HZ / SLANEY_F_SP)
#define SLANEY_LOGSTEP (1.8562979903656263 / 27.0) /* log(6.4) / 27 */

double mel_from_hz(double hz, mrnet_mel_scale scale)
{
    if (scale == MRNET_MEL_SCALE_HTK)
        return 2595.0 * log10(1.0 + hz / 700.0);
    if (hz >= SLANEY_MIN_LOG_HZ)
        return SLANEY_MIN_LOG_MEL + log(hz / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
    return hz / SLANEY_F_SP;
}

double mel_to_hz(double mel, mrnet_mel_scale scale)
{
    if (scale == MRNET_MEL_SCALE_HTK)
        return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
    if (mel >= SLANEY_MIN_LOG_MEL)
        return SLANEY_MIN_LOG_HZ * exp(SLANEY_LOGSTEP * (mel - SLANEY_MIN_LOG_MEL));
    return SLANEY_F_SP * mel;
}

mrnet_status mrnet_mel_band_hz(const mrnet_mel_config *c, double *centre_hz)
{
    MRNET_TRY(mrnet_mel_config_validate(c));
    double m_min = mel_from_hz(c->f_min, c->scale), m_max = mel_from_hz(effective_f_max(c), c->scale);
    for (int b = 0; b < c->n_mels; b++)
        centre_hz[b] = mel_to_hz(m_min + (m_max - m_min) * (b + 1) / (c->n_mels + 1), c->scale);
    return MRNET_OK;
}

void mrnet_mel_values_to_db(const mrnet_mel_config *c, const float *in, float *out, size_t n)
{
    const double ln_to_db = 10.0 / log(10.0);
    for (size_t i = 0; i < n; i++) {
        double v = in[i];
        switch (c->log) {
        case MRNET_MEL_LOG_NONE: v = 10.0 * log10(v > 1e-10 ? v : 1e-10); break;
        case MRNET_MEL_LOG_LN: v *= ln_to_db; break;
        case MRNET_MEL_LOG_LOG10: v *= 10.0; break;
        case MRNET_MEL_LOG_DB: /* 20 log10 of a magnitude is 10 log10 of its power */ break;
        }
        out[i] = (float)v;
    }
}

/* ---- construction --------------------------------------------------------- */

/* Triangles between n_mels+2 points equally spaced in mel, evaluated at the
 * FFT bin frequencies linspace(0, sr/2, n_freqs) (torchaudio melscale_fbanks,
 * librosa filters.mel). Computed in double, stored sparse in float. */
static mrnet_status build_filterbank(mrnet_melspec *m)
{
    const mrnet_mel_config *c = &m->cfg;
    int nf = m->n_freqs, nm = c->n_mels;
    double *f_pts = malloc(sizeof(double) * (size_t)(nm + 2));
    double *dense = malloc(sizeof(double) * (size_t)nf * (size_t)nm);
    m->band_lo = calloc((size_t)nm, sizeof(int));
    m->band_len = calloc((size_t)nm, sizeof(int));
    m->band_off = calloc((size_t)nm, sizeof(int));
    if (!f_pts || !dense || !m->band_lo || !m->band_len || !m->band_off) {
        free(f_pts);
        free(dense);
        return mrnet_fail(MRNET_ERR_NOMEM, "mel: out of memory for the filterbank (%d x %d)", nf, nm);
    }
    double m_min = mel_from_hz(c->f_min, c->scale), m_max = mel_from_hz(effective_f_max(c), c->scale);
    for (int i = 0; i < nm + 2; i++)
        f_pts[i] = mel_to_hz(m_min + (m_max - m_min) * i / (nm + 1), c->scale);
    double nyquist = c->sample_rate / 2.0;
    int total = 0;
    for (int b = 0; b < nm; b++) {
        double lower_w = f_pts[b + 1] - f_pts[b], upper_w = f_pts[b + 2] - f_pts[b + 1];
        double enorm = c->norm == MRNET_MEL_NORM_SLANEY ? 2.0 / (f_pts[b + 2] - f_pts[b]) : 1.0;
        int lo = -1, hi = -1;
        for (int k = 0; k < nf; k++) {
            double f = nf > 1 ? nyquist * k / (nf - 1) : 0.0;
            double down = (f - f_pts[b]) / lower_w, up = (f_pts[b + 2] - f) / upper_w;
            double w = fmax(0.0, fmin(down, up)) * enorm;
            dense[(size_t)b * nf + k] = w;
            if (w > 0.0) {
                if (lo < 0)
                    lo = k;
                hi = k;
            }
        }
        m->band_lo[b] = lo < 0 ? 0 : lo;
        m->band_len[b] = lo < 0 ? 0 : hi - lo + 1;
        m->band_off[b] = total;
        total += m->band_len[b];
    }
    m->weights = malloc(sizeof(float) * (size_t)(total > 0 ? total : 1));
    if (!m->weights) {
        free(f_pts);
        free(dense);
        return mrnet_fail(MRNET_ERR_NOMEM, "mel: out of memory for the filterbank");
    }
    for (int b = 0; b < nm; b++)
        for (int j = 0; j < m->band_len[b]; j++)
            m->weights[m->band_off[b] + j] = (float)dense[(size_t)b * nf + m->band_lo[b] + j];
    free(f_pts);
    free(dense);
    return MRNET_OK;
}

static mrnet_status build_window(mrnet_melspec *m)
{
    const mrnet_mel_config *c = &m->cfg;
    m->window = fftwf_malloc(sizeof(float) * (size_t)c->n_fft);
    if (!m->window)
        return mrnet_fail(MRNET_ERR_NOMEM, "mel: out of memory for the window");
    memset(m->window, 0, sizeof(float) * (size_t)c->n_fft);
    /* torch.stft / librosa centre a shorter window in the frame. */
    m->win_lo = (c->n_fft - c->win_length) / 2;
    m->win_hi = m->win_lo + c->win_length;
    double sum = 0.0;
    for (int i = 0; i < c->win_length; i++) {
        /* Periodic Hann (torch.hann_window(periodic=True), scipy fftbins=True). */
        double w = 0.5 - 0.5 * cos(2.0 * M_PI * i / c->win_length);
        m->window[m->win_lo + i] = (float)w;
        sum += w;
    }
    if (c->window_normalize && sum > 0.0)
        for (int i = m->win_lo; i < m->win_hi; i++)
            m->window[i] = (float)(m->window[i] * (2.0 / sum));
    return MRNET_OK;
}

/* Twiddles W^k = exp(-2 pi i k / n_fft), k = 0 .. n_fft/2, halved (the
 * split's 1/2 folded in); computed in double. */
static mrnet_status build_twiddles(mrnet_melspec *m)
{
    int n = m->cfg.n_fft, count = n / 2 + 1;
    m->twiddle_re = malloc(sizeof(float) * (size_t)count);
    m->twiddle_im = malloc(sizeof(float) * (size_t)count);
    if (!m->twiddle_re || !m->twiddle_im)
        return mrnet_fail(MRNET_ERR_NOMEM, "mel: out of memory for the FFT twiddles");
    for (int k = 0; k < count; k++) {
        m->twiddle_re[k] = (float)(0.5 * cos(2.0 * M_PI * k / n));
        m->twiddle_im[k] = (float)(-0.5 * sin(2.0 * M_PI * k / n));
    }
    return MRNET_OK;
}

mrnet_status mrnet_melspec_create(const mrnet_mel_config *cfg, mrnet_melspec **out)
{
    *out = NULL;
    MRNET_TRY(mrnet_mel_config_validate(cfg));
    mrnet_melspec *m = calloc(1, sizeof *m);
    if (!m)
        return mrnet_fail(MRNET_ERR_NOMEM, "mel: out of memory");
    m->cfg = *cfg;
    if (m->cfg.f_max <= 0.0f)
        m->cfg.f_max = (float)cfg->sample_rate / 2.0f;
    m->n_freqs = cfg->n_fft / 2 + 1;
    mrnet_status st = build_window(m);
    if (st == MRNET_OK)
        st = build_filterbank(m);
    if (st != MRNET_OK) {
        mrnet_melspec_free(m);
        return st;
    }
    int n = cfg->n_fft, half_n = n / 2;
    m->half = n % 2 == 0;
    m->batch = MELSPEC_BATCH_FLOATS / n;
    m->batch = m->batch < 4 ? 4 : m->batch > 64 ? 64 : m->batch;
    /* Rows of the power block are written one float per frame; a row stride
     * of an odd number of cache lines spreads them over all L1 sets (with
     * 256 bytes, 64 frames, a frame's 257 stores fought over 16 sets). */
    m->pw_stride = (m->batch + 15) / 16 * 16;
    if (m->pw_stride % 32 == 0)
        m->pw_stride += 16;
    if (m->half && (st = build_twiddles(m)) != MRNET_OK) {
        mrnet_melspec_free(m);
        return st;
    }
    float *in = fftwf_malloc(sizeof(float) * (size_t)n * m->batch);
    fftwf_complex *spec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)m->n_freqs * m->batch);
    if (!in || !spec) {
        fftwf_free(in);
        fftwf_free(spec);
        mrnet_melspec_free(m);
        return mrnet_fail(MRNET_ERR_NOMEM, "mel: out of memory for FFT buffers");
    }
    /* FFTW_ESTIMATE: the same plan in every run, so features are bitwise
     * reproducible across runs and machines with the same CPU features. */
    pthread_mutex_lock(&fftw_planner_lock);
    if (m->half)
        m->plan_batch = fftwf_plan_many_dft(1, &half_n, m->batch, (fftwf_complex *)in, NULL, 1, half_n, spec,
                                            NULL, 1, half_n, FFTW_FORWARD, FFTW_ESTIMATE);
    else
        m->plan_batch = fftwf_plan_many_dft_r2c(1, &n, m->batch, in, NULL, 1, n, spec, NULL, 1,
                                                m->n_freqs, FFTW_ESTIMATE);
    pthread_mutex_unlock(&fftw_planner_lock);
    fftwf_free(in);
    fftwf_free(spec);
    if (!m->plan_batch) {
        mrnet_melspec_free(m);
        return mrnet_fail(MRNET_ERR_UNSUPPORTED, "mel: FFTW could not plan an FFT of size %d", n);
    }
    *out = m;
    return MRNET_OK;
}

void mrnet_melspec_free(mrnet_melspec *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&fftw_planner_lock);
    if (m->plan_batch)
        fftwf_destroy_plan(m->plan_batch);
    pthread_mutex_unlock(&fftw_planner_lock);
    fftwf_free(m->window);
    free(m->band_lo);
    free(m->band_len);
    free(m->band_off);
    free(m->weights);
    free(m->twiddle_re);
    free(m->twiddle_im);
    free(m);
}

const mrnet_mel_config *mrnet_melspec_get_config(const mrnet_melspec *m) { return &m->cfg; }

int64_t mrnet_melspec_frames(const mrnet_melspec *m, int64_t n)
{
    const mrnet_mel_config *c = &m->cfg;
    if (n <= 0)
        return 0;
    int64_t padded = c->center ? n + 2 * (int64_t)(c->n_fft / 2) : n;
    if (padded < c->n_fft)
        return 0;
    return 1 + (padded - c->n_fft) / c->hop_length;
}

int melspec_filterbank(const mrnet_melspec *m, float *dst)
{
    if (dst) {
        int nf = m->n_freqs, nm = m->cfg.n_mels;
        memset(dst, 0, sizeof(float) * (size_t)nf * (size_t)nm);
        for (int b = 0; b < nm; b++)
            for (int j = 0; j < m->band_len[b]; j++)
                dst[(size_t)(m->band_lo[b] + j) * nm + b] = m->weights[m->band_off[b] + j];
    }
    return m->n_freqs;
}

/* ---- computation ---------------------------------------------------------- */

/* Sample i of the padded signal (i may be negative or past the end). Reflect
 * is numpy's 'reflect' (edge not repeated), applied repeatedly for signals
 * shorter than the padding; constant pads zeros. */
static inline float padded_sample(const float *x, int64_t n, int64_t i, mrnet_mel_pad mode)
{
    if (i >= 0 && i < n)
        return x[i];
    if (mode == MRNET_MEL_PAD_CONSTANT || n == 1)
        return mode == MRNET_MEL_PAD_CONSTANT ? 0.0f : x[0];
    int64_t period = 2 * (n - 1);
    int64_t j = i % period;
    if (j < 0)
        j += period;
    return j < n ? x[j] : x[period - j];
}

/* One frame: padded signal from `start`, times the window, into dst (n_fft). */
static void fill_frame(const mrnet_melspec *m, const float *x, int64_t n, int64_t start, float *dst)
{
    const float *w = m->window;
    int nfft = m->cfg.n_fft;
    for (int k = 0; k < m->win_lo; k++)
        dst[k] = 0.0f;
    for (int k = m->win_hi; k < nfft; k++)
        dst[k] = 0.0f;
    int64_t a = start + m->win_lo, b = start + m->win_hi;
    if (a >= 0 && b <= n) {
        const float *src = x + a;
        for (int k = m->win_lo; k < m->win_hi; k++)
            dst[k] = src[k - m->win_lo] * w[k];
    } else {
        for (int k = m->win_lo; k < m->win_hi; k++)
            dst[k] = padded_sample(x, n, start + k, m->cfg.pad_mode) * w[k];
    }
}

/* |X[k]|^2 of one frame from the complex FFT Z (n_fft/2) of its samples
 * read as z[i] = x[2i] + i x[2i+1]: with Y[k] = conj(Z[n_fft/2 - k]),
 * X[k] = (Z[k] + Y[k]) / 2 + W^k (Z[k] - Y[k]) / (2i), W = exp(-2 pi i / n_fft)
 * (the usual real-FFT split, e.g. Numerical Recipes 12.3). Only this frame's
 * samples enter, as with an r2c transform. p: (n_fft/2+1) at `stride`,
 * a column of the power block (stored straight from the vector registers:
 * cheaper than a contiguous row plus a second, scattering pass). re, im:
 * (n_fft/2) scratch. */
static void split_half_power(const mrnet_melspec *m, const float *restrict z, float *restrict re,
                             float *restrict im, float *restrict p, int stride)
{
    int half_n = m->cfg.n_fft / 2;
    const float *restrict tr = m->twiddle_re, *restrict ti = m->twiddle_im;
    /* Split into re/im first: GCC vectorises a reversed walk over a plain
     * array, not one over interleaved pairs. */
    for (int k = 0; k < half_n; k++) {
        re[k] = z[2 * k];
        im[k] = z[2 * k + 1];
    }
    p[0] = (re[0] + im[0]) * (re[0] + im[0]);
    p[(size_t)half_n * stride] = (re[0] - im[0]) * (re[0] - im[0]);
    for (int k = 1; k < half_n; k++) {
        float zr = re[k], zi = im[k], yr = re[half_n - k], yi = im[half_n - k];
        float sum_r = zr + yr, dif_i = zi - yi, sum_i = zi + yi, dif_r = yr - zr;
        float xr = 0.5f * sum_r + tr[k] * sum_i - ti[k] * dif_r;
        float xi = 0.5f * dif_i + tr[k] * dif_r + ti[k] * sum_i;
        p[(size_t)k * stride] = xr * xr + xi * xi;
    }
}

/* |X|^2 (n_freqs, batch) -> |X|^power in place. */
static void apply_power(float power, float *pw, size_t count)
{
    if (power == 1.0f) {
        for (size_t i = 0; i < count; i++)
            pw[i] = sqrtf(pw[i]);
    } else if (power != 2.0f) {
        for (size_t i = 0; i < count; i++)
            pw[i] = powf(pw[i], power * 0.5f);
    }
}

/* |X|^2 of the batch's spectra into pw (n_freqs, pw_stride): bin-major, so the
 * filterbank loop runs over contiguous frames. tmp (2 n_freqs). */
static void batch_power(const mrnet_melspec *m, const fftwf_complex *spec, float *tmp, float *pw)
{
    int nf = m->n_freqs, batch = m->batch, stride = m->pw_stride;
    if (m->half) {
        int half_n = m->cfg.n_fft / 2;
        for (int j = 0; j < batch; j++)
            split_half_power(m, (const float *)(spec + (size_t)j * half_n), tmp, tmp + half_n, pw + j, stride);
    } else {
        /* bin-major walk: contiguous stores, strided loads */
        for (int k = 0; k < nf; k++) {
            float *dst = pw + (size_t)k * stride;
            const fftwf_complex *src = spec + k;
            for (int j = 0; j < batch; j++)
                dst[j] = src[(size_t)j * nf][0] * src[(size_t)j * nf][0] + src[(size_t)j * nf][1] * src[(size_t)j * nf][1];
        }
    }
}

/* Natural log for finite x > 0, vectorisable (glibc's logf is not without
 * -ffast-math): x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s),
 * s = (m-1)/(m+1), |s| < 0.172, odd series to s^9 (next term < 3e-9).
 * Within 2 ulp of logf over the normal range; zero gives a large negative. */
static inline float fast_logf(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, 4);
    if (bits < 0x00800000u) /* zero or subnormal: clamp to the smallest normal */
        bits = 0x00800000u;
    int e = (int)(bits >> 23) - 127;
    uint32_t mbits = (bits & 0x007fffffu) | 0x3f800000u;
    float m;
    memcpy(&m, &mbits, 4);
    if (m > 1.41421356f) {
        m *= 0.5f;
        e += 1;
    }
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float poly = 1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9))));
    return 2.0f * s * poly + (float)e * 0.69314718f;
}

static void apply_log(const mrnet_mel_config *c, float *out, size_t count)
{
    switch (c->log) {
    case MRNET_MEL_LOG_NONE:
        break;
    case MRNET_MEL_LOG_LN:
        for (size_t i = 0; i < count; i++)
            out[i] = fast_logf(c->log_mult * out[i] + c->log_offset);
        break;
    case MRNET_MEL_LOG_LOG10:
        for (size_t i = 0; i < count; i++)
            out[i] = fast_logf(c->log_mult * out[i] + c->log_offset) * 0.43429448f;
        break;
    case MRNET_MEL_LOG_DB: {
        /* torchaudio AmplitudeToDB / librosa power_to_db with ref 1. */
        float mult = c->power == 1.0f ? 20.0f : 10.0f;
        float top = -INFINITY;
        for (size_t i = 0; i < count; i++) {
            out[i] = mult * 0.43429448f * fast_logf(fmaxf(out[i], c->amin));
            top = fmaxf(top, out[i]);
        }
        if (c->top_db > 0.0f) {
            float floor_db = top - c->top_db;
            for (size_t i = 0; i < count; i++)
                out[i] = fmaxf(out[i], floor_db);
        }
        break;
    }
    }
}

mrnet_status mrnet_melspec_compute(const mrnet_melspec *m, const float *x, int64_t n, float *out)
{
    const mrnet_mel_config *c = &m->cfg;
    int64_t T = mrnet_melspec_frames(m, n);
    if (T <= 0)
        return mrnet_fail(MRNET_ERR_ARG, "mel: %lld samples give no frame (n_fft %d, center %s)",
                          (long long)n, c->n_fft, c->center ? "yes" : "no");
    /* Branch-free scan (vectorises); the index is looked up only on failure. */
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    if (bad)
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(x[i]))
                return mrnet_fail(MRNET_ERR_NUMERIC, "mel: input sample %lld is not finite", (long long)i);
    int nfft = c->n_fft, nf = m->n_freqs, nm = c->n_mels;
    float *frames = fftwf_malloc(sizeof(float) * (size_t)nfft * m->batch);
    fftwf_complex *spec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)nf * m->batch);
    float *pw = calloc((size_t)nf * m->pw_stride, sizeof(float));
    float *acc = malloc(sizeof(float) * m->batch);
    float *tmp = malloc(sizeof(float) * (size_t)nf * 2);
    if (!frames || !spec || !pw || !acc || !tmp) {
        free(tmp);
        fftwf_free(frames);
        fftwf_free(spec);
        free(pw);
        free(acc);
        return mrnet_fail(MRNET_ERR_NOMEM, "mel: out of memory for %d-frame work buffers", m->batch);
    }
    int64_t offset = c->center ? -(int64_t)(nfft / 2) : 0;
    for (int64_t t0 = 0; t0 < T; t0 += m->batch) {
        int nb = (int)(T - t0 < m->batch ? T - t0 : m->batch);
        for (int j = 0; j < nb; j++)
            fill_frame(m, x, n, offset + (t0 + j) * c->hop_length, frames + (size_t)j * nfft);
        /* A short last batch is zero-filled rather than run through a
         * one-frame plan: new-array execution needs the planned alignment,
         * which frame j of an odd n_fft would not have. */
        if (nb < m->batch)
            memset(frames + (size_t)nb * nfft, 0, sizeof(float) * (size_t)nfft * (m->batch - nb));
        if (m->half)
            fftwf_execute_dft(m->plan_batch, (fftwf_complex *)frames, spec);
        else
            fftwf_execute_dft_r2c(m->plan_batch, frames, spec);
        batch_power(m, spec, tmp, pw);
        apply_power(c->power, pw, (size_t)nf * m->pw_stride);
        /* Band b = sum over its bins of weight * power, for all frames of
         * the batch at once (contiguous, vectorised). */
        for (int b = 0; b < nm; b++) {
            const float *w = m->weights + m->band_off[b];
            for (int j = 0; j < m->batch; j++)
                acc[j] = 0.0f;
            for (int k = 0; k < m->band_len[b]; k++) {
                const float wk = w[k], *p = pw + (size_t)(m->band_lo[b] + k) * m->pw_stride;
                for (int j = 0; j < m->batch; j++)
                    acc[j] += wk * p[j];
            }
            memcpy(out + (size_t)b * T + t0, acc, sizeof(float) * (size_t)nb);
        }
    }
    fftwf_free(frames);
    fftwf_free(spec);
    free(pw);
    free(acc);
    free(tmp);
    apply_log(c, out, (size_t)nm * (size_t)T);
    return MRNET_OK;
}
