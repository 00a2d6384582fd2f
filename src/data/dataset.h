/* A dataset: a list of labelled items (audio or feature files) with optional
 * split and fold, read from a folder per class, a CSV manifest, or one of the
 * paper's datasets (GTZAN, FMA, Melon). Readers validate what they read and
 * record every skipped entry with its reason instead of failing the batch. */
#ifndef MRNET_DATA_DATASET_H
#define MRNET_DATA_DATASET_H

#include <stddef.h>
#include <mrnet/data.h>

#endif
