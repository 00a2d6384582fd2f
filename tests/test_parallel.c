/* Data-parallel arithmetic without MPI: two threads play two processes
 * through a collective of barriers (mrnet/parallel.h), so this runs in every
 * build. The batch split over them must give the gradient of the whole
 * batch (synchronised batch norm, the loss's denominator, per-sample
 * dropout), failures must be agreed, and the replica check must fire when
 * weights differ. test_mpi runs the same over Open MPI. */
#define _GNU_SOURCE
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "safety_fixtures.h"
#include "model/model.h"
#include "tensor/error.h"
#include <mrnet/mrnet.h>

/* ---- a collective of two threads ------------------------------------------ */

typedef struct {
    pthread_barrier_t barrier;
    double acc[1 << 16];
    float *facc;
    size_t fcap;
    unsigned char bytes[4096];
    bool corrupt_hash; /* rank 1 receives a changed 8-byte broadcast (a weights hash) */
} shared;

typedef struct {
    shared *sh;
    int rank;
} member;

static void wait_all(shared *sh) { pthread_barrier_wait(&sh->barrier); }

/* Rank 0 adds first, then rank 1: the same order every time. */
static void sum_double(void *ctx, double *buf, size_t n)
{
    member *m = ctx;
    shared *sh = m->sh;
    assert_true(n <= sizeof sh->acc / sizeof *sh->acc);
    wait_all(sh);
    if (m->rank == 0)
        memcpy(sh->acc, buf, n * sizeof *buf);
    wait_all(sh);
    if (m->rank == 1)
        for (size_t i = 0; i < n; i++)
            sh->acc[i] += buf[i];
    wait_all(sh);
    memcpy(buf, sh->acc, n * sizeof *buf);
    wait_all(sh);
}

static void sum_float(void *ctx, float *buf, size_t n)
{
    member *m = ctx;
    shared *sh = m->sh;
    wait_all(sh);
    if (m->rank == 0) {
        if (sh->fcap < n) {
            free(sh->facc);
            sh->facc = malloc(n * sizeof *sh->facc);
            sh->fcap = n;
        }
        memcpy(sh->facc, buf, n * sizeof *buf);
    }
    wait_all(sh);
    if (m->rank == 1)
        for (size_t i = 0; i < n; i++)
            sh->facc[i] += buf[i];
    wait_all(sh);
    memcpy(buf, sh->facc, n * sizeof *buf);
    wait_all(sh);
}

static void broadcast(void *ctx, void *buf, size_t bytes, int root)
{
    member *m = ctx;
    shared *sh = m->sh;
    assert_true(bytes <= sizeof sh->bytes);
    wait_all(sh);
    if (m->rank == root)
        memcpy(sh->bytes, buf, bytes);
    wait_all(sh);
    if (m->rank != root) {
        memcpy(buf, sh->bytes, bytes);
        if (sh->corrupt_hash && bytes == 8)
            ((unsigned char *)buf)[0] ^= 1;
    }
    wait_all(sh);
}

static mrnet_collective collective_of(member *m)
{
    return (mrnet_collective){m->rank, 2, sum_double, sum_float, broadcast, m};
}

static void nn_sum(void *ctx, double *buf, int n) { sum_double(ctx, buf, (size_t)n); }

/* ---- the gradient of a shared batch ----------------------------------------- */

enum { B = 6, T = 24, D = 16, K = 3 };

static mrnet_model *tiny_model(void)
{
    mrnet_config cfg;
    mrnet_config_default(&cfg, K);
    cfg.in_dim = D;
    cfg.in_channels = 1;
    cfg.n_layers = 1;
    cfg.channels = 16;
    cfg.embed = 8;
    mrnet_model *m;
    assert_int_equal(mrnet_model_create(&cfg, 11, &m), MRNET_OK);
    assert_int_equal(mrnet_model_set_dropout(m, 0.3f), MRNET_OK);
    return m;
}

static float input[B * D * T];
static const int labels[B] = {0, 1, 2, 2, 1, 0};
static const float class_weight[K] = {1.0f, 2.0f, 0.5f};

typedef struct {
    member me;
    mrnet_model *model;
    double loss;
    mrnet_status st;
} half;

static void *run_half(void *arg)
{
    half *h = arg;
    omp_set_num_threads(1);
    int lo = h->me.rank * B / 2, n = B / 2;
    nn_allreduce sum = {nn_sum, &h->me, NULL, 0};
    h->st = model_set_data_parallel(h->model, &sum, true);
    model_set_first_sample(h->model, lo);
    mrnet_model_set_rng(h->model, 99);
    float logits[B * K];
    if (h->st == MRNET_OK)
        h->st = mrnet_forward(h->model, input + (size_t)lo * D * T, n, T, true, NULL, logits);
    if (h->st == MRNET_OK)
        h->st = mrnet_backward(h->model, labels + lo, class_weight, &h->loss);
    mrnet_collective c = collective_of(&h->me);
    c.sum_float(c.ctx, h->model->grads, h->model->n_params);
    c.sum_double(c.ctx, &h->loss, 1);
    return NULL;
}

