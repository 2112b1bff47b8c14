/* qlaunch start: parse, call the lifecycle (lifecycle.c), report. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "migrate.h"
#include "proc.h"
#include "snapshot.h"

static int report_started(VmPaths *v, const Profile *p, const char *accel, const char *reason,
                          const StartOpts *o, gint64 t0)
{
    pid_t pid = vm_read_pid(v);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    const char *restore = start_restore_tag(p, o);
    const char *tmpl = o->tmpl ? o->tmpl->name : NULL;
    if (o->json) {
        json_auto_t *j =
            json_pack("{s:s, s:i, s:s, s:s, s:s, s:f, s:s?, s:s?}", "name", p->name, "pid",
                      (int)pid, "accel", accel, "accel_reason", reason, "runtime_dir", v->dir,
                      "seconds", secs, "restored_from", restore, "template", tmpl);
        cli_print_json(j);
    } else {
        g_autofree char *from = restore ? g_strdup_printf(" from snapshot '%s'", restore)
                                : tmpl  ? g_strdup_printf(" from template '%s'", tmpl)
                                        : g_strdup("");
        printf("started %s%s (pid %d, accel %s: %s) in %.2f s\n", p->name, from, (int)pid, accel,
               reason, secs);
    }
    return EXIT_OK;
}

/* start TEMPLATE --name N | --clones K: each clone gets its profile and
 * overlays (template.c), then starts like any VM, from the state. */
static int start_clones(const char *name, const char *clone, int clones, StartOpts *o,
                        GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Template) t = template_open(name, &err);
    if (!t)
        return cli_fail(error, &err);
    int n = clones > 0 ? clones : 1;
    const char *prefix = clone ? clone : t->name;
    o->tmpl = t;
    for (int i = 1; i <= n; i++) {
        gint64 t0 = g_get_monotonic_time();
        g_autofree char *cname = clones > 0 ? g_strdup_printf("%s-%d", prefix, i) : g_strdup(clone);
        g_autoptr(VmPaths) v = vm_paths_new(cname);
        if (vm_running_pid(v, NULL))
            return cli_failf(error, "VM %s is already running%s", cname,
                             i > 1 ? " (the clones before it were started)" : "");
        g_autoptr(Profile) p = template_clone_profile(t, cname, &err);
        g_autofree char *accel = NULL, *reason = NULL;
        proc_catch_interrupts(TRUE);
        g_autoptr(QmpConn) qmp = p ? start_vm(v, p, o, &accel, &reason, &err) : NULL;
        proc_catch_interrupts(FALSE);
        if (!qmp) {
            if (i > 1)
                g_prefix_error(&err, "clone %s (the %d before it run): ", cname, i - 1);
            return cli_fail(error, &err);
        }
        report_started(v, p, accel, reason, o, t0);
    }
    return EXIT_OK;
}

int cmd_start(int argc, char **argv, GError **error)
{
    StartOpts o = { .timeout_s = 120 };
    g_autofree char *incoming = NULL, *restore = NULL, *clone = NULL;
    int clones = 0;
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
                               { "name", 0, 0, G_OPTION_ARG_STRING, &clone,
                                 "Start a clone named N of the template given (qlaunch template "
                                 "save)",
                                 "N" },
                               { "clones", 0, 0, G_OPTION_ARG_INT, &clones,
                                 "Start K clones of the template given (named TEMPLATE-1...; "
                                 "with --name, N-1...)",
                                 "K" },
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
    if (clone || clones) {
        if (clones < 0 || clones > 64)
            return cli_usagef("start", "--clones takes 1 to 64");
        if (incoming || restore || o.foreground || mig.postcopy || mig.multifd)
            return cli_usagef("start", "--name/--clones start clones of a template; "
                                       "--incoming, --restore and --foreground do not apply");
        return start_clones(argv[1], clone, clones, &o, error);
    }
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
