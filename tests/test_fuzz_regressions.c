/* Inputs found by the libFuzzer targets in fuzz/ (tools/fuzz.sh), each
 * reduced to the part that mattered and replayed through the same parser:
 * a clear error, no undefined behaviour (the suite's sanitizer build catches
 * the latter), nothing leaked. docs/RELIABILITY.md lists the runs. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mrnet/mrnet.h>

/* fuzz_features_line: "rate=167777777000" converted to int (UBSan:
 * float-cast-overflow at features_parse.c:99); the same for every integer
 * and float field. Values out of range are a format error now. */
static void test_features_line_out_of_range(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "kind=mel rate=167777777000 sr=16000 n_fft=512",
        "kind=mel sr=1e300",
        "kind=mel n_fft=-3000000000",
        "kind=mel hop=2.5",
        "kind=mel n_mels=nan",
        "kind=mel f_max=1e39",
        "kind=mel top_db=-1e300",
        "kind=mel offset=inf",
        "kind=wavlm window=nan",
    };
    mrnet_features_options o;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mrnet_features_options_parse(bad[i], &o), MRNET_ERR_FORMAT);
        assert_non_null(strstr(mrnet_last_error(), "bad value"));
    }
    /* values at the edges still parse */
    assert_int_equal(mrnet_features_options_parse("kind=mel rate=2147483647", &o), MRNET_OK);
    assert_int_equal(mrnet_features_options_parse("kind=mel f_max=3.4e38", &o), MRNET_OK);
    assert_int_equal(mrnet_features_options_parse("kind=mel n_fft=1024", &o), MRNET_OK);
    assert_int_equal(o.mel.n_fft, 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_line_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
