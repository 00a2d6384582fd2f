/* mrnet_store_open on a folder whose index.jsonl is the input. */
#include <mrnet/store.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_write(path, sizeof path, "index.jsonl", data, size);
    mrnet_store *s = NULL;
    if (mrnet_store_open(fuzz_dir(), &s) == MRNET_OK)
        mrnet_store_close(s);
    return 0;
}
