/* Training-state restore: the model part (mrnet_model_load) and the optimizer
 * and loop state (train_state_load) of a last.safetensors. */
#include <cjson/cJSON.h>
#include <mrnet/model.h>
#include "train/train_state.h"
#include "fuzz_common.h"

/* MRNET_FUZZ_MAKE_SEED=PATH: writes a small training state (a model of
 * width 16 and its AdamW state) to PATH and exits; tools/fuzz.sh seeds the
 * checkpoint, train_state and safetensors corpora with it. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *seed = getenv("MRNET_FUZZ_MAKE_SEED");
    if (!seed)
        return 0;
    mrnet_config cfg;
    mrnet_config_default(&cfg, 3);
    cfg.in_dim = 8;
    cfg.in_channels = 1;
    cfg.n_layers = 1;
    cfg.channels = 16;
    cfg.embed = 4;
    mrnet_model *m = NULL;
    mrnet_adamw *opt = NULL;
    cJSON *state = cJSON_Parse("{\"epoch\":1,\"next_batch\":0,\"best_epoch\":0,\"best_metric\":0.5}");
    int rc = mrnet_model_create(&cfg, 1, &m) == MRNET_OK &&
             mrnet_adamw_create(mrnet_model_param_count(m, true), 0.9, 0.999, 1e-8, 0.01, true, &opt) == MRNET_OK &&
             train_state_save(seed, m, opt, NULL, state, NULL) == MRNET_OK;
    if (!rc)
        fprintf(stderr, "%s: %s\n", seed, mrnet_last_error());
    cJSON_Delete(state);
    mrnet_adamw_free(opt);
    mrnet_model_free(m);
    exit(rc ? 0 : 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_write(path, sizeof path, "last.safetensors", data, size);
    mrnet_model *m = NULL;
    if (mrnet_model_load(path, 0, &m) != MRNET_OK)
        return 0;
    mrnet_adamw *opt = NULL;
    if (mrnet_adamw_create(mrnet_model_param_count(m, true), 0.9, 0.999, 1e-8, 0.01, true, &opt) == MRNET_OK) {
        cJSON *state = NULL;
        if (train_state_load(path, opt, NULL, &state) == MRNET_OK) {
            char *text = cJSON_PrintUnformatted(state);
            free(text);
        }
        cJSON_Delete(state);
        mrnet_adamw_free(opt);
    }
    mrnet_model_free(m);
    return 0;
}
