/* Small helpers shared by the dataset readers: growable string lists, path
 * arithmetic, a CSV row reader with physical line numbers (libcsv), and
 * strict number parsing. Internal to src/data. */
#ifndef MRNET_DATA_DATAUTIL_H
#define MRNET_DATA_DATAUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include "mrnet/mrnet.h"

/* ---- growable list of owned strings ---- */
typedef struct {
    char **v;
    int n, cap;
} strvec;

void strvec_free(strvec *s);
mrnet_status strvec_push(strvec *s, const char *str);
/* Appends str unless an equal string is already there (linear: for short
 * lists such as class names). */
mrnet_status strvec_push_unique(strvec *s, const char *str);
/* Sorts with strcmp (byte order, so the result does not depend on locale). */
void strvec_sort(strvec *s);

/* ---- strings and paths ---- */
char *data_strdup(const char *s); /* NULL on allocation failure; NULL in -> "" */
/* a + "/" + b in a new string (no doubled slash); NULL on allocation failure. */
char *mrnet_path_join(const char *a, const char *b);
/* The folder part of path ("." when none); new string. */
char *mrnet_path_dirname(const char *path);
/* The file name without folder and last extension, written into out. */
void path_stem(const char *path, char *out, size_t out_size);
bool path_is_absolute(const char *path);
/* True when path names an existing regular file (symlinks followed). */
bool mrnet_path_is_file(const char *path);
bool path_is_dir(const char *path);
/* True for the audio and feature extensions the readers accept
 * (wav flac ogg oga opus mp3 au snd aiff aif npy), case-insensitive. */
bool path_has_media_extension(const char *path);
/* Every media file below root (recursively, hidden entries skipped), sorted.
 * Appends to out. Fails only when root itself cannot be read. */
mrnet_status path_list_media(const char *root, strvec *out);
/* Trims ASCII white space in place and returns s. */
char *str_trim(char *s);
/* Case-insensitive ASCII equality. */
bool str_equal_nocase(const char *a, const char *b);
/* Whole-string decimal integer (surrounding spaces allowed); false otherwise. */
bool parse_int(const char *s, long *out);

/* ---- CSV rows ---- */
/* Called once per row: fields are NUL-terminated (quotes removed, doubled
 * quotes undone); line is the physical line where the row starts (1-based).
 * A non-OK return stops reading and is returned by csv_read_rows. */
typedef mrnet_status (*csv_row_fn)(void *ctx, long line, char **fields, int n_fields);
/* Reads an RFC 4180 file with libcsv: quoted fields with commas, doubled
 * quotes and line breaks; LF or CRLF; a UTF-8 byte-order mark is dropped.
 * Blank lines produce no row. */
mrnet_status csv_read_rows(const char *path, csv_row_fn fn, void *ctx);

#endif
