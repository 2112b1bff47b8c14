/* Internal snapshots: live through QMP jobs (HMP fallback), offline through qemu-img. */
#include "snapshot.h"

#include <string.h>

#include "proc.h"
#include "qcow2.h"
#include "vm.h"

void snap_info_free(SnapInfo *s)
{
    if (!s)
        return;
    g_free(s->name);
    if (s->disks)
        g_ptr_array_unref(s->disks);
    g_free(s);
}

gboolean snapshot_name_valid(const char *name)
{
    if (!profile_name_valid(name))
        return FALSE;
    return strspn(name, "0123456789") != strlen(name);
}

static const char *node_prefix = "disk-";

gboolean snapshot_plan(const Profile *p, char **vmstate_disk, GStrv *disks, GError **error)
{
    ProfileDisk *target = p->snapshot_disk ? profile_find_disk(p, p->snapshot_disk) : NULL;
    for (guint i = 0; !target && i < p->disks->len; i++) {
        ProfileDisk *d = p->disks->pdata[i];
        if (!strcmp(d->format, "qcow2") && !d->readonly)
            target = d;
    }
    if (!target) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s: no writable qcow2 disk to hold "
                    "snapshots (add a [disk NAME] with format=qcow2, e.g. size=1G)",
                    p->path);
        return FALSE;
    }
    if (strcmp(target->format, "qcow2") != 0 || target->readonly) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s [vm] snapshot-disk: [disk %s] is "
                    "%s and cannot hold an internal snapshot (use a writable qcow2 disk; convert "
                    "with qemu-img convert -O qcow2)",
                    p->path, target->name, target->readonly ? "read-only" : target->format);
        return FALSE;
    }
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (guint i = 0; i < p->disks->len; i++) {
        ProfileDisk *d = p->disks->pdata[i];
        if (d->readonly)
            continue; /* never changes, nothing to roll back */
        if (strcmp(d->format, "qcow2") != 0) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "profile %s [disk %s]: a writable %s disk "
                        "cannot take part in an internal snapshot, so a rollback would leave it "
                        "changed (make it readonly=true or convert it to qcow2)",
                        p->path, d->name, d->format);
            return FALSE;
        }
        g_strv_builder_add(b, d->name);
    }
    if (firmware_is_uefi(p->firmware)) /* the UEFI variables roll back with the disks */
        g_strv_builder_add(b, "efivars");
    *vmstate_disk = g_strdup(target->name);
    *disks = g_strv_builder_end(b);
    return TRUE;
}

SnapInfo *snapshot_find(GPtrArray *list, const char *tag)
{
    for (guint i = 0; list && i < list->len; i++) {
        SnapInfo *s = list->pdata[i];
        if (strcmp(s->name, tag) == 0)
            return s;
    }
    return NULL;
}

/* Adds one disk's snapshot array (QMP ImageInfo or qemu-img info JSON:
 * the same fields) to list, merging by name. */
static void merge_snapshots(GPtrArray *list, const char *disk, json_t *snaps)
{
    size_t i;
    json_t *s;
    json_array_foreach(snaps, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (!name)
            continue;
        SnapInfo *info = snapshot_find(list, name);
        if (!info) {
            info = g_new0(SnapInfo, 1);
            info->name = g_strdup(name);
            info->disks = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(list, info);
        }
        guint64 size = (guint64)json_integer_value(json_object_get(s, "vm-state-size"));
        info->vm_state_size = MAX(info->vm_state_size, size);
        info->date_sec = json_integer_value(json_object_get(s, "date-sec"));
        info->vm_clock_ns = json_integer_value(json_object_get(s, "vm-clock-sec")) * 1000000000 +
                            json_integer_value(json_object_get(s, "vm-clock-nsec"));
        g_ptr_array_add(info->disks, g_strdup(disk));
    }
}

GPtrArray *snapshot_list_live(QmpConn *qmp, GError **error)
{
    json_auto_t *blocks = qmp_conn_execute(qmp, "query-block", NULL, 10000, error);
    if (!blocks)
        return NULL;
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)snap_info_free);
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b)
    {
        json_t *ins = json_object_get(b, "inserted");
        const char *node = json_string_value(json_object_get(ins, "node-name"));
        if (!node || !g_str_has_prefix(node, node_prefix))
            continue;
        merge_snapshots(list, node + strlen(node_prefix),
                        json_object_get(json_object_get(ins, "image"), "snapshots"));
    }
    return list;
}

