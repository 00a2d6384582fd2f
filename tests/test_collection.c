/* Collections: the inputs walker (missing paths, symlink loops, lists), the
 * ordered batch runner (threads, skips, failures, stopping), and predict /
 * embed over many files (formats by name, standard input lists, non-UTF-8
 * names, short files, resuming a partial, settings mismatch, exit codes). */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "safety_fixtures.h"
#include "collection/collection.h"
#include "infer/infer.h"

static const char *store;
static char ckpt[600], tones[600];

static int setup(void **state)
{
    (void)state;
    if (!(store = sx_tiny_checkpoint("run", 7, ckpt, sizeof ckpt)))
        return -1;
    snprintf(tones, sizeof tones, "%s", test_path("tones"));
    return 0;
}

static int find_input(const mrnet_inputs *in, const char *suffix)
{
    size_t n = strlen(suffix);
    for (int i = 0; i < in->n; i++) {
        size_t m = strlen(in->items[i].path);
        if (m >= n && !strcmp(in->items[i].path + m - n, suffix))
            return i;
    }
    return -1;
}

/* ---- the inputs walker ---------------------------------------------------------- */

static void inputs_report_every_path(void **state)
{
    (void)state;
    char root[600], p[700], q[700];
    snprintf(root, sizeof root, "%s", test_path("walk"));
    mkdir(root, 0777);
    snprintf(p, sizeof p, "%s/b", root);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/b/2.wav", root);
    test_write_tone(p, 0.5, 300);
    snprintf(p, sizeof p, "%s/a.flac", root);
    assert_int_equal(test_write_file(p, "x", 1), 0); /* listed: its decoding fails later */
    snprintf(p, sizeof p, "%s/cover.jpg", root);
    assert_int_equal(test_write_file(p, "x", 1), 0); /* not media: not listed */
    snprintf(p, sizeof p, "%s/.hidden.wav", root);
    assert_int_equal(test_write_file(p, "x", 1), 0);
    snprintf(p, sizeof p, "%s/b/loop", root); /* b/loop -> .. : a loop */
    assert_int_equal(symlink("..", p), 0);
    snprintf(p, sizeof p, "%s/again", root); /* again -> b: walked once */
    assert_int_equal(symlink("b", p), 0);
    snprintf(p, sizeof p, "%s/dangling.wav", root);
    assert_int_equal(symlink("nowhere.wav", p), 0);
    snprintf(q, sizeof q, "%s/empty", root);
    mkdir(q, 0777);

    mrnet_inputs in;
    mrnet_inputs_init(&in);
    assert_int_equal(mrnet_inputs_add_path(&in, root), MRNET_OK);
    assert_int_equal(mrnet_inputs_add_path(&in, "/no/such/file.wav"), MRNET_OK);
    assert_int_equal(mrnet_inputs_add_path(&in, q), MRNET_OK);
    assert_int_equal(mrnet_inputs_add_path(&in, "/dev/null"), MRNET_OK);
    /* files: a.flac, then b/2.wav once (through "again" or "b", whichever comes first) */
    int files = 0;
    for (int i = 0; i < in.n; i++)
        files += in.items[i].problem == NULL;
    assert_int_equal(files, 2);
    assert_null(in.items[find_input(&in, "/a.flac")].problem);
    assert_int_equal(find_input(&in, ".hidden.wav"), -1);
    assert_int_equal(find_input(&in, "cover.jpg"), -1);
    int loop = find_input(&in, "/loop");
    assert_true(loop >= 0);
    assert_non_null(strstr(in.items[loop].problem, "symlink loop"));
    int dangling = find_input(&in, "dangling.wav");
    assert_true(dangling >= 0);
    assert_non_null(strstr(in.items[dangling].problem, "broken symlink"));
    int missing = find_input(&in, "/no/such/file.wav");
    assert_non_null(strstr(in.items[missing].problem, "no such file"));
    int empty = find_input(&in, "/empty");
    assert_non_null(strstr(in.items[empty].problem, "no audio"));
    assert_non_null(strstr(in.items[find_input(&in, "/dev/null")].problem, "not a regular file"));
    assert_int_equal(in.n_problems, in.n - files);
    /* sorted within a folder: a.flac before the sub-folder's file */
    assert_true(find_input(&in, "/a.flac") < find_input(&in, "/2.wav"));
    mrnet_inputs_free(&in);
}

