/* mrnet_audio_decode (libsndfile, then soxr to 16 kHz) on the input as a
 * file: probe, then decode of at most 2 s, mono. */
#include <mrnet/audio.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_write(path, sizeof path, "in.audio", data, size);
    mrnet_audio_info info;
    (void)mrnet_audio_probe(path, &info);
    mrnet_audio_options opt;
    mrnet_audio_options_default(&opt);
    opt.channels = MRNET_CHANNELS_MONO;
    opt.duration = 2.0;
    mrnet_audio a;
    memset(&a, 0, sizeof a);
    if (mrnet_audio_decode(path, &opt, &a) == MRNET_OK)
        mrnet_audio_free(&a);
    return 0;
}
