/* mrnet info CHECKPOINT: configuration, size, labels and route weights. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet info CHECKPOINT [--in-channels S] [--json FILE]\n"
            "Shows a checkpoint's configuration, parameter count, labels, route weights, and\n"
            "what training recorded: the feature settings, the recipe, and the model card\n"
            "(task, data per class, the kept epoch's validation figures, mrnet's version,\n"
            "the date; checkpoints from before 0.1 carry no card).\n"
            "  --in-channels S  audio channels of a release checkpoint without mrnet metadata\n"
            "  --json FILE      all of it as one JSON object (- for standard output, instead\n"
            "                   of the text)\n"
            "exit status: 0 shown, 1 the checkpoint cannot be read, 2 usage\n");
}

/* The format version the file records; loading has checked it. */
static void print_format(const mrnet_st_file *f)
{
    if (!f)
        return;
    const char *version = mrnet_st_meta(f, "mrnet.format");
    if (version)
        printf("format       %s\n", version);
    else if (mrnet_st_meta(f, "mrnet.config"))
        printf("format       unversioned (written before 0.1)\n");
    else /* no mrnet metadata at all: the authors' state dicts, converted */
        printf("format       release state dict (configuration from the shapes)\n");
}

/* The model card's lines (training recorded it in best.safetensors). */
static void print_card(const char *text)
{
    cJSON *card = text ? cJSON_Parse(text) : NULL;
    if (!cJSON_IsObject(card)) {
        cJSON_Delete(card);
        return;
    }
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(card, "task");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(card, "created");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(card, "mrnet_version");
    const cJSON *store = cJSON_GetObjectItemCaseSensitive(card, "store");
    const cJSON *valid = cJSON_GetObjectItemCaseSensitive(card, "valid");
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(card, "epoch");
    printf("task         ");
    cli_print_text(stdout, cJSON_IsString(task) ? task->valuestring : "(not given: train --task)");
    printf("\ntrained      %s with mrnet %s\n", cJSON_IsString(created) ? created->valuestring : "?",
           cJSON_IsString(version) ? version->valuestring : "?");
    if (cJSON_IsString(store)) {
        printf("data         ");
        cli_print_text(stdout, store->valuestring);
        const cJSON *classes = cJSON_GetObjectItemCaseSensitive(card, "classes"), *c;
        printf(" (train/valid per class:");
        cJSON_ArrayForEach(c, classes) {
            const cJSON *label = cJSON_GetObjectItemCaseSensitive(c, "label");
            const cJSON *tr = cJSON_GetObjectItemCaseSensitive(c, "train");
            const cJSON *va = cJSON_GetObjectItemCaseSensitive(c, "valid");
            fputc(' ', stdout);
            cli_print_text(stdout, cJSON_IsString(label) ? label->valuestring : "?");
            printf(" %.0f/%.0f", cJSON_IsNumber(tr) ? tr->valuedouble : 0,
                   cJSON_IsNumber(va) ? va->valuedouble : 0);
        }
        printf(")\n");
    }
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(valid, "accuracy");
    const cJSON *f1 = cJSON_GetObjectItemCaseSensitive(valid, "macro_f1");
    if (cJSON_IsNumber(acc) && cJSON_IsNumber(f1))
        printf("validation   accuracy %.4f, macro-F1 %.4f at epoch %.0f (the kept one)\n",
               acc->valuedouble, f1->valuedouble, cJSON_IsNumber(epoch) ? epoch->valuedouble : 0);
    cJSON_Delete(card);
}

/* A metadata value that is JSON goes in parsed; anything else as a string. */
static void add_meta(cJSON *j, const char *key, const char *text)
{
    if (!text)
        return;
    cJSON *v = cJSON_Parse(text);
    if (!v)
        v = cJSON_CreateString(text);
    cJSON_AddItemToObject(j, key, v);
}

static cJSON *info_json(const char *path, const mrnet_model *m, const mrnet_st_file *f)
{
    const mrnet_config *cfg = mrnet_model_config(m);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "checkpoint", path);
    const char *format = f ? mrnet_st_meta(f, "mrnet.format") : NULL;
    if (format)
        cJSON_AddStringToObject(j, "format", format);
    char text[1024];
    if (mrnet_config_to_json(cfg, text, sizeof text) == MRNET_OK)
        add_meta(j, "config", text);
    cJSON *params = cJSON_AddObjectToObject(j, "parameters");
    cJSON_AddNumberToObject(params, "without_head", (double)mrnet_model_param_count(m, false));
    cJSON_AddNumberToObject(params, "with_head", (double)mrnet_model_param_count(m, true));
    cJSON *labels = cJSON_AddArrayToObject(j, "labels");
    for (int k = 0; k < cfg->classes && mrnet_model_label(m, k); k++)
        cJSON_AddItemToArray(labels, cJSON_CreateString(mrnet_model_label(m, k)));
    cJSON *rw = cJSON_AddObjectToObject(j, "route_weights");
    cJSON_AddStringToObject(rw, "placement", mrnet_route_weights_name(cfg->route_weights));
    const float *w = mrnet_model_route_weights(m);
    unsigned drop = mrnet_model_drop_routes(m);
    cJSON *values = cJSON_AddObjectToObject(rw, "values");
    cJSON *dropped = cJSON_AddArrayToObject(rw, "dropped");
    for (int r = 0; r < MRNET_ROUTES; r++) {
        cJSON_AddNumberToObject(values, mrnet_route_name(r), w[r]);
        if (drop & (1u << r))
            cJSON_AddItemToArray(dropped, cJSON_CreateString(mrnet_route_name(r)));
    }
    if (f) {
        const char *features = mrnet_st_meta(f, "mrnet.features");
        if (features)
            cJSON_AddStringToObject(j, "features", features);
        add_meta(j, "training", mrnet_st_meta(f, "mrnet.train"));
        add_meta(j, "card", mrnet_st_meta(f, "mrnet.card"));
    }
    return j;
}

