/* Saving and loading a baseline: libsvm's model file and a JSON file with
 * everything else (format in mrnet/baseline.h). The JSON records the model
 * file's checksum, so a pair torn by a crash between the two writes, or a
 * model file from another run, is refused rather than used. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline/baseline.h"
#include "data/datautil.h"
#include "eval/metrics.h"
#include "tensor/error.h"
#include "tensor/fileio.h"

static uint64_t fnv1a(const char *data, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)data[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static char *join(const char *dir, const char *name)
{
    char *p = mrnet_path_join(dir, name);
    if (!p)
        mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    return p;
}

/* libsvm writes its file itself (no atomic write): it goes to a temporary
 * name, is read back, and written atomically; *checksum is of its bytes. */
static mrnet_status save_model_file(const mrnet_baseline *b, const char *path, uint64_t *checksum)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.svm.%ld", path, (long)getpid());
    if (svm_save_model(tmp, b->model) != 0) {
        unlink(tmp);
        return mrnet_fail(MRNET_ERR_IO, "%s: libsvm could not write its model", tmp);
    }
    char *text = NULL;
    size_t size = 0;
    mrnet_status st = read_whole_file(tmp, (size_t)1 << 34, &text, &size);
    unlink(tmp);
    mrnet_atomic_file af;
    if (st == MRNET_OK && (st = mrnet_atomic_open(&af, path)) == MRNET_OK) {
        mrnet_atomic_write(&af, text, size);
        st = mrnet_atomic_commit(&af);
    }
    if (st == MRNET_OK)
        *checksum = fnv1a(text, size);
    free(text);
    return st;
}

static bool add_array(cJSON *o, const char *key, const double *x, int n)
{
    cJSON *a = cJSON_CreateDoubleArray(x, n);
    return a && cJSON_AddItemToObject(o, key, a);
}

static cJSON *grid_json(const mrnet_baseline *b)
{
    cJSON *grid = cJSON_CreateArray();
    for (int i = 0; grid && i < b->n_grid; i++) {
        const mrnet_baseline_fit *g = &b->grid[i];
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(grid, e) || !cJSON_AddNumberToObject(e, "C", g->C) ||
            !cJSON_AddNumberToObject(e, "gamma", g->gamma) ||
            !cJSON_AddNumberToObject(e, "valid_accuracy", g->valid_accuracy) ||
            !cJSON_AddNumberToObject(e, "valid_macro_f1", g->valid_macro_f1) ||
            !cJSON_AddNumberToObject(e, "support_vectors", g->support_vectors)) {
            cJSON_Delete(grid);
            return NULL;
        }
    }
    return grid;
}

