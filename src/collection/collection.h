/* Internal header of the collection room: running a model over many files
 * (the inputs walker and the ordered batch runner). */
#ifndef MRNET_COLLECTION_INTERNAL_H
#define MRNET_COLLECTION_INTERNAL_H
#include <stdint.h>
#include <mrnet/collection.h>

/* FNV-1a of a string: the hash sets over paths (the index's known tracks,
 * the partial output's done records). */
uint64_t collection_hash_str(const char *s);
#endif
