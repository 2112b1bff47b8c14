/* qlaunch stats and list latency with the VMs that run now, side by side
 * with the raw QMP / guest-agent queries they make (in-process libqmp: a
 * connect, the handshake and the queries; no fork, no profile parsing).
 * Usage: bench-watch QLAUNCH RUNDIR VM REPS LABEL OUT.json (appends a row). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../qmp/qmp.h"
#include "bench-util.h"

#define T 5000

static void must(gboolean ok, const char *what, GError *e)
{
    if (!ok) {
        fprintf(stderr, "bench-watch: %s failed%s%s\n", what, e ? ": " : "", e ? e->message : "");
        exit(1);
    }
}

static QmpConn *open_qmp(const char *rundir, const char *vm)
{
    g_autofree char *sock = g_strdup_printf("%s/%s/qmp.sock", rundir, vm);
    GError *e = NULL;
    QmpConn *c = qmp_conn_connect(sock, QMP_MODE_MONITOR, T, &e);
    must(c && qmp_conn_handshake(c, T, &e), "QMP connect", e);
    return c;
}

static void q(QmpConn *c, const char *cmd, json_t *args)
{
    GError *e = NULL;
    json_t *r = qmp_conn_execute(c, cmd, args, T, &e);
    must(r != NULL, cmd, e);
    json_decref(r);
}

/* What stats --no-guest asks QEMU; TRUE when the balloon had memory
 * statistics (then stats reads no /proc/meminfo through the agent). */
static gboolean raw_stats(const char *rundir, const char *vm)
{
    QmpConn *c = open_qmp(rundir, vm);
    q(c, "query-status", NULL);
    q(c, "query-cpus-fast", NULL);
    q(c, "query-blockstats", NULL);
    GError *e = NULL;
    json_t *r = qmp_conn_execute(
        c, "qom-get",
        json_pack("{s:s, s:s}", "path", "/machine/peripheral/balloon0", "property", "guest-stats"),
        T, &e);
    must(r != NULL, "qom-get", e);
    gboolean balloon = json_integer_value(json_object_get(r, "last-update")) > 0;
    json_decref(r);
    qmp_conn_free(c);
    return balloon;
}

/* What stats adds through the agent. */
static void raw_agent(const char *rundir, const char *vm, gboolean balloon)
{
    g_autofree char *sock = g_strdup_printf("%s/%s/qga.sock", rundir, vm);
    GError *e = NULL;
    QmpConn *c = qmp_conn_connect(sock, QMP_MODE_AGENT, T, &e);
    must(c && qga_sync(c, T, &e), "agent connect", e);
    if (!balloon) {
        const char *argv[] = { "cat", "/proc/meminfo", NULL };
        QgaExecResult *r = qga_exec(c, argv, NULL, T, &e);
        must(r != NULL, "guest-exec", e);
        qga_exec_result_free(r);
    }
    q(c, "guest-network-get-interfaces", NULL);
    qmp_conn_free(c);
}

/* What list asks each VM (status: query-status, query-cpus-fast, info usernet). */
static void raw_list(const char *rundir, char **vms)
{
    for (gsize i = 0; vms[i]; i++) {
        QmpConn *c = open_qmp(rundir, vms[i]);
        q(c, "query-status", NULL);
        q(c, "query-cpus-fast", NULL);
        q(c, "human-monitor-command", json_pack("{s:s}", "command-line", "info usernet"));
        qmp_conn_free(c);
    }
}

static char **running_vms(const char *rundir)
{
    GPtrArray *a = g_ptr_array_new();
    GDir *d = g_dir_open(rundir, 0, NULL);
    for (const char *n; d && (n = g_dir_read_name(d));) {
        g_autofree char *s = g_strdup_printf("%s/%s/qmp.sock", rundir, n);
        if (g_file_test(s, G_FILE_TEST_EXISTS))
            g_ptr_array_add(a, g_strdup(n));
    }
    if (d)
        g_dir_close(d);
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(a, FALSE);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: bench-watch QLAUNCH RUNDIR VM REPS LABEL OUT.json\n");
        return 2;
    }
    const char *ql = argv[1], *rundir = argv[2], *vm = argv[3], *label = argv[5];
    int reps = atoi(argv[4]);
    g_auto(GStrv) vms = running_vms(rundir);

    const char *stats_ng[] = { ql, "stats", "--no-guest", vm, NULL };
    const char *stats_g[] = { ql, "stats", vm, NULL };
    const char *list[] = { ql, "list", NULL };
    struct {
        const char *name;
        double ms;
    } r[6];
    /* interleaved: each rep runs every measure once */
    double *all[6];
    for (int k = 0; k < 6; k++)
        all[k] = g_new(double, reps);
    for (int i = 0; i < reps; i++) {
        double t = now_ms();
        must(run_quiet(stats_ng) == 0, "qlaunch stats --no-guest", NULL);
        all[0][i] = now_ms() - t;
        t = now_ms();
        raw_stats(rundir, vm);
        all[1][i] = now_ms() - t;
        t = now_ms();
        must(run_quiet(stats_g) == 0, "qlaunch stats", NULL);
        all[2][i] = now_ms() - t;
        t = now_ms();
        raw_agent(rundir, vm, raw_stats(rundir, vm));
        all[3][i] = now_ms() - t;
        t = now_ms();
        must(run_quiet(list) == 0, "qlaunch list", NULL);
        all[4][i] = now_ms() - t;
        t = now_ms();
        raw_list(rundir, vms);
        all[5][i] = now_ms() - t;
    }
    const char *names[] = { "stats_no_guest_ms", "raw_stats_queries_ms",
                            "stats_ms",          "raw_stats_and_agent_ms",
                            "list_ms",           "raw_list_queries_ms" };
    for (int k = 0; k < 6; k++) {
        r[k].name = names[k];
        r[k].ms = median_of(all[k], (size_t)reps);
        g_free(all[k]);
    }

    json_t *row = json_pack("{s:s, s:i, s:i}", "vms", label, "running", (int)g_strv_length(vms),
                            "reps", reps);
    for (int k = 0; k < 6; k++)
        json_object_set_new(row, r[k].name, json_real(r[k].ms));
    json_t *all_rows = json_load_file(argv[6], 0, NULL);
    if (!json_is_array(all_rows)) {
        json_decref(all_rows);
        all_rows = json_array();
    }
    json_array_append_new(all_rows, row);
    json_dump_file(all_rows, argv[6], JSON_INDENT(2));
    json_decref(all_rows);
    fprintf(stderr,
            "%-6s stats --no-guest %6.1f ms (raw %5.1f) | stats %6.1f ms (raw %5.1f) | list %6.1f "
            "ms (raw %5.1f)\n",
            label, r[0].ms, r[1].ms, r[2].ms, r[3].ms, r[4].ms, r[5].ms);
    return 0;
}
