/* bench's network tests: where the host's server listens for a profile's
 * first NIC, and that server (iperf3 -s or qlaunch-probe echo) for the
 * length of a test. Nothing listens beyond the VM's own network. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include "cmd-bench.h"
#include "network.h"
#include "proc.h"

#define SERVER_READY_MS 10000

static char *ipv4(guint32 host_order)
{
    struct in_addr a = { .s_addr = htonl(host_order) };
    char buf[INET_ADDRSTRLEN];
    return g_strdup(inet_ntop(AF_INET, &a, buf, sizeof buf));
}

gboolean bench_net_addresses(const Profile *p, char **guest_addr, char **bind_addr, GError **error)
{
    const ProfileNet *n = p->nets->len ? p->nets->pdata[0] : NULL;
    if (!n || n->mode == NET_NONE) {
        g_set_error(error, BENCH_ERROR, 0,
                    "profile %s: the net tests need a NIC ([net NAME] mode=user or a tap on a "
                    "qlaunch network)",
                    p->path);
        return FALSE;
    }
    if (n->mode == NET_USER) {
        if (n->restrict_) {
            g_set_error(error, BENCH_ERROR, 0,
                        "profile %s [net %s] restrict=on: the guest cannot reach the host, so "
                        "there is nothing to measure against",
                        p->path, n->name);
            return FALSE;
        }
        /* the slirp host address: the guest network's .2, which is the
         * host's loopback */
        guint32 net = 0x0a000200; /* 10.0.2.0 */
        if (n->net) {
            g_auto(GStrv) parts = g_strsplit(n->net, "/", 2);
            struct in_addr a;
            if (inet_pton(AF_INET, parts[0], &a) == 1) {
                guint len = parts[1] ? (guint)g_ascii_strtoull(parts[1], NULL, 10) : 24;
                guint32 mask = len ? 0xffffffffu << (32 - MIN(len, 32)) : 0;
                net = ntohl(a.s_addr) & mask;
            }
        }
        *guest_addr = ipv4(net | 2);
        *bind_addr = g_strdup("127.0.0.1");
        return TRUE;
    }
    if (n->mode == NET_TAP && n->network) {
        g_autoptr(NetDef) d = cli_load_network(n->network, error);
        if (!d)
            return FALSE;
        *guest_addr = ipv4(d->gateway); /* the bridge's own address */
        *bind_addr = ipv4(d->gateway);
        return TRUE;
    }
    if (n->mode == NET_SOCKET) { /* guest to guest: a peer VM on the lan serves */
        *guest_addr = g_strdup(BENCH_LAN_PEER);
        *bind_addr = g_strdup("127.0.0.1"); /* the host's reference runs */
        return TRUE;
    }
    g_set_error(error, BENCH_ERROR, 0,
                "profile %s [net %s]: the net tests run against the host on user mode or on a "
                "qlaunch network (network=), or against a peer VM on a socket lan; a bridge of "
                "your own has no host address qlaunch knows",
                p->path, n->name);
    return FALSE;
}

/* Runs sh -c SCRIPT "$1" in a guest; its exit code, or -1. */
static int guest_sh(QmpConn *qga, const char *script, const char *arg, gint64 timeout_ms,
                    GError **error)
{
    const char *argv[] = { "sh", "-c", script, "sh", arg, NULL };
    g_autoptr(QgaExecResult) r = qga_exec(qga, argv, NULL, timeout_ms, error);
    return r && r->exited && !r->signaled ? r->code : -1;
}

gboolean bench_lan_address(QmpConn *qga, const char *vm, const char *addr, GError **error)
{
    /* the embedded guest's DHCP client gives up after about 10 s on a lan
     * with no server, flushing eth0 as it starts: wait for it to end */
    static const char script[] = "i=0; while pidof udhcpc >/dev/null && [ $i -lt 300 ]; do "
                                 "sleep 0.1; i=$((i + 1)); done; "
                                 "ip link set eth0 up && ip addr replace \"$1/24\" dev eth0";
    int rc = guest_sh(qga, script, addr, 60000, error);
    if (rc != 0 && (!error || !*error))
        g_set_error(error, BENCH_ERROR, 0, "VM %s: cannot give eth0 the lan address %s (exit %d)",
                    vm, addr, rc);
    return rc == 0;
}

gboolean bench_guest_route(QmpConn *qga, const char *vm, const char *addr, GError **error)
{
    /* a guest that just booted may still wait for its DHCP lease */
    static const char script[] = "i=0; until ip route get \"$1\" >/dev/null 2>&1; do "
                                 "[ $i -ge 600 ] && exit 1; sleep 0.1; i=$((i + 1)); done";
    int rc = guest_sh(qga, script, addr, 90000, error);
    if (rc != 0 && (!error || !*error))
        g_set_error(error, BENCH_ERROR, 0,
                    "VM %s has no route to %s after 60 s (no DHCP lease on its network?)", vm,
                    addr);
    return rc == 0;
}

