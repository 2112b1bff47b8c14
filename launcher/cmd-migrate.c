/* qlaunch migrate: live migration to a URI, or --local into a new QEMU on this host. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "migrate.h"
#include "migrate-probe.h"
#include "netfwd.h"
#include "proc.h"
#include "share.h"

/* "migrating: 45% of 512 MiB, 110 MiB/s, dirty 2000 pages/s, pass 3" */
static void show_progress(json_t *info, gpointer data)
{
    (void)data;
    if (cli_quiet || !isatty(2))
        return;
    json_t *ram = json_object_get(info, "ram");
    double total = (double)json_integer_value(json_object_get(ram, "total"));
    double remaining = (double)json_integer_value(json_object_get(ram, "remaining"));
    fprintf(stderr,
            "\rmigrating (%s): %3.0f%% of %.0f MiB, %.0f MiB/s, dirty %" JSON_INTEGER_FORMAT
            " pages/s, pass %" JSON_INTEGER_FORMAT "   ",
            json_string_value(json_object_get(info, "status")),
            total > 0 ? 100.0 * (total - remaining) / total : 0.0, total / (1 << 20),
            json_real_value(json_object_get(ram, "mbps")) / 8,
            json_integer_value(json_object_get(ram, "dirty-pages-rate")),
            json_integer_value(json_object_get(ram, "dirty-sync-count")));
}

/* Ends the source after a completed migration. Locally it gets SIGKILL,
 * not quit: a QEMU that exits cleanly unlinks its pidfile and listening
 * sockets, and a source that was itself once a --local destination has
 * those at the very paths the new destination now uses. In postmigrate its
 * disks are already flushed and handed over, so nothing is lost. */
static void end_source(QmpConn *qmp, pid_t pid, gboolean local)
{
    json_auto_t *r = !local && qmp ? qmp_conn_execute(qmp, "quit", NULL, 5000, NULL) : NULL;
    if (local || !proc_wait_gone(pid, 10000))
        kill(pid, SIGKILL);
    proc_wait_gone(pid, PROC_KILL_WAIT_MS);
}

static void discard_destination(VmPaths *dv)
{
    pid_t pid = vm_read_pid(dv);
    if (pid > 0 && proc_alive(pid)) {
        kill(pid, SIGKILL);
        proc_wait_gone(pid, PROC_KILL_WAIT_MS);
    }
    vm_runtime_remove(dv);
}

/* The new QEMU takes over the VM's name: its runtime files move into the
 * VM's runtime dir (a unix socket stays reachable when renamed). */
static gboolean hand_over(VmPaths *v, VmPaths *dv, GError **error)
{
    const char *names[] = { "qmp.sock", "qga.sock",  "serial.sock", "qemu.pid",
                            "qemu.log", "meta.json", "profile.ini" };
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *from = g_build_filename(dv->dir, names[i], NULL);
        g_autofree char *to = g_build_filename(v->dir, names[i], NULL);
        if (g_file_test(from, G_FILE_TEST_EXISTS) && rename(from, to) != 0) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "moving %s to %s: %s", from, to,
                        g_strerror(errno));
            return FALSE;
        }
    }
    vm_runtime_remove(dv);
    return TRUE;
}

/* Waits until the destination is in the source's state before the migration:
 * running for a running VM, else the same state (a paused or crashed VM
 * stays so). FALSE at the timeout, *state is the last state seen. */
static gboolean destination_ready(QmpConn *dqmp, const char *want, char **state, gint64 timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    while (g_get_monotonic_time() < deadline) {
        char *now = vm_run_state(dqmp, 5000);
        if (now) {
            g_free(*state);
            *state = now;
        }
        if (g_strcmp0(now, want) == 0)
            return TRUE;
        g_usleep(10000);
    }
    return FALSE;
}

