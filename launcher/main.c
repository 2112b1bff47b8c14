/* qlaunch: the verb table and dispatch; only here do errors become exit codes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const Verb verbs[] = {
    { "start", cmd_start, "PROFILE|NAME", "start a VM from a profile" },
    { "stop", cmd_stop, "VM", "shut a VM down gracefully (then quit, then SIGKILL)" },
    { "kill", cmd_kill, "VM", "kill a VM's QEMU at once" },
    { "pause", cmd_pause, "VM", "pause the vCPUs" },
    { "resume", cmd_resume, "VM", "resume a paused VM" },
    { "status", cmd_status, "VM", "state, pid, accelerator and why" },
    { "list", cmd_list, "", "VMs with a runtime dir" },
    { "cpus", cmd_cpus, "VM", "vCPU threads, host CPU, CPU time" },
    { "stats", cmd_stats, "VM", "CPU, memory, block and NIC counters (--interval, --json)" },
    { "top", cmd_top, "", "every running VM, refreshed (--once when not a terminal)" },
    { "console", cmd_console, "VM", "attach to the serial console (Ctrl-] detaches)" },
    { "exec", cmd_exec, "VM -- CMD [ARG...]", "run a command in the guest (guest agent)" },
    { "qmp", cmd_qmp, "VM 'JSON'", "send a raw QMP command" },
    { "snapshot", cmd_snapshot, "save|load|delete VM NAME", "internal snapshots (also: list VM)" },
    { "migrate", cmd_migrate, "VM URI|--local", "live migration, with its metrics" },
    { "export", cmd_export, "VM|PROFILE --format F",
      "libvirt domain XML, Proxmox qm config, or a sh script" },
    { "cmdline", cmd_cmdline, "PROFILE|NAME", "print the QEMU argv; start nothing" },
    { "doctor", cmd_doctor, "", "check what this host can run" },
    { "forward", cmd_forward, "add|remove|list VM [RULE]",
      "host forwards of a running VM (user mode)" },
    { "net", cmd_net, "start|stop|status NAME | list",
      "NAT networks: bridge, nftables masquerade, dnsmasq DHCP/DNS" },
    { "bench", cmd_bench, "PROFILE...", "sysbench in guests vs the host; --scenario, --compare" },
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qlaunch VERB [OPTIONS] ARGS   (qlaunch VERB --help for a verb's options)\n\n");
    for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
        g_autofree char *head = g_strdup_printf("%s %s", verbs[i].name, verbs[i].args);
        fprintf(f, "  %-28s %s\n", head, verbs[i].summary);
    }
    fprintf(
        f,
        "\nexit codes: 0 ok, 1 failure, 2 usage error; exec exits with the guest command's code\n");
}

static const char *closest_verb(const char *word)
{
    const char *best = NULL;
    gsize best_score = 0;
    for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
        /* common prefix length, a cheap and good enough measure for verbs */
        gsize n = 0;
        while (word[n] && word[n] == verbs[i].name[n])
            n++;
        if (n > best_score || (n == best_score && n > 0 && strstr(verbs[i].name, word))) {
            best_score = n;
            best = verbs[i].name;
        }
    }
    return best_score >= 2 ? best : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("qlaunch %s\n", QLAUNCH_VERSION);
        return EXIT_OK;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    }
    const char *hint = closest_verb(argv[1]);
    fprintf(stderr, "qlaunch: unknown verb '%s'%s%s%s; see qlaunch --help\n", argv[1],
            hint ? ", did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
    return EXIT_USAGE;
}
