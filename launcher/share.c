/* [share NAME]: virtiofsd per virtio-fs share, and what a share blocks. */
#include "share.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmdline.h"
#include "proc.h"

#define SHARE_WAIT_MS 10000

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
struct mount_attr {
    __u64 attr_set, attr_clr, propagation, userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

static char *virtiofsd_binary(void)
{
    const char *env = g_getenv("QLAUNCH_VIRTIOFSD");
    if (env && *env)
        return g_strdup(env);
    if (g_file_test("/usr/lib/qemu/virtiofsd", G_FILE_TEST_IS_EXECUTABLE))
        return g_strdup("/usr/lib/qemu/virtiofsd");
    if (g_file_test("/usr/libexec/virtiofsd", G_FILE_TEST_IS_EXECUTABLE))
        return g_strdup("/usr/libexec/virtiofsd");
    return g_find_program_in_path("virtiofsd");
}

/* virtiofsd's -o takes comma-separated options (libfuse's fuse_opt): a
 * comma or backslash in a value is escaped with a backslash. */
static char *fuse_opt_value(const char *key, const char *value)
{
    GString *s = g_string_new(key);
    for (const char *c = value; *c; c++) {
        if (*c == ',' || *c == '\\')
            g_string_append_c(s, '\\');
        g_string_append_c(s, *c);
    }
    return g_string_free(s, FALSE);
}

static char *socket_arg(const char *sock)
{
    return g_strdup_printf("--socket-path=%s", sock);
}

/* In the child, before exec: a mount namespace of its own in which the
 * folder (and every mount under it) is read-only; the host's stays as it
 * is. Returns an errno-style message, or NULL. */
static const char *make_readonly(const char *dir)
{
    if (unshare(CLONE_NEWNS) < 0)
        return "unshare(CLONE_NEWNS)";
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return "making / private";
    if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
        return "bind mount";
    struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
    if (syscall(SYS_mount_setattr, AT_FDCWD, dir, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
        return NULL;
    if (errno != ENOSYS)
        return "mount_setattr(MOUNT_ATTR_RDONLY)";
    /* an old kernel: the folder itself, not the mounts below it */
    if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        return "read-only remount";
    return NULL;
}

static gboolean start_one(VmPaths *v, const Profile *p, const ProfileShare *s, const char *bin,
                          GError **error)
{
    g_autofree char *sock = cmdline_share_socket(v->dir, s);
    g_autofree char *sarg = socket_arg(sock);
    g_autofree char *src = fuse_opt_value("source=", s->path);
    g_autofree char *logname = g_strdup_printf("virtiofs-%s.log", s->name);
    g_autofree char *log = g_build_filename(v->dir, logname, NULL);
    g_autofree char *what =
        g_strdup_printf("profile %s [share %s]: starting virtiofsd", p->path, s->name);
    unlink(sock);
    /* share_stop finds it by --socket-path= */
    const char *argv[] = {
        bin, sarg, "-o", src, "-o", "cache=auto", "-o", "sandbox=namespace", NULL
    };
    int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int errp[2];
    if (logfd < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s: %s", what, log, g_strerror(errno));
        if (logfd >= 0)
            close(logfd);
        return FALSE;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* its own session: it outlives qlaunch start, as QEMU does */
        setsid();
        const char *bad = s->readonly ? make_readonly(s->path) : NULL;
        if (!bad) {
            dup2(logfd, STDERR_FILENO);
            int null = open("/dev/null", O_RDWR);
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            umask(077);
            execv(bin, (char **)argv);
            bad = "exec";
        }
        char msg[300];
        int n = snprintf(msg, sizeof(msg), "%s: %s", bad, strerror(errno));
        if (write(errp[1], msg, (size_t)n) < 0)
            _exit(126);
        _exit(127);
    }
    close(logfd);
    close(errp[1]);
    if (pid < 0) {
        close(errp[0]);
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: fork: %s", what, g_strerror(errno));
        return FALSE;
    }
    char msg[300] = "";
    ssize_t n = read(errp[0], msg, sizeof(msg) - 1);
    close(errp[0]);
    if (n > 0) {
        msg[n] = '\0';
        waitpid(pid, NULL, 0);
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s (%s): %s", what, bin, msg);
        return FALSE;
    }
    gint64 end = g_get_monotonic_time() + SHARE_WAIT_MS * 1000LL;
    while (!g_file_test(sock, G_FILE_TEST_EXISTS)) {
        int st;
        gboolean gone = waitpid(pid, &st, WNOHANG) == pid;
        if (gone || g_get_monotonic_time() > end) {
            if (!gone) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
            }
            g_autofree char *tail = proc_tail_file(log, 5);
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s: %s", what,
                        gone ? "it exited" : "no socket after 10 s",
                        tail && *tail ? tail : "(nothing in its log)");
            return FALSE;
        }
        g_usleep(5000);
    }
    return TRUE;
}

gboolean share_start(VmPaths *v, const Profile *p, GError **error)
{
    g_autofree char *bin = NULL;
    for (guint i = 0; i < p->shares->len; i++) {
        const ProfileShare *s = p->shares->pdata[i];
        if (!g_file_test(s->path, G_FILE_TEST_IS_DIR)) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "profile %s [share %s] path=%s: not a folder (create it, or point "
                        "path= at the folder to share)",
                        p->path, s->name, s->path);
            return FALSE;
        }
        if (s->type != SHARE_VIRTIOFS)
            continue;
        if (!bin && !(bin = virtiofsd_binary())) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "profile %s [share %s]: virtiofsd is missing (Debian's "
                        "qemu-system-common has /usr/lib/qemu/virtiofsd; or set "
                        "QLAUNCH_VIRTIOFSD)",
                        p->path, s->name);
            return FALSE;
        }
        if (geteuid() != 0) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "profile %s [share %s] type=virtiofs: virtiofsd needs root (it sandboxes "
                        "itself in namespaces and keeps the files' owners); run qlaunch as root, "
                        "or use type=9p where the guest kernel has 9p (Debian's cloud kernel "
                        "does not)",
                        p->path, s->name);
            return FALSE;
        }
    }
    share_stop(v); /* any a failed start left */
    for (guint i = 0; i < p->shares->len; i++) {
        const ProfileShare *s = p->shares->pdata[i];
        if (s->type == SHARE_VIRTIOFS && !start_one(v, p, s, bin, error)) {
            share_stop(v);
            return FALSE;
        }
    }
    return TRUE;
}

