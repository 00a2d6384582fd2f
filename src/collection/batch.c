/* The batch runner: workers classify files out of order, the results leave
 * in input order. A ring of `depth` slots bounds how far ahead of the
 * oldest unreported file the workers may run, so memory does not grow with
 * the collection. Whichever thread finds the next result ready reports it
 * (one report at a time, outside the lock so that workers keep going while
 * the callback writes). */
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collection/collection.h"
#include "tensor/error.h"

typedef struct {
    bool ready;
    int index; /* into paths */
    mrnet_status status;
    char error[1024];
    mrnet_classify_info info;
    float *probs, *embedding; /* (K), (E) */
    int n_windows, cap_windows;
    double *spans;       /* (cap, 2) */
    float *window_probs; /* (cap, K) */
    bool windows_short;  /* a timeline append ran out of memory */
    int K;
} slot;

typedef struct {
    mrnet_classifier *const *classifiers;
    const char *const *paths;
    const int *queue; /* indices of the files to do, in order */
    int n_queue, depth, K, E;
    slot *slots;
    const mrnet_batch_options *opt;
    mrnet_batch_fn fn;
    void *ctx;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int next_take, next_emit;
    bool emitting, stopped, interrupted;
    mrnet_status fatal;
    char fatal_msg[1024];
} batch;

static void on_window(void *ctx, double start, double end, const float *probs)
{
    slot *s = ctx;
    if (s->windows_short)
        return;
    if (s->n_windows == s->cap_windows) {
        int cap = s->cap_windows ? 2 * s->cap_windows : 64;
        double *spans = realloc(s->spans, sizeof *spans * 2 * (size_t)cap);
        if (spans)
            s->spans = spans;
        float *wp = spans ? realloc(s->window_probs, sizeof *wp * (size_t)cap * (size_t)s->K) : NULL;
        if (wp)
            s->window_probs = wp;
        if (!spans || !wp) {
            s->windows_short = true;
            return;
        }
        s->cap_windows = cap;
    }
    s->spans[2 * s->n_windows] = start;
    s->spans[2 * s->n_windows + 1] = end;
    memcpy(s->window_probs + (size_t)s->n_windows * s->K, probs, sizeof(float) * (size_t)s->K);
    s->n_windows++;
}

static void classify_into(batch *b, mrnet_classifier *c, slot *s)
{
    const char *path = b->paths[s->index];
    s->n_windows = 0;
    s->windows_short = false;
    s->error[0] = '\0';
    s->status = mrnet_classify_file_info(c, path, &b->opt->classify, s->probs, s->embedding,
                                         b->opt->want_windows ? on_window : NULL, s, &s->info);
    if (s->status == MRNET_OK && s->windows_short)
        s->status = mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory for its timeline", path);
    if (s->status != MRNET_OK)
        snprintf(s->error, sizeof s->error, "%s", mrnet_last_error());
}

/* Reports every result that is next in order, unless another thread is at it.
 * Called and returns with the lock held. */
static void emit_ready(batch *b)
{
    while (!b->emitting && !b->stopped && b->next_emit < b->n_queue && b->slots[b->next_emit % b->depth].ready) {
        slot *s = &b->slots[b->next_emit % b->depth];
        if (s->status == MRNET_ERR_NOMEM) { /* not the file's fault: the run stops */
            b->fatal = MRNET_ERR_NOMEM;
            snprintf(b->fatal_msg, sizeof b->fatal_msg, "%s", s->error);
            b->stopped = true;
            break;
        }
        b->emitting = true;
        pthread_mutex_unlock(&b->lock);
        mrnet_batch_result r = {.index = s->index, .path = b->paths[s->index], .status = s->status,
                                .error = s->error, .warning = s->info.warning, .seconds = s->info.seconds,
                                .probs = s->status == MRNET_OK ? s->probs : NULL,
                                .embedding = s->status == MRNET_OK ? s->embedding : NULL,
                                .n_windows = s->status == MRNET_OK ? s->n_windows : 0, .spans = s->spans,
                                .window_probs = s->window_probs};
        int rc = b->fn(b->ctx, &r);
        pthread_mutex_lock(&b->lock);
        b->emitting = false;
        s->ready = false;
        b->next_emit++;
        if (rc) {
            b->stopped = true;
            b->interrupted = true;
        }
        pthread_cond_broadcast(&b->changed);
    }
}