static void inputs_from_lists(void **state)
{
    (void)state;
    char list[600], text[2048];
    snprintf(list, sizeof list, "%s", test_path("list.txt"));
    snprintf(text, sizeof text, "%s/low0.wav\r\n\n%s/mid1.wav\n/no/such.wav\n%s/high2.wav", tones, tones, tones);
    assert_int_equal(test_write_file(list, text, strlen(text)), 0);
    mrnet_inputs in;
    mrnet_inputs_init(&in);
    assert_int_equal(mrnet_inputs_add_list(&in, list), MRNET_OK);
    assert_int_equal(in.n, 4); /* the last line has no newline: still read */
    assert_int_equal(in.n_problems, 1);
    assert_true(find_input(&in, "/low0.wav") == 0 && find_input(&in, "/high2.wav") == 3);
    assert_int_equal(mrnet_inputs_add_list(&in, "/no/such/list"), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), "/no/such/list"));
    mrnet_inputs_free(&in);
}

/* ---- the batch runner ------------------------------------------------------------ */

typedef struct {
    int n, K, stop_after;
    int index[64];
    mrnet_status status[64];
    float probs[64][8];
    int windows[64];
} collected;

static int collect(void *ctx, const mrnet_batch_result *r)
{
    collected *c = ctx;
    c->index[c->n] = r->index;
    c->status[c->n] = r->status;
    if (r->status == MRNET_OK)
        memcpy(c->probs[c->n], r->probs, sizeof(float) * (size_t)c->K);
    else
        assert_true(r->error[0] != '\0');
    c->windows[c->n] = r->n_windows;
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static void batch_in_order_with_threads(void **state)
{
    (void)state;
    static char paths_buf[24][700];
    const char *paths[24];
    const char *names[3] = {"low", "mid", "high"};
    for (int i = 0; i < 24; i++) {
        snprintf(paths_buf[i], sizeof paths_buf[i], "%s/%s%d.wav", tones, names[i % 3], i / 3);
        paths[i] = paths_buf[i];
    }
    const char *junk = test_path("junk.wav");
    assert_int_equal(test_write_file(junk, "not audio", 9), 0);
    paths[5] = junk;
    mrnet_classifier *cls[2];
    assert_int_equal(mrnet_classifier_open(ckpt, &cls[0]), MRNET_OK);
    assert_int_equal(mrnet_classifier_open(ckpt, &cls[1]), MRNET_OK);
    int K = mrnet_classifier_classes(cls[0]);
    assert_true(K <= 8);
    mrnet_batch_options bo = {.want_windows = true};
    mrnet_classify_options_default(&bo.classify);
    bo.classify.crop_seconds = 1;
    bo.classify.hop_seconds = 0.5;
    collected *one = calloc(2, sizeof *one), *two = one + 1;
    one->K = two->K = K;
    bool skip[24] = {0};
    skip[7] = true;
    assert_int_equal(mrnet_batch_run(cls, 1, paths, 24, skip, &bo, collect, one), MRNET_OK);
    assert_int_equal(mrnet_batch_run(cls, 2, paths, 24, skip, &bo, collect, two), MRNET_OK);
    assert_int_equal(one->n, 23);
    assert_int_equal(two->n, 23);
    for (int i = 0; i < 23; i++) {
        int want = i < 7 ? i : i + 1; /* input order, 7 skipped */
        assert_int_equal(one->index[i], want);
        assert_int_equal(two->index[i], want);
        assert_int_equal(one->status[i], want == 5 ? MRNET_ERR_FORMAT : MRNET_OK);
        assert_int_equal(two->status[i], one->status[i]);
        if (want != 5) {
            assert_true(one->windows[i] >= 2); /* 1.5 s or more in 1-s windows */
            assert_int_equal(one->windows[i], two->windows[i]);
            /* one thread per worker either way (OMP_NUM_THREADS=1 in the suite's
             * environment is not assumed): equal to float rounding */
            assert_true(test_max_abs_diff(one->probs[i], two->probs[i], (size_t)K) < 1e-5);
        }
    }
    /* the callback stops the run */
    collected *part = calloc(1, sizeof *part);
    part->K = K;
    part->stop_after = 3;
    assert_int_equal(mrnet_batch_run(cls, 2, paths, 24, NULL, &bo, collect, part), MRNET_ERR_INTERRUPTED);
    assert_int_equal(part->n, 3);
    /* a stop flag already set: nothing is done */
    volatile sig_atomic_t stop = 1;
    bo.stop = &stop;
    part->n = 0;
    part->stop_after = 0;
    assert_int_equal(mrnet_batch_run(cls, 2, paths, 24, NULL, &bo, collect, part), MRNET_ERR_INTERRUPTED);
    assert_int_equal(part->n, 0);
    bo.stop = NULL;
    assert_int_equal(mrnet_batch_run(cls, 0, paths, 24, NULL, &bo, collect, part), MRNET_ERR_ARG);
    assert_int_equal(mrnet_batch_run(cls, 2, paths, 0, NULL, &bo, collect, part), MRNET_OK);
    free(part);
    free(one);
    mrnet_classifier_free(cls[0]);
    mrnet_classifier_free(cls[1]);
}

static void short_file_warned(void **state)
{
    (void)state;
    const char *tiny = test_path("tiny.wav");
    test_write_tone(tiny, 0.03, 440);
    mrnet_classifier *c;
    assert_int_equal(mrnet_classifier_open(ckpt, &c), MRNET_OK);
    mrnet_classify_info info;
    float p[8];
    assert_int_equal(mrnet_classify_file_info(c, tiny, NULL, p, NULL, NULL, NULL, &info), MRNET_OK);
    assert_true(info.seconds > 0.02 && info.seconds < 0.05);
    assert_non_null(strstr(info.warning, "shorter than the 6-s window"));
    mrnet_classifier_free(c);
    EXPECT_RUN(sx_run("", "predict '%s' '%s'", ckpt, tiny), 0, sx_err(), "warning", "tiny.wav", "0.03 s", NULL);
}

/* ---- predict and embed over files ------------------------------------------------ */

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p++)
        n++;
    return n;
}

