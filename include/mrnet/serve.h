/* mrnet/serve.h: a read-only web page over a collection index.
 *
 * A small HTTP server (libmicrohttpd, one thread) with a page that lists the
 * indexed tracks with their labels, filters and sorts them by label, shows a
 * track's window timeline and nearest neighbours, plays it, and shows the
 * model's route weights and fc6 shares. It serves only the page, JSON about
 * the index, and the bytes of files that are in the index: any other path
 * is 404. Bad parameters are 400. Nothing is loaded from the internet. */
#ifndef MRNET_SERVE_H
#define MRNET_SERVE_H
#include <mrnet/common.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct {
    const char *db;      /* the index (mrnet index --db) */
    const char *address; /* "127.0.0.1" (default); "0.0.0.0" for every interface */
    int port;            /* 0: a free port (mrnet_serve_port says which) */
} mrnet_serve_options;

typedef struct mrnet_server mrnet_server;

/* Opens the index (read-only use), loads its embeddings and starts serving
 * in a thread of its own. */
mrnet_status mrnet_serve_start(const mrnet_serve_options *opt, mrnet_server **out);
int mrnet_serve_port(const mrnet_server *s);
void mrnet_serve_stop(mrnet_server *s);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
