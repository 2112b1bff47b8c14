/* qlaunch memory VM [SIZE]: a running VM's memory through its balloon
 * (QMP balloon and query-balloon), with the guest's own view read back. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "balloon.h"
#include "stats.h"

#define QMP_TIMEOUT_MS 10000
#define MIB (1024.0 * 1024.0)
/* Below this the guest has too little left to run (the embedded guest
 * needs about 40 MiB; a systemd guest more). */
#define MEMORY_MIN_BYTES (64ull << 20)

static void print_state(VmPaths *v, const Profile *p, json_int_t target, json_int_t actual,
                        json_t *guest)
{
    printf("VM %s: %.0f MiB configured, balloon target %.0f MiB, actual %.0f MiB", v->name,
           (double)p->memory_mib, target / MIB, actual / MIB);
    if (guest)
        printf("; guest MemTotal %.0f MiB, %.0f MiB available\n",
               stats_num(guest, "total_bytes") / MIB, stats_num(guest, "available_bytes") / MIB);
    else
        printf("; guest: no agent answer\n");
}

int cmd_memory(int argc, char **argv, GError **error)
{
    int timeout_s = 60;
    gboolean no_wait = FALSE, json = FALSE;
    GOptionEntry entries[] = {
        { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
          "Seconds to wait for the guest to reach the target (60)", "S" },
        { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait, "Set the target and return at once", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    if (timeout_s <= 0)
        return cli_usagef("memory", "--timeout must be a positive number of seconds");
    guint64 want = 0;
    if (argc > 2 && (!profile_parse_size(argv[2], 1024 * 1024, &want) || want == 0))
        return cli_usagef("memory",
                          "'%s' is not a memory size: give e.g. 256M or 1G (plain numbers are MiB)",
                          argv[2]);
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], NULL, error);
    if (!v)
        return EXIT_FAIL;
    g_autoptr(Profile) p = vm_running_profile(v, error);
    if (!p)
        return EXIT_FAIL;
    if (!p->balloon)
        return cli_failf(error,
                         "VM %s has no balloon device: set balloon=true in [vm] of %s and "
                         "restart it (qlaunch stop %s; qlaunch start %s)",
                         v->name, p->path, v->name, p->path);
    guint64 ram = p->memory_mib << 20;
    if (want > ram)
        return cli_failf(error,
                         "VM %s: %s is more than its %" G_GUINT64_FORMAT
                         " MiB ([vm] memory= in %s): the balloon can only give back what it "
                         "took; to grow the VM, raise memory= and restart it",
                         v->name, argv[2], p->memory_mib, p->path);
    if (want && want < MEMORY_MIN_BYTES)
        return cli_failf(error,
                         "VM %s: %s would leave the guest too little memory to run; give at "
                         "least %llu MiB",
                         v->name, argv[2], MEMORY_MIN_BYTES >> 20);

    g_autoptr(QmpConn) qmp = vm_qmp_open(v, QMP_TIMEOUT_MS, error);
    if (!qmp)
        return EXIT_FAIL;
    if (want && !balloon_set(v, qmp, want, error))
        return EXIT_FAIL;
    json_auto_t *meta = vm_meta_read(v);
    json_int_t target = json_integer_value(json_object_get(meta, "balloon_target_bytes"));
    if (target <= 0)
        target = (json_int_t)ram; /* never set: the balloon is empty */
    guint64 qemu_ram = balloon_ram_bytes(v, p->memory_mib);
    json_int_t actual = -1;
    gboolean reached =
        balloon_wait(qmp, (guint64)target, qemu_ram,
                     want && !no_wait ? (gint64)timeout_s * 1000 : 0, &actual, error);
    if (actual < 0)
        return EXIT_FAIL;
    g_clear_pointer(&qmp, qmp_conn_free);

    json_auto_t *guest = NULL;
    g_autoptr(QmpConn) qga = p->agent ? vm_qga_open(v, QMP_TIMEOUT_MS, NULL) : NULL;
    if (qga)
        guest = stats_guest_memory(qga);
    if (json) {
        json_auto_t *j = json_pack("{s:s, s:I, s:I, s:I, s:b, s:O?}", "name", v->name,
                                   "configured_bytes", (json_int_t)ram, "target_bytes", target,
                                   "actual_bytes", actual, "reached", reached, "guest", guest);
        cli_print_json(j);
    } else if (!cli_quiet || !reached) {
        print_state(v, p, target, actual, guest);
    }
    if (want && !no_wait && !reached)
        return cli_failf(error,
                         "VM %s: the guest's balloon driver has reached %.0f of the %.0f MiB "
                         "target in %d s; it may still be working (qlaunch memory %s shows it), "
                         "or the guest cannot give more back",
                         v->name, actual / MIB, MIN((guint64)target, qemu_ram) / MIB, timeout_s,
                         v->name);
    return EXIT_OK;
}