static void formats_follow_the_name(void **state)
{
    (void)state;
    char out[700];
    /* the table: one line per file, the path first */
    EXPECT_RUN(sx_run("", "predict '%s' '%s' --top 2 --quiet", ckpt, tones), 0, sx_out(), "low0.wav\t", NULL);
    assert_int_equal(count(sx_out(), "\n"), 24);
    assert_int_equal(count(sx_out(), ".wav\t"), 24);
    snprintf(out, sizeof out, "%s", test_path("p.jsonl"));
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --quiet", ckpt, tones, out), 0, sx_err(), "", NULL);
    assert_int_equal(count(sx_read(out), "{\"path\":"), 24);
    snprintf(out, sizeof out, "%s", test_path("p.csv"));
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --quiet", ckpt, tones, out), 0, sx_err(), "", NULL);
    assert_non_null(strstr(sx_read(out), "path,start,end,label1,probability1"));
    snprintf(out, sizeof out, "%s", test_path("p.safetensors"));
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --quiet", ckpt, tones, out), 0, sx_err(), "", NULL);
    mrnet_st_file *f;
    assert_int_equal(mrnet_st_open(out, &f), MRNET_OK);
    const mrnet_st_tensor *t = mrnet_st_find(f, "probabilities");
    assert_non_null(t);
    assert_int_equal(t->shape[0], 24);
    assert_int_equal(t->shape[1], 3);
    assert_non_null(strstr(mrnet_st_meta(f, "labels"), "low"));
    assert_non_null(strstr(mrnet_st_meta(f, "paths"), "high7.wav"));
    const float *row = t->data;
    assert_float_equal(row[0] + row[1] + row[2], 1.0, 1e-5);
    mrnet_st_close(f);
    /* embed .npy: the array, and the paths beside it */
    snprintf(out, sizeof out, "%s", test_path("e.npy"));
    EXPECT_RUN(sx_run("", "embed '%s' '%s' -o '%s' --quiet", ckpt, tones, out), 0, sx_err(), "", NULL);
    assert_non_null(strstr(sx_read(test_path("e.paths.txt")), "/low0.wav\n"));
    assert_int_equal(count(sx_read(test_path("e.paths.txt")), "\n"), 24);
    assert_int_equal(access(test_path("e.npy.partial"), F_OK), -1);
    /* an unknown name is an error listing the choices; --format overrides */
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s'", ckpt, tones, test_path("p.xyz")), 2, sx_err(), ".jsonl",
               ".csv", ".npy", "--format", NULL);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --format nope", ckpt, tones, test_path("p.xyz")), 2, sx_err(),
               "nope", "jsonl", NULL);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --format jsonl --quiet", ckpt, tones, test_path("p.xyz")), 0,
               sx_err(), "", NULL);
    assert_int_equal(count(sx_read(test_path("p.xyz")), "{\"path\":"), 24);
    EXPECT_RUN(sx_run("", "embed '%s' '%s' --format table", ckpt, tones), 2, sx_err(), "table", NULL);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' --timeline -o '%s'", ckpt, tones, test_path("t.npy")), 2, sx_err(),
               "--timeline", NULL);
    /* a device takes the standard output's format; a full one is an error naming it */
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o /dev/full --quiet", ckpt, tones), 1, sx_err(), "/dev/full", NULL);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o /dev/null --quiet", ckpt, tones), 0, sx_err(), "", NULL);
}

