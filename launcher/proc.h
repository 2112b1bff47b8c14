/* Child processes with deadlines: exec argv arrays, never a shell. */
#pragma once

#include <glib.h>
#include <signal.h>
#include <sys/types.h>

/* Set by SIGINT/SIGTERM while proc_catch_interrupts(TRUE) is in force, so
 * a long operation can stop at a safe point and clean up. */
extern volatile sig_atomic_t proc_interrupted;
void proc_catch_interrupts(gboolean on);

/* Runs argv, capturing stdout (transfer full, may be NULL; stderr stays
 * ours), waiting at most timeout_ms (then SIGKILL). *status is the waitpid
 * status. The child runs in its own process group: a terminal's Ctrl-C
 * reaches qlaunch, not it. */
gboolean proc_run(const char *const *argv, gint64 timeout_ms, char **output, int *status,
                  GError **error);
/* The same, run in directory dir (NULL = ours). */
gboolean proc_run_in(const char *dir, const char *const *argv, gint64 timeout_ms, char **output,
                     int *status, GError **error);
/* proc_run with the child's stderr in *output too (for tools whose error
 * text belongs in our message). */
gboolean proc_run_all(const char *const *argv, gint64 timeout_ms, char **output, int *status,
                      GError **error);
/* proc_run with the child's stderr dropped: for a QEMU run only to ask it
 * something ("-netdev help"), whose module warnings are not the user's. */
gboolean proc_run_quiet(const char *const *argv, gint64 timeout_ms, char **output, int *status,
                        GError **error);
/* Runs gnuplot on script in dir (the script names its files relative to
 * dir, so no path is spliced into it). */
gboolean proc_gnuplot(const char *dir, const char *script, GError **error);
/* value as a gnuplot single-quoted string, quotes included (transfer full):
 * ' doubled, control characters (a newline would end the command) as
 * spaces. Inside single quotes gnuplot does no backquote, macro or
 * backslash processing, so nothing in value can become script. */
char *proc_gp_string(const char *value);
/* value as one CSV field (RFC 4180: quoted when it holds , " CR or LF). */
char *proc_csv_field(const char *value);
/* While a child runs: called about every millisecond until it returns
 * TRUE (done: not called again). */
typedef gboolean (*ProcTick)(gpointer data);
/* Runs argv with stdout and stderr appended to log_path and stdin from
 * /dev/null; waits at most timeout_ms for it to exit (QEMU -daemonize
 * exits once the VM is set up), calling TICK (may be NULL) with TICK_DATA
 * meanwhile. The child keeps no file descriptor but 0-2 and those in keep
 * (n_keep of them, e.g. the taps QEMU is given). */
gboolean proc_run_logged(const char *const *argv, const char *log_path, const int *keep,
                         guint n_keep, gint64 timeout_ms, ProcTick tick, gpointer tick_data,
                         int *status, GError **error);
/* rm -rf -- dir (argv, with a deadline); FALSE with rm's words. */
gboolean proc_remove_tree(const char *dir, GError **error);
/* A process exists and is not a zombie (a zombie main thread with other
 * threads still exiting counts as alive: they hold its files). */
gboolean proc_alive(pid_t pid);
/* CPU time used so far by pid's live threads, in ns (/proc/PID/task/
 * TID/schedstat); FALSE when pid is gone or the kernel keeps no schedstat. */
gboolean proc_cpu_ns(pid_t pid, guint64 *ns);
/* The process holding a write lock on path (QEMU locks its -pidfile for
 * as long as it runs), or 0: a pid written in a file proves nothing once
 * its process is gone and the number is reused. */
pid_t proc_lock_holder(const char *path);
/* "/proc/PID/fd/N" for the first descriptor of pid whose link starts
 * with target (e.g. "/memfd:memory-backend-memfd"), or NULL (transfer full). */
char *proc_find_fd(pid_t pid, const char *target);
/* Processes of this user whose argv holds arg1 followed by arg2 (e.g.
 * "-pidfile" PATH), at most max of them into pids; returns how many. */
guint proc_find_by_args(const char *arg1, const char *arg2, pid_t *pids, guint max);
/* arg2 NULL: processes with an argument that begins with arg1. */
/* Waits until pid is gone or timeout_ms passes; TRUE if gone. */
gboolean proc_wait_gone(pid_t pid, gint64 timeout_ms);
/* How long a SIGKILLed QEMU may take to exit: it still unmaps its guest
 * RAM, which takes a while on a loaded host. */
#define PROC_KILL_WAIT_MS 30000
/* The last max_lines lines of a text file (transfer full), or NULL. */
char *proc_tail_file(const char *path, guint max_lines);
/* "exit code 3", "signal 9" */
char *proc_describe_status(int status);
