/* FMA, the Free Music Archive dataset (Defferrard et al. 2017, mdeff/fma).
 *
 * Metadata: <root>/fma_metadata/tracks.csv, whose header is three lines (a
 * two-level column header and an index line); columns are found by their
 * (level-0, level-1) names: (set, subset), (set, split), (track, genre_top).
 * Audio: track id -> "<id/1000, 3 digits>/<id, 6 digits>.mp3" under
 * <root>/fma_<subset>/ (or MRNet's converted "<root>/<subset>/...wav").
 * Subsets are nested (small within medium within large); set.split gives the
 * official train/valid/test split; the label is track.genre_top. */
#ifndef MRNET_DATA_FMA_H
#define MRNET_DATA_FMA_H

#include <stdbool.h>
#include "data/dataset.h"

typedef enum { MRNET_FMA_SMALL = 0, MRNET_FMA_MEDIUM = 1, MRNET_FMA_LARGE = 2 } mrnet_fma_subset;

typedef struct {
    mrnet_fma_subset subset;
    /* NULL: <root>/fma_metadata/tracks.csv */
    const char *tracks_csv;
    /* Folder holding 000/000002.mp3 ...; NULL: the first that exists of
     * <root>/fma_<subset>, <root>/<subset>, <root>/fma_full, <root>/fma_large
     * (a larger subset's folder holds the smaller subsets' files too). */
    const char *audio_dir;
    /* File extension without dot; NULL: "wav" where such a file exists
     * (MRNet's pre-converted files), else "mp3". */
    const char *ext;
    /* true: open every file with libsndfile and skip those that do not
     * decode (slow on fma_large: about 100 000 mp3 headers). */
    bool check_audio;
} mrnet_fma_options;

/* What a read found, besides ds's skip list. */
typedef struct {
    int rows;          /* data rows in tracks.csv */
    int in_subset;     /* rows in the chosen subset */
    int no_genre;      /* in subset, empty genre_top (skipped) */
    int missing_audio; /* in subset with genre, no audio file (skipped) */
    int unreadable;    /* audio present but not decodable (skipped) */
    int bad_rows;      /* malformed rows (skipped) */
} mrnet_fma_report;

/* "small", "medium", "large" (case-insensitive) -> subset; false otherwise. */
bool mrnet_fma_parse_subset(const char *name, mrnet_fma_subset *out);
const char *mrnet_fma_subset_name(mrnet_fma_subset subset);

/* The audio path rule: "<dir>/<id/1000 %03d>/<id %06d>.<ext>" into out. */
void fma_track_path(char *out, size_t out_size, const char *dir, long track_id, const char *ext);

/* Reads the chosen subset: item.id = track id, item.split from set.split
 * ("training"/"validation"/"test" -> "train"/"valid"/"test"), item.label =
 * genre_top. Labels are finalized in MRNet's order: first appearance while
 * walking the training tracks by ascending id, then classes seen only in
 * valid/test. report may be NULL. */
mrnet_status mrnet_fma_read(mrnet_dataset *ds, const char *root, const mrnet_fma_options *opt, mrnet_fma_report *report);

#endif
