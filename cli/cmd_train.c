/* mrnet train STORE -o OUT: the paper's recipe on a feature store. */
#include <stdio.h>

#include "cli_util.h"
#include "commands.h"
#include "train_flags.h"

int cmd_train(int argc, char **argv)
{
    mrnet_train_options o;
    mrnet_train_options_default(&o);
    bool quiet = false;
    int rc = train_flags_parse(
        argc, argv, "train", &o, &quiet, NULL, NULL, NULL, "mrnet train STORE -o OUT_DIR [options]",
        "Trains MRNet on a feature store (mrnet extract) with the paper's recipe.\n"
        "Writes OUT_DIR/best.safetensors (best validation epoch), last.safetensors\n"
        "(full state for --resume), log.jsonl (one line per epoch) and curve.svg.\n");
    if (rc >= 0)
        return rc;
    if (optind + 1 != argc || !o.out_dir)
        return cli_error("train", 2, "usage: mrnet train STORE -o OUT_DIR [options] (--help)");
    mrnet_status guard = cli_output_not_input("-o", o.out_dir, (const char *const[]){argv[optind]}, 1);
    if (guard != MRNET_OK) /* the run's files would land among the store's */
        return cli_fail("train", guard);
    train_view view = {.quiet = quiet};
    cli_progress_init(&view.bar, 10.0);
    o.progress = train_flags_progress;
    o.progress_ctx = &view;
    o.stop = cli_stop_on_signal();
    o.comm = cli_collective();
    mrnet_train_result r;
    mrnet_status st = mrnet_train(argv[optind], &o, &r);
    cli_stop_restore();
    if (st != MRNET_OK)
        return cli_fail("train", st);
    printf("trained %d epochs on %d examples (%d validation%s) in %.1f s\n", r.epochs_run, r.n_train,
           r.n_valid, r.n_held_out ? ", held out of the training split" : "", r.seconds);
    if (r.n_valid)
        printf("best epoch %d: validation accuracy %.4f, macro-F1 %.4f; last epoch: accuracy %.4f, "
               "macro-F1 %.4f\n",
               r.best_epoch, r.best_accuracy, r.best_macro_f1, r.last_accuracy, r.last_macro_f1);
    printf("results in %s: best.safetensors last.safetensors log.jsonl curve.svg\n", o.out_dir);
    return 0;
}
