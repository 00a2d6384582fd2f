/* Shared by featstore.c (index, reading) and mrnet_store_extract.c. */
#ifndef MRNET_STORE_FEATSTORE_INTERNAL_H
#define MRNET_STORE_FEATSTORE_INTERNAL_H

#include "store/featstore.h"

struct mrnet_store {
    char *dir;
    char *settings;
    char **labels;
    int n_labels;
    mrnet_store_entry *entries;
    int n_entries, cap_entries;
    int *slots; /* open-addressing table: source -> entry index, -1 empty */
    int n_slots;
    int64_t valid_bytes; /* index bytes up to the end of the last complete line */
};

/* Reads dir/index.jsonl into a zeroed fs. */
mrnet_status featstore_load(const char *dir, mrnet_store *fs);
void featstore_release(mrnet_store *fs);
/* Entry index of an already canonical source, -1. */
int featstore_lookup(const mrnet_store *fs, const char *canonical);
/* Adds or replaces the entry of e->source; fs takes the strings. */
mrnet_status featstore_put(mrnet_store *fs, mrnet_store_entry *e);
mrnet_status featstore_set_labels(mrnet_store *fs, char *const *labels, int n);
void featstore_entry_free(mrnet_store_entry *e);
/* One JSON line (no newline), malloc'd; NULL when out of memory. */
char *featstore_entry_line(const mrnet_store_entry *e);
char *featstore_header_line(const char *settings);
char *featstore_labels_line(char *const *labels, int n);
/* Rewrites the index atomically: header, labels, then entries[order[i]]. */
mrnet_status featstore_save_index(const mrnet_store *fs, const int *order, int n_order);
/* realpath() of path, or a copy of path when that fails; malloc'd. */
char *featstore_canonical(const char *path);
uint64_t featstore_hash_string(const char *s);
/* Full path of an entry's feature file into buf. */
void featstore_entry_path(const mrnet_store *fs, const mrnet_store_entry *e, char *buf, size_t size);
/* The entry's features file holds what the index says (shape, dtype, all of
 * its data, int8 scales): extraction reuses only such entries. */
bool featstore_entry_intact(const mrnet_store *fs, const mrnet_store_entry *e);

/* The entry still describes source (size and mtime, or checksum; the mtime
 * is then refreshed) and its features file is intact. */
bool featstore_entry_fresh(const mrnet_store *fs, mrnet_store_entry *e, const char *source);
/* Label, split, id, group and fold of the dataset item. */
mrnet_status featstore_entry_set_meta(mrnet_store_entry *e, const mrnet_dataset_item *it);
/* mrnet_store_extract over opt->comm's processes (featstore_shards.c). */
mrnet_status featstore_extract_sharded(const char *dir, const mrnet_dataset *ds,
                                       const mrnet_extract_options *opt, mrnet_extract_report *report);

#endif
