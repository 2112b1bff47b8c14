/* qlaunch start: parse, call the lifecycle (lifecycle.c), report. */
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* One clone of t named cname: its profile and overlays (template.c), then
 * a start like any VM's, from the template's state. */
static gboolean start_clone(Template *t, const char *cname, StartOpts *o, GError **error)
{
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(VmPaths) v = vm_paths_new(cname);
    if (vm_running_pid(v, NULL)) {
        g_set_error(error, VM_ERROR, VM_ERROR_BUSY, "VM %s is already running", cname);
        return FALSE;
    }
    g_autoptr(Profile) p = template_clone_profile(t, cname, error);
    g_autofree char *accel = NULL, *reason = NULL;
    g_autoptr(QmpConn) qmp = p ? start_vm(v, p, o, &accel, &reason, error) : NULL;
    if (!qmp)
        return FALSE;
    report_started(v, p, accel, reason, o, t0);
    fflush(stdout);
    return TRUE;
}

/* start TEMPLATE --name N | --clones K. K clones start side by side, one
 * child process each (a restore waits mostly on its guest, and the host
 * has more than one CPU), each bounded by --timeout. */
static int start_clones(const char *name, const char *clone, int clones, StartOpts *o,
                        GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Template) t = template_open(name, &err);
    if (!t)
        return cli_fail(error, &err);
    o->tmpl = t;
    proc_catch_interrupts(TRUE);
    if (clones <= 0) {
        gboolean ok = start_clone(t, clone, o, &err);
        proc_catch_interrupts(FALSE);
        return ok ? EXIT_OK : cli_fail(error, &err);
    }
    const char *prefix = clone ? clone : t->name;
    g_autofree pid_t *kids = g_new0(pid_t, clones);
    qlaunch_qemu_major(); /* asked once here, not by every child */
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < clones; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            g_autofree char *cname = g_strdup_printf("%s-%d", prefix, i + 1);
            g_autoptr(GError) cerr = NULL;
            gboolean ok = start_clone(t, cname, o, &cerr);
            if (!ok)
                fprintf(stderr, "qlaunch: clone %s: %s\n", cname, cerr->message);
            fflush(NULL);
            _exit(ok ? EXIT_OK : EXIT_FAIL);
        }
    }
    /* each child has its own deadlines; this one only bounds them all */
    gint64 deadline = g_get_monotonic_time() + (o->timeout_s + 60) * G_TIME_SPAN_SECOND;
    GString *failed = g_string_new(NULL);
    int nfail = 0;
    for (int i = 0; i < clones; i++) {
        int status = 0;
        pid_t r = 0;
        while (kids[i] > 0 && (r = waitpid(kids[i], &status, WNOHANG)) == 0 &&
               g_get_monotonic_time() < deadline)
            g_usleep(10000);
        if (kids[i] > 0 && r == 0) {
            kill(kids[i], SIGKILL);
            waitpid(kids[i], &status, 0);
        }
        if (kids[i] < 0 || r <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            g_string_append_printf(failed, "%s%s-%d", failed->len ? ", " : "", prefix, i + 1);
            nfail++;
        }
    }
    proc_catch_interrupts(FALSE);
    int rc = EXIT_OK;
    if (failed->len)
        rc = cli_failf(error,
                       "%d of the %d clones of template '%s' did not start: %s (why is above); "
                       "the others run",
                       nfail, clones, t->name, failed->str);
    g_string_free(failed, TRUE);
    return rc;
}

int cmd_start(int argc, char **argv, GError **error)
{
    StartOpts o = { .timeout_s = -1 }; /* -1: not given, 120 */
    g_autofree char *incoming = NULL, *restore = NULL, *clone = NULL;
    int clones = 0;
    gboolean eject = FALSE;
    g_autofree char *wait = NULL;
    MigrateOpts mig = { 0 };
    GOptionEntry entries[] = { { "wait-agent", 'w', 0, G_OPTION_ARG_NONE, &o.wait_agent,
                                 "Also wait until the guest agent answers", NULL },
                               { "wait", 0, 0, G_OPTION_ARG_STRING, &wait,
                                 "Also wait for agent, ssh (the guest's ssh server) or "
                                 "cloud-init (its status done), each with its own line",
                                 "WHAT" },
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
                               { "eject", 0, 0, G_OPTION_ARG_NONE, &eject,
                                 "Start with the CD-ROM drive empty, and keep it so (qlaunch "
                                 "media insert puts a disc back)",
                                 NULL },
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
    static const char *const waits[] = { "agent", "ssh", "cloud-init", NULL };
    if (wait && !g_strv_contains(waits, wait))
        return cli_usagef("start", "--wait: '%s' is not agent, ssh or cloud-init", wait);
    if (wait && (incoming || o.foreground))
        return cli_usagef("start", "--wait does not apply to --incoming or --foreground");
    gboolean timeout_given = o.timeout_s >= 0;
    if (!timeout_given)
        o.timeout_s = 120;
    if (wait)
        o.wait_agent = TRUE; /* ssh reads the host keys through it; cloud-init asks it */
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
    if (eject && !p->cdrom_drive)
        return cli_usagef("start", "--eject: profile %s has no CD-ROM drive ([boot] cdrom=)",
                          p->path);
    if (eject)
        platform_eject(p);
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
    if (eject && !platform_record_media(p->name, NULL, &err)) /* as a real drive: it stays out */
        return cli_fail(error, &err);
    int rc = report_started(v, p, accel, reason, &o, t0);
    if (rc != EXIT_OK || !wait || !strcmp(wait, "agent"))
        return rc;
    g_clear_pointer(&qmp, qmp_conn_free); /* QEMU's monitor takes one client at a time */
    /* a distribution's first boot (sshd keys, cloud-init's packages) takes
     * minutes under TCG: the deadline scales unless --timeout was given */
    int secs = timeout_given ? o.timeout_s : !strcmp(accel, "tcg") ? 900 : 300;
    if (!ssh_wait_ready(p->name, wait, secs, &err))
        return cli_failf(error, "start --wait %s: %s (the VM runs)", wait, err->message);
    cli_info("%s of %s ready %.2f s after the start", wait, p->name,
             (g_get_monotonic_time() - t0) / 1e6);
    return EXIT_OK;
}