static void split_batch_gives_the_whole_gradient(void **state)
{
    (void)state;
    uint64_t rng = 5;
    for (size_t i = 0; i < sizeof input / sizeof *input; i++)
        input[i] = (float)(rng = rng * 6364136223846793005ULL + 1442695040888963407ULL, (double)(rng >> 40) / (1 << 24) - 0.5);
    mrnet_model *whole = tiny_model();
    mrnet_model_set_rng(whole, 99);
    float logits[B * K];
    double loss;
    omp_set_num_threads(1);
    assert_int_equal(mrnet_forward(whole, input, B, T, true, NULL, logits), MRNET_OK);
    assert_int_equal(mrnet_backward(whole, labels, class_weight, &loss), MRNET_OK);

    shared *sh = calloc(1, sizeof *sh);
    pthread_barrier_init(&sh->barrier, NULL, 2);
    half h[2] = {{.me = {sh, 0}, .model = tiny_model()}, {.me = {sh, 1}, .model = tiny_model()}};
    pthread_t th[2];
    for (int r = 0; r < 2; r++)
        assert_int_equal(pthread_create(&th[r], NULL, run_half, &h[r]), 0);
    for (int r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < 2; r++)
        assert_int_equal(h[r].st, MRNET_OK);

    size_t n = whole->n_params;
    double scale = test_max_abs(whole->grads, n), diff = test_max_abs_diff(whole->grads, h[0].model->grads, n);
    if (!(diff <= 1e-5 * scale))
        fail_msg("split gradient differs by %.3g (largest gradient %.3g)", diff, scale);
    assert_true(fabs(h[0].loss - loss) <= 1e-6 * fabs(loss));
    /* both halves hold the same sums, and the running statistics of the whole batch */
    assert_true(test_max_abs_diff(h[0].model->grads, h[1].model->grads, n) == 0);
    double rdiff = test_max_abs_diff(whole->running, h[1].model->running, whole->n_running);
    if (!(rdiff <= 1e-5 * test_max_abs(whole->running, whole->n_running)))
        fail_msg("running statistics differ by %.3g", rdiff);
    mrnet_model_free(whole);
    for (int r = 0; r < 2; r++)
        mrnet_model_free(h[r].model);
    pthread_barrier_destroy(&sh->barrier);
    free(sh->facc);
    free(sh);
}

/* ---- agreement and the replica check ------------------------------------------ */

typedef struct {
    member me;
    mrnet_status st;
    char message[1024];
} agreeing;

static void *agree_one(void *arg)
{
    agreeing *a = arg;
    mrnet_collective c = collective_of(&a->me);
    mrnet_status mine = a->me.rank == 1 ? mrnet_fail(MRNET_ERR_IO, "disk full on this one") : MRNET_OK;
    a->st = mrnet_collective_agree(&c, mine);
    snprintf(a->message, sizeof a->message, "%s", mrnet_last_error());
    return NULL;
}

static void failures_are_agreed(void **state)
{
    (void)state;
    shared *sh = calloc(1, sizeof *sh);
    pthread_barrier_init(&sh->barrier, NULL, 2);
    agreeing a[2] = {{.me = {sh, 0}}, {.me = {sh, 1}}};
    pthread_t th[2];
    for (int r = 0; r < 2; r++)
        assert_int_equal(pthread_create(&th[r], NULL, agree_one, &a[r]), 0);
    for (int r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(a[r].st, MRNET_ERR_IO);
        if (!strstr(a[r].message, "rank 1: disk full on this one"))
            fail_msg("rank %d: '%s'", r, a[r].message);
    }
    /* one process: unchanged */
    mrnet_collective one = {0, 1, NULL, NULL, NULL, NULL};
    assert_int_equal(mrnet_collective_agree(&one, MRNET_ERR_ARG), MRNET_ERR_ARG);
    assert_int_equal(mrnet_collective_agree(NULL, MRNET_OK), MRNET_OK);
    pthread_barrier_destroy(&sh->barrier);
    free(sh);
}

typedef struct {
    member me;
    const char *store, *run; /* test_path is not for threads: made before */
    mrnet_status st;
    char message[1024];
} training;

static void *train_one(void *arg)
{
    training *t = arg;
    omp_set_num_threads(1);
    mrnet_collective c = collective_of(&t->me);
    mrnet_train_options o;
    sx_tiny_options(&o, t->run, 2);
    o.comm = &c;
    mrnet_train_result r;
    t->st = mrnet_train(t->store, &o, &r);
    snprintf(t->message, sizeof t->message, "%s", mrnet_last_error());
    return NULL;
}

/* The check at every epoch's end compares each replica's weights with rank
 * 0's: a difference (here, a hash changed in transit) stops both. */
static void differing_replicas_stop_the_run(void **state)
{
    (void)state;
    const char *store = sx_make_store("tones", "store");
    static char run[700];
    snprintf(run, sizeof run, "%s", test_path("replicas"));
    for (int corrupt = 0; corrupt < 2; corrupt++) {
        shared *sh = calloc(1, sizeof *sh);
        pthread_barrier_init(&sh->barrier, NULL, 2);
        sh->corrupt_hash = corrupt;
        training t[2] = {{.me = {sh, 0}, .store = store, .run = run}, {.me = {sh, 1}, .store = store, .run = run}};
        pthread_t th[2];
        for (int r = 0; r < 2; r++)
            assert_int_equal(pthread_create(&th[r], NULL, train_one, &t[r]), 0);
        for (int r = 0; r < 2; r++)
            pthread_join(th[r], NULL);
        for (int r = 0; r < 2; r++) {
            if (!corrupt && t[r].st != MRNET_OK)
                fail_msg("rank %d: %s", r, t[r].message);
            if (corrupt && (t[r].st != MRNET_ERR_NUMERIC || !strstr(t[r].message, "rank 1:") ||
                            !strstr(t[r].message, "differ from rank 0")))
                fail_msg("rank %d: status %d, '%s'", r, t[r].st, t[r].message);
        }
        pthread_barrier_destroy(&sh->barrier);
        free(sh->facc);
        free(sh);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_batch_gives_the_whole_gradient),
        cmocka_unit_test(failures_are_agreed),
        cmocka_unit_test(differing_replicas_stop_the_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
