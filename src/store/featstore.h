/* A feature store: a folder of per-file features (.npy, (S, D, T), float32
 * or float16) and an index that training streams from. Format in
 * docs/FEATURES.md:
 *
 *   STORE/index.jsonl              one JSON object per line: a header, label
 *                                  lists and entries (last record per source
 *                                  wins; a torn last line is ignored)
 *   STORE/features/ab/<hash>.npy   one (S, D, T) array per source file
 *
 * Melon-style .npy sources are referenced in place (no copy) unless a copy
 * is asked for. Reading is thread-safe: every read opens its file. */
#ifndef MRNET_STORE_FEATSTORE_H
#define MRNET_STORE_FEATSTORE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <mrnet/store.h>
#include "features/features.h"
#include "data/dataset.h"

#define FEATSTORE_INDEX "index.jsonl"
#define FEATSTORE_FORMAT "mrnet-featstore"
#define FEATSTORE_VERSION 1

/* FNV-1a 64 of a file's bytes (the staleness checksum). */
mrnet_status featstore_file_checksum(const char *path, uint64_t *checksum);

#endif
