/* Shared by cmd-bench.c (the runner) and cmd-bench-report.c (the report). */
#pragma once

#include <glib.h>
#include <jansson.h>

/* The guest-vs-host table of a results document, on stdout. */
void bench_print_table(json_t *doc);
/* DIR/NAME with text. */
gboolean bench_write_text(const char *dir, const char *name, const char *text, GError **error);
/* DIR/plot.svg through gnuplot (names reach it only quoted). */
gboolean bench_write_plot(const char *dir, json_t *doc, GError **error);
/* bench --compare A.json B.json: prints the table; an exit code. */
int bench_compare_files(const char *a_path, const char *b_path, GError **error);

#include "../qmp/qmp.h"
#include "bench.h"
#include "profile.h"

/* bench's network tests (cmd-bench-net.c). */
typedef struct {
    GPid pid;
    guint port;
    const char *name; /* iperf3 | echo */
    char *log;        /* its output, in the bench's out dir */
    /* a socket lan: the same server in the peer VM, for the guest's runs */
    QmpConn *peer_qga; /* borrowed */
    json_int_t peer_pid;
    guint peer_port;
} BenchServer;

/* On a socket lan the VM is BENCH_LAN_VM and a peer VM of the same
 * profile (NAME-peer) BENCH_LAN_PEER, on eth0 (the embedded guest's). */
#define BENCH_LAN_VM "10.233.0.1"
#define BENCH_LAN_PEER "10.233.0.2"

/* Where the guest reaches the host's server over p's first NIC, and what
 * the server binds to: user mode the slirp host address and 127.0.0.1, a
 * qlaunch network the bridge's address for both. (transfer full) */
gboolean bench_net_addresses(const Profile *p, char **guest_addr, char **bind_addr, GError **error);
/* c's server bound to bind_addr on a free port, once it listens. */
BenchServer *bench_server_start(const BenchCase *c, const char *bind_addr, const char *dir,
                                GError **error);
void bench_server_stop(BenchServer *s);
/* Gives a guest's eth0 addr/24 (once its DHCP client has given up). */
gboolean bench_lan_address(QmpConn *qga, const char *vm, const char *addr, GError **error);
/* Waits (60 s at most) until the guest has a route to addr. */
gboolean bench_guest_route(QmpConn *qga, const char *vm, const char *addr, GError **error);
/* c's server in the peer guest on BENCH_LAN_PEER (the host server's port,
 * when free there too), once it listens; stopped with s. */
gboolean bench_peer_server_start(BenchServer *s, const BenchCase *c, QmpConn *qga, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BenchServer, bench_server_stop)
