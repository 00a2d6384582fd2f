/* Metrics against values worked out by hand. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"

/* rows = true, columns = predicted
 *
 *            A  B  C   support
 *      A     5  1  0   6
 *      B     2  3  1   6
 *      C     0  0  4   4
 *   predicted 7  4  5   total 16, trace 12 -> accuracy 0.75
 *
 * precision: A 5/7, B 3/4, C 4/5
 * recall:    A 5/6, B 3/6, C 4/4
 * F1 = 2TP / (2TP + FP + FN): A 10/13, B 6/10, C 8/9
 * macro-F1 = (10/13 + 6/10 + 8/9) / 3 = 0.752706552706...
 * macro-precision = (5/7 + 3/4 + 4/5) / 3, macro-recall = (5/6 + 1/2 + 1) / 3 */
static void fill_abc(mrnet_confusion *cm)
{
    static const int m[3][3] = {{5, 1, 0}, {2, 3, 1}, {0, 0, 4}};
    for (int t = 0; t < 3; t++)
        for (int p = 0; p < 3; p++)
            for (int n = 0; n < m[t][p]; n++)
                assert_int_equal(mrnet_confusion_add(cm, t, p), MRNET_OK);
}

static void test_three_classes(void **state)
{
    (void)state;
    mrnet_confusion cm;
    assert_int_equal(mrnet_confusion_init(&cm, 3), MRNET_OK);
    fill_abc(&cm);
    assert_int_equal(mrnet_confusion_total(&cm), 16);
    assert_int_equal(cm.counts[1 * 3 + 0], 2); /* true B predicted A */
    mrnet_metrics r;
    assert_int_equal(mrnet_metrics_compute(&cm, &r), MRNET_OK);
    assert_float_equal(r.accuracy, 0.75, 1e-12);
    assert_float_equal(r.precision[0], 5.0 / 7, 1e-12);
    assert_float_equal(r.precision[1], 0.75, 1e-12);
    assert_float_equal(r.precision[2], 0.8, 1e-12);
    assert_float_equal(r.recall[0], 5.0 / 6, 1e-12);
    assert_float_equal(r.recall[1], 0.5, 1e-12);
    assert_float_equal(r.recall[2], 1.0, 1e-12);
    assert_float_equal(r.f1[0], 10.0 / 13, 1e-12);
    assert_float_equal(r.f1[1], 0.6, 1e-12);
    assert_float_equal(r.f1[2], 8.0 / 9, 1e-12);
    assert_float_equal(r.macro_f1, 0.752706552706553, 1e-12);
    assert_float_equal(r.macro_f1_all, r.macro_f1, 1e-15);
    assert_float_equal(r.macro_precision, (5.0 / 7 + 0.75 + 0.8) / 3, 1e-12);
    assert_float_equal(r.macro_recall, (5.0 / 6 + 0.5 + 1.0) / 3, 1e-12);
    assert_int_equal(r.support[0], 6);
    assert_int_equal(r.support[2], 4);
    assert_int_equal(r.predicted[0], 7);
    assert_int_equal(r.total, 16);
    mrnet_metrics_free(&r);

    assert_int_equal(mrnet_confusion_add(&cm, 3, 0), MRNET_ERR_ARG);
    assert_int_equal(mrnet_confusion_add(&cm, 0, -1), MRNET_ERR_ARG);
    mrnet_confusion_reset(&cm);
    assert_int_equal(mrnet_confusion_total(&cm), 0);
    assert_int_equal(mrnet_metrics_compute(&cm, &r), MRNET_OK); /* empty: all zero */
    assert_float_equal(r.accuracy, 0, 0);
    assert_float_equal(r.macro_f1, 0, 0);
    mrnet_metrics_free(&r);
    mrnet_confusion_free(&cm);
}

/* 0/0 is 0, and absent classes do not count in the macro average. */
static void test_zero_division(void **state)
{
    (void)state;
    mrnet_confusion cm;
    assert_int_equal(mrnet_confusion_init(&cm, 4), MRNET_OK);
    fill_abc(&cm); /* class D (3) never occurs */
    mrnet_metrics r;
    assert_int_equal(mrnet_metrics_compute(&cm, &r), MRNET_OK);
    assert_float_equal(r.precision[3], 0, 0);
    assert_float_equal(r.recall[3], 0, 0);
    assert_float_equal(r.f1[3], 0, 0);
    assert_float_equal(r.macro_f1, 0.752706552706553, 1e-12);
    assert_float_equal(r.macro_f1_all, (10.0 / 13 + 0.6 + 8.0 / 9) / 4, 1e-12);
    mrnet_metrics_free(&r);

    /* One more example, true C predicted D. D: precision 0/1, recall 0/0 ->
     * 0, F1 0, and D now counts in the macro average (it was predicted).
     * C: TP 4, FP 1 (a B), FN 1 (the D): precision 4/5, recall 4/5, F1 8/10.
     * macro-F1 = (10/13 + 6/10 + 8/10 + 0) / 4. */
    assert_int_equal(mrnet_confusion_add(&cm, 2, 3), MRNET_OK);
    assert_int_equal(mrnet_metrics_compute(&cm, &r), MRNET_OK);
    assert_float_equal(r.precision[2], 0.8, 1e-12);
    assert_float_equal(r.recall[2], 0.8, 1e-12);
    assert_float_equal(r.f1[2], 0.8, 1e-12);
    assert_float_equal(r.precision[3], 0, 0);
    assert_float_equal(r.f1[3], 0, 0);
    assert_float_equal(r.macro_f1, (10.0 / 13 + 0.6 + 0.8) / 4, 1e-12);
    mrnet_metrics_free(&r);

    mrnet_confusion other;
    assert_int_equal(mrnet_confusion_init(&other, 4), MRNET_OK);
    assert_int_equal(mrnet_confusion_add(&other, 3, 3), MRNET_OK);
    assert_int_equal(mrnet_confusion_merge(&cm, &other), MRNET_OK);
    assert_int_equal(mrnet_confusion_total(&cm), 18);
    mrnet_confusion_free(&other);
    assert_int_equal(mrnet_confusion_init(&other, 2), MRNET_OK);
    assert_int_equal(mrnet_confusion_merge(&cm, &other), MRNET_ERR_ARG);
    mrnet_confusion_free(&other);
    mrnet_confusion_free(&cm);
    assert_int_equal(mrnet_confusion_init(&cm, 0), MRNET_ERR_ARG);
}

