/* Plans the workspace: the same carve sequence measures (base NULL), then
 * assigns, then (on demand) checks the guards, so the size always matches the
 * layout.
 *
 * Guards: every buffer is followed by one 64-byte line of a fixed pattern. An
 * op that writes past its buffer lands in the next buffer of the same
 * allocation, where AddressSanitizer cannot see it; the guard shows it. They
 * cost one line per buffer (a few hundred) and nothing per step. */
#include "model/workspace.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

typedef enum { CARVE_MEASURE, CARVE_ASSIGN, CARVE_CHECK } carve_mode;

typedef struct {
    float *base; /* NULL while measuring */
    size_t used;
    double used_exact; /* the same sum in double: tells a size_t wrap-around */
    carve_mode mode;
    int damaged; /* guards found overwritten (CARVE_CHECK) */
} carver;

/* One cache line: keeps the next buffer 64-byte aligned. */
#define GUARD_FLOATS 16
/* A NaN, so that a guard read as data also shows in the results. */
#define GUARD_WORD 0x7fa5a5a5u

static void guard_fill(float *g)
{
    const uint32_t w = GUARD_WORD;
    for (int i = 0; i < GUARD_FLOATS; i++)
        memcpy(g + i, &w, sizeof w);
}

static bool guard_intact(const float *g)
{
    for (int i = 0; i < GUARD_FLOATS; i++) {
        uint32_t w;
        memcpy(&w, g + i, sizeof w);
        if (w != GUARD_WORD)
            return false;
    }
    return true;
}

/* Carves n floats, rounded up to 16 (64-byte alignment for AVX-512 loads),
 * and the guard after them. */
static float *carve(carver *c, size_t n)
{
    float *p = c->base ? c->base + c->used : NULL;
    c->used += (n + 15) / 16 * 16;
    c->used_exact += (double)n + 16 + GUARD_FLOATS;
    if (c->mode == CARVE_ASSIGN)
        guard_fill(c->base + c->used);
    else if (c->mode == CARVE_CHECK)
        c->damaged += !guard_intact(c->base + c->used);
    c->used += GUARD_FLOATS;
    return p;
}

