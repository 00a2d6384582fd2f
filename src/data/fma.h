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
#include <mrnet/data.h>
#include "data/dataset.h"

/* The audio path rule: "<dir>/<id/1000 %03d>/<id %06d>.<ext>" into out. */
void fma_track_path(char *out, size_t out_size, const char *dir, long track_id, const char *ext);

#endif