static int write_info_json(const char *out, const char *path, const mrnet_model *m,
                           const mrnet_st_file *f)
{
    cJSON *j = info_json(path, m, f);
    char *printed = j ? cJSON_Print(j) : NULL;
    char *text = printed ? mrnet_utf8_sanitize(printed) : NULL; /* valid JSON whatever the paths' bytes */
    cJSON_free(printed);
    cJSON_Delete(j);
    if (!text)
        return cli_error("info", 1, "out of memory writing the JSON");
    cli_output o;
    mrnet_status st = cli_output_open(&o, out);
    if (st == MRNET_OK) {
        fputs(text, o.f);
        fputc('\n', o.f);
        st = cli_output_commit(&o);
    }
    free(text);
    return st == MRNET_OK ? 0 : cli_fail("info", st);
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {{"in-channels", required_argument, 0, 's'},
                                         {"json", required_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    long in_channels = 0;
    const char *json = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 's' && cli_parse_int(optarg, 1, 64, &in_channels))
            continue;
        if (c == 'j') {
            json = optarg;
            continue;
        }
        if (c == 's')
            return cli_error("info", 2, "bad value '%s' for --in-channels (1 to 64)", optarg);
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    const char *inputs[1] = {path};
    mrnet_status guard = cli_output_not_input("--json", json, inputs, 1);
    if (guard != MRNET_OK)
        return cli_fail("info", guard);
    mrnet_model *m;
    mrnet_status st = mrnet_model_load(path, (int)in_channels, &m);
    if (st != MRNET_OK)
        return cli_fail("info", st);
    const mrnet_config *cfg = mrnet_model_config(m);
    mrnet_st_file *f = NULL; /* NULL only if the file changed since it loaded */
    (void)mrnet_st_open(path, &f);
    if (json) {
        int rc = write_info_json(json, path, m, f);
        mrnet_st_close(f);
        mrnet_model_free(m);
        return rc;
    }
    printf("checkpoint   %s\n", path);
    print_format(f);
    printf("input        D %d x S %d channels x L %d layers (input tensor (B, %d, %d, T, %d))\n",
           cfg->in_dim, cfg->in_channels, cfg->n_layers, cfg->in_channels, cfg->n_layers,
           cfg->in_dim);
    printf("network      C %d, E %d, K %d classes, dilations %d %d %d, scale %d, SE groups %d\n",
           cfg->channels, cfg->embed, cfg->classes, cfg->dilations[0], cfg->dilations[1],
           cfg->dilations[2], cfg->scale, cfg->se_groups);
    printf("input norm   %s\n", cfg->input_norm == MRNET_INPUT_NORM_GLOBAL
                                    ? "global: per-feature mean and std of the training set (input_norm.*)"
                                    : "instance (the paper's: each example over its own frames)");
    printf("parameters   %zu without head, %zu with head\n", mrnet_model_param_count(m, false),
           mrnet_model_param_count(m, true));
    const mrnet_tensor_info *steps = mrnet_model_find_tensor(m, "fst_conv_bn.num_batches_tracked");
    printf("bn steps     %lld\n", steps ? (long long)*steps->count : 0LL);
    unsigned drop = mrnet_model_drop_routes(m);
    printf("labels      ");
    if (!mrnet_model_label(m, 0))
        printf(" (none stored)");
    for (int k = 0; k < cfg->classes && mrnet_model_label(m, k); k++) {
        fputc(' ', stdout);
        cli_print_text(stdout, mrnet_model_label(m, k));
    }
    printf("\n");
    if (f) { /* what training recorded */
        const char *features = mrnet_st_meta(f, "mrnet.features"), *train = mrnet_st_meta(f, "mrnet.train");
        if (features)
            printf("features     %s\n", features);
        if (train)
            printf("training     %s\n", train);
        print_card(mrnet_st_meta(f, "mrnet.card"));
        mrnet_st_close(f);
    }
    if (cfg->route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM)
        printf("route weights after-norm: the gate R*softmax(w_all) on bn5's output "
               "(1 = equal share)\n");
    else
        printf("route weights paper: w_all before bn5\n");
    const float *w = mrnet_model_route_weights(m);
    for (int j = 0; j < MRNET_ROUTES; j++)
        printf("  %-3s %9.5f%s\n", mrnet_route_name(j), w[j],
               (drop & (1u << j)) ? "  (dropped)" : "");
    mrnet_model_free(m);
    return 0;
}
