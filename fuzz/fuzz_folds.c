/* mrnet_folds_read_lists with the input as 1_fold.txt (and, from byte 0x0c
 * on, its rest as 2_fold.txt) over a small GTZAN-like set, and
 * mrnet_folds_read_split_lists with the input as the train list. */
#include <mrnet/data.h>
#include "fuzz_common.h"

static void make_set(mrnet_dataset *ds)
{
    static const char *genres[] = {"blues", "jazz", "rock"};
    mrnet_dataset_init(ds);
    for (int g = 0; g < 3; g++)
        for (int i = 0; i < 4; i++) {
            char p[128];
            snprintf(p, sizeof p, "/data/genres_original/%s/%s.%05d.wav", genres[g], genres[g], i);
            if (mrnet_dataset_add(ds, p, genres[g], NULL, -1, NULL) != MRNET_OK)
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/lists", fuzz_dir());
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        abort();
    const uint8_t *split = memchr(data, '\f', size);
    size_t n1 = split ? (size_t)(split - data) : size;
    fuzz_write(path, sizeof path, "lists/1_fold.txt", data, n1);
    snprintf(path, sizeof path, "%s/2_fold.txt", dir);
    if (split)
        fuzz_write(path, sizeof path, "lists/2_fold.txt", split + 1, size - n1 - 1);
    else
        unlink(path);
    mrnet_dataset ds;
    make_set(&ds);
    int k = 0;
    (void)mrnet_folds_read_lists(&ds, dir, &k);
    mrnet_dataset_free(&ds);

    make_set(&ds);
    fuzz_write(path, sizeof path, "train.txt", data, size);
    (void)mrnet_folds_read_split_lists(&ds, path, NULL, NULL);
    mrnet_dataset_free(&ds);
    return 0;
}
