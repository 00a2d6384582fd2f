/* The RBF-SVM: the grid over (C, gamma) on the train and valid splits, the
 * kept model, and one-vs-one vote scores. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/baseline.h"
#include "tensor/error.h"

static void print_nothing(const char *s) { (void)s; }

void baseline_svm_quiet(void) { svm_set_print_string_function(print_nothing); }

void mrnet_baseline_options_default(mrnet_baseline_options *opt)
{
    *opt = (mrnet_baseline_options){.class_weights = true};
}

mrnet_status baseline_svm_rows(const double *x, int n, int f, struct svm_node **nodes, struct svm_node ***rows)
{
    *nodes = malloc((size_t)(n ? n : 1) * (size_t)(f + 1) * sizeof **nodes);
    *rows = malloc((size_t)(n ? n : 1) * sizeof **rows);
    if (!*nodes || !*rows) {
        free(*nodes);
        free(*rows);
        *nodes = NULL;
        *rows = NULL;
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d x %d features", n, f);
    }
    for (int i = 0; i < n; i++) {
        struct svm_node *r = *nodes + (size_t)i * (f + 1);
        for (int j = 0; j < f; j++)
            r[j] = (struct svm_node){j + 1, x[(size_t)i * f + j]}; /* libsvm counts from 1 */
        r[f] = (struct svm_node){-1, 0};
        (*rows)[i] = r;
    }
    return MRNET_OK;
}

void baseline_svm_scores(const mrnet_baseline *b, const struct svm_node *row, float *scores)
{
    int n = svm_get_nr_class(b->model), pairs = n * (n - 1) / 2;
    int label[64];
    double dec[64 * 63 / 2];
    int votes[64] = {0};
    svm_get_labels(b->model, label);
    svm_predict_values(b->model, row, dec);
    /* libsvm's rule: the pair (i, j), i < j in the model's label order, votes i when its value is > 0 */
    for (int i = 0, p = 0; i < n; i++)
        for (int j = i + 1; j < n; j++, p++)
            votes[dec[p] > 0 ? i : j]++;
    for (int k = 0; k < b->K; k++)
        scores[k] = 0;
    for (int i = 0; i < n; i++)
        scores[label[i]] = pairs > 0 ? (float)votes[i] / (float)pairs : 1;
}

/* ---- training ------------------------------------------------------------------ */

typedef struct {
    int n_train, n_valid, f;
    double *train_x, *valid_x;   /* standardised */
    int *train_y, *valid_y;
    struct svm_node *train_nodes, *valid_nodes;
    struct svm_node **train_rows, **valid_rows;
} split_data;

static void split_free(split_data *d)
{
    free(d->train_x);
    free(d->valid_x);
    free(d->train_y);
    free(d->valid_y);
    free(d->train_nodes);
    free(d->valid_nodes);
    free(d->train_rows);
    free(d->valid_rows);
}

/* Labelled train and valid entries, train sorted by class (so libsvm's
 * label order is the class order), shapes checked. */
static mrnet_status select_entries(mrnet_baseline *b, const mrnet_store *store, int **train, int *n_train,
                                   int **valid, int *n_valid)
{
    int n = mrnet_store_count(store);
    *train = malloc((size_t)(n ? n : 1) * sizeof(int));
    *valid = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!*train || !*valid)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    *n_train = *n_valid = 0;
    int labelled = 0;
    for (int k = 0; k < b->K; k++)
        for (int i = 0; i < n; i++) {
            const mrnet_store_entry *e = mrnet_store_get(store, i);
            if (e->label_index != k)
                continue;
            if (labelled++ == 0) {
                b->S = e->S;
                b->L = e->L;
                b->D = e->D;
            }
            if (!strcmp(e->split, "train"))
                (*train)[(*n_train)++] = i;
            else if (!strcmp(e->split, "valid"))
                (*valid)[(*n_valid)++] = i;
        }
    if (labelled == 0)
        return mrnet_fail(MRNET_ERR_ARG, "the store has no labelled entries: the baseline needs classes");
    if (*n_train == 0)
        return mrnet_fail(MRNET_ERR_ARG, "no labelled entries in the train split (set the split column, or "
                          "extract with --make-split 0.15,0.15)");
    if (*n_valid == 0)
        return mrnet_fail(MRNET_ERR_ARG, "no labelled entries in the valid split: C and gamma are chosen on "
                          "it (a valid column in the manifest, or extract with --make-split 0.15,0.15)");
    return MRNET_OK;
}

