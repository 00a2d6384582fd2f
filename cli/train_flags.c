/* The training options shared by mrnet train and mrnet cv, and their
 * progress display. */
#include "train_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "cli_util.h"
#include <mrnet/mrnet.h>

void train_flags_usage(FILE *out, const char *synopsis, const char *what)
{
    fprintf(out,
            "usage: %s\n%s"
            "data:\n"
            "  --fold K             validate on fold K, train on the other folds\n"
            "                       (default: the split column, train / valid)\n"
            "  --crop-seconds S     training crop (default 6)\n"
            "  --frame-rate F       frames per second, for stores of .npy features\n"
            "  --valid-view V       crop: the first 6 s (the recipe, default); windows: whole\n"
            "                       clips in 6-s windows (steadier on small validation sets)\n"
            "  --valid-holdout F    without valid entries, hold out this share of the training\n"
            "                       groups (or entries), stratified and seeded (default 0.15;\n"
            "                       0: none, the best epoch is then the best training accuracy)\n"
            "  --recipe R           paper (default): the paper's recipe, every default below;\n"
            "                       robust: mrnet's recipe for collections of a few hours\n"
            "                       (docs/RECIPES.md; sets the flags marked * below, and\n"
            "                       C 64, E 64, 25 epochs, batch 32, dropout 0.2, no noise,\n"
            "                       windows validation, best by macro-F1); any flag overrides it\n"
            "recipe (defaults are the paper's):\n"
            "  --epochs N           (1000)          --batch N        (48, last partial dropped)\n"
            "  --lr X               (1e-3)          --lr-min X       (5e-4)\n"
            "  --restart-epochs N   (1000, T_0; 0: one cycle over the run)   --restart-mult N (2)\n"
            "  --weight-decay X     (1e-4)          --dropout P      (0.5)\n"
            "  --no-class-weights   plain cross entropy\n"
            "  --no-noise           no Gaussian noise   --noise-per-example  draw per example\n"
            "  --noise-p P --noise-mean LO,HI --noise-std LO,HI   (0.7, -0.03,0.03, 0.05,0.1)\n"
            "  --drop-route LIST    route ablation, e.g. L1 or H,M2\n"
            "  --input-norm N       instance (paper) or global*: standardise with the\n"
            "                       training set's per-feature mean and std (in the checkpoint)\n"
            "  --ema D              average the weights with decay D per step* (0.999; 0 off);\n"
            "                       validation and best.safetensors use the average\n"
            "  --crops-by-duration  round(length / crop) crops of each clip an epoch*\n"
            "  --time-masks N --time-mask-seconds S   SpecAugment across time* (2, 0.5)\n"
            "  --freq-masks N --freq-mask-bands K     and across bands* (2, 6)\n"
            "  --mixup A            mix each batch with a shuffled copy, lambda ~ Beta(A, A)\n"
            "                       (0: off, the default)\n"
            "  --label-smoothing E  targets (1 - E) one-hot + E / classes (0: off, the default)\n"
            "  --route-weights P    where w_all acts: paper (default; before bn5, which undoes\n"
            "                       it) or after-norm (a softmax gate after bn5)\n"
            "  --seed N             (0) same seed, same run\n"
            "model:\n"
            "  --channels C (512)  --embed E (128)  --dilations a,b,c (2,3,4)  --scale N (8)\n"
            "output:\n"
            "  --task NAME          what the classes are (genre, mood, ...): recorded with the\n"
            "                       data, the kept epoch's validation and the date in\n"
            "                       best.safetensors' model card (mrnet info shows it)\n"
            "  --resume             continue OUT_DIR/last.safetensors\n"
            "  --select-f1          keep the best epoch by macro-F1 instead of accuracy\n"
            "  --quiet              no progress lines\n"
            "  --threads N          worker threads (default: OMP_NUM_THREADS or all cores)\n"
            "several processes (mpirun -np N mrnet ...; docs/SCALING.md):\n"
            "  each batch is shared by the N processes and their gradients summed; rank 0\n"
            "  writes the files. Resume works with any N.\n"
            "  --sync-bn            batch statistics over the whole batch (else per process,\n"
            "                       as PyTorch DDP): the same run as one process's\n"
            "Ctrl-C saves the state and stops; run again with --resume to continue.\n",
            synopsis, what);
}

