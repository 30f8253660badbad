// The sandbox of an execution environment, as `spool __sandbox …`. It runs from a constructor, before the Swift
// runtime starts any thread: joining a mount namespace (setns) and making one (unshare) need a single-threaded process.
//
//   spool __sandbox probe
//       exits 0 when this host lets Spool make mount namespaces and mount tmpfs, overlay and bind mounts.
//   spool __sandbox hold --code DIR [--runtime DIR] [--lang DIR] [--layer DIR]... --tmp-size MB [--keep PATH]...
//       makes the environment's mount namespace: DIR read-only at /var/task, Spool's runtime clients read-only at
//       /var/runtime, an interpreter's installation that /tmp would hide read-only at /var/lang, the layers merged
//       read-only at /opt (the last one on top), a private tmpfs of MB at /tmp, and the KEEP paths (what such an
//       installation links to under /tmp) bound back where they were; prints "ready" and then holds the namespace
//       until it is killed (or Spool dies).
//   spool __sandbox enter PID [--cgroup PROCS_FILE]... [--cwd DIR] -- EXECUTABLE ARGUMENT...
//       joins the mount namespace of the holder PID, joins each cgroup, changes to DIR and executes the program.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "CSpoolSandbox.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#define MAX_ITEMS 64

static void fail(const char *what, const char *path) {
    fprintf(stderr, "spool sandbox: %s %s: %s\n", what, path ? path : "", strerror(errno));
    _exit(111);
}

static void make_directories(const char *path) {
    char buffer[PATH_MAX];
    snprintf(buffer, sizeof buffer, "%s", path);
    for (char *slash = buffer + 1; *slash; slash++) {
        if (*slash != '/') continue;
        *slash = '\0';
        mkdir(buffer, 0755);
        *slash = '/';
    }
    if (mkdir(buffer, 0755) != 0 && errno != EEXIST) fail("cannot create", path);
}

/// A detached copy of the mount tree at `path`, to attach again once what covers it is mounted.
static int clone_tree(const char *path) {
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (fd < 0) fail("cannot clone the mount tree of", path);
    return fd;
}

