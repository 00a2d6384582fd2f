/* mrnet serve: the API's answers and errors (400 for bad parameters, 404 for
 * anything not indexed, path traversal included, 405 for writes), the audio
 * bytes of an indexed file, junk requests that leave the server running,
 * and the page itself in headless Chromium (when installed): the list, the
 * filter, the timeline and the neighbours in the DOM, and a screenshot. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "safety_fixtures.h"
#include <mrnet/mrnet.h>
#include "tensor/rng.h"

static const char *store;
static char ckpt[600], tones[600], db[600];
static mrnet_server *server;
static int port;

static int setup(void **state)
{
    (void)state;
    if (!(store = sx_tiny_checkpoint("run", 7, ckpt, sizeof ckpt)))
        return -1;
    snprintf(tones, sizeof tones, "%s", test_path("tones"));
    snprintf(db, sizeof db, "%s", test_path("lib.db"));
    if (test_run_cli("index '%s' '%s' --db '%s' --quiet", ckpt, tones, db) != 0)
        return -1;
    mrnet_serve_options so = {.db = db, .port = 0};
    if (mrnet_serve_start(&so, &server) != MRNET_OK) {
        fprintf(stderr, "serve: %s\n", mrnet_last_error());
        return -1;
    }
    port = mrnet_serve_port(server);
    return port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    mrnet_serve_stop(server);
    return 0;
}

/* Sends raw bytes to the server; the response (static buffer) and its status. */
static int http_raw(const void *request, size_t n, char **body, size_t *body_n)
{
    static char buf[1 << 20];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, request, n), (ssize_t)n);
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    buf[got] = '\0';
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    char *b = strstr(buf, "\r\n\r\n");
    if (body)
        *body = b ? b + 4 : buf + got;
    if (body_n)
        *body_n = b ? got - (size_t)(b + 4 - buf) : 0;
    return status;
}

static int get(const char *target, char **body, size_t *n)
{
    char req[4096];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
    return http_raw(req, (size_t)len, body, n);
}

/* A path as a URL query value. */
static void url_encode(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (; *s && o + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.~/", c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, size - o, "%%%02X", c);
    }
    out[o] = '\0';
}

static void api_answers_and_errors(void **state)
{
    (void)state;
    char *body, target[2048], enc[1500], file[700];
    size_t n;
    assert_int_equal(get("/", &body, NULL), 200);
    assert_non_null(strstr(body, "<title>mrnet library</title>"));
    /* nothing loaded from elsewhere (the SVG namespace is a name, not a load) */
    const char *loads[] = {"src=\"http", "href=\"http", "url(http", "fetch(\"http", "import ", "<link", "https://"};
    for (size_t i = 0; i < sizeof loads / sizeof *loads; i++)
        if (strstr(body, loads[i]))
            fail_msg("the page loads something from elsewhere: %s", loads[i]);
    assert_int_equal(get("/api/model", &body, NULL), 200);
    assert_non_null(strstr(body, "\"labels\":[\"high\",\"low\",\"mid\"]"));
    assert_non_null(strstr(body, "\"routes\":["));
    assert_int_equal(get("/api/tracks", &body, NULL), 200);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tracks")), 24);
    cJSON_Delete(j);
    assert_int_equal(get("/api/tracks?label=low&min=0.2&sort=prob&limit=5", &body, NULL), 200);
    j = cJSON_Parse(body);
    assert_non_null(j);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tracks")) <= 5);
    cJSON_Delete(j);
    /* bad parameters: 400 with a reason */
    const char *bad[] = {"/api/tracks?min=abc&label=low", "/api/tracks?label=low&min=2", "/api/tracks?limit=0",
                         "/api/tracks?limit=99999999999", "/api/tracks?sort=sideways", "/api/tracks?label=nope",
                         "/api/tracks?sort=prob", "/api/track", "/api/track?path=x&k=-3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int status = get(bad[i], &body, NULL);
        if (status != 400)
            fail_msg("%s: %d, expected 400 (%s)", bad[i], status, body);
        assert_non_null(strstr(body, "\"error\""));
    }
    /* an indexed file: its bytes; anything else: 404 */
    snprintf(file, sizeof file, "%s/mid3.wav", tones);
    char *real = realpath(file, NULL);
    url_encode(real, enc, sizeof enc);
    snprintf(target, sizeof target, "/audio?path=%s", enc);
    assert_int_equal(get(target, &body, &n), 200);
    FILE *f = fopen(real, "rb");
    static char want[1 << 18];
    size_t wn = fread(want, 1, sizeof want, f);
    fclose(f);
    assert_int_equal(n, wn);
    assert_memory_equal(body, want, wn);
    snprintf(target, sizeof target, "/api/track?path=%s&k=5", enc);
    assert_int_equal(get(target, &body, NULL), 200);
    j = cJSON_Parse(body);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "neighbours")), 5);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "windows")) >= 1);
    cJSON_Delete(j);
    free(real);
    const char *not_found[] = {"/audio?path=/etc/passwd", "/audio?path=..%2F..%2F..%2Fetc%2Fpasswd",
                               "/audio?path=", "/audio", "/../../etc/passwd", "/etc/passwd", "/api/nothing",
                               "/api/track?path=/etc/passwd"};
    for (size_t i = 0; i < sizeof not_found / sizeof *not_found; i++) {
        int status = get(not_found[i], &body, NULL);
        if (status != 404)
            fail_msg("%s: %d, expected 404", not_found[i], status);
    }
    const char post[] = "POST /api/tracks HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc";
    assert_int_equal(http_raw(post, sizeof post - 1, NULL, NULL), 405);
}

