/* mrnet: the MRNet music classifier as a C library.
 *
 * Every function that can fail returns an mrnet_status; on failure
 * mrnet_last_error() gives a sentence naming the file, tensor or option and
 * the problem. The library never exits or aborts on bad input. */
#ifndef MRNET_MRNET_H
#define MRNET_MRNET_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MRNET_OK = 0,
    MRNET_ERR_IO,          /* a file could not be opened, read or written */
    MRNET_ERR_FORMAT,      /* a file's contents are malformed */
    MRNET_ERR_SHAPE,       /* a tensor has the wrong shape or dtype */
    MRNET_ERR_ARG,         /* an invalid argument or option */
    MRNET_ERR_NOMEM,       /* out of memory */
    MRNET_ERR_NUMERIC,     /* NaN or Inf where a finite value is needed */
    MRNET_ERR_INTERRUPTED, /* stopped by a signal; work so far was saved */
    MRNET_ERR_UNSUPPORTED  /* a valid request this build cannot serve */
} mrnet_status;

/* The message of the last failure in this thread ("" if none). */
const char *mrnet_last_error(void);
/* A short name for a status code. */
const char *mrnet_status_name(mrnet_status status);

/* ---- Model configuration ------------------------------------------------ */

#define MRNET_BLOCKS 3 /* MRBlocks; fixed by the architecture */
#define MRNET_ROUTES 7 /* L1 L2 L3 H M1 M2 M3 */

typedef struct {
    int in_dim;       /* D: feature size per input channel (768 WavLM, 48 mel) */
    int in_channels;  /* S: audio channels side by side (2 stereo, 1 mono mel) */
    int n_layers;     /* L: stacked feature layers mixed by w (13 WavLM, 1 mel) */
    int channels;     /* C: width (512) */
    int embed;        /* E: embedding size (128) */
    int classes;      /* K: number of classes */
    int dilations[MRNET_BLOCKS]; /* 2, 3, 4 */
    int scale;        /* Res2Net split count (8) */
    int se_groups;    /* SE groups per block (3) */
} mrnet_config;

/* The paper's WavLM configuration (D 768, S 2, L 13, C 512, E 128) with K classes. */
void mrnet_config_default(mrnet_config *cfg, int classes);
/* Checks every field; names the first bad one. */
mrnet_status mrnet_config_validate(const mrnet_config *cfg);

/* Route names in route order: "L1","L2","L3","H","M1","M2","M3". */
const char *mrnet_route_name(int route);
/* Parses "L1,M2" style lists into a bit mask (bit j = route j dropped). */
mrnet_status mrnet_parse_routes(const char *list, unsigned *mask);

#ifdef __cplusplus
}
#endif
#endif
