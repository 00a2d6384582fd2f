#include "inputs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "features/features_parse.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

mrnet_status inputs_collect(char **paths, int n, dataset *ds)
{
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0)
            return mrnet_fail(MRNET_ERR_IO, "%s: %s", paths[i], strerror(errno));
        if (S_ISDIR(sb.st_mode))
            MRNET_TRY(dataset_read_files(ds, paths[i]));
        else
            MRNET_TRY(dataset_add(ds, paths[i], NULL, NULL, -1, NULL));
    }
    return MRNET_OK;
}

mrnet_status inputs_checkpoint_features(const char *checkpoint, features_options *fo,
                                        bool *recorded)
{
    st_file *f;
    MRNET_TRY(st_open(checkpoint, &f));
    const char *line = st_meta(f, "mrnet.features");
    mrnet_status st = MRNET_OK;
    *recorded = line != NULL;
    if (line)
        st = features_options_parse(line, fo);
    else
        features_options_default(fo);
    st_close(f);
    return st == MRNET_OK ? st : mrnet_fail_context(st, "%s: metadata mrnet.features", checkpoint);
}