static cJSON *baseline_json(const mrnet_baseline *b, uint64_t checksum)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, checksum);
    cJSON *o = cJSON_CreateObject();
    cJSON *labels = cJSON_CreateStringArray((const char *const *)b->labels, b->K);
    cJSON *stats = cJSON_CreateArray();
    static const char *const names[4] = {"mean", "std", "delta_mean", "delta_std"};
    for (int i = 0; stats && i < 4; i++)
        cJSON_AddItemToArray(stats, cJSON_CreateString(names[i]));
    cJSON *grid = grid_json(b);
    bool ok = o && labels && stats && grid && cJSON_AddStringToObject(o, "format", BASELINE_FORMAT) &&
              cJSON_AddNumberToObject(o, "version", BASELINE_VERSION) &&
              cJSON_AddStringToObject(o, "model", BASELINE_MODEL_FILE) &&
              cJSON_AddStringToObject(o, "model_checksum", hex) &&
              cJSON_AddStringToObject(o, "kernel", "rbf") && cJSON_AddNumberToObject(o, "C", b->chosen.C) &&
              cJSON_AddNumberToObject(o, "gamma", b->chosen.gamma) &&
              cJSON_AddStringToObject(o, "selected_by", b->select_accuracy ? "valid_accuracy" : "valid_macro_f1") &&
              cJSON_AddNumberToObject(o, "valid_accuracy", b->chosen.valid_accuracy) &&
              cJSON_AddNumberToObject(o, "valid_macro_f1", b->chosen.valid_macro_f1) &&
              cJSON_AddStringToObject(o, "trained_on", b->refit ? "train+valid" : "train") &&
              cJSON_AddNumberToObject(o, "n_train", b->n_train) && cJSON_AddNumberToObject(o, "n_valid", b->n_valid) &&
              cJSON_AddBoolToObject(o, "class_weights", b->class_weights) &&
              add_array(o, "class_weight", b->class_weight, b->K) && cJSON_AddItemToObject(o, "labels", labels) &&
              cJSON_AddStringToObject(o, "settings", b->settings) && cJSON_AddNumberToObject(o, "S", b->S) &&
              cJSON_AddNumberToObject(o, "L", b->L) && cJSON_AddNumberToObject(o, "D", b->D) &&
              cJSON_AddItemToObject(o, "statistics", stats) &&
              cJSON_AddNumberToObject(o, "features", b->n_features) &&
              add_array(o, "mean", b->mean, b->n_features) && add_array(o, "std", b->std, b->n_features) &&
              cJSON_AddItemToObject(o, "grid", grid);
    if (!ok) {
        if (!cJSON_GetObjectItem(o, "labels"))
            cJSON_Delete(labels);
        if (!cJSON_GetObjectItem(o, "statistics"))
            cJSON_Delete(stats);
        if (!cJSON_GetObjectItem(o, "grid"))
            cJSON_Delete(grid);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

mrnet_status mrnet_baseline_save(const mrnet_baseline *b, const char *dir)
{
    MRNET_TRY(mrnet_make_dirs(dir));
    char *model_path = join(dir, BASELINE_MODEL_FILE), *json_path = join(dir, BASELINE_JSON_FILE);
    mrnet_status st = model_path && json_path ? MRNET_OK : MRNET_ERR_NOMEM;
    uint64_t checksum = 0;
    if (st == MRNET_OK)
        st = save_model_file(b, model_path, &checksum);
    cJSON *j = st == MRNET_OK ? baseline_json(b, checksum) : NULL;
    if (st == MRNET_OK && !j)
        st = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory building the JSON", json_path);
    if (st == MRNET_OK)
        st = metrics_write_json(json_path, j);
    cJSON_Delete(j);
    free(model_path);
    free(json_path);
    return st;
}

/* ---- loading ---------------------------------------------------------------------- */

static double number(const cJSON *o, const char *key, bool *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *ok = *ok && cJSON_IsNumber(v) && isfinite(v->valuedouble);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *string(const cJSON *o, const char *key, bool *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *ok = *ok && cJSON_IsString(v);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* n doubles of an array into a new buffer; NULL (ok false) otherwise. */
static double *numbers(const cJSON *o, const char *key, int n, bool *ok)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    double *x = NULL;
    if (*ok && cJSON_IsArray(a) && cJSON_GetArraySize(a) == n && n > 0 && (x = malloc((size_t)n * sizeof *x)))
        for (int i = 0; i < n; i++) {
            const cJSON *v = cJSON_GetArrayItem(a, i);
            *ok = *ok && cJSON_IsNumber(v) && isfinite(v->valuedouble);
            x[i] = cJSON_IsNumber(v) ? v->valuedouble : 0;
        }
    *ok = *ok && x;
    return x;
}

static mrnet_status read_fields(mrnet_baseline *b, const cJSON *j, const char *path, char *checksum, size_t size)
{
    bool ok = true;
    const char *format = string(j, "format", &ok);
    if (!ok || strcmp(format, BASELINE_FORMAT))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: not a baseline (format is not \"%s\")", path, BASELINE_FORMAT);
    double version = number(j, "version", &ok);
    if (ok && version > BASELINE_VERSION)
        return mrnet_fail(MRNET_ERR_UNSUPPORTED, "%s: format version %g, this build reads up to %d", path, version,
                          BASELINE_VERSION);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(j, "labels");
    b->K = cJSON_IsArray(labels) ? cJSON_GetArraySize(labels) : 0;
    if (b->K < 2 || b->K > 64)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: \"labels\" must list 2 to 64 classes", path);
    if (!(b->labels = calloc((size_t)b->K, sizeof(char *))))
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int k = 0; k < b->K; k++) {
        const cJSON *v = cJSON_GetArrayItem(labels, k);
        if (!cJSON_IsString(v))
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: label %d is not a string", path, k);
        if (!(b->labels[k] = strdup(v->valuestring)))
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    b->settings = strdup(string(j, "settings", &ok));
    snprintf(checksum, size, "%s", string(j, "model_checksum", &ok));
    b->S = (int)number(j, "S", &ok);
    b->L = (int)number(j, "L", &ok);
    b->D = (int)number(j, "D", &ok);
    b->chosen.C = number(j, "C", &ok);
    b->chosen.gamma = number(j, "gamma", &ok);
    b->chosen.valid_accuracy = number(j, "valid_accuracy", &ok);
    b->chosen.valid_macro_f1 = number(j, "valid_macro_f1", &ok);
    b->n_train = (int)number(j, "n_train", &ok);
    b->n_valid = (int)number(j, "n_valid", &ok);
    b->select_accuracy = !strcmp(string(j, "selected_by", &ok), "valid_accuracy");
    b->refit = !strcmp(string(j, "trained_on", &ok), "train+valid");
    b->class_weights = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "class_weights"));
    if (!ok || !b->settings || b->S < 1 || b->L < 1 || b->D < 1 || (double)b->S * b->L * b->D > 1e6)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: a field is missing or bad (settings, S, L, D, C, gamma, ...)", path);
    b->n_features = 4 * b->S * b->L * b->D;
    if ((int)number(j, "features", &ok) != b->n_features || !ok)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: \"features\" is not 4 S L D = %d", path, b->n_features);
    b->mean = numbers(j, "mean", b->n_features, &ok);
    b->std = numbers(j, "std", b->n_features, &ok);
    b->class_weight = numbers(j, "class_weight", b->K, &ok);
    for (int i = 0; ok && i < b->n_features; i++)
        ok = b->std[i] > 0;
    if (!ok)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: \"mean\", \"std\" (positive) or \"class_weight\" is missing, "
                          "of the wrong length or not finite", path);
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(j, "grid"), *g;
    b->n_grid = cJSON_IsArray(grid) ? cJSON_GetArraySize(grid) : 0;
    b->grid = calloc((size_t)(b->n_grid ? b->n_grid : 1), sizeof *b->grid);
    if (!b->grid)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    int i = 0;
    cJSON_ArrayForEach(g, grid) {
        b->grid[i++] = (mrnet_baseline_fit){number(g, "C", &ok), number(g, "gamma", &ok),
                                            number(g, "valid_accuracy", &ok), number(g, "valid_macro_f1", &ok),
                                            (int)number(g, "support_vectors", &ok)};
    }
    if (!ok)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: a bad \"grid\" entry", path);
    return MRNET_OK;
}