static void carve_cbr(carver *c, cbr_cache *cc, size_t channels, size_t N)
{
    cc->z = carve(c, channels * N);
    cc->y = carve(c, channels * N);
    cc->mean = carve(c, channels);
    cc->rstd = carve(c, channels);
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static size_t conv_scratch(const conv_layer *c, int threads)
{
    conv1d_params p = conv_view(c);
    return conv1d_scratch_floats(&p, 1, threads); /* it does not depend on the length */
}

static size_t cbr_scratch(const cbr_layer *c, int threads)
{
    return conv_scratch(&c->conv, threads);
}

model_scratch_terms model_workspace_scratch_terms(const mrnet_model *m, int B, size_t N,
                                                  int threads)
{
    const mrnet_config *cfg = &m->cfg;
    size_t n = cbr_scratch(&m->fst, threads);
    for (int i = 0; i < MRNET_BLOCKS; i++) {
        const mrblock_layers *blk = &m->blocks[i];
        n = max_size(n, cbr_scratch(&blk->conv1, threads));
        n = max_size(n, cbr_scratch(&blk->convs[0], threads));
        n = max_size(n, cbr_scratch(&blk->conv3, threads));
        n = max_size(n, conv_scratch(&blk->residual, threads));
        n = max_size(n, cbr_scratch(&m->reprocessing[i], threads));
    }
    n = max_size(n, cbr_scratch(&m->r_global, threads));
    n = max_size(n, cbr_scratch(&m->l_conv, threads));
    size_t se = (size_t)B * (size_t)cfg->se_groups * (size_t)(3 * cfg->channels / cfg->se_groups +
                                                              m->se_bottleneck);
    asp_params ap = {.channels = cfg->channels, .hidden = m->asp_hidden};
    size_t asp = asp_scratch_floats(&ap, 1, (int)N, threads); /* linear in B*T */
    return (model_scratch_terms){.conv = n, .se = se, .asp = asp};
}

/* The largest scratch any op of the model asks for. */
static size_t scratch_floats(const mrnet_model *m, int B, size_t N, int threads)
{
    model_scratch_terms t = model_workspace_scratch_terms(m, B, N, threads);
    return max_size(t.conv, max_size(t.se, t.asp));
}

/* Buffers for up to B samples and N = B*T frames in all: every activation
 * scales with N, the per-sample statistics with B, so one workspace serves
 * a long single track as well as a batch of crops. */
static void layout(const mrnet_model *m, model_workspace *ws, carver *c, int B, size_t N,
                   int threads)
{
    const mrnet_config *cfg = &m->cfg;
    size_t C = (size_t)cfg->channels, SD = (size_t)cfg->in_channels *
                                                                      (size_t)cfg->in_dim;
    size_t SW = (size_t)cfg->scale * (size_t)m->width, W = (size_t)m->width;
    size_t E = (size_t)cfg->embed, K = (size_t)cfg->classes, H = (size_t)m->asp_hidden;
    size_t R = MRNET_ROUTES, Bs = (size_t)B;

    if (cfg->input_norm == MRNET_INPUT_NORM_GLOBAL)
        ws->std_input = carve(c, SD * (size_t)cfg->n_layers * N);
    ws->mix = carve(c, SD * N);
    ws->norm = carve(c, SD * N);
    ws->norm_rstd = carve(c, Bs * SD);
    ws->x_drop0 = carve(c, SD * N);
    ws->mask0 = carve(c, SD * N);
    carve_cbr(c, &ws->fst, C, N);
    for (int i = 0; i < MRNET_BLOCKS; i++) {
        block_cache *bc = &ws->blocks[i];
        ws->x[i] = i == 0 ? ws->fst.y : carve(c, C * N);
        bc->x_drop = carve(c, C * N);
        bc->mask = carve(c, C * N);
        carve_cbr(c, &bc->conv1, SW, N);
        for (int j = 0; j < cfg->scale - 1; j++) {
            bc->split_in[j] = carve(c, W * N);
            carve_cbr(c, &bc->convs[j], W, N);
        }
        bc->cat = carve(c, SW * N);
        carve_cbr(c, &bc->conv3, 3 * C, N);
        bc->se_m = carve(c, Bs * 3 * C);
        bc->se_z = carve(c, Bs * (size_t)cfg->se_groups * (size_t)m->se_bottleneck);
        bc->se_s = carve(c, Bs * 3 * C);
        ws->low[i] = carve(c, C * N);
        ws->mid_in[i] = carve(c, 2 * C * N);
        carve_cbr(c, &ws->reprocessing[i], C, N);
    }
    ws->block_out = carve(c, 3 * C * N);
    ws->long_cat = carve(c, 3 * C * N);
    carve_cbr(c, &ws->r_global, C, N);
    carve_cbr(c, &ws->l_conv, C, N);
    for (size_t j = 0; j < R; j++) {
        asp_cache *a = &ws->asp[j];
        a->h = carve(c, H * N);
        a->bn_mean = carve(c, H);
        a->bn_rstd = carve(c, H);
        a->th = carve(c, H * N);
        a->a = carve(c, C * N);
        a->mu = carve(c, Bs * C);
        a->sg = carve(c, Bs * C);
    }
    ws->asp_out = carve(c, Bs * 2 * C);
    ws->pooled = carve(c, Bs * R * 2 * C);
    ws->routed = carve(c, Bs * R * 2 * C);
    ws->f5 = carve(c, Bs * R * 2 * C);
    ws->f5_mean = carve(c, R * 2 * C);
    ws->f5_rstd = carve(c, R * 2 * C);
    bool after_norm = m->cfg.route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM;
    ws->f5_norm = after_norm ? carve(c, Bs * R * 2 * C) : NULL; /* paper: layout as before */
    ws->f6 = carve(c, Bs * E);
    ws->emb = carve(c, Bs * E);
    ws->emb_mean = carve(c, E);
    ws->emb_rstd = carve(c, E);
    ws->hz = carve(c, Bs * K);
    ws->logits = carve(c, Bs * K);
    ws->hz_mean = carve(c, K);
    ws->hz_rstd = carve(c, K);
    ws->scratch = carve(c, scratch_floats(m, B, N, threads));

    ws->g_logits = carve(c, Bs * K);
    ws->g_hz = carve(c, Bs * K);
    ws->g_emb = carve(c, Bs * E);
    ws->g_f6 = carve(c, Bs * E);
    ws->g_f5 = carve(c, Bs * R * 2 * C);
    ws->g_routed = carve(c, Bs * R * 2 * C);
    ws->g_pooled = carve(c, Bs * R * 2 * C);
    ws->g_asp_out = carve(c, Bs * 2 * C);
    for (size_t j = 0; j < R; j++)
        ws->g_route[j] = carve(c, C * N);
    ws->g_mid_in = carve(c, 2 * C * N);
    ws->g_global = carve(c, C * N);
    ws->g_long_cat = carve(c, 3 * C * N);
    ws->g_tmp = carve(c, C * N);
    ws->g_block_out = carve(c, 3 * C * N);
    ws->g_v = carve(c, 3 * C * N);
    ws->g_h3 = carve(c, 3 * C * N);
    ws->g_cat = carve(c, SW * N);
    ws->g_u = carve(c, SW * N);
    ws->g_h1 = carve(c, SW * N);
    ws->g_split = carve(c, W * N);
    ws->g_r = carve(c, W * N);
    ws->g_x_drop = carve(c, C * N);
    ws->g_x = carve(c, C * N);
    ws->g_fst_z = carve(c, C * N);
    ws->g_x_drop0 = carve(c, SD * N);
    ws->g_norm = carve(c, SD * N);
}

size_t model_workspace_floats(const model_workspace *ws) { return ws->floats; }

void model_workspace_free(model_workspace *ws)
{
    if (ws) {
        free(ws->base);
        free(ws);
    }
}

int model_workspace_check_guards(const mrnet_model *m)
{
    if (!m->ws)
        return 0;
    model_workspace copy = *m->ws; /* the layout writes its pointers; these stay */
    carver check = {.base = m->ws->base, .mode = CARVE_CHECK};
    layout(m, &copy, &check, m->ws_batch, m->ws_frames, m->ws->threads);
    return check.damaged;
}

bool model_workspace_fits(const mrnet_model *m, int batch, size_t frames)
{
    return m->ws && batch <= m->ws_batch && frames <= m->ws_frames &&
           conv1d_max_threads() <= m->ws->threads;
}

mrnet_status model_workspace_reserve(mrnet_model *m, int max_batch, int max_frames)
{
    if (max_batch < 1 || max_frames < 1)
        return mrnet_fail(MRNET_ERR_ARG, "workspace: batch %d and frames %d must be positive",
                          max_batch, max_frames);
    /* grow, never shrink: keep the larger of what is there and what is asked,
     * the thread count included (what the ops would start now) */
    size_t frames = (size_t)max_batch * (size_t)max_frames;
    if (model_workspace_fits(m, max_batch, frames))
        return MRNET_OK;
    int threads = conv1d_max_threads();
    if (m->ws) {
        max_batch = max_batch > m->ws_batch ? max_batch : m->ws_batch;
        frames = frames > m->ws_frames ? frames : m->ws_frames;
        threads = threads > m->ws->threads ? threads : m->ws->threads;
    }
    model_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for the workspace");
    carver measure = {0};
    layout(m, ws, &measure, max_batch, frames, threads);
    /* A plan past 2^56 floats (or one whose sum wrapped) cannot be allocated:
     * refuse it before aligned_alloc sees a wrapped size. The per-buffer
     * products stay below 2^64 because frames <= 2^31 and the config's
     * widths are bounded (mrnet_config_validate). */
    if (frames > ((size_t)1 << 31) || measure.used_exact > 0x1p56) {
        free(ws);
        return mrnet_fail(MRNET_ERR_NOMEM,
                          "out of memory: the workspace for %d samples, %zu frames in all, %d "
                          "threads, needs %.3g GiB",
                          max_batch, frames, threads, measure.used_exact * 4 / (1u << 30));
    }
    ws->floats = measure.used;
    ws->threads = threads;
    ws->base = aligned_alloc(64, ws->floats * sizeof(float));
    if (!ws->base) {
        free(ws);
        return mrnet_fail(MRNET_ERR_NOMEM,
                          "out of memory: the workspace for %d samples, %zu frames in all, %d "
                          "threads, needs %.1f GiB",
                          max_batch, frames, threads, (double)measure.used * 4 / (1u << 30));
    }
    carver assign = {.base = ws->base, .mode = CARVE_ASSIGN};
    layout(m, ws, &assign, max_batch, frames, threads);
    model_workspace_free(m->ws);
    m->ws = ws;
    m->ws_batch = max_batch;
    m->ws_frames = frames;
    m->have_train_forward = false;
    return MRNET_OK;
}
