/* libqmp wire layer: framing, deadlines, id matching, event queue. */
#define G_LOG_DOMAIN "libqmp"
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct QmpConn {
    int fd;
    QmpMode mode;
    GByteArray *buf; /* bytes read, not yet consumed */
    gsize scanned;   /* prefix of buf known to hold no '\n' */
    gsize max_message;
    gsize max_values;
    GQueue events; /* json_t*, oldest first; at most QMP_MAX_QUEUED_EVENTS */
    guint events_dropped;
    json_t *version;
    guint64 next_id;
    GError *latched; /* a fatal error: every later call fails with it */
    gboolean synced; /* agent mode: a guest-sync succeeded since the last timeout */
};

G_DEFINE_QUARK(qlaunch_qmp_error, qmp_error)

static const char *const class_names[] = {
    [QMP_ERROR_GENERIC] = "GenericError",
    [QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
    [QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
    [QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
    [QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

const char *qmp_error_class_name(QmpErrorCode code)
{
    if ((gsize)code < G_N_ELEMENTS(class_names))
        return class_names[code];
    return NULL;
}

static QmpErrorCode class_to_code(const char *klass)
{
    for (gsize i = 0; i < G_N_ELEMENTS(class_names); i++) {
        if (klass && g_strcmp0(class_names[i], klass) == 0)
            return (QmpErrorCode)i;
    }
    return QMP_ERROR_OTHER_CLASS;
}

QmpConn *qmp_conn_new_fd(int fd, QmpMode mode)
{
    QmpConn *conn = g_new0(QmpConn, 1);
    conn->fd = fd;
    conn->mode = mode;
    conn->buf = g_byte_array_new();
    conn->max_message = mode == QMP_MODE_AGENT ? QGA_MAX_MESSAGE : QMP_DEFAULT_MAX_MESSAGE;
    conn->max_values = mode == QMP_MODE_AGENT ? QGA_MAX_VALUES : QMP_MAX_VALUES;
    conn->next_id = 1;
    g_queue_init(&conn->events);
    return conn;
}

void qmp_conn_free(QmpConn *conn)
{
    if (!conn)
        return;
    if (conn->fd >= 0)
        close(conn->fd);
    g_byte_array_unref(conn->buf);
    g_queue_clear_full(&conn->events, (GDestroyNotify)json_decref);
    json_decref(conn->version);
    g_clear_error(&conn->latched);
    g_free(conn);
}

void qmp_conn_set_max_message(QmpConn *conn, gsize bytes)
{
    conn->max_message = bytes;
}

gsize qmp_conn_get_max_message(QmpConn *conn)
{
    return conn->max_message;
}

guint qmp_conn_events_dropped(QmpConn *conn)
{
    return conn->events_dropped;
}

/* Keeps an event for the caller: none in agent mode, and in monitor mode
 * the newest QMP_MAX_QUEUED_EVENTS (a flood must not grow without bound). */
static void queue_event(QmpConn *conn, json_t *ev)
{
    if (conn->mode == QMP_MODE_AGENT) {
        json_decref(ev);
        conn->events_dropped++;
        return;
    }
    while (conn->events.length >= QMP_MAX_QUEUED_EVENTS) {
        json_decref(g_queue_pop_head(&conn->events));
        conn->events_dropped++;
    }
    g_queue_push_tail(&conn->events, ev);
}

/* An upper bound on the JSON values in text (every value but the first
 * follows a ',' or opens with '{' or '['), counted outside strings. */
static gsize count_values(const char *p, gsize len)
{
    gsize n = 1;
    gboolean in_str = FALSE;
    for (gsize i = 0; i < len; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = FALSE;
        } else if (c == '"') {
            in_str = TRUE;
        } else if (c == ',' || c == '{' || c == '[') {
            n++;
        }
    }
    return n;
}

int qmp_conn_get_fd(QmpConn *conn)
{
    return conn->fd;
}

json_t *qmp_conn_get_version(QmpConn *conn)
{
    return conn->version;
}

static gint64 deadline_after(gint64 timeout_ms)
{
    return g_get_monotonic_time() + MAX(timeout_ms, 0) * G_TIME_SPAN_MILLISECOND;
}

/* Remembers a fatal error so that later calls fail fast with it. */
static gboolean latch(QmpConn *conn, GError **error, QmpErrorCode code, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static gboolean latch(QmpConn *conn, GError **error, QmpErrorCode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!conn->latched)
        conn->latched = g_error_new_literal(QMP_ERROR, code, msg);
    g_set_error_literal(error, QMP_ERROR, code, msg);
    return FALSE;
}

static gboolean check_latched(QmpConn *conn, GError **error)
{
    if (conn->latched) {
        g_propagate_error(error, g_error_copy(conn->latched));
        return FALSE;
    }
    return TRUE;
}

static gboolean wait_fd(QmpConn *conn, short events, gint64 deadline, GError **error)
{
    for (;;) {
        gint64 left = deadline - g_get_monotonic_time();
        if (left <= 0) {
            if (conn->mode == QMP_MODE_AGENT)
                conn->synced = FALSE;
            g_set_error_literal(error, QMP_ERROR, QMP_ERROR_TIMEOUT,
                                "timed out waiting for a reply");
            return FALSE;
        }
        struct pollfd pfd = { .fd = conn->fd, .events = events };
        int n = poll(&pfd, 1, (int)MIN((left + 999) / 1000, G_MAXINT));
        if (n > 0)
            return TRUE;
        if (n < 0 && errno != EINTR)
            return latch(conn, error, QMP_ERROR_IO, "poll: %s", g_strerror(errno));
    }
}

static gboolean write_all(QmpConn *conn, const char *data, gsize len, gint64 deadline,
                          GError **error)
{
    while (len > 0) {
        if (!wait_fd(conn, POLLOUT, deadline, error))
            return FALSE;
        ssize_t n = send(conn->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            if (errno == EPIPE || errno == ECONNRESET)
                return latch(conn, error, QMP_ERROR_CLOSED, "connection closed by QEMU");
            return latch(conn, error, QMP_ERROR_IO, "write: %s", g_strerror(errno));
        }
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* Reads what is available (waiting until deadline for at least a byte). */
static gboolean fill(QmpConn *conn, gint64 deadline, GError **error)
{
    char chunk[65536];
    if (!wait_fd(conn, POLLIN, deadline, error))
        return FALSE;
    ssize_t n = recv(conn->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n == 0)
        return latch(conn, error, QMP_ERROR_CLOSED, "connection closed by QEMU");
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return TRUE;
        if (errno == ECONNRESET)
            return latch(conn, error, QMP_ERROR_CLOSED, "connection closed by QEMU");
        return latch(conn, error, QMP_ERROR_IO, "read: %s", g_strerror(errno));
    }
    g_byte_array_append(conn->buf, (const guint8 *)chunk, (guint)n);
    return TRUE;
}

/* Finds the first complete line in the buffer: *len is its length without
 * its line ending, *used what drop_line must remove. FALSE when no full
 * line is there. The line is parsed where it lies (no copy of a message
 * that may be megabytes). */
static gboolean find_line(QmpConn *conn, gsize *len, gsize *used)
{
    guint8 *nl = conn->buf->len > conn->scanned
                     ? memchr(conn->buf->data + conn->scanned, '\n', conn->buf->len - conn->scanned)
                     : NULL;
    if (!nl) {
        conn->scanned = conn->buf->len;
        return FALSE;
    }
    gsize n = (gsize)(nl - conn->buf->data);
    gsize keep = n;
    while (keep > 0 && conn->buf->data[keep - 1] == '\r')
        keep--;
    *len = keep;
    *used = n + 1;
    return TRUE;
}

static void drop_line(QmpConn *conn, gsize used)
{
    g_byte_array_remove_range(conn->buf, 0, (guint)used);
    conn->scanned = 0;
}

static json_t *too_big(QmpConn *conn, GError **error, const char *what, gsize bound)
{
    return latch(conn, error, QMP_ERROR_TOO_BIG, "message from %s exceeds %" G_GSIZE_FORMAT " %s",
                 conn->mode == QMP_MODE_AGENT ? "the guest agent" : "QEMU", bound, what),
           NULL;
}

/* QEMU prints uint64 values as they are: a balloon statistic the guest
 * does not report is 18446744073709551615 (its -1), which jansson's
 * json_int_t cannot hold. Such an integer becomes a real (token + ".0"),
 * every other integer stays exact. The text outside strings is scanned;
 * called only after a parse failed on "too big integer". */
static GString *widen_big_integers(const char *p, gsize len)
{
    static const char max_pos[] = "9223372036854775807", max_neg[] = "9223372036854775808";
    GString *out = g_string_sized_new(len + 16);
    gboolean in_str = FALSE;
    for (gsize i = 0; i < len;) {
        char c = p[i];
        if (in_str) {
            g_string_append_c(out, c);
            if (c == '\\' && i + 1 < len)
                g_string_append_c(out, p[++i]);
            else if (c == '"')
                in_str = FALSE;
            i++;
            continue;
        }
        if (c == '"') {
            in_str = TRUE;
            g_string_append_c(out, c);
            i++;
            continue;
        }
        if (c != '-' && !g_ascii_isdigit(c)) {
            g_string_append_c(out, c);
            i++;
            continue;
        }
        gsize start = i, digits = i + (c == '-');
        i = digits;
        while (i < len && g_ascii_isdigit(p[i]))
            i++;
        gsize ndig = i - digits;
        gboolean integer = i >= len || (p[i] != '.' && p[i] != 'e' && p[i] != 'E');
        while (i < len && (g_ascii_isalnum(p[i]) || p[i] == '.' || p[i] == '+' || p[i] == '-'))
            i++; /* the rest of a real's token */
        g_string_append_len(out, p + start, (gssize)(i - start));
        const char *lim = c == '-' ? max_neg : max_pos;
        if (integer &&
            (ndig > strlen(lim) || (ndig == strlen(lim) && strncmp(p + digits, lim, ndig) > 0)))
            g_string_append(out, ".0");
    }
    return out;
}

/* Reads the next JSON object. With tolerant set, lines that are not JSON
 * objects are skipped (agent resync); otherwise they are a protocol error. */
static json_t *read_message(QmpConn *conn, gint64 deadline, gboolean tolerant, GError **error)
{
    for (;;) {
        gsize len = 0, used = 0;
        if (!find_line(conn, &len, &used)) {
            if (conn->buf->len > conn->max_message)
                return too_big(conn, error, "bytes", conn->max_message);
            if (!fill(conn, deadline, error))
                return NULL;
            continue;
        }
        if (len > conn->max_message)
            return too_big(conn, error, "bytes", conn->max_message);
        const char *p = (const char *)conn->buf->data;
        while (len > 0 && (*p == ' ' || *p == '\t' || (guint8)*p == 0xFF)) {
            p++;
            len--;
        }
        if (len == 0) {
            drop_line(conn, used);
            continue;
        }
        if (count_values(p, len) > conn->max_values)
            return too_big(conn, error, "JSON values", conn->max_values);
        json_error_t jerr;
        json_t *msg = json_loadb(p, len, JSON_DECODE_ANY, &jerr);
        if (!msg && strstr(jerr.text, "too big integer")) {
            GString *wide = widen_big_integers(p, len);
            msg = json_loadb(wide->str, wide->len, JSON_DECODE_ANY, &jerr);
            g_string_free(wide, TRUE);
        }
        if (g_log_get_debug_enabled())
            g_debug("%s <- %.*s", conn->mode == QMP_MODE_AGENT ? "agent" : "qmp",
                    (int)MIN(len, 4096), p);
        drop_line(conn, used);
        if (msg && json_is_object(msg))
            return msg;
        json_decref(msg);
        if (tolerant)
            continue;
        return latch(conn, error, QMP_ERROR_PROTOCOL,
                     "QEMU sent something that is not a QMP message: %s",
                     msg ? "not a JSON object" : jerr.text),
               NULL;
    }
}

QmpConn *qmp_conn_connect(const char *path, QmpMode mode, gint64 timeout_ms, GError **error)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path)) {
        g_set_error(error, QMP_ERROR, QMP_ERROR_IO, "socket path too long: %s", path);
        return NULL;
    }
    strcpy(addr.sun_path, path);
    gint64 deadline = deadline_after(timeout_ms);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            g_set_error(error, QMP_ERROR, QMP_ERROR_IO, "socket: %s", g_strerror(errno));
            return NULL;
        }
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
            return qmp_conn_new_fd(fd, mode);
        int err = errno;
        close(fd);
        if ((err != ENOENT && err != ECONNREFUSED && err != EAGAIN) ||
            g_get_monotonic_time() >= deadline) {
            g_set_error(error, QMP_ERROR,
                        err == ENOENT || err == ECONNREFUSED ? QMP_ERROR_CLOSED : QMP_ERROR_IO,
                        "cannot connect to %s: %s", path, g_strerror(err));
            return NULL;
        }
        g_usleep(5000);
    }
}

