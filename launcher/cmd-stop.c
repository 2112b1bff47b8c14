/* qlaunch stop (graceful, escalating after deadlines) and kill. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "proc.h"

int cmd_stop(int argc, char **argv, GError **error)
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
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_autoptr(GError) err = NULL;
    pid_t pid = 0;
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], &pid, &err);
    if (!v)
        return cli_fail(error, &err);
    gint64 t0 = g_get_monotonic_time();
    proc_catch_interrupts(TRUE);
    /* one lifecycle change at a time: a start, another stop or a migration
     * of this VM is waited for (kill is not: it is the way out of those) */
    int lock = vm_lock_wait(v, (timeout_s + 30) * 1000LL, &proc_interrupted, &err);
    if (lock < 0 && g_file_test(v->dir, G_FILE_TEST_IS_DIR)) {
        proc_catch_interrupts(FALSE);
        return cli_fail(error, &err);
    }
    pid = lock >= 0 ? vm_read_pid(v) : 0; /* a migration meanwhile moved it to a new QEMU */
    if (!pid) {
        /* the stop that ended it removed the runtime dir, unless this one's
         * wait recreated the lock file in it first: leave nothing behind */
        if (lock >= 0) {
            vm_runtime_remove(v);
            close(lock);
        }
        proc_catch_interrupts(FALSE);
        return cli_failf(
            error, "VM %s is not running any more (another qlaunch stopped it meanwhile)", v->name);
    }
    const char *how = stop_vm(v, pid, timeout_s, !no_agent, TRUE);
    close(lock);
    proc_catch_interrupts(FALSE);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (!how)
        return cli_failf(error,
                         "stop of VM %s interrupted after %.1f s: the guest was asked to power "
                         "off and may still do so; QEMU (pid %d) runs on. 'qlaunch stop %s' "
                         "again waits for it, 'qlaunch kill %s' ends it now",
                         v->name, secs, (int)pid, v->name, v->name);
    if (proc_alive(pid))
        return cli_failf(error,
                         "VM %s: QEMU (pid %d) had not exited %.1f s after %s; its runtime dir "
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

int cmd_kill(int argc, char **argv, GError **error)
{
    if (!cli_parse(&argc, &argv, NULL))
        return EXIT_USAGE;
    g_autoptr(GError) err = NULL;
    pid_t pid = 0;
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], &pid, &err);
    if (!v)
        return cli_fail(error, &err);
    kill(pid, SIGKILL);
    if (!proc_wait_gone(pid, PROC_KILL_WAIT_MS))
        return cli_failf(error,
                         "VM %s: QEMU (pid %d) had not exited %d s after SIGKILL (stuck in the "
                         "kernel?); its runtime dir is kept",
                         v->name, (int)pid, PROC_KILL_WAIT_MS / 1000);
    vm_runtime_remove(v);
    printf("killed %s (pid %d)\n", v->name, (int)pid);
    return EXIT_OK;
}
