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
#include <mrnet/data.h>
#include "data/dataset.h"

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

#endif