static void print_summary(json_t *s, const char *vm, const char *where, gboolean json)
{
    if (json) {
        cli_print_json(s);
        return;
    }
    printf("migrated %s %s (%s)\n", vm, where, json_string_value(json_object_get(s, "mode")));
    printf("  total time     %" JSON_INTEGER_FORMAT " ms\n",
           json_integer_value(json_object_get(s, "total_time_ms")));
    printf("  downtime       %" JSON_INTEGER_FORMAT " ms\n",
           json_integer_value(json_object_get(s, "downtime_ms")));
    printf("  setup time     %" JSON_INTEGER_FORMAT " ms\n",
           json_integer_value(json_object_get(s, "setup_time_ms")));
    printf("  transferred    %.1f MiB (%" JSON_INTEGER_FORMAT " normal pages)\n",
           (double)json_integer_value(json_object_get(s, "transferred_bytes")) / (1 << 20),
           json_integer_value(json_object_get(s, "normal_pages")));
    printf("  passes         %" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(s, "dirty_sync_count")));
    json_t *pr = json_object_get(s, "probe");
    if (!pr)
        return;
    json_t *gp = json_object_get(pr, "guest_pause_ms");
    printf("  probe          %s, one datagram every %" JSON_INTEGER_FORMAT " ms\n",
           json_string_value(json_object_get(pr, "target")),
           json_integer_value(json_object_get(pr, "interval_ms")));
    g_autofree char *pause = json_is_number(gp) ? g_strdup_printf("%.1f ms", json_number_value(gp))
                                                : g_strdup("unknown");
    printf("  longest gap    %.1f ms without an echo (from %.0f ms after the start); the guest "
           "clock's largest jump %s\n",
           json_number_value(json_object_get(pr, "longest_gap_ms")),
           json_number_value(json_object_get(pr, "gap_start_ms")), pause);
    printf("  lost           %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT,
           json_integer_value(json_object_get(pr, "lost")),
           json_integer_value(json_object_get(pr, "sent")));
    if (json_is_number(json_object_get(pr, "forward_takeover_ms")))
        printf("; the destination took the forwards over %.0f ms after the end",
               json_number_value(json_object_get(pr, "forward_takeover_ms")));
    printf("\n");
    const char *names[] = { "before", "during", "after" };
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        json_t *ph = json_object_get(json_object_get(pr, "phases"), names[i]);
        printf("  %-6s         delay p50 %.2f ms, p99 %.2f ms, jitter %.2f ms, lost "
               "%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT "\n",
               names[i], json_number_value(json_object_get(ph, "delay_p50_ms")),
               json_number_value(json_object_get(ph, "delay_p99_ms")),
               json_number_value(json_object_get(ph, "jitter_ms")),
               json_integer_value(json_object_get(ph, "lost")),
               json_integer_value(json_object_get(ph, "sent")));
    }
}

typedef struct {
    MigrateOpts m;
    gboolean local, json, copy_ram, probe;
    int bandwidth_mib, timeout_s, probe_interval_ms;
    char *dest_profile;
} MigrateCli;

/* --local: a destination QEMU from the same (or a given, compatible)
 * profile, in runtime dir "<vm>+incoming.<our pid>", listening on a unix
 * socket. No VM can be named so ('+' is not allowed in a name), and no
 * other migration uses it; *dv is set only once this run's QEMU runs, so
 * a failure discards nothing it did not start. */
