/* qlaunch disk resize: grow a VM's disk, offline with qemu-img or live with
 * QMP block_resize. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "disk.h"

#define QMP_TIMEOUT_MS 10000

static const ProfileDisk *find_disk(const Profile *p, const char *name)
{
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        if (!strcmp(d->name, name))
            return d;
    }
    return NULL;
}

int cmd_disk(int argc, char **argv, GError **error)
{
    GOptionEntry entries[] = { G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    if (!cli_subverb("disk", argv[1]))
        return EXIT_USAGE;
    const char *vm = argv[2], *name = argv[3];
    guint64 size = 0;
    if (!profile_parse_size(argv[4], 0, &size) || size == 0)
        return cli_usagef("disk", "disk resize: '%s' is not a size (try 20G)", argv[4]);
    g_autoptr(GError) err = NULL;
    /* a profile's path names its VM (a stopped VM is known by its profile) */
    g_autoptr(Profile) given =
        strchr(vm, '/') || g_str_has_suffix(vm, ".ini") ? cli_load_profile(vm, &err) : NULL;
    if (err)
        return cli_fail(error, &err);
    pid_t pid = 0;
    g_autoptr(VmPaths) v = cli_running_vm(given ? given->name : vm, &pid, &err);
    if (!v && !g_error_matches(err, VM_ERROR, VM_ERROR_NOT_RUNNING))
        return cli_fail(error, &err);
    g_clear_error(&err);
    g_autoptr(Profile) p = v       ? vm_running_profile(v, &err)
                           : given ? g_steal_pointer(&given)
                                   : cli_load_profile(vm, &err);
    if (!p)
        return cli_failf(error, "disk resize: %s%s", err->message,
                         v ? "" : " (a stopped VM's disks are known from its profile)");
    const ProfileDisk *d = find_disk(p, name);
    if (!d) {
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        for (guint i = 0; i < p->disks->len; i++)
            g_ptr_array_add(names, ((ProfileDisk *)p->disks->pdata[i])->name);
        g_ptr_array_add(names, NULL);
        g_autofree char *list = g_strjoinv(", ", (char **)names->pdata);
        return cli_failf(error, "disk resize: VM %s (profile %s) has no [disk %s]; its disks: %s",
                         p->name, p->path, name, *list ? list : "none");
    }
    if (d->readonly)
        return cli_failf(error, "disk resize: [disk %s] of VM %s is readonly=true", name, p->name);
    g_autoptr(DiskInfo) info = disk_image_info(d->file, d->format, &err);
    if (!info)
        return cli_fail(error, &err);
    guint64 was = info->virtual_size;
    if (size == was) {
        printf("[disk %s] of %s is %" G_GUINT64_FORMAT " MiB already\n", name, p->name, was >> 20);
        return EXIT_OK;
    }
    if (v) {
        if (size < was)
            return cli_failf(error,
                             "disk resize: [disk %s] of %s is %" G_GUINT64_FORMAT
                             " MiB; qlaunch only grows disks (%" G_GUINT64_FORMAT
                             " MiB would cut off what the guest wrote at its end)",
                             name, p->name, was >> 20, size >> 20);
        g_autoptr(QmpConn) qmp = vm_qmp_open(v, QMP_TIMEOUT_MS, &err);
        g_autofree char *node = g_strdup_printf("disk-%s", name);
        json_auto_t *args = json_pack("{s:s, s:I}", "node-name", node, "size", (json_int_t)size);
        json_auto_t *r =
            qmp ? qmp_conn_execute(qmp, "block_resize", args, QMP_TIMEOUT_MS, &err) : NULL;
        if (!r)
            return cli_failf(error, "disk resize: block_resize of [disk %s] in %s: %s", name,
                             p->name, err->message);
    } else if (!disk_resize_offline(d->file, d->format, size, &err)) {
        return cli_failf(error, "disk resize: %s", err->message);
    }
    printf("[disk %s] of %s grown from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
           " MiB%s; grow the partition and filesystem in the guest (growpart and resize2fs; "
           "cloud-init does it at boot)\n",
           name, p->name, was >> 20, size >> 20, v ? " while it runs" : "");
    if (d->size && d->size != size)
        cli_info("note: profile %s [disk %s] still says size=%" G_GUINT64_FORMAT
                 "M; change it to %" G_GUINT64_FORMAT "M so the profile says what the disk is",
                 p->path, name, d->size >> 20, size >> 20);
    return EXIT_OK;
}
