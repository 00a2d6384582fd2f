/* mrnet forward: runs a checkpoint on a safetensors input; with
 * --train-step also one training step, writing every gradient, the running
 * statistics and the parameters after AdamW, for comparison with PyTorch. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>

typedef struct {
    const char *checkpoint, *input, *output;
    bool train_step;
    double dropout, lr, weight_decay;
    unsigned long long seed;
    const char *drop_routes;
    long in_channels;
} forward_options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet forward CHECKPOINT INPUT.safetensors -o OUT.safetensors [options]\n"
            "INPUT holds 'input' (B,S,L,T,D) float32; for --train-step also 'labels' (B) int\n"
            "and optionally 'class_weight' (K) float32.\n"
            "Writes 'embedding' (B,E) and 'logits' (B,K) (eval mode), or with --train-step the\n"
            "training-mode outputs, 'loss', 'grad.<param>', 'running.<buffer>' and\n"
            "'param_after_step.<param>' after one AdamW (amsgrad) step.\n"
            "  --train-step         one training step instead of evaluation\n"
            "  --dropout P          dropout probability in the step (default 0.5)\n"
            "  --lr X               learning rate (default 1e-3)\n"
            "  --weight-decay Y     AdamW weight decay (default 1e-4)\n"
            "  --seed N             dropout seed (default 0)\n"
            "  --drop-route LIST    routes switched off, e.g. L1,M2 (default: the checkpoint's)\n"
            "  --in-channels S      audio channels of a release checkpoint without metadata\n");
}

static int parse(int argc, char **argv, forward_options *o)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},     {"train-step", no_argument, 0, 't'},
        {"dropout", required_argument, 0, 'p'},    {"lr", required_argument, 0, 'l'},
        {"weight-decay", required_argument, 0, 'w'}, {"seed", required_argument, 0, 's'},
        {"drop-route", required_argument, 0, 'r'}, {"in-channels", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    *o = (forward_options){.dropout = 0.5, .lr = 1e-3, .weight_decay = 1e-4};
    int c;
    long seed = 0;
    int index = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, &index)) != -1) {
        bool ok = true;
        switch (c) {
        case 'o': o->output = optarg; break;
        case 't': o->train_step = true; break;
        case 'p': ok = cli_parse_double(optarg, &o->dropout) && o->dropout >= 0 && o->dropout < 1; break;
        case 'l': ok = cli_parse_double(optarg, &o->lr) && o->lr >= 0; break;
        case 'w': ok = cli_parse_double(optarg, &o->weight_decay) && o->weight_decay >= 0; break;
        case 's': ok = cli_parse_int(optarg, 0, 0x7fffffffffffffffL, &seed); o->seed = (unsigned long long)seed; break;
        case 'r': o->drop_routes = optarg; break;
        case 'c': ok = cli_parse_int(optarg, 1, 64, &o->in_channels); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok)
            return cli_error("forward", 2, "bad value '%s' for --%s", optarg, opts[index].name);
    }
    if (optind + 2 != argc || !o->output) {
        usage(stderr);
        return 2;
    }
    o->checkpoint = argv[optind];
    o->input = argv[optind + 1];
    return -1;
}

/* Reads labels (B) as int64 or int32 into ints, each in [0, K). */
static mrnet_status read_labels(const mrnet_st_file *f, int B, int K, int *labels)
{
    const mrnet_st_tensor *t = mrnet_st_find(f, "labels");
    if (!t)
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: tensor 'labels' is missing (needed for --train-step)",
                          f->path);
    if (t->ndim != 1 || t->shape[0] != B || (t->dtype != MRNET_I64 && t->dtype != MRNET_I32))
        return mrnet_fail(MRNET_ERR_SHAPE, "%s: 'labels' must be int64 or int32 of shape (%d)",
                          f->path, B);
    for (int b = 0; b < B; b++) {
        int64_t v;
        if (t->dtype == MRNET_I64)
            memcpy(&v, (const char *)t->data + 8 * b, 8);
        else {
            int32_t v32;
            memcpy(&v32, (const char *)t->data + 4 * b, 4);
            v = v32;
        }
        /* Checked here, not left to the backward: it would see the value
         * after the cast to int and could not name the file. */
        if (v < 0 || v >= K)
            return mrnet_fail(MRNET_ERR_ARG, "%s: labels[%d] = %lld is not a class in [0, %d)",
                              f->path, b, (long long)v, K);
        labels[b] = (int)v;
    }
    return MRNET_OK;
}

typedef struct {
    mrnet_model *model;
    mrnet_st_file *in;
    float *embedding, *logits, loss, *params_before;
    int *labels;
    char **names;
    int n_names;
} forward_run;

static mrnet_status add_named(mrnet_st_writer *w, forward_run *r, const char *prefix,
                              const mrnet_tensor_info *t, const float *data)
{
    char name[300];
    snprintf(name, sizeof name, "%s%s", prefix, t->name);
    char *copy = strdup(name);
    if (!copy)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    r->names[r->n_names++] = copy;
    return mrnet_st_writer_add(w, copy, MRNET_F32, t->ndim, t->shape, data);
}

