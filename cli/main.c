/* mrnet: the command-line tool. Dispatches to one file per subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include <mrnet/mrnet.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"demo", cmd_demo, "the whole pipeline on generated music: features, training, evaluation"},
    {"extract", cmd_extract, "compute features of a folder, manifest or dataset into a feature store"},
    {"features", cmd_features, "compute the features of one file (.npy, .safetensors, picture)"},
    {"train", cmd_train, "train MRNet on a feature store with the paper's recipe"},
    {"eval", cmd_eval, "accuracy, macro-F1 and confusion matrix of a checkpoint on a store"},
    {"cv", cmd_cv, "k-fold cross-validation: train and test every fold, mean and std"},
    {"ablate", cmd_ablate, "route ablation (Table 3): full model and one per dropped route, seeds"},
    {"baseline", cmd_baseline, "the baseline to beat: an RBF-SVM on clip statistics, scored like eval"},
    {"routes", cmd_routes, "route weights, and route importance on a store (--importance)"},
    {"predict", cmd_predict, "classify audio files and folders (top-k labels, timeline)"},
    {"embed", cmd_embed, "write the embeddings of audio files (similarity, recommendation)"},
    {"index", cmd_index, "add a collection to a SQLite index (incremental: new, changed, gone)"},
    {"query", cmd_query, "list indexed tracks by label and probability, or a track's timeline"},
    {"similar", cmd_similar, "the indexed tracks most similar to a file (cosine of embeddings)"},
    {"serve", cmd_serve, "a read-only page over an index: tracks, labels, timeline, neighbours"},
    {"bench", cmd_bench, "training and inference speed against this machine's sgemm rate"},
    {"info", cmd_info, "show a checkpoint's configuration, size and route weights"},
    {"forward", cmd_forward, "run a checkpoint on a safetensors input (and one training step)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: mrnet COMMAND [options]   (mrnet COMMAND --help for details)\n"
                 "       mrnet --version\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

/* OpenMP workers that spin while they wait starve each other as soon as
 * anything else wants the cores (another job, a second mrnet, ctest -j):
 * measured 20 to 50x slower on a busy 2-core machine, against a few percent
 * lost to sleeping waits on an idle one. libgomp reads the policy when it is
 * loaded, before main, so the tool re-executes itself once with passive
 * waiting unless the user chose a policy. */
static void prefer_passive_waiting(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("MRNET_NO_REEXEC"))
        return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    setenv("MRNET_NO_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the default policy */
}

int main(int argc, char **argv)
{
    prefer_passive_waiting(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return cli_close_stdout("help", 0);
    }
    if (!strcmp(argv[1], "--version")) { /* the linked library's, not the header's */
        printf("mrnet %s\n", mrnet_version());
        return cli_close_stdout("--version", 0);
    }
    /* every command's standard output is checked at the end: a full disk or
     * /dev/full is an error, not lost output with exit status 0 */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return cli_close_stdout(commands[i].name, commands[i].run(argc - 1, argv + 1));
    fprintf(stderr, "mrnet: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
