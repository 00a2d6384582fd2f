/* mrnet train STORE -o OUT: the paper's recipe on a feature store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "train/trainer.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mrnet train STORE -o OUT_DIR [options]\n"
            "Trains MRNet on a feature store (mrnet extract) with the paper's recipe.\n"
            "Writes OUT_DIR/best.safetensors (best validation epoch), last.safetensors\n"
            "(full state for --resume), log.jsonl (one line per epoch) and curve.svg.\n"
            "data:\n"
            "  --fold K             validate on fold K, train on the other folds\n"
            "                       (default: the split column, train / valid)\n"
            "  --crop-seconds S     training crop (default 6)\n"
            "  --frame-rate F       frames per second, for stores of .npy features\n"
            "recipe (defaults are the paper's):\n"
            "  --epochs N           (1000)          --batch N        (48, last partial dropped)\n"
            "  --lr X               (1e-3)          --lr-min X       (5e-4)\n"
            "  --restart-epochs N   (1000, T_0)     --restart-mult N (2, T_mult)\n"
            "  --weight-decay X     (1e-4)          --dropout P      (0.5)\n"
            "  --no-class-weights   plain cross entropy\n"
            "  --no-noise           no Gaussian noise   --noise-per-example  draw per example\n"
            "  --noise-p P --noise-mean LO,HI --noise-std LO,HI   (0.7, -0.03,0.03, 0.05,0.1)\n"
            "  --drop-route LIST    route ablation, e.g. L1 or H,M2\n"
            "  --seed N             (0) same seed, same run\n"
            "model:\n"
            "  --channels C (512)  --embed E (128)  --dilations a,b,c (2,3,4)  --scale N (8)\n"
            "output:\n"
            "  --resume             continue OUT_DIR/last.safetensors\n"
            "  --select-f1          keep the best epoch by macro-F1 instead of accuracy\n"
            "  --quiet              no progress lines\n"
            "Ctrl-C saves the state and stops; run again with --resume to continue.\n");
}

enum {
    OPT_FOLD = 256, OPT_CROP, OPT_RATE, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_LR_MIN, OPT_T0,
    OPT_TMULT, OPT_WD, OPT_DROPOUT, OPT_NO_CW, OPT_NO_NOISE, OPT_NOISE_EX, OPT_NOISE_P,
    OPT_NOISE_MEAN, OPT_NOISE_STD, OPT_DROP_ROUTE, OPT_SEED, OPT_CHANNELS, OPT_EMBED,
    OPT_DILATIONS, OPT_SCALE, OPT_RESUME, OPT_SELECT_F1, OPT_QUIET
};

static bool parse_pair(const char *s, float *lo, float *hi)
{
    double a, b;
    char extra;
    if (sscanf(s, "%lf,%lf%c", &a, &b, &extra) != 2 || !(a <= b))
        return false;
    *lo = (float)a;
    *hi = (float)b;
    return true;
}

static bool parse_option(int c, const char *arg, trainer_options *o, bool *quiet)
{
    long v;
    double d;
    switch (c) {
    case OPT_FOLD: return cli_parse_int(arg, 0, 1000, &v) && ((o->valid_fold = (int)v), true);
    case OPT_CROP: return cli_parse_double(arg, &o->crop_seconds) && o->crop_seconds > 0;
    case OPT_RATE: return cli_parse_double(arg, &o->frame_rate) && o->frame_rate > 0;
    case OPT_EPOCHS: return cli_parse_int(arg, 1, 1000000, &v) && ((o->epochs = (int)v), true);
    case OPT_BATCH: return cli_parse_int(arg, 2, 100000, &v) && ((o->batch = (int)v), true);
    case OPT_LR: return cli_parse_double(arg, &o->lr_max) && o->lr_max >= 0;
    case OPT_LR_MIN: return cli_parse_double(arg, &o->lr_min) && o->lr_min >= 0;
    case OPT_T0: return cli_parse_int(arg, 1, 100000000, &o->restart_epochs);
    case OPT_TMULT: return cli_parse_int(arg, 1, 1000, &o->restart_mult);
    case OPT_WD: return cli_parse_double(arg, &o->weight_decay) && o->weight_decay >= 0;
    case OPT_DROPOUT:
        return cli_parse_double(arg, &d) && d >= 0 && d < 1 && ((o->dropout = (float)d), true);
    case OPT_NO_CW: o->class_weights = false; return true;
    case OPT_NO_NOISE: o->noise = false; return true;
    case OPT_NOISE_EX: o->noise_per_example = true; return true;
    case OPT_NOISE_P:
        return cli_parse_double(arg, &d) && d >= 0 && d <= 1 && ((o->noise_cfg.p = (float)d), true);
    case OPT_NOISE_MEAN: return parse_pair(arg, &o->noise_cfg.mean_lo, &o->noise_cfg.mean_hi);
    case OPT_NOISE_STD:
        return parse_pair(arg, &o->noise_cfg.std_lo, &o->noise_cfg.std_hi) && o->noise_cfg.std_lo >= 0;
    case OPT_DROP_ROUTE: return mrnet_parse_routes(arg, &o->drop_routes) == MRNET_OK;
    case OPT_SEED: return cli_parse_int(arg, 0, 0x7fffffffffffffffL, &v) && ((o->seed = (uint64_t)v), true);
    case OPT_CHANNELS: return cli_parse_int(arg, 16, 16384, &v) && ((o->channels = (int)v), true);
    case OPT_EMBED: return cli_parse_int(arg, 1, 65536, &v) && ((o->embed = (int)v), true);
    case OPT_DILATIONS:
        return sscanf(arg, "%d,%d,%d", &o->dilations[0], &o->dilations[1], &o->dilations[2]) == 3 &&
               o->dilations[0] > 0 && o->dilations[1] > 0 && o->dilations[2] > 0;
    case OPT_SCALE: return cli_parse_int(arg, 2, 16, &v) && ((o->scale = (int)v), true);
    case OPT_RESUME: o->resume = true; return true;
    case OPT_SELECT_F1: o->select_macro_f1 = true; return true;
    case OPT_QUIET: *quiet = true; return true;
    }
    return false;
}

typedef struct {
    cli_progress bar;
    bool quiet;
} train_view;

static void on_progress(void *ctx, const trainer_progress *p)
{
    train_view *v = ctx;
    if (v->quiet)
        return;
    if (!p->epoch_done) {
        cli_progress_print(&v->bar, p->batch == p->batches, "epoch %d/%d [%s] %d/%d loss %.4f acc %.3f %.1f samples/s lr %.2e",
                           p->epoch, p->epochs, cli_bar(p->batch, p->batches, 20), p->batch,
                           p->batches, p->loss, p->accuracy, p->samples_per_s, p->lr);
        return;
    }
    cli_progress_done(&v->bar);
    fprintf(stderr, "epoch %d/%d: train loss %.4f acc %.3f | valid loss %.4f acc %.3f macro-F1 %.3f%s\n",
            p->epoch, p->epochs, p->loss, p->accuracy, p->valid_loss, p->valid_accuracy,
            p->valid_macro_f1, p->best ? "  (best)" : "");
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
        {"fold", required_argument, 0, OPT_FOLD}, {"crop-seconds", required_argument, 0, OPT_CROP},
        {"frame-rate", required_argument, 0, OPT_RATE}, {"epochs", required_argument, 0, OPT_EPOCHS},
        {"batch", required_argument, 0, OPT_BATCH}, {"lr", required_argument, 0, OPT_LR},
        {"lr-min", required_argument, 0, OPT_LR_MIN}, {"restart-epochs", required_argument, 0, OPT_T0},
        {"restart-mult", required_argument, 0, OPT_TMULT}, {"weight-decay", required_argument, 0, OPT_WD},
        {"dropout", required_argument, 0, OPT_DROPOUT}, {"no-class-weights", no_argument, 0, OPT_NO_CW},
        {"no-noise", no_argument, 0, OPT_NO_NOISE}, {"noise-per-example", no_argument, 0, OPT_NOISE_EX},
        {"noise-p", required_argument, 0, OPT_NOISE_P}, {"noise-mean", required_argument, 0, OPT_NOISE_MEAN},
        {"noise-std", required_argument, 0, OPT_NOISE_STD}, {"drop-route", required_argument, 0, OPT_DROP_ROUTE},
        {"seed", required_argument, 0, OPT_SEED}, {"channels", required_argument, 0, OPT_CHANNELS},
        {"embed", required_argument, 0, OPT_EMBED}, {"dilations", required_argument, 0, OPT_DILATIONS},
        {"scale", required_argument, 0, OPT_SCALE}, {"resume", no_argument, 0, OPT_RESUME},
        {"select-f1", no_argument, 0, OPT_SELECT_F1}, {"quiet", no_argument, 0, OPT_QUIET},
        {0, 0, 0, 0}};
    trainer_options o;
    trainer_options_default(&o);
    bool quiet = false;
    int c, index;
    while ((c = getopt_long(argc, argv, "o:h", opts, &index)) != -1) {
        if (c == 'o')
            o.out_dir = optarg;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else if (c == '?') {
            usage(stderr);
            return 2;
        } else if (!parse_option(c, optarg, &o, &quiet)) {
            return cli_error("train", 2, "bad value '%s' for --%s%s%s", optarg ? optarg : "",
                             opts[index].name, c == OPT_DROP_ROUTE ? ": " : "",
                             c == OPT_DROP_ROUTE ? mrnet_last_error() : "");
        }
    }
    if (optind + 1 != argc || !o.out_dir) {
        usage(stderr);
        return 2;
    }
    train_view view = {.quiet = quiet};
    cli_progress_init(&view.bar, 10.0);
    o.progress = on_progress;
    o.progress_ctx = &view;
    o.stop = cli_stop_on_signal();
    trainer_result r;
    mrnet_status st = trainer_run(argv[optind], &o, &r);
    cli_stop_restore();
    if (st != MRNET_OK)
        return cli_fail("train", st);
    printf("trained %d epochs on %d examples (%d validation) in %.1f s\n", r.epochs_run, r.n_train,
           r.n_valid, r.seconds);
    if (r.n_valid)
        printf("best epoch %d: validation accuracy %.4f, macro-F1 %.4f; last epoch: accuracy %.4f, "
               "macro-F1 %.4f\n",
               r.best_epoch, r.best_accuracy, r.best_macro_f1, r.last_accuracy, r.last_macro_f1);
    printf("results in %s: best.safetensors last.safetensors log.jsonl curve.svg\n", o.out_dir);
    return 0;
}
