/* start --restore: the snapshot's record, the check before QEMU runs, the clock after. */
#define G_LOG_DOMAIN "qlaunch"
#include "restore.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "snapshot.h"
#include "vm.h"

static const char *yes_no(gboolean b)
{
    return b ? "yes" : "no";
}

json_t *restore_fingerprint(const Profile *p, const char *cpu_model, json_int_t ram_held_back_kib)
{
    json_t *fp = json_object();
    json_object_set_new(fp, "machine", json_string(p->machine));
    /* the firmware's ROM is part of the saved state (SeaBIOS 256 KiB, qboot 64 KiB) */
    json_object_set_new(fp, "firmware", json_string(profile_firmware_name(p->firmware)));
    g_autofree char *mem =
        ram_held_back_kib > 0
            ? g_strdup_printf("%" G_GUINT64_FORMAT " MiB less %" JSON_INTEGER_FORMAT " KiB",
                              p->memory_mib, ram_held_back_kib)
            : g_strdup_printf("%" G_GUINT64_FORMAT " MiB", p->memory_mib);
    json_object_set_new(fp, "memory", json_string(mem));
    g_autofree char *cpus = g_strdup_printf("%u", p->cpus);
    json_object_set_new(fp, "vCPUs", json_string(cpus));
    json_object_set_new(fp, "CPU model", json_string(cpu_model ? cpu_model : "?"));
    GString *numa = g_string_new(p->numa_nodes ? NULL : "none");
    for (guint i = 0; i < p->numa_nodes; i++)
        g_string_append_printf(numa, "%snode %u: vCPUs %u-%u, %" G_GUINT64_FORMAT " MiB",
                               i ? "; " : "", i, p->numa[i].cpu_first, p->numa[i].cpu_last,
                               p->numa[i].memory_mib);
    json_object_set_new(fp, "NUMA", json_string(numa->str));
    g_string_free(numa, TRUE);
    json_object_set_new(fp, "balloon", json_string(yes_no(p->balloon)));
    json_object_set_new(fp, "guest agent", json_string(yes_no(p->agent)));
    json_object_set_new(fp, "serial console", json_string(yes_no(p->serial)));
    json_object_set_new(fp, "CD-ROM", json_string(yes_no(p->cdrom != NULL)));
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        g_autofree char *k = g_strdup_printf("[disk %s]", d->name);
        g_autofree char *val = g_strdup_printf("%s, %s, %s", d->bus, d->format,
                                               d->readonly ? "read-only" : "read-write");
        json_object_set_new(fp, k, json_string(val));
    }
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if (n->mode == NET_NONE)
            continue;
        g_autofree char *k = g_strdup_printf("[net %s]", n->name);
        g_autofree char *mac = cmdline_nic_mac(p, n);
        g_autofree char *val = g_strdup_printf("%s, MAC %s", n->model, mac);
        json_object_set_new(fp, k, json_string(val));
    }
    return fp;
}

