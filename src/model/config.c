/* Model configuration: defaults, validation, derived sizes, JSON form. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model/model.h"
#include "tensor/error.h"

static const char *const route_names[MRNET_ROUTES] = {"L1", "L2", "L3", "H", "M1", "M2", "M3"};

const char *mrnet_route_name(int route)
{
    return (route >= 0 && route < MRNET_ROUTES) ? route_names[route] : "?";
}

mrnet_status mrnet_parse_routes(const char *list, unsigned *mask)
{
    *mask = 0;
    if (!list)
        return MRNET_OK;
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, ", ");
        int found = -1;
        for (int j = 0; j < MRNET_ROUTES; j++)
            if (strlen(route_names[j]) == n && !strncasecmp(p, route_names[j], n))
                found = j;
        if (found < 0)
            return mrnet_fail(MRNET_ERR_ARG,
                              "unknown route '%.*s' in '%s' (routes: L1 L2 L3 H M1 M2 M3)", (int)n,
                              p, list);
        *mask |= 1u << found;
        p += n;
    }
    if (*mask == (1u << MRNET_ROUTES) - 1)
        return mrnet_fail(MRNET_ERR_ARG, "route list '%s' drops every route", list);
    return MRNET_OK;
}

static const char *const route_weights_names[] = {"paper", "after-norm"};

const char *mrnet_route_weights_name(int mode)
{
    return (mode == MRNET_ROUTE_WEIGHTS_PAPER || mode == MRNET_ROUTE_WEIGHTS_AFTER_NORM)
               ? route_weights_names[mode]
               : "?";
}

mrnet_status mrnet_route_weights_parse(const char *name, int *mode)
{
    for (int i = 0; i < 2; i++)
        if (name && !strcmp(name, route_weights_names[i])) {
            *mode = i;
            return MRNET_OK;
        }
    return mrnet_fail(MRNET_ERR_ARG, "unknown route-weight placement '%s' (paper, after-norm)",
                      name ? name : "(null)");
}

void mrnet_config_default(mrnet_config *cfg, int classes)
{
    *cfg = (mrnet_config){.in_dim = 768, .in_channels = 2, .n_layers = 13, .channels = 512,
                          .embed = 128, .classes = classes, .dilations = {2, 3, 4},
                          .scale = 8, .se_groups = 3};
}

/* The derived sizes take any configuration, validated or not (callers size
 * buffers from them before or while validating): a zero divisor or an
 * overflowing product would trap, so such a configuration gives 0. The
 * products are formed in 64 bits, where 3 * INT_MAX cannot overflow. */
static int derived_size(int64_t numerator, int64_t divisor)
{
    if (numerator < 1 || divisor < 1 || numerator / divisor > INT_MAX)
        return 0;
    return (int)(numerator / divisor);
}

int mrnet_config_width(const mrnet_config *cfg)
{
    return derived_size(3 * (int64_t)cfg->channels, cfg->scale);
}

int mrnet_config_se_bottleneck(const mrnet_config *cfg)
{
    return derived_size(derived_size(3 * (int64_t)cfg->channels, 16), cfg->se_groups);
}

int mrnet_config_asp_hidden(const mrnet_config *cfg) { return derived_size(cfg->channels, 16); }

static mrnet_status check_range(const char *name, int v, int lo, int hi)
{
    if (v < lo || v > hi)
        return mrnet_fail(MRNET_ERR_ARG, "configuration: %s = %d, must be in [%d, %d]", name, v,
                          lo, hi);
    return MRNET_OK;
}

mrnet_status mrnet_config_validate(const mrnet_config *cfg)
{
    MRNET_TRY(check_range("in_dim", cfg->in_dim, 1, 1 << 16));
    MRNET_TRY(check_range("in_channels", cfg->in_channels, 1, 64));
    MRNET_TRY(check_range("n_layers", cfg->n_layers, 1, 256));
    MRNET_TRY(check_range("channels", cfg->channels, 16, 1 << 14));
    MRNET_TRY(check_range("embed", cfg->embed, 1, 1 << 16));
    MRNET_TRY(check_range("classes", cfg->classes, 1, 1 << 16));
    MRNET_TRY(check_range("scale", cfg->scale, 2, MRNET_MAX_SCALE));
    MRNET_TRY(check_range("se_groups", cfg->se_groups, 1, MRNET_MAX_SE_GROUPS));
    for (int i = 0; i < MRNET_BLOCKS; i++)
        MRNET_TRY(check_range("dilations[i]", cfg->dilations[i], 1, 1024));
    MRNET_TRY(check_range("input_norm", cfg->input_norm, MRNET_INPUT_NORM_INSTANCE,
                          MRNET_INPUT_NORM_GLOBAL));
    if (cfg->route_weights != MRNET_ROUTE_WEIGHTS_PAPER &&
        cfg->route_weights != MRNET_ROUTE_WEIGHTS_AFTER_NORM)
        return mrnet_fail(MRNET_ERR_ARG,
                          "configuration: route_weights = %d, must be 0 (paper) or 1 (after-norm)",
                          cfg->route_weights);
    if ((3 * cfg->channels) % cfg->se_groups != 0)
        return mrnet_fail(MRNET_ERR_ARG,
                          "configuration: 3*channels = %d is not divisible by se_groups = %d",
                          3 * cfg->channels, cfg->se_groups);
    if (mrnet_config_width(cfg) < 1 || mrnet_config_se_bottleneck(cfg) < 1 ||
        mrnet_config_asp_hidden(cfg) < 1)
        return mrnet_fail(MRNET_ERR_ARG,
                          "configuration: channels = %d too small for scale %d and %d SE groups",
                          cfg->channels, cfg->scale, cfg->se_groups);
    return MRNET_OK;
}

