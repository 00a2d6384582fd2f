/* Writing the synthetic demo set: WAV files per style and a manifest. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/encode.h"
#include "data/dataset.h"
#include "data/datautil.h"
#include "data/folds.h"
#include "data/synth.h"
#include "tensor/error.h"
#include "tensor/fileio.h"

static mrnet_status write_manifest(const char *root, const mrnet_dataset *ds)
{
    char *path = mrnet_path_join(root, "manifest.csv");
    if (!path)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    mrnet_atomic_file af;
    mrnet_status st = mrnet_atomic_open(&af, path);
    free(path);
    if (st != MRNET_OK)
        return st;
    static const char header[] = "path,label,split\n";
    mrnet_atomic_write(&af, header, sizeof header - 1);
    for (int i = 0; i < ds->n_items; i++) {
        char line[512];
        /* names are ours: no commas or quotes to escape */
        int n = snprintf(line, sizeof line, "%s,%s,%s\n", ds->items[i].path, ds->items[i].label,
                         ds->items[i].split);
        mrnet_atomic_write(&af, line, (size_t)n);
    }
    return mrnet_atomic_commit(&af);
}

int mrnet_demo_style_count(void) { return SYNTH_STYLES; }

mrnet_status mrnet_demo_write(const mrnet_demo_options *opt, mrnet_demo_report *report)
{
    mrnet_demo_report local;
    if (!report)
        report = &local;
    memset(report, 0, sizeof *report);
    if (!opt || !opt->root || !opt->root[0])
        return mrnet_fail(MRNET_ERR_ARG, "synth: no output folder");
    int per_style = opt->clips_per_style > 0 ? opt->clips_per_style : 40;
    double seconds = opt->seconds > 0 ? opt->seconds : 8.0;
    int rate = opt->sample_rate > 0 ? opt->sample_rate : 16000;
    double valid = opt->valid_frac, test = opt->test_frac;
    if (valid == 0 && test == 0)
        valid = test = 0.15;
    if (per_style > 100000 || seconds > 600)
        return mrnet_fail(MRNET_ERR_ARG, "synth: %d clips of %.0f s per style is too much",
                          per_style, seconds);
    size_t n = (size_t)llround(seconds * rate);
    MRNET_TRY(mrnet_make_dirs(opt->root));
    for (int s = 0; s < SYNTH_STYLES; s++) {
        char *dir = mrnet_path_join(opt->root, synth_style_names[s]);
        mrnet_status st = dir ? mrnet_make_dirs(dir) : mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
        free(dir);
        MRNET_TRY(st);
    }

    int total = SYNTH_STYLES * per_style, failed_at = -1, written = 0, existing = 0;
    char failure[1024] = "";
    mrnet_status failed_status = MRNET_OK;
    /* Clips are independent: generate and write them in parallel. */
#pragma omp parallel
    {
        float *x = malloc(n * sizeof *x);
#pragma omp for schedule(dynamic) reduction(+ : written, existing)
        for (int c = 0; c < total; c++) {
            int s = c / per_style, i = c % per_style;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s/%s.%03d.wav", opt->root, synth_style_names[s],
                     synth_style_names[s], i);
            mrnet_status st = MRNET_OK;
            if (audio_wav_matches(path, rate, 1, (int64_t)n)) {
                existing++;
                continue;
            }
            if (!x)
                st = mrnet_fail(MRNET_ERR_NOMEM, "synth: out of memory for a %zu-sample clip", n);
            if (st == MRNET_OK)
                st = synth_clip((synth_style)s, i, opt->seed, rate, x, n);
            if (st == MRNET_OK)
                st = audio_write_wav16(path, x, 1, (int64_t)n, rate);
            if (st == MRNET_OK) {
                written++;
            } else {
#pragma omp critical(synth_failure)
                if (failed_at < 0 || c < failed_at) { /* report the first clip that failed */
                    failed_at = c;
                    failed_status = st;
                    snprintf(failure, sizeof failure, "%s", mrnet_last_error());
                }
            }
        }
        free(x);
    }
    report->written = written;
    report->existing = existing;
    if (failed_at >= 0)
        return mrnet_fail(failed_status, "%s", failure);

    mrnet_dataset ds;
    mrnet_dataset_init(&ds);
    mrnet_status st = MRNET_OK;
    for (int c = 0; c < total && st == MRNET_OK; c++) {
        int s = c / per_style, i = c % per_style;
        char rel[256], id[256];
        snprintf(rel, sizeof rel, "%s/%s.%03d.wav", synth_style_names[s], synth_style_names[s], i);
        snprintf(id, sizeof id, "%s.%03d", synth_style_names[s], i);
        st = mrnet_dataset_add(&ds, rel, synth_style_names[s], "", -1, id);
    }
    if (st == MRNET_OK)
        st = mrnet_folds_assign_split(&ds, valid, test, opt->seed);
    if (st == MRNET_OK)
        st = write_manifest(opt->root, &ds);
    mrnet_dataset_free(&ds);
    return st;
}
