/* mrnet_fma_read with the input as fma_metadata/tracks.csv (audio folder
 * empty, so rows with a genre end as missing audio). */
#include <mrnet/data.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512], audio[512];
    fuzz_write(path, sizeof path, "tracks.csv", data, size);
    snprintf(audio, sizeof audio, "%s/fma_small", fuzz_dir());
    if (mkdir(audio, 0700) != 0 && errno != EEXIST)
        abort();
    mrnet_fma_options opt = {.subset = size && (data[0] & 1) ? MRNET_FMA_LARGE : MRNET_FMA_SMALL,
                             .tracks_csv = path, .audio_dir = audio, .ext = "mp3"};
    mrnet_fma_report rep;
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    (void)mrnet_fma_read(&ds, fuzz_dir(), &opt, &rep);
    mrnet_dataset_free(&ds);
    return 0;
}
