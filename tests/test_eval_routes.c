/* Route analysis that measures: `mrnet eval --drop-route` equals evaluating
 * with mrnet_model_set_drop_routes and differs from the full model;
 * mrnet_route_importance_measure agrees with it route by route and leaves
 * the model as it was; `mrnet routes --importance` prints 7 rows per
 * checkpoint, JSON that parses and an SVG; bad input (unknown route, a
 * store without the selection). Also per-group (track) confusion.
 * Data: tones of three pitches (classes) in a feature store; two tiny
 * models trained for 3 epochs, one with route M3 switched off. */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mrnet/mrnet.h"

static char store_dir[512], ckpt[512], ckpt_ablated[512], ckpt_gate[512];

static void write_tone(const char *path, double hz, double seconds, int seed)
{
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    assert_non_null(f);
    int n = (int)(seconds * 16000);
    float *x = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++)
        x[i] = 0.3f * (float)sin(2 * M_PI * hz * i / 16000.0 + seed) +
               0.05f * (float)sin(2 * M_PI * (hz * 2.01) * i / 16000.0);
    assert_int_equal(sf_writef_float(f, x, n), n);
    sf_close(f);
    free(x);
}

/* 3 classes x 8 clips: 5 train, 1 valid, 2 test; clips 2g, 2g+1 are track g. */
static int make_store(void)
{
    static const char *const classes[3] = {"low", "mid", "high"};
    static const double hz[3] = {220, 440, 880};
    char csv[8192] = "path,label,split,group\n";
    for (int c = 0; c < 3; c++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s", test_path(classes[c]));
        mkdir(dir, 0777);
        for (int i = 0; i < 8; i++) {
            char path[700];
            snprintf(path, sizeof path, "%s/%d.wav", dir, i);
            write_tone(path, hz[c] * (1 + 0.03 * i), 1.5 + 0.25 * (i % 3), i);
            snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%s,%s,%s,%s%d\n", path, classes[c],
                     i < 5 ? "train" : i < 6 ? "valid" : "test", classes[c], i / 2);
        }
    }
    const char *manifest = test_path("manifest.csv");
    if (test_write_file(manifest, csv, strlen(csv)) != 0)
        return -1;
    snprintf(store_dir, sizeof store_dir, "%s", test_path("store"));
    return test_run_cli("extract '%s' -o '%s'", manifest, store_dir);
}

