#include "inputs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "features/features_parse.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

mrnet_status inputs_collect(char **paths, int n, mrnet_dataset *ds)
{
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0)
            return mrnet_fail(MRNET_ERR_IO, "%s: %s", paths[i], strerror(errno));
        if (S_ISDIR(sb.st_mode))
            MRNET_TRY(mrnet_dataset_read_files(ds, paths[i]));
        else
            MRNET_TRY(mrnet_dataset_add(ds, paths[i], NULL, NULL, -1, NULL));
    }
    return MRNET_OK;
}

mrnet_status inputs_checkpoint_features(const char *checkpoint, mrnet_features_options *fo,
                                        bool *recorded)
{
    mrnet_st_file *f;
    MRNET_TRY(mrnet_st_open(checkpoint, &f));
    const char *line = mrnet_st_meta(f, "mrnet.features");
    mrnet_status st = MRNET_OK;
    *recorded = line != NULL;
    if (line)
        st = mrnet_features_options_parse(line, fo);
    else
        mrnet_features_options_default(fo);
    mrnet_st_close(f);
    return st == MRNET_OK ? st : mrnet_fail_context(st, "%s: metadata mrnet.features", checkpoint);
}