gboolean bench_peer_server_start(BenchServer *s, const BenchCase *c, QmpConn *qga, GError **error)
{
    s->peer_qga = qga;
    s->peer_port = s->port ? s->port : 5201;
    const char *ready = NULL;
    g_auto(GStrv) argv =
        bench_server_argv(c, "qlaunch-probe", BENCH_LAN_PEER, s->peer_port, &ready);
    s->peer_pid = qga_spawn(qga, (const char *const *)argv, NULL, FALSE, 30000, error);
    if (s->peer_pid < 0)
        return FALSE;
    /* it listens once its port is in /proc/net/tcp (LISTEN) or udp */
    g_autofree char *hex = g_strdup_printf(":%04X ", s->peer_port);
    const char *script = g_strcmp0(c->server, "echo") == 0
                             ? "i=0; until grep -q \"$1\" /proc/net/udp; do [ $i -ge 200 ] && "
                               "exit 1; sleep 0.05; i=$((i + 1)); done"
                             : "i=0; until grep \"$1\" /proc/net/tcp | grep -q ' 0A '; do "
                               "[ $i -ge 200 ] && exit 1; sleep 0.05; i=$((i + 1)); done";
    if (guest_sh(qga, script, hex, 30000, error) != 0) {
        if (error && !*error)
            g_set_error(error, BENCH_ERROR, 0,
                        "the peer's %s server did not listen on %s:%u within 10 s", c->server,
                        BENCH_LAN_PEER, s->peer_port);
        return FALSE;
    }
    return TRUE;
}

/* A port free on addr for TCP and UDP now (the kernel's choice). */
static guint free_port(const char *addr)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return 0;
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof sa;
    guint port = 0;
    if (t >= 0 && bind(t, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(t, (struct sockaddr *)&sa, &len) == 0) {
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (u >= 0 && bind(u, (struct sockaddr *)&sa, sizeof sa) == 0)
            port = ntohs(sa.sin_port);
        if (u >= 0)
            close(u);
    }
    if (t >= 0)
        close(t);
    return port;
}

void bench_server_stop(BenchServer *s)
{
    if (!s)
        return;
    if (s->peer_qga && s->peer_pid > 0) {
        g_autofree char *pid = g_strdup_printf("%" JSON_INTEGER_FORMAT, s->peer_pid);
        const char *kill[] = { "kill", pid, NULL };
        g_autoptr(QgaExecResult) k = qga_exec(s->peer_qga, kill, NULL, 30000, NULL);
    }
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        if (!proc_wait_gone(s->pid, 5000))
            kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    if (s->log) {
        unlink(s->log);
        g_free(s->log);
    }
    g_free(s);
}

/* Its log has the line it prints once it listens, within the deadline. */
static gboolean server_ready(BenchServer *s, const char *ready, GError **error)
{
    gint64 end = g_get_monotonic_time() + SERVER_READY_MS * 1000;
    for (;;) {
        g_autofree char *text = NULL;
        if (g_file_get_contents(s->log, &text, NULL, NULL) && strstr(text, ready))
            return TRUE;
        int status = 0;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            g_autofree char *why = proc_describe_status(status);
            s->pid = 0;
            g_set_error(error, BENCH_ERROR, 0, "the host's %s server ended (%s): %s", s->name, why,
                        text ? g_strstrip(text) : "");
            return FALSE;
        }
        if (g_get_monotonic_time() > end) {
            g_set_error(error, BENCH_ERROR, 0, "the host's %s server did not listen within %d s",
                        s->name, SERVER_READY_MS / 1000);
            return FALSE;
        }
        g_usleep(10 * 1000);
    }
}

BenchServer *bench_server_start(const BenchCase *c, const char *bind_addr, const char *dir,
                                GError **error)
{
    g_autofree char *guest = vm_guest_dir();
    g_autofree char *probe = g_build_filename(guest, "qlaunch-probe", NULL);
    if (g_strcmp0(c->server, "echo") == 0 && !g_file_test(probe, G_FILE_TEST_IS_EXECUTABLE)) {
        g_set_error(error, BENCH_ERROR, 0,
                    "%s: %s is missing (it comes with the embedded guest: make guest)", c->id,
                    probe);
        return NULL;
    }
    BenchServer *s = g_new0(BenchServer, 1);
    s->name = c->server;
    s->port = free_port(bind_addr);
    if (!s->port) {
        g_set_error(error, BENCH_ERROR, 0, "no free port on %s for the %s server", bind_addr,
                    c->server);
        bench_server_stop(s);
        return NULL;
    }
    s->log = g_strdup_printf("%s/net-server.%u.log", dir, s->port);
    const char *ready = NULL;
    g_auto(GStrv) argv = bench_server_argv(c, probe, bind_addr, s->port, &ready);
    int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    g_autoptr(GError) err = NULL;
    GPid pid = 0;
    gboolean ok = fd >= 0 &&
                  g_spawn_async_with_pipes_and_fds(
                      NULL, (const char *const *)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
                      NULL, NULL, -1, fd, fd, NULL, NULL, 0, &pid, NULL, NULL, NULL, &err);
    if (fd >= 0)
        close(fd);
    if (!ok) {
        g_set_error(error, BENCH_ERROR, 0, "cannot run %s for the net tests: %s (install it: %s)",
                    argv[0], err ? err->message : g_strerror(errno),
                    strcmp(argv[0], "iperf3") == 0 ? "scripts/install-deps.sh bench"
                                                   : "make guest");
        bench_server_stop(s);
        return NULL;
    }
    s->pid = pid;
    if (!server_ready(s, ready, error)) {
        bench_server_stop(s);
        return NULL;
    }
    return s;
}