/* HMP savevm/loadvm/delvm: errors come back as successful replies with text. */
static gboolean snapshot_hmp(QmpConn *qmp, const char *op, const char *tag, gint64 timeout_ms,
                             GError **error)
{
    const char *verb = !strcmp(op, "save") ? "savevm" : !strcmp(op, "load") ? "loadvm" : "delvm";
    g_autofree char *line = g_strdup_printf("%s %s", verb, tag);
    json_auto_t *args = json_pack("{s:s}", "command-line", line);
    json_auto_t *r = qmp_conn_execute(qmp, "human-monitor-command", args, timeout_ms, error);
    if (!r)
        return FALSE;
    const char *text = json_string_value(r);
    if (text && *text && strstr(text, "Error")) {
        g_autofree char *msg = g_strstrip(g_strdup(text));
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s", msg);
        return FALSE;
    }
    return TRUE;
}

static json_t *node_array(const char *const *disks)
{
    json_t *a = json_array();
    for (gsize i = 0; disks[i]; i++)
        json_array_append_new(a, json_sprintf("%s%s", node_prefix, disks[i]));
    return a;
}

/* Waits for the job to conclude, calling progress every ~200 ms. */
static gboolean wait_job(QmpConn *qmp, const char *job_id, SnapshotProgress progress, gpointer data,
                         gint64 deadline, GError **error)
{
    for (;;) {
        json_auto_t *jobs = qmp_conn_execute(qmp, "query-jobs", NULL, 10000, error);
        if (!jobs)
            return FALSE;
        size_t i;
        json_t *j;
        json_array_foreach(jobs, i, j)
        {
            if (g_strcmp0(json_string_value(json_object_get(j, "id")), job_id) != 0)
                continue;
            if (g_strcmp0(json_string_value(json_object_get(j, "status")), "concluded") != 0)
                break;
            const char *err = json_string_value(json_object_get(j, "error"));
            g_autofree char *msg = err ? g_strdup(err) : NULL;
            json_auto_t *args = json_pack("{s:s}", "id", job_id);
            json_auto_t *r = qmp_conn_execute(qmp, "job-dismiss", args, 10000, NULL);
            if (msg) {
                g_set_error_literal(error, VM_ERROR, VM_ERROR_FAILED, msg);
                return FALSE;
            }
            return TRUE;
        }
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) {
            g_set_error(error, QMP_ERROR, QMP_ERROR_TIMEOUT,
                        "job %s did not finish in time; it "
                        "goes on in QEMU (qlaunch qmp VM '{\"execute\":\"query-jobs\"}')",
                        job_id);
            return FALSE;
        }
        if (progress)
            progress(data);
        /* Sleep until the job's next status change or 200 ms. */
        json_auto_t *ev = qmp_conn_wait_event(qmp, "JOB_STATUS_CHANGE", MIN(left, 200), NULL);
    }
}

gboolean snapshot_loadvm_same(const char *vmstate_disk, const char *const *disks)
{
    return disks[0] && !strcmp(vmstate_disk, disks[0]) && !g_strv_contains(disks, "efivars");
}

gboolean snapshot_live(QmpConn *qmp, const char *op, const char *tag, const char *vmstate_disk,
                       const char *const *disks, SnapshotProgress progress, gpointer data,
                       gint64 timeout_ms, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    g_autofree char *job_id = g_strdup_printf("qlaunch-snapshot-%s-%u", op, g_random_int());
    g_autofree char *cmd = g_strdup_printf("snapshot-%s", op);
    json_auto_t *args =
        json_pack("{s:s, s:s, s:o}", "job-id", job_id, "tag", tag, "devices", node_array(disks));
    if (strcmp(op, "delete") != 0)
        json_object_set_new(args, "vmstate", json_sprintf("%s%s", node_prefix, vmstate_disk));
    g_autoptr(GError) local = NULL;
    /* no job to create, poll and dismiss; the error is QEMU's same text */
    if (!strcmp(op, "load") && snapshot_loadvm_same(vmstate_disk, disks))
        return snapshot_hmp(qmp, op, tag, timeout_ms, error);
    if (!strcmp(op, "save")) {
        /* x-ignore-shared, if a local migration left it on, would make the
         * save skip guest RAM (a shared memfd): never save with it */
        json_auto_t *caps = json_pack("{s:[{s:s, s:b}]}", "capabilities", "capability",
                                      "x-ignore-shared", "state", FALSE);
        json_auto_t *c = qmp_conn_execute(qmp, "migrate-set-capabilities", caps, 10000, NULL);
    }
    /* QEMU 7.2 answers snapshot-save only once the VM state is written (the
     * monitor is held meanwhile): the reply gets the whole job's time. */
    json_auto_t *r = qmp_conn_execute(qmp, cmd, args, timeout_ms, &local);
    if (!r && g_error_matches(local, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND))
        return snapshot_hmp(qmp, op, tag, timeout_ms, error); /* QEMU before 6.0 */
    if (!r) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    return wait_job(qmp, job_id, progress, data, deadline, error);
}