enum {
    OPT_FOLD = 256, OPT_CROP, OPT_RATE, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_LR_MIN, OPT_T0,
    OPT_TMULT, OPT_WD, OPT_DROPOUT, OPT_NO_CW, OPT_NO_NOISE, OPT_NOISE_EX, OPT_NOISE_P,
    OPT_NOISE_MEAN, OPT_NOISE_STD, OPT_DROP_ROUTE, OPT_SEED, OPT_CHANNELS, OPT_EMBED,
    OPT_DILATIONS, OPT_SCALE, OPT_RESUME, OPT_SELECT_F1, OPT_SYNC_BN, OPT_QUIET, OPT_THREADS, OPT_VALID_VIEW,
    OPT_VALID_HOLDOUT, OPT_RECIPE, OPT_INPUT_NORM, OPT_EMA, OPT_CROPS_BY_DURATION, OPT_TIME_MASKS,
    OPT_TIME_MASK_S, OPT_FREQ_MASKS, OPT_FREQ_MASK_BANDS, OPT_ROUTE_WEIGHTS, OPT_MIXUP,
    OPT_LABEL_SMOOTHING, OPT_TASK
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

bool train_flags_recipe(const char *name, bool *robust)
{
    *robust = !strcmp(name, "robust");
    return *robust || !strcmp(name, "paper");
}

bool train_flags_apply(int c, const char *arg, mrnet_train_options *o, bool *quiet)
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
    case OPT_T0: return cli_parse_int(arg, 0, 100000000, &o->restart_epochs);
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
    case OPT_TASK: { /* a short printable name */
        size_t n = strlen(arg);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
                return false;
        return n > 0 && n <= 64 && ((o->task = arg), true);
    }
    case OPT_MIXUP:
        return cli_parse_double(arg, &o->mixup_alpha) && o->mixup_alpha >= 0 && o->mixup_alpha <= 100;
    case OPT_LABEL_SMOOTHING:
        return cli_parse_double(arg, &o->label_smoothing) && o->label_smoothing >= 0 &&
               o->label_smoothing < 1;
    case OPT_ROUTE_WEIGHTS: return mrnet_route_weights_parse(arg, &o->route_weights) == MRNET_OK;
    case OPT_SEED: return cli_parse_int(arg, 0, 0x7fffffffffffffffL, &v) && ((o->seed = (uint64_t)v), true);
    case OPT_CHANNELS: return cli_parse_int(arg, 16, 16384, &v) && ((o->channels = (int)v), true);
    case OPT_EMBED: return cli_parse_int(arg, 1, 65536, &v) && ((o->embed = (int)v), true);
    case OPT_DILATIONS:
        return sscanf(arg, "%d,%d,%d", &o->dilations[0], &o->dilations[1], &o->dilations[2]) == 3 &&
               o->dilations[0] > 0 && o->dilations[1] > 0 && o->dilations[2] > 0;
    case OPT_SCALE: return cli_parse_int(arg, 2, 16, &v) && ((o->scale = (int)v), true);
    case OPT_RESUME: o->resume = true; return true;
    case OPT_SELECT_F1: o->select_macro_f1 = true; return true;
    case OPT_SYNC_BN: o->sync_bn = true; return true;
    case OPT_QUIET: *quiet = true; return true;
    case OPT_THREADS: return cli_parse_int(arg, 1, 1024, &v) && (omp_set_num_threads((int)v), true);
    case OPT_VALID_HOLDOUT:
        return cli_parse_double(arg, &o->valid_holdout) && o->valid_holdout >= 0 && o->valid_holdout < 1;
    case OPT_RECIPE: { /* applied before the other flags (apply_recipe_first) */
        bool robust;
        return train_flags_recipe(arg, &robust);
    }
    case OPT_INPUT_NORM: return mrnet_parse_input_norm(arg, &o->input_norm) == MRNET_OK;
    case OPT_EMA: return cli_parse_double(arg, &o->ema_decay) && o->ema_decay >= 0 && o->ema_decay < 1;
    case OPT_CROPS_BY_DURATION: o->crops_by_duration = true; return true;
    case OPT_TIME_MASKS: return cli_parse_int(arg, 0, 100, &v) && ((o->time_masks = (int)v), true);
    case OPT_TIME_MASK_S:
        return cli_parse_double(arg, &o->time_mask_seconds) && o->time_mask_seconds >= 0 &&
               o->time_mask_seconds <= 3600;
    case OPT_FREQ_MASKS: return cli_parse_int(arg, 0, 100, &v) && ((o->freq_masks = (int)v), true);
    case OPT_FREQ_MASK_BANDS: return cli_parse_int(arg, 0, 65536, &v) && ((o->freq_mask_bands = (int)v), true);
    case OPT_VALID_VIEW: {
        mrnet_view view;
        if (mrnet_view_parse(arg, &view) != MRNET_OK)
            return false;
        o->valid_view = view;
        return true;
    }
    }
    return false;
}

