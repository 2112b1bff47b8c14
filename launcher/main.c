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
    { "list", cmd_list, "[--all]", "VMs with a runtime dir; --all: every profile's VM too" },
    { "profiles", cmd_profiles, "", "profiles on the search path, their VMs and state" },
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
    fprintf(f, "usage: qlaunch [-q|-v] VERB [OPTIONS] ARGS   (qlaunch help VERB, or qlaunch VERB "
               "--help, for a verb's options)\n\n");
    for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
        g_autofree char *head = g_strdup_printf("%s %s", verbs[i].name, verbs[i].args);
        if (strlen(head) > 28) /* a long argument list gets a line of its own */
            fprintf(f, "  %s\n  %-28s %s\n", head, "", verbs[i].summary);
        else
            fprintf(f, "  %-28s %s\n", head, verbs[i].summary);
    }
    fprintf(f, "\nexit codes: 0 ok, 1 failure, 2 usage error; exec exits with the guest command's "
               "code;\nstatus: 0 running or paused, 1 unresponsive or refused, 3 not running, 4 no "
               "such VM\n");
}

static const Verb *find_verb(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++)
        if (strcmp(name, verbs[i].name) == 0)
            return &verbs[i];
    return NULL;
}

static int unknown_verb(const char *word)
{
    const char *names[G_N_ELEMENTS(verbs) + 1];
    for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++)
        names[i] = verbs[i].name;
    names[G_N_ELEMENTS(verbs)] = NULL;
    g_autofree char *hint = cli_did_you_mean(word, names);
    fprintf(stderr, "qlaunch: unknown verb '%s'%s; see qlaunch --help\n", word, hint);
    return EXIT_USAGE;
}

static gboolean is_global_option(const char *a)
{
    return !strcmp(a, "-q") || !strcmp(a, "--quiet") || !strcmp(a, "-v") || !strcmp(a, "--verbose");
}

/* The lifecycle's notes (g_message in the "qlaunch" domain), as cli_info */
static void show_note(const gchar *domain, GLogLevelFlags level, const gchar *message,
                      gpointer data)
{
    (void)domain, (void)level, (void)data;
    cli_info("%s", message);
}

int main(int argc, char **argv)
{
    g_log_set_handler("qlaunch", G_LOG_LEVEL_MESSAGE, show_note, NULL);
    /* global options before the verb (qlaunch -v list) go after it, where
     * every verb's parser takes them */
    int first = 1;
    while (first < argc && is_global_option(argv[first]))
        first++;
    if (first >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *word = argv[first];
    if (!strcmp(word, "--help") || !strcmp(word, "-h") || !strcmp(word, "help")) {
        if (!strcmp(word, "help") && first + 1 < argc) { /* qlaunch help VERB */
            const Verb *v = find_verb(argv[first + 1]);
            if (!v)
                return unknown_verb(argv[first + 1]);
            char *help[] = { argv[first + 1], "--help", NULL };
            return v->run(2, help, NULL);
        }
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(word, "--version")) {
        printf("qlaunch %s\n", QLAUNCH_VERSION);
        return EXIT_OK;
    }
    const Verb *v = find_verb(word);
    if (!v)
        return unknown_verb(word);
    /* argv for the verb: VERB, the global options, the rest */
    g_autofree char **vargv = g_new0(char *, (gsize)argc + 1);
    int n = 0;
    vargv[n++] = argv[first];
    for (int i = 1; i < first; i++)
        vargv[n++] = argv[i];
    for (int i = first + 1; i < argc; i++)
        vargv[n++] = argv[i];
    g_autoptr(GError) err = NULL;
    int rc = v->run(n, vargv, &err);
    if (err) /* every verb's failure is printed here, once */
        fprintf(stderr, "qlaunch: %s\n", err->message);
    return rc;
}
