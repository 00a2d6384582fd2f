#include "data/gtzan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/decode.h"
#include "data/datautil.h"
#include "data/folds.h"
#include "tensor/error.h"

const char *const gtzan_genres[GTZAN_GENRES] = {"blues", "classical", "country", "disco",
                                                "hiphop", "jazz", "metal", "pop",
                                                "reggae", "rock"};

static int genre_index(const char *name)
{
    for (int i = 0; i < GTZAN_GENRES; i++)
        if (strcmp(name, gtzan_genres[i]) == 0)
            return i;
    return -1;
}

char *gtzan_find_genres_dir(const char *root)
{
    static const char *const candidates[] = {"genres_original", "Data/genres_original", "genres",
                                             ""};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        char *dir = candidates[i][0] ? mrnet_path_join(root, candidates[i]) : data_strdup(root);
        if (!dir) {
            mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
            return NULL;
        }
        char *blues = mrnet_path_join(dir, "blues");
        bool ok = blues && path_is_dir(blues);
        free(blues);
        if (ok)
            return dir;
        free(dir);
    }
    mrnet_fail(MRNET_ERR_IO,
               "%s: not a GTZAN root (no genres_original/blues, Data/genres_original/blues, "
               "genres/blues or blues folder)",
               root);
    return NULL;
}

/* "blues.00012" in folder "blues": the stem is <genre>.<digits>. */
static bool name_matches_genre(const char *path, const char *genre)
{
    char stem[512];
    path_stem(path, stem, sizeof stem);
    size_t g = strlen(genre);
    if (strncmp(stem, genre, g) != 0 || stem[g] != '.' || !stem[g + 1])
        return false;
    for (const char *p = stem + g + 1; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

static mrnet_status check_item(mrnet_dataset *ds, const mrnet_dataset_item *it, bool check_audio)
{
    char reason[1024];
    if (genre_index(it->label) < 0) {
        snprintf(reason, sizeof reason, "'%.200s' is not a GTZAN genre folder", it->label);
        return mrnet_dataset_skip_add(ds, it->path, reason);
    }
    if (!name_matches_genre(it->path, it->label)) {
        snprintf(reason, sizeof reason, "name does not follow %s/%s.NNNNN.wav", it->label,
                 it->label);
        return mrnet_dataset_skip_add(ds, it->path, reason);
    }
    char why[512];
    if (check_audio && !audio_is_readable(it->path, why, sizeof why)) {
        bool known = strstr(it->path, "jazz.00054") != NULL;
        snprintf(reason, sizeof reason, "%s%s", why,
                 known ? " (the Kaggle copy of jazz.00054.wav is known to be corrupt: replace "
                         "it with the original jazz.00054.au converted to WAV, or leave it out)"
                       : "");
        return mrnet_dataset_skip_add(ds, it->path, reason);
    }
    return mrnet_dataset_add(ds, it->path, it->label, it->split, it->fold, it->id);
}

mrnet_status mrnet_gtzan_read(mrnet_dataset *ds, const char *root, const mrnet_gtzan_options *opt)
{
    mrnet_gtzan_options defaults = {0};
    if (!opt)
        opt = &defaults;
    if (ds->n_items != 0)
        return mrnet_fail(MRNET_ERR_ARG, "gtzan_read: the dataset must start empty");
    char *dir = gtzan_find_genres_dir(root);
    if (!dir)
        return MRNET_ERR_IO;
    mrnet_dataset all;
    mrnet_dataset_init(&all);
    mrnet_status st = mrnet_dataset_read_folder(&all, dir);
    free(dir);
    for (int i = 0; st == MRNET_OK && i < all.n_skipped; i++)
        st = mrnet_dataset_skip_add(ds, all.skipped[i].source, all.skipped[i].reason);
    for (int i = 0; st == MRNET_OK && i < all.n_items; i++)
        st = check_item(ds, &all.items[i], !opt->skip_audio_check);
    mrnet_dataset_free(&all);
    if (st == MRNET_OK && ds->n_items == 0)
        st = mrnet_fail(MRNET_ERR_FORMAT, "%s: no readable GTZAN files", root);
    if (st == MRNET_OK)
        st = mrnet_dataset_finalize_labels(ds, (char *const *)gtzan_genres, GTZAN_GENRES);
    if (st == MRNET_OK && opt->fold_dir)
        st = mrnet_folds_read_lists(ds, opt->fold_dir, NULL);
    if (st == MRNET_OK && (opt->train_list || opt->valid_list || opt->test_list))
        st = mrnet_folds_read_split_lists(ds, opt->train_list, opt->valid_list, opt->test_list);
    return st;
}

mrnet_status gtzan_write_folds(mrnet_dataset *ds, const char *root, const char *out_dir, int k,
                               uint64_t seed)
{
    MRNET_TRY(mrnet_folds_assign_stratified(ds, k, seed));
    return mrnet_folds_write_lists(ds, root, out_dir, k);
}