static int train(const char *out, unsigned drop, int route_weights, char *ckpt_path, size_t size)
{
    mrnet_train_options o;
    mrnet_train_options_default(&o);
    o.epochs = 3;
    o.batch = 5;
    o.channels = 16;
    o.embed = 8;
    o.crop_seconds = 1.0;
    o.seed = 7;
    o.drop_routes = drop;
    o.route_weights = route_weights;
    o.out_dir = out;
    mrnet_train_result r;
    if (mrnet_train(store_dir, &o, &r) != MRNET_OK) {
        fprintf(stderr, "train: %s\n", mrnet_last_error());
        return -1;
    }
    snprintf(ckpt_path, size, "%s/best.safetensors", out);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    if (make_store() != 0) {
        fprintf(stderr, "extract: %s\n", test_cli_output());
        return -1;
    }
    unsigned m3;
    if (mrnet_parse_routes("M3", &m3) != MRNET_OK)
        return -1;
    return train(test_path("run"), 0, MRNET_ROUTE_WEIGHTS_PAPER, ckpt, sizeof ckpt) ||
           train(test_path("ablated"), m3, MRNET_ROUTE_WEIGHTS_PAPER, ckpt_ablated, sizeof ckpt_ablated) ||
           train(test_path("gate"), m3, MRNET_ROUTE_WEIGHTS_AFTER_NORM, ckpt_gate, sizeof ckpt_gate);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = calloc(1, 1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* Per item of the default (test) selection: "source,predicted,%.6f". */
typedef struct {
    char rows[64][1024];
    int n;
    const mrnet_store *fs;
    const mrnet_model *m;
} item_rows;

static void collect(void *ctx, int entry, int truth, const float *probs)
{
    (void)truth;
    item_rows *r = ctx;
    int K = mrnet_model_config(r->m)->classes, k = mrnet_argmax(probs, K);
    snprintf(r->rows[r->n++], sizeof r->rows[0], "%s,%s,%.6f", mrnet_store_get(r->fs, entry)->source,
             mrnet_model_label(r->m, k), probs[k]);
}

/* The library's view of eval --drop-route: accuracy, and rows in CSV order. */
static double library_eval(unsigned extra_drop, item_rows *rows)
{
    mrnet_model *m;
    mrnet_store *fs;
    assert_int_equal(mrnet_model_load(ckpt, 0, &m), MRNET_OK);
    assert_int_equal(mrnet_store_open(store_dir, &fs), MRNET_OK);
    assert_int_equal(mrnet_model_set_drop_routes(m, extra_drop), MRNET_OK);
    double rate = mrnet_features_settings_frame_rate(mrnet_store_settings(fs));
    mrnet_infer_options io = {.view = MRNET_VIEW_WINDOWS, .crop = llround(6 * rate), .hop = llround(3 * rate),
                              .batch = 32};
    mrnet_confusion cm;
    assert_int_equal(mrnet_confusion_init(&cm, 3), MRNET_OK);
    int used, unknown;
    rows->n = 0;
    rows->fs = fs;
    rows->m = m;
    assert_string_equal(mrnet_default_eval_split(fs), "test");
    mrnet_selection sel = {"test", -1};
    assert_int_equal(mrnet_evaluate_store(m, fs, sel, &io, &cm, &used, &unknown, collect, rows), MRNET_OK);
    assert_int_equal(used, 6);
    mrnet_metrics r;
    assert_int_equal(mrnet_metrics_compute(&cm, &r), MRNET_OK);
    double acc = r.accuracy;
    mrnet_metrics_free(&r);
    mrnet_confusion_free(&cm);
    mrnet_store_close(fs);
    mrnet_model_free(m);
    return acc;
}

/* The CLI's rows (path,label,predicted,probability) as "path,predicted,p". */
static void cli_rows(const char *csv, item_rows *rows)
{
    char *text = slurp(csv), *save = NULL;
    rows->n = 0;
    char *line = strtok_r(text, "\n", &save); /* header */
    assert_string_equal(line, "path,label,predicted,probability");
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *a = strchr(line, ','), *b = a ? strchr(a + 1, ',') : NULL;
        assert_non_null(b);
        *a = '\0';
        snprintf(rows->rows[rows->n++], sizeof rows->rows[0], "%s,%s", line, b + 1);
    }
    free(text);
}

static void drop_route_eval(void **state)
{
    (void)state;
    const char *full_csv = test_path("full.csv"), *drop_csv = test_path("drop.csv"), *json = test_path("drop.json");
    assert_int_equal(test_run_cli("eval '%s' '%s' --predictions '%s'", ckpt, store_dir, full_csv), 0);
    int rc = test_run_cli("eval '%s' '%s' --drop-route l2,M1 --predictions '%s' --json '%s'", ckpt, store_dir,
                          drop_csv, json);
    if (rc != 0)
        fail_msg("eval --drop-route: %s", test_cli_output());
    assert_non_null(strstr(test_cli_output(), "routes zeroed: l2,M1"));
    item_rows *cli = calloc(1, sizeof *cli), *lib = calloc(1, sizeof *lib), *full = calloc(1, sizeof *full);
    cli_rows(drop_csv, cli);
    cli_rows(full_csv, full);
    unsigned mask;
    assert_int_equal(mrnet_parse_routes("L2,M1", &mask), MRNET_OK);
    double acc = library_eval(mask, lib);
    assert_int_equal(cli->n, 6);
    assert_int_equal(lib->n, 6);
    bool differs = false;
    for (int i = 0; i < 6; i++) {
        assert_string_equal(cli->rows[i], lib->rows[i]);
        differs = differs || strcmp(cli->rows[i], full->rows[i]) != 0;
    }
    assert_true(differs); /* the routes were zeroed: other probabilities */
    char *text = slurp(json);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_true(fabs(cJSON_GetObjectItem(j, "accuracy")->valuedouble - acc) < 1e-12);
    assert_string_equal(cJSON_GetObjectItem(j, "drop_routes")->valuestring, "l2,M1");
    cJSON_Delete(j);
    free(text);
    free(cli);
    free(lib);
    free(full);

    /* bad input: an unknown route, every route, a route on top of the ablation */
    assert_int_equal(test_run_cli("eval '%s' '%s' --drop-route L1,X9", ckpt, store_dir), 2);
    assert_non_null(strstr(test_cli_output(), "'X9'"));
    assert_int_equal(test_run_cli("eval '%s' '%s' --drop-route L1,L2,L3,H,M1,M2,M3", ckpt, store_dir), 2);
    assert_non_null(strstr(test_cli_output(), "every route"));
    assert_int_equal(test_run_cli("eval '%s' '%s' --drop-route L1,L2,L3,H,M1,M2", ckpt_ablated, store_dir), 1);
    assert_non_null(strstr(test_cli_output(), "every route"));
}

/* The checkpoint and the store opened, and the options of the importance
 * measurements below: the first second of each test clip. */
static void open_for_importance(const char *ckpt, mrnet_model **m, mrnet_store **fs,
                                mrnet_infer_options *io)
{
    assert_int_equal(mrnet_model_load(ckpt, 0, m), MRNET_OK);
    assert_int_equal(mrnet_store_open(store_dir, fs), MRNET_OK);
    double rate = mrnet_features_settings_frame_rate(mrnet_store_settings(*fs));
    *io = (mrnet_infer_options){.view = MRNET_VIEW_CROP, .crop = llround(1 * rate), .hop = 0, .batch = 8};
}

static void importance_measure(void **state)
{
    (void)state;
    mrnet_model *m;
    mrnet_store *fs;
    mrnet_infer_options io;
    open_for_importance(ckpt_ablated, &m, &fs, &io);
    mrnet_selection sel = {"test", -1};
    mrnet_route_importance r;
    assert_int_equal(mrnet_route_importance_measure(m, fs, sel, &io, &r), MRNET_OK);
    assert_int_equal(mrnet_model_drop_routes(m), 1u << 6); /* restored */
    assert_int_equal(r.trained_off, 1u << 6);
    assert_int_equal(r.used, 6);
    double share = 0;
    for (int j = 0; j < MRNET_ROUTES; j++) {
        share += r.fc6_share[j];
        assert_true(r.fc6_share[j] > 0);
        assert_true(r.w_all[j] == mrnet_model_route_weights(m)[j]);
    }
    assert_true(fabs(share - 1) < 1e-9);
    assert_int_equal(r.route_weights, MRNET_ROUTE_WEIGHTS_PAPER);
    assert_true(isnan(r.accuracy_drop[6]) && isnan(r.macro_f1_drop[6]));
    /* each drop is the full figure minus the figure with that route zeroed too */
    for (int j = 0; j < 6; j++) {
        assert_int_equal(mrnet_model_set_drop_routes(m, 1u << 6 | 1u << j), MRNET_OK);
        mrnet_confusion cm;
        assert_int_equal(mrnet_confusion_init(&cm, 3), MRNET_OK);
        int used, unknown;
        assert_int_equal(mrnet_evaluate_store(m, fs, sel, &io, &cm, &used, &unknown, NULL, NULL), MRNET_OK);
        mrnet_metrics x;
        assert_int_equal(mrnet_metrics_compute(&cm, &x), MRNET_OK);
        assert_true(fabs(r.accuracy - x.accuracy - r.accuracy_drop[j]) < 1e-12);
        assert_true(fabs(r.macro_f1 - x.macro_f1 - r.macro_f1_drop[j]) < 1e-12);
        mrnet_metrics_free(&x);
        mrnet_confusion_free(&cm);
    }
    assert_int_equal(mrnet_model_set_drop_routes(m, 1u << 6), MRNET_OK);
    /* a selection with nothing in it */
    sel.split = "nope";
    assert_int_equal(mrnet_route_importance_measure(m, fs, sel, &io, &r), MRNET_ERR_ARG);
    assert_int_equal(mrnet_model_drop_routes(m), 1u << 6);
    mrnet_store_close(fs);
    mrnet_model_free(m);
}

/* An after-norm model (M3 off in training) reports its gate beside the
 * drops: 0 for M3, the six live gates summing to 6. */
static void importance_after_norm(void **state)
{
    (void)state;
    mrnet_model *m;
    mrnet_store *fs;
    mrnet_infer_options io;
    open_for_importance(ckpt_gate, &m, &fs, &io);
    mrnet_route_importance r;
    assert_int_equal(mrnet_route_importance_measure(m, fs, (mrnet_selection){"test", -1}, &io, &r),
                     MRNET_OK);
    assert_int_equal(r.route_weights, MRNET_ROUTE_WEIGHTS_AFTER_NORM);
    double sum = 0;
    for (int j = 0; j < MRNET_ROUTES; j++)
        sum += r.w_all[j];
    assert_true(r.w_all[6] == 0);
    assert_true(fabs(sum - 6) < 1e-5);
    mrnet_store_close(fs);
    mrnet_model_free(m);
    int rc = test_run_cli("routes '%s' --importance '%s'", ckpt_gate, store_dir);
    if (rc != 0)
        fail_msg("routes --importance: %s", test_cli_output());
    const char *out = test_cli_output();
    assert_non_null(strstr(out, "placement after-norm"));
    assert_non_null(strstr(out, "     gate "));
    assert_non_null(strstr(out, "The gate scales each route after bn5"));
}

static void importance_cli(void **state)
{
    (void)state;
    const char *json = test_path("imp.json"), *svg = test_path("imp.svg");
    int rc = test_run_cli("routes '%s' '%s' --names full,noM3 --importance '%s' --json '%s' --svg '%s'", ckpt,
                          ckpt_ablated, store_dir, json, svg);
    if (rc != 0)
        fail_msg("routes --importance: %s", test_cli_output());
    const char *out = test_cli_output();
    assert_non_null(strstr(out, "(test, view windows)"));
    assert_non_null(strstr(out, "fc6 share"));
    assert_non_null(strstr(out, "rank correlation (Spearman) with the accuracy drop, full: w_all"));
    /* 7 rows per checkpoint */
    int rows[2] = {0};
    char *text = strdup(out), *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        for (int c = 0; c < 2; c++) {
            char route[8];
            const char *name = c ? "noM3" : "full";
            if (!strncmp(line, name, strlen(name)) && line[strlen(name)] == ' ' &&
                sscanf(line + strlen(name), " %7s", route) == 1) {
                unsigned mask;
                assert_int_equal(mrnet_parse_routes(route, &mask), MRNET_OK);
                rows[c]++;
            }
        }
    free(text);
    assert_int_equal(rows[0], 7);
    assert_int_equal(rows[1], 7);
    assert_non_null(strstr(out, "noM3             M3"));

    char *doc = slurp(json);
    cJSON *j = cJSON_Parse(doc);
    free(doc);
    assert_non_null(j);
    cJSON *list = cJSON_GetObjectItem(j, "checkpoints");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    assert_string_equal(cJSON_GetObjectItem(j, "selection")->valuestring, "test");
    for (int c = 0; c < 2; c++) {
        cJSON *e = cJSON_GetArrayItem(list, c);
        assert_string_equal(cJSON_GetObjectItem(e, "name")->valuestring, c ? "noM3" : "full");
        assert_int_equal(cJSON_GetObjectItem(e, "items")->valueint, 6);
        assert_string_equal(cJSON_GetObjectItem(e, "route_weights")->valuestring, "paper");
        cJSON *rho = cJSON_GetObjectItem(e, "spearman");
        assert_non_null(rho); /* a number, or null when a column is constant */
        const cJSON *r1 = cJSON_GetObjectItem(rho, "w_all_vs_accuracy_drop");
        assert_true(cJSON_IsNumber(r1) || cJSON_IsNull(r1));
        assert_true(!cJSON_IsNumber(r1) || fabs(r1->valuedouble) <= 1.0);
        cJSON *routes = cJSON_GetObjectItem(e, "routes");
        assert_int_equal(cJSON_GetArraySize(routes), 7);
        for (int k = 0; k < 7; k++) {
            cJSON *route = cJSON_GetArrayItem(routes, k);
            assert_string_equal(cJSON_GetObjectItem(route, "route")->valuestring, mrnet_route_name(k));
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(route, "fc6_share")));
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(route, "w_all")));
            bool off = c == 1 && k == 6;
            assert_true(off ? cJSON_IsNull(cJSON_GetObjectItem(route, "accuracy_drop"))
                            : cJSON_IsNumber(cJSON_GetObjectItem(route, "accuracy_drop")));
            assert_true(cJSON_IsTrue(cJSON_GetObjectItem(route, "trained_off")) == off);
        }
    }
    cJSON_Delete(j);
    char *picture = slurp(svg);
    assert_non_null(strstr(picture, "<svg"));
    assert_non_null(strstr(picture, "noM3: accuracy drop"));
    free(picture);

    /* bad input */
    assert_int_equal(test_run_cli("routes '%s' --importance '%s' --split nope", ckpt, store_dir), 1);
    assert_non_null(strstr(test_cli_output(), "no labelled entries"));
    assert_int_equal(test_run_cli("routes '%s' --importance '%s'", ckpt, test_path("no-store")), 1);
    assert_non_null(strstr(test_cli_output(), "no-store"));
    assert_int_equal(test_run_cli("routes '%s' --json '%s'", ckpt, json), 2);
    assert_int_equal(test_run_cli("routes '%s' --importance '%s' --view sideways", ckpt, store_dir), 2);
}

