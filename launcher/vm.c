/* A VM's runtime directory: where it lives while it runs, and how to reach it. */
#include "vm.h"
#include "resources.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdline.h"
#include "platform.h"
#include "proc.h"
#include "profile.h"

G_DEFINE_QUARK(qlaunch_vm_error, vm_error)

void vm_paths_free(VmPaths *v)
{
    if (!v)
        return;
    g_free(v->name);
    g_free(v->dir);
    g_free(v->qmp);
    g_free(v->qga);
    g_free(v->serial);
    g_free(v->pidfile);
    g_free(v->lockfile);
    g_free(v->log);
    g_free(v->meta);
    g_free(v->profile_copy);
    g_free(v);
}

char *vm_runtime_base(void)
{
    const char *env = g_getenv("QLAUNCH_RUNTIME_DIR");
    if (env && *env)
        return g_strdup(env);
    const char *xdg = g_getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg)
        return g_build_filename(xdg, "qlaunch", NULL);
    if (geteuid() == 0)
        return g_strdup("/run/qlaunch");
    return g_strdup_printf("/tmp/qlaunch-%u", (unsigned)geteuid());
}

char *vm_state_base(void)
{
    const char *env = g_getenv("QLAUNCH_STATE_DIR");
    if (env && *env)
        return g_strdup(env);
    return g_build_filename(g_get_user_data_dir(), "qlaunch", NULL);
}

char *vm_exe_dir(void)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    return exe ? g_path_get_dirname(exe) : g_strdup(".");
}

char *vm_guest_dir(void)
{
    const char *env = g_getenv("QLAUNCH_GUEST_DIR");
    if (env && *env)
        return g_strdup(env);
    /* A build tree (qlaunch next to build/), else the installed copy. */
    g_autofree char *exe_dir = vm_exe_dir();
    g_autofree char *local = g_build_filename(exe_dir, "build", "guest", NULL);
    if (g_file_test(local, G_FILE_TEST_IS_DIR))
        return g_steal_pointer(&local);
    g_autofree char *prefix = g_path_get_dirname(exe_dir);
    return g_build_filename(prefix, "share", "qlaunch", "guest", NULL);
}

char *vm_cache_file(void)
{
    return g_build_filename(g_get_user_cache_dir(), "qlaunch", "kvm-probe", NULL);
}

VmPaths *vm_paths_new(const char *name)
{
    g_autofree char *base = vm_runtime_base();
    VmPaths *v = g_new0(VmPaths, 1);
    v->name = g_strdup(name);
    v->dir = g_build_filename(base, name, NULL);
    v->qmp = g_build_filename(v->dir, "qmp.sock", NULL);
    v->qga = g_build_filename(v->dir, "qga.sock", NULL);
    v->serial = g_build_filename(v->dir, "serial.sock", NULL);
    v->pidfile = g_build_filename(v->dir, "qemu.pid", NULL);
    v->lockfile = g_build_filename(v->dir, "lock", NULL);
    v->log = g_build_filename(v->dir, "qemu.log", NULL);
    v->meta = g_build_filename(v->dir, "meta.json", NULL);
    v->profile_copy = g_build_filename(v->dir, "profile.ini", NULL);
    return v;
}

/* A real directory (not a symlink), owned by us, that nobody else may
 * write to: only then are the pid file and sockets in it ours. */
static gboolean dir_trusted(const char *dir, struct stat *st, GError **error)
{
    if (lstat(dir, st) < 0 || !S_ISDIR(st->st_mode)) {
        g_set_error(error, VM_ERROR, VM_ERROR_UNSAFE,
                    "%s is not a directory (a symlink?); refusing to use it (remove it, "
                    "or set QLAUNCH_RUNTIME_DIR to a directory of your own)",
                    dir);
        return FALSE;
    }
    if (st->st_uid != geteuid()) {
        g_set_error(error, VM_ERROR, VM_ERROR_UNSAFE,
                    "%s is owned by uid %u, not by you; refusing to use it (remove it, "
                    "or set QLAUNCH_RUNTIME_DIR to a directory of your own)",
                    dir, (unsigned)st->st_uid);
        return FALSE;
    }
    return TRUE;
}

