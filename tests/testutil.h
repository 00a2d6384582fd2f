/* Helpers shared by the cmocka tests. Include after <cmocka.h>'s prerequisites. */
#ifndef MRNET_TESTS_TESTUTIL_H
#define MRNET_TESTS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh, empty temporary directory of this test program's own (mkdtemp,
 * made on first use), removed with its contents when the program exits. */
const char *test_tmpdir(void);
/* test_tmpdir()/name in a static rotating buffer. */
const char *test_path(const char *name);
/* Path of a file in the source tree (e.g. "tests/golden/a.safetensors"). */
const char *test_source_path(const char *relative);
/* Writes bytes to a file; returns 0 on success. */
int test_write_file(const char *path, const void *data, size_t n);
/* Runs the mrnet command line with the given arguments (a shell string),
 * stdout+stderr to test_path("cli.out"); returns the exit status. */
int test_run_cli(const char *args_fmt, ...);
/* Runs the CLI (test_run_cli's arguments); on an exit status other than
 * want, fails showing what it printed. */
#define CLI_EXPECT(want, ...)                                                                 \
    do {                                                                                      \
        int rc_ = test_run_cli(__VA_ARGS__);                                                  \
        if (rc_ != (want))                                                                    \
            fail_msg("exit %d, expected %d; output:\n%s", rc_, (want), test_cli_output());     \
    } while (0)
/* Contents of test_path("cli.out") (static buffer, NUL-terminated). */
const char *test_cli_output(void);
/* Fails unless text contains each fragment of the NULL-terminated list ap;
 * what names the text in the failure message ("output", "message"). */
void test_expect_fragments(const char *what, const char *text, va_list ap);

/* A mono 16-bit WAV at 16 kHz: a sine of freq Hz, amplitude 0.3. */
void test_write_tone(const char *path, double seconds, double freq);
/* dir/low/0.wav .. dir/high/<n-1>.wav: two classes of 1-s tones (150 Hz and
 * 1800 Hz, each file a little higher than the last). */
void test_write_two_classes(const char *dir, int per_class);

/* Fails unless the safetensors files a and b hold the same tensors, bit for
 * bit (metadata is not compared: it records times). */
void test_assert_same_tensor_files(const char *a, const char *b);

/* max |a-b| over n values. */
double test_max_abs_diff(const float *a, const float *b, size_t n);
double test_max_abs(const float *a, size_t n);

#endif