/* Tracks: the clips' scores averaged per group; ungrouped items left out. */
/* Spearman's rho: 1 for the same order, -1 for the reverse, mean ranks for
 * ties (x = 1 2 2 3 against y = 1 2 3 4 gives 0.9487), NAN when undefined. */
static void spearman(void **state)
{
    (void)state;
    const double a[5] = {0.1, 0.5, 0.3, 0.9, 0.7}, b[5] = {1, 5, 3, 9, 7}, c[5] = {9, 5, 7, 1, 3};
    assert_true(fabs(mrnet_spearman(a, b, 5) - 1.0) < 1e-12);
    assert_true(fabs(mrnet_spearman(a, c, 5) + 1.0) < 1e-12);
    const double t[4] = {1, 2, 2, 3}, u[4] = {1, 2, 3, 4};
    assert_true(fabs(mrnet_spearman(t, u, 4) - 0.9486832980505138) < 1e-12);
    const double k[4] = {2, 2, 2, 2};
    assert_true(isnan(mrnet_spearman(k, u, 4)));
    assert_true(isnan(mrnet_spearman(a, b, 2)));
}

static void group_confusion(void **state)
{
    (void)state;
    mrnet_store *fs;
    assert_int_equal(mrnet_store_open(store_dir, &fs), MRNET_OK);
    int entries[4], truth[4] = {0, 0, 1, 1}, found = 0;
    for (int i = 0; i < mrnet_store_count(fs) && found < 4; i++) {
        const mrnet_store_entry *e = mrnet_store_get(fs, i);
        if (!strcmp(e->group, "low0") || !strcmp(e->group, "mid0"))
            entries[found++] = i;
    }
    assert_int_equal(found, 4);
    /* sorted by store order: low0 then mid0 (both clips of each). low0's clips
     * disagree (0.6/0.4 and 0.3/0.7): the mean picks class 1; mid0's agree. */
    const float scores[4 * 2] = {0.6f, 0.4f, 0.3f, 0.7f, 0.2f, 0.8f, 0.4f, 0.6f};
    mrnet_confusion cm;
    assert_int_equal(mrnet_confusion_init(&cm, 2), MRNET_OK);
    int groups;
    assert_int_equal(mrnet_confusion_by_group(fs, entries, truth, scores, 4, 2, &cm, &groups), MRNET_OK);
    assert_int_equal(groups, 2);
    assert_int_equal(cm.counts[0 * 2 + 1], 1); /* low0: true 0, predicted 1 */
    assert_int_equal(cm.counts[1 * 2 + 1], 1); /* mid0: right */
    assert_int_equal(mrnet_confusion_total(&cm), 2);
    mrnet_confusion_free(&cm);
    assert_int_equal(mrnet_confusion_init(&cm, 3), MRNET_OK);
    assert_int_equal(mrnet_confusion_by_group(fs, entries, truth, scores, 4, 2, &cm, &groups), MRNET_ERR_ARG);
    mrnet_confusion_free(&cm);
    mrnet_store_close(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(drop_route_eval),
        cmocka_unit_test(importance_measure),
        cmocka_unit_test(importance_after_norm),
        cmocka_unit_test(importance_cli),
        cmocka_unit_test(group_confusion),
        cmocka_unit_test(spearman),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
