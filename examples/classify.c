/* classify: the top classes of audio files, with a trained mrnet checkpoint.
 *
 *   classify CHECKPOINT FILE... [--top K] [--timeline]
 *
 * Prints, per file, "path<TAB>label probability ..." with the K (default 3)
 * most probable classes, averaged over 6-second windows as `mrnet predict`
 * does; --timeline adds one line per window. The features are computed with
 * the settings the checkpoint recorded when it was trained. A file that
 * cannot be read is reported on stderr and skipped; the exit status is 1
 * when no file could be classified.
 *
 * Build against an installed mrnet:
 *   cc -o classify classify.c $(pkg-config --cflags --libs mrnet) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mrnet/mrnet.h>

typedef struct {
    const mrnet_classifier *c;
    int top;
    int *idx;
} printer;

static void print_top(const printer *p, const float *probs)
{
    int n = mrnet_top_k(probs, mrnet_classifier_classes(p->c), p->top, p->idx);
    for (int i = 0; i < n; i++)
        printf("\t%s %.4f", mrnet_classifier_label(p->c, p->idx[i]), probs[p->idx[i]]);
    putchar('\n');
}

static void on_window(void *ctx, double start, double end, const float *probs)
{
    printf("  %7.2f-%7.2f s", start, end);
    print_top(ctx, probs);
}

int main(int argc, char **argv)
{
    int top = 3, first_file = 2;
    int timeline = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: %s CHECKPOINT FILE... [--top K] [--timeline]\n", argv[0]);
        return 2;
    }
    char **files = calloc((size_t)argc, sizeof *files);
    int n_files = 0;
    for (int i = first_file; i < argc; i++) {
        if (!strcmp(argv[i], "--top") && i + 1 < argc)
            top = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--timeline"))
            timeline = 1;
        else
            files[n_files++] = argv[i];
    }
    if (top < 1 || n_files == 0) {
        fprintf(stderr, "usage: %s CHECKPOINT FILE... [--top K >= 1] [--timeline]\n", argv[0]);
        free(files);
        return 2;
    }

    mrnet_classifier *c;
    if (mrnet_classifier_open(argv[1], &c) != MRNET_OK) {
        fprintf(stderr, "classify: %s\n", mrnet_last_error());
        free(files);
        return 1;
    }
    int K = mrnet_classifier_classes(c);
    float *probs = malloc(sizeof(float) * (size_t)K);
    printer p = {c, top, malloc(sizeof(int) * (size_t)K)};
    if (!probs || !p.idx) {
        fprintf(stderr, "classify: out of memory\n");
        return 1;
    }
    mrnet_classify_options opt;
    mrnet_classify_options_default(&opt);

    int ok = 0;
    for (int i = 0; i < n_files; i++) {
        char warning[256];
        if (timeline)
            printf("%s (timeline)\n", files[i]);
        if (mrnet_classify_file(c, files[i], &opt, probs, NULL, timeline ? on_window : NULL, &p,
                                warning) != MRNET_OK) {
            fprintf(stderr, "classify: skipped %s\n", mrnet_last_error());
            continue;
        }
        if (warning[0])
            fprintf(stderr, "classify: %s: %s\n", files[i], warning);
        printf("%s", files[i]);
        print_top(&p, probs);
        ok++;
    }
    free(probs);
    free(p.idx);
    free(files);
    mrnet_classifier_free(c);
    return ok > 0 ? 0 : 1;
}
