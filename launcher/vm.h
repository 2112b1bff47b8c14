/* A VM's runtime directory: where it lives while it runs, and how to reach it. */
#pragma once

#include <signal.h>

#include <glib.h>
#include <jansson.h>
#include <sys/types.h>

#include "../qmp/qmp.h"
#include "profile.h"

#define VM_ERROR (vm_error_quark())
GQuark vm_error_quark(void);
typedef enum {
    VM_ERROR_NOT_RUNNING,
    VM_ERROR_BUSY,
    VM_ERROR_UNSAFE,
    VM_ERROR_FAILED,
    VM_ERROR_POSTCOPY, /* a post-copy migration stalled after the switch: not cancelled */
} VmErrorCode;

typedef struct {
    char *name;
    char *dir; /* runtime dir, 0700 */
    char *qmp, *qga, *serial, *pidfile, *lockfile, *log, *meta, *profile_copy;
} VmPaths;

void vm_paths_free(VmPaths *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmPaths, vm_paths_free)

/* Directories: each can be overridden by an environment variable
 * (QLAUNCH_RUNTIME_DIR, QLAUNCH_STATE_DIR, QLAUNCH_GUEST_DIR). transfer full */
char *vm_runtime_base(void);
char *vm_state_base(void);
char *vm_guest_dir(void);
char *vm_cache_file(void);
/* Directory of the running qlaunch executable. */
char *vm_exe_dir(void);

VmPaths *vm_paths_new(const char *name);
/* Creates base and VM dirs 0700 and refuses ones not owned by us or that
 * are symlinks. */
gboolean vm_runtime_prepare(VmPaths *v, GError **error);
/* mkdir 0700 if missing; then it must be a real directory owned by us. */
gboolean vm_private_dir(const char *dir, GError **error);
/* The runtime base and the VM's dir, where they exist, are real dirs of
 * ours that nobody else can write to; else an error naming the dir. The
 * pid file is read, and the VM's sockets used, only then. */
gboolean vm_dir_check(VmPaths *v, GError **error);
/* flock on the lock file that is at its path when taken; returns the fd
 * or -1 (VM_ERROR_BUSY, or VM_ERROR_FAILED when it cannot be opened: the
 * runtime dir is gone). */
int vm_lock(VmPaths *v, GError **error);
/* QEMU's pid from qemu.pid, only while that process holds QEMU's lock on
 * the file (else 0: gone, or the number was reused). */
pid_t vm_read_pid(VmPaths *v);
/* vm_lock, waiting up to timeout_ms (or until *stop) for another holder. */
int vm_lock_wait(VmPaths *v, gint64 timeout_ms, const volatile sig_atomic_t *stop, GError **error);
/* qemu.pid exists but names no running QEMU of this VM. */
gboolean vm_pidfile_stale(VmPaths *v);
/* The pid if the VM runs; 0 and VM_ERROR_NOT_RUNNING otherwise. */
pid_t vm_running_pid(VmPaths *v, GError **error);
/* Removes the runtime dir and what qlaunch put in it. */
void vm_runtime_remove(VmPaths *v);
/* Connects to QMP and negotiates capabilities. */
QmpConn *vm_qmp_open(VmPaths *v, gint64 timeout_ms, GError **error);
/* Connects to the guest agent and waits (retrying sync) until it answers. */
QmpConn *vm_qga_open(VmPaths *v, gint64 timeout_ms, GError **error);
/* Same, and while it waits, a guest kernel panic ends the wait at once: QEMU
 * in state guest-panicked (pvpanic; asked through QMP, or through a new
 * connection when QMP is NULL), or a panic line in SERIAL_LOG (may be NULL). */
QmpConn *vm_qga_open_watch(VmPaths *v, gint64 timeout_ms, QmpConn *qmp, const char *serial_log,
                           GError **error);
/* An agent connection for the time a template's state is saved: qemu-ga,
 * while no host is connected to its virtio-serial port, reads EOF and
 * sleeps 100 ms between tries; a state saved with a client connected and
 * answered holds qemu-ga waiting in poll() instead, so that a clone
 * connected before the load (vm_qga_attach) has its first answer without
 * that sleep (snapshot save holds one too, for start --restore). NULL
 * (not an error) when the guest has not opened the agent's port (QMP's
 * query-chardev: frontend-open) or the agent does not answer within
 * timeout_ms. */
QmpConn *vm_qga_hold(VmPaths *v, QmpConn *qmp, gint64 timeout_ms);
/* Before a saved state is loaded into a VM (a clone): connects to
 * its agent's socket and waits until QEMU has accepted the connection, so
 * that the loaded port sees no hang-up; NULL (a debug note) if not. */
QmpConn *vm_qga_attach(VmPaths *v, QmpConn *qmp, gint64 timeout_ms);
/* CONN (taken), a connection to the agent's socket made before QEMU's main
 * loop ran, once QEMU has accepted it; NULL (a debug note) if not. */
QmpConn *vm_qga_accepted(VmPaths *v, QmpConn *qmp, QmpConn *conn, gint64 timeout_ms);
/* After the load: HELD (from vm_qga_attach, taken; may be NULL) once the
 * agent answers a sync on it, else a new connection (vm_qga_open). */
QmpConn *vm_qga_reuse(VmPaths *v, QmpConn *held, gint64 timeout_ms, GError **error);
/* QEMU's run state ("running", "paused", "guest-panicked", "postmigrate",
 * ...) through QMP, or NULL when QMP does not answer (transfer full). */
char *vm_run_state(QmpConn *qmp, gint64 timeout_ms);
/* TRUE when QEMU reports the guest panicked (its pvpanic device fired). QMP
 * may be NULL: a connection is opened for the question (FALSE if it fails). */
gboolean vm_guest_panicked(VmPaths *v, QmpConn *qmp);
/* Replaces a file of the runtime dir atomically (a temporary file renamed
 * over it, mode 0600) but without fsync: nothing in the runtime dir
 * outlives a host reboot, and an fsync on a disk-backed /run cost about
 * 20 ms of every start. len -1: text is a string. */
gboolean vm_runtime_file_write(const char *path, const char *text, gssize len, GError **error);
/* Writes meta.json owner-only (0600), atomically. */
gboolean vm_meta_write(VmPaths *v, json_t *meta, GError **error);
/* meta.json: what start recorded (transfer full), or NULL. */
json_t *vm_meta_read(VmPaths *v);
/* VM names with a runtime dir (transfer full, sorted). */
GStrv vm_list_names(void);

/* The ProfileEnv of this host: the guest dir and the state base (both
 * transfer full, through the out arguments). */
ProfileEnv vm_profile_env(char **guest_dir, char **state_base);
/* The profile a running VM was started from (the copy in its runtime dir,
 * read as if at the original path, so relative paths hold). */
Profile *vm_running_profile(VmPaths *v, GError **error);
