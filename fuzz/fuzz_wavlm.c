/* mrnet_wavlm_load on the input as a WavLM weights file. */
#include <mrnet/frontend.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_write(path, sizeof path, "wavlm.safetensors", data, size);
    mrnet_wavlm *m = NULL;
    if (mrnet_wavlm_load(path, &m) == MRNET_OK)
        mrnet_wavlm_free(m);
    return 0;
}
