/* Checkpoints as safetensors under the release's tensor names. mrnet's own
 * files carry the configuration and labels in the metadata; a file holding
 * only the release's state dicts is recognised by its shapes. Every tensor
 * is checked for presence, dtype, shape and finiteness, by name. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

static int count_prefixed(const mrnet_st_file *f, const char *fmt)
{
    int n = 0;
    char name[256];
    for (;;) {
        snprintf(name, sizeof name, fmt, n);
        if (!mrnet_st_find(f, name))
            return n;
        n++;
    }
}

static mrnet_status need_shape(const mrnet_st_file *f, const char *name, int ndim, const mrnet_st_tensor **t)
{
    *t = mrnet_st_find(f, name);
    if (!*t)
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s: no mrnet metadata and no tensor '%s': not an MRNet checkpoint",
                          f->path, name);
    if ((*t)->ndim != ndim)
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' has %d dimensions, expected %d",
                          f->path, name, (*t)->ndim, ndim);
    return MRNET_OK;
}

/* The configuration of a release state dict, from its shapes. */
static mrnet_status infer_config(const mrnet_st_file *f, int in_channels_hint, mrnet_config *cfg)
{
    const mrnet_st_tensor *fst, *w, *fc6, *head;
    MRNET_TRY(need_shape(f, "fst_conv.weight", 3, &fst));
    MRNET_TRY(need_shape(f, "w", 5, &w));
    MRNET_TRY(need_shape(f, "fc6.weight", 2, &fc6));
    MRNET_TRY(need_shape(f, "head.fc1.weight", 2, &head));
    mrnet_config_default(cfg, (int)head->shape[0]);
    cfg->channels = (int)fst->shape[0];
    cfg->n_layers = (int)w->shape[2];
    cfg->embed = (int)fc6->shape[0];
    cfg->scale = count_prefixed(f, "conv_blocks.0.convs.%d.weight") + 1;
    cfg->se_groups = count_prefixed(f, "conv_blocks.0.se.se_modules.%d.1.weight");
    /* The release always feeds two channels; a mono mel model (L = 1) stores
     * the same shapes, so (S, D) is a reading convention (spec). */
    int sd = (int)fst->shape[1];
    cfg->in_channels = in_channels_hint > 0 ? in_channels_hint : (cfg->n_layers == 1 ? 1 : 2);
    if (sd % cfg->in_channels != 0)
        return mrnet_fail(MRNET_ERR_SHAPE,
                          "%s: fst_conv takes %d input channels, not divisible by %d audio "
                          "channels",
                          f->path, sd, cfg->in_channels);
    cfg->in_dim = sd / cfg->in_channels;
    mrnet_status st = mrnet_config_validate(cfg);
    return st == MRNET_OK ? st : mrnet_fail_context(st, "%s: inferred configuration", f->path);
}

static mrnet_status read_labels(const mrnet_st_file *f, mrnet_model *m)
{
    const char *json = mrnet_st_meta(f, "mrnet.labels");
    if (!json)
        return MRNET_OK;
    cJSON *arr = cJSON_Parse(json);
    mrnet_status st = MRNET_OK;
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
    char **names = n > 0 ? calloc((size_t)n, sizeof *names) : NULL;
    if (n != m->cfg.classes) {
        st = mrnet_fail(MRNET_ERR_FORMAT,
                        "%s: metadata mrnet.labels is not a JSON array of %d class names",
                        f->path, m->cfg.classes);
    } else if (!names) {
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    } else {
        for (int k = 0; k < n && st == MRNET_OK; k++) {
            const cJSON *v = cJSON_GetArrayItem(arr, k);
            if (!cJSON_IsString(v))
                st = mrnet_fail(MRNET_ERR_FORMAT, "%s: label %d in mrnet.labels is not a string",
                                f->path, k);
            else
                names[k] = v->valuestring;
        }
        if (st == MRNET_OK)
            st = mrnet_model_set_labels(m, names, n);
    }
    free(names);
    cJSON_Delete(arr);
    return st;
}

