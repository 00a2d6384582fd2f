/* Data-parallel training (mrnet/parallel.h): what the loop does differently
 * when several processes share each batch. Every process holds the whole
 * model and optimizer; process r computes examples [lo, hi) of each global
 * batch (trainer_slice), the gradients are summed, and every process takes
 * the same AdamW step, so the replicas stay equal without sending weights. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "model/model.h"
#include "tensor/error.h"
#include "train/trainer_internal.h"

bool trainer_is_root(const trainer *t) { return !t->comm || t->comm->rank == 0; }

int trainer_ranks(const trainer *t) { return t->comm ? t->comm->size : 1; }

batch_slice trainer_slice(const trainer *t, int B)
{
    int r = t->comm ? t->comm->rank : 0, n = trainer_ranks(t);
    return (batch_slice){(int)((long)B * r / n), (int)((long)B * (r + 1) / n)};
}

mrnet_status trainer_agree(const trainer *t, mrnet_status st)
{
    return mrnet_collective_agree(t->comm, st);
}

double trainer_sum(const trainer *t, double v)
{
    if (trainer_ranks(t) > 1)
        t->comm->sum_double(t->comm->ctx, &v, 1);
    return v;
}

bool trainer_any(const trainer *t, bool flag) { return trainer_sum(t, flag ? 1.0 : 0.0) > 0; }

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The model's sums (batch statistics, the loss's weight sum), timed. */
static void nn_sum(void *ctx, double *buf, int n)
{
    trainer *t = ctx;
    double start = seconds_now();
    t->comm->sum_double(t->comm->ctx, buf, (size_t)n);
    t->comm_seconds += seconds_now() - start;
}

mrnet_status trainer_parallel_setup(trainer *t, int B)
{
    if (trainer_ranks(t) <= 1)
        return MRNET_OK;
    if (B < trainer_ranks(t))
        return mrnet_fail(MRNET_ERR_ARG, "a batch of %d cannot be shared by %d processes: use "
                          "--batch %d or more, or fewer processes", B, trainer_ranks(t),
                          trainer_ranks(t));
    nn_allreduce sum = {nn_sum, t, NULL, 0};
    return model_set_data_parallel(t->model, &sum, t->opt->sync_bn);
}

/* After the backward: the batch's gradient is the sum of the slices'
 * (each slice's loss was divided by the whole batch's weight sum). With
 * per-process batch statistics the running statistics differ by process;
 * their mean keeps the replicas equal (what evaluation uses). */
void trainer_sum_gradients(trainer *t)
{
    int n = trainer_ranks(t);
    if (n <= 1)
        return;
    mrnet_model *m = t->model;
    double start = seconds_now();
    t->comm->sum_float(t->comm->ctx, m->grads, m->n_params);
    if (!t->opt->sync_bn && m->n_running) {
        t->comm->sum_float(t->comm->ctx, m->running, m->n_running);
        for (size_t i = 0; i < m->n_running; i++)
            m->running[i] /= (float)n;
    }
    t->comm_seconds += seconds_now() - start;
}

/* FNV-1a over the bytes of the parameters and running statistics. */
static uint64_t replica_hash(const mrnet_model *m)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = (const unsigned char *)m->params;
    for (size_t i = 0; i < m->n_params * sizeof(float); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    p = (const unsigned char *)m->running;
    for (size_t i = 0; i < m->n_running * sizeof(float); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* Once an epoch: every replica must hold rank 0's weights bit for bit (the
 * sums give every process the same bits; this catches an MPI whose
 * reductions do not). A difference is an error, not something to paper over. */
mrnet_status trainer_check_replicas(const trainer *t)
{
    if (trainer_ranks(t) <= 1)
        return MRNET_OK;
    uint64_t mine = replica_hash(t->model), root = mine;
    t->comm->broadcast(t->comm->ctx, &root, sizeof root, 0);
    mrnet_status st = mine == root ? MRNET_OK
                                   : mrnet_fail(MRNET_ERR_NUMERIC, "epoch %d: this process's "
                                                "weights differ from rank 0's (the MPI sums are "
                                                "not the same on every process)", t->epoch);
    return trainer_agree(t, st);
}