static void junk_requests_leave_it_running(void **state)
{
    (void)state;
    uint64_t rng = 9;
    static char junk[4096];
    for (int k = 0; k < 50; k++) {
        size_t n = 1 + (size_t)(rng_next(&rng) % sizeof junk);
        for (size_t i = 0; i < n; i++)
            junk[i] = (char)(rng_next(&rng) & 0xff);
        if (k % 2)
            memcpy(junk, "GET /api/tracks?", 16 < n ? 16 : n);
        (void)http_raw(junk, n, NULL, NULL);
    }
    char huge[8192];
    int len = snprintf(huge, sizeof huge, "GET /api/tracks?label=");
    memset(huge + len, 'a', sizeof huge - (size_t)len - 40);
    snprintf(huge + sizeof huge - 40, 40, " HTTP/1.1\r\nConnection: close\r\n\r\n");
    (void)http_raw(huge, strlen(huge), NULL, NULL);
    assert_int_equal(get("/api/model", NULL, NULL), 200);
}

/* The page in headless Chromium: DOM after the scripts ran, and a picture. */
static void page_in_chromium(void **state)
{
    (void)state;
    if (system("command -v chromium > /dev/null 2>&1") != 0) {
        print_message("chromium not installed (scripts/install-deps.sh installs it): page test skipped\n");
        skip();
    }
    char dom[700], shot[700], cmd[4096], file[700];
    snprintf(dom, sizeof dom, "%s", test_path("dom.html"));
    snprintf(shot, sizeof shot, "%s", test_path("page.png"));
    snprintf(file, sizeof file, "%s/low2.wav", tones);
    char *real = realpath(file, NULL);
    const char *flags = "--headless --no-sandbox --disable-gpu --no-proxy-server --disable-dev-shm-usage "
                        "--user-data-dir=/tmp/mrnet-test-chromium --virtual-time-budget=8000";
    snprintf(cmd, sizeof cmd, "timeout 60 chromium %s --dump-dom 'http://127.0.0.1:%d/#label=low&min=0&track=%s' "
             "> '%s' 2> /dev/null", flags, port, real, dom);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(dom, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "data-ready=\"1\""));
    int rows = 0, windows = 0, neighbours = 0;
    for (const char *p = text; (p = strstr(p, "<tr class=\"track")); p++)
        rows++;
    for (const char *p = text; (p = strstr(p, "class=\"window\"")); p++)
        windows++;
    const char *ul = strstr(text, "<ul id=\"neighbours\">");
    assert_non_null(ul);
    for (const char *p = ul; (p = strstr(p, "<li ")) && p < strstr(ul, "</ul>"); p++)
        neighbours++;
    print_message("page: %d rows, %d windows in the timeline, %d neighbours\n", rows, windows, neighbours);
    assert_int_equal(rows, 24);  /* the filter: label low, min 0, every track */
    assert_true(windows >= 1);
    assert_int_equal(neighbours, 10);
    assert_non_null(strstr(text, "p(low)"));
    assert_non_null(strstr(text, "<audio"));
    /* a higher threshold lists fewer tracks, as the API does */
    char *body;
    assert_int_equal(get("/api/tracks?label=low&min=0.34", &body, NULL), 200);
    cJSON *j = cJSON_Parse(body);
    int want = cJSON_GetArraySize(cJSON_GetObjectItem(j, "tracks"));
    cJSON_Delete(j);
    snprintf(cmd, sizeof cmd, "timeout 60 chromium %s --dump-dom 'http://127.0.0.1:%d/#label=low&min=0.34' > '%s' "
             "2> /dev/null", flags, port, dom);
    assert_int_equal(system(cmd), 0);
    f = fopen(dom, "rb");
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    rows = 0;
    for (const char *p = text; (p = strstr(p, "<tr class=\"track")); p++)
        rows++;
    assert_int_equal(rows, want);
    snprintf(cmd, sizeof cmd, "timeout 60 chromium %s --window-size=1280,800 --screenshot='%s' "
             "'http://127.0.0.1:%d/#track=%s' > /dev/null 2>&1", flags, shot, port, real);
    assert_int_equal(system(cmd), 0);
    f = fopen(shot, "rb");
    assert_non_null(f);
    unsigned char sig[8];
    assert_int_equal(fread(sig, 1, 8, f), 8);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
    assert_true(size > 10000);
    free(real);
    assert_int_equal(get("/api/model", NULL, NULL), 200); /* still up */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(api_answers_and_errors),
        cmocka_unit_test(junk_requests_leave_it_running),
        cmocka_unit_test(page_in_chromium),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