static gboolean is_id(json_t *msg, guint64 id)
{
    json_t *jid = json_object_get(msg, "id");
    return jid && json_is_integer(jid) && (guint64)json_integer_value(jid) == id;
}

/* Waits for the reply carrying id; queues events, drops stale replies. */
static json_t *read_reply(QmpConn *conn, guint64 id, gint64 deadline, GError **error)
{
    for (;;) {
        json_t *msg = read_message(conn, deadline, FALSE, error);
        if (!msg)
            return NULL;
        if (json_object_get(msg, "event")) {
            queue_event(conn, msg);
            continue;
        }
        if (is_id(msg, id))
            return msg;
        json_t *err = json_object_get(msg, "error");
        if (err && !json_object_get(msg, "id")) {
            /* A parse-level error: QEMU did not understand what we sent. */
            const char *desc = json_string_value(json_object_get(err, "desc"));
            json_decref(msg);
            g_set_error(error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                        "QEMU could not parse the request: %s", desc ? desc : "(no description)");
            return NULL;
        }
        json_decref(msg); /* greeting, or a reply to a command we gave up on */
    }
}

static gboolean send_request(QmpConn *conn, json_t *req, gint64 deadline, GError **error)
{
    g_autofree char *text = json_dumps(req, JSON_COMPACT);
    if (!text) {
        g_set_error_literal(error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                            "request cannot be encoded as JSON");
        return FALSE;
    }
    g_autofree char *line = g_strconcat(text, "\n", NULL);
    if (g_log_get_debug_enabled())
        g_debug("%s -> %s", conn->mode == QMP_MODE_AGENT ? "agent" : "qmp", text);
    return write_all(conn, line, strlen(line), deadline, error);
}