/* mkdir 0700 if missing; then it must be a real directory owned by us. */
gboolean vm_private_dir(const char *dir, GError **error)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        g_set_error(error, VM_ERROR, VM_ERROR_UNSAFE, "cannot create %s: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    struct stat st;
    if (!dir_trusted(dir, &st, error))
        return FALSE;
    if ((st.st_mode & 077) && chmod(dir, 0700) < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_UNSAFE, "cannot make %s private: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean vm_dir_check(VmPaths *v, GError **error)
{
    g_autofree char *base = g_path_get_dirname(v->dir);
    const char *dirs[] = { base, v->dir };
    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        struct stat st;
        if (lstat(dirs[i], &st) < 0 && errno == ENOENT)
            return TRUE; /* nothing there: nothing to trust */
        if (!dir_trusted(dirs[i], &st, error))
            return FALSE;
        if (st.st_mode & 022) {
            g_set_error(error, VM_ERROR, VM_ERROR_UNSAFE,
                        "%s can be written by others (mode %03o); refusing to use it "
                        "(chmod 700 it)",
                        dirs[i], (unsigned)(st.st_mode & 0777));
            return FALSE;
        }
    }
    return TRUE;
}

gboolean vm_runtime_prepare(VmPaths *v, GError **error)
{
    g_autofree char *base = g_path_get_dirname(v->dir);
    g_autofree char *parent = g_path_get_dirname(base);
    g_mkdir_with_parents(parent, 0700);
    return vm_private_dir(base, error) && vm_private_dir(v->dir, error);
}

int vm_lock(VmPaths *v, GError **error)
{
    int fd = open(v->lockfile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", v->lockfile, g_strerror(errno));
        return -1;
    }
    /* A lock on a file that a stop has meanwhile unlinked (it removes the
     * runtime dir last) guards nothing: it counts as busy, and the caller's
     * next try opens whatever is at the path now. */
    struct stat held, now;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &held) < 0 || lstat(v->lockfile, &now) < 0 ||
        held.st_dev != now.st_dev || held.st_ino != now.st_ino) {
        close(fd);
        g_set_error(error, VM_ERROR, VM_ERROR_BUSY,
                    "VM %s is busy: another qlaunch is starting, stopping or migrating it; try "
                    "again in a moment",
                    v->name);
        return -1;
    }
    return fd;
}

int vm_lock_wait(VmPaths *v, gint64 timeout_ms, const volatile sig_atomic_t *stop, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    for (;;) {
        g_autoptr(GError) busy = NULL;
        int fd = vm_lock(v, &busy);
        if (fd >= 0 || !g_error_matches(busy, VM_ERROR, VM_ERROR_BUSY) ||
            g_get_monotonic_time() >= deadline || (stop && *stop)) {
            if (fd < 0)
                g_propagate_error(error, g_steal_pointer(&busy));
            return fd;
        }
        g_usleep(20000);
    }
}

pid_t vm_read_pid(VmPaths *v)
{
    g_autofree char *text = NULL;
    if (!vm_dir_check(v, NULL))
        return 0;
    if (!g_file_get_contents(v->pidfile, &text, NULL, NULL))
        return 0;
    gint64 pid = g_ascii_strtoll(text, NULL, 10);
    if (pid <= 0 || pid >= G_MAXINT)
        return 0;
    /* Only the process that holds QEMU's lock on the pidfile is the VM: a
     * killed QEMU leaves the file, and its number may be someone else's by
     * now (kill must never signal that one). */
    return proc_lock_holder(v->pidfile) == (pid_t)pid ? (pid_t)pid : 0;
}

gboolean vm_pidfile_stale(VmPaths *v)
{
    g_autofree char *text = NULL;
    return vm_dir_check(v, NULL) && g_file_get_contents(v->pidfile, &text, NULL, NULL) &&
           vm_read_pid(v) == 0;
}