static void files_from_standard_input(void **state)
{
    (void)state;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && printf '%s/low1.wav\\n/no/such.wav\\n%s/mid2.wav\\n' | '%s' predict '%s' "
             "--files-from - --format csv --quiet > '%s' 2> '%s'", test_tmpdir(), tones, tones, MRNET_CLI_PATH,
             ckpt, test_path("out.txt"), test_path("err.txt"));
    int rc = system(cmd);
    sx_expect(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, 1, sx_err(), "/no/such.wav", "no such file", "1 of 3", NULL);
    assert_int_equal(count(sx_out(), ".wav,,,"), 2);
    const char *out = sx_out(); /* one buffer: sx_out() rotates between two */
    assert_true(strstr(out, "low1.wav") < strstr(out, "mid2.wav"));
    /* no input at all is a usage error */
    EXPECT_RUN(sx_run("", "predict '%s'", ckpt), 2, sx_err(), "usage", NULL);
}

static void non_utf8_names_give_valid_output(void **state)
{
    (void)state;
    char dir[600], name[700], src[700];
    snprintf(dir, sizeof dir, "%s", test_path("latin1"));
    mkdir(dir, 0777);
    snprintf(name, sizeof name, "%s/caf\xe9 \"x\".wav", dir); /* Latin-1 e-acute, a quote */
    snprintf(src, sizeof src, "%s/low0.wav", tones);
    assert_int_equal(link(src, name), 0);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' --format jsonl --quiet", ckpt, dir), 0, sx_err(), "", NULL);
    const char *out = sx_out();
    assert_true(mrnet_utf8_valid(out));
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(j, "path"));
    assert_non_null(strstr(path, "caf\xef\xbf\xbd \"x\".wav"));
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "path_bytes")), "caf%E9%20%22x%22.wav"));
    cJSON_Delete(j);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' --format csv --quiet", ckpt, dir), 0, sx_err(), "", NULL);
    assert_true(mrnet_utf8_valid(sx_out()));
    assert_non_null(strstr(sx_out(), "caf\xef\xbf\xbd \"\"x\"\".wav\""));
    /* the exact bytes survive in a partial's journal: resuming skips the file */
    char *sanitized = mrnet_utf8_sanitize("a\xe9\xc3\xa9\xed\xa0\x80z");
    assert_string_equal(sanitized, "a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
    free(sanitized);
    assert_false(mrnet_utf8_valid("\xc0\xaf"));
    assert_true(mrnet_utf8_valid("\xf0\x9f\x8e\xb5"));
}

