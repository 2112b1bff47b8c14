/* libqmp: a client for QEMU's QMP monitor and the QEMU guest agent. */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

#define QMP_ERROR (qmp_error_quark())
GQuark qmp_error_quark(void);

/* Error codes. The first group mirrors QMP's error classes (the message is
 * QMP's "desc"); the second is what the connection itself can report. */
typedef enum {
    QMP_ERROR_GENERIC,           /* GenericError */
    QMP_ERROR_COMMAND_NOT_FOUND, /* CommandNotFound */
    QMP_ERROR_DEVICE_NOT_ACTIVE, /* DeviceNotActive */
    QMP_ERROR_DEVICE_NOT_FOUND,  /* DeviceNotFound */
    QMP_ERROR_KVM_MISSING_CAP,   /* KVMMissingCap */
    QMP_ERROR_OTHER_CLASS,       /* a class this library does not know */
    QMP_ERROR_TIMEOUT,           /* a deadline passed */
    QMP_ERROR_CLOSED,            /* the peer closed the connection */
    QMP_ERROR_PROTOCOL,          /* not QMP: garbage, bad greeting, id-less error */
    QMP_ERROR_TOO_BIG,           /* a message over the size bound */
    QMP_ERROR_IO,                /* connect/read/write failed */
} QmpErrorCode;

/* The QMP class name of an error code ("GenericError", ...), or NULL for
 * the connection-level codes. */
const char *qmp_error_class_name(QmpErrorCode code);

typedef enum {
    QMP_MODE_MONITOR, /* QEMU's QMP: greeting, capabilities negotiation */
    QMP_MODE_AGENT,   /* qemu-ga: no greeting, guest-sync-delimited */
} QmpMode;

typedef struct QmpConn QmpConn;

/* What one message from the peer may cost. QEMU and the guest agent are
 * not trusted with qlaunch's memory (the guest drives the agent, and can
 * make QEMU emit events): a message is bounded in bytes and in JSON values
 * (a value costs jansson up to ~250 bytes: 32 MiB of "{}," is 2.5 GiB), the
 * agent's replies much lower than QEMU's, except guest-exec-status, whose
 * output is base64. Events are dropped in agent mode (qemu-ga sends none)
 * and at most QMP_MAX_QUEUED_EVENTS are kept in monitor mode (the oldest
 * go). Peak RSS against any peer stays under 64 MiB (tests/unit/test-qmp.c). */
#define QMP_DEFAULT_MAX_MESSAGE (8u * 1024 * 1024)
#define QMP_MAX_VALUES 100000u
#define QGA_MAX_MESSAGE (1u * 1024 * 1024)
#define QGA_MAX_VALUES 20000u
#define QGA_EXEC_MAX_MESSAGE (16u * 1024 * 1024)
#define QMP_MAX_QUEUED_EVENTS 256u

/* Wraps a connected stream socket. Takes ownership of fd (transfer full). */
QmpConn *qmp_conn_new_fd(int fd, QmpMode mode);
/* How many events were dropped because the queue was full. */
guint qmp_conn_events_dropped(QmpConn *conn);
/* Connects to a unix socket at path, retrying until timeout_ms (QEMU may
 * not have created it yet). */
QmpConn *qmp_conn_connect(const char *path, QmpMode mode, gint64 timeout_ms, GError **error);
void qmp_conn_free(QmpConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpConn, qmp_conn_free)

void qmp_conn_set_max_message(QmpConn *conn, gsize bytes);
gsize qmp_conn_get_max_message(QmpConn *conn);
int qmp_conn_get_fd(QmpConn *conn);

/* Monitor mode: reads the greeting and negotiates capabilities. */
gboolean qmp_conn_handshake(QmpConn *conn, gint64 timeout_ms, GError **error);
/* The greeting's {"qemu":{major,minor,micro},"package"} (borrowed), or NULL. */
json_t *qmp_conn_get_version(QmpConn *conn);

/* Sends {"execute":command,"arguments":args,"id":N} and waits for the reply
 * with that id. args is borrowed and may be NULL. Returns the "return" value
 * (transfer full); a QMP error becomes a GError with its class and desc.
 * Events that arrive meanwhile are queued. */
json_t *qmp_conn_execute(QmpConn *conn, const char *command, json_t *args, gint64 timeout_ms,
                         GError **error);

/* Sends a caller-built request (borrowed; an "id" is added to a copy) and
 * returns the whole reply object, "return" or "error" (transfer full). */
