/* qlaunch stop (graceful, escalating after deadlines) and kill. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "proc.h"

/* How long a SIGKILLed QEMU may take to exit. */
#define KILL_WAIT_MS 30000

/* Asks the guest to power off: through the agent (it syncs and flushes our
 * guest's disks), else an ACPI power button press. Returns what was tried. */
static const char *request_shutdown(VmPaths *v, QmpConn *qmp, gboolean use_agent)
{
    if (use_agent && g_file_test(v->qga, G_FILE_TEST_EXISTS)) {
        g_autoptr(GError) err = NULL;
        g_autoptr(QmpConn) qga = qmp_conn_connect(v->qga, QMP_MODE_AGENT, 1000, &err);
        if (qga && qga_shutdown(qga, "powerdown", 3000, &err))
            return "guest agent shutdown";
    }
    if (qmp) {
        json_auto_t *r = qmp_conn_execute(qmp, "system_powerdown", NULL, 3000, NULL);
        if (r)
            return "ACPI powerdown";
    }
    return NULL;
}

/* Waits up to timeout_ms for pid to exit; with interruptible, gives up
 * early when SIGINT/SIGTERM arrives. TRUE when it is gone. */
static gboolean wait_gone(pid_t pid, gint64 timeout_ms, gboolean interruptible)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    while (proc_alive(pid)) {
        if (g_get_monotonic_time() >= deadline || (interruptible && proc_interrupted))
            return FALSE;
        g_usleep(10000);
    }
    return TRUE;
}

const char *stop_vm(VmPaths *v, pid_t pid, int timeout_s, gboolean use_agent,
                    gboolean interruptible)
{
    g_autoptr(QmpConn) qmp = vm_qmp_open(v, 5000, NULL);
    /* a panicked guest cannot power off: no point waiting for it */
    gboolean panicked = qmp && vm_guest_panicked(v, qmp);
    if (panicked)
        cli_info("%s: the guest kernel had panicked; telling QEMU to quit", v->name);
    const char *how = panicked ? NULL : request_shutdown(v, qmp, use_agent);
    if (how && !wait_gone(pid, timeout_s * 1000LL, interruptible) && interruptible &&
        proc_interrupted)
        return NULL; /* asked to power off; the guest may still do so */
    if (!how || proc_alive(pid)) {
        if (!panicked)
            cli_info("%s: guest did not power off within %d s; telling QEMU to quit", v->name,
                     timeout_s);
        json_auto_t *r = qmp ? qmp_conn_execute(qmp, "quit", NULL, 3000, NULL) : NULL;
        how = "QEMU quit";
        if (!proc_wait_gone(pid, 5000)) {
            kill(pid, SIGKILL);
            /* a killed QEMU still unmaps its guest RAM: on a loaded host
             * that takes a while */
            proc_wait_gone(pid, KILL_WAIT_MS);
            how = "SIGKILL";
        }
    }
    g_clear_pointer(&qmp, qmp_conn_free);
    if (!proc_alive(pid)) /* else the caller says so; the dir stays for kill */
        vm_runtime_remove(v);
    return how;
}

int cmd_stop(int argc, char **argv)
{
    int timeout_s = 30;
    gboolean no_agent = FALSE, json = FALSE;
    GOptionEntry entries[] = {
        { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
          "Seconds for the guest to power off before QEMU is told to quit (30)", "S" },
        { "no-agent", 0, 0, G_OPTION_ARG_NONE, &no_agent,
          "Use ACPI powerdown only, not the guest agent", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries, "VM",
                   "Shut a VM down gracefully: guest shutdown, then "
                   "QEMU quit, then SIGKILL, each after a deadline.",
                   1, 1))
        return EXIT_USAGE;
    g_autoptr(GError) err = NULL;
    pid_t pid = 0;
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], &pid, &err);
    if (!v)
        return cli_fail(err);
    gint64 t0 = g_get_monotonic_time();
    proc_catch_interrupts(TRUE);
    /* one lifecycle change at a time: a start, another stop or a migration
     * of this VM is waited for (kill is not: it is the way out of those) */
    int lock = vm_lock_wait(v, (timeout_s + 30) * 1000LL, &proc_interrupted, &err);
    if (lock < 0 && g_file_test(v->dir, G_FILE_TEST_IS_DIR)) {
        proc_catch_interrupts(FALSE);
        return cli_fail(err);
    }
    pid = lock >= 0 ? vm_read_pid(v) : 0; /* a migration meanwhile moved it to a new QEMU */
    if (!pid) {
        if (lock >= 0)
            close(lock);
        proc_catch_interrupts(FALSE);
        return cli_failf("VM %s is not running any more (another qlaunch stopped it meanwhile)",
                         v->name);
    }
    const char *how = stop_vm(v, pid, timeout_s, !no_agent, TRUE);
    close(lock);
    proc_catch_interrupts(FALSE);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (!how)
        return cli_failf("stop of VM %s interrupted after %.1f s: the guest was asked to power "
                         "off and may still do so; QEMU (pid %d) runs on. 'qlaunch stop %s' "
                         "again waits for it, 'qlaunch kill %s' ends it now",
                         v->name, secs, (int)pid, v->name, v->name);
    if (proc_alive(pid))
        return cli_failf("VM %s: QEMU (pid %d) had not exited %.1f s after %s; its runtime dir "
                         "is kept: try 'qlaunch kill %s'",
                         v->name, (int)pid, secs, how, v->name);
    if (json) {
        json_auto_t *j = json_pack("{s:s, s:s, s:f, s:i}", "vm", v->name, "method", how, "seconds",
                                   secs, "pid", (int)pid);
        cli_print_json(j);
    } else {
        printf("stopped %s (%s, %.2f s)\n", v->name, how, secs);
    }
    return EXIT_OK;
}

int cmd_kill(int argc, char **argv)
{
    if (!cli_parse(&argc, &argv, NULL, "VM",
                   "Kill a VM's QEMU at once (SIGKILL); unsaved guest "
                   "data is lost.",
                   1, 1))
        return EXIT_USAGE;
    g_autoptr(GError) err = NULL;
    pid_t pid = 0;
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], &pid, &err);
    if (!v)
        return cli_fail(err);
    kill(pid, SIGKILL);
    if (!proc_wait_gone(pid, KILL_WAIT_MS))
        return cli_failf("VM %s: QEMU (pid %d) had not exited %d s after SIGKILL (stuck in the "
                         "kernel?); its runtime dir is kept",
                         v->name, (int)pid, KILL_WAIT_MS / 1000);
    vm_runtime_remove(v);
    printf("killed %s (pid %d)\n", v->name, (int)pid);
    return EXIT_OK;
}