/* A partial left by a stopped run (made here by cutting a finished file's
 * journal back) is continued, and the result equals an uninterrupted run. */
static void partial_is_continued(void **state)
{
    (void)state;
    char full[700], part[700], cmd[4096];
    snprintf(full, sizeof full, "%s", test_path("full.jsonl"));
    snprintf(part, sizeof part, "%s", test_path("part.jsonl"));
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --timeline --crop-seconds 1 --quiet", ckpt, tones, full), 0,
               sx_err(), "", NULL);
    /* a run that stops on a full disk keeps its partial: /dev/full cannot be
     * a partial, so build one: start the run, stop it with SIGINT early */
    snprintf(cmd, sizeof cmd, "cd '%s' && ( '%s' predict '%s' '%s' -o '%s' --timeline --crop-seconds 1 --quiet "
             "& pid=$!; sleep 0.05; kill -INT $pid; wait $pid; echo $? > '%s' ) 2> '%s'", test_tmpdir(),
             MRNET_CLI_PATH, ckpt, tones, part, test_path("rc.txt"), test_path("err.txt"));
    assert_int_equal(system(cmd), 0);
    int rc = atoi(sx_read(test_path("rc.txt")));
    char partial[800], journal[800];
    snprintf(partial, sizeof partial, "%s.partial", part);
    snprintf(journal, sizeof journal, "%s.partial.journal", part);
    /* where the signal lands is the scheduler's choice: before the output
     * was opened (nothing to keep), after it (the partial and its journal
     * stay, with or without files done), or after the end */
    bool kept = rc == 130 && access(partial, F_OK) == 0;
    if (rc == 130) { /* stopped in time: no final file */
        assert_int_equal(access(part, F_OK), -1);
        if (kept) {
            assert_int_equal(access(journal, F_OK), 0);
            assert_non_null(strstr(sx_err(), "run the same command again"));
        }
    } else
        assert_int_equal(rc, 0); /* it finished first */
    /* other settings: refused, the partial untouched */
    if (kept) {
        EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --top 1 --timeline --crop-seconds 1", ckpt, tones, part), 1,
                   sx_err(), "other settings", "--restart", NULL);
        assert_int_equal(access(partial, F_OK), 0);
    }
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --timeline --crop-seconds 1", ckpt, tones, part), 0, sx_err(),
               "", NULL);
    assert_string_equal(sx_read(part), sx_read(full));
    assert_int_equal(access(partial, F_OK), -1);
    assert_int_equal(access(journal, F_OK), -1);

    /* a journal cut mid-line and a record cut mid-way, as a SIGKILL leaves them */
    FILE *f = fopen(full, "rb");
    assert_non_null(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    const char *cut = strstr(text, "mid1.wav\",\"seconds\""); /* within a file's record */
    assert_non_null(cut);
    size_t keep = 0; /* the end of the complete files before it */
    for (const char *p = text; (p = strstr(p, "\"seconds\"")) && p < cut; p++)
        keep = (size_t)(strchr(p, '\n') - text) + 1;
    assert_true(keep > 0 && keep < n);
    assert_int_equal(test_write_file(partial, text, (size_t)(cut - text) + 7), 0);
    char jtext[8192];
    int m = snprintf(jtext, sizeof jtext, "mrnet-partial 1\t0\tpredict format=jsonl top=3 timeline=1 view=windows "
                     "crop=1 hop=3 checkpoint=");
    struct stat sb;
    assert_int_equal(stat(ckpt, &sb), 0);
    m += snprintf(jtext + m, sizeof jtext - (size_t)m, "%lld:%lld wavlm=no\n", (long long)sb.st_size,
                  (long long)sb.st_mtime);
    /* the done files, in the order of the full run */
    size_t off = 0;
    int done = 0;
    for (const char *p = text; (p = strstr(p, "\"seconds\"")) && (size_t)(p - text) < keep; p++) {
        const char *line = p;
        while (line > text && line[-1] != '\n')
            line--;
        const char *q = strstr(line, "\"path\":\"") + 8, *e = strchr(q, '"');
        off = (size_t)(strchr(p, '\n') - text) + 1;
        m += snprintf(jtext + m, sizeof jtext - (size_t)m, "%zu\t%.*s\n", off, (int)(e - q), q);
        done++;
    }
    char done_msg[64];
    snprintf(done_msg, sizeof done_msg, "%d of 24 files are done", done);
    m += snprintf(jtext + m, sizeof jtext - (size_t)m, "99999\t/half/a/li");
    assert_int_equal(test_write_file(journal, jtext, (size_t)m), 0);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --timeline --crop-seconds 1", ckpt, tones, part), 0, sx_err(),
               "continuing", done_msg, NULL);
    assert_string_equal(sx_read(part), sx_read(full));
    /* --restart starts over from an unrelated partial */
    assert_int_equal(test_write_file(partial, "junk", 4), 0);
    assert_int_equal(test_write_file(journal, "junk\n", 5), 0);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --timeline --crop-seconds 1", ckpt, tones, part), 1, sx_err(),
               "not a journal", NULL);
    EXPECT_RUN(sx_run("", "predict '%s' '%s' -o '%s' --timeline --crop-seconds 1 --restart", ckpt, tones, part), 0,
               sx_err(), "", NULL);
    assert_string_equal(sx_read(part), sx_read(full));
}

