/* mrnet_dataset_read_manifest on the input as a CSV manifest, then label
 * finalisation as the loaders do. */
#include <mrnet/data.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_write(path, sizeof path, "manifest.csv", data, size);
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    if (mrnet_dataset_read_manifest(&ds, path) == MRNET_OK)
        (void)mrnet_dataset_finalize_labels(&ds, NULL, 0);
    mrnet_dataset_free(&ds);
    return 0;
}
