/* Child processes with deadlines: exec argv arrays, never a shell. */
#include "proc.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LAUNCHER_ERROR_DOMAIN g_quark_from_static_string("proc-error")

/* Waits for a child until deadline (then SIGKILL). A pidfd wakes us the
 * moment it exits; where there is none, poll waitpid every millisecond.
 * TICK (may be NULL) is called each millisecond until it says done. */
static gboolean wait_child(pid_t pid, gint64 deadline, int *status, ProcTick tick, gpointer data)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            if (pfd >= 0)
                close(pfd);
            return TRUE;
        }
        gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
        if (left_ms <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            if (pfd >= 0)
                close(pfd);
            return FALSE;
        }
        if (tick && tick(data))
            tick = NULL;
        if (pfd >= 0) {
            struct pollfd p = { .fd = pfd, .events = POLLIN };
            poll(&p, 1, tick ? 1 : (int)MIN(left_ms, G_MAXINT));
        } else {
            g_usleep(1000);
        }
    }
}

static gboolean timed_out(GError **error, const char *what, gint64 timeout_ms)
{
    g_set_error(error, LAUNCHER_ERROR_DOMAIN, ETIMEDOUT, "%s did not finish within %.1f s (killed)",
                what, (double)timeout_ms / 1000);
    return FALSE;
}

gboolean proc_run(const char *const *argv, gint64 timeout_ms, char **output, int *status,
                  GError **error)
{
    return proc_run_in(NULL, argv, timeout_ms, output, status, error);
}

/* g_spawn calls this in the child after setting up stdio, just before
 * exec. The child gets its own process group, so a Ctrl-C at the terminal
 * reaches qlaunch alone, which decides (every child has a deadline). */
typedef enum { STDERR_KEEP, STDERR_MERGE, STDERR_DROP } StderrMode;

static void child_setup(gpointer mode)
{
    setpgid(0, 0);
    if (GPOINTER_TO_INT(mode) == STDERR_MERGE)
        dup2(1, 2);
}

