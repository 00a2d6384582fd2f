/* mrnet/data.h: datasets: lists of labelled files from folders, manifests, GTZAN, FMA, Melon; folds and splits; the synthetic demo set */
#ifndef MRNET_DATA_H
#define MRNET_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mrnet/common.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* A dataset: a list of labelled items (audio or feature files) with optional
 * split and fold, read from a folder per class, a CSV manifest, or one of the
 * paper's datasets (GTZAN, FMA, Melon). Readers validate what they read and
 * record every skipped entry with its reason instead of failing the batch. */

typedef struct {
    char *path;      /* audio or feature file (absolute or relative to cwd) */
    char *label;     /* class name; "" when unknown (prediction sets) */
    int label_index; /* index into dataset.labels, -1 when unlabelled */
    char *split;     /* "train", "valid", "test" or "" */
    int fold;        /* cross-validation fold, -1 when none */
    char *id;        /* source id (track id, file stem); never NULL */
    char *group;     /* track, album or artist ("" when none; never NULL): drawn
                      * splits and folds keep every group in one part */
} mrnet_dataset_item;

typedef struct {
    char *source; /* where it was read from, for messages */
    char *reason;
} mrnet_dataset_skip;

typedef struct {
    mrnet_dataset_item *items;
    int n_items, cap_items;
    char **labels; /* class names: sorted, or in a fixed order (a checkpoint's,
                    * or a paper dataset's official order) */
    int n_labels;
    mrnet_dataset_skip *skipped;
    int n_skipped, cap_skipped;
} mrnet_dataset;

void mrnet_dataset_init(mrnet_dataset *ds);
void mrnet_dataset_free(mrnet_dataset *ds);
/* Copies the strings; label/split/id may be NULL (stored as ""). */
mrnet_status mrnet_dataset_add(mrnet_dataset *ds, const char *path, const char *label, const char *split,
                         int fold, const char *id);
/* Sets the group of item `item` (a copy; NULL or "" clears it). */
mrnet_status mrnet_dataset_set_group(mrnet_dataset *ds, int item, const char *group);
/* True when some item has a group. */
bool mrnet_dataset_has_groups(const mrnet_dataset *ds);
/* Records a skipped entry (source: file or row, reason: why). */
mrnet_status mrnet_dataset_skip_add(mrnet_dataset *ds, const char *source, const char *reason);
/* Builds the sorted label list from the items' labels and sets label_index.
 * When fixed_labels is given (e.g. a checkpoint's), uses it instead and
 * items with other labels are skipped with a reason. */
mrnet_status mrnet_dataset_finalize_labels(mrnet_dataset *ds, char *const *fixed_labels, int n_fixed);
/* Index of a label name or -1. */
int mrnet_dataset_label_index(const mrnet_dataset *ds, const char *label);

/* A folder with one sub-folder per class; files with an audio or feature
 * extension (wav flac ogg oga opus mp3 au snd aiff aif npy) are items, at
 * any depth below their class folder; hidden entries (".x") are ignored and
 * files directly in root are skipped with a reason. Items are sorted by path.
 * A folder without any class sub-folder holding media adds no item and
 * returns MRNET_OK (check n_items; such a folder may be read with
 * mrnet_dataset_read_files). Like every reader it appends to ds and does not
 * finalize the labels. */
mrnet_status mrnet_dataset_read_folder(mrnet_dataset *ds, const char *root);
/* Every audio/feature file under root (recursively), unlabelled, sorted by
 * path: for prediction and feature extraction of a plain folder. */
mrnet_status mrnet_dataset_read_files(mrnet_dataset *ds, const char *root);
/* CSV manifest: header "path,label[,split][,fold][,group]" (columns by name,
 * any case and order, extra columns ignored; RFC 4180 quoting, CRLF and a
 * UTF-8 BOM allowed); relative paths are relative to the manifest's folder;
 * split is normalised (training/validation/... -> train/valid/test); fold is
 * a non-negative integer or empty (-1); group (track, album or artist) names
 * the items that drawn splits and folds keep together, and once the column
 * is there every row needs one. Rows with a wrong field count, no path, a bad
 * split or fold, an empty group, or a file missing on disk are skipped and
 * recorded as "<csv>:<line>" with the reason; no usable row is an error. */
