/* The verb table: every verb's name, handler, arguments, one-line summary
 * (qlaunch --help), description (qlaunch VERB --help), argument counts
 * and sub-verbs, in one place. */
#include <string.h>

#include "commands.h"

static const char *const snapshot_subverbs[] = { "save", "load", "delete", "list", NULL };
static const char *const template_subverbs[] = { "save", "list", "delete", NULL };
static const char *const forward_subverbs[] = { "add", "remove", "list", NULL };
static const char *const net_subverbs[] = { "start", "stop", "status", "list", NULL };
static const char *const disk_subverbs[] = { "resize", NULL };

const Verb cli_verbs[] = {
    { .name = "start",
      .run = cmd_start,
      .args = "PROFILE|NAME",
      .summary = "start a VM from a profile",
      .description = "Start a VM from a profile.",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "stop",
      .run = cmd_stop,
      .args = "VM",
      .summary = "shut a VM down gracefully (then quit, then SIGKILL)",
      .description = "Shut a VM down gracefully: guest shutdown, then "
                     "QEMU quit, then SIGKILL, each after a deadline.",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "kill",
      .run = cmd_kill,
      .args = "VM",
      .summary = "kill a VM's QEMU at once",
      .description = "Kill a VM's QEMU at once (SIGKILL); unsaved guest "
                     "data is lost.",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "pause",
      .run = cmd_pause,
      .args = "VM",
      .summary = "pause the vCPUs",
      .description = "Pause a VM's vCPUs (QMP stop).",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "resume",
      .run = cmd_resume,
      .args = "VM",
      .summary = "resume a paused VM",
      .description = "Resume a paused VM (QMP cont).",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "status",
      .run = cmd_status,
      .args = "VM",
      .summary = "state, pid, accelerator and why",
      .description = "Show a VM's state, pid, accelerator and why.",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "list",
      .run = cmd_list,
      .args = "",
      .summary = "VMs with a runtime dir; --all: every profile's VM too",
      .description = "List the VMs that have a runtime dir (running, or left stale); with --all, "
                     "also those of every profile.",
      .min_pos = 0,
      .max_pos = 0,
      .subverbs = NULL },
    { .name = "profiles",
      .run = cmd_profiles,
      .args = "",
      .summary = "profiles on the search path, their VMs and state",
      .description = "Every profile on the search path ($QLAUNCH_PROFILE_PATH, ./profiles, "
                     "~/.config/qlaunch/profiles, beside the binary, the installed ones; the first "
                     "of a name wins), the VM it defines and whether that VM runs.",
      .min_pos = 0,
      .max_pos = 0,
      .subverbs = NULL },
    { .name = "cpus",
      .run = cmd_cpus,
      .args = "VM",
      .summary = "vCPU threads, host CPU, CPU time",
      .description = "List vCPUs: index, host thread, last host CPU, "
                     "CPU time.",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "stats",
      .run = cmd_stats,
      .args = "VM",
      .summary = "CPU, memory, block and NIC counters (--interval, --json)",
      .description = "A running VM's counters: vCPU CPU time and %, QEMU's RSS, guest memory, "
                     "block I/O and latency, NIC traffic.",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "memory",
      .run = cmd_memory,
      .args = "VM [SIZE]",
      .summary = "show or set a running VM's memory through its balloon",
      .description = "Show a running VM's memory (configured, balloon target and actual, the "
                     "guest's MemTotal), or with SIZE (e.g. 256M) inflate or deflate its balloon "
                     "to that and wait until the guest has (QMP balloon; needs balloon=true).",
      .min_pos = 1,
      .max_pos = 2,
      .subverbs = NULL },
    { .name = "top",
      .run = cmd_top,
      .args = "",
      .summary = "every running VM, refreshed (--once when not a terminal)",
      .description = "Every running VM, refreshed: state, vCPUs, CPU %, RSS, disk and net rates.",
      .min_pos = 0,
      .max_pos = 0,
      .subverbs = NULL },
    { .name = "console",
      .run = cmd_console,
      .args = "VM",
      .summary = "attach to the serial console (Ctrl-] detaches)",
      .description = "Attach to the VM's serial console. Ctrl-] "
                     "detaches (the VM keeps running).",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "exec",
      .run = cmd_exec,
      .args = "VM -- COMMAND [ARG...]",
      .summary = "run a command in the guest (guest agent)",
      .description = "Run a command in the guest "
                     "through the guest agent; print its output and exit with its exit code. "
                     "With -i, this command's standard input becomes the command's, e.g. "
                     "'tar c . | qlaunch exec -i VM -- tar x -C /dst'.",
      .min_pos = 2,
      .max_pos = -1,
      .subverbs = NULL },
    { .name = "cp",
      .run = cmd_cp,
      .args = "[-r] SRC... DEST",
      .summary = "copy files between the host and a guest (guest agent)",
      .description = "Copy files, or directories with -r, to or from a guest through its agent "
                     "(no network needed in the guest); one side is VM:PATH, e.g. "
                     "'qlaunch cp data.bin tiny:/tmp/' or 'qlaunch cp -r tiny:/etc ./etc'. "
                     "A file is written under a temporary name and renamed when complete, its "
                     "mode kept.",
      .min_pos = 2,
      .max_pos = -1,
      .subverbs = NULL },
    { .name = "ssh",
      .run = cmd_ssh,
      .args = "VM [-- COMMAND [ARG...]]",
      .summary = "ssh into the guest (port 22 found, host key checked)",
      .description = "ssh into a running guest, or run a command there and exit with its code: "
                     "port 22 through the VM's user-mode forward (one is added when there is "
                     "none) or its DHCP lease on a NAT network, as [cloud-init] user= with the "
                     "VM's key, the guest's host keys read through the agent into a known_hosts "
                     "of the VM's own. Each argument reaches the guest as given (quoted for its "
                     "shell; use sh -c for a pipeline).",
      .min_pos = 1,
      .max_pos = -1,
      .subverbs = NULL },
    { .name = "ssh-config",
      .run = cmd_ssh_config,
      .args = "VM",
      .summary = "print a Host block for ~/.ssh/config",
      .description = "Print a Host block for ~/.ssh/config that reaches the running VM as qlaunch "
                     "ssh does (address, port, user, key, its own known_hosts).",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "qmp",
      .run = cmd_qmp,
      .args = "VM 'JSON'",
      .summary = "send a raw QMP command",
      .description = "Send one raw QMP command, e.g. "
                     "'{\"execute\":\"query-status\"}', and print its return value as JSON.",
      .min_pos = 2,
      .max_pos = 2,
      .subverbs = NULL },
    { .name = "snapshot",
      .run = cmd_snapshot,
      .args = "save|load|delete VM NAME | list VM",
      .summary = "internal snapshots (also: list VM)",
      .description = "Internal snapshots: live (memory and disks) on a running VM, disk-only "
                     "through qemu-img on a stopped one.",
      .min_pos = 2,
      .max_pos = 3,
      .subverbs = snapshot_subverbs },
    { .name = "template",
      .run = cmd_template,
      .args = "save VM NAME | list | delete NAME",
      .summary = "a running VM's state saved once, to start clones from",
      .description = "Templates: 'save' pauses a running VM, writes its device state, RAM and "
                     "disks to a template and resumes it; 'qlaunch start NAME --name N' (or "
                     "--clones K) starts clones from it; 'delete' is refused while clones use it.",
      .min_pos = 1,
      .max_pos = 3,
      .subverbs = template_subverbs },
    { .name = "delete",
      .run = cmd_delete,
      .args = "VM",
      .summary = "remove a stopped VM's state (its disks made by qlaunch, records)",
      .description = "Remove a stopped VM's state directory: the disks qlaunch made for it, "
                     "its snapshot records, a clone's overlays. Refused while it runs. Disks "
                     "given with file= elsewhere are left.",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "display",
      .run = cmd_display,
      .args = "VM",
      .summary = "how to reach a VM's VNC or SPICE display (runs a viewer if it can)",
      .description = "Print how to reach a running VM's display ([display] type=vnc|spice): the "
                     "unix socket or address, a viewer's command line and the ssh -L line for "
                     "another machine; with $DISPLAY and remote-viewer installed, run it "
                     "(--print: never).",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "screenshot",
      .run = cmd_screenshot,
      .args = "VM FILE.png|FILE.ppm",
      .summary = "a picture of a VM's screen (QMP screendump)",
      .description = "Save a picture of a running VM's screen (its [display] vga=, with or "
                     "without a VNC/SPICE server) as PNG, or PPM.",
      .min_pos = 2,
      .max_pos = 2,
      .subverbs = NULL },
    { .name = "sendkey",
      .run = cmd_sendkey,
      .args = "VM [KEY-COMBO...] [--type TEXT]",
      .summary = "press keys on a VM's keyboard (e.g. ret, ctrl-alt-delete)",
      .description = "Press keys on a running VM's keyboard (QMP send-key): each argument is "
                     "one press of keys joined by '-' (ctrl-alt-delete, esc, down, ret, f2), "
                     "in order; --type types text on a US layout afterwards.",
      .min_pos = 1,
      .max_pos = 64,
      .subverbs = NULL },
    { .name = "disk",
      .run = cmd_disk,
      .args = "resize VM DISK SIZE",
      .summary = "grow a VM's disk, stopped (qemu-img) or running (block_resize)",
      .description = "Grow [disk DISK] of a VM to SIZE (e.g. 20G): with qemu-img resize while "
                     "it is stopped, or live through QMP block_resize while it runs; a disk is "
                     "never shrunk. The guest's partition and filesystem are grown in the guest "
                     "(cloud-init does it at boot).",
      .min_pos = 4,
      .max_pos = 4,
      .subverbs = disk_subverbs },
    { .name = "media",
      .run = cmd_media,
      .args = "VM list|eject|insert FILE",
      .summary = "the CD-ROM drive: list, eject, insert an ISO",
      .description = "The CD-ROM drive of a VM ([boot] cdrom=): list shows the tray and the "
                     "disc, eject takes it out (refused with the reason while the guest has "
                     "the tray locked; --force), insert puts an ISO in. The next start keeps "
                     "what the drive holds; on a stopped VM only that is changed.",
      .min_pos = 2,
      .max_pos = 3,
      .subverbs = NULL },
    { .name = "migrate",
      .run = cmd_migrate,
      .args = "VM URI|--local",
      .summary = "live migration, with its metrics",
      .description = "Live-migrate a running VM to "
                     "tcp:HOST:PORT or unix:PATH (a destination started with 'qlaunch start "
                     "PROFILE --incoming URI'), or --local into a new QEMU here.",
      .min_pos = 1,
      .max_pos = 2,
      .subverbs = NULL },
    { .name = "export",
      .run = cmd_export,
      .args = "VM|PROFILE",
      .summary = "libvirt domain XML, Proxmox qm config, or a sh script",
      .description = "Write a VM as libvirt domain XML (virsh define), a Proxmox qm config, or a "
                     "standalone sh script with the QEMU argv; what does not carry over is listed "
                     "on stderr.",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "cmdline",
      .run = cmd_cmdline,
      .args = "PROFILE|NAME",
      .summary = "print the QEMU argv; start nothing",
      .description = "Print the QEMU command line a profile "
                     "gives; start nothing.",
      .min_pos = 1,
      .max_pos = 1,
      .subverbs = NULL },
    { .name = "doctor",
      .run = cmd_doctor,
      .args = "",
      .summary = "check what this host can run",
      .description = "Check what this host can run and why.",
      .min_pos = 0,
      .max_pos = 0,
      .subverbs = NULL },
    { .name = "forward",
      .run = cmd_forward,
      .args = "add|remove|list VM [RULE]",
      .summary = "host forwards of a running VM (user mode)",
      .description = "Host forwards of a running VM's user-mode NIC: add tcp:127.0.0.1:8080-:80, "
                     "remove tcp:127.0.0.1:8080, list.",
      .min_pos = 2,
      .max_pos = 3,
      .subverbs = forward_subverbs },
    { .name = "net",
      .run = cmd_net,
      .args = "start|stop|status NAME | list",
      .summary = "NAT networks: bridge, nftables masquerade, dnsmasq DHCP/DNS",
      .description = "NAT networks from profiles/networks/NAME.ini: a bridge with the gateway "
                     "address, masquerade in an nftables table of qlaunch's own, dnsmasq for DHCP "
                     "and DNS (start and stop need root or CAP_NET_ADMIN).",
      .min_pos = 1,
      .max_pos = 2,
      .subverbs = net_subverbs },
    { .name = "bench",
      .run = cmd_bench,
      .args = "PROFILE...",
      .summary = "sysbench in guests vs the host; --scenario, --compare",
      .description = "Run sysbench in each profile's guest and on the host, side by side.",
      .min_pos = 0,
      .max_pos = 64,
      .subverbs = NULL },
    { .name = NULL },
};

const Verb *cli_find_verb(const char *name)
{
    for (const Verb *v = cli_verbs; name && v->name; v++)
        if (!strcmp(v->name, name))
            return v;
    return NULL;
}
