/* predict/embed output: records streamed to standard output, or to a
 * journaled partial file that a later run resumes (predict_output.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "predict_output.h"

static const char *const format_names[] = {"table", "jsonl", "csv", "npy", "safetensors"};

bool out_format_parse(const char *name, out_format *f)
{
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, format_names[i])) {
            *f = (out_format)i;
            return true;
        }
    return false;
}

const char *out_format_name(out_format f) { return format_names[f]; }

bool out_format_of_name(const char *path, out_format *f)
{
    static const struct {
        const char *ext;
        out_format f;
    } exts[] = {{".txt", OUT_TABLE}, {".tsv", OUT_TABLE},   {".jsonl", OUT_JSONL},
                {".ndjson", OUT_JSONL}, {".csv", OUT_CSV}, {".npy", OUT_NPY},
                {".safetensors", OUT_SAFETENSORS}};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
        size_t m = strlen(exts[i].ext);
        if (n > m && !strcasecmp(path + n - m, exts[i].ext)) {
            *f = exts[i].f;
            return true;
        }
    }
    return false;
}