mrnet_status mrnet_dataset_read_manifest(mrnet_dataset *ds, const char *csv_path);

/* "train"/"training"/"tr", "valid"/"validation"/"val"/"dev",
 * "test"/"testing"/"eval"/"evaluation" (any case) -> "train", "valid",
 * "test"; "" -> ""; anything else -> NULL. */
const char *mrnet_dataset_normalize_split(const char *split);
/* Number of items whose split equals split (NULL: all items). */
int mrnet_dataset_count_split(const mrnet_dataset *ds, const char *split);

/* Copies into dst (initialised by the caller; usually empty) the items of
 * src whose split equals split (NULL: any) and whose fold equals fold (-1:
 * any). The label list is copied too, so label_index stays valid. */
mrnet_status mrnet_dataset_select(mrnet_dataset *dst, const mrnet_dataset *src, const char *split, int fold);
/* Class weights as in the MRNet release: w[k] = (count of the largest class)
 * / (count of class k), counted over the items of the given split (NULL:
 * all). A class with no item gets weight 0. Needs finalized labels; w has
 * ds->n_labels entries. */
mrnet_status mrnet_dataset_class_weights(const mrnet_dataset *ds, const char *split, float *w);

/* Removes the items with drop[i] != 0 (order kept), recording each as
 * skipped (source: its path) with the given reason. */
mrnet_status mrnet_dataset_drop(mrnet_dataset *ds, const unsigned char *drop, const char *reason);

/* Replaces dst's label list with a copy of src's (item indices of dst are
 * not recomputed: call before adding items, or finalize afterwards). */
mrnet_status mrnet_dataset_copy_labels(mrnet_dataset *dst, const mrnet_dataset *src);

/* Cross-validation folds and seeded stratified splits.
 *
 * Folds are numbered 1..k, as in MRNet's GTZAN lists ("1_fold.txt" ..
 * "10_fold.txt"); -1 means "no fold". A fold list is a text file with one
 * path per line, relative to the dataset root, e.g.
 * "genres_original/blues/blues.00004.wav". */

/* Both assignments below deal units: an item's group when it has one (all
 * items of a group land in the same fold or part: MIR's "artist filter"),
 * else the item alone. A unit's class is its items' most common label (ties:
 * the first name); unlabelled items form one more class. Counts and balance
 * are then in units: with groups of different sizes the parts' item counts
 * follow the groups'. Without groups every item is a unit of its own. */

/* Sets item.fold to 1..k so that every class is spread over the folds as
 * evenly as possible (each class's unit count per fold differs by at most
 * one, and so do the fold sizes in units). Deterministic for a seed: units
 * are grouped by class and ordered by group name (or path) before a seeded
 * shuffle, so the reader's item order does not matter. Fewer units than
 * folds is an error. */
mrnet_status mrnet_folds_assign_stratified(mrnet_dataset *ds, int k, uint64_t seed);

/* Sets item.split to "train"/"valid"/"test" per class of n units:
 * round(n * test_frac) test units, round(n * valid_frac) validation units,
 * the rest train, after a seeded shuffle (same determinism as above). A
 * class with at least three units keeps at least one in each non-empty part. */
mrnet_status mrnet_folds_assign_split(mrnet_dataset *ds, double valid_frac, double test_frac, uint64_t seed);

/* Writes out_dir/<f>_fold.txt for f = 1..k (atomically; out_dir must
 * exist): the items of fold f, paths made relative to root (items outside
 * root are an error), in item order. */
mrnet_status mrnet_folds_write_lists(const mrnet_dataset *ds, const char *root, const char *out_dir, int k);

/* Reads out_dir/1_fold.txt, 2_fold.txt, ... (until the first missing one)
 * and sets item.fold. Lines and items are matched on the last two path
 * components without the extension ("blues/blues.00004"), so lists written
 * for the Kaggle layout (genres_original/<genre>/<name>.wav) also fit the original
 * distribution (genres/<genre>/<name>.au). Items in no list leave the set and are
 * recorded as skipped; listed files that are not in the set are recorded as
 * skipped ("list:line: ..."); a file listed twice is an error. Returns the
 * number of lists in *k_out (may be NULL). */