json_t *qmp_conn_transact(QmpConn *conn, json_t *request, gint64 timeout_ms, GError **error);

/* Sends a command without waiting for any reply (for commands that have
 * none, such as guest-shutdown). */
/* getfd: hands QEMU a copy of fd (SCM_RIGHTS, with the command's first
 * byte) under name, for a later "fd:NAME" (e.g. migrate to a file). */
gboolean qmp_conn_getfd(QmpConn *conn, int fd, const char *name, gint64 timeout_ms, GError **error);
gboolean qmp_conn_send_only(QmpConn *conn, const char *command, json_t *args, gint64 timeout_ms,
                            GError **error);

/* Takes the oldest queued event (transfer full), or NULL when none. */
json_t *qmp_conn_pop_event(QmpConn *conn);
/* Waits until an event named name arrives (earlier queued ones count);
 * returns it (transfer full). Other events stay queued. */
json_t *qmp_conn_wait_event(QmpConn *conn, const char *name, gint64 timeout_ms, GError **error);

/* ---- guest agent (QMP_MODE_AGENT) ------------------------------------- */

/* guest-sync-delimited with the 0xFF sentinel; discards stale output. */
gboolean qga_sync(QmpConn *conn, gint64 timeout_ms, GError **error);
gboolean qga_ping(QmpConn *conn, gint64 timeout_ms, GError **error);
/* guest-shutdown (mode "powerdown", "halt" or "reboot"); the agent sends no
 * reply on success, so watch QMP or the process for the result. */
gboolean qga_shutdown(QmpConn *conn, const char *mode, gint64 timeout_ms, GError **error);

typedef struct {
    gboolean exited;
    gboolean signaled; /* then code is the signal number */
    int code;          /* exit code */
    GBytes *out;       /* decoded stdout (never NULL after qga_exec) */
    GBytes *err;       /* decoded stderr */
    gboolean out_truncated;
    gboolean err_truncated;
} QgaExecResult;

void qga_exec_result_free(QgaExecResult *res);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaExecResult, qga_exec_result_free)

/* Runs argv[0] with argv[1..] in the guest (guest-exec with captured
 * output), polls guest-exec-status until it exits or timeout_ms passes.
 * input may be NULL. */
QgaExecResult *qga_exec(QmpConn *conn, const char *const *argv, GBytes *input, gint64 timeout_ms,
                        GError **error);
/* The same, but the first status poll comes after quiet_ms: nothing
 * talks to the guest while a benchmark of known length runs. */
QgaExecResult *qga_exec_quiet(QmpConn *conn, const char *const *argv, GBytes *input,
                              gint64 quiet_ms, gint64 timeout_ms, GError **error);
/* guest-exec without waiting (output captured only with capture): the
 * guest pid, or -1 with the error. */
json_int_t qga_spawn(QmpConn *conn, const char *const *argv, GBytes *input, gboolean capture,
                     gint64 timeout_ms, GError **error);
/* Polls guest-exec-status of pid (what names it in errors) until it exits
 * or timeout_ms passes, the first poll after quiet_ms. */
QgaExecResult *qga_exec_wait(QmpConn *conn, json_int_t pid, const char *what, gint64 quiet_ms,
                             gint64 timeout_ms, GError **error);

/* Files in the guest (guest-file-*). A chunk of QGA_FILE_CHUNK bytes is
 * about 700 KiB of base64, inside the agent's QGA_MAX_MESSAGE. */
#define QGA_FILE_CHUNK (512u * 1024)
/* guest-file-open (mode as fopen's: "r", "w", "a"...): a handle or -1. */
json_int_t qga_file_open(QmpConn *conn, const char *path, const char *mode, gint64 timeout_ms,
                         GError **error);
/* Up to count (at most QGA_FILE_CHUNK) bytes; *eof set at the end. */
GBytes *qga_file_read(QmpConn *conn, json_int_t handle, gsize count, gboolean *eof,
                      gint64 timeout_ms, GError **error);
/* Writes all of data or fails (a short write is an error: a full disk). */
gboolean qga_file_write(QmpConn *conn, json_int_t handle, const void *data, gsize len,
                        gint64 timeout_ms, GError **error);
/* guest-file-flush (with flush: a full disk shows here, as stdio buffers
 * writes) and guest-file-close, which is always sent. */
gboolean qga_file_close(QmpConn *conn, json_int_t handle, gboolean flush, gint64 timeout_ms,
                        GError **error);

G_END_DECLS