static gboolean run_capturing(const char *dir, const char *const *argv, StderrMode mode,
                              gint64 timeout_ms, char **output, int *status, GError **error)
{
    GPid pid;
    int out = -1;
    GSpawnFlags flags =
        G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL;
    if (mode == STDERR_DROP)
        flags |= G_SPAWN_STDERR_TO_DEV_NULL;
    if (!g_spawn_async_with_pipes(dir, (char **)argv, NULL, flags, child_setup,
                                  GINT_TO_POINTER(mode), &pid, NULL, &out, NULL, error))
        return FALSE;
    /* Unless merged, the child's stderr stays ours, so its error text stays visible. */
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    GString *buf = g_string_new(NULL);
    char chunk[4096];
    for (;;) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        GPollFD p = { .fd = out, .events = G_IO_IN };
        if (left <= 0)
            break;
        if (g_poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = read(out, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        g_string_append_len(buf, chunk, n);
    }
    close(out);
    gboolean ok = wait_child(pid, deadline, status, NULL, NULL);
    if (output)
        *output = g_string_free(buf, FALSE);
    else
        g_string_free(buf, TRUE);
    return ok ? TRUE : timed_out(error, argv[0], timeout_ms);
}

gboolean proc_run_in(const char *dir, const char *const *argv, gint64 timeout_ms, char **output,
                     int *status, GError **error)
{
    return run_capturing(dir, argv, STDERR_KEEP, timeout_ms, output, status, error);
}

gboolean proc_run_quiet(const char *const *argv, gint64 timeout_ms, char **output, int *status,
                        GError **error)
{
    return run_capturing(NULL, argv, STDERR_DROP, timeout_ms, output, status, error);
}

gboolean proc_run_all(const char *const *argv, gint64 timeout_ms, char **output, int *status,
                      GError **error)
{
    return run_capturing(NULL, argv, STDERR_MERGE, timeout_ms, output, status, error);
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* In the child before exec: closes every fd above 2 not in keep (sorted). */
static void close_others(int *keep, guint n_keep)
{
    unsigned int from = 3;
    for (guint i = 0; i <= n_keep; i++) {
        unsigned int to = i < n_keep ? (unsigned int)keep[i] : ~0U;
        if (i < n_keep && keep[i] < 3)
            continue;
        if (to > from && close_range(from, to - 1, 0) != 0)
            for (unsigned int fd = from; fd < MIN(to, 65536u); fd++)
                close((int)fd);
        from = to + 1;
    }
}

gboolean proc_run_logged(const char *const *argv, const char *log_path, const int *keep,
                         guint n_keep, gint64 timeout_ms, ProcTick tick, gpointer tick_data,
                         int *status, GError **error)
{
    g_autofree int *sorted = g_new0(int, n_keep + 1);
    guint n = 0;
    for (guint i = 0; i < n_keep; i++)
        if (keep[i] >= 0)
            sorted[n++] = keep[i];
    qsort(sorted, n, sizeof(int), cmp_int);
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (logfd < 0) {
        g_set_error(error, LAUNCHER_ERROR_DOMAIN, errno, "%s: %s", log_path, g_strerror(errno));
        return FALSE;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        g_set_error(error, LAUNCHER_ERROR_DOMAIN, errno, "fork: %s", g_strerror(errno));
        return FALSE;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        close_others(sorted, n);
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    return wait_child(pid, deadline, status, tick, tick_data)
               ? TRUE
               : timed_out(error, argv[0], timeout_ms);
}

gboolean proc_remove_tree(const char *dir, GError **error)
{
    const char *argv[] = { "rm", "-rf", "--", dir, NULL };
    g_autofree char *out = NULL;
    int status = 0;
    if (!proc_run_all(argv, 120000, &out, &status, error))
        return FALSE;
    if (status != 0) {
        g_set_error(error, LAUNCHER_ERROR_DOMAIN, 0, "could not remove %s: %s", dir,
                    out ? g_strstrip(out) : "");
        return FALSE;
    }
    return TRUE;
}

gboolean proc_alive(pid_t pid)
{
    if (pid <= 0)
        return FALSE;
    if (kill(pid, 0) < 0 && errno != EPERM)
        return FALSE;
    /* A zombie (exited, not yet reaped by its parent) is gone for us, once
     * its last thread is: a killed QEMU's main thread is a zombie while its
     * other threads still exit, and they hold its files (and disk locks). */
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *stat = NULL;
    if (!g_file_get_contents(path, &stat, NULL, NULL))
        return FALSE;
    const char *paren = strrchr(stat, ')');
    if (!(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X')))
        return TRUE;
    g_autofree char *spath = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *status = NULL;
    if (!g_file_get_contents(spath, &status, NULL, NULL))
        return FALSE;
    const char *threads = strstr(status, "\nThreads:");
    return threads && g_ascii_strtoull(threads + strlen("\nThreads:"), NULL, 10) > 1;
}

gboolean proc_cpu_ns(pid_t pid, guint64 *ns)
{
    /* schedstat's first field is a thread's time on a CPU in ns; summed
     * over the threads alive now (an exited thread's time is lost, which
     * only makes a process look idler: a waiter then waits a little less) */
    g_autofree char *dir = g_strdup_printf("/proc/%d/task", (int)pid);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    if (!d)
        return FALSE;
    guint64 sum = 0;
    guint n = 0;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, "schedstat", NULL);
        g_autofree char *text = NULL;
        if (!g_file_get_contents(path, &text, NULL, NULL))
            continue; /* the thread exited meanwhile */
        char *end = NULL;
        guint64 v = g_ascii_strtoull(text, &end, 10);
        if (end == text)
            return FALSE; /* not the format this reads */
        sum += v;
        n++;
    }
    *ns = sum;
    return n > 0;
}

pid_t proc_lock_holder(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    int r = fcntl(fd, F_GETLK, &fl);
    close(fd);
    return r == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0 ? fl.l_pid : 0;
}

char *proc_find_fd(pid_t pid, const char *target)
{
    g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int)pid);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *link = g_file_read_link(path, NULL);
        if (link && g_str_has_prefix(link, target))
            return g_steal_pointer(&path);
    }
    return NULL;
}