json_t *qmp_conn_transact(QmpConn *conn, json_t *request, gint64 timeout_ms, GError **error)
{
    if (!check_latched(conn, error))
        return NULL;
    if (conn->mode == QMP_MODE_AGENT && !conn->synced && !qga_sync(conn, timeout_ms, error))
        return NULL;
    gint64 deadline = deadline_after(timeout_ms);
    guint64 id = conn->next_id++;
    json_auto_t *req = json_deep_copy(request);
    json_object_set_new(req, "id", json_integer((json_int_t)id));
    if (!send_request(conn, req, deadline, error))
        return NULL;
    return read_reply(conn, id, deadline, error);
}

static json_t *make_request(const char *command, json_t *args)
{
    json_t *req = json_pack("{s:s}", "execute", command);
    if (args)
        json_object_set(req, "arguments", args);
    return req;
}

json_t *qmp_conn_execute(QmpConn *conn, const char *command, json_t *args, gint64 timeout_ms,
                         GError **error)
{
    json_auto_t *req = make_request(command, args);
    json_auto_t *reply = qmp_conn_transact(conn, req, timeout_ms, error);
    if (!reply)
        return NULL;
    json_t *err = json_object_get(reply, "error");
    if (err) {
        const char *klass = json_string_value(json_object_get(err, "class"));
        const char *desc = json_string_value(json_object_get(err, "desc"));
        g_set_error_literal(error, QMP_ERROR, class_to_code(klass),
                            desc ? desc : "(no description)");
        return NULL;
    }
    json_t *ret = json_object_get(reply, "return");
    if (!ret) {
        g_set_error(error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                    "reply to %s has neither return nor error", command);
        return NULL;
    }
    return json_incref(ret);
}

