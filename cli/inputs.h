/* Media inputs of predict and embed: files and folders given on the command
 * line, features computed with a checkpoint's recorded settings. */
#ifndef MRNET_CLI_INPUTS_H
#define MRNET_CLI_INPUTS_H

#include "features/features.h"
#include "data/dataset.h"
#include "mrnet/mrnet.h"

/* Every file named, and every media file under each folder named
 * (recursively, sorted). A missing path is an error naming it. */
mrnet_status inputs_collect(char **paths, int n, mrnet_dataset *ds);
/* The feature options a checkpoint was trained with ("mrnet.features"),
 * or the default (Melon) options with *recorded = false. */
mrnet_status inputs_checkpoint_features(const char *checkpoint, mrnet_features_options *fo,
                                        bool *recorded);

#endif
