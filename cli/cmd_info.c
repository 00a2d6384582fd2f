/* mrnet info CHECKPOINT: configuration, size, labels and route weights. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet info CHECKPOINT [--in-channels S]\n"
            "Shows a checkpoint's configuration, parameter count, labels and route weights.\n"
            "  --in-channels S  audio channels of a release checkpoint without mrnet metadata\n");
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

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {{"in-channels", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    long in_channels = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 's' && cli_parse_int(optarg, 1, 64, &in_channels))
            continue;
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
    mrnet_model *m;
    mrnet_status st = mrnet_model_load(path, (int)in_channels, &m);
    if (st != MRNET_OK)
        return cli_fail("info", st);
    const mrnet_config *cfg = mrnet_model_config(m);
    mrnet_st_file *f; /* NULL only if the file changed since it loaded */
    (void)mrnet_st_open(path, &f);
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
