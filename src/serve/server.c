/* The read-only page over an index (mrnet/serve.h): libmicrohttpd with one
 * internal thread, so requests run one at a time and share the index and
 * the loaded embeddings without locks. Every use of libmicrohttpd is here. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "collection/collection.h"
#include "serve/page.h"
#include "tensor/error.h"

struct mrnet_server {
    struct MHD_Daemon *daemon;
    mrnet_index *ix;
    mrnet_index_model model;
    mrnet_index_embeddings emb;
    char *model_json; /* labels, task, route weights: made once */
    int port;
};

/* ---- responses ---------------------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned code, const char *type, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned code, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    char *clean = mrnet_utf8_sanitize(message);
    cJSON_AddStringToObject(j, "error", clean ? clean : "error");
    free(clean);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    enum MHD_Result ret = send_text(c, code, "application/json", text ? text : "{}");
    free(text);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, cJSON *j)
{
    char *printed = j ? cJSON_PrintUnformatted(j) : NULL;
    char *text = printed ? mrnet_utf8_sanitize(printed) : NULL; /* file names of any bytes */
    free(printed);
    cJSON_Delete(j);
    if (!text)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    enum MHD_Result ret = send_text(c, MHD_HTTP_OK, "application/json", text);
    free(text);
    return ret;
}

/* ---- parameters --------------------------------------------------------------------- */

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int label_of(const mrnet_server *s, const char *name)
{
    for (int k = 0; k < s->model.K; k++)
        if (!strcmp(s->model.labels[k], name))
            return k;
    return -1;
}

static cJSON *top_labels(const mrnet_server *s, const float *p, int top)
{
    cJSON *arr = cJSON_CreateArray();
    int idx[64];
    int n = mrnet_top_k(p, s->model.K, top < 64 ? top : 64, idx);
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", s->model.labels[idx[i]]);
        cJSON_AddNumberToObject(o, "probability", p[idx[i]]);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* ---- /api/tracks -------------------------------------------------------------------- */

typedef struct {
    const mrnet_server *s;
    cJSON *list;
    int label;
} track_list;

static void add_track(void *ctx, const mrnet_index_entry *e)
{
    track_list *t = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", e->path);
    cJSON_AddNumberToObject(o, "seconds", e->seconds);
    if (e->probs) {
        cJSON_AddItemToObject(o, "top", top_labels(t->s, e->probs, 3));
        if (t->label >= 0)
            cJSON_AddNumberToObject(o, "probability", e->probs[t->label]);
    } else
        cJSON_AddStringToObject(o, "error", e->error ? e->error : "");
    cJSON_AddItemToArray(t->list, o);
}

static enum MHD_Result api_tracks(mrnet_server *s, struct MHD_Connection *c)
{
    const char *label = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "label");
    const char *min = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "min");
    const char *sort = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sort");
    const char *limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    double min_prob = 0;
    long n = 500;
    if (label && !*label)
        label = NULL;
    if (label && label_of(s, label) < 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "unknown label");
    if (min && *min && !parse_double(min, 0, 1, &min_prob))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "min must be a number from 0 to 1");
    if (limit && !parse_int(limit, 1, 100000, &n))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "limit must be 1 to 100000");
    mrnet_index_sort order = label ? MRNET_SORT_PROB : MRNET_SORT_PATH;
    if (sort && *sort) {
        if (!strcmp(sort, "prob") && label)
            order = MRNET_SORT_PROB;
        else if (!strcmp(sort, "path"))
            order = MRNET_SORT_PATH;
        else if (!strcmp(sort, "seconds"))
            order = MRNET_SORT_SECONDS;
        else
            return send_error(c, MHD_HTTP_BAD_REQUEST, "sort must be prob (with a label), path or seconds");
    }
    track_list t = {s, cJSON_CreateArray(), label ? label_of(s, label) : -1};
    if (mrnet_index_query(s->ix, label, min_prob, order, (int)n, add_track, &t) != MRNET_OK) {
        cJSON_Delete(t.list);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, mrnet_last_error());
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "tracks", t.list);
    return send_json(c, j);
}

/* ---- /api/track: the timeline and the neighbours -------------------------------------- */

static enum MHD_Result api_track(mrnet_server *s, struct MHD_Connection *c)
{
    const char *path = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "path");
    const char *k_text = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k");
    long k = 10;
    if (!path || !*path)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "path is missing");
    if (k_text && !parse_int(k_text, 1, 1000, &k))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "k must be 1 to 1000");
    if (!mrnet_index_contains(s->ix, path))
        return send_error(c, MHD_HTTP_NOT_FOUND, "not in the index");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "path", path);
    cJSON *windows = cJSON_AddArrayToObject(j, "windows");
    int n = 0;
    double *spans = NULL;
    float *probs = NULL;
    if (mrnet_index_windows(s->ix, path, &n, &spans, &probs) == MRNET_OK) {
        for (int i = 0; i < n; i++) {
            cJSON *w = cJSON_CreateObject();
            cJSON_AddNumberToObject(w, "start", spans[2 * i]);
            cJSON_AddNumberToObject(w, "end", spans[2 * i + 1]);
            cJSON_AddItemToObject(w, "top", top_labels(s, probs + (size_t)i * s->model.K, 1));
            cJSON_AddItemToArray(windows, w);
        }
    }
    free(spans);
    free(probs);
    cJSON *near = cJSON_AddArrayToObject(j, "neighbours");
    int row = mrnet_index_embeddings_find(&s->emb, path);
    if (row >= 0) {
        int *rows = malloc(sizeof(int) * (size_t)k);
        float *sims = malloc(sizeof(float) * (size_t)k);
        int m = rows && sims ? mrnet_nearest(&s->emb, s->emb.vectors + (size_t)row * s->emb.E, (int)k, row, rows, sims)
                             : 0;
        for (int i = 0; i < m; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "path", s->emb.paths[rows[i]]);
            cJSON_AddNumberToObject(o, "similarity", sims[i]);
            cJSON_AddItemToArray(near, o);
        }
        free(rows);
        free(sims);
    }
    return send_json(c, j);
}

