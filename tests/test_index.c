/* The collection index: incremental updates (add, change, touch, delete, a
 * root that went missing), entries equal to classifying the file, a model
 * mismatch, foreign and corrupt databases, stopping part-way, queries, and
 * similarity search against a brute-force reference. */
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "safety_fixtures.h"
#include "collection/collection.h"
#include "tensor/rng.h"

static const char *store;
static char ckpt[600], ckpt_b[600], tones[600], lib[600];

static int setup(void **state)
{
    (void)state;
    if (!(store = sx_tiny_checkpoint("run", 7, ckpt, sizeof ckpt)) ||
        !sx_tiny_checkpoint("run_b", 8, ckpt_b, sizeof ckpt_b))
        return -1;
    snprintf(tones, sizeof tones, "%s", test_path("tones"));
    return 0;
}

typedef struct {
    mrnet_classifier *c;
    mrnet_index_options opt;
    const char *ckpt;
} indexer;

static void indexer_open(indexer *x, const char *checkpoint)
{
    memset(x, 0, sizeof *x);
    x->ckpt = checkpoint;
    assert_int_equal(mrnet_classifier_open(checkpoint, &x->c), MRNET_OK);
    mrnet_classify_options_default(&x->opt.classify);
}

static mrnet_status update(indexer *x, const char *db, const char *root, mrnet_index_report *rep)
{
    mrnet_inputs in;
    mrnet_inputs_init(&in);
    assert_int_equal(mrnet_inputs_add_path(&in, root), MRNET_OK);
    mrnet_index *ix;
    mrnet_status st = mrnet_index_open(db, true, &ix);
    if (st == MRNET_OK) {
        st = mrnet_index_update(ix, x->ckpt, &x->c, 1, &in, (const char *const[]){root}, 1, &x->opt, rep);
        mrnet_index_close(ix);
    }
    mrnet_inputs_free(&in);
    return st;
}

static void expect_report(const mrnet_index_report *r, int added, int updated, int unchanged, int removed, int failed)
{
    if (r->added != added || r->updated != updated || r->unchanged != unchanged || r->removed != removed ||
        r->failed != failed)
        fail_msg("report %d added, %d updated, %d unchanged, %d removed, %d failed; expected %d %d %d %d %d",
                 r->added, r->updated, r->unchanged, r->removed, r->failed, added, updated, unchanged, removed,
                 failed);
}

typedef struct {
    int n, failed;
    char paths[64][700];
    float probs[64][8];
} entries;

/* The entries with scores; failed ones only counted. */
static void collect(void *ctx, const mrnet_index_entry *e)
{
    entries *es = ctx;
    if (!e->probs) {
        assert_non_null(e->error);
        es->failed++;
        return;
    }
    if (es->n < 64) {
        snprintf(es->paths[es->n], sizeof es->paths[0], "%s", e->path);
        memcpy(es->probs[es->n], e->probs, sizeof(float) * 3);
    }
    es->n++;
}

