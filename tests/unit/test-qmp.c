/* libqmp against a fake QMP server on a socketpair: only what a real QEMU
 * cannot be made to do (split replies, garbage, early close, silence). */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../qmp/qmp.h"

#define GREETING                                                                                   \
    "{\"QMP\":{\"version\":{\"qemu\":{\"major\":7,\"minor\":2,\"micro\":22},\"package\":\"\"},"    \
    "\"capabilities\":[\"oob\"]}}\r\n"

typedef struct {
    int fd;
    void (*script)(int fd);
} Server;

/* Writes text, optionally one byte per write (with a tiny pause). */
static void srv_write(int fd, const char *text, gboolean bytewise)
{
    gsize len = strlen(text);
    for (gsize i = 0; i < len;) {
        gsize n = bytewise ? 1 : len - i;
        ssize_t w = write(fd, text + i, n);
        g_assert_cmpint(w, >, 0);
        i += (gsize)w;
        if (bytewise)
            g_usleep(50);
    }
}

/* Reads one request line and returns its "id" (or -1). */
static json_int_t srv_read_id(int fd)
{
    GString *line = g_string_new(NULL);
    char c;
    while (read(fd, &c, 1) == 1) {
        if (c == '\n')
            break;
        if ((guchar)c != 0xFF)
            g_string_append_c(line, c);
    }
    json_t *req = json_loads(line->str, 0, NULL);
    g_string_free(line, TRUE);
    json_int_t id = req ? json_integer_value(json_object_get(req, "id")) : -1;
    json_decref(req);
    return id;
}

static void srv_reply(int fd, const char *fmt_body, gboolean bytewise)
{
    json_int_t id = srv_read_id(fd);
    g_autofree char *text =
        g_strdup_printf("{%s,\"id\":%" JSON_INTEGER_FORMAT "}\r\n", fmt_body, id);
    srv_write(fd, text, bytewise);
}

static gpointer server_thread(gpointer data)
{
    Server *s = data;
    s->script(s->fd);
    close(s->fd);
    return s; /* freed by finish() */
}

/* Runs script on the server end; returns the client connection. */
static QmpConn *with_server(void (*script)(int), QmpMode mode, GThread **thread)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    Server *s = g_new0(Server, 1);
    s->fd = sv[1];
    s->script = script;
    *thread = g_thread_new("fake-qmp", server_thread, s);
    return qmp_conn_new_fd(sv[0], mode);
}

static void finish(QmpConn *c, GThread *t)
{
    qmp_conn_free(c);
    g_free(g_thread_join(t));
}

static void script_bytewise(int fd)
{
    srv_write(fd, GREETING, TRUE);
    srv_reply(fd, "\"return\":{}", TRUE);
    srv_reply(fd, "\"return\":{\"status\":\"running\",\"running\":true}", TRUE);
}

/* getfd: the descriptor arrives with the request's first byte (as QEMU
 * takes it); the server writes through it to show it is the file's. */
static void script_getfd(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    char first = 0, ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { .iov_base = &first, .iov_len = 1 };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
    };
    g_assert_cmpint(recvmsg(fd, &msg, 0), ==, 1);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    g_assert_nonnull(c);
    g_assert_cmpint(c->cmsg_type, ==, SCM_RIGHTS);
    int got;
    memcpy(&got, CMSG_DATA(c), sizeof(int));
    GString *line = g_string_new(NULL);
    g_string_append_c(line, first);
    char ch;
    while (read(fd, &ch, 1) == 1 && ch != '\n')
        g_string_append_c(line, ch);
    json_t *req = json_loads(line->str, 0, NULL);
    g_assert_cmpstr(json_string_value(json_object_get(req, "execute")), ==, "getfd");
    g_assert_cmpstr(json_string_value(json_object_get(json_object_get(req, "arguments"), "fdname")),
                    ==, "mig");
    g_assert_cmpint(write(got, "via-fd", 6), ==, 6);
    close(got);
    g_autofree char *reply = g_strdup_printf("{\"return\":{},\"id\":%" JSON_INTEGER_FORMAT "}\r\n",
                                             json_integer_value(json_object_get(req, "id")));
    json_decref(req);
    g_string_free(line, TRUE);
    srv_write(fd, reply, FALSE);
}