/* route_weights and input_norm only when not the paper's: a paper model's
 * JSON stays what it was before the fields existed (and what older builds read). */
mrnet_status mrnet_config_to_json(const mrnet_config *cfg, char *buf, size_t size)
{
    char extra[64] = "";
    int e = 0;
    if (cfg->route_weights != MRNET_ROUTE_WEIGHTS_PAPER)
        e += snprintf(extra + e, sizeof extra - (size_t)e, ",\"route_weights\":%d", cfg->route_weights);
    if (cfg->input_norm != MRNET_INPUT_NORM_INSTANCE)
        snprintf(extra + e, sizeof extra - (size_t)e, ",\"input_norm\":%d", cfg->input_norm);
    int n = snprintf(buf, size,
                     "{\"in_dim\":%d,\"in_channels\":%d,\"n_layers\":%d,\"channels\":%d,"
                     "\"embed\":%d,\"classes\":%d,\"dilations\":[%d,%d,%d],\"scale\":%d,"
                     "\"se_groups\":%d%s}",
                     cfg->in_dim, cfg->in_channels, cfg->n_layers, cfg->channels, cfg->embed,
                     cfg->classes, cfg->dilations[0], cfg->dilations[1], cfg->dilations[2],
                     cfg->scale, cfg->se_groups, extra);
    if (n < 0 || (size_t)n >= size)
        return mrnet_fail(MRNET_ERR_ARG, "configuration JSON does not fit %zu bytes", size);
    return MRNET_OK;
}

const char *mrnet_input_norm_name(int input_norm)
{
    return input_norm == MRNET_INPUT_NORM_GLOBAL ? "global" : "instance";
}

mrnet_status mrnet_parse_input_norm(const char *name, int *input_norm)
{
    if (!strcmp(name, "instance"))
        *input_norm = MRNET_INPUT_NORM_INSTANCE;
    else if (!strcmp(name, "global"))
        *input_norm = MRNET_INPUT_NORM_GLOBAL;
    else
        return mrnet_fail(MRNET_ERR_ARG, "input norm '%s': choose instance or global", name);
    return MRNET_OK;
}

static mrnet_status json_int(const cJSON *root, const char *key, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v)
        return MRNET_OK;
    /* range first: converting an out-of-range double to int is undefined */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -1e9 && v->valuedouble <= 1e9) ||
        v->valuedouble != (double)(int)v->valuedouble)
        return mrnet_fail(MRNET_ERR_FORMAT, "configuration: '%s' is not an integer in range", key);
    *out = (int)v->valuedouble;
    return MRNET_OK;
}

mrnet_status mrnet_config_from_json(const char *json, mrnet_config *cfg)
{
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mrnet_fail(MRNET_ERR_FORMAT, "configuration is not a JSON object");
    }
    mrnet_status st = MRNET_OK;
    static const struct {
        const char *key;
        size_t offset;
    } fields[] = {
        {"in_dim", offsetof(mrnet_config, in_dim)},
        {"in_channels", offsetof(mrnet_config, in_channels)},
        {"n_layers", offsetof(mrnet_config, n_layers)},
        {"channels", offsetof(mrnet_config, channels)},
        {"embed", offsetof(mrnet_config, embed)},
        {"classes", offsetof(mrnet_config, classes)},
        {"scale", offsetof(mrnet_config, scale)},
        {"se_groups", offsetof(mrnet_config, se_groups)},
        {"input_norm", offsetof(mrnet_config, input_norm)},
        {"route_weights", offsetof(mrnet_config, route_weights)}, /* absent: as cfg holds */
    };
    for (size_t i = 0; st == MRNET_OK && i < sizeof fields / sizeof fields[0]; i++)
        st = json_int(root, fields[i].key, (int *)((char *)cfg + fields[i].offset));
    const cJSON *dil = cJSON_GetObjectItemCaseSensitive(root, "dilations");
    if (st == MRNET_OK && dil) {
        if (!cJSON_IsArray(dil) || cJSON_GetArraySize(dil) != MRNET_BLOCKS)
            st = mrnet_fail(MRNET_ERR_FORMAT, "configuration: 'dilations' must be 3 integers");
        for (int i = 0; st == MRNET_OK && i < MRNET_BLOCKS; i++) {
            const cJSON *v = cJSON_GetArrayItem(dil, i);
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 1024) ||
                v->valuedouble != (double)(int)v->valuedouble)
                st = mrnet_fail(MRNET_ERR_FORMAT,
                                "configuration: 'dilations' must be 3 integers in [1, 1024]");
            else
                cfg->dilations[i] = (int)v->valuedouble;
        }
    }
    cJSON_Delete(root);
    return st == MRNET_OK ? mrnet_config_validate(cfg) : st;
}