pid_t vm_running_pid(VmPaths *v, GError **error)
{
    if (!vm_dir_check(v, error))
        return 0;
    pid_t pid = vm_read_pid(v);
    if (pid > 0 && proc_alive(pid))
        return pid;
    g_set_error(error, VM_ERROR, VM_ERROR_NOT_RUNNING,
                "VM %s is not running (start it with "
                "'qlaunch start %s')",
                v->name, v->name);
    return 0;
}

void vm_runtime_remove(VmPaths *v)
{
    json_auto_t *meta = vm_meta_read(v);
    json_t *cg = json_object_get(meta, "cgroups");
    size_t i;
    json_t *d;
    json_array_foreach(cg, i, d)
    {
        const char *one[] = { json_string_value(d), NULL };
        if (one[0])
            res_cgroup_remove((char *const *)one);
    }
    g_autofree char *migrate_sock = g_build_filename(v->dir, "migrate.sock", NULL);
    const char *files[] = { v->qmp,  v->qga,          v->serial,   v->pidfile,  v->log,
                            v->meta, v->profile_copy, v->lockfile, migrate_sock };
    for (gsize k = 0; k < G_N_ELEMENTS(files); k++)
        unlink(files[k]);
    platform_remove_files(v);
    rmdir(v->dir);
}

QmpConn *vm_qmp_open(VmPaths *v, gint64 timeout_ms, GError **error)
{
    if (!vm_dir_check(v, error))
        return NULL;
    g_autoptr(QmpConn) c = qmp_conn_connect(v->qmp, QMP_MODE_MONITOR, timeout_ms, error);
    if (!c || !qmp_conn_handshake(c, timeout_ms, error)) {
        g_prefix_error(error, "QMP of VM %s: ", v->name);
        return NULL;
    }
    return g_steal_pointer(&c);
}

/* The "Kernel panic - not syncing..." line in the tail of LOG, or NULL. */
static char *serial_panic(const char *log)
{
    /* the log was truncated when QEMU started; only its tail matters */
    enum { TAIL = 64 * 1024 };
    int fd = log ? open(log, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (fd < 0)
        return NULL;
    char buf[TAIL + 1];
    off_t end = lseek(fd, 0, SEEK_END);
    ssize_t n = end < 0 ? -1 : pread(fd, buf, TAIL, MAX(end - TAIL, 0));
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    static const char needle[] = "Kernel panic - not syncing";
    const char *hit = memmem(buf, (size_t)n, needle, sizeof(needle) - 1); /* NULs may be logged */
    if (!hit)
        return NULL;
    gsize len = strcspn(hit, "\r\n");
    return g_utf8_make_valid(hit, (gssize)len);
}

char *vm_run_state(QmpConn *qmp, gint64 timeout_ms)
{
    json_auto_t *st = qmp_conn_execute(qmp, "query-status", NULL, timeout_ms, NULL);
    return g_strdup(json_string_value(json_object_get(st, "status")));
}

gboolean vm_guest_panicked(VmPaths *v, QmpConn *qmp)
{
    g_autoptr(QmpConn) own = qmp ? NULL : vm_qmp_open(v, 2000, NULL);
    g_autofree char *state = qmp || own ? vm_run_state(qmp ? qmp : own, 2000) : NULL;
    return g_strcmp0(state, "guest-panicked") == 0;
}

QmpConn *vm_qga_open(VmPaths *v, gint64 timeout_ms, GError **error)
{
    return vm_qga_open_watch(v, timeout_ms, NULL, NULL, error);
}

QmpConn *vm_qga_open_watch(VmPaths *v, gint64 timeout_ms, QmpConn *qmp, const char *serial_log,
                           GError **error)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    if (!vm_dir_check(v, error))
        return NULL;
    g_autoptr(QmpConn) c = qmp_conn_connect(v->qga, QMP_MODE_AGENT, timeout_ms, error);
    if (!c) {
        g_prefix_error(error, "guest agent of VM %s: ", v->name);
        return NULL;
    }
    /* Until the guest opens its port, writes vanish: retry sync briefly. */
    for (;;) {
        g_autoptr(GError) local = NULL;
        if (proc_interrupted) { /* SIGINT/SIGTERM while a verb waits for the agent */
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "interrupted while waiting for the guest agent of VM %s", v->name);
            return NULL;
        }
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (qga_sync(c, MIN(MAX(left, 1), 1500), &local))
            return g_steal_pointer(&c);
        /* no agent will ever answer a panicked guest: say why now */
        g_autofree char *panic = serial_panic(serial_log);
        if (panic) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "guest of VM %s panicked before its agent answered (serial log %s: "
                        "\"%s\")",
                        v->name, serial_log, panic);
            return NULL;
        }
        if (vm_guest_panicked(v, qmp)) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "the guest kernel of VM %s panicked (QEMU state guest-panicked, "
                        "reported by its pvpanic device); the VM is paused as it crashed: "
                        "'qlaunch kill %s' ends it%s%s",
                        v->name, v->name, serial_log ? ", the serial log has the panic: " : "",
                        serial_log ? serial_log : "");
            return NULL;
        }
        if (!g_error_matches(local, QMP_ERROR, QMP_ERROR_TIMEOUT) ||
            g_get_monotonic_time() >= deadline) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "guest agent of VM %s did not answer within %.0f s: %s", v->name,
                        (double)timeout_ms / 1000, local->message);
            return NULL;
        }
    }
}

