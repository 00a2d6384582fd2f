#include "cli_util.h"

#include <mrnet/mrnet.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_fail(const char *cmd, mrnet_status status)
{
    const char *msg = mrnet_last_error();
    fprintf(stderr, "mrnet %s: %s\n", cmd, msg[0] ? msg : mrnet_status_name(status));
    return 1;
}

int cli_error(const char *cmd, int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mrnet %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

bool cli_parse_int(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool cli_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
    if (stop_flag) { /* second signal: give up at once */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    stop_flag = 1;
}

volatile sig_atomic_t *cli_stop_on_signal(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    stop_flag = 0;
    return &stop_flag;
}

void cli_stop_restore(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress_init(cli_progress *p, double interval)
{
    p->tty = isatty(STDERR_FILENO);
    p->interval = p->tty ? 0.1 : interval;
    p->last = -1e18;
}

void cli_progress_print(cli_progress *p, bool force, const char *fmt, ...)
{
    double now = monotonic_seconds();
    if (!force && now - p->last < p->interval)
        return;
    p->last = now;
    va_list ap;
    va_start(ap, fmt);
    if (p->tty)
        fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (!p->tty)
        fputc('\n', stderr);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p)
{
    if (p->tty)
        fputc('\n', stderr);
}

const char *cli_bar(double done, double total, int width)
{
    static char bar[128];
    if (width > 100)
        width = 100;
    int full = total > 0 ? (int)(width * done / total) : 0;
    for (int i = 0; i < width; i++)
        bar[i] = i < full ? '#' : '.';
    bar[width] = '\0';
    return bar;
}

void cli_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

mrnet_status cli_output_open(cli_output *o, const char *path)
{
    *o = (cli_output){.path = path};
    mrnet_atomic_file probe; /* fail now, not after the work, when path cannot be written */
    MRNET_TRY(mrnet_atomic_open(&probe, path));
    mrnet_atomic_abort(&probe);
    o->f = open_memstream(&o->buf, &o->size);
    return o->f ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
}

mrnet_status cli_output_commit(cli_output *o)
{
    if (fclose(o->f) != 0) {
        free(o->buf);
        return mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", o->path);
    }
    mrnet_atomic_file af;
    mrnet_status st = mrnet_atomic_open(&af, o->path);
    if (st == MRNET_OK) {
        mrnet_atomic_write(&af, o->buf, o->size);
        st = mrnet_atomic_commit(&af);
    }
    free(o->buf);
    *o = (cli_output){0};
    return st;
}

void cli_output_discard(cli_output *o)
{
    if (o->f)
        fclose(o->f);
    free(o->buf);
    *o = (cli_output){0};
}
