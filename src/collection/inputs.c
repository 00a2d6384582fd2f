/* The files of a collection run: named files, folders walked recursively
 * (symlinks followed, loops and second visits caught by device and inode),
 * lists of paths. Every path named ends up as a file or as a problem. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "collection/collection.h"
#include "tensor/error.h"

void mrnet_inputs_init(mrnet_inputs *in) { memset(in, 0, sizeof *in); }

void mrnet_inputs_free(mrnet_inputs *in)
{
    for (int i = 0; i < in->n; i++) {
        free(in->items[i].path);
        free(in->items[i].problem);
    }
    free(in->items);
    memset(in, 0, sizeof *in);
}

bool mrnet_is_media_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return mrnet_audio_is_media_name(path) || (dot && dot != base && !strcasecmp(dot + 1, "npy"));
}

static mrnet_status push(mrnet_inputs *in, const char *path, const char *problem)
{
    if (in->n == in->cap) {
        int cap = in->cap ? 2 * in->cap : 64;
        mrnet_input *items = realloc(in->items, sizeof *items * (size_t)cap);
        if (!items)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory listing %d files", in->n);
        in->items = items;
        in->cap = cap;
    }
    mrnet_input *it = &in->items[in->n];
    it->path = strdup(path);
    it->problem = problem ? strdup(problem) : NULL;
    if (!it->path || (problem && !it->problem)) {
        free(it->path);
        free(it->problem);
        return mrnet_fail(MRNET_ERR_NOMEM, "out of memory listing %d files", in->n);
    }
    in->n++;
    in->n_problems += problem != NULL;
    return MRNET_OK;
}

/* ---- walking folders ----------------------------------------------------------- */

typedef struct {
    dev_t dev;
    ino_t ino;
} file_id;

typedef struct {
    file_id *v;
    int n, cap;
} id_set; /* few folders per run: a linear scan is enough */

static bool id_set_has(const id_set *s, file_id id)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i].dev == id.dev && s->v[i].ino == id.ino)
            return true;
    return false;
}

static mrnet_status id_set_add(id_set *s, file_id id)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        file_id *v = realloc(s->v, sizeof *v * (size_t)cap);
        if (!v)
            return mrnet_fail(MRNET_ERR_NOMEM, "out of memory walking folders");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = id;
    return MRNET_OK;
}

typedef struct {
    mrnet_inputs *in;
    id_set walking; /* the folders from the root down to the current one */
    id_set walked;  /* every folder seen */
    int found;      /* media files added */
} walk;

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a > 0 && dir[a - 1] == '/';
    char *p = malloc(a + b + 2);
    if (p)
        snprintf(p, a + b + 2, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

/* The sorted names in dir, hidden ones left out; NULL with *problem set when
 * the folder cannot be read. */
static char **read_names(const char *dir, int *n_out, const char **problem, mrnet_status *st)
{
    *n_out = 0;
    *st = MRNET_OK;
    DIR *d = opendir(dir);
    if (!d) {
        *problem = strerror(errno);
        return NULL;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* hidden files, ".", ".." and editors' droppings */
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **v = realloc(names, sizeof *v * (size_t)cap);
            if (!v)
                break;
            names = v;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    bool short_of_memory = e != NULL;
    closedir(d);
    if (short_of_memory) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        *st = mrnet_fail(MRNET_ERR_NOMEM, "out of memory listing %s", dir);
        return NULL;
    }
    if (n > 1)
        qsort(names, (size_t)n, sizeof *names, cmp_names);
    *n_out = n;
    return names ? names : calloc(1, sizeof *names);
}

static mrnet_status walk_dir(walk *w, const char *dir, const struct stat *sb);

static mrnet_status walk_entry(walk *w, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        struct stat lb;
        if (lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode))
            return push(w->in, path, errno == ELOOP ? "symlink loop" : "broken symlink");
        return push(w->in, path, strerror(errno));
    }
    if (S_ISDIR(sb.st_mode))
        return walk_dir(w, path, &sb);
    if (S_ISREG(sb.st_mode) && mrnet_is_media_name(path)) {
        w->found++;
        return push(w->in, path, NULL);
    }
    return MRNET_OK; /* covers, playlists, anything not audio */
}

static mrnet_status walk_dir(walk *w, const char *dir, const struct stat *sb)
{
    file_id id = {sb->st_dev, sb->st_ino};
    if (id_set_has(&w->walking, id))
        return push(w->in, dir, "symlink loop: leads back to a folder it is inside");
    if (id_set_has(&w->walked, id))
        return MRNET_OK; /* reached again through another link: its files are listed */
    MRNET_TRY(id_set_add(&w->walked, id));
    MRNET_TRY(id_set_add(&w->walking, id));
    int n;
    const char *problem = NULL;
    mrnet_status st;
    char **names = read_names(dir, &n, &problem, &st);
    if (!names) {
        w->walking.n--;
        return st != MRNET_OK ? st : push(w->in, dir, problem);
    }
    for (int i = 0; i < n; i++) {
        char *p = st == MRNET_OK ? join(dir, names[i]) : NULL;
        if (st == MRNET_OK)
            st = p ? walk_entry(w, p) : mrnet_fail(MRNET_ERR_NOMEM, "out of memory listing %s", dir);
        free(p);
        free(names[i]);
    }
    free(names);
    w->walking.n--;
    return st;
}

mrnet_status mrnet_inputs_add_path(mrnet_inputs *in, const char *path)
{
    struct stat sb;
    if (!path || !path[0])
        return push(in, "", "empty path");
    if (stat(path, &sb) != 0)
        return push(in, path, errno == ENOENT ? "no such file or folder" : strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return push(in, path, S_ISREG(sb.st_mode) ? NULL : "not a regular file");
    walk w = {.in = in};
    int problems_before = in->n_problems;
    mrnet_status st = walk_dir(&w, path, &sb);
    if (st == MRNET_OK && w.found == 0 && in->n_problems == problems_before)
        st = push(in, path, mrnet_audio_has_ffmpeg()
                                ? "no audio or feature files found (wav flac ogg opus mp3 aiff m4a wma ... npy)"
                                : "no audio or feature files found (wav flac ogg oga opus mp3 au snd aiff aif npy; "
                                  "m4a needs an mrnet built with FFmpeg)");
    free(w.walking.v);
    free(w.walked.v);
    return st;
}

mrnet_status mrnet_inputs_add_list(mrnet_inputs *in, const char *list)
{
    bool from_stdin = !strcmp(list, "-");
    FILE *f = from_stdin ? stdin : fopen(list, "r");
    if (!f)
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot read the list: %s", list, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    mrnet_status st = MRNET_OK;
    while (st == MRNET_OK && (len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if ((size_t)len != strlen(line))
            st = push(in, line, "the list has a NUL byte in this line");
        else
            st = mrnet_inputs_add_path(in, line);
    }
    if (st == MRNET_OK && ferror(f))
        st = mrnet_fail(MRNET_ERR_IO, "%s: error reading the list", from_stdin ? "standard input" : list);
    free(line);
    if (!from_stdin)
        fclose(f);
    return st;
}