/* The paths of the runtime dir's virtiofs-* files (transfer full). */
static GPtrArray *share_files(VmPaths *v)
{
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) d = g_dir_open(v->dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        if (g_str_has_prefix(name, "virtiofs-"))
            g_ptr_array_add(files, g_build_filename(v->dir, name, NULL));
    }
    return files;
}

guint share_stop(VmPaths *v)
{
    /* a virtiofsd's log is made before it starts and stays: without one no
     * virtiofsd of this VM can run (no /proc scan on every start and stop) */
    g_autoptr(GPtrArray) files = share_files(v);
    if (!files->len)
        return 0;
    /* by the socket's name: virtiofsd removes the socket once QEMU is on */
    g_autofree char *sock = g_build_filename(v->dir, "virtiofs-", NULL);
    g_autofree char *prefix = socket_arg(sock);
    pid_t pids[64];
    guint n = proc_find_by_args(prefix, NULL, pids, G_N_ELEMENTS(pids));
    for (guint i = 0; i < n; i++)
        kill(pids[i], SIGTERM);
    for (guint i = 0; i < n; i++) {
        if (!proc_wait_gone(pids[i], 5000)) {
            kill(pids[i], SIGKILL);
            proc_wait_gone(pids[i], 5000);
        }
    }
    for (guint i = 0; i < files->len; i++)
        unlink(files->pdata[i]);
    return n;
}

gboolean share_refuse(const Profile *p, const char *verb, GError **error)
{
    if (!p->shares->len)
        return TRUE;
    const ProfileShare *s = p->shares->pdata[0];
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "refusing to %s %s: it has [share %s] (%s), and QEMU cannot save or move %s; "
                "stop the VM, or start it without [share %s]",
                verb, p->name, s->name, profile_share_type_name(s->type),
                s->type == SHARE_VIRTIOFS ? "a vhost-user-fs device's state (virtiofsd keeps "
                                            "the guest's open files)"
                                          : "a mounted 9p export",
                s->name);
    return FALSE;
}