/* query-chardev's entry for LABEL (a new reference), or NULL. */
static json_t *chardev_info(QmpConn *qmp, const char *label, gint64 timeout_ms, GError **error)
{
    json_auto_t *devs = qmp_conn_execute(qmp, "query-chardev", NULL, timeout_ms, error);
    size_t i;
    json_t *d;
    json_array_foreach(devs, i, d)
    {
        if (!g_strcmp0(json_string_value(json_object_get(d, "label")), label))
            return json_incref(d);
    }
    if (devs)
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "QEMU has no chardev %s", label);
    return NULL;
}

QmpConn *vm_qga_hold(VmPaths *v, QmpConn *qmp, gint64 timeout_ms)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpConn) c = NULL;
    /* the guest has the agent's port open (qemu-ga runs): else a sync
     * could only wait out timeout_ms */
    json_auto_t *dev = chardev_info(qmp, CMDLINE_AGENT_CHARDEV, timeout_ms, &err);
    if (!json_is_true(json_object_get(dev, "frontend-open"))) {
        if (!err)
            g_set_error(&err, VM_ERROR, VM_ERROR_FAILED,
                        "the guest has not opened the agent's port");
    } else if ((c = qmp_conn_connect(v->qga, QMP_MODE_AGENT, timeout_ms, &err)) &&
               qga_sync(c, timeout_ms, &err)) {
        return g_steal_pointer(&c);
    }
    g_debug("VM %s: the state is saved without an agent connection (%s)", v->name, err->message);
    return NULL;
}

/* QEMU has accepted a client on the socket chardev LABEL: query-chardev's
 * filename loses its "disconnected:" prefix. */
static gboolean chardev_connected(QmpConn *qmp, const char *label, gint64 timeout_ms,
                                  GError **error)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    for (;;) {
        json_auto_t *d = chardev_info(qmp, label, timeout_ms, error);
        if (!d)
            return FALSE;
        const char *file = json_string_value(json_object_get(d, "filename"));
        if (file && !g_str_has_prefix(file, "disconnected:"))
            return TRUE;
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, QMP_ERROR, QMP_ERROR_TIMEOUT,
                        "QEMU did not accept the connection to chardev %s within %.1f s", label,
                        (double)timeout_ms / 1000);
            return FALSE;
        }
        g_usleep(1000);
    }
}

