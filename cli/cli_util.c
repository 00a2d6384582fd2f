#include "cli_util.h"

#include <mrnet/mrnet.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- several processes (mpirun) ---- */
static mrnet_collective world;
static bool world_started;

const mrnet_collective *cli_collective(void) { return world_started ? &world : NULL; }

bool cli_is_root(void) { return !world_started || world.rank == 0; }

int cli_parallel_start(const char *cmd, int *argc, char ***argv)
{
    if (!mrnet_mpi_launched())
        return -1;
    if (mrnet_mpi_init(argc, argv, &world) != MRNET_OK) {
        cli_fail(cmd, MRNET_ERR_UNSUPPORTED);
        return 2;
    }
    world_started = true;
    /* the job's results, progress and agreed errors are rank 0's to print */
    if (world.rank != 0 && !freopen("/dev/null", "w", stdout))
        return cli_fail(cmd, mrnet_fail(MRNET_ERR_IO, "cannot silence rank %d's output", world.rank));
    return -1;
}

void cli_parallel_end(void)
{
    if (world_started)
        mrnet_mpi_finalize();
    world_started = false;
}

int cli_fail(const char *cmd, mrnet_status status)
{
    if (!cli_is_root()) /* agreed errors: rank 0 prints the failing rank's message */
        return 1;
    const char *msg = mrnet_last_error();
    fprintf(stderr, "mrnet %s: %s\n", cmd, msg[0] ? msg : mrnet_status_name(status));
    return 1;
}

int cli_error(const char *cmd, int code, const char *fmt, ...)
{
    if (!cli_is_root())
        return code;
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

void cli_csv_field(FILE *out, const char *text)
{
    char *clean = mrnet_utf8_sanitize(text);
    const char *s = clean ? clean : "?";
    if (!strpbrk(s, ",\"\n\r"))
        fputs(s, out);
    else {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    }
    free(clean);
}

void cli_json_string(FILE *out, const char *text)
{
    char *clean = mrnet_utf8_sanitize(text);
    const char *s = clean ? clean : "?";
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20 || *s == 0x7f)
            fprintf(out, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
    free(clean);
}

mrnet_status cli_output_open(cli_output *o, const char *path)
{
    *o = (cli_output){.path = path};
    if (!strcmp(path, "-")) { /* standard output, as it goes */
        o->f = stdout;
        o->to_stdout = true;
        return MRNET_OK;
    }
    /* Fail now, not after the work, when path cannot be written. Not for
     * what is written through (a FIFO would see an open and an EOF). */
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode)) {
        mrnet_atomic_file probe;
        MRNET_TRY(mrnet_atomic_open(&probe, path));
        mrnet_atomic_abort(&probe);
    }
    o->f = open_memstream(&o->buf, &o->size);
    return o->f ? MRNET_OK : mrnet_fail(MRNET_ERR_NOMEM, "%s: out of memory", path);
}

mrnet_status cli_output_commit(cli_output *o)
{
    if (o->to_stdout) {
        bool bad = fflush(stdout) != 0 || ferror(stdout);
        int err = errno;
        *o = (cli_output){0};
        return bad ? mrnet_fail(MRNET_ERR_IO, "standard output: write failed: %s",
                                err ? strerror(err) : "I/O error")
                   : MRNET_OK;
    }
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
    if (o->f && !o->to_stdout)
        fclose(o->f);
    free(o->buf);
    *o = (cli_output){0};
}

/* Where path would be created: its folder's real path and its name. */
static bool planned_path(const char *path, char *out, size_t size)
{
    char dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (!realpath(dir, real))
        return false;
    int n = snprintf(out, size, "%s/%s", strcmp(real, "/") ? real : "", base);
    return n > 0 && (size_t)n < size;
}

bool cli_same_file(const char *output, const char *input)
{
    struct stat so, si;
    if (stat(input, &si) != 0)
        return false;
    if (stat(output, &so) == 0)
        return so.st_dev == si.st_dev && so.st_ino == si.st_ino;
    char planned[2 * PATH_MAX], real[PATH_MAX];
    return planned_path(output, planned, sizeof planned) && realpath(input, real) &&
           !strcmp(planned, real);
}

mrnet_status cli_output_not_input(const char *option, const char *output, const char *const *inputs,
                                  int n_inputs)
{
    if (!output || !strcmp(output, "-"))
        return MRNET_OK;
    struct stat so, si;
    bool exists = stat(output, &so) == 0;
    /* written through, never replaced: cannot destroy an input */
    if (exists && !S_ISREG(so.st_mode) && !S_ISDIR(so.st_mode))
        return MRNET_OK;
    char planned[2 * PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(output, '/'), *base = slash ? slash + 1 : output;
    bool have_planned = !exists && planned_path(output, planned, sizeof planned);
    for (int i = 0; i < n_inputs; i++) {
        const char *in = inputs[i];
        if (!in)
            continue;
        bool same;
        if (exists) {
            same = stat(in, &si) == 0 && so.st_dev == si.st_dev && so.st_ino == si.st_ino;
        } else { /* the real path only for a name that could match (many inputs) */
            const char *s2 = strrchr(in, '/');
            same = have_planned && !strcmp(s2 ? s2 + 1 : in, base) && realpath(in, real) &&
                   !strcmp(planned, real);
        }
        if (same)
            return mrnet_fail(MRNET_ERR_ARG,
                              "%s %s is the same %s as the input %s: writing it would destroy the "
                              "input; give another output name",
                              option, output, exists && S_ISDIR(so.st_mode) ? "folder" : "file", in);
    }
    return MRNET_OK;
}

int cli_close_stdout(const char *cmd, int rc)
{
    errno = 0;
    bool bad = fflush(stdout) != 0 || ferror(stdout);
    int err = errno;
    if (fclose(stdout) != 0 && !bad && errno != EBADF) { /* EBADF: closed by the caller, unused */
        bad = true;
        err = errno;
    }
    if (!bad)
        return rc;
    fprintf(stderr, "mrnet %s: cannot write standard output: %s\n", cmd,
            err ? strerror(err) : "I/O error");
    return rc ? rc : 1;
}

void cli_text_escaped(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool control = *p < 0x20 || *p == 0x7f;
        size_t need = control ? 4 : 1;
        if (n + need >= size)
            break;
        if (control)
            snprintf(buf + n, 5, "\\x%02x", *p);
        else
            buf[n] = (char)*p;
        n += need;
    }
    if (size)
        buf[n < size ? n : size - 1] = '\0';
}

void cli_print_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}
