/* mrnet bench and its counters: the GEMM FLOP counter counts exactly 2 M N K
 * per product, a training step counts about three forward passes, the sgemm
 * rate is positive, and the command's JSON has every key the issue names. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "nn/nn.h"
#include <mrnet/mrnet.h>

static void counter_counts_products(void **state)
{
    (void)state;
    enum { B = 5, IN = 7, OUT = 3 };
    float x[B * IN] = {0}, w[OUT * IN] = {0}, y[B * OUT], dy[B * OUT] = {0}, dx[B * IN] = {0}, dw[OUT * IN] = {0};
    int64_t big[3];
    mrnet_flops_start();
    linear_forward(x, w, NULL, y, B, IN, OUT);
    assert_float_equal(mrnet_flops_stop(big), 2.0 * B * IN * OUT, 0);
    assert_true(big[0] == B && big[1] == OUT && big[2] == IN);
    mrnet_flops_start();
    linear_backward(x, w, dy, dx, dw, NULL, B, IN, OUT);
    assert_float_equal(mrnet_flops_stop(NULL), 4.0 * B * IN * OUT, 0);
    /* off: nothing counted */
    linear_forward(x, w, NULL, y, B, IN, OUT);
    mrnet_flops_start();
    assert_float_equal(mrnet_flops_stop(NULL), 0, 0);
}

static void train_step_is_three_forwards(void **state)
{
    (void)state;
    mrnet_config cfg;
    mrnet_config_default(&cfg, 4);
    cfg.in_dim = 16;
    cfg.in_channels = 1;
    cfg.n_layers = 1;
    cfg.channels = 32;
    cfg.embed = 8;
    mrnet_model *m;
    assert_int_equal(mrnet_model_create(&cfg, 3, &m), MRNET_OK);
    enum { B = 4, T = 64 };
    assert_int_equal(mrnet_model_reserve(m, B, T), MRNET_OK);
    float *x = calloc((size_t)B * T * cfg.in_dim, sizeof(float)), logits[B * 4];
    for (int i = 0; i < B * T * cfg.in_dim; i++)
        x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    int labels[B] = {0, 1, 2, 3};
    double loss;
    mrnet_flops_start();
    assert_int_equal(mrnet_forward(m, x, B, T, false, NULL, logits), MRNET_OK);
    double fwd = mrnet_flops_stop(NULL);
    mrnet_flops_start();
    assert_int_equal(mrnet_forward(m, x, B, T, true, NULL, logits), MRNET_OK);
    assert_int_equal(mrnet_backward(m, labels, NULL, &loss), MRNET_OK);
    double train = mrnet_flops_stop(NULL);
    print_message("forward %.0f FLOPs, train step %.0f (%.2fx)\n", fwd, train, train / fwd);
    assert_true(fwd > 0);
    assert_true(train > 2.5 * fwd && train < 3.05 * fwd); /* the first layer has no input gradient */
    assert_true(mrnet_sgemm_gflops(64, 64, 64, 0.05) > 0);
    assert_true(mrnet_sgemm_gflops(0, 64, 64, 0.05) == 0);
    mrnet_model_free(m);
    free(x);
}

static void bench_command(void **state)
{
    (void)state;
    CLI_EXPECT(0, "bench --config mel --channels 16 --batch 2 --T 50 --repeats 1 --json");
    const char *out = test_cli_output();
    const char *keys[] = {"mode", "config", "batch", "T", "threads", "dtype", "ms", "samples_per_s", "gflops",
                          "sgemm_gflops", "peak_share", "peak_rss_mb"};
    int lines = 0;
    for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (*line != '{')
            continue;
        cJSON *j = cJSON_ParseWithOpts(line, NULL, false);
        assert_non_null(j);
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            if (!cJSON_GetObjectItem(j, keys[k]))
                fail_msg("no key %s in %s", keys[k], line);
        assert_true(cJSON_GetObjectItem(j, "gflops")->valuedouble > 0);
        double share = cJSON_GetObjectItem(j, "peak_share")->valuedouble;
        assert_true(share > 0 && share < 3);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "dtype")), "f32");
        cJSON_Delete(j);
        lines++;
    }
    assert_int_equal(lines, 2); /* train and infer */
    CLI_EXPECT(2, "bench --dtype bf16");
    assert_non_null(strstr(test_cli_output(), "bf16"));
    CLI_EXPECT(2, "bench --config nope");
    CLI_EXPECT(2, "bench --channels 12");
    CLI_EXPECT(2, "bench --mode sideways");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counter_counts_products),
        cmocka_unit_test(train_step_is_three_forwards),
        cmocka_unit_test(bench_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
