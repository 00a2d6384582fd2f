/* Reading a dataset as a spec says: which reader, its options, then fold
 * and split lists applied, folds and splits drawn, fold lists written. */
#include <mrnet/data.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/datautil.h"
#include "data/folds.h"
#include "data/melon.h"
#include "tensor/error.h"
#include "tensor/fileio.h"

static bool is_fma(const char *name)
{
    return name && !strncmp(name, "fma-", 4);
}

static mrnet_status read_fma(mrnet_dataset_spec *df, mrnet_dataset *ds, const char *input)
{
    mrnet_fma_options fo = {.tracks_csv = df->fma_tracks, .audio_dir = df->fma_audio, .check_audio = df->check_audio};
    if (!mrnet_fma_parse_subset(df->name + 4, &fo.subset))
        return mrnet_fail(MRNET_ERR_ARG, "unknown --dataset '%s' (fma-small, fma-medium, fma-large)", df->name);
    df->has_fma_report = true;
    return mrnet_fma_read(ds, input, &fo, &df->fma);
}

static mrnet_status read_named(mrnet_dataset_spec *df, mrnet_dataset *ds, const char *input)
{
    const char *name = df->name;
    if (!strcmp(name, "gtzan")) {
        mrnet_gtzan_options go = {.fold_dir = df->folds_dir, .train_list = df->train_list,
                            .valid_list = df->valid_list, .test_list = df->test_list};
        return mrnet_gtzan_read(ds, input, &go);
    }
    if (!strcmp(name, "melon")) {
        mrnet_melon_options mo = {.k_folds = df->melon_folds, .seed = df->seed};
        if (df->melon_label && !strcmp(df->melon_label, "first"))
            mo.policy = MELON_LABEL_FIRST;
        df->has_melon_report = true;
        return mrnet_melon_read(ds, input, &mo, &df->melon);
    }
    if (is_fma(name))
        return read_fma(df, ds, input);
    return mrnet_fail(MRNET_ERR_ARG, "unknown --dataset '%s' (gtzan, fma-small, fma-medium, fma-large, melon)",
                      name);
}

static mrnet_status read_unnamed(mrnet_dataset_spec *df, mrnet_dataset *ds, const char *input, bool is_dir)
{
    if (is_dir) {
        mrnet_status s = df->plain ? mrnet_dataset_read_files(ds, input) : mrnet_dataset_read_folder(ds, input);
        if (s == MRNET_OK && !df->plain && ds->n_items == 0) {
            mrnet_dataset_free(ds);
            mrnet_dataset_init(ds);
            s = mrnet_dataset_read_files(ds, input);
        }
        if (s == MRNET_OK)
            s = mrnet_dataset_finalize_labels(ds, NULL, 0);
        return s;
    }
    mrnet_status s = mrnet_dataset_read_manifest(ds, input);
    if (s == MRNET_OK)
        s = mrnet_dataset_finalize_labels(ds, NULL, 0);
    return s;
}

/* The folder fold lists are relative to: the dataset root, the class
 * folder's parent, or the manifest's folder. New string. */
static char *list_root(const mrnet_dataset_spec *df, const char *input, bool is_dir)
{
    if (df->name && is_fma(df->name) && df->fma_audio)
        return data_strdup(df->fma_audio);
    if (df->name || is_dir)
        return data_strdup(input);
    return mrnet_path_dirname(input);
}

static mrnet_status write_folds(const mrnet_dataset_spec *df, const mrnet_dataset *ds, const char *root, int k)
{
    MRNET_TRY(mrnet_make_dirs(df->write_folds));
    /* Lists of an earlier run with more folds would be read back too. */
    char name[32];
    snprintf(name, sizeof name, "%d_fold.txt", k + 1);
    char *stale = mrnet_path_join(df->write_folds, name);
    if (!stale)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    bool exists = mrnet_path_is_file(stale);
    mrnet_status st = exists ? mrnet_fail(MRNET_ERR_IO,
                                          "%s: left from a run with more folds (--folds would read it "
                                          "too): remove it or write to an empty folder",
                                          stale)
                             : mrnet_folds_write_lists(ds, root, df->write_folds, k);
    free(stale);
    return st;
}

mrnet_status mrnet_dataset_load(mrnet_dataset_spec *df, const char *input, mrnet_dataset *ds)
{
    struct stat st;
    bool is_dir = false;
    char *manifest = NULL;
    mrnet_status s;
    bool gtzan = df->name && !strcmp(df->name, "gtzan");
    if (df->name) {
        s = read_named(df, ds, input);
    } else {
        if (stat(input, &st) != 0)
            return mrnet_fail(MRNET_ERR_IO, "%s: no such file or folder", input);
        is_dir = S_ISDIR(st.st_mode);
        /* "list.csv" -> "./list.csv": item paths then start with the
         * manifest's folder, which fold lists are written relative to. */
        if (!is_dir && !strchr(input, '/') && df->write_folds) {
            manifest = mrnet_path_join(".", input);
            if (!manifest)
                return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
            input = manifest;
        }
        s = read_unnamed(df, ds, input, is_dir);
    }
    /* mrnet_gtzan_read applies the lists itself (mrnet_gtzan_options); the other
     * readers get them here, with the same matching rules. */
    if (s == MRNET_OK && df->folds_dir && !gtzan)
        s = mrnet_folds_read_lists(ds, df->folds_dir, &df->n_folds);
    if (s == MRNET_OK && df->split_lists && !gtzan)
        s = mrnet_folds_read_split_lists(ds, df->train_list, df->valid_list, df->test_list);
    if (s == MRNET_OK && df->melon_folds)
        df->n_folds = df->melon_folds;
    if (s == MRNET_OK && df->make_folds) {
        s = mrnet_folds_assign_stratified(ds, df->make_folds, df->seed);
        df->n_folds = df->make_folds;
    }
    if (s == MRNET_OK && df->make_split)
        s = mrnet_folds_assign_split(ds, df->valid_frac, df->test_frac, df->seed);
    if (s == MRNET_OK && df->write_folds) {
        char *root = list_root(df, input, is_dir);
        s = root ? write_folds(df, ds, root, df->n_folds) : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        free(root);
    }
    free(manifest);
    return s;
}