gboolean qmp_conn_handshake(QmpConn *conn, gint64 timeout_ms, GError **error)
{
    if (!check_latched(conn, error))
        return FALSE;
    gint64 deadline = deadline_after(timeout_ms);
    json_auto_t *greeting = read_message(conn, deadline, FALSE, error);
    if (!greeting)
        return FALSE;
    json_t *qmp = json_object_get(greeting, "QMP");
    if (!json_is_object(qmp))
        return latch(conn, error, QMP_ERROR_PROTOCOL,
                     "expected the QMP greeting, got something else");
    json_decref(conn->version);
    conn->version = json_incref(json_object_get(qmp, "version"));
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;
    json_auto_t *ret = qmp_conn_execute(conn, "qmp_capabilities", NULL, MAX(left, 1), error);
    return ret != NULL;
}

json_t *qmp_conn_pop_event(QmpConn *conn)
{
    return g_queue_pop_head(&conn->events);
}

static json_t *take_queued_event(QmpConn *conn, const char *name)
{
    for (GList *l = conn->events.head; l; l = l->next) {
        if (g_strcmp0(json_string_value(json_object_get(l->data, "event")), name) == 0) {
            json_t *ev = l->data;
            g_queue_delete_link(&conn->events, l);
            return ev;
        }
    }
    return NULL;
}

json_t *qmp_conn_wait_event(QmpConn *conn, const char *name, gint64 timeout_ms, GError **error)
{
    gint64 deadline = deadline_after(timeout_ms);
    for (;;) {
        json_t *ev = take_queued_event(conn, name);
        if (ev)
            return ev;
        if (!check_latched(conn, error))
            return NULL;
        json_t *msg = read_message(conn, deadline, FALSE, error);
        if (!msg)
            return NULL;
        if (json_object_get(msg, "event") && conn->mode == QMP_MODE_MONITOR &&
            g_strcmp0(json_string_value(json_object_get(msg, "event")), name) == 0)
            return msg;
        if (json_object_get(msg, "event"))
            queue_event(conn, msg);
        else
            json_decref(msg);
    }
}