void train_flags_progress(void *ctx, const mrnet_train_progress *p)
{
    train_view *v = ctx;
    if (p->note) { /* said even with --quiet: it changes what the figures mean */
        fprintf(stderr, "%s%s\n", v->prefix ? v->prefix : "", p->note);
        return;
    }
    if (v->quiet)
        return;
    if (!p->epoch_done) {
        cli_progress_print(&v->bar, p->batch == p->batches, "%sepoch %d/%d [%s] %d/%d loss %.4f acc %.3f %.1f samples/s lr %.2e",
                           v->prefix ? v->prefix : "", p->epoch, p->epochs, cli_bar(p->batch, p->batches, 20), p->batch,
                           p->batches, p->loss, p->accuracy, p->samples_per_s, p->lr);
        return;
    }
    cli_progress_done(&v->bar);
    fprintf(stderr, "%sepoch %d/%d: train loss %.4f acc %.3f | valid loss %.4f acc %.3f macro-F1 %.3f%s\n",
            v->prefix ? v->prefix : "", p->epoch, p->epochs, p->loss, p->accuracy, p->valid_loss,
            p->valid_accuracy, p->valid_macro_f1, p->best ? "  (best)" : "");
}

const struct option train_flags_options[] = {
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
    {"select-f1", no_argument, 0, OPT_SELECT_F1}, {"sync-bn", no_argument, 0, OPT_SYNC_BN}, {"quiet", no_argument, 0, OPT_QUIET},
    {"threads", required_argument, 0, OPT_THREADS}, {"valid-view", required_argument, 0, OPT_VALID_VIEW},
    {"valid-holdout", required_argument, 0, OPT_VALID_HOLDOUT},
    {"recipe", required_argument, 0, OPT_RECIPE}, {"input-norm", required_argument, 0, OPT_INPUT_NORM},
    {"ema", required_argument, 0, OPT_EMA}, {"crops-by-duration", no_argument, 0, OPT_CROPS_BY_DURATION},
    {"time-masks", required_argument, 0, OPT_TIME_MASKS},
    {"time-mask-seconds", required_argument, 0, OPT_TIME_MASK_S},
    {"freq-masks", required_argument, 0, OPT_FREQ_MASKS},
    {"freq-mask-bands", required_argument, 0, OPT_FREQ_MASK_BANDS},
    {"route-weights", required_argument, 0, OPT_ROUTE_WEIGHTS},
    {"mixup", required_argument, 0, OPT_MIXUP},
    {"task", required_argument, 0, OPT_TASK},
    {"label-smoothing", required_argument, 0, OPT_LABEL_SMOOTHING},
    {0, 0, 0, 0}};

/* --recipe robust sets its options before any other flag is applied, so
 * that flags override the recipe wherever they stand. */
static void apply_recipe_first(int argc, char **argv, mrnet_train_options *o)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return;
        const char *value = !strcmp(argv[i], "--recipe") && i + 1 < argc ? argv[i + 1]
                            : !strncmp(argv[i], "--recipe=", 9)          ? argv[i] + 9
                                                                         : NULL;
        bool robust;
        if (value && train_flags_recipe(value, &robust) && robust)
            mrnet_train_options_robust(o);
    }
}

int train_flags_parse(int argc, char **argv, const char *cmd, mrnet_train_options *o, bool *quiet,
                      const struct option *extra, bool (*on_extra)(int c, const char *arg, void *ctx),
                      void *ctx, const char *synopsis, const char *what)
{
    struct option all[80];
    int n = 0;
    all[n++] = (struct option){"output", required_argument, 0, 'o'};
    all[n++] = (struct option){"help", no_argument, 0, 'h'};
    for (int i = 0; extra && extra[i].name && n < 40; i++)
        all[n++] = extra[i];
    for (int i = 0; train_flags_options[i].name && n < 79; i++)
        all[n++] = train_flags_options[i];
    all[n] = (struct option){0, 0, 0, 0};
    apply_recipe_first(argc, argv, o);
    int c, index;
    while ((c = getopt_long(argc, argv, "o:h", all, &index)) != -1) {
        bool ok;
        if (c == 'o' && !strcmp(optarg, "-"))
            return cli_error(cmd, 2, "-o -: a run writes a folder, not standard output");
        if (c == 'o') {
            o->out_dir = optarg;
            continue;
        }
        if (c == 'h') {
            train_flags_usage(stdout, synopsis, what);
            return 0;
        }
        if (c == '?') {
            train_flags_usage(stderr, synopsis, what);
            return 2;
        }
        ok = c < 256 + 64 && c >= 256 ? train_flags_apply(c, optarg, o, quiet)
                                       : on_extra && on_extra(c, optarg, ctx);
        if (!ok && !strcmp(all[index].name, "recipe"))
            return cli_error(cmd, 2, "bad value '%s' for --recipe: choose paper or robust", optarg);
        /* these parse with the library, whose message names the choices */
        bool says_why = c == OPT_DROP_ROUTE || c == OPT_ROUTE_WEIGHTS || c == OPT_INPUT_NORM;
        if (!ok)
            return cli_error(cmd, 2, "bad value '%s' for --%s%s%s", optarg ? optarg : "",
                             all[index].name, says_why ? ": " : "",
                             says_why ? mrnet_last_error() : "");
    }
    return -1;
}