static void attach_tree(int fd, const char *path, int read_only) {
    make_directories(path);
    if (syscall(SYS_move_mount, fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0) fail("cannot attach at", path);
    if (read_only && mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0) {
        fail("cannot make read-only", path);
    }
    close(fd);
}

static int probe(void) {
    if (unshare(CLONE_NEWNS) != 0) fail("cannot make a mount namespace", NULL);
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("cannot make mounts private", "/");
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777") != 0) fail("cannot mount tmpfs at", "/tmp");
    int fd = clone_tree("/tmp");
    close(fd);
    puts("ok");
    return 0;
}

static int hold(int argc, char **argv) {
    const char *code = NULL, *runtime = NULL, *lang = NULL;
    const char *layers[MAX_ITEMS], *keeps[MAX_ITEMS];
    int layer_count = 0, keep_count = 0;
    long tmp_size = 512;
    for (int i = 0; i < argc; i++) {
        if (i + 1 >= argc) { fprintf(stderr, "spool sandbox: %s needs a value\n", argv[i]); return 2; }
        if (strcmp(argv[i], "--code") == 0) code = argv[++i];
        else if (strcmp(argv[i], "--runtime") == 0) runtime = argv[++i];
        else if (strcmp(argv[i], "--lang") == 0) lang = argv[++i];
        else if (strcmp(argv[i], "--layer") == 0 && layer_count < MAX_ITEMS) layers[layer_count++] = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0 && keep_count < MAX_ITEMS) keeps[keep_count++] = argv[++i];
        else if (strcmp(argv[i], "--tmp-size") == 0) tmp_size = atol(argv[++i]);
        else { fprintf(stderr, "spool sandbox: unknown option %s\n", argv[i]); return 2; }
    }
    if (!code || tmp_size <= 0) { fprintf(stderr, "spool sandbox: hold needs --code and --tmp-size\n"); return 2; }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWNS) != 0) fail("cannot make a mount namespace", NULL);
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("cannot make mounts private", "/");

    // Everything that /tmp or /opt may cover is taken before they are mounted.
    int code_tree = clone_tree(code);
    int runtime_tree = runtime ? clone_tree(runtime) : -1;
    int lang_tree = lang ? clone_tree(lang) : -1;
    int keep_trees[MAX_ITEMS];
    for (int i = 0; i < keep_count; i++) keep_trees[i] = clone_tree(keeps[i]);

    // /opt: the layers extracted over one another, as Lambda does; read-only, empty without layers.
    make_directories("/opt");
    if (layer_count == 0) {
        if (mount("tmpfs", "/opt", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=755") != 0) fail("cannot mount tmpfs at", "/opt");
    } else if (layer_count == 1) {
        if (mount(layers[0], "/opt", NULL, MS_BIND | MS_REC, NULL) != 0) fail("cannot bind", layers[0]);
        if (mount(NULL, "/opt", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0) fail("cannot make read-only", "/opt");
    } else {
        char options[8192] = "lowerdir=";
        for (int i = layer_count - 1; i >= 0; i--) {
            strncat(options, layers[i], sizeof options - strlen(options) - 2);
            if (i > 0) strncat(options, ":", sizeof options - strlen(options) - 1);
        }
        if (mount("overlay", "/opt", "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, options) != 0) fail("cannot merge the layers at", "/opt");
    }

    // A private /tmp of the function's EphemeralStorage.
    char options[64];
    snprintf(options, sizeof options, "size=%ldm,mode=1777", tmp_size);
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) fail("cannot mount tmpfs at", "/tmp");

    attach_tree(code_tree, "/var/task", 1);
    if (runtime_tree >= 0) attach_tree(runtime_tree, "/var/runtime", 1);
    if (lang_tree >= 0) attach_tree(lang_tree, "/var/lang", 1);
    for (int i = 0; i < keep_count; i++) attach_tree(keep_trees[i], keeps[i], 1);

    if (chdir("/var/task") != 0) fail("cannot enter", "/var/task");
    puts("ready");
    fflush(stdout);
    // Holds the namespace; a tiny program rather than this binary's mappings.
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
    execl("/bin/sleep", "sleep", "infinity", (char *)NULL);
    for (;;) pause();
}

static int enter(int argc, char **argv) {
    if (argc < 1) { fprintf(stderr, "spool sandbox: enter needs a holder pid\n"); return 2; }
    const char *holder = argv[0];
    const char *cwd = "/var/task";
    int i = 1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%s/ns/mnt", holder);
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) fail("cannot open", path);
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (i + 1 >= argc) { fprintf(stderr, "spool sandbox: %s needs a value\n", argv[i]); return 2; }
        if (strcmp(argv[i], "--cgroup") == 0) {
            const char *procs = argv[++i];
            int fd = open(procs, O_WRONLY | O_CLOEXEC);
            if (fd < 0) fail("cannot open", procs);
            char pid[32];
            int length = snprintf(pid, sizeof pid, "%d", (int)getpid());
            if (write(fd, pid, (size_t)length) != length) fail("cannot join", procs);
            close(fd);
        } else if (strcmp(argv[i], "--cwd") == 0) {
            cwd = argv[++i];
        } else {
            fprintf(stderr, "spool sandbox: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i + 1 >= argc) { fprintf(stderr, "spool sandbox: enter needs -- PROGRAM\n"); return 2; }
    if (setns(ns, CLONE_NEWNS) != 0) fail("cannot join the mount namespace of", holder);
    close(ns);
    if (chdir(cwd) != 0) fail("cannot enter", cwd);
    execv(argv[i + 1], &argv[i + 1]);
    fail("cannot execute", argv[i + 1]);
    return 111;
}

__attribute__((constructor)) static void spool_sandbox_main(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 3 || strcmp(argv[1], "__sandbox") != 0) return;
    int status = 2;
    if (strcmp(argv[2], "probe") == 0) status = probe();
    else if (strcmp(argv[2], "hold") == 0) status = hold(argc - 3, argv + 3);
    else if (strcmp(argv[2], "enter") == 0) status = enter(argc - 3, argv + 3);
    else fprintf(stderr, "spool sandbox: unknown command %s\n", argv[2]);
    fflush(stdout);
    _exit(status);
}

int spool_sandbox_linked(void) { return 1; }