/* The model must be the RBF C-SVC the JSON describes: classes in range,
 * feature indices within the statistics. */
static mrnet_status check_model(const mrnet_baseline *b, const char *path)
{
    const struct svm_model *m = b->model;
    int n = svm_get_nr_class(m), label[64];
    if (svm_get_svm_type(m) != C_SVC || m->param.kernel_type != RBF || n < 2 || n > b->K)
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: not an RBF C-SVC of 2 to %d classes", path, b->K);
    svm_get_labels(m, label);
    for (int i = 0; i < n; i++)
        if (label[i] < 0 || label[i] >= b->K)
            return mrnet_fail(MRNET_ERR_FORMAT, "%s: class label %d outside 0..%d", path, label[i], b->K - 1);
    for (int s = 0; s < m->l; s++)
        for (const struct svm_node *x = m->SV[s]; x->index != -1; x++)
            if (x->index < 1 || x->index > b->n_features)
                return mrnet_fail(MRNET_ERR_FORMAT, "%s: support vector %d reads feature %d of %d", path, s + 1,
                                  x->index, b->n_features);
    return MRNET_OK;
}

static mrnet_status load_model(mrnet_baseline *b, const char *path, const char *checksum)
{
    char *text = NULL;
    size_t size = 0;
    if (!mrnet_path_is_file(path))
        return mrnet_fail(MRNET_ERR_IO, "%s: no such file (the baseline's libsvm model)", path);
    MRNET_TRY(read_whole_file(path, (size_t)1 << 34, &text, &size));
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, fnv1a(text, size));
    free(text);
    if (strcmp(hex, checksum))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: not the model %s describes (checksum %s, recorded %s)", path,
                          BASELINE_JSON_FILE, hex, checksum);
    if (!(b->model = svm_load_model(path)))
        return mrnet_fail(MRNET_ERR_FORMAT, "%s: libsvm cannot read it", path);
    return check_model(b, path);
}

mrnet_status mrnet_baseline_load(const char *dir, mrnet_baseline **out)
{
    *out = NULL;
    char *json_path = join(dir, BASELINE_JSON_FILE), *model_path = join(dir, BASELINE_MODEL_FILE);
    mrnet_baseline *b = calloc(1, sizeof *b);
    char *text = NULL, checksum[64] = "";
    size_t size = 0;
    mrnet_status st = json_path && model_path && b ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (st == MRNET_OK && !mrnet_path_is_file(json_path))
        st = mrnet_fail(MRNET_ERR_IO, "%s: no such file (is %s a folder written by mrnet baseline?)", json_path, dir);
    if (st == MRNET_OK)
        st = read_whole_file(json_path, (size_t)1 << 30, &text, &size);
    cJSON *j = st == MRNET_OK ? cJSON_ParseWithLength(text, size) : NULL;
    if (st == MRNET_OK && !cJSON_IsObject(j))
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s: not a JSON object", json_path);
    if (st == MRNET_OK)
        st = read_fields(b, j, json_path, checksum, sizeof checksum);
    if (st == MRNET_OK)
        st = load_model(b, model_path, checksum);
    cJSON_Delete(j);
    free(text);
    free(json_path);
    free(model_path);
    if (st != MRNET_OK) {
        mrnet_baseline_free(b);
        return st;
    }
    *out = b;
    return MRNET_OK;
}
