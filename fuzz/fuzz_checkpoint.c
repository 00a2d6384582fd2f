/* mrnet_model_load with configuration inference (no hint, then a hint of 2
 * input channels from the first byte) on the input as a checkpoint. */
#include <mrnet/model.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_write(path, sizeof path, "in.ckpt.safetensors", data, size);
    mrnet_model *m = NULL;
    int hint = size > 0 && (data[0] & 1) ? 2 : 0;
    if (mrnet_model_load(path, hint, &m) == MRNET_OK)
        mrnet_model_free(m);
    return 0;
}
