/* mrnet ablate STORE -o OUT: the paper's Table 3. Trains the full model and
 * one model per route dropped in training, several seeds each, evaluates
 * every run on the test split and reports mean +- std per row with the
 * difference from the full model. */
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>
#include "train_flags.h"

typedef struct {
    mrnet_view view;
    long seeds;
} ablate_extra;

static bool on_extra(int c, const char *arg, void *ctx)
{
    ablate_extra *x = ctx;
    if (c == 'v')
        return mrnet_view_parse(arg, &x->view) == MRNET_OK;
    if (c == 'n')
        return cli_parse_int(arg, 1, MRNET_ABLATE_MAX_SEEDS, &x->seeds);
    return false;
}

typedef struct {
    train_view view;
    char prefix[48];
} ablate_view;

static void on_run_start(void *ctx, const char *run)
{
    ablate_view *v = ctx;
    snprintf(v->prefix, sizeof v->prefix, "%s: ", run);
    v->view.prefix = v->prefix;
    cli_progress_init(&v->view.bar, 10.0);
}

static void on_run_done(void *ctx, const char *run, double accuracy, double macro_f1)
{
    (void)ctx;
    printf("%s: accuracy %.4f macro-F1 %.4f\n", run, accuracy, macro_f1);
    fflush(stdout);
}

static void print_table(const mrnet_ablate_result *r, int seeds)
{
    printf("\nroute ablation on the %s split, %d seed%s (mean +- std; difference from the full model)\n",
           r->split, seeds, seeds == 1 ? "" : "s");
    printf("%-8s %20s %10s %20s %10s\n", "dropped", "accuracy", "diff", "macro-F1", "diff");
    for (int i = 0; i < r->n_rows; i++) {
        const mrnet_ablate_row *w = &r->rows[i];
        if (!w->n) {
            printf("%-8s %20s\n", w->name, "(off in every run)");
            continue;
        }
        printf("%-8s %11.4f +- %6.4f %+10.4f %11.4f +- %6.4f %+10.4f\n", i ? w->name : "none", w->mean_accuracy,
               w->std_accuracy, w->delta_accuracy, w->mean_macro_f1, w->std_macro_f1, w->delta_macro_f1);
    }
}

int cmd_ablate(int argc, char **argv)
{
    static const struct option extra[] = {{"view", required_argument, 0, 'v'},
                                          {"seeds", required_argument, 0, 'n'},
                                          {0, 0, 0, 0}};
    mrnet_ablate_options ab;
    mrnet_ablate_options_default(&ab);
    ablate_extra x = {.view = MRNET_VIEW_WINDOWS, .seeds = ab.seeds};
    bool quiet = false;
    int rc = train_flags_parse(
        argc, argv, "ablate", &ab.train, &quiet, extra, on_extra, &x, "mrnet ablate STORE -o OUT_DIR [options]",
        "The paper's route ablation (Table 3): the full model and one model per route\n"
        "dropped in training (L1 L2 L3 H M1 M2 M3), each with --seeds seeds (--seed, --seed+1,\n"
        "...), evaluated on the test split (else valid). OUT_DIR/<run>/ per run,\n"
        "OUT_DIR/ablate.json and OUT_DIR/ablate.svg. Interrupted, the same command continues.\n"
        "  --seeds N            runs per row (default 3)\n"
        "  --view V             test view: windows (default), crop or full\n"
        "  (other options as mrnet train; --drop-route removes routes from every run)\n");
    if (rc >= 0)
        return rc;
    if (optind + 1 != argc || !ab.train.out_dir)
        return cli_error("ablate", 2, "usage: mrnet ablate STORE -o OUT_DIR [options] (--help)");
    const char *store_dir = argv[optind];
    mrnet_status guard = cli_output_not_input("-o", ab.train.out_dir, (const char *const[]){store_dir}, 1);
    if (guard != MRNET_OK)
        return cli_fail("ablate", guard);
    ablate_view view = {.view = {.quiet = quiet}};
    ab.view = x.view;
    ab.seeds = (int)x.seeds;
    ab.train.progress = train_flags_progress;
    ab.train.progress_ctx = &view.view;
    ab.on_run_start = on_run_start;
    ab.on_run_done = on_run_done;
    ab.run_ctx = &view;
    ab.train.stop = cli_stop_on_signal();
    mrnet_ablate_result res;
    mrnet_status st = mrnet_ablate(store_dir, &ab, &res);
    cli_stop_restore();
    if (st != MRNET_OK)
        return cli_fail("ablate", st);
    print_table(&res, ab.seeds);
    printf("results in %s: ablate.json ablate.svg\n", ab.train.out_dir);
    return 0;
}