/* arg2 NULL: any argument that begins with arg1 */
static gboolean args_match(const char *cmd, gsize len, const char *arg1, const char *arg2)
{
    for (gsize i = 0; i < len;) {
        gsize l = strlen(cmd + i);
        if (!arg2 && g_str_has_prefix(cmd + i, arg1))
            return TRUE;
        if (arg2 && strcmp(cmd + i, arg1) == 0 && i + l + 1 < len &&
            strcmp(cmd + i + l + 1, arg2) == 0)
            return TRUE;
        i += l + 1;
    }
    return FALSE;
}

guint proc_find_by_args(const char *arg1, const char *arg2, pid_t *pids, guint max)
{
    guint n = 0;
    g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
    const char *name;
    while (proc && n < max && (name = g_dir_read_name(proc))) {
        if (!g_ascii_isdigit(name[0]))
            continue;
        g_autofree char *dir = g_build_filename("/proc", name, NULL);
        g_autofree char *path = g_build_filename(dir, "cmdline", NULL);
        GStatBuf st;
        g_autofree char *cmd = NULL;
        gsize len = 0;
        if (g_stat(dir, &st) != 0 || st.st_uid != getuid() ||
            !g_file_get_contents(path, &cmd, &len, NULL))
            continue;
        if (args_match(cmd, len, arg1, arg2))
            pids[n++] = (pid_t)g_ascii_strtoll(name, NULL, 10);
    }
    return n;
}

gboolean proc_wait_gone(pid_t pid, gint64 timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    while (proc_alive(pid)) {
        if (g_get_monotonic_time() >= deadline)
            return FALSE;
        g_usleep(10000);
    }
    return TRUE;
}

char *proc_tail_file(const char *path, guint max_lines)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_strchomp(text);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint n = g_strv_length(lines);
    guint from = n > max_lines ? n - max_lines : 0;
    return g_strjoinv("\n", lines + from);
}

char *proc_describe_status(int status)
{
    if (WIFEXITED(status))
        return g_strdup_printf("exit code %d", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return g_strdup_printf("signal %d (%s)", WTERMSIG(status), g_strsignal(WTERMSIG(status)));
    return g_strdup("unknown status");
}

char *proc_gp_string(const char *value)
{
    GString *s = g_string_new("'");
    for (const char *c = value ? value : ""; *c; c++) {
        if (*c == '\'')
            g_string_append(s, "''");
        else if ((unsigned char)*c < 0x20 || *c == 0x7f)
            g_string_append_c(s, ' ');
        else
            g_string_append_c(s, *c);
    }
    g_string_append_c(s, '\'');
    return g_string_free(s, FALSE);
}

char *proc_csv_field(const char *value)
{
    if (!value)
        return g_strdup("");
    if (!strpbrk(value, ",\"\r\n"))
        return g_strdup(value);
    GString *s = g_string_new("\"");
    for (const char *c = value; *c; c++) {
        if (*c == '"')
            g_string_append_c(s, '"');
        g_string_append_c(s, *c);
    }
    g_string_append_c(s, '"');
    return g_string_free(s, FALSE);
}

gboolean proc_gnuplot(const char *dir, const char *script, GError **error)
{
    const char *argv[] = { "gnuplot", script, NULL };
    g_autofree char *out = NULL;
    int status = 0;
    if (!proc_run_in(dir, argv, 60000, &out, &status, error)) {
        g_prefix_error(error, "plot: is gnuplot installed (gnuplot-nox)? ");
        return FALSE;
    }
    if (status != 0) {
        g_set_error(error, LAUNCHER_ERROR_DOMAIN, 0, "plot: gnuplot %s failed: %s", script,
                    out ? out : "");
        return FALSE;
    }
    return TRUE;
}

volatile sig_atomic_t proc_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    proc_interrupted = 1;
}

void proc_catch_interrupts(gboolean on)
{
    static struct sigaction old_int, old_term;
    if (on) {
        struct sigaction sa = { .sa_handler = on_interrupt };
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    } else {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
}
