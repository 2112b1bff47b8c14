/* qlaunch start: parse, call the lifecycle (lifecycle.c), report. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "migrate.h"
#include "snapshot.h"

static int report_started(VmPaths *v, const Profile *p, const char *accel, const char *reason,
                          const StartOpts *o, gint64 t0)
{
    pid_t pid = vm_read_pid(v);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    const char *restore = start_restore_tag(p, o);
    if (o->json) {
        json_auto_t *j = json_pack("{s:s, s:i, s:s, s:s, s:s, s:f, s:s?}", "name", p->name, "pid",
                                   (int)pid, "accel", accel, "accel_reason", reason, "runtime_dir",
                                   v->dir, "seconds", secs, "restored_from", restore);
        cli_print_json(j);
    } else {
        g_autofree char *from =
            restore ? g_strdup_printf(" from snapshot '%s'", restore) : g_strdup("");
        printf("started %s%s (pid %d, accel %s: %s) in %.2f s\n", p->name, from, (int)pid, accel,
               reason, secs);
    }
    return EXIT_OK;
}

int cmd_start(int argc, char **argv, GError **error)
{
    StartOpts o = { .timeout_s = 120 };
    g_autofree char *incoming = NULL, *restore = NULL;
    MigrateOpts mig = { 0 };
    GOptionEntry entries[] = { { "wait-agent", 'w', 0, G_OPTION_ARG_NONE, &o.wait_agent,
                                 "Also wait until the guest agent answers", NULL },
                               { "foreground", 'f', 0, G_OPTION_ARG_NONE, &o.foreground,
                                 "Run QEMU attached (qlaunch becomes QEMU)", NULL },
                               { "postcopy", 0, 0, G_OPTION_ARG_NONE, &mig.postcopy,
                                 "--incoming: accept a post-copy migration", NULL },
                               { "multifd", 0, 0, G_OPTION_ARG_INT, &mig.multifd,
                                 "--incoming: accept N multifd channels", "N" },
                               { "incoming", 0, 0, G_OPTION_ARG_STRING, &incoming,
                                 "Start as a migration destination listening on URI "
                                 "(tcp:ADDR:PORT or unix:PATH)",
                                 "URI" },
                               { "restore", 'r', 0, G_OPTION_ARG_STRING, &restore,
                                 "Start from the saved state of snapshot SNAP (qlaunch snapshot "
                                 "save VM SNAP), not from a boot",
                                 "SNAP" },
                               { "force", 0, 0, G_OPTION_ARG_NONE, &o.force,
                                 "Use accel=kvm even where the KVM probe failed", NULL },
                               { "timeout", 't', 0, G_OPTION_ARG_INT, &o.timeout_s,
                                 "Seconds to wait for QEMU and the agent (120)", "S" },
                               { "json", 0, 0, G_OPTION_ARG_NONE, &o.json,
                                 "Print the result as JSON", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(GError) err = NULL;
    if (incoming && !migrate_uri_valid(incoming, &err))
        return cli_fail(error, &err);
    if (incoming && restore)
        return cli_usagef("start", "--restore and --incoming cannot be combined: a migration "
                                   "destination takes its state from the source");
    if (restore && !snapshot_name_valid(restore))
        return cli_usagef("start",
                          "--restore: '%s' is not a snapshot name (letters, digits, '.', '_', "
                          "'-'; starting with a letter or digit; not all digits)",
                          restore);
    o.restore = restore;
    g_autoptr(Profile) p = cli_load_profile(argv[1], &err);
    if (!p)
        return cli_fail(error, &err);
    cli_note_name(p);
    g_autoptr(VmPaths) v = vm_paths_new(p->name);
    g_autofree char *accel = NULL, *reason = NULL;
    o.incoming = incoming != NULL;
    proc_catch_interrupts(!o.foreground);
    g_autoptr(QmpConn) qmp = start_vm(v, p, &o, &accel, &reason, &err);
    proc_catch_interrupts(FALSE);
    if (!qmp)
        return cli_fail(error, &err);
    if (incoming && !migrate_listen(qmp, incoming, &mig, &err))
        return cli_fail(error, &err);
    return report_started(v, p, accel, reason, &o, t0);
}