static QmpConn *start_destination(VmPaths *v, MigrateCli *c, VmPaths **dv, char **uri,
                                  GError **error)
{
    g_autoptr(Profile) p = vm_running_profile(v, error);
    g_autoptr(Profile) dp = p ? (c->dest_profile ? cli_load_profile(c->dest_profile, error)
                                                 : vm_running_profile(v, error))
                              : NULL;
    g_autofree char *why = NULL;
    if (!dp)
        return NULL;
    if (p->tpm) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "refusing to migrate %s: it has a [tpm], and a destination on this host would "
                    "need a second swtpm on the same TPM state, which swtpm 0.7 does not hand "
                    "over (snapshot save/load keep the TPM's state)",
                    v->name);
        return NULL;
    }
    if (!share_refuse(p, "migrate", error))
        return NULL;
    if (!migrate_compatible(p, dp, &why)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "refusing to migrate %s: the destination "
                    "does not match: %s",
                    v->name, why);
        return NULL;
    }
    /* The source holds the forwarded host ports until it ends: the
     * destination starts without them and takes them over (take_forwards). */
    for (guint i = 0; i < dp->nets->len; i++)
        g_clear_pointer(&((ProfileNet *)dp->nets->pdata[i])->forwards, g_strfreev);
    g_autofree char *dname = g_strdup_printf("%s+incoming.%d", v->name, (int)getpid());
    g_autoptr(VmPaths) mine = vm_paths_new(dname);
    /* The source's guest RAM is a shared memfd: the destination maps the
     * same memory and nothing of it is copied (a VM started by an older
     * qlaunch has private RAM, which is copied as before). */
    /* Anything that shapes how RAM is sent (post-copy is incompatible with
     * x-ignore-shared; a bandwidth cap, xbzrle, auto-converge or multifd
     * are asked for to see it sent) copies it, as --copy-ram does. */
    /* With numa= the RAM is one memfd per node: it is copied. */
    g_autofree char *ram =
        dp->numa_nodes ? NULL : proc_find_fd(vm_read_pid(v), "/memfd:memory-backend-memfd");
    c->m.ignore_shared = ram && !c->copy_ram && !c->m.postcopy && !c->m.xbzrle &&
                         !c->m.auto_converge && c->m.multifd == 0 && c->bandwidth_mib <= 0;
    StartOpts so = { .incoming = TRUE,
                     .timeout_s = 60,
                     .ram_from = c->m.ignore_shared ? ram : NULL };
    g_autofree char *accel = NULL, *reason = NULL;
    g_autoptr(QmpConn) dqmp = start_vm(mine, dp, &so, &accel, &reason, error);
    if (!dqmp)
        return NULL; /* start_vm left nothing of it running */
    *dv = g_steal_pointer(&mine);
    *uri = g_strdup_printf("unix:%s/migrate.sock", (*dv)->dir);
    if (!migrate_listen(dqmp, *uri, &c->m, error))
        return NULL;
    return g_steal_pointer(&dqmp);
}

/* After a local migration, once the source is gone: its live forwards
 * (from the profile and added at run time) onto the destination. Returns
 * the rules it could not take over, as JSON (transfer full). */
static json_t *take_forwards(QmpConn *dqmp, json_t *fwds)
{
    json_t *lost = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(fwds, i, f)
    {
        const char *netdev = json_string_value(json_object_get(f, "netdev"));
        g_autofree char *rule =
            g_strdup_printf("%s:%s:%" JSON_INTEGER_FORMAT "-%s:%" JSON_INTEGER_FORMAT,
                            json_string_value(json_object_get(f, "proto")),
                            json_string_value(json_object_get(f, "host_addr")),
                            json_integer_value(json_object_get(f, "host_port")),
                            json_string_value(json_object_get(f, "guest_addr")),
                            json_integer_value(json_object_get(f, "guest_port")));
        g_autoptr(GError) e = NULL;
        /* the port is free once the killed source's sockets are released,
         * which can trail its exit on a loaded host: poll, with a deadline */
        gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
        gboolean ok = FALSE;
        while (netdev && g_str_has_prefix(netdev, "net-") &&
               !(ok = fwd_add(dqmp, netdev + 4, rule, &e)) && g_get_monotonic_time() < deadline &&
               strstr(e->message, "Could not set up")) {
            g_clear_error(&e);
            g_usleep(50000);
        }
        if (!ok)
            json_array_append_new(
                lost, json_pack("{s:s, s:s}", "rule", rule, "error", e ? e->message : "no netdev"));
    }
    return lost;
}

static int migrate_failed(VmPaths *v, QmpConn *src, VmPaths *dv, const GError *err, GError **error)
{
    if (g_error_matches(err, VM_ERROR, VM_ERROR_POSTCOPY)) {
        g_autofree char *state = vm_run_state(src, 5000);
        return cli_failf(error,
                         "migration of %s: %s. The source is %s and serves the pages the "
                         "destination still lacks%s%s; both QEMUs are left running: see "
                         "'qlaunch qmp %s '{\"execute\":\"query-migrate\"}''",
                         v->name, err->message, state ? state : "not answering",
                         dv ? "; the destination's runtime dir is " : "", dv ? dv->dir : "",
                         v->name);
    }
    if (dv)
        discard_destination(dv);
    migrate_unshare(src, NULL); /* it runs on: its snapshots must save RAM */
    /* QEMU resumes a source that ran once a migration fails or is cancelled. */
    g_autofree char *state = vm_run_state(src, 5000);
    return cli_failf(error,
                     "migration of %s did not complete: %s. The VM keeps running on the source "
                     "(state %s)%s",
                     v->name, err->message, state ? state : "unknown",
                     dv ? "; the destination was removed" : "");
}