static mrnet_status write_outputs(forward_run *r, const forward_options *o, int B, mrnet_st_writer *w)
{
    const mrnet_config *cfg = mrnet_model_config(r->model);
    MRNET_TRY(mrnet_st_writer_add(w, "embedding", MRNET_F32, 2, (int64_t[]){B, cfg->embed}, r->embedding));
    MRNET_TRY(mrnet_st_writer_add(w, "logits", MRNET_F32, 2, (int64_t[]){B, cfg->classes}, r->logits));
    if (!o->train_step)
        return MRNET_OK;
    MRNET_TRY(mrnet_st_writer_add(w, "loss", MRNET_F32, 0, NULL, &r->loss));
    int n = mrnet_model_tensor_count(r->model);
    static const char *const prefixes[3] = {"grad.", "running.", "param_after_step."};
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < n; i++) {
            const mrnet_tensor_info *t = mrnet_model_tensor(r->model, i);
            if (t->kind == (pass == 1 ? MRNET_TENSOR_RUNNING_STAT : MRNET_TENSOR_PARAMETER))
                MRNET_TRY(add_named(w, r, prefixes[pass], t, pass == 0 ? t->grad : t->data));
        }
    return MRNET_OK;
}

static mrnet_status run(forward_run *r, const forward_options *o)
{
    MRNET_TRY(mrnet_model_load(o->checkpoint, (int)o->in_channels, &r->model));
    const mrnet_config *cfg = mrnet_model_config(r->model);
    if (o->drop_routes) {
        unsigned mask;
        mrnet_status st = mrnet_parse_routes(o->drop_routes, &mask);
        if (st != MRNET_OK)
            return mrnet_fail_context(st, "--drop-route");
        MRNET_TRY(mrnet_model_set_drop_routes(r->model, mask));
    }
    MRNET_TRY(mrnet_st_open(o->input, &r->in));
    const float *x;
    int64_t want[5] = {-1, cfg->in_channels, cfg->n_layers, -1, cfg->in_dim};
    MRNET_TRY(mrnet_st_get_f32(r->in, "input", 5, want, &x));
    const mrnet_st_tensor *t = mrnet_st_find(r->in, "input");
    int B = (int)t->shape[0], T = (int)t->shape[3];
    r->embedding = malloc((size_t)B * cfg->embed * sizeof(float));
    r->logits = malloc((size_t)B * cfg->classes * sizeof(float));
    r->labels = malloc((size_t)B * sizeof(int));
    r->names = calloc((size_t)mrnet_model_tensor_count(r->model) * 3, sizeof(char *));
    if (!r->embedding || !r->logits || !r->labels || !r->names)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory for a batch of %d", B);
    MRNET_TRY(mrnet_model_reserve(r->model, B, T));
    mrnet_status st;
    if (!o->train_step) {
        st = mrnet_forward(r->model, x, B, T, false, r->embedding, r->logits);
        return st == MRNET_OK ? st : mrnet_fail_context(st, "%s", o->input);
    }

    MRNET_TRY(read_labels(r->in, B, cfg->classes, r->labels));
    const float *class_weight = NULL;
    if (mrnet_st_find(r->in, "class_weight"))
        MRNET_TRY(mrnet_st_get_f32(r->in, "class_weight", 1, (int64_t[]){cfg->classes}, &class_weight));
    MRNET_TRY(mrnet_model_set_dropout(r->model, (float)o->dropout));
    mrnet_model_set_rng(r->model, o->seed);
    st = mrnet_forward(r->model, x, B, T, true, r->embedding, r->logits);
    if (st != MRNET_OK) /* the input's values or batch size */
        return mrnet_fail_context(st, "%s", o->input);
    double loss;
    MRNET_TRY(mrnet_backward(r->model, r->labels, class_weight, &loss));
    r->loss = (float)loss;
    mrnet_adamw *opt;
    size_t n = mrnet_model_param_count(r->model, true);
    MRNET_TRY(mrnet_adamw_create(n, 0.9, 0.999, 1e-8, o->weight_decay, true, &opt));
    st = mrnet_adamw_set_no_decay(opt, r->model); /* as training does */
    if (st == MRNET_OK)
        mrnet_adamw_step(opt, mrnet_model_params(r->model), mrnet_model_grads(r->model), o->lr);
    mrnet_adamw_free(opt);
    return st;
}

int cmd_forward(int argc, char **argv)
{
    forward_options o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    forward_run r = {0};
    mrnet_status st = !strcmp(o.output, "-")
                          ? mrnet_fail(MRNET_ERR_ARG, "-o -: forward writes safetensors, not standard output")
                          : cli_output_not_input("-o", o.output, (const char *const[]){o.checkpoint, o.input}, 2);
    if (st == MRNET_OK)
        st = run(&r, &o);
    mrnet_st_writer *w = NULL;
    if (st == MRNET_OK) {
        w = mrnet_st_writer_create();
        st = w ? write_outputs(&r, &o, (int)mrnet_st_find(r.in, "input")->shape[0], w)
               : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    }
    if (st == MRNET_OK)
        st = mrnet_st_writer_save(w, o.output);
    mrnet_st_writer_free(w);
    for (int i = 0; i < r.n_names; i++)
        free(r.names[i]);
    free(r.names);
    free(r.embedding);
    free(r.logits);
    free(r.labels);
    mrnet_st_close(r.in);
    mrnet_model_free(r.model);
    return st == MRNET_OK ? 0 : cli_fail("forward", st);
}