static mrnet_status prepare(mrnet_baseline *b, const mrnet_store *store, split_data *d)
{
    int *train = NULL, *valid = NULL;
    mrnet_status st = select_entries(b, store, &train, &d->n_train, &valid, &d->n_valid);
    b->n_features = d->f = 4 * b->S * b->L * b->D;
    b->n_train = d->n_train;
    b->n_valid = d->n_valid;
    if (st == MRNET_OK) {
        d->train_x = malloc((size_t)d->n_train * d->f * sizeof(double));
        d->valid_x = malloc((size_t)d->n_valid * d->f * sizeof(double));
        d->train_y = malloc((size_t)d->n_train * sizeof(int));
        d->valid_y = malloc((size_t)d->n_valid * sizeof(int));
        b->mean = malloc((size_t)d->f * sizeof(double));
        b->std = malloc((size_t)d->f * sizeof(double));
        b->class_weight = calloc((size_t)b->K, sizeof(double));
        if (!d->train_x || !d->valid_x || !d->train_y || !d->valid_y || !b->mean || !b->std || !b->class_weight)
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d clips' statistics", d->n_train + d->n_valid);
    }
    if (st == MRNET_OK)
        st = baseline_entry_features(store, train, d->n_train, b->S, b->L, b->D, NULL, NULL, d->train_x);
    if (st == MRNET_OK)
        st = baseline_entry_features(store, valid, d->n_valid, b->S, b->L, b->D, NULL, NULL, d->valid_x);
    if (st == MRNET_OK) {
        baseline_standardisation(d->train_x, d->n_train, d->f, b->mean, b->std);
        baseline_standardise(d->train_x, d->n_train, d->f, b->mean, b->std);
        baseline_standardise(d->valid_x, d->n_valid, d->f, b->mean, b->std);
        long largest = 0, *count = calloc((size_t)b->K, sizeof(long));
        if (!count)
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        for (int i = 0; count && i < d->n_train; i++)
            count[d->train_y[i] = mrnet_store_get(store, train[i])->label_index]++;
        for (int i = 0; count && i < d->n_valid; i++)
            d->valid_y[i] = mrnet_store_get(store, valid[i])->label_index;
        int present = 0;
        for (int k = 0; count && k < b->K; k++) {
            largest = count[k] > largest ? count[k] : largest;
            present += count[k] > 0;
        }
        for (int k = 0; count && k < b->K; k++)
            b->class_weight[k] = !count[k] ? 0 : b->class_weights ? (double)largest / count[k] : 1;
        free(count);
        if (st == MRNET_OK && present < 2)
            st = mrnet_fail(MRNET_ERR_ARG, "the train split holds %d class: the baseline needs 2 or more", present);
        if (st == MRNET_OK && b->K > 64)
            st = mrnet_fail(MRNET_ERR_UNSUPPORTED, "%d classes: the baseline takes at most 64", b->K);
    }
    if (st == MRNET_OK)
        st = baseline_svm_rows(d->train_x, d->n_train, d->f, &d->train_nodes, &d->train_rows);
    if (st == MRNET_OK)
        st = baseline_svm_rows(d->valid_x, d->n_valid, d->f, &d->valid_nodes, &d->valid_rows);
    free(train);
    free(valid);
    return st;
}

static struct svm_parameter svm_params(const mrnet_baseline *b, double C, double gamma, int *weight_label)
{
    for (int k = 0; k < b->K; k++)
        weight_label[k] = k;
    return (struct svm_parameter){.svm_type = C_SVC, .kernel_type = RBF, .gamma = gamma, .cache_size = 100,
                                  .eps = 1e-3, .C = C, .nr_weight = b->K, .weight_label = weight_label,
                                  .weight = b->class_weight, .shrinking = 1, .probability = 0};
}

static struct svm_model *fit(const mrnet_baseline *b, struct svm_problem *p, double C, double gamma,
                             mrnet_status *st)
{
    int weight_label[64];
    struct svm_parameter param = svm_params(b, C, gamma, weight_label);
    const char *bad = svm_check_parameter(p, &param);
    if (bad) {
        *st = mrnet_fail(MRNET_ERR_ARG, "libsvm: C %g, gamma %g: %s", C, gamma, bad);
        return NULL;
    }
    struct svm_model *m = svm_train(p, &param);
    if (!m)
        *st = mrnet_fail(MRNET_ERR_NOMEM, "libsvm: training failed (out of memory?)");
    return m;
}