static int run_migration(VmPaths *v, pid_t pid, MigrateCli *c, const char *target, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpConn) src = vm_qmp_open(v, 10000, &err);
    if (!src)
        return cli_fail(error, &err);
    g_autoptr(VmPaths) dv = NULL;
    g_autofree char *uri = g_strdup(target);
    g_autoptr(QmpConn) dqmp = NULL;
    if (c->local && !(dqmp = start_destination(v, c, &dv, &uri, &err))) {
        if (dv)
            discard_destination(dv);
        return cli_fail(error, &err);
    }
    if (!migrate_configure(src, &c->m, FALSE, &err))
        return migrate_failed(v, src, dv, err, error);
    /* before the forwards are listed: a local destination takes the
     * probe's over with the others */
    MigrateProbe *probe = NULL;
    if (c->probe) {
        g_autoptr(Profile) p = vm_running_profile(v, &err);
        probe = p ? migrate_probe_start(v, p, src, (guint)c->probe_interval_ms, &err) : NULL;
        if (!probe)
            return migrate_failed(v, src, dv, err, error);
    }
    json_auto_t *fwds = c->local ? fwd_list(src, NULL) : NULL;
    g_autofree char *was = vm_run_state(src, 5000);
    proc_catch_interrupts(TRUE);
    migrate_probe_mark_start(probe);
    json_auto_t *info = migrate_run(src, uri, &c->m, &proc_interrupted, show_progress, NULL,
                                    c->timeout_s * 1000LL, &err);
    migrate_probe_mark_end(probe);
    proc_catch_interrupts(FALSE);
    if (isatty(2) && !cli_quiet)
        fprintf(stderr, "\n");
    if (!info) {
        migrate_probe_abort(probe, v, src);
        return migrate_failed(v, src, dv, err, error);
    }
    json_auto_t *summary = migrate_summary(info, &c->m);
    g_autofree char *dstate = NULL;
    if (c->local && !destination_ready(dqmp, was ? was : "running", &dstate, 10000)) {
        migrate_probe_abort(probe, v, NULL);
        return cli_failf(error,
                         "migration of %s completed but the destination is %s, not %s as the "
                         "source was; both QEMUs are left for inspection (%s, %s)",
                         v->name, dstate ? dstate : "not answering", was ? was : "running", v->dir,
                         dv->dir);
    }
    end_source(src, pid, c->local);
    g_clear_pointer(&src, qmp_conn_free);
    if (c->local) {
        if (!hand_over(v, dv, &err)) {
            migrate_probe_abort(probe, v, NULL);
            return cli_fail(error, &err);
        }
        if (c->m.ignore_shared && !migrate_unshare(dqmp, &err)) {
            migrate_probe_abort(probe, v, dqmp);
            return cli_failf(error,
                             "VM %s migrated, but x-ignore-shared could not be turned off on the "
                             "new QEMU (%s): a snapshot save would skip its RAM",
                             v->name, err->message);
        }
        json_t *lost = take_forwards(dqmp, fwds);
        migrate_probe_mark_forwards(probe);
        json_object_set_new(summary, "forwards", json_integer((json_int_t)json_array_size(fwds)));
        size_t i;
        json_t *l;
        json_array_foreach(lost, i, l)
            fprintf(stderr, "qlaunch: forward %s could not be taken over by the destination: %s\n",
                    json_string_value(json_object_get(l, "rule")),
                    json_string_value(json_object_get(l, "error")));
        json_object_set_new(summary, "forwards_lost", lost);
        json_object_set_new(summary, "old_pid", json_integer(pid));
        json_object_set_new(summary, "new_pid", json_integer(vm_read_pid(v)));
        if (probe)
            json_object_set_new(summary, "probe", migrate_probe_finish(probe, v, dqmp));
    } else {
        vm_runtime_remove(v); /* the VM now lives at the destination */
    }
    g_autofree char *where =
        c->local ? g_strdup_printf("locally (pid %d -> %d)", (int)pid, (int)vm_read_pid(v))
                 : g_strdup_printf("to %s", target);
    print_summary(summary, v->name, where, c->json);
    if (proc_interrupted)
        fprintf(stderr, "qlaunch: interrupted after the switch to post-copy, when the VM already "
                        "ran at the destination: the migration was let finish\n");
    return EXIT_OK;
}