static mrnet_status load_tensor(const mrnet_st_file *f, mrnet_tensor_info *t)
{
    const mrnet_st_tensor *s = mrnet_st_find(f, t->name);
    if (!s)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: tensor '%s' is missing", f->path, t->name);
    if (t->kind == MRNET_TENSOR_COUNTER) {
        if (s->numel != 1 || (s->dtype != MRNET_I64 && s->dtype != MRNET_I32))
            return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' must be one int64, found %s x%lld",
                              f->path, t->name, mrnet_dtype_name(s->dtype), (long long)s->numel);
        int64_t v = 0;
        if (s->dtype == MRNET_I64)
            memcpy(&v, s->data, 8);
        else {
            int32_t v32;
            memcpy(&v32, s->data, 4);
            v = v32;
        }
        *t->count = v;
        return MRNET_OK;
    }
    /* A float tensor may be stored in any float type (converted release
     * checkpoints); an integer or boolean one is not a weight. */
    if (s->dtype != MRNET_F32 && s->dtype != MRNET_F16 && s->dtype != MRNET_BF16 && s->dtype != MRNET_F64)
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' has dtype %s, expected F32", f->path,
                          t->name, mrnet_dtype_name(s->dtype));
    bool same = s->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++)
        same = s->shape[d] == t->shape[d];
    if (!same) {
        char want[128], got[128];
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s", f->path,
                          t->name, mrnet_shape_string(s->ndim, s->shape, got, sizeof got),
                          mrnet_shape_string(t->ndim, t->shape, want, sizeof want));
    }
    MRNET_TRY(mrnet_st_copy_to_f32(f, s, t->data, (int64_t)t->numel));
    for (size_t k = 0; k < t->numel; k++)
        if (!isfinite(t->data[k]))
            return mrnet_fail(MRNET_ERR_NUMERIC, "%s: tensor '%s' holds a non-finite value at %zu",
                              f->path, t->name, k);
    return MRNET_OK;
}

/* Tensors a checkpoint may hold besides the model's own. */
static bool tolerated_extra(const char *name)
{
    return !strcmp(name, "head.softmax_loss.weight") || !strncmp(name, "optim.", 6) ||
           !strncmp(name, "train.", 6);
}

/* A version is written "1", "2", ...: digits, no sign, no leading zero. */
static bool is_version(const char *s)
{
    if (!(s[0] >= '1' && s[0] <= '9'))
        return false;
    for (const char *p = s; *p; p++)
        if (!(*p >= '0' && *p <= '9'))
            return false;
    return true;
}

mrnet_status model_check_format(const char *path, const char *key, const char *value,
                                int supported)
{
    if (!value)
        return MRNET_OK; /* written before files carried a version */
    if (!is_version(value))
        return mrnet_fail(MRNET_ERR_FORMAT,
                          "%s: metadata %s = '%.40s' is not a format version (a positive integer)",
                          path, key, value);
    /* compared as digit strings: a version of any length is newer or not */
    char have[16];
    snprintf(have, sizeof have, "%d", supported);
    size_t n = strlen(value), m = strlen(have);
    if (n > m || (n == m && strcmp(value, have) > 0))
        return mrnet_fail(MRNET_ERR_UNSUPPORTED,
                          "%s: format %.40s (metadata %s) is newer than this build reads "
                          "(format %d); it was written by a newer mrnet",
                          path, value, key, supported);
    return MRNET_OK;
}

static mrnet_status load_from(const mrnet_st_file *f, int in_channels_hint, mrnet_model **out)
{
    MRNET_TRY(model_check_format(f->path, "mrnet.format", mrnet_st_meta(f, "mrnet.format"),
                                 MRNET_CHECKPOINT_FORMAT));
    mrnet_config cfg;
    const char *json = mrnet_st_meta(f, "mrnet.config");
    if (json) {
        mrnet_config_default(&cfg, 0);
        mrnet_status st = mrnet_config_from_json(json, &cfg);
        if (st != MRNET_OK)
            return mrnet_fail_context(st, "%s: metadata mrnet.config", f->path);
    } else {
        MRNET_TRY(infer_config(f, in_channels_hint, &cfg));
    }
    mrnet_model *m;
    MRNET_TRY(model_alloc(&cfg, &m));
    mrnet_status st = MRNET_OK;
    for (int i = 0; i < m->n_tensors && st == MRNET_OK; i++)
        st = load_tensor(f, &m->tensors[i]);
    for (int i = 0; i < f->n_tensors && st == MRNET_OK; i++)
        if (!mrnet_model_find_tensor(m, f->tensors[i].name) && !tolerated_extra(f->tensors[i].name))
            st = mrnet_fail(MRNET_ERR_FORMAT,
                            "%s: unexpected tensor '%s' for an MRNet of this configuration",
                            f->path, f->tensors[i].name);
    if (st == MRNET_OK)
        st = read_labels(f, m);
    const char *drop = mrnet_st_meta(f, "mrnet.drop_routes");
    unsigned mask = 0;
    if (st == MRNET_OK && drop) {
        if ((st = mrnet_parse_routes(drop, &mask)) == MRNET_OK)
            st = mrnet_model_set_drop_routes(m, mask);
        if (st != MRNET_OK)
            st = mrnet_fail_context(st, "%s: metadata mrnet.drop_routes", f->path);
    }
    if (st != MRNET_OK) {
        mrnet_model_free(m);
        return st;
    }
    *out = m;
    return MRNET_OK;
}