static void incremental_updates(void **state)
{
    (void)state;
    char root[600], p[800];
    snprintf(root, sizeof root, "%s", test_path("coll"));
    mkdir(root, 0777);
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/t%d.wav", root, i);
        test_write_tone(p, 1.5 + 0.25 * i, 200 + 150 * i);
    }
    snprintf(lib, sizeof lib, "%s", test_path("lib.db"));
    indexer x;
    indexer_open(&x, ckpt);
    mrnet_index_report r;
    assert_int_equal(update(&x, lib, root, &r), MRNET_OK);
    expect_report(&r, 6, 0, 0, 0, 0);
    assert_int_equal(update(&x, lib, root, &r), MRNET_OK);
    expect_report(&r, 0, 0, 6, 0, 0);
    /* touched (same bytes, new mtime): unchanged; rewritten: updated; new: added; gone: removed */
    snprintf(p, sizeof p, "%s/t1.wav", root);
    struct timespec later[2] = {{.tv_sec = 2000000000}, {.tv_sec = 2000000000}};
    assert_int_equal(utimensat(AT_FDCWD, p, later, 0), 0);
    snprintf(p, sizeof p, "%s/t2.wav", root);
    test_write_tone(p, 2.0, 1234);
    snprintf(p, sizeof p, "%s/new.wav", root);
    test_write_tone(p, 2.0, 555);
    snprintf(p, sizeof p, "%s/t3.wav", root);
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof p, "%s/bad.wav", root);
    assert_int_equal(test_write_file(p, "not audio", 9), 0);
    assert_int_equal(update(&x, lib, root, &r), MRNET_OK);
    expect_report(&r, 1, 1, 4, 1, 1);
    /* the failure is recorded with its reason, and tried again next time */
    mrnet_index *ix;
    assert_int_equal(mrnet_index_open(lib, false, &ix), MRNET_OK);
    entries *es = calloc(1, sizeof *es);
    assert_int_equal(mrnet_index_query(ix, NULL, 0, MRNET_SORT_PATH, 0, collect, es), MRNET_OK);
    assert_int_equal(es->n, 6); /* 6 - 1 + 1 */
    assert_int_equal(es->failed, 1);
    /* every entry equals classifying its file */
    for (int i = 0; i < 6; i++) {
        float want[8];
        assert_int_equal(mrnet_classify_file(x.c, es->paths[i], NULL, want, NULL, NULL, NULL, NULL), MRNET_OK);
        assert_memory_equal(want, es->probs[i], sizeof(float) * 3);
    }
    mrnet_index_model m;
    assert_int_equal(mrnet_index_model_info(ix, &m), MRNET_OK);
    assert_int_equal(m.K, 3);
    assert_string_equal(m.labels[0], "high");
    /* a label query, most probable first */
    es->n = 0;
    assert_int_equal(mrnet_index_query(ix, m.labels[1], 0.0, MRNET_SORT_PROB, 3, collect, es), MRNET_OK);
    assert_int_equal(es->n, 3);
    assert_true(es->probs[0][1] >= es->probs[1][1] && es->probs[1][1] >= es->probs[2][1]);
    assert_int_equal(mrnet_index_query(ix, "nope", 0.5, MRNET_SORT_PROB, 0, collect, es), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "high, low, mid"));
    /* windows */
    int n;
    double *spans;
    float *wp;
    snprintf(p, sizeof p, "%s/t5.wav", root); /* 2.75 s: one 6-s window */
    assert_int_equal(mrnet_index_windows(ix, p, &n, &spans, &wp), MRNET_OK);
    assert_int_equal(n, 1);
    free(spans);
    free(wp);
    assert_int_equal(mrnet_index_windows(ix, "/not/indexed.wav", &n, &spans, &wp), MRNET_ERR_ARG);
    mrnet_index_close(ix);
    free(es);
    assert_int_equal(update(&x, lib, root, &r), MRNET_OK);
    expect_report(&r, 0, 0, 6, 0, 1);
    /* a root that went missing (an unmounted disk) removes nothing */
    char gone[700];
    snprintf(gone, sizeof gone, "%s.moved", root);
    assert_int_equal(rename(root, gone), 0);
    assert_int_equal(update(&x, lib, root, &r), MRNET_OK);
    expect_report(&r, 0, 0, 0, 0, 0);
    assert_int_equal(rename(gone, root), 0);
    assert_int_equal(update(&x, lib, root, &r), MRNET_OK);
    expect_report(&r, 0, 0, 6, 0, 1);
    mrnet_classifier_free(x.c);
}

static void another_model_refused(void **state)
{
    (void)state;
    char root[600];
    snprintf(root, sizeof root, "%s", test_path("coll"));
    indexer x;
    indexer_open(&x, ckpt_b);
    mrnet_index_report r;
    assert_int_equal(update(&x, lib, root, &r), MRNET_ERR_ARG);
    assert_non_null(strstr(mrnet_last_error(), "--rebuild"));
    assert_non_null(strstr(mrnet_last_error(), ckpt));
    x.opt.rebuild = true;
    assert_int_equal(update(&x, lib, root, &r), MRNET_OK);
    expect_report(&r, 6, 0, 0, 0, 1);
    /* other windows are another index too */
    x.opt.rebuild = false;
    x.opt.classify.hop_seconds = 1;
    assert_int_equal(update(&x, lib, root, &r), MRNET_ERR_ARG);
    mrnet_classifier_free(x.c);
}