static void test_getfd(void)
{
    GThread *t;
    QmpConn *c = with_server(script_getfd, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    g_autofree char *path = g_build_filename(g_get_tmp_dir(), "qlaunch-getfd-XXXXXX", NULL);
    int fd = g_mkstemp(path);
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(qmp_conn_getfd(c, fd, "mig", 5000, &err));
    g_assert_no_error(err);
    close(fd);
    finish(c, t);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "via-fd");
    unlink(path);
}

static void test_bytewise(void)
{
    GThread *t;
    QmpConn *c = with_server(script_bytewise, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    g_assert_no_error(err);
    g_assert_cmpint(json_integer_value(
                        json_object_get(json_object_get(qmp_conn_get_version(c), "qemu"), "minor")),
                    ==, 2);
    json_auto_t *r = qmp_conn_execute(c, "query-status", NULL, 5000, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_string_value(json_object_get(r, "status")), ==, "running");
    finish(c, t);
}

/* Greeting and the capabilities reply in one write; then an event, a stale
 * reply for an id nobody waits for, and the reply, again in one write. */
static void script_two_in_one(int fd)
{
    /* ids start at 1: the capabilities reply can go with the greeting */
    srv_write(fd, GREETING "{\"return\":{},\"id\":1}\r\n", FALSE);
    srv_read_id(fd);
    json_int_t id = srv_read_id(fd);
    g_autofree char *burst =
        g_strdup_printf("{\"event\":\"STOP\",\"timestamp\":{\"seconds\":1,\"microseconds\":2}}\r\n"
                        "{\"return\":{\"stale\":true},\"id\":999}\r\n"
                        "{\"return\":{\"ok\":1},\"id\":%" JSON_INTEGER_FORMAT "}\r\n",
                        id);
    srv_write(fd, burst, FALSE);
}

static void test_two_in_one_and_event(void)
{
    GThread *t;
    QmpConn *c = with_server(script_two_in_one, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    json_auto_t *r = qmp_conn_execute(c, "stop", NULL, 5000, &err);
    g_assert_no_error(err);
    g_assert_cmpint(json_integer_value(json_object_get(r, "ok")), ==, 1);
    json_auto_t *ev = qmp_conn_pop_event(c);
    g_assert_nonnull(ev);
    g_assert_cmpstr(json_string_value(json_object_get(ev, "event")), ==, "STOP");
    g_assert_null(qmp_conn_pop_event(c));
    finish(c, t);
}

static void script_error(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    srv_reply(fd,
              "\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"The command query-cpus has not "
              "been found\"}",
              FALSE);
    srv_reply(fd, "\"error\":{\"class\":\"NewClass\",\"desc\":\"odd\"}", FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
}

static void test_error_reply(void)
{
    GThread *t;
    QmpConn *c = with_server(script_error, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    json_t *r = qmp_conn_execute(c, "query-cpus", NULL, 5000, &err);
    g_assert_null(r);
    g_assert_error(err, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
    g_assert_cmpstr(err->message, ==, "The command query-cpus has not been found");
    g_assert_cmpstr(qmp_error_class_name(err->code), ==, "CommandNotFound");
    g_clear_error(&err);
    g_assert_null(qmp_conn_execute(c, "x", NULL, 5000, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_OTHER_CLASS);
    g_clear_error(&err);
    /* The connection is still usable after command errors. */
    json_auto_t *ok = qmp_conn_execute(c, "cont", NULL, 5000, &err);
    g_assert_no_error(err);
    finish(c, t);
}

/* QEMU's uint64 "-1" (a balloon statistic the guest does not report):
 * the reply parses, the huge value as a real, the others exact, and the
 * connection goes on */
static void script_uint64(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    srv_reply(fd,
              "\"return\":{\"stats\":{\"stat-htlb-pgalloc\":18446744073709551615,"
              "\"stat-total-memory\":9223372036854775807,\"low\":-9223372036854775809,"
              "\"s\":\"99999999999999999999 \\\" 1\",\"r\":1.5e300}}",
              FALSE);
    srv_reply(fd, "\"return\":{\"status\":\"running\"}", FALSE);
}

static void test_uint64(void)
{
    GThread *t;
    QmpConn *c = with_server(script_uint64, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    json_auto_t *r = qmp_conn_execute(c, "qom-get", NULL, 5000, &err);
    g_assert_no_error(err);
    json_t *st = json_object_get(r, "stats");
    g_assert_true(json_is_real(json_object_get(st, "stat-htlb-pgalloc")));
    g_assert_cmpfloat(json_real_value(json_object_get(st, "stat-htlb-pgalloc")), >, 1.8e19);
    g_assert_true(json_is_integer(json_object_get(st, "stat-total-memory")));
    g_assert_cmpint(json_integer_value(json_object_get(st, "stat-total-memory")), ==, INT64_MAX);
    g_assert_true(json_is_real(json_object_get(st, "low")));
    g_assert_cmpstr(json_string_value(json_object_get(st, "s")), ==, "99999999999999999999 \" 1");
    g_assert_cmpfloat(json_real_value(json_object_get(st, "r")), ==, 1.5e300);
    json_auto_t *s = qmp_conn_execute(c, "query-status", NULL, 5000, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_string_value(json_object_get(s, "status")), ==, "running");
    finish(c, t);
}

static void script_garbage(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    srv_read_id(fd);
    srv_write(fd, "this is not json\r\n", FALSE);
}

static void test_garbage(void)
{
    GThread *t;
    QmpConn *c = with_server(script_garbage, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    g_assert_null(qmp_conn_execute(c, "query-status", NULL, 5000, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL);
    g_clear_error(&err);
    /* Latched: the next call fails fast with the same error. */
    g_assert_null(qmp_conn_execute(c, "query-status", NULL, 5000, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL);
    finish(c, t);
}

static void script_huge(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    srv_read_id(fd);
    g_autofree char *big = g_strnfill(200000, 'a');
    g_autofree char *msg = g_strdup_printf("{\"return\":\"%s\"", big); /* no newline yet */
    /* The client gives up after its 100000-byte bound and may close before
     * all of this is written: EPIPE here is the expected outcome, not a
     * failure (CI once saw it). */
    for (gsize i = 0, len = strlen(msg); i < len;) {
        ssize_t w = write(fd, msg + i, len - i);
        if (w <= 0)
            break;
        i += (gsize)w;
    }
    g_usleep(200000);
}

static void test_too_big(void)
{
    GThread *t;
    QmpConn *c = with_server(script_huge, QMP_MODE_MONITOR, &t);
    qmp_conn_set_max_message(c, 100000);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    g_assert_null(qmp_conn_execute(c, "query-qmp-schema", NULL, 5000, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TOO_BIG);
    finish(c, t);
}

static void script_close(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    srv_read_id(fd);
    srv_write(fd, "{\"return\":", FALSE); /* half a reply, then gone */
}

static void test_early_close(void)
{
    GThread *t;
    QmpConn *c = with_server(script_close, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    g_assert_null(qmp_conn_execute(c, "quit", NULL, 5000, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_CLOSED);
    finish(c, t);
}

static void script_silent(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    srv_read_id(fd);
    g_usleep(600000); /* never answers before the client's deadline */
}

static void test_deadline(void)
{
    GThread *t;
    QmpConn *c = with_server(script_silent, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    gint64 t0 = g_get_monotonic_time();
    g_assert_null(qmp_conn_execute(c, "query-status", NULL, 200, &err));
    gint64 took_ms = (g_get_monotonic_time() - t0) / 1000;
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT);
    g_assert_cmpint(took_ms, >=, 150); /* it did wait; the upper bound is the script's 600 ms */
    g_assert_cmpint(took_ms, <, 600);
    finish(c, t);
}

static void script_wrong_greeting(int fd)
{
    srv_write(fd, "{\"return\":{}}\r\n", FALSE);
}

static void test_bad_greeting(void)
{
    GThread *t;
    QmpConn *c = with_server(script_wrong_greeting, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_false(qmp_conn_handshake(c, 5000, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL);
    finish(c, t);
}

/* Reads one request object (skipping the agent's 0xFF). */
static json_t *srv_read_req(int fd)
{
    GString *line = g_string_new(NULL);
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n')
        if ((guchar)c != 0xFF)
            g_string_append_c(line, c);
    json_t *req = json_loads(line->str, 0, NULL);
    g_string_free(line, TRUE);
    return req;
}

/* The agent answers sync with a stray parse error first (as qemu-ga 7.2
 * does for the 0xFF byte), then 0xFF and the token. */
static void srv_agent_sync(int fd)
{
    json_auto_t *req = srv_read_req(fd);
    g_assert_cmpstr(json_string_value(json_object_get(req, "execute")), ==, "guest-sync-delimited");
    json_int_t token = json_integer_value(json_object_get(json_object_get(req, "arguments"), "id"));
    g_autofree char *text = g_strdup_printf("{\"error\": {\"class\": \"GenericError\", \"desc\": "
                                            "\"JSON parse error, stray '\\ufffd'\"}}\n"
                                            "\xff{\"return\": %" JSON_INTEGER_FORMAT "}\n",
                                            token);
    srv_write(fd, text, FALSE);
}

static void srv_agent_reply(int fd, const char *body)
{
    json_auto_t *req = srv_read_req(fd);
    json_int_t id = json_integer_value(json_object_get(req, "id"));
    g_autofree char *text = g_strdup_printf("{%s, \"id\": %" JSON_INTEGER_FORMAT "}\n", body, id);
    srv_write(fd, text, FALSE);
}

static void script_agent(int fd)
{
    srv_agent_sync(fd);
    srv_agent_reply(fd, "\"return\": {\"pid\": 42}");
    srv_agent_reply(fd, "\"return\": {\"exited\": false}");
    /* "hello\n" and "oops" in base64 */
    srv_agent_reply(fd,
                    "\"return\": {\"exited\": true, \"exitcode\": 3, \"out-data\": \"aGVsbG8K\", "
                    "\"err-data\": \"b29wcw==\"}");
}

static void test_agent_exec(void)
{
    GThread *t;
    QmpConn *c = with_server(script_agent, QMP_MODE_AGENT, &t);
    g_autoptr(GError) err = NULL;
    const char *argv[] = { "/bin/sh", "-c", "echo hello; echo -n oops >&2; exit 3", NULL };
    g_autoptr(QgaExecResult) r = qga_exec(c, argv, NULL, 5000, &err);
    g_assert_no_error(err);
    g_assert_true(r->exited);
    g_assert_false(r->signaled);
    g_assert_cmpint(r->code, ==, 3);
    gsize n = 0;
    const char *out = g_bytes_get_data(r->out, &n);
    g_assert_cmpmem(out, n, "hello\n", 6);
    const char *e = g_bytes_get_data(r->err, &n);
    g_assert_cmpmem(e, n, "oops", 4);
    finish(c, t);
}

static void script_agent_absent(int fd)
{
    json_auto_t *req = srv_read_req(fd); /* the sync: nobody answers */
    g_usleep(500000);
}

static void test_agent_absent(void)
{
    GThread *t;
    QmpConn *c = with_server(script_agent_absent, QMP_MODE_AGENT, &t);
    g_autoptr(GError) err = NULL;
    g_assert_false(qga_ping(c, 200, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TIMEOUT);
    g_assert_nonnull(strstr(err->message, "qemu-ga"));
    finish(c, t);
}

/* 100 MB without a newline: the client gives up at its bound (32 MiB by
 * default), it does not buffer it all. */
static void script_endless(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    srv_read_id(fd);
    g_autofree char *chunk = g_malloc(1 << 20);
    memset(chunk, 'x', 1 << 20);
    chunk[0] = '"';
    for (int i = 0; i < 100; i++)
        if (write(fd, chunk, 1 << 20) < 0)
            return; /* the client closed: good */
}

static void test_endless_line(void)
{
    GThread *t;
    QmpConn *c = with_server(script_endless, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    gint64 t0 = g_get_monotonic_time();
    g_assert_null(qmp_conn_execute(c, "query-status", NULL, 20000, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TOO_BIG);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 15 * G_USEC_PER_SEC);
    finish(c, t);
}

static void script_bad_utf8(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    srv_reply(fd, "\"return\":\"\xff\xfe\xc3\x28\"", FALSE);
}

static void test_bad_utf8(void)
{
    GThread *t;
    QmpConn *c = with_server(script_bad_utf8, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    g_assert_null(qmp_conn_execute(c, "query-name", NULL, 5000, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_PROTOCOL);
    finish(c, t);
}

static void script_deep(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    json_int_t id = srv_read_id(fd);
    GString *s = g_string_new("{\"return\":");
    for (int i = 0; i < 5000; i++)
        g_string_append_c(s, '[');
    for (int i = 0; i < 5000; i++)
        g_string_append_c(s, ']');
    g_string_append_printf(s, ",\"id\":%" JSON_INTEGER_FORMAT "}\n", id);
    srv_write(fd, s->str, FALSE);
    g_string_free(s, TRUE);
}

static void test_deep_nesting(void)
{
    GThread *t;
    QmpConn *c = with_server(script_deep, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    g_assert_null(qmp_conn_execute(c, "query-name", NULL, 5000, &err));
    g_assert_error(err, QMP_ERROR,
                   QMP_ERROR_PROTOCOL); /* jansson's depth limit, no stack overflow */
    finish(c, t);
}

/* ---- a hostile peer and qlaunch's memory (each in a fresh process, so
 * that its peak RSS is its own) ---- */

/* 64 MiB in a plain build (make check). An ASan build (make sanitize) runs
 * these with its quarantine off and its allocator's own overhead (redzones
 * around megabyte buffers) allowed for: 128 MiB, which unbounded growth
 * (the old library: 1 GiB for the agent flood) still far exceeds. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_LIMIT_KB (128 * 1024)
#else
#define RSS_LIMIT_KB (64 * 1024)
#endif

/* The deadline for a reply that comes after 66 MiB of junk. Parsing it takes
 * about 2 s in a plain build, but an ASan build on a loaded CI machine took
 * over 30 s, and valgrind is slower still: a hang still fails, at 10 min. */
#define FLOOD_DEADLINE_MS (600 * 1000)

/* Peak resident memory of this process (VmHWM), in KiB. */
static long peak_rss_kb(void)
{
    g_autofree char *status = NULL;
    g_assert_true(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
    const char *hwm = strstr(status, "VmHWM:");
    g_assert_nonnull(hwm);
    return strtol(hwm + 6, NULL, 10);
}

/* Writes n bytes made of line, repeated; the peer may close early. */
static void srv_flood(int fd, const char *line, gsize total)
{
    gsize len = strlen(line), chunk_lines = 65536 / len;
    GString *chunk = g_string_new(NULL);
    for (gsize i = 0; i < chunk_lines; i++)
        g_string_append(chunk, line);
    for (gsize sent = 0; sent < total;) {
        ssize_t w = write(fd, chunk->str, chunk->len);
        if (w <= 0)
            break;
        sent += (gsize)w;
    }
    g_string_free(chunk, TRUE);
}

#define FLOOD_EVENT "{\"event\": \"RTC_CHANGE\", \"data\": {\"offset\": 1}, \"timestamp\": 1}\n"

/* 66 MiB of events, then the reply: a guest agent cannot send events, and
 * none is kept. */
static void script_agent_flood(int fd)
{
    srv_agent_sync(fd);
    json_auto_t *req = srv_read_req(fd);
    srv_flood(fd, FLOOD_EVENT, 66u << 20);
    g_autofree char *text = g_strdup_printf("{\"return\": {}, \"id\": %" JSON_INTEGER_FORMAT "}\n",
                                            json_integer_value(json_object_get(req, "id")));
    srv_write(fd, text, FALSE);
}

static void rss_agent_flood(void)
{
    GThread *t;
    QmpConn *c = with_server(script_agent_flood, QMP_MODE_AGENT, &t);
    g_autoptr(GError) err = NULL;
    json_auto_t *r = qmp_conn_execute(c, "guest-ping", NULL, FLOOD_DEADLINE_MS, &err);
    g_assert_no_error(err);
    g_assert_null(qmp_conn_pop_event(c));
    g_assert_cmpuint(qmp_conn_events_dropped(c), >, 1000000);
    finish(c, t);
    g_test_message("peak RSS %ld KiB", peak_rss_kb());
    g_assert_cmpint(peak_rss_kb(), <, RSS_LIMIT_KB);
}

/* The same flood from QEMU: the newest QMP_MAX_QUEUED_EVENTS are kept. */
static void script_monitor_flood(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    json_int_t id = srv_read_id(fd);
    srv_flood(fd, FLOOD_EVENT, 66u << 20);
    g_autofree char *text =
        g_strdup_printf("{\"return\":{},\"id\":%" JSON_INTEGER_FORMAT "}\n", id);
    srv_write(fd, text, FALSE);
}

static void rss_monitor_flood(void)
{
    GThread *t;
    QmpConn *c = with_server(script_monitor_flood, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    json_auto_t *r = qmp_conn_execute(c, "cont", NULL, FLOOD_DEADLINE_MS, &err);
    g_assert_no_error(err);
    guint kept = 0;
    for (json_t *ev; (ev = qmp_conn_pop_event(c)); kept++)
        json_decref(ev);
    g_assert_cmpuint(kept, ==, QMP_MAX_QUEUED_EVENTS);
    g_assert_cmpuint(qmp_conn_events_dropped(c), >, 1000000);
    finish(c, t);
    g_test_message("peak RSS %ld KiB", peak_rss_kb());
    g_assert_cmpint(peak_rss_kb(), <, RSS_LIMIT_KB);
}

/* One reply of [{},{},...] just under the byte bound: cheap on the wire,
 * ~250 bytes a value in jansson. */
static char *many_values_reply(json_int_t id, gsize bytes)
{
    GString *s = g_string_sized_new(bytes + 64);
    g_string_append(s, "{\"return\": [{}");
    while (s->len + 64 < bytes)
        g_string_append(s, ",{}");
    g_string_append_printf(s, "], \"id\": %" JSON_INTEGER_FORMAT "}\n", id);
    return g_string_free(s, FALSE);
}

static void script_many_values(int fd)
{
    srv_write(fd, GREETING, FALSE);
    srv_reply(fd, "\"return\":{}", FALSE);
    json_int_t id = srv_read_id(fd);
    g_autofree char *text = many_values_reply(id, QMP_DEFAULT_MAX_MESSAGE);
    srv_write(fd, text, FALSE);
}

static void rss_many_values(void)
{
    GThread *t;
    QmpConn *c = with_server(script_many_values, QMP_MODE_MONITOR, &t);
    g_autoptr(GError) err = NULL;
    g_assert_true(qmp_conn_handshake(c, 5000, &err));
    g_assert_null(qmp_conn_execute(c, "query-block", NULL, FLOOD_DEADLINE_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TOO_BIG);
    g_assert_nonnull(strstr(err->message, "JSON values"));
    finish(c, t);
    g_test_message("peak RSS %ld KiB", peak_rss_kb());
    g_assert_cmpint(peak_rss_kb(), <, RSS_LIMIT_KB);
}

static void script_agent_many_values(int fd)
{
    srv_agent_sync(fd);
    json_auto_t *req = srv_read_req(fd);
    g_autofree char *text =
        many_values_reply(json_integer_value(json_object_get(req, "id")), QGA_MAX_MESSAGE);
    srv_write(fd, text, FALSE);
}

static void rss_agent_many_values(void)
{
    GThread *t;
    QmpConn *c = with_server(script_agent_many_values, QMP_MODE_AGENT, &t);
    g_autoptr(GError) err = NULL;
    g_assert_null(qmp_conn_execute(c, "guest-get-fsinfo", NULL, FLOOD_DEADLINE_MS, &err));
    g_assert_error(err, QMP_ERROR, QMP_ERROR_TOO_BIG);
    finish(c, t);
    g_test_message("peak RSS %ld KiB", peak_rss_kb());
    g_assert_cmpint(peak_rss_kb(), <, RSS_LIMIT_KB);
}

/* The largest exec output the agent bound lets through still fits. */
static void script_agent_big_output(int fd)
{
    srv_agent_sync(fd);
    srv_agent_reply(fd, "\"return\": {\"pid\": 7}");
    json_auto_t *req = srv_read_req(fd);
    gsize raw = (QGA_EXEC_MAX_MESSAGE - 4096) / 4 * 3;
    g_autofree guchar *data = g_malloc(raw);
    memset(data, 'q', raw);
    g_autofree char *b64 = g_base64_encode(data, raw);
    g_autofree char *text = g_strdup_printf(
        "{\"return\": {\"exited\": true, \"exitcode\": 0, \"out-data\": \"%s\"}, \"id\": "
        "%" JSON_INTEGER_FORMAT "}\n",
        b64, json_integer_value(json_object_get(req, "id")));
    g_clear_pointer(&b64, g_free);
    srv_write(fd, text, FALSE);
}

static void rss_agent_big_output(void)
{
    GThread *t;
    QmpConn *c = with_server(script_agent_big_output, QMP_MODE_AGENT, &t);
    g_autoptr(GError) err = NULL;
    const char *argv[] = { "/bin/cat", "/big", NULL };
    g_autoptr(QgaExecResult) r = qga_exec(c, argv, NULL, FLOOD_DEADLINE_MS, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(g_bytes_get_size(r->out), ==, (QGA_EXEC_MAX_MESSAGE - 4096) / 4 * 3);
    finish(c, t);
    g_clear_pointer(&r, qga_exec_result_free);
    g_test_message("peak RSS %ld KiB", peak_rss_kb());
    g_assert_cmpint(peak_rss_kb(), <, RSS_LIMIT_KB);
}

static void test_rss(gconstpointer data)
{
    if (g_test_subprocess()) {
        ((void (*)(void))data)();
        return;
    }
#if defined(__SANITIZE_ADDRESS__)
    g_setenv("ASAN_OPTIONS", "quarantine_size_mb=0", TRUE); /* freed memory is freed */
#endif
    g_test_trap_subprocess(NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN); /* a fake server writing to a client that gave up */
    g_test_add_func("/qmp/100MB-without-newline", test_endless_line);
    g_test_add_func("/qmp/invalid-utf8", test_bad_utf8);
    g_test_add_func("/qmp/deep-nesting", test_deep_nesting);
    g_test_add_func("/qmp/reply-one-byte-at-a-time", test_bytewise);
    g_test_add_func("/qmp/two-objects-in-one-read-and-event", test_two_in_one_and_event);
    g_test_add_func("/qmp/error-reply", test_error_reply);
    g_test_add_func("/qmp/garbage", test_garbage);
    g_test_add_func("/qmp/uint64-above-int64", test_uint64);
    g_test_add_func("/qmp/reply-over-size-bound", test_too_big);
    g_test_add_func("/qmp/early-close", test_early_close);
    g_test_add_func("/qmp/deadline", test_deadline);
    g_test_add_func("/qmp/bad-greeting", test_bad_greeting);
    g_test_add_func("/qmp/getfd-passes-the-descriptor", test_getfd);
    g_test_add_func("/qga/sync-and-exec", test_agent_exec);
    g_test_add_func("/qga/agent-absent", test_agent_absent);
    g_test_add_data_func("/rss/agent-event-flood", rss_agent_flood, test_rss);
    g_test_add_data_func("/rss/monitor-event-flood", rss_monitor_flood, test_rss);
    g_test_add_data_func("/rss/monitor-many-values", rss_many_values, test_rss);
    g_test_add_data_func("/rss/agent-many-values", rss_agent_many_values, test_rss);
    g_test_add_data_func("/rss/agent-largest-exec-output", rss_agent_big_output, test_rss);
    return g_test_run();
}
