/* model_info: what a checkpoint holds, through the installed library only.
 *
 *   model_info CHECKPOINT [IN_CHANNELS]
 *
 * Prints the library version, the configuration as JSON, the parameter
 * counts, the class labels and the learned route weights. IN_CHANNELS (S)
 * is only needed for a bare release file whose S cannot be inferred (see
 * mrnet_model_load). Exit status: 0 on success, 1 if the checkpoint cannot
 * be loaded (the library's message names the file and the problem), 2 on a
 * usage error. */
#include <stdio.h>
#include <stdlib.h>

#include <mrnet/mrnet.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s CHECKPOINT [IN_CHANNELS]\n", argv[0]);
        return 2;
    }
    int in_channels = 0;
    if (argc == 3) {
        char *end;
        long s = strtol(argv[2], &end, 10);
        if (*argv[2] == '\0' || *end != '\0' || s < 1 || s > 64) {
            fprintf(stderr, "%s: IN_CHANNELS must be an integer from 1 to 64, not '%s'\n",
                    argv[0], argv[2]);
            return 2;
        }
        in_channels = (int)s;
    }

    /* The header's version is the one compiled against; mrnet_version() the
     * one running: they differ when the program meets another libmrnet.so. */
    printf("library     %s (headers %s)\n", mrnet_version(), MRNET_VERSION_STRING);

    mrnet_model *model;
    if (mrnet_model_load(argv[1], in_channels, &model) != MRNET_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], mrnet_last_error());
        return 1;
    }
    const mrnet_config *cfg = mrnet_model_config(model);
    char json[512];
    if (mrnet_config_to_json(cfg, json, sizeof json) != MRNET_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], mrnet_last_error());
        mrnet_model_free(model);
        return 1;
    }
    printf("checkpoint  %s\n", argv[1]);
    printf("config      %s\n", json);
    printf("parameters  %zu (%zu with the classifier head)\n",
           mrnet_model_param_count(model, false), mrnet_model_param_count(model, true));

    /* Labels are stored for all classes or for none. */
    printf("labels     ");
    if (!mrnet_model_label(model, 0))
        printf(" (none stored)");
    for (int k = 0; k < cfg->classes && mrnet_model_label(model, k); k++)
        printf(" %s", mrnet_model_label(model, k));
    printf("\n");

    /* the gate R softmax(w_all) for an after-norm model, else w_all */
    const float *w = mrnet_model_route_weights(model);
    printf("routes %-4s", cfg->route_weights == MRNET_ROUTE_WEIGHTS_AFTER_NORM ? "gate" : "");
    for (int r = 0; r < MRNET_ROUTES; r++)
        printf(" %s=%.5f", mrnet_route_name(r), w[r]);
    printf("\n");

    mrnet_model_free(model);
    return 0;
}