static void foreign_and_corrupt_databases(void **state)
{
    (void)state;
    mrnet_index *ix;
    char other[600], junk[600], cut[600];
    snprintf(other, sizeof other, "%s", test_path("other.db"));
    snprintf(junk, sizeof junk, "%s", test_path("junk.db"));
    snprintf(cut, sizeof cut, "%s", test_path("cut.db"));
    sqlite3 *db;
    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE songs (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(mrnet_index_open(other, true, &ix), MRNET_ERR_FORMAT);
    assert_non_null(strstr(mrnet_last_error(), "another program"));
    static char bytes[8192];
    uint64_t rng = 5;
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (char)(rng_next(&rng) & 0xff);
    assert_int_equal(test_write_file(junk, bytes, sizeof bytes), 0);
    mrnet_status st = mrnet_index_open(junk, true, &ix);
    assert_int_not_equal(st, MRNET_OK);
    assert_non_null(strstr(mrnet_last_error(), "junk.db"));
    /* a real index cut in half: refused or readable, never a crash */
    FILE *f = fopen(lib, "rb");
    assert_non_null(f);
    static char whole[1 << 20];
    size_t n = fread(whole, 1, sizeof whole, f);
    fclose(f);
    assert_int_equal(test_write_file(cut, whole, n / 2), 0);
    if (mrnet_index_open(cut, false, &ix) == MRNET_OK) {
        mrnet_index_model m;
        entries *es = calloc(1, sizeof *es);
        if (mrnet_index_model_info(ix, &m) == MRNET_OK)
            (void)mrnet_index_query(ix, NULL, 0, MRNET_SORT_PATH, 0, collect, es);
        free(es);
        mrnet_index_close(ix);
    }
    assert_int_equal(mrnet_index_open(test_path("none.db"), false, &ix), MRNET_ERR_IO);
    assert_non_null(strstr(mrnet_last_error(), "mrnet index"));
    /* the CLI names the file */
    EXPECT_RUN(sx_run("", "query --db '%s'", other), 1, sx_err(), "other.db", "another program", NULL);
    EXPECT_RUN(sx_run("", "similar x.wav --db '%s'", junk), 1, sx_err(), "junk.db", NULL);
}

static void stopped_update_keeps_work(void **state)
{
    (void)state;
    char db[600];
    snprintf(db, sizeof db, "%s", test_path("stopped.db"));
    indexer x;
    indexer_open(&x, ckpt);
    volatile sig_atomic_t stop = 1;
    x.opt.stop = &stop;
    mrnet_index_report r;
    assert_int_equal(update(&x, db, tones, &r), MRNET_ERR_INTERRUPTED);
    x.opt.stop = NULL;
    assert_int_equal(update(&x, db, tones, &r), MRNET_OK);
    expect_report(&r, 24, 0, 0, 0, 0);
    mrnet_classifier_free(x.c);
}

/* mrnet_nearest against cosine similarity in double precision. */
static void nearest_equals_brute_force(void **state)
{
    (void)state;
    enum { N = 2000, E = 24, K = 15 };
    mrnet_index_embeddings e = {.N = N, .E = E};
    e.vectors = malloc(sizeof(float) * N * E);
    float *raw = malloc(sizeof(float) * N * E), q[E];
    uint64_t rng = 11;
    for (int i = 0; i < N * E; i++)
        raw[i] = (float)rng_normal(&rng);
    for (int i = 0; i < 3 * E; i++)
        raw[i] = 0; /* zero vectors stay zero */
    memcpy(e.vectors, raw, sizeof(float) * N * E);
    for (int i = 0; i < N; i++) {
        double ss = 0;
        for (int d = 0; d < E; d++)
            ss += (double)e.vectors[i * E + d] * e.vectors[i * E + d];
        for (int d = 0; ss > 0 && d < E; d++)
            e.vectors[i * E + d] /= (float)sqrt(ss);
    }
    for (int d = 0; d < E; d++)
        q[d] = 3.0f * (float)rng_normal(&rng);
    int rows[K];
    float sims[K];
    assert_int_equal(mrnet_nearest(&e, q, K, 7, rows, sims), K);
    double *ref = malloc(sizeof(double) * N);
    double qq = 0;
    for (int d = 0; d < E; d++)
        qq += (double)q[d] * q[d];
    for (int i = 0; i < N; i++) {
        double dot = 0, ss = 0;
        for (int d = 0; d < E; d++) {
            dot += (double)raw[i * E + d] * q[d];
            ss += (double)raw[i * E + d] * raw[i * E + d];
        }
        ref[i] = ss > 0 ? dot / sqrt(ss * qq) : 0;
    }
    ref[7] = -2; /* excluded */
    for (int j = 0; j < K; j++) {
        int best = 0;
        for (int i = 1; i < N; i++)
            if (ref[i] > ref[best])
                best = i;
        assert_int_equal(rows[j], best);
        assert_float_equal(sims[j], ref[best], 1e-5);
        ref[best] = -2;
    }
    int *all_rows = malloc(sizeof(int) * (N + 5));
    float *all_sims = malloc(sizeof(float) * (N + 5));
    assert_int_equal(mrnet_nearest(&e, q, N + 5, -1, all_rows, all_sims), N);
    for (int j = 1; j < N; j++)
        assert_true(all_sims[j - 1] >= all_sims[j]);
    free(all_rows);
    free(all_sims);
    free(ref);
    free(raw);
    free(e.vectors);
}

static void cli_index_query_similar(void **state)
{
    (void)state;
    char db[600];
    snprintf(db, sizeof db, "%s", test_path("cli.db"));
    EXPECT_RUN(sx_run("", "index '%s' '%s' /no/such/folder --db '%s' -j 2 --quiet", ckpt, tones, db), 1, sx_err(),
               "24 added", "/no/such/folder", NULL);
    EXPECT_RUN(sx_run("", "index '%s' '%s' --db '%s' --quiet", ckpt, tones, db), 0, sx_err(), "24 unchanged", NULL);
    EXPECT_RUN(sx_run("", "query --db '%s' --label low --min-prob 0 --limit 5 --format jsonl", db), 0, sx_out(),
               "{\"path\":", "low", NULL);
    EXPECT_RUN(sx_run("", "query --db '%s' --label nope", db), 1, sx_err(), "no label 'nope'", "high, low, mid",
               NULL);
    EXPECT_RUN(sx_run("", "query --db '%s' --min-prob 2", db), 2, sx_err(), "--min-prob", NULL);
    EXPECT_RUN(sx_run("", "similar '%s/low0.wav' --db '%s' -k 3 --format csv", tones, db), 0, sx_out(),
               "path,similarity\n", NULL);
    if (strstr(sx_out(), "low0.wav"))
        fail_msg("the query itself is listed:\n%s", sx_out());
    /* a file not in the index is embedded with the index's checkpoint */
    char outside[700];
    snprintf(outside, sizeof outside, "%s", test_path("outside.wav"));
    test_write_tone(outside, 2, 222);
    EXPECT_RUN(sx_run("", "similar '%s' --db '%s' -k 2", outside, db), 0, sx_err(), "2 of 24", NULL);
    EXPECT_RUN(sx_run("", "similar /no/such.wav --db '%s'", db), 1, sx_err(), "/no/such.wav", NULL);
    EXPECT_RUN(sx_run("", "index '%s' '%s' --db '%s'", ckpt_b, tones, db), 1, sx_err(), "--rebuild", NULL);
}

/* The embedding cache beside the index equals reading SQLite; a damaged or
 * stale one is ignored. */
static void embedding_cache(void **state)
{
    (void)state;
    char cache[700];
    snprintf(cache, sizeof cache, "%s.embeddings", lib);
    assert_int_equal(access(cache, F_OK), 0);
    mrnet_index *ix;
    assert_int_equal(mrnet_index_open(lib, false, &ix), MRNET_OK);
    mrnet_index_embeddings a, b;
    assert_int_equal(mrnet_index_load_embeddings(ix, &a), MRNET_OK);
    assert_int_equal(rename(cache, test_path("cache.bak")), 0);
    assert_int_equal(mrnet_index_load_embeddings(ix, &b), MRNET_OK); /* from SQLite */
    assert_int_equal(a.N, b.N);
    assert_int_equal(a.E, b.E);
    assert_true(a.N > 0);
    assert_memory_equal(a.vectors, b.vectors, sizeof(float) * (size_t)a.N * a.E);
    for (int i = 0; i < a.N; i++)
        assert_string_equal(a.paths[i], b.paths[i]);
    mrnet_index_embeddings_free(&b);
    /* a cut or scribbled cache: SQLite's answer all the same */
    FILE *f = fopen(test_path("cache.bak"), "rb");
    static char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    for (int k = 0; k < 3; k++) {
        if (k == 0)
            assert_int_equal(test_write_file(cache, bytes, n / 2), 0);
        else if (k == 1) {
            bytes[20] ^= 1; /* the generation stamp */
            assert_int_equal(test_write_file(cache, bytes, n), 0);
        } else
            assert_int_equal(test_write_file(cache, "MRNETEMB", 8), 0);
        assert_int_equal(mrnet_index_load_embeddings(ix, &b), MRNET_OK);
        assert_int_equal(b.N, a.N);
        assert_memory_equal(a.vectors, b.vectors, sizeof(float) * (size_t)a.N * a.E);
        mrnet_index_embeddings_free(&b);
    }
    mrnet_index_embeddings_free(&a);
    mrnet_index_close(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(incremental_updates),        cmocka_unit_test(embedding_cache),
        cmocka_unit_test(another_model_refused),
        cmocka_unit_test(foreign_and_corrupt_databases), cmocka_unit_test(stopped_update_keeps_work),
        cmocka_unit_test(nearest_equals_brute_force), cmocka_unit_test(cli_index_query_similar),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
