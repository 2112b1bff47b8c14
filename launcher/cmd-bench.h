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

#include "bench.h"
#include "profile.h"

/* bench's network tests (cmd-bench-net.c). */
typedef struct {
    GPid pid;
    guint port;
    const char *name; /* iperf3 | echo */
    char *log;        /* its output, in the bench's out dir */
} BenchServer;

/* Where the guest reaches the host's server over p's first NIC, and what
 * the server binds to: user mode the slirp host address and 127.0.0.1, a
 * qlaunch network the bridge's address for both. (transfer full) */
gboolean bench_net_addresses(const Profile *p, char **guest_addr, char **bind_addr, GError **error);
/* c's server bound to bind_addr on a free port, once it listens. */
BenchServer *bench_server_start(const BenchCase *c, const char *bind_addr, const char *dir,
                                GError **error);
void bench_server_stop(BenchServer *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BenchServer, bench_server_stop)