/* ---- agent synchronisation (needs the framing internals above) ---------- */

/* Drops everything up to and including the next 0xFF sentinel byte. */
static gboolean skip_to_sentinel(QmpConn *conn, gint64 deadline, GError **error)
{
    for (;;) {
        guint8 *ff = conn->buf->len ? memchr(conn->buf->data, 0xFF, conn->buf->len) : NULL;
        if (ff) {
            g_byte_array_remove_range(conn->buf, 0, (guint)(ff - conn->buf->data + 1));
            conn->scanned = 0;
            return TRUE;
        }
        g_byte_array_set_size(conn->buf, 0);
        conn->scanned = 0;
        if (!fill(conn, deadline, error))
            return FALSE;
    }
}

gboolean qga_sync(QmpConn *conn, gint64 timeout_ms, GError **error)
{
    if (!check_latched(conn, error))
        return FALSE;
    gint64 deadline = deadline_after(timeout_ms);
    json_int_t token = g_random_int_range(1, G_MAXINT32);
    json_auto_t *req =
        json_pack("{s:s, s:{s:I}}", "execute", "guest-sync-delimited", "arguments", "id", token);
    g_autofree char *text = json_dumps(req, JSON_COMPACT);
    g_autofree char *wire = g_strdup_printf("\xff%s\n", text);
    g_autoptr(GError) local = NULL;
    if (!write_all(conn, wire, strlen(wire), deadline, &local) ||
        !skip_to_sentinel(conn, deadline, &local))
        goto fail;
    for (;;) {
        json_auto_t *msg = read_message(conn, deadline, TRUE, &local);
        if (!msg)
            goto fail;
        json_t *ret = json_object_get(msg, "return");
        if (json_is_integer(ret) && json_integer_value(ret) == token) {
            conn->synced = TRUE;
            return TRUE;
        }
    }
fail:
    conn->synced = FALSE;
    if (local->domain == QMP_ERROR && local->code == QMP_ERROR_TIMEOUT)
        g_set_error_literal(error, QMP_ERROR, QMP_ERROR_TIMEOUT,
                            "the guest agent did not answer (is qemu-ga running in the guest?)");
    else
        g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
}

/* Sends the first byte of data with fd attached, then the rest. */
static gboolean write_with_fd(QmpConn *conn, const char *data, gsize len, int fd, gint64 deadline,
                              GError **error)
{
    char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
    struct iovec iov = { .iov_base = (void *)data, .iov_len = 1 };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    for (;;) {
        if (!wait_fd(conn, POLLOUT, deadline, error))
            return FALSE;
        ssize_t n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == 1)
            break;
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        return latch(conn, error, QMP_ERROR_IO, "sendmsg with a file descriptor: %s",
                     n < 0 ? g_strerror(errno) : "short write");
    }
    return write_all(conn, data + 1, len - 1, deadline, error);
}

gboolean qmp_conn_getfd(QmpConn *conn, int fd, const char *name, gint64 timeout_ms, GError **error)
{
    if (!check_latched(conn, error))
        return FALSE;
    gint64 deadline = deadline_after(timeout_ms);
    guint64 id = conn->next_id++;
    json_auto_t *req = json_pack("{s:s, s:{s:s}, s:I}", "execute", "getfd", "arguments", "fdname",
                                 name, "id", (json_int_t)id);
    g_autofree char *text = json_dumps(req, JSON_COMPACT);
    g_autofree char *line = g_strconcat(text, "\n", NULL);
    if (!write_with_fd(conn, line, strlen(line), fd, deadline, error))
        return FALSE;
    json_auto_t *reply = read_reply(conn, id, deadline, error);
    if (!reply)
        return FALSE;
    json_t *err = json_object_get(reply, "error");
    if (err) {
        g_set_error(error, QMP_ERROR, QMP_ERROR_GENERIC, "getfd %s: %s", name,
                    json_string_value(json_object_get(err, "desc")));
        return FALSE;
    }
    return TRUE;
}

gboolean qmp_conn_send_only(QmpConn *conn, const char *command, json_t *args, gint64 timeout_ms,
                            GError **error)
{
    if (!check_latched(conn, error))
        return FALSE;
    json_auto_t *req = make_request(command, args);
    return send_request(conn, req, deadline_after(timeout_ms), error);
}