/* Validation figures of one grid point. */
static mrnet_status score_point(mrnet_baseline *b, const split_data *d, mrnet_baseline_fit *point)
{
    struct svm_problem p = {d->n_train, NULL, d->train_rows};
    double *y = malloc((size_t)d->n_train * sizeof(double));
    float *scores = malloc((size_t)b->K * sizeof(float));
    mrnet_confusion cm = {0};
    mrnet_status st = y && scores ? mrnet_confusion_init(&cm, b->K) : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; st == MRNET_OK && i < d->n_train; i++)
        y[i] = d->train_y[i];
    p.y = y;
    mrnet_baseline local = *b; /* the same baseline with this point's model */
    local.model = st == MRNET_OK ? fit(b, &p, point->C, point->gamma, &st) : NULL;
    for (int i = 0; st == MRNET_OK && i < d->n_valid; i++) {
        baseline_svm_scores(&local, d->valid_rows[i], scores);
        st = mrnet_confusion_add(&cm, d->valid_y[i], mrnet_argmax(scores, b->K));
    }
    mrnet_metrics r;
    if (st == MRNET_OK && (st = mrnet_metrics_compute(&cm, &r)) == MRNET_OK) {
        point->valid_accuracy = r.accuracy;
        point->valid_macro_f1 = r.macro_f1;
        point->support_vectors = svm_get_nr_sv(local.model);
        mrnet_metrics_free(&r);
    }
    if (local.model)
        svm_free_and_destroy_model(&local.model);
    mrnet_confusion_free(&cm);
    free(y);
    free(scores);
    return st;
}

static bool better(const mrnet_baseline *b, const mrnet_baseline_fit *x, const mrnet_baseline_fit *best)
{
    double a1 = b->select_accuracy ? x->valid_accuracy : x->valid_macro_f1;
    double a2 = b->select_accuracy ? best->valid_accuracy : best->valid_macro_f1;
    if (a1 != a2)
        return a1 > a2;
    double o1 = b->select_accuracy ? x->valid_macro_f1 : x->valid_accuracy;
    double o2 = b->select_accuracy ? best->valid_macro_f1 : best->valid_accuracy;
    return o1 > o2; /* equal: the earlier point, i.e. the smaller C, then gamma */
}

static mrnet_status make_grid(mrnet_baseline *b, const mrnet_baseline_options *o)
{
    static const double c_default[] = {0.5, 2, 8, 32, 128, 512};
    static const double g_default[] = {1.0 / 64, 1.0 / 16, 1.0 / 4, 1, 4};
    const double *cv = o->c_values ? o->c_values : c_default;
    int nc = o->c_values ? o->n_c : 6, ng = o->gamma_values ? o->n_gamma : 5;
    if (nc < 1 || ng < 1)
        return mrnet_fail(MRNET_ERR_ARG, "an empty grid (%d values of C, %d of gamma)", nc, ng);
    b->grid = calloc((size_t)nc * ng, sizeof *b->grid);
    if (!b->grid)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < ng; j++) {
            double g = o->gamma_values ? o->gamma_values[j] : g_default[j] / b->n_features;
            if (!(cv[i] > 0 && isfinite(cv[i])) || !(g > 0 && isfinite(g)))
                return mrnet_fail(MRNET_ERR_ARG, "C %g and gamma %g must be positive", cv[i], g);
            b->grid[b->n_grid++] = (mrnet_baseline_fit){.C = cv[i], .gamma = g};
        }
    return MRNET_OK;
}

static mrnet_status run_grid(mrnet_baseline *b, const split_data *d, const mrnet_baseline_options *o)
{
    mrnet_status first = MRNET_OK;
    char message[1024] = "";
    int done = 0;
    /* the points are independent, each the same on any thread */
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < b->n_grid; i++) {
        mrnet_status st = score_point(b, d, &b->grid[i]);
#pragma omp critical
        {
            if (st != MRNET_OK && first == MRNET_OK) {
                first = st;
                snprintf(message, sizeof message, "%s", mrnet_last_error());
            }
            done++;
            if (st == MRNET_OK && first == MRNET_OK && o->progress)
                o->progress(o->progress_ctx, &b->grid[i], done, b->n_grid);
        }
    }
    if (first != MRNET_OK)
        return mrnet_fail(first, "%s", message);
    int best = 0;
    for (int i = 1; i < b->n_grid; i++)
        if (better(b, &b->grid[i], &b->grid[best]))
            best = i;
    b->chosen = b->grid[best];
    return MRNET_OK;
}

/* The kept model: trained on train (or train + valid) with the chosen point;
 * it points into its rows, which the baseline then owns. Rows are sorted by
 * class (stable), so libsvm's label order is the class order and its vote
 * ties go to the lower class, as mrnet_argmax's do. */
