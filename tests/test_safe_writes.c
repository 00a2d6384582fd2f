/* Safe writes (mrnet/io.h, docs/RELIABILITY.md): the temporary is a fresh,
 * unpredictable file in the target's folder that nothing planted can
 * redirect; a device, a FIFO or a link to one is written through, never
 * replaced; a link to a regular file has its target replaced; "-" and a
 * dangling link are refused; temporaries of dead processes are cleaned. No
 * test touches /dev/null itself: a private device node stands in for it. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tensor/fileio.h"
#include "tensor/npy.h"
#include "tensor/safetensors.h"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static mrnet_status write_text(const char *path, const char *text)
{
    mrnet_atomic_file af;
    MRNET_TRY(mrnet_atomic_open(&af, path));
    mrnet_atomic_write(&af, text, strlen(text));
    return mrnet_atomic_commit(&af);
}

static void expect_message(const char *fragment)
{
    if (!strstr(mrnet_last_error(), fragment))
        fail_msg("message '%s' does not say '%s'", mrnet_last_error(), fragment);
}

/* Entries of dir whose name contains fragment. */
static int count_entries(const char *dir, const char *fragment)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strstr(e->d_name, fragment) != NULL;
    closedir(d);
    return n;
}

/* A pid that no process has: a child that has exited and been reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return pid;
}

/* The temporary sits next to the target, hidden, with the pid and 64 random
 * bits in its name, and is a new file: two opens never share one. */