/* predict on a 10-minute 44.1 kHz stereo file peaks far below the file's
 * decoded size (212 MB of floats): the segments bound it. Peak RSS of the
 * child from wait4; not under sanitizers (their shadow memory). */
static void long_file_bounded_memory(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    skip();
#endif
    char path[700];
    snprintf(path, sizeof path, "%s", test_path("ten_minutes.wav"));
    enum { RATE = 44100 };
    SF_INFO info = {.samplerate = RATE, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    assert_non_null(f);
    static float block[2 * RATE];
    for (int s = 0; s < 600; s++) {
        for (int i = 0; i < RATE; i++)
            block[2 * i] = block[2 * i + 1] = 0.3f * (float)sin(2 * M_PI * (300 + s) * i / RATE);
        assert_int_equal(sf_writef_float(f, block, RATE), RATE);
    }
    sf_close(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(MRNET_CLI_PATH, MRNET_CLI_PATH, "predict", ckpt, path, "--quiet", (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    assert_true(wait4(pid, &status, 0, &ru) == pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    print_message("predict on 10 minutes of 44.1 kHz stereo: peak %ld MB\n", ru.ru_maxrss / 1024);
    assert_true(ru.ru_maxrss < 250 * 1024); /* decoded whole, the floats alone are 212 MB */
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inputs_report_every_path),     cmocka_unit_test(inputs_from_lists),
        cmocka_unit_test(batch_in_order_with_threads),  cmocka_unit_test(short_file_warned),
        cmocka_unit_test(formats_follow_the_name),      cmocka_unit_test(files_from_standard_input),
        cmocka_unit_test(non_utf8_names_give_valid_output), cmocka_unit_test(partial_is_continued),
        cmocka_unit_test(long_file_bounded_memory),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