static mrnet_status final_model(mrnet_baseline *b, split_data *d)
{
    int n = d->n_train + (b->refit ? d->n_valid : 0), f = d->f;
    double *x = malloc((size_t)n * f * sizeof(double));
    b->y = malloc((size_t)n * sizeof(double));
    if (!x || !b->y) {
        free(x);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    int m = 0;
    for (int k = 0; k < b->K; k++)
        for (int i = 0; i < n; i++) {
            bool in_train = i < d->n_train;
            int y = in_train ? d->train_y[i] : d->valid_y[i - d->n_train];
            if (y != k)
                continue;
            const double *src = in_train ? d->train_x + (size_t)i * f : d->valid_x + (size_t)(i - d->n_train) * f;
            memcpy(x + (size_t)m * f, src, (size_t)f * sizeof(double));
            b->y[m++] = k;
        }
    mrnet_status st = baseline_svm_rows(x, n, f, &b->nodes, &b->rows);
    free(x);
    if (st == MRNET_OK) {
        struct svm_problem p = {n, b->y, b->rows};
        b->model = fit(b, &p, b->chosen.C, b->chosen.gamma, &st);
    }
    return st;
}

mrnet_status mrnet_baseline_train(const mrnet_store *store, const mrnet_baseline_options *opt,
                                  mrnet_baseline **out)
{
    *out = NULL;
    mrnet_baseline_options defaults;
    mrnet_baseline_options_default(&defaults);
    const mrnet_baseline_options *o = opt ? opt : &defaults;
    mrnet_baseline *b = calloc(1, sizeof *b);
    if (!b)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    b->select_accuracy = o->select_accuracy;
    b->refit = o->refit_train_valid;
    b->class_weights = o->class_weights;
    char *const *labels = mrnet_store_labels(store, &b->K);
    b->labels = calloc((size_t)(b->K ? b->K : 1), sizeof(char *));
    b->settings = strdup(mrnet_store_settings(store) ? mrnet_store_settings(store) : "");
    mrnet_status st = b->labels && b->settings ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    for (int k = 0; st == MRNET_OK && k < b->K; k++)
        if (!(b->labels[k] = strdup(labels[k])))
            st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    split_data d = {0};
    baseline_svm_quiet();
    if (st == MRNET_OK)
        st = prepare(b, store, &d);
    if (st == MRNET_OK)
        st = make_grid(b, o);
    if (st == MRNET_OK)
        st = run_grid(b, &d, o);
    if (st == MRNET_OK)
        st = final_model(b, &d);
    split_free(&d);
    if (st != MRNET_OK) {
        mrnet_baseline_free(b);
        return st;
    }
    *out = b;
    return MRNET_OK;
}

void mrnet_baseline_free(mrnet_baseline *b)
{
    if (!b)
        return;
    if (b->model)
        svm_free_and_destroy_model(&b->model);
    for (int k = 0; b->labels && k < b->K; k++)
        free(b->labels[k]);
    free(b->labels);
    free(b->settings);
    free(b->mean);
    free(b->std);
    free(b->class_weight);
    free(b->grid);
    free(b->nodes);
    free(b->rows);
    free(b->y);
    free(b);
}

/* ---- accessors and prediction ------------------------------------------------- */

int mrnet_baseline_classes(const mrnet_baseline *b) { return b->K; }
const char *mrnet_baseline_label(const mrnet_baseline *b, int k) { return k >= 0 && k < b->K ? b->labels[k] : NULL; }
mrnet_baseline_fit mrnet_baseline_chosen(const mrnet_baseline *b) { return b->chosen; }
int mrnet_baseline_grid(const mrnet_baseline *b, const mrnet_baseline_fit **fits)
{
    *fits = b->grid;
    return b->n_grid;
}
int mrnet_baseline_feature_count(const mrnet_baseline *b) { return b->n_features; }
const char *mrnet_baseline_settings(const mrnet_baseline *b) { return b->settings; }
void mrnet_baseline_sizes(const mrnet_baseline *b, int *n_train, int *n_valid)
{
    *n_train = b->n_train;
    *n_valid = b->n_valid;
}
bool mrnet_baseline_refit(const mrnet_baseline *b) { return b->refit; }
bool mrnet_baseline_selects_accuracy(const mrnet_baseline *b) { return b->select_accuracy; }

mrnet_status mrnet_baseline_predict(const mrnet_baseline *b, const float *features, int64_t T, float *scores)
{
    if (T < 1)
        return mrnet_fail(MRNET_ERR_SHAPE, "baseline: a clip of %lld frames", (long long)T);
    int f = b->n_features;
    double *x = malloc((size_t)f * sizeof *x);
    struct svm_node *row = malloc((size_t)(f + 1) * sizeof *row);
    if (!x || !row) {
        free(x);
        free(row);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    mrnet_baseline_clip_statistics(features, b->S * b->L * b->D, T, x);
    baseline_standardise(x, 1, f, b->mean, b->std);
    mrnet_status st = MRNET_OK;
    for (int j = 0; j < f && st == MRNET_OK; j++) {
        if (!isfinite(x[j]))
            st = mrnet_fail(MRNET_ERR_NUMERIC, "baseline: a clip statistic is not finite");
        row[j] = (struct svm_node){j + 1, x[j]};
    }
    row[f] = (struct svm_node){-1, 0};
    if (st == MRNET_OK)
        baseline_svm_scores(b, row, scores);
    free(x);
    free(row);
    return st;
}