/* A disk that takes part in snapshots: a [disk NAME], or under UEFI the
 * variable store (as "efivars", node disk-efivars). */
typedef struct {
    const char *name, *file;
} SnapPart;

static SnapPart snap_part(const Profile *p, const char *name)
{
    if (!strcmp(name, "efivars") && p->vars)
        return (SnapPart){ "efivars", p->vars };
    const ProfileDisk *d = profile_find_disk(p, name);
    return (SnapPart){ d->name, d->file };
}

gboolean snapshot_offline_check(const Profile *p, const char *const *disks, GError **error)
{
    for (gsize i = 0; disks[i]; i++) {
        const SnapPart part = snap_part(p, disks[i]), *d = &part;
        /* without -U qemu-img takes the lock a running QEMU holds */
        const char *argv[] = { "qemu-img", "info", "--output=json", d->file, NULL };
        g_autofree char *out = NULL;
        int status = 0;
        if (!proc_run_all(argv, 60000, &out, &status, error))
            return FALSE;
        if (status != 0) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "[disk %s] %s cannot be used (%s); nothing was changed", d->name, d->file,
                        out ? g_strstrip(out) : "qemu-img info failed");
            return FALSE;
        }
    }
    return TRUE;
}

static char *disk_list(const char *const *disks, gsize from, gsize to)
{
    GString *s = g_string_new(NULL);
    for (gsize i = from; i < to && disks[i]; i++)
        g_string_append_printf(s, "%s[disk %s]", s->len ? ", " : "", disks[i]);
    return g_string_free(s, FALSE);
}

gboolean snapshot_offline(const Profile *p, const char *op, const char *tag,
                          const char *const *disks, GError **error)
{
    const char *flag = !strcmp(op, "save") ? "-c" : !strcmp(op, "load") ? "-a" : "-d";
    for (gsize i = 0; disks[i]; i++) {
        const SnapPart part = snap_part(p, disks[i]), *d = &part;
        const char *argv[] = { "qemu-img", "snapshot", flag, tag, d->file, NULL };
        g_autofree char *out = NULL;
        int status = 0;
        gboolean ran = proc_run_all(argv, 600000, &out, &status, error);
        if (ran && status == 0)
            continue;
        /* half-way: say exactly which disks changed */
        g_autofree char *done = disk_list(disks, 0, i);
        g_autofree char *rest = disk_list(disks, i + 1, G_MAXSIZE);
        g_autofree char *why =
            ran ? g_strdup(out && *out ? g_strstrip(out) : "failed") : g_strdup((*error)->message);
        g_clear_error(error);
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "qemu-img snapshot %s %s on [disk %s] failed: %s; %s%s%s%s", flag, tag, d->name,
                    why, *done ? "already done on " : "no disk was changed", done,
                    *rest ? "; not done on " : "", rest);
        return FALSE;
    }
    return TRUE;
}

GPtrArray *snapshot_list_offline(const Profile *p, const char *const *disks, GError **error)
{
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)snap_info_free);
    for (gsize i = 0; disks[i]; i++) {
        const SnapPart part = snap_part(p, disks[i]), *d = &part;
        if (!g_file_test(d->file, G_FILE_TEST_EXISTS))
            continue; /* not created yet: no snapshots */
        g_autoptr(GError) why = NULL;
        json_auto_t *snaps = qcow2_snapshots(d->file, &why);
        if (!snaps) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "[disk %s] cannot be used (%s); nothing was changed", d->name,
                        why->message);
            goto fail;
        }
        merge_snapshots(list, d->name, snaps);
    }
    return list;
fail:
    g_ptr_array_unref(list);
    return NULL;
}
