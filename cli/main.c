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
    bool parallel; /* runs over several processes under mpirun */
} command;

static const command commands[] = {
    {"demo", cmd_demo, "the whole pipeline on generated music: features, training, evaluation", false},
    {"extract", cmd_extract, "compute features of a folder, manifest or dataset into a feature store", true},
    {"features", cmd_features, "compute the features of one file (.npy, .safetensors, picture)", false},
    {"train", cmd_train, "train MRNet on a feature store with the paper's recipe", true},
    {"eval", cmd_eval, "accuracy, macro-F1 and confusion matrix of a checkpoint on a store", false},
    {"cv", cmd_cv, "k-fold cross-validation: train and test every fold, mean and std", true},
    {"ablate", cmd_ablate, "route ablation (Table 3): full model and one per dropped route, seeds", false},
    {"baseline", cmd_baseline, "the baseline to beat: an RBF-SVM on clip statistics, scored like eval", false},
    {"routes", cmd_routes, "route weights, and route importance on a store (--importance)", false},
    {"predict", cmd_predict, "classify audio files and folders (top-k labels, timeline)", true},
    {"embed", cmd_embed, "write the embeddings of audio files (similarity, recommendation)", true},
    {"index", cmd_index, "add a collection to a SQLite index (incremental: new, changed, gone)", false},
    {"query", cmd_query, "list indexed tracks by label and probability, or a track's timeline", false},
    {"similar", cmd_similar, "the indexed tracks most similar to a file (cosine of embeddings)", false},
    {"serve", cmd_serve, "a read-only page over an index: tracks, labels, timeline, neighbours", false},
    {"bench", cmd_bench, "training and inference speed against this machine's sgemm rate", false},
    {"info", cmd_info, "show a checkpoint's configuration, size and route weights", false},
    {"forward", cmd_forward, "run a checkpoint on a safetensors input (and one training step)", false},
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

/* Under mpirun the commands that share their work start MPI; the others
 * would only repeat theirs in every process, so they refuse. */
static int run_command(const command *c, int argc, char **argv)
{
    if (mrnet_mpi_launched() && !c->parallel) {
        fprintf(stderr, "mrnet %s: runs in one process; start it without mpirun (under mpirun: ",
                c->name);
        for (size_t i = 0, n = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (commands[i].parallel)
                fprintf(stderr, "%s%s", n++ ? ", " : "", commands[i].name);
        fprintf(stderr, ")\n");
        return 2;
    }
    int rc = c->parallel ? cli_parallel_start(c->name, &argc, &argv) : -1;
    if (rc < 0)
        rc = cli_close_stdout(c->name, c->run(argc - 1, argv + 1));
    cli_parallel_end();
    return rc;
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
            return run_command(&commands[i], argc, argv);
    fprintf(stderr, "mrnet: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
