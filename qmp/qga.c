/* libqmp guest-agent commands: ping, shutdown, exec with captured output, files. */
#include "qmp.h"

gboolean qga_ping(QmpConn *conn, gint64 timeout_ms, GError **error)
{
    json_auto_t *ret = qmp_conn_execute(conn, "guest-ping", NULL, timeout_ms, error);
    return ret != NULL;
}

gboolean qga_shutdown(QmpConn *conn, const char *mode, gint64 timeout_ms, GError **error)
{
    if (!qga_sync(conn, timeout_ms, error))
        return FALSE;
    json_auto_t *args = json_pack("{s:s}", "mode", mode);
    return qmp_conn_send_only(conn, "guest-shutdown", args, timeout_ms, error);
}

void qga_exec_result_free(QgaExecResult *res)
{
    if (!res)
        return;
    if (res->out)
        g_bytes_unref(res->out);
    if (res->err)
        g_bytes_unref(res->err);
    g_free(res);
}

static GBytes *decode_b64(json_t *status, const char *key)
{
    const char *b64 = json_string_value(json_object_get(status, key));
    if (!b64 || !*b64)
        return g_bytes_new(NULL, 0);
    gsize len = 0;
    guchar *data = g_base64_decode(b64, &len);
    return g_bytes_new_take(data, len);
}

static json_t *exec_args(const char *const *argv, GBytes *input, gboolean capture)
{
    json_t *args = json_pack("{s:s, s:[], s:b}", "path", argv[0], "arg", "capture-output", capture);
    json_t *arr = json_object_get(args, "arg");
    for (gsize i = 1; argv[i]; i++)
        json_array_append_new(arr, json_string(argv[i]));
    if (input) {
        gsize len = 0;
        const guchar *data = g_bytes_get_data(input, &len);
        g_autofree char *b64 = g_base64_encode(data, len);
        json_object_set_new(args, "input-data", json_string(b64));
    }
    return args;
}

QgaExecResult *qga_exec(QmpConn *conn, const char *const *argv, GBytes *input, gint64 timeout_ms,
                        GError **error)
{
    return qga_exec_quiet(conn, argv, input, 0, timeout_ms, error);
}

json_int_t qga_spawn(QmpConn *conn, const char *const *argv, GBytes *input, gboolean capture,
                     gint64 timeout_ms, GError **error)
{
    g_return_val_if_fail(argv && argv[0], -1);
    json_auto_t *args = exec_args(argv, input, capture);
    json_auto_t *started = qmp_conn_execute(conn, "guest-exec", args, timeout_ms, error);
    json_t *pid = json_object_get(started, "pid");
    if (started && !json_is_integer(pid))
        g_set_error(error, QMP_ERROR, QMP_ERROR_PROTOCOL, "guest-exec of '%s' gave no pid",
                    argv[0]);
    return json_is_integer(pid) ? json_integer_value(pid) : -1;
}

QgaExecResult *qga_exec_quiet(QmpConn *conn, const char *const *argv, GBytes *input,
                              gint64 quiet_ms, gint64 timeout_ms, GError **error)
{
    gint64 start = g_get_monotonic_time();
    json_int_t pid = qga_spawn(conn, argv, input, TRUE, timeout_ms, error);
    if (pid < 0)
        return NULL;
    gint64 left_ms = timeout_ms - (g_get_monotonic_time() - start) / 1000;
    return qga_exec_wait(conn, pid, argv[0], quiet_ms, MAX(left_ms, 1), error);
}