static void test_mean_std(void **state)
{
    (void)state;
    double x[] = {0.9, 0.95, 1.0}, mean, std;
    mrnet_mean_std(x, 3, &mean, &std);
    assert_float_equal(mean, 0.95, 1e-12);
    assert_float_equal(std, 0.05, 1e-12); /* sqrt((0.0025 + 0 + 0.0025) / 2) */
    mrnet_mean_std(x, 1, &mean, &std);
    assert_float_equal(mean, 0.9, 1e-12);
    assert_float_equal(std, 0, 0);
    mrnet_mean_std(x, 0, &mean, &std);
    assert_float_equal(mean, 0, 0);
}

static void test_json(void **state)
{
    (void)state;
    mrnet_confusion cm;
    assert_int_equal(mrnet_confusion_init(&cm, 3), MRNET_OK);
    fill_abc(&cm);
    mrnet_metrics r;
    assert_int_equal(mrnet_metrics_compute(&cm, &r), MRNET_OK);
    char *names[] = {"blues", "rock \"n\" roll", "jazz"};
    cJSON *j = metrics_report_json(&r, &cm, names);
    assert_non_null(j);
    const char *path = test_path("metrics.json");
    assert_int_equal(metrics_write_json(path, j), MRNET_OK);
    cJSON_Delete(j);

    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char text[8192] = {0};
    assert_true(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    assert_int_equal(text[strlen(text) - 1], '\n');
    cJSON *back = cJSON_Parse(text);
    assert_non_null(back);
    assert_float_equal(cJSON_GetObjectItem(back, "accuracy")->valuedouble, 0.75, 1e-12);
    assert_float_equal(cJSON_GetObjectItem(back, "macro_f1")->valuedouble, 0.752706552706553,
                       1e-12);
    assert_int_equal(cJSON_GetObjectItem(back, "total")->valueint, 16);
    cJSON *classes = cJSON_GetObjectItem(back, "classes");
    assert_int_equal(cJSON_GetArraySize(classes), 3);
    cJSON *b = cJSON_GetArrayItem(classes, 1);
    assert_string_equal(cJSON_GetObjectItem(b, "name")->valuestring, "rock \"n\" roll");
    assert_float_equal(cJSON_GetObjectItem(b, "recall")->valuedouble, 0.5, 1e-12);
    assert_int_equal(cJSON_GetObjectItem(b, "support")->valueint, 6);
    cJSON *conf = cJSON_GetObjectItem(back, "confusion");
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(conf, 1), 0)->valueint, 2);
    cJSON_Delete(back);

    /* without names: indices */
    j = metrics_report_json(&r, NULL, NULL);
    assert_non_null(j);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "classes"), 2), "name")
            ->valuestring,
        "2");
    assert_null(cJSON_GetObjectItem(j, "confusion"));
    cJSON_Delete(j);

    double acc[] = {0.9, 0.95, 1.0}, f1[] = {0.5, 0.5, 0.5};
    j = metrics_cv_json(acc, f1, 3);
    assert_non_null(j);
    cJSON *a = cJSON_GetObjectItem(j, "accuracy");
    assert_float_equal(cJSON_GetObjectItem(a, "mean")->valuedouble, 0.95, 1e-12);
    assert_float_equal(cJSON_GetObjectItem(a, "std")->valuedouble, 0.05, 1e-12);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(a, "values")), 3);
    assert_float_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "macro_f1"), "std")->valuedouble,
                       0, 0);
    assert_int_equal(metrics_write_json(test_path("no/such/dir/x.json"), j), MRNET_ERR_IO);
    cJSON_Delete(j);
    mrnet_metrics_free(&r);
    mrnet_confusion_free(&cm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_classes),
        cmocka_unit_test(test_zero_division),
        cmocka_unit_test(test_mean_std),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