/* ---- /audio: the bytes of an indexed file, nothing else ------------------------------- */

static const char *audio_type(const char *path)
{
    static const char *const types[][2] = {{".wav", "audio/wav"},  {".flac", "audio/flac"}, {".mp3", "audio/mpeg"},
                                           {".ogg", "audio/ogg"},  {".oga", "audio/ogg"},   {".opus", "audio/ogg"},
                                           {".m4a", "audio/mp4"},  {".mp4", "audio/mp4"},   {".aiff", "audio/aiff"},
                                           {".aif", "audio/aiff"}, {".webm", "audio/webm"}};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        size_t m = strlen(types[i][0]);
        if (n > m && !strcasecmp(path + n - m, types[i][0]))
            return types[i][1];
    }
    return "application/octet-stream";
}

static enum MHD_Result audio(mrnet_server *s, struct MHD_Connection *c)
{
    const char *path = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "path");
    if (!path || !mrnet_index_contains(s->ix, path))
        return send_error(c, MHD_HTTP_NOT_FOUND, "not an indexed file");
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return send_error(c, MHD_HTTP_NOT_FOUND, "the indexed file is gone");
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd); /* closes fd */
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", audio_type(path));
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- dispatch ----------------------------------------------------------------------- */

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)version;
    (void)upload;
    mrnet_server *s = cls;
    if (!*state) { /* the first call only announces the request */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) { /* a body: read-only server */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET only");
    if (!strcmp(url, "/"))
        return send_text(c, MHD_HTTP_OK, "text/html; charset=utf-8", serve_page_html);
    if (!strcmp(url, "/api/model"))
        return send_text(c, MHD_HTTP_OK, "application/json", s->model_json);
    if (!strcmp(url, "/api/tracks"))
        return api_tracks(s, c);
    if (!strcmp(url, "/api/track"))
        return api_track(s, c);
    if (!strcmp(url, "/audio"))
        return audio(s, c);
    return send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
}

/* The model's facts for the page: labels, task, and the route weights and
 * fc6 shares of its checkpoint when it can still be read. */
static char *model_json(const mrnet_server *s)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *labels = cJSON_AddArrayToObject(j, "labels");
    for (int k = 0; k < s->model.K; k++)
        cJSON_AddItemToArray(labels, cJSON_CreateString(s->model.labels[k]));
    cJSON_AddStringToObject(j, "task", s->model.task);
    cJSON_AddStringToObject(j, "checkpoint", s->model.checkpoint);
    cJSON_AddNumberToObject(j, "tracks", s->model.tracks);
    mrnet_model *m = NULL;
    double share[MRNET_ROUTES];
    if (mrnet_model_load(s->model.checkpoint, 0, &m) == MRNET_OK && mrnet_route_fc6_share(m, share) == MRNET_OK) {
        const float *w = mrnet_model_route_weights(m);
        cJSON *routes = cJSON_AddArrayToObject(j, "routes");
        for (int r = 0; r < MRNET_ROUTES; r++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "route", mrnet_route_name(r));
            cJSON_AddNumberToObject(o, "weight", w[r]);
            cJSON_AddNumberToObject(o, "fc6_share", share[r]);
            cJSON_AddItemToArray(routes, o);
        }
        cJSON_AddStringToObject(j, "route_weights",
                                mrnet_model_config(m)->route_weights ? "after-norm" : "paper");
    }
    mrnet_model_free(m);
    char *printed = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    char *text = printed ? mrnet_utf8_sanitize(printed) : NULL;
    free(printed);
    return text;
}

mrnet_status mrnet_serve_start(const mrnet_serve_options *opt, mrnet_server **out)
{
    *out = NULL;
    if (!opt || !opt->db || opt->port < 0 || opt->port > 65535)
        return mrnet_fail(MRNET_ERR_ARG, "serve: a database and a port from 0 to 65535 are needed");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt->port)};
    const char *address = opt->address ? opt->address : "127.0.0.1";
    if (inet_pton(AF_INET, address, &addr.sin_addr) != 1)
        return mrnet_fail(MRNET_ERR_ARG, "serve: '%s' is not an IPv4 address", address);
    mrnet_server *s = calloc(1, sizeof *s);
    if (!s)
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    mrnet_status st = mrnet_index_open(opt->db, false, &s->ix);
    if (st == MRNET_OK)
        st = mrnet_index_model_info(s->ix, &s->model);
    if (st == MRNET_OK)
        st = mrnet_index_load_embeddings(s->ix, &s->emb);
    if (st == MRNET_OK && !(s->model_json = model_json(s)))
        st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory");
    if (st == MRNET_OK) {
        s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, s,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
                                     (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
        if (!s->daemon)
            st = mrnet_fail(MRNET_ERR_IO, "serve: cannot listen on %s:%d: %s", address, opt->port, strerror(errno));
    }
    if (st == MRNET_OK) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : opt->port;
        *out = s;
        return MRNET_OK;
    }
    mrnet_serve_stop(s);
    return st;
}

int mrnet_serve_port(const mrnet_server *s) { return s ? s->port : 0; }

void mrnet_serve_stop(mrnet_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    mrnet_index_embeddings_free(&s->emb);
    mrnet_index_close(s->ix);
    free(s->model_json);
    free(s);
}
