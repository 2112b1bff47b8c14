/* libFuzzer target: the QMP / guest-agent stream parser. The input is what
 * "QEMU" sends: the first byte picks the mode and the message bound, the
 * rest goes down a socketpair; then the client handshakes, runs commands
 * and drains events, as qlaunch does. It must never crash, hang or leak. */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../qmp/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gboolean init;
    if (!init) {
        signal(SIGPIPE, SIG_IGN);
        init = TRUE;
    }
    if (size < 1 || size > 60000)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 0;
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    guint8 ctl = data[0];
    if (write(sv[1], data + 1, size - 1) < 0) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    shutdown(sv[1], SHUT_WR); /* EOF after the input: nothing waits for a deadline */
    QmpMode mode = (ctl & 1) ? QMP_MODE_AGENT : QMP_MODE_MONITOR;
    QmpConn *c = qmp_conn_new_fd(sv[0], mode);
    if (ctl & 2)
        qmp_conn_set_max_message(c, 64 + (ctl >> 2) * 16);
    GError *e = NULL;
    if (mode == QMP_MODE_MONITOR) {
        if (qmp_conn_handshake(c, 200, &e)) {
            json_t *r = qmp_conn_execute(c, "query-status", NULL, 200, NULL);
            json_decref(r);
            json_t *ev;
            while ((ev = qmp_conn_pop_event(c)))
                json_decref(ev);
            r = qmp_conn_execute(c, "query-cpus-fast", NULL, 200, NULL);
            json_decref(r);
        }
    } else if (qga_sync(c, 200, &e)) {
        const char *argv[] = { "cat", "/proc/meminfo", NULL };
        QgaExecResult *r = qga_exec(c, argv, NULL, 200, NULL);
        qga_exec_result_free(r);
    }
    g_clear_error(&e);
    qmp_conn_free(c);
    close(sv[1]);
    return 0;
}