QmpConn *vm_qga_accepted(VmPaths *v, QmpConn *qmp, QmpConn *conn, gint64 timeout_ms)
{
    g_autoptr(QmpConn) c = conn;
    g_autoptr(GError) why = NULL;
    /* QEMU accepts in its main loop, at once: a wait that runs out means
     * something else holds the socket */
    if (chardev_connected(qmp, CMDLINE_AGENT_CHARDEV, MIN(timeout_ms, 2000), &why))
        return g_steal_pointer(&c);
    g_debug("VM %s: the agent's socket is connected after the load: %s", v->name, why->message);
    return NULL;
}

QmpConn *vm_qga_attach(VmPaths *v, QmpConn *qmp, gint64 timeout_ms)
{
    g_autoptr(GError) why = NULL;
    QmpConn *c = qmp_conn_connect(v->qga, QMP_MODE_AGENT, timeout_ms, &why);
    if (c)
        return vm_qga_accepted(v, qmp, c, timeout_ms);
    g_debug("VM %s: the agent's socket is connected after the load: %s", v->name, why->message);
    return NULL;
}

QmpConn *vm_qga_reuse(VmPaths *v, QmpConn *held, gint64 timeout_ms, GError **error)
{
    g_autoptr(QmpConn) qga = held;
    if (qga && qga_sync(qga, timeout_ms, NULL))
        return g_steal_pointer(&qga);
    return vm_qga_open(v, timeout_ms, error);
}

gboolean vm_runtime_file_write(const char *path, const char *text, gssize len, GError **error)
{
    if (len < 0)
        len = (gssize)strlen(text);
    g_autofree char *tmp = g_strconcat(path, ".XXXXXX", NULL);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", tmp, g_strerror(errno));
        return FALSE;
    }
    gssize done = 0;
    while (done < len) {
        gssize n = write(fd, text + done, (gsize)(len - done));
        if (n > 0)
            done += n;
        else if (n == 0 || errno != EINTR)
            break;
    }
    int saved = done < len ? (errno ? errno : EIO) : 0;
    close(fd);
    if (!saved && rename(tmp, path) != 0)
        saved = errno;
    if (saved) {
        unlink(tmp);
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "writing %s: %s", path, g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

gboolean vm_meta_write(VmPaths *v, json_t *meta, GError **error)
{
    g_autofree char *text = json_dumps(meta, JSON_INDENT(2));
    if (!text) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "cannot encode %s", v->meta);
        return FALSE;
    }
    return vm_runtime_file_write(v->meta, text, -1, error);
}

json_t *vm_meta_read(VmPaths *v)
{
    return json_load_file(v->meta, 0, NULL);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GStrv vm_list_names(void)
{
    g_autofree char *base = vm_runtime_base();
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_autoptr(GDir) d = g_dir_open(base, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(base, n, NULL);
        /* _networks and the like are not VM names */
        if (profile_name_valid(n) && g_file_test(p, G_FILE_TEST_IS_DIR) &&
            !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
            g_strv_builder_add(b, n);
    }
    GStrv names = g_strv_builder_end(b);
    qsort(names, g_strv_length(names), sizeof(char *), compare_names);
    return names;
}

ProfileEnv vm_profile_env(char **guest_dir, char **state_base)
{
    *guest_dir = vm_guest_dir();
    *state_base = vm_state_base();
    return (ProfileEnv){ .guest_dir = *guest_dir, .state_base = *state_base };
}

/* The profile a running VM was started from (its copy in the runtime dir,
 * read as if it stood at the original path so relative paths still hold). */
Profile *vm_running_profile(VmPaths *v, GError **error)
{
    json_auto_t *meta = vm_meta_read(v);
    const char *orig = json_string_value(json_object_get(meta, "profile"));
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!orig || !g_file_get_contents(v->profile_copy, &data, &len, error)) {
        g_prefix_error(error, "VM %s: cannot read the profile it was started with: ", v->name);
        return NULL;
    }
    g_autofree char *guest = NULL, *state = NULL;
    ProfileEnv env = vm_profile_env(&guest, &state);
    /* the name it was started under (bench --scenario renames VMs) */
    env.name_override = json_string_value(json_object_get(meta, "name"));
    return profile_load_data(orig, data, len, &env, error);
}