mrnet_status mrnet_model_load(const char *path, int in_channels_hint, mrnet_model **out)
{
    *out = NULL;
    mrnet_st_file *f;
    MRNET_TRY(mrnet_st_open(path, &f));
    mrnet_status st = load_from(f, in_channels_hint, out);
    mrnet_st_close(f);
    return st;
}

/* "L1,M2" for a drop mask. */
static void routes_string(unsigned mask, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int j = 0; j < MRNET_ROUTES; j++)
        if (mask & (1u << j))
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", mrnet_route_name(j));
}

mrnet_status model_add_tensors(const mrnet_model *m, mrnet_st_writer *w)
{
    static const int64_t scalar[1] = {0};
    for (int i = 0; i < m->n_tensors; i++) {
        const mrnet_tensor_info *t = &m->tensors[i];
        if (t->kind == MRNET_TENSOR_COUNTER)
            MRNET_TRY(mrnet_st_writer_add(w, t->name, MRNET_I64, 0, scalar, t->count));
        else
            MRNET_TRY(mrnet_st_writer_add(w, t->name, MRNET_F32, t->ndim, t->shape, t->data));
    }
    return MRNET_OK;
}

mrnet_status model_add_metadata(const mrnet_model *m, mrnet_st_writer *w)
{
    char cfg[512], routes[64], version[16];
    MRNET_TRY(mrnet_config_to_json(&m->cfg, cfg, sizeof cfg));
    MRNET_TRY(mrnet_st_writer_meta(w, "format", "mrnet"));
    /* the lowest version that holds the model (mrnet/model.h): a paper model
     * stays readable by builds of format 1, and those refuse an after-norm
     * one instead of computing it as the paper's */
    int format = m->cfg.route_weights == MRNET_ROUTE_WEIGHTS_PAPER &&
                         m->cfg.input_norm == MRNET_INPUT_NORM_INSTANCE ? 1 : 2;
    snprintf(version, sizeof version, "%d", format);
    MRNET_TRY(mrnet_st_writer_meta(w, "mrnet.format", version));
    MRNET_TRY(mrnet_st_writer_meta(w, "mrnet.config", cfg));
    routes_string(m->drop_routes, routes, sizeof routes);
    if (routes[0])
        MRNET_TRY(mrnet_st_writer_meta(w, "mrnet.drop_routes", routes));
    if (m->labels) {
        cJSON *arr = cJSON_CreateStringArray((const char *const *)m->labels, m->n_labels);
        char *text = arr ? cJSON_PrintUnformatted(arr) : NULL;
        cJSON_Delete(arr);
        if (!text)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory writing labels");
        mrnet_status st = mrnet_st_writer_meta(w, "mrnet.labels", text);
        free(text);
        MRNET_TRY(st);
    }
    return MRNET_OK;
}

mrnet_status mrnet_model_save(const mrnet_model *m, const char *path,
                              const char *const *extra_meta)
{
    mrnet_st_writer *w = mrnet_st_writer_create();
    if (!w)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    mrnet_status st = model_add_tensors(m, w);
    if (st == MRNET_OK)
        st = model_add_metadata(m, w);
    /* the model's own keys describe the tensors: a caller's may not replace them */
    static const char *const reserved[] = {"format", "mrnet.format", "mrnet.config",
                                           "mrnet.drop_routes", "mrnet.labels"};
    for (int i = 0; st == MRNET_OK && extra_meta && extra_meta[i]; i += 2) {
        for (size_t r = 0; r < sizeof reserved / sizeof *reserved && st == MRNET_OK; r++)
            if (strcmp(extra_meta[i], reserved[r]) == 0)
                st = mrnet_fail(MRNET_ERR_ARG, "%s: metadata key '%s' is the model's own and "
                                "cannot be given", path, extra_meta[i]);
        if (st == MRNET_OK)
            st = mrnet_st_writer_meta(w, extra_meta[i], extra_meta[i + 1] ? extra_meta[i + 1] : "");
    }
    if (st == MRNET_OK)
        st = mrnet_st_writer_save(w, path);
    mrnet_st_writer_free(w);
    return st;
}
