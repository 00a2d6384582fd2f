/* Small helpers shared by the subcommands. */
#ifndef MRNET_CLI_UTIL_H
#define MRNET_CLI_UTIL_H

#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <mrnet/mrnet.h>

/* Prints "mrnet CMD: <library error message>" to stderr; returns 1. */
int cli_fail(const char *cmd, mrnet_status status);

/* Several processes (mpirun): under an MPI launcher starts MPI and returns
 * -1 to go on (rank 0 prints; the others' stdout is silenced), or an exit
 * status when it cannot (a build without MPI); -1 too without a launcher.
 * cli_collective() is then the job's collective, NULL in one process. */
int cli_parallel_start(const char *cmd, int *argc, char ***argv);
void cli_parallel_end(void);
const mrnet_collective *cli_collective(void);
bool cli_is_root(void);
/* Prints "mrnet CMD: <formatted message>" to stderr; returns the given code. */
int cli_error(const char *cmd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Strict number parsing: the whole string must be a number in range. */
bool cli_parse_int(const char *s, long lo, long hi, long *out);
bool cli_parse_double(const char *s, double *out);

/* A text output file written whole or not at all: the text collects in
 * memory and is committed atomically (mrnet/io.h), so an interrupted or
 * failed run never leaves half a file. "-" is standard output, written as it
 * goes (commit checks that it was). */
typedef struct {
    FILE *f; /* write here */
    char *buf;
    size_t size;
    const char *path;
    bool to_stdout;
} cli_output;
mrnet_status cli_output_open(cli_output *o, const char *path);
/* Closes and writes path; on failure nothing is written. */
mrnet_status cli_output_commit(cli_output *o);
void cli_output_discard(cli_output *o);

/* Whether output names the same file as input: the same device and inode
 * when output exists, else the same real path. */
bool cli_same_file(const char *output, const char *input);
/* Refuses (MRNET_ERR_ARG, naming both) an output that is one of the inputs
 * (NULL entries skipped); "-" and what is written through (a device, a FIFO)
 * are never refused. option names the output in the message ("-o"). */
mrnet_status cli_output_not_input(const char *option, const char *output, const char *const *inputs,
                                  int n_inputs);
/* At the end of a command: flushes and closes standard output; a write
 * error (full disk, /dev/full, closed pipe) is reported and makes a zero rc
 * 1. Returns the exit status. */
int cli_close_stdout(const char *cmd, int rc);

/* Writes one CSV field, quoted when it holds a comma, quote or newline;
 * bytes that are not UTF-8 become U+FFFD. */
void cli_csv_field(FILE *out, const char *s);
/* Writes s as a JSON string: quoted, escaped, bytes that are not UTF-8 as
 * U+FFFD (valid JSON whatever the file system gave us). */
void cli_json_string(FILE *out, const char *s);
/* Writes s for a terminal: control bytes (below 0x20, 0x7f) as \xNN, so a
 * label from a file cannot move the cursor or recolour the screen. */
void cli_print_text(FILE *out, const char *s);
/* The same into buf (truncated to size - 1 bytes, never inside an escape),
 * for tables printed with a field width. */
void cli_text_escaped(const char *s, char *buf, size_t size);

/* SIGINT/SIGTERM set the returned flag instead of killing the process, so a
 * long job can save and stop; a second signal kills as usual. */
volatile sig_atomic_t *cli_stop_on_signal(void);
/* Restores the default handlers. */
void cli_stop_restore(void);

/* A progress line on stderr: redrawn in place (\r) on a terminal, else
 * printed as plain lines at most every `interval` seconds. */
typedef struct {
    bool tty;
    double interval, last;
} cli_progress;
void cli_progress_init(cli_progress *p, double interval);
/* Prints when due (or always when force); fmt gives the line's text. */
void cli_progress_print(cli_progress *p, bool force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends a redrawn line (newline on a terminal). */
void cli_progress_done(cli_progress *p);
/* A text bar of width cells for done of total. */
const char *cli_bar(double done, double total, int width);

#endif