QgaExecResult *qga_exec_wait(QmpConn *conn, json_int_t pid, const char *what, gint64 quiet_ms,
                             gint64 timeout_ms, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    gulong pause_us = 2000;
    if (quiet_ms > 0)
        g_usleep(MIN(quiet_ms, timeout_ms) * 1000);
    for (;;) {
        gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
        if (left_ms <= 0) {
            g_set_error(error, QMP_ERROR, QMP_ERROR_TIMEOUT,
                        "'%s' (guest pid %" JSON_INTEGER_FORMAT
                        ") did not finish in time; it may still run in the guest",
                        what, pid);
            return NULL;
        }
        json_auto_t *q = json_pack("{s:I}", "pid", pid);
        /* the one agent reply that may be large: the output, in base64 */
        gsize bound = qmp_conn_get_max_message(conn);
        qmp_conn_set_max_message(conn, MAX(bound, QGA_EXEC_MAX_MESSAGE));
        json_auto_t *st = qmp_conn_execute(conn, "guest-exec-status", q, left_ms, error);
        qmp_conn_set_max_message(conn, bound);
        if (!st && error && *error && g_error_matches(*error, QMP_ERROR, QMP_ERROR_TOO_BIG))
            g_prefix_error(error,
                           "the output of '%s' is more than this client takes (about "
                           "%u MiB in all; redirect it to a file in the guest): ",
                           what, QGA_EXEC_MAX_MESSAGE / 4 * 3 >> 20);
        if (!st)
            return NULL;
        if (json_is_true(json_object_get(st, "exited"))) {
            QgaExecResult *res = g_new0(QgaExecResult, 1);
            res->exited = TRUE;
            json_t *sig = json_object_get(st, "signal");
            res->signaled = sig != NULL;
            res->code = (int)json_integer_value(sig ? sig : json_object_get(st, "exitcode"));
            res->out = decode_b64(st, "out-data");
            res->err = decode_b64(st, "err-data");
            res->out_truncated = json_is_true(json_object_get(st, "out-truncated"));
            res->err_truncated = json_is_true(json_object_get(st, "err-truncated"));
            return res;
        }
        g_usleep(pause_us);
        pause_us = MIN(pause_us * 2, 100000);
    }
}

json_int_t qga_file_open(QmpConn *conn, const char *path, const char *mode, gint64 timeout_ms,
                         GError **error)
{
    json_auto_t *args = json_pack("{s:s, s:s}", "path", path, "mode", mode);
    json_auto_t *ret = qmp_conn_execute(conn, "guest-file-open", args, timeout_ms, error);
    if (ret && !json_is_integer(ret)) {
        g_set_error(error, QMP_ERROR, QMP_ERROR_PROTOCOL, "guest-file-open of %s gave no handle",
                    path);
        return -1;
    }
    return ret ? json_integer_value(ret) : -1;
}

GBytes *qga_file_read(QmpConn *conn, json_int_t handle, gsize count, gboolean *eof,
                      gint64 timeout_ms, GError **error)
{
    g_return_val_if_fail(count <= QGA_FILE_CHUNK, NULL);
    json_auto_t *args = json_pack("{s:I, s:I}", "handle", handle, "count", (json_int_t)count);
    json_auto_t *ret = qmp_conn_execute(conn, "guest-file-read", args, timeout_ms, error);
    if (!ret)
        return NULL;
    json_t *n = json_object_get(ret, "count");
    GBytes *data = decode_b64(ret, "buf-b64");
    if (!json_is_integer(n) || (gsize)json_integer_value(n) != g_bytes_get_size(data) ||
        g_bytes_get_size(data) > count) {
        g_bytes_unref(data);
        g_set_error(error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                    "guest-file-read gave a count that is not its data's length");
        return NULL;
    }
    *eof = json_is_true(json_object_get(ret, "eof"));
    return data;
}

gboolean qga_file_write(QmpConn *conn, json_int_t handle, const void *data, gsize len,
                        gint64 timeout_ms, GError **error)
{
    g_autofree char *b64 = g_base64_encode(data, len);
    json_auto_t *args = json_pack("{s:I, s:s}", "handle", handle, "buf-b64", b64);
    json_auto_t *ret = qmp_conn_execute(conn, "guest-file-write", args, timeout_ms, error);
    if (!ret)
        return FALSE;
    json_t *n = json_object_get(ret, "count");
    if (!json_is_integer(n) || (gsize)json_integer_value(n) != len) {
        g_set_error(error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                    "the guest agent wrote %" JSON_INTEGER_FORMAT " of %zu bytes",
                    json_is_integer(n) ? json_integer_value(n) : (json_int_t)-1, len);
        return FALSE;
    }
    return TRUE;
}

gboolean qga_file_close(QmpConn *conn, json_int_t handle, gboolean flush, gint64 timeout_ms,
                        GError **error)
{
    json_auto_t *args = json_pack("{s:I}", "handle", handle);
    gboolean ok = TRUE;
    if (flush) {
        json_auto_t *f = qmp_conn_execute(conn, "guest-file-flush", args, timeout_ms, error);
        ok = f != NULL;
    }
    /* closed even after a failed flush: the agent's handle table is finite */
    json_auto_t *c =
        qmp_conn_execute(conn, "guest-file-close", args, timeout_ms, ok ? error : NULL);
    return ok && c != NULL;
}