static void work(batch *b, int worker)
{
    mrnet_classifier *c = b->classifiers[worker];
    pthread_mutex_lock(&b->lock);
    for (;;) {
        if (!b->stopped && b->opt->stop && *b->opt->stop) {
            b->stopped = true;
            b->interrupted = true;
            pthread_cond_broadcast(&b->changed);
        }
        while (!b->stopped && b->next_take < b->n_queue && b->next_take >= b->next_emit + b->depth)
            pthread_cond_wait(&b->changed, &b->lock);
        if (b->stopped || b->next_take >= b->n_queue)
            break;
        int q = b->next_take++;
        slot *s = &b->slots[q % b->depth];
        s->index = b->queue[q];
        pthread_mutex_unlock(&b->lock);
        classify_into(b, c, s);
        pthread_mutex_lock(&b->lock);
        s->ready = true;
        emit_ready(b);
        pthread_cond_broadcast(&b->changed);
    }
    /* the last worker out reports what others left ready */
    emit_ready(b);
    pthread_cond_broadcast(&b->changed);
    pthread_mutex_unlock(&b->lock);
}

static void free_slots(slot *slots, int n)
{
    for (int i = 0; slots && i < n; i++) {
        free(slots[i].probs);
        free(slots[i].embedding);
        free(slots[i].spans);
        free(slots[i].window_probs);
    }
    free(slots);
}

static mrnet_status make_slots(batch *b)
{
    b->slots = calloc((size_t)b->depth, sizeof *b->slots);
    if (!b->slots)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for the batch");
    for (int i = 0; i < b->depth; i++) {
        slot *s = &b->slots[i];
        s->K = b->K;
        s->probs = malloc(sizeof(float) * (size_t)b->K);
        s->embedding = malloc(sizeof(float) * (size_t)b->E);
        if (!s->probs || !s->embedding)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for the batch");
    }
    return MRNET_OK;
}

static mrnet_status check_args(mrnet_classifier *const *classifiers, int n_workers, const char *const *paths,
                               int n_paths, const mrnet_batch_options *opt, mrnet_batch_fn fn)
{
    if (!classifiers || n_workers < 1 || n_paths < 0 || (n_paths > 0 && !paths) || !opt || !fn)
        return mrnet_fail(MRNET_ERR_ARG, "batch: classifiers, paths, options and a callback are needed");
    for (int i = 0; i < n_workers; i++)
        if (!classifiers[i])
            return mrnet_fail(MRNET_ERR_ARG, "batch: classifier %d is missing", i);
    int K = mrnet_classifier_classes(classifiers[0]), E = mrnet_classifier_embed_size(classifiers[0]);
    for (int i = 1; i < n_workers; i++)
        if (mrnet_classifier_classes(classifiers[i]) != K || mrnet_classifier_embed_size(classifiers[i]) != E)
            return mrnet_fail(MRNET_ERR_ARG, "batch: the classifiers are not of one model");
    return MRNET_OK;
}

mrnet_status mrnet_batch_run(mrnet_classifier *const *classifiers, int n_workers, const char *const *paths,
                             int n_paths, const bool *skip, const mrnet_batch_options *opt,
                             mrnet_batch_fn fn, void *ctx)
{
    MRNET_TRY(check_args(classifiers, n_workers, paths, n_paths, opt, fn));
    batch b = {.classifiers = classifiers, .paths = paths, .opt = opt, .fn = fn, .ctx = ctx,
               .K = mrnet_classifier_classes(classifiers[0]), .E = mrnet_classifier_embed_size(classifiers[0])};
    int *queue = malloc(sizeof(int) * (size_t)(n_paths ? n_paths : 1));
    if (!queue)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for %d files", n_paths);
    for (int i = 0; i < n_paths; i++)
        if (!skip || !skip[i])
            queue[b.n_queue++] = i;
    b.queue = queue;
    if (n_workers > b.n_queue)
        n_workers = b.n_queue > 0 ? b.n_queue : 1;
    b.depth = 4 * n_workers;
    mrnet_status st = make_slots(&b);
    if (st == MRNET_OK) {
        pthread_mutex_init(&b.lock, NULL);
        pthread_cond_init(&b.changed, NULL);
        if (n_workers == 1)
            work(&b, 0);
        else {
            /* An OpenMP team, not bare pthreads: inside it OpenBLAS and the
             * model's own loops run on one thread each instead of
             * oversubscribing the cores. */
#pragma omp parallel num_threads(n_workers)
            {
                omp_set_num_threads(1);
                work(&b, omp_get_thread_num());
            }
        }
        pthread_cond_destroy(&b.changed);
        pthread_mutex_destroy(&b.lock);
        if (b.fatal != MRNET_OK)
            st = mrnet_fail(b.fatal, "%s", b.fatal_msg);
        else if (b.interrupted)
            st = mrnet_fail(MRNET_ERR_INTERRUPTED, "stopped after %d of %d files", b.next_emit, b.n_queue);
    }
    free_slots(b.slots, b.depth);
    free(queue);
    return st;
}