mrnet_status mrnet_folds_read_lists(mrnet_dataset *ds, const char *list_dir, int *k_out);

/* Reads split lists (e.g. the fault-filtered GTZAN split:
 * train_filtered.txt, valid_filtered.txt, test_filtered.txt) and sets
 * item.split to "train", "valid", "test" with the same matching rules as
 * mrnet_folds_read_lists. Any list path may be NULL. Items in none of the lists
 * leave the set (recorded as skipped). */
mrnet_status mrnet_folds_read_split_lists(mrnet_dataset *ds, const char *train_list, const char *valid_list,
                                    const char *test_list);

/* GTZAN (Tzanetakis & Cook 2002): 10 genres x 100 excerpts of ~30 s.
 *
 * Layouts accepted under the GTZAN root (see docs/README-datasets.md):
 *   <root>/genres_original/<genre>/<genre>.000NN.wav   (Kaggle re-upload)
 *   <root>/Data/genres_original/...                    (Kaggle, unzipped)
 *   <root>/genres/<genre>/<genre>.000NN.au             (original tarball)
 *   <root>/<genre>/<genre>.000NN.{wav,au}              (the genre folders)
 * Class indices follow MRNet: blues classical country disco hiphop jazz
 * metal pop reggae rock (0..9; alphabetical). */

typedef struct {
    /* Folder with MRNet's fold lists 1_fold.txt .. k_fold.txt; NULL: items
     * get no fold. */
    const char *fold_dir;
    /* The fault-filtered split (Kereliuk, Sturm & Larsen 2015) lists, e.g.
     * train_filtered.txt; NULL: none. Sets item.split. */
    const char *train_list, *valid_list, *test_list;
    /* false (default): open every file with libsndfile and skip those that
     * cannot be decoded (the Kaggle jazz.00054.wav); true: trust the files. */
    bool skip_audio_check;
} mrnet_gtzan_options;

/* Reads GTZAN below root into ds (labels finalized in MRNet's order).
 * Files that do not follow <genre>/<genre>.NNNNN.<ext>, unknown genre
 * folders and unreadable files are skipped with a reason. opt may be NULL. */
mrnet_status mrnet_gtzan_read(mrnet_dataset *ds, const char *root, const mrnet_gtzan_options *opt);

/* FMA, the Free Music Archive dataset (Defferrard et al. 2017, mdeff/fma).
 *
 * Metadata: <root>/fma_metadata/tracks.csv, whose header is three lines (a
 * two-level column header and an index line); columns are found by their
 * (level-0, level-1) names: (set, subset), (set, split), (track, genre_top).
 * Audio: track id -> "<id/1000, 3 digits>/<id, 6 digits>.mp3" under
 * <root>/fma_<subset>/ (or MRNet's converted "<root>/<subset>/...wav").
 * Subsets are nested (small within medium within large); set.split gives the
 * official train/valid/test split; the label is track.genre_top. */

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

/* Reads the chosen subset: item.id = track id, item.split from set.split
 * ("training"/"validation"/"test" -> "train"/"valid"/"test"), item.label =
 * genre_top. Labels are finalized in MRNet's order: first appearance while
 * walking the training tracks by ascending id, then classes seen only in
 * valid/test. report may be NULL. */
mrnet_status mrnet_fma_read(mrnet_dataset *ds, const char *root, const mrnet_fma_options *opt, mrnet_fma_report *report);

/* The Melon Playlist Dataset (Ferraro et al. 2021, Kakao Arena).
 *
 * song_meta.json: a JSON array of song objects (id, song_gn_gnr_basket, ...);
 * genre_gn_all.json: genre code -> (Korean) name; arena_mel/<id/1000>/<id>.npy:
 * 48 x T log-mel spectrograms (the folder number is not zero-padded). No
 * audio is distributed. Item labels are main-genre codes ("GN0100"); the
 * display names come from genre_gn_all.json (melon_genres). */

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