int cmd_migrate(int argc, char **argv, GError **error)
{
    MigrateCli c = { .timeout_s = 600 };
    GOptionEntry entries[] = {
        { "local", 0, 0, G_OPTION_ARG_NONE, &c.local,
          "Migrate into a new QEMU on this host; the VM keeps its name", NULL },
        { "copy-ram", 0, 0, G_OPTION_ARG_NONE, &c.copy_ram,
          "--local: copy guest RAM as to another host, instead of the destination mapping the "
          "source's shared RAM",
          NULL },
        { "profile", 0, 0, G_OPTION_ARG_FILENAME, &c.dest_profile,
          "--local: start the destination from this profile (must match)", "FILE" },
        { "downtime-limit", 0, 0, G_OPTION_ARG_INT, &c.m.downtime_limit_ms,
          "Maximum downtime in ms (QEMU default 300)", "MS" },
        { "bandwidth", 0, 0, G_OPTION_ARG_INT, &c.bandwidth_mib,
          "Bandwidth cap in MiB/s (default: 128; unlimited with --local)", "MIB" },
        { "postcopy", 0, 0, G_OPTION_ARG_NONE, &c.m.postcopy,
          "Switch to post-copy after the first pass", NULL },
        { "xbzrle", 0, 0, G_OPTION_ARG_NONE, &c.m.xbzrle, "Compress re-sent pages (xbzrle)", NULL },
        { "auto-converge", 0, 0, G_OPTION_ARG_NONE, &c.m.auto_converge,
          "Throttle vCPUs until it converges", NULL },
        { "multifd", 0, 0, G_OPTION_ARG_INT, &c.m.multifd, "Send over N channels", "N" },
        { "timeout", 't', 0, G_OPTION_ARG_INT, &c.timeout_s,
          "Cancel after S seconds (600); after the switch to post-copy it is never cancelled",
          "S" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &c.json, "Print the metrics as JSON", NULL },
        { "probe", 0, 0, G_OPTION_ARG_NONE, &c.probe,
          "--local: measure what the guest's users see (a UDP echo stream and the guest's "
          "clock)",
          NULL },
        { "probe-interval", 0, 0, G_OPTION_ARG_INT, &c.probe_interval_ms,
          "--probe: ms between datagrams (10)", "MS" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_autofree char *dest_profile = c.dest_profile;
    if (c.local == (argc == 3)) {
        fprintf(stderr, "qlaunch migrate: give either a destination URI or --local\n");
        return EXIT_USAGE;
    }
    if (c.probe && !c.local)
        return cli_usagef("migrate", "--probe needs --local: after the switch the host must still "
                                     "reach the guest it measures");
    if (c.probe_interval_ms == 0)
        c.probe_interval_ms = 10;
    if (c.probe_interval_ms < 1 || c.probe_interval_ms > 1000)
        return cli_usagef("migrate", "--probe-interval must be 1 to 1000 ms");
    if (c.bandwidth_mib > 0)
        c.m.bandwidth_bps = (guint64)c.bandwidth_mib << 20;
    else if (c.local)
        c.m.bandwidth_bps = 100ull << 30; /* loopback: do not throttle */
    g_autoptr(GError) err = NULL;
    if (!c.local && !migrate_uri_valid(argv[2], &err))
        return cli_fail(error, &err);
    pid_t pid = 0;
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], &pid, &err);
    if (!v)
        return cli_fail(error, &err);
    /* one migration (or start or stop) of a VM at a time */
    int lock = vm_lock(v, &err);
    if (lock < 0)
        return cli_fail(error, &err);
    int rc = run_migration(v, pid, &c, c.local ? NULL : argv[2], error);
    close(lock);
    return rc;
}
