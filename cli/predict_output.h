/* predict and embed's output formats and how a file name picks one. The
 * records go through mrnet_partial_output (mrnet/collection.h), which makes
 * a stopped run resumable. */
#ifndef MRNET_CLI_PREDICT_OUTPUT_H
#define MRNET_CLI_PREDICT_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <mrnet/mrnet.h>

typedef enum { OUT_TABLE, OUT_JSONL, OUT_CSV, OUT_NPY, OUT_SAFETENSORS } out_format;

#define OUT_FORMAT_CHOICES "table, jsonl, csv, npy or safetensors"

bool out_format_parse(const char *name, out_format *f);
const char *out_format_name(out_format f);
/* The format a file name asks for (.txt/.tsv table, .jsonl/.ndjson, .csv,
 * .npy, .safetensors); false when the extension says nothing. */
bool out_format_of_name(const char *path, out_format *f);
/* npy and safetensors: rows of floats, assembled into one file at the end. */
static inline bool out_format_is_matrix(out_format f) { return f == OUT_NPY || f == OUT_SAFETENSORS; }

#endif