/* Reads the songs with a genre under the policy; item.id = song id, item
 * .label = genre code, item.path = its npy file. Labels are finalized in
 * order of first appearance in song_meta.json (as the authors' loader
 * does). report may be NULL. */
mrnet_status mrnet_melon_read(mrnet_dataset *ds, const char *root, const mrnet_melon_options *opt,
                        mrnet_melon_report *report);

/* Synthetic "music-like" labelled audio for the demo and for tests: five
 * styles that differ in tempo, metre, rhythm, timbre and harmony.
 *
 *   ballad      ~68 bpm 4/4, sine pads on major triads, soft sine melody
 *   techno      ~128 bpm, four-on-the-floor kick, hi-hats, 16th saw bass
 *   waltz       ~96 bpm 3/4, Karplus-Strong plucked bass and chords
 *   jazz        ~140 bpm swung ride, walking bass, diatonic 7th chords
 *   noise-rock  ~150 bpm distorted square power chords, dense snare noise
 *
 * Each clip varies in key, tempo (+-10 %), loudness, part mix, progression,
 * starting bar and noise floor, all drawn from a seeded generator, so clip i
 * of a style is the same for the same seed on every machine. */

typedef struct {
    const char *root;    /* output folder (created) */
    int clips_per_style; /* 0: 40 */
    double seconds;      /* 0: 8 */
    int sample_rate;     /* 0: 16 000 */
    uint64_t seed;
    /* Stratified split fractions for the manifest; both 0: 0.15 and 0.15. */
    double valid_frac, test_frac;
} mrnet_demo_options;

typedef struct {
    int written;  /* clips generated now */
    int existing; /* complete clips found and kept */
} mrnet_demo_report;

/* Writes root/<style>/<style>.NNN.wav (16-bit PCM, mono) for every style
 * and root/manifest.csv ("path,label,split", paths relative to root), each
 * file atomically. Resumable: a clip already present with the expected
 * rate and length is kept. report may be NULL. */
/* Number of synthetic styles (classes) of the demo set. */
int mrnet_demo_style_count(void);
mrnet_status mrnet_demo_write(const mrnet_demo_options *opt, mrnet_demo_report *report);

/* ---- Reading a dataset by spec ------------------------------------------------
 * What `mrnet extract` does with its dataset options: which reader reads the
 * input (a named paper dataset, else a folder of class folders, a plain
 * folder, or a CSV manifest), with which reader options (FMA, Melon), and
 * how items get their folds and splits (read from GTZAN-style lists, or
 * drawn with a seed and written as lists so a run can be reproduced).
 * Zero-initialise, set what is wanted (seed 1 is the CLI's default). */
typedef struct {
    const char *name; /* dataset:: gtzan, fma-small, ..., melon; NULL: folder/manifest */
    bool plain;
    const char *folds_dir;                  /* folds: */
    const char *split_lists;                /* split lists:, as given */
    char *train_list, *valid_list, *test_list; /* parsed from split_lists */
    int make_folds;                         /* make folds: K, 0: none */
    const char *write_folds;                /* write folds: DIR */
    bool make_split;
    double valid_frac, test_frac;           /* make split: VALID,TEST */
    bool seed_given;
    uint64_t seed;                          /* seed:, default 1 */
    const char *fma_tracks, *fma_audio;     /* fma tracks:, --fma-audio */
    bool check_audio;                       /* check audio: */
    const char *melon_label;                /* melon label: */
    int melon_folds;                        /* melon folds: K, 0: none */
    /* What the readers found, for the summary. */
    bool has_fma_report, has_melon_report;
    mrnet_fma_report fma;
    mrnet_melon_report melon;
    int n_folds; /* folds read or drawn (0: none) */
} mrnet_dataset_spec;

/* Reads input with the spec's reader and options, then applies fold and
 * split lists, draws folds and splits, and writes fold lists; the reader
 * reports and n_folds are filled in. */
mrnet_status mrnet_dataset_load(mrnet_dataset_spec *spec, const char *input, mrnet_dataset *ds);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