char *restore_fingerprint_diff(json_t *saved, json_t *now, const char *when)
{
    GString *out = g_string_new(NULL);
    const char *k;
    json_t *val;
    json_object_foreach(saved, k, val)
    {
        const char *was = json_string_value(val);
        const char *is = json_string_value(json_object_get(now, k));
        if (!is)
            g_string_append_printf(out, "%s%s was there at %s and is not now", out->len ? "; " : "",
                                   k, when);
        else if (g_strcmp0(was, is) != 0)
            g_string_append_printf(out, "%s%s: %s at %s, %s now", out->len ? "; " : "", k,
                                   was ? was : "?", when, is);
    }
    json_object_foreach(now, k, val)
    {
        /* records before firmware= was in them: not compared */
        if (!json_object_get(saved, k) && strcmp(k, "firmware") != 0)
            g_string_append_printf(out, "%s%s is new since %s", out->len ? "; " : "", k, when);
    }
    if (!out->len) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

char *restore_record_path(const char *vm, const char *tag)
{
    g_autofree char *base = vm_state_base();
    g_autofree char *file = g_strdup_printf("%s.json", tag);
    return g_build_filename(base, vm, "snapshots", file, NULL);
}

gboolean restore_record_write(const Profile *p, json_t *meta, const char *tag, GError **error)
{
    g_autofree char *path = restore_record_path(p->name, tag);
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *vmdir = g_path_get_dirname(dir);
    if (!vm_private_dir(vmdir, error) || !vm_private_dir(dir, error))
        return FALSE;
    json_t *fp =
        restore_fingerprint(p, json_string_value(json_object_get(meta, "cpu_model")),
                            json_integer_value(json_object_get(meta, "ram_held_back_kib")));
    json_auto_t *rec = json_pack("{s:s, s:s, s:I, s:o}", "vm", p->name, "snapshot", tag, "saved",
                                 (json_int_t)(g_get_real_time() / G_USEC_PER_SEC), "devices", fp);
    g_autofree char *text = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS);
    g_autofree char *line = g_strconcat(text, "\n", NULL);
    return g_file_set_contents_full(path, line, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

void restore_record_remove(const char *vm, const char *tag)
{
    g_autofree char *path = restore_record_path(vm, tag);
    if (unlink(path) != 0 && errno != ENOENT)
        g_message("could not remove %s: %s", path, g_strerror(errno));
}

gboolean restore_check(const Profile *p, const char *tag, json_t *fingerprint, GError **error)
{
    g_autofree char *vmstate = NULL;
    g_auto(GStrv) disks = NULL;
    if (!snapshot_plan(p, &vmstate, &disks, error)) {
        g_prefix_error(error, "--restore %s: ", tag);
        return FALSE;
    }
    g_autoptr(GPtrArray) list = snapshot_list_offline(p, (const char *const *)disks, error);
    if (!list)
        return FALSE;
    SnapInfo *info = snapshot_find(list, tag);
    if (!info) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "VM %s has no snapshot '%s' to restore (see 'qlaunch snapshot list %s'; a "
                    "snapshot to start from is saved from the running VM with 'qlaunch snapshot "
                    "save %s %s')",
                    p->name, tag, p->name, p->name, tag);
        return FALSE;
    }
    if (!info->vm_state_size) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "snapshot '%s' of %s holds no memory state (it was saved while the VM was "
                    "stopped, disks only): nothing to start from; start without --restore, or "
                    "save it again from the running VM",
                    tag, p->name);
        return FALSE;
    }
    for (gsize i = 0; disks[i]; i++) {
        gboolean has = FALSE;
        for (guint k = 0; k < info->disks->len && !has; k++)
            has = !strcmp(info->disks->pdata[k], disks[i]);
        if (!has) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "snapshot '%s' of %s is not on [disk %s] of %s: the disk is newer than "
                        "the snapshot, and the VM would start with it as it is now; nothing was "
                        "started",
                        tag, p->name, disks[i], p->path);
            return FALSE;
        }
    }
    g_autofree char *path = restore_record_path(p->name, tag);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return TRUE; /* saved by something else: QEMU itself checks the devices */
    json_auto_t *rec = json_loads(text, 0, NULL);
    json_t *saved = json_object_get(rec, "devices");
    if (!json_is_object(saved)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "%s is not a snapshot record of qlaunch (remove it to let QEMU check the "
                    "snapshot alone)",
                    path);
        return FALSE;
    }
    g_autofree char *diff = restore_fingerprint_diff(saved, fingerprint, "the snapshot");
    if (diff) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "snapshot '%s' of %s was taken of other devices than profile %s gives now "
                    "(%s); its state cannot be loaded into this VM: put the profile back as it "
                    "was, or start without --restore",
                    tag, p->name, p->path, diff);
        return FALSE;
    }
    return TRUE;
}

gboolean restore_by_loadvm(const Profile *p)
{
    g_autofree char *vmstate = NULL;
    g_auto(GStrv) disks = NULL;
    return !snapshot_plan(p, &vmstate, &disks, NULL) ||
           snapshot_loadvm_same(vmstate, (const char *const *)disks);
}

gboolean restore_load(QmpConn *qmp, const Profile *p, const char *tag, gint64 timeout_ms,
                      GError **error)
{
    g_autofree char *vmstate = NULL;
    g_auto(GStrv) disks = NULL;
    if (!snapshot_plan(p, &vmstate, &disks, error) ||
        !snapshot_live(qmp, "load", tag, vmstate, (const char *const *)disks, NULL, NULL,
                       timeout_ms, error))
        return FALSE;
    json_auto_t *r = qmp_conn_execute(qmp, "cont", NULL, timeout_ms, error);
    return r != NULL;
}

gboolean restore_set_clock(QmpConn *qga, gint64 timeout_ms, GError **error)
{
    json_auto_t *args = json_pack("{s:I}", "time", (json_int_t)g_get_real_time() * 1000);
    json_auto_t *r = qmp_conn_execute(qga, "guest-set-time", args, timeout_ms, error);
    return r != NULL;
}
