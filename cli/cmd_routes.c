/* mrnet routes CHECKPOINT...: the learned route weights w_all (paper Fig. 3)
 * as a table and an SVG bar chart; several checkpoints side by side. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet routes CHECKPOINT... [--svg OUT.svg] [--names A,B,...] [--normalize]\n"
            "Shows the learned route weights (L1 L2 L3 H M1 M2 M3) of one checkpoint, or of\n"
            "several side by side (--compare is implied by several), e.g. a genre and a mood\n"
            "model.\n"
            "  --svg FILE       a bar chart (grouped by route, one bar per checkpoint)\n"
            "  --names LIST     legend names (default: the file names)\n"
            "  --normalize      divide each checkpoint's weights by their sum of |w|\n");
}

/* "dir/name.safetensors" -> "dir/name" for legends. */
static char *short_name(const char *path)
{
    char *s = strdup(path);
    char *dot = s ? strrchr(s, '.') : NULL;
    if (dot && !strcmp(dot, ".safetensors"))
        *dot = '\0';
    return s;
}

int cmd_routes(int argc, char **argv)
{
    static const struct option opts[] = {{"svg", required_argument, 0, 's'},
                                         {"names", required_argument, 0, 'n'},
                                         {"normalize", no_argument, 0, 'z'},
                                         {"compare", no_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *svg = NULL, *names_arg = NULL;
    bool normalize = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 's') svg = optarg;
        else if (c == 'n') names_arg = optarg;
        else if (c == 'z') normalize = true;
        else if (c == 'c') continue;
        else if (c == 'h') { usage(stdout); return 0; }
        else { usage(stderr); return 2; }
    }
    int n = argc - optind;
    if (n < 1) {
        usage(stderr);
        return 2;
    }
    mrnet_status guard = cli_output_not_input("--svg", svg, (const char *const *)argv + optind, n);
    if (guard != MRNET_OK)
        return cli_fail("routes", guard);
    double *values = calloc((size_t)n * MRNET_ROUTES, sizeof(double));
    char **names = calloc((size_t)n, sizeof(char *));
    unsigned *dropped = calloc((size_t)n, sizeof(unsigned));
    int rc = 0;
    char *list = names_arg ? strdup(names_arg) : NULL, *save = NULL;
    char *tok = list ? strtok_r(list, ",", &save) : NULL;
    for (int i = 0; i < n && rc == 0; i++, tok = tok ? strtok_r(NULL, ",", &save) : NULL) {
        mrnet_model *m;
        mrnet_status st = mrnet_model_load(argv[optind + i], 0, &m);
        if (st != MRNET_OK) {
            rc = cli_fail("routes", st);
            break;
        }
        const float *w = mrnet_model_route_weights(m);
        double sum = 0;
        for (int j = 0; j < MRNET_ROUTES; j++)
            sum += w[j] < 0 ? -w[j] : w[j];
        for (int j = 0; j < MRNET_ROUTES; j++)
            values[(size_t)i * MRNET_ROUTES + j] = normalize && sum > 0 ? w[j] / sum : w[j];
        dropped[i] = mrnet_model_drop_routes(m);
        names[i] = tok ? strdup(tok) : short_name(argv[optind + i]);
        mrnet_model_free(m);
    }
    if (rc == 0) {
        printf("%-6s", "route");
        for (int i = 0; i < n; i++)
            printf(" %14.14s", names[i]);
        printf("\n");
        for (int j = 0; j < MRNET_ROUTES; j++) {
            printf("%-6s", mrnet_route_name(j));
            for (int i = 0; i < n; i++)
                printf(" %13.5f%s", values[(size_t)i * MRNET_ROUTES + j],
                       (dropped[i] & (1u << j)) ? "x" : " ");
            printf("\n");
        }
        for (int i = 0; i < n; i++)
            if (dropped[i]) {
                printf("x: route switched off in training (ablation)\n");
                break;
            }
    }
    if (rc == 0 && svg) {
        const char *routes[MRNET_ROUTES];
        for (int j = 0; j < MRNET_ROUTES; j++)
            routes[j] = mrnet_route_name(j);
        mrnet_plot_bar_options o = {.title = normalize ? "Route weights (normalised)" : "Route weights w_all",
                             .x_label = "route", .y_label = "weight", .value_format = "%.3f"};
        mrnet_status st = mrnet_plot_bars(svg, &o, routes, MRNET_ROUTES,
                                        (const char *const *)names, values, n);
        rc = st == MRNET_OK ? 0 : cli_fail("routes", st);
        if (rc == 0)
            printf("chart: %s\n", svg);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(values);
    free(dropped);
    free(list);
    return rc;
}
