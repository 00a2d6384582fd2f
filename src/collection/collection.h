/* Internal header of the collection room: running a model over many files
 * (the inputs walker and the ordered batch runner). */
#ifndef MRNET_COLLECTION_INTERNAL_H
#define MRNET_COLLECTION_INTERNAL_H
#include <mrnet/collection.h>
#endif