static void temporary_name(void **state)
{
    (void)state;
    const char *path = test_path("name.txt");
    mrnet_atomic_file a, b;
    assert_int_equal(mrnet_atomic_open(&a, path), MRNET_OK);
    assert_int_equal(mrnet_atomic_open(&b, path), MRNET_OK);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/.name.txt.tmp.%ld.", test_tmpdir(), (long)getpid());
    assert_int_equal(strncmp(a.tmp_path, prefix, strlen(prefix)), 0);
    const char *random = a.tmp_path + strlen(prefix);
    assert_int_equal(strlen(random), 16);
    assert_int_equal(strspn(random, "0123456789abcdef"), 16);
    assert_string_not_equal(a.tmp_path, b.tmp_path);
    struct stat sb;
    assert_int_equal(lstat(a.tmp_path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    mrnet_atomic_abort(&a);
    mrnet_atomic_abort(&b);
    assert_int_equal(count_entries(test_tmpdir(), ".name.txt.tmp."), 0);
    assert_int_equal(access(path, F_OK), -1);
}

/* The probe's attack: a symlink planted at the old predictable name
 * "PATH.tmp.<pid>" pointing at a victim. The write must neither follow it
 * (the victim is untouched) nor turn the target into that link. */
static void planted_symlink_not_followed(void **state)
{
    (void)state;
    const char *victim = test_path("victim.txt");
    char target[600], planted[700];
    snprintf(target, sizeof target, "%s", test_path("planted.txt"));
    assert_int_equal(test_write_file(victim, "precious", 8), 0);
    snprintf(planted, sizeof planted, "%s.tmp.%ld", target, (long)getpid());
    assert_int_equal(symlink(victim, planted), 0);
    assert_int_equal(write_text(target, "new text"), MRNET_OK);
    assert_string_equal(read_text(victim), "precious");
    struct stat sb;
    assert_int_equal(lstat(target, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_string_equal(read_text(target), "new text");
    unlink(planted);
}

/* A device node (a private /dev/null: same major and minor) stays a device
 * through every writer, and so does a symlink to it. */
static void device_written_through(void **state)
{
    (void)state;
    char dev[600], link[600];
    snprintf(dev, sizeof dev, "%s", test_path("null"));
    snprintf(link, sizeof link, "%s", test_path("null.link"));
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) != 0) {
        fprintf(stderr, "skipped: cannot make a device node here (%s)\n", strerror(errno));
        skip();
    }
    assert_int_equal(symlink(dev, link), 0);
    float v[3] = {1, 2, 3};
    int64_t n = 3;
    const char *paths[2] = {dev, link};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(write_text(paths[i], "some text\n"), MRNET_OK);
        mrnet_st_writer *w = mrnet_st_writer_create();
        assert_int_equal(mrnet_st_writer_add(w, "v", MRNET_F32, 1, &n, v), MRNET_OK);
        assert_int_equal(mrnet_st_writer_save(w, paths[i]), MRNET_OK);
        mrnet_st_writer_free(w);
        assert_int_equal(mrnet_npy_save_f32(paths[i], 1, &n, v, false), MRNET_OK);
        struct stat sb;
        assert_int_equal(stat(dev, &sb), 0);
        assert_true(S_ISCHR(sb.st_mode));
        assert_int_equal(lstat(link, &sb), 0);
        assert_true(S_ISLNK(sb.st_mode));
    }
    assert_int_equal(count_entries(test_tmpdir(), "null.tmp"), 0);
    assert_int_equal(count_entries(test_tmpdir(), "null.link.tmp"), 0);
}

typedef struct {
    const char *path;
    char got[256];
} fifo_reader;

static void *read_fifo(void *arg)
{
    fifo_reader *r = arg;
    FILE *f = fopen(r->path, "rb");
    if (f) {
        size_t n = fread(r->got, 1, sizeof r->got - 1, f);
        r->got[n] = '\0';
        fclose(f);
    }
    return NULL;
}

/* A FIFO gets the bytes and stays a FIFO. */
static void fifo_written_through(void **state)
{
    (void)state;
    fifo_reader r = {.path = test_path("pipe")};
    assert_int_equal(mkfifo(r.path, 0600), 0);
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, read_fifo, &r), 0);
    /* a FIFO replaced by a file leaves the reader waiting for ever: fail by
     * SIGALRM instead of hanging */
    alarm(10);
    assert_int_equal(write_text(r.path, "through the pipe\n"), MRNET_OK);
    assert_int_equal(pthread_join(reader, NULL), 0);
    alarm(0);
    assert_string_equal(r.got, "through the pipe\n");
    struct stat sb;
    assert_int_equal(lstat(r.path, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
}

/* A symlink to a regular file: the target gets the new contents (and keeps
 * its permissions), the link stays a link; a write that fails leaves both. */
static void symlink_to_file_replaces_target(void **state)
{
    (void)state;
    char sub[600], target[700], link[600];
    snprintf(sub, sizeof sub, "%s", test_path("elsewhere"));
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(target, sizeof target, "%s/real.json", sub);
    snprintf(link, sizeof link, "%s", test_path("link.json"));
    assert_int_equal(test_write_file(target, "old", 3), 0);
    assert_int_equal(chmod(target, 0640), 0);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(write_text(link, "new"), MRNET_OK);
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_string_equal(read_text(target), "new");
    assert_int_equal(stat(target, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    assert_int_equal(count_entries(sub, ".tmp."), 0);
    assert_int_equal(count_entries(test_tmpdir(), "link.json.tmp"), 0);
}

static void refusals(void **state)
{
    (void)state;
    mrnet_atomic_file af;
    assert_int_equal(mrnet_atomic_open(&af, "-"), MRNET_ERR_ARG);
    expect_message("standard output");
    char dangling[600];
    snprintf(dangling, sizeof dangling, "%s", test_path("dangling"));
    assert_int_equal(symlink(test_path("nothing-here"), dangling), 0);
    assert_int_not_equal(mrnet_atomic_open(&af, dangling), MRNET_OK);
    expect_message("symbolic link to a missing file");
    assert_int_equal(access(test_path("nothing-here"), F_OK), -1);
    assert_int_not_equal(mrnet_atomic_open(&af, test_tmpdir()), MRNET_OK);
    expect_message("folder");
}

/* Temporaries of the target left by dead processes go at the next write to
 * it, ours and the older "NAME.tmp.<pid>"; a live process's, another
 * target's and look-alikes stay. */
static void stale_temporaries_removed(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s", test_path("stale"));
    assert_int_equal(mkdir(dir, 0700), 0);
    long dead = (long)dead_pid(), live = (long)getppid();
    char names[7][128];
    snprintf(names[0], 128, ".out.csv.tmp.%ld.0123456789abcdef", dead);  /* removed */
    snprintf(names[1], 128, "out.csv.tmp.%ld", dead);                    /* removed (old style) */
    snprintf(names[2], 128, ".out.csv.tmp.%ld.0123456789abcdef", live);  /* a live writer's */
    snprintf(names[3], 128, ".other.csv.tmp.%ld.0123456789abcdef", dead); /* another target's */
    snprintf(names[4], 128, "out.csv.tmp.%ld.bak", dead);                /* not a temporary */
    snprintf(names[5], 128, ".out.csv.tmp.%ld.xyz", dead);               /* not ours */
    snprintf(names[6], 128, "out.csv.tmp.%ldx", dead);
    for (int i = 0; i < 7; i++) {
        char p[1600];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        assert_int_equal(test_write_file(p, "x", 1), 0);
    }
    char out[700];
    snprintf(out, sizeof out, "%s/out.csv", dir);
    assert_int_equal(write_text(out, "a,b\n"), MRNET_OK);
    for (int i = 0; i < 7; i++) {
        char p[1600];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        bool gone = access(p, F_OK) != 0;
        if (gone != (i < 2))
            fail_msg("%s: %s", names[i], gone ? "removed" : "left");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(temporary_name),
        cmocka_unit_test(planted_symlink_not_followed),
        cmocka_unit_test(device_written_through),
        cmocka_unit_test(fifo_written_through),
        cmocka_unit_test(symlink_to_file_replaces_target),
        cmocka_unit_test(refusals),
        cmocka_unit_test(stale_temporaries_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
