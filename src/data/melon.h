/* The Melon Playlist Dataset (Ferraro et al. 2021, Kakao Arena).
 *
 * song_meta.json: a JSON array of song objects (id, song_gn_gnr_basket, ...);
 * genre_gn_all.json: genre code -> (Korean) name; arena_mel/<id/1000>/<id>.npy:
 * 48 x T log-mel spectrograms (the folder number is not zero-padded). No
 * audio is distributed. Item labels are main-genre codes ("GN0100"); the
 * display names come from genre_gn_all.json (melon_genres). */
#ifndef MRNET_DATA_MELON_H
#define MRNET_DATA_MELON_H

#include <stdbool.h>
#include <stdint.h>
#include "data/dataset.h"

typedef enum {
    /* Keep songs whose song_gn_gnr_basket holds exactly one code (the
     * protocol of the MRNet authors' loader); default. */
    MELON_LABEL_SINGLE = 0,
    /* Keep every song with at least one code; label = the first code. */
    MELON_LABEL_FIRST = 1
} mrnet_melon_label_policy;

typedef struct {
    const char *song_meta;   /* NULL: <root>/song_meta.json */
    const char *genre_names; /* NULL: <root>/genre_gn_all.json */
    const char *mel_dir;     /* NULL: <root>/arena_mel */
    mrnet_melon_label_policy policy;
    /* > 1: assign stratified folds 1..k_folds with seed (the release has no
     * published Melon folds; 10 for the paper's protocol). */
    int k_folds;
    uint64_t seed;
    /* true: do not stat every .npy (faster on slow disks; missing files then
     * fail later, at feature loading). */
    bool skip_file_check;
} mrnet_melon_options;

typedef struct {
    int songs;        /* objects in song_meta.json */
    int no_genre;     /* empty song_gn_gnr_basket (skipped) */
    int multi_genre;  /* several codes under MELON_LABEL_SINGLE (skipped) */
    int unknown_code; /* a code absent from genre_gn_all.json (skipped) */
    int missing_mel;  /* no .npy file (skipped) */
    int bad_entries;  /* malformed objects, duplicate ids (skipped) */
} mrnet_melon_report;

typedef struct {
    char **codes, **names;
    int n;
} melon_genres;

/* Loads genre_gn_all.json (a flat object code -> name). */
mrnet_status melon_genres_load(melon_genres *g, const char *path);
void melon_genres_free(melon_genres *g);
/* Name of a code, or NULL. */
const char *melon_genre_name(const melon_genres *g, const char *code);

/* The npy path rule: "<mel_dir>/<id/1000>/<id>.npy" into out. */
void melon_mel_path(char *out, size_t out_size, const char *mel_dir, long song_id);

/* Reads the songs with a genre under the policy; item.id = song id, item
 * .label = genre code, item.path = its npy file. Labels are finalized in
 * order of first appearance in song_meta.json (as the authors' loader
 * does). report may be NULL. */
mrnet_status mrnet_melon_read(mrnet_dataset *ds, const char *root, const mrnet_melon_options *opt,
                        mrnet_melon_report *report);

#endif
