/* mrnet serve --db LIB.db: the read-only page over an index (mrnet/serve.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mrnet/mrnet.h>
#include "cli_util.h"
#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet serve --db LIB.db [--port P] [--address A]\n"
            "Serves a page over an index made by mrnet index: the tracks with their labels, a\n"
            "filter and sort by label, each track's window timeline and nearest neighbours, the\n"
            "track itself to play, and the model's routes. Read-only; only indexed files are\n"
            "served. Runs until Ctrl-C.\n"
            "  --port P      (default 8080; 0: any free port, printed)\n"
            "  --address A   the address to listen on (default 127.0.0.1: this machine only)\n");
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"port", required_argument, 0, 'p'},
                                         {"address", required_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    mrnet_serve_options o = {.address = "127.0.0.1", .port = 8080};
    long port;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db = optarg; break;
        case 'p':
            if (!cli_parse_int(optarg, 0, 65535, &port))
                return cli_error("serve", 2, "bad value '%s' for --port: 0 to 65535", optarg);
            o.port = (int)port;
            break;
        case 'a': o.address = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!o.db || optind != argc) {
        usage(stderr);
        return 2;
    }
    volatile sig_atomic_t *stop = cli_stop_on_signal();
    mrnet_server *s;
    mrnet_status st = mrnet_serve_start(&o, &s);
    if (st != MRNET_OK) {
        cli_stop_restore();
        return cli_fail("serve", st);
    }
    printf("mrnet serve: %s at http://%s:%d/ (Ctrl-C stops)\n", o.db, o.address, mrnet_serve_port(s));
    fflush(stdout);
    while (!*stop) {
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    mrnet_serve_stop(s);
    cli_stop_restore();
    return 0;
}
