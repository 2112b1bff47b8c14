/* qlaunch export VM|PROFILE --format libvirt|proxmox|sh */
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "cli.h"
#include "cmdline.h"
#include "commands.h"
#include "export.h"
#include "restore.h"

/* Where the sh export's argv names the runtime dir, before it becomes "$dir". */
#define RUNDIR_MARK "/QLAUNCH-RUNTIME-DIR"

/* A running VM's profile and accelerator, else the profile file's. */
static Profile *export_source(const char *arg, const char *accel_arg, char **accel, GError **error)
{
    if (profile_name_valid(arg)) {
        g_autoptr(VmPaths) v = vm_paths_new(arg);
        if (vm_running_pid(v, NULL)) {
            json_auto_t *meta = vm_meta_read(v);
            const char *a = json_string_value(json_object_get(meta, "accel"));
            *accel = g_strdup(accel_arg ? accel_arg : a ? a : "tcg");
            return vm_running_profile(v, error);
        }
    }
    Profile *p = cli_load_profile(arg, error);
    if (p)
        *accel = cli_preview_accel(p, accel_arg);
    return p;
}

int cmd_export(int argc, char **argv, GError **error)
{
    g_autofree char *format = NULL, *output = NULL, *accel_arg = NULL;
    GOptionEntry entries[] = {
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "libvirt, proxmox or sh", "F" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write to FILE (default: stdout)",
          "FILE" },
        { "accel", 0, 0, G_OPTION_ARG_STRING, &accel_arg,
          "Export for kvm or tcg (default: the running VM's, else what this host would use)", "A" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    if (!format)
        return cli_usagef("export", "export: give --format libvirt, proxmox or sh");
    if (strcmp(format, "libvirt") && strcmp(format, "proxmox") && strcmp(format, "sh"))
        return cli_usagef("export", "export: --format %s: use libvirt, proxmox or sh", format);
    if (accel_arg && strcmp(accel_arg, "kvm") && strcmp(accel_arg, "tcg"))
        return cli_usagef("export", "export: --accel %s: use kvm or tcg", accel_arg);
    g_autoptr(GError) err = NULL;
    g_autofree char *accel = NULL;
    g_autoptr(Profile) p = export_source(argv[1], accel_arg, &accel, &err);
    if (!p)
        return cli_fail(error, &err);
    g_autofree char *text = NULL, *lost = NULL;
    gboolean by_loadvm = restore_by_loadvm(p);
    if (!strcmp(format, "libvirt")) {
        /* libvirt wants the emulator's absolute path */
        g_autofree char *emu = g_find_program_in_path(qlaunch_qemu_binary());
        text = export_libvirt(p, accel, emu ? emu : "/usr/bin/qemu-system-x86_64", &lost);
    } else if (!strcmp(format, "proxmox")) {
        text = export_proxmox(p, accel, &lost, &err);
        if (!text)
            return cli_fail(error, &err);
    } else {
        CmdlineOpts o = { .qemu = qlaunch_qemu_binary(),
                          .runtime_dir = RUNDIR_MARK,
                          .accel = accel,
                          .daemonize = FALSE,
                          /* -loadvm finds the VM state only on the first disk */
                          .loadvm = by_loadvm ? p->restore : NULL };
        g_auto(GStrv) args = cmdline_build(p, &o);
        text = export_sh(p, args, RUNDIR_MARK);
        for (guint i = 0; i < p->nets->len && !lost; i++)
            if (((ProfileNet *)p->nets->pdata[i])->mode == NET_TAP)
                lost = g_strdup("mode=tap: the script expects a tap named qltapN made "
                                "beforehand (qlaunch passes an open fd instead)\n");
    }
    if (p->restore && (strcmp(format, "sh") != 0 || !by_loadvm)) {
        g_autofree char *was = lost;
        lost = g_strdup_printf("%s[boot] restore=%s: the VM boots; to start from the snapshot, "
                               "revert to it there (it is in the disk image)\n",
                               was ? was : "", p->restore);
    }
    if (output) {
        if (!g_file_set_contents(output, text, -1, &err))
            return cli_fail(error, &err);
        if (!strcmp(format, "sh"))
            g_chmod(output, 0755);
    } else {
        fputs(text, stdout);
    }
    if (lost && !cli_quiet)
        fprintf(stderr, "qlaunch export: does not carry over to %s:\n%s", format, lost);
    return EXIT_OK;
}
