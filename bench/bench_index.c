/* bench_index N [E K]: query and similarity times of an index of N tracks
 * with synthetic embeddings (E, default 128) and probabilities (K labels,
 * default 10), as docs/PERFORMANCE.md reports them. The index is written
 * straight through SQLite (classifying a million files is not the point
 * here), in the schema mrnet index makes. Prints one line per operation:
 * name, the median and the worst of 20 repetitions in milliseconds. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collection/collection.h"
#include "tensor/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    printf("%-34s median %9.2f ms   worst %9.2f ms\n", what, ms[n / 2], ms[n - 1]);
}

static void fill(const char *path, int N, int E, int K)
{
    mrnet_index *ix;
    if (mrnet_index_open(path, true, &ix) != MRNET_OK) {
        fprintf(stderr, "%s\n", mrnet_last_error());
        exit(1);
    }
    mrnet_index_close(ix);
    sqlite3 *db;
    sqlite3_open(path, &db);
    char labels[4096] = "[";
    for (int k = 0; k < K; k++)
        snprintf(labels + strlen(labels), sizeof labels - strlen(labels), "%s\"label%d\"", k ? "," : "", k);
    strcat(labels, "]");
    char sql[8192];
    snprintf(sql, sizeof sql, "INSERT INTO model (id, hash, checkpoint, task, labels, classes, embed, settings, created)"
             " VALUES (1, 'synthetic', 'none', 'bench', '%s', %d, %d, 'view=windows crop=6 hop=3', "
             "'2026-12-03T00:00:00Z')", labels, K, E);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_stmt *t, *l;
    sqlite3_prepare_v2(db, "INSERT INTO tracks (id, path, size, mtime_ns, hash, seconds, probs, embedding, indexed)"
                       " VALUES (?, ?, 1, 1, 'h', 180, ?, ?, 'now')", -1, &t, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO track_labels VALUES (?, ?, ?)", -1, &l, NULL);
    float *emb = malloc(sizeof(float) * (size_t)E), *p = malloc(sizeof(float) * (size_t)K);
    uint64_t rng = 1;
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int k = 0; k < K; k++)
            sum += p[k] = rng_uniform(&rng) * rng_uniform(&rng) * rng_uniform(&rng);
        for (int k = 0; k < K; k++)
            p[k] = (float)(p[k] / sum);
        for (int e = 0; e < E; e++)
            emb[e] = rng_normal(&rng);
        char path[64];
        snprintf(path, sizeof path, "/music/%07d.flac", i);
        sqlite3_bind_int(t, 1, i + 1);
        sqlite3_bind_text(t, 2, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(t, 3, p, (int)sizeof(float) * K, SQLITE_TRANSIENT);
        sqlite3_bind_blob(t, 4, emb, (int)sizeof(float) * E, SQLITE_TRANSIENT);
        sqlite3_step(t);
        sqlite3_reset(t);
        for (int k = 0; k < K; k++) {
            sqlite3_bind_int(l, 1, i + 1);
            sqlite3_bind_int(l, 2, k);
            sqlite3_bind_double(l, 3, p[k]);
            sqlite3_step(l);
            sqlite3_reset(l);
        }
    }
    sqlite3_finalize(t);
    sqlite3_finalize(l);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    free(emb);
    free(p);
}

/* reps loads of every embedding, timed into ms; the last one stays in emb. */
static void time_loads(mrnet_index *ix, mrnet_index_embeddings *emb, double *ms, int reps)
{
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        mrnet_index_load_embeddings(ix, emb);
        ms[r] = 1e3 * (now() - t0);
        if (r < reps - 1)
            mrnet_index_embeddings_free(emb);
    }
}

static int n_seen;
static void count(void *ctx, const mrnet_index_entry *e)
{
    (void)ctx;
    (void)e;
    n_seen++;
}

int main(int argc, char **argv)
{
    int N = argc > 1 ? atoi(argv[1]) : 100000, E = argc > 2 ? atoi(argv[2]) : 128, K = argc > 3 ? atoi(argv[3]) : 10;
    char path[256];
    snprintf(path, sizeof path, "/tmp/mrnet-bench-index-%d.db", (int)getpid());
    double t0 = now();
    fill(path, N, E, K);
    printf("index of %d tracks, E %d, K %d: written in %.1f s\n", N, E, K, now() - t0);
    mrnet_index *ix;
    mrnet_index_open(path, false, &ix);
    enum { REPS = 20 };
    double ms[REPS];
    mrnet_index_embeddings emb;
    time_loads(ix, &emb, ms, REPS / 4);
    report("load embeddings from SQLite", ms, REPS / 4);
    mrnet_index_embeddings_free(&emb);
    if (mrnet_index_write_embedding_cache(ix) != MRNET_OK) {
        fprintf(stderr, "%s\n", mrnet_last_error());
        return 1;
    }
    time_loads(ix, &emb, ms, REPS / 4);
    report("load embeddings from the cache", ms, REPS / 4);
    uint64_t rng = 2;
    int rows[10];
    float sims[10], *q = malloc(sizeof(float) * (size_t)E);
    for (int r = 0; r < REPS; r++) {
        for (int e = 0; e < E; e++)
            q[e] = rng_normal(&rng);
        t0 = now();
        mrnet_nearest(&emb, q, 10, -1, rows, sims);
        ms[r] = 1e3 * (now() - t0);
    }
    report("similar: exact top 10", ms, REPS);
    for (int r = 0; r < REPS; r++) {
        n_seen = 0;
        t0 = now();
        mrnet_index_query(ix, "label3", 0.5, MRNET_SORT_PROB, 100, count, NULL);
        ms[r] = 1e3 * (now() - t0);
    }
    report("query --label --limit 100", ms, REPS);
    for (int r = 0; r < REPS; r++) {
        n_seen = 0;
        t0 = now();
        mrnet_index_query(ix, "label3", 0.8, MRNET_SORT_PROB, 0, count, NULL);
        ms[r] = 1e3 * (now() - t0);
    }
    printf("(min-prob 0.8 matches %d tracks)\n", n_seen);
    report("query --label --min-prob 0.8 (all)", ms, REPS);
    mrnet_index_embeddings_free(&emb);
    mrnet_index_close(ix);
    free(q);
    unlink(path);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof side, "%s.embeddings", path);
    unlink(side);
    return 0;
}
