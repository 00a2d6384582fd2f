/* mrnet_melon_read with the input as song_meta.json, or, when it holds a
 * form feed, the part before it as genre_gn_all.json and the rest as
 * song_meta.json. No .npy is checked (skip_file_check). */
#include <mrnet/data.h>
#include "fuzz_common.h"

static const char default_genres[] = "{\"GN0100\":\"Ballad\",\"GN0200\":\"Dance\",\"GN0300\":\"Rap\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char meta[512], genres[512];
    const uint8_t *split = memchr(data, '\f', size);
    if (split) {
        fuzz_write(genres, sizeof genres, "genre_gn_all.json", data, (size_t)(split - data));
        fuzz_write(meta, sizeof meta, "song_meta.json", split + 1, size - (size_t)(split - data) - 1);
    } else {
        fuzz_write(genres, sizeof genres, "genre_gn_all.json", (const uint8_t *)default_genres,
                   sizeof default_genres - 1);
        fuzz_write(meta, sizeof meta, "song_meta.json", data, size);
    }
    mrnet_melon_options opt = {.song_meta = meta, .genre_names = genres, .mel_dir = fuzz_dir(),
                               .policy = size && (data[size - 1] & 1) ? MELON_LABEL_FIRST : MELON_LABEL_SINGLE,
                               .k_folds = size && (data[0] & 1) ? 3 : 0, .seed = 1, .skip_file_check = true};
    mrnet_melon_report rep;
    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    (void)mrnet_melon_read(&ds, fuzz_dir(), &opt, &rep);
    mrnet_dataset_free(&ds);
    return 0;
}
