/* Where predict and embed put their records: standard output as it goes, or
 * a file built in OUT.partial with a journal (OUT.partial.journal) of the
 * files whose records are complete. A run that stops (killed, interrupted,
 * disk full) leaves both; the same command again skips the files in the
 * journal and continues; the finished file replaces OUT in one rename. */
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

typedef struct {
    const char *cmd;   /* for messages */
    const char *final; /* -o; NULL: standard output */
    out_format format;
    int row_width;     /* matrix formats: floats per record */
    FILE *f;           /* write a record's text (or floats) here, then call out_sink_commit_record */
    bool journaled;    /* a regular file: partial + journal (else written through) */
    char *partial, *journal_path;
    FILE *journal;
    char **done;       /* paths in the journal, in order (matrix formats: the rows' paths) */
    int n_done, cap_done;
    char **table;      /* hash set over done (open addressing) */
    int table_size;
    int resumed;       /* records found in the partial at open */
} out_sink;

/* Opens the output. settings identifies what the records depend on (model,
 * options); a partial made with other settings is refused unless restart
 * (then it is started over). header (CSV) is written once at the start. */
mrnet_status out_sink_open(out_sink *s, const char *cmd, const char *final, out_format format, int row_width,
                           const char *settings, bool restart, const char *header);
/* Whether path's record is already in the output (a resumed run). */
bool out_sink_has(const out_sink *s, const char *path);
/* After writing one file's record(s) to s->f: flushes them and notes the
 * file as done. A write error (full disk) is reported naming the file. */
mrnet_status out_sink_commit_record(out_sink *s, const char *path);
/* All records written: matrix formats are assembled (tensor_name, rows of
 * row_width, the paths in metadata or beside a .npy, extra metadata
 * meta_key = meta_json when given); the file replaces final; the partial
 * and the journal are removed. */
mrnet_status out_sink_finish(out_sink *s, const char *tensor_name, const char *meta_key, const char *meta_json);
/* Closes; what is in the partial stays for the next run. */
void out_sink_close(out_sink *s);

#endif
