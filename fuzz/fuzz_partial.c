/* mrnet_partial_open resuming a run: the input split at the first form feed
 * (0x0c) into a journal (before) and a partial (after), opened with the
 * settings "s"; on success one more record is committed and the output
 * finished, as a resumed predict would. Then the same pair is read as the
 * part of one process of an mpirun job (mrnet_partial_append into a fresh
 * output, as rank 0 merges) and as an index by key merged in a given
 * order (mrnet_partial_parts). (The list reader is not fuzzed:
 * its lines are paths that it walks, "/" included.) */
#include <mrnet/collection.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[600], partial[700], journal[700];
    snprintf(out, sizeof out, "%s/out.jsonl", fuzz_dir());
    const uint8_t *split = memchr(data, '\f', size);
    size_t n1 = split ? (size_t)(split - data) : size;
    fuzz_write(journal, sizeof journal, "out.jsonl.partial.journal", data, n1);
    fuzz_write(partial, sizeof partial, "out.jsonl.partial", split ? split + 1 : data, split ? size - n1 - 1 : 0);
    for (int kind = 0; kind < 2; kind++) {
        mrnet_partial_output s;
        if (mrnet_partial_open(&s, out, kind ? MRNET_PARTIAL_NPY : MRNET_PARTIAL_LINES, 2, "s", false, NULL) ==
            MRNET_OK) {
            for (int i = 0; i < s.n_done; i++)
                (void)mrnet_partial_has(&s, s.done[i]);
            static const float row[2] = {1, 2};
            if (kind)
                fwrite(row, sizeof row, 1, s.f);
            else
                fputs("{\"path\":\"new\"}\n", s.f);
            if (mrnet_partial_commit_record(&s, "new") == MRNET_OK)
                (void)mrnet_partial_finish(&s, "x", NULL, NULL);
        }
        mrnet_partial_close(&s);
        /* the next round starts from the input again */
        fuzz_write(journal, sizeof journal, "out.jsonl.partial.journal", data, n1);
        fuzz_write(partial, sizeof partial, "out.jsonl.partial", split ? split + 1 : data, split ? size - n1 - 1 : 0);
    }
    char merged[700];
    snprintf(merged, sizeof merged, "%s/merged.jsonl", fuzz_dir());
    mrnet_partial_output m;
    if (mrnet_partial_open(&m, merged, MRNET_PARTIAL_LINES, 2, "s", true, NULL) == MRNET_OK &&
        mrnet_partial_append(&m, out) == MRNET_OK)
        (void)mrnet_partial_finish(&m, "x", NULL, NULL);
    mrnet_partial_close(&m);
    /* and indexed by key, merged in an order (a restart on another count) */
    mrnet_partial_parts *parts;
    const char *names[1] = {out};
    if (mrnet_partial_parts_open(names, 1, "s", &parts) == MRNET_OK) {
        static const char *const order[] = {"new", "a", "", "%"};
        if (mrnet_partial_open(&m, merged, MRNET_PARTIAL_LINES, 2, "s", true, NULL) == MRNET_OK &&
            mrnet_partial_parts_merge(parts, &m, order, 4) == MRNET_OK)
            (void)mrnet_partial_finish(&m, "x", NULL, NULL);
        mrnet_partial_close(&m);
        mrnet_partial_parts_free(parts);
    }
    return 0;
}
