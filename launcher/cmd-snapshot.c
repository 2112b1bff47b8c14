/* qlaunch snapshot save|load|list|delete: live on a running VM, offline (disk only) on a stopped
 * one. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "proc.h"
#include "restore.h"
#include "share.h"
#include "snapshot.h"

typedef struct {
    const char *op; /* the job running now, for the progress line */
    const char *tag;
    gboolean force, json, live_only;
    int timeout_s;
    Profile *p;
    VmPaths *v; /* set when the VM runs */
    QmpConn *qmp;
    char *vmstate; /* disk that holds the VM state */
    GStrv disks;   /* disks that take part */
    gint64 t0;
    guint64 base_bytes; /* vmstate disk's allocation before the job */
    gboolean progress_shown;
} Snap;

static void snap_clear(Snap *s)
{
    profile_free(s->p);
    vm_paths_free(s->v);
    qmp_conn_free(s->qmp);
    g_free(s->vmstate);
    g_strfreev(s->disks);
}

/* Finds the VM: running (live) by name, else its profile (offline). */
static gboolean snap_open(Snap *s, const char *arg, GError **error)
{
    g_autoptr(VmPaths) v = profile_name_valid(arg) ? vm_paths_new(arg) : NULL;
    if (v && vm_running_pid(v, NULL)) {
        s->p = vm_running_profile(v, error);
        s->v = g_steal_pointer(&v);
    } else {
        s->p = cli_load_profile(arg, error);
        VmPaths *pv = s->p ? vm_paths_new(s->p->name) : NULL;
        if (pv && vm_running_pid(pv, NULL)) {
            s->v = pv;
        } else {
            vm_paths_free(pv);
        }
    }
    if (!s->p || !snapshot_plan(s->p, &s->vmstate, &s->disks, error))
        return FALSE;
    if (!s->v && s->live_only) {
        g_set_error(error, VM_ERROR, VM_ERROR_NOT_RUNNING,
                    "VM %s is not running and --live was "
                    "given (start it with 'qlaunch start %s', or drop --live for a disk-only "
                    "snapshot)",
                    s->p->name, s->p->name);
        return FALSE;
    }
    if (s->v)
        s->qmp = vm_qmp_open(s->v, 10000, error);
    return !s->v || s->qmp;
}

static GPtrArray *snap_list(Snap *s, GError **error)
{
    return s->qmp ? snapshot_list_live(s->qmp, error)
                  : snapshot_list_offline(s->p, (const char *const *)s->disks, error);
}

static guint64 allocated_bytes(const Snap *s)
{
    struct stat st;
    const ProfileDisk *d = profile_find_disk(s->p, s->vmstate);
    return d && stat(d->file, &st) == 0 ? (guint64)st.st_blocks * 512 : 0;
}

/* "saving s1: 45 MiB written, 1.2 s" on a terminal, unless --quiet. */
static void show_progress(gpointer data)
{
    Snap *s = data;
    if (cli_quiet || !isatty(2))
        return;
    guint64 now = allocated_bytes(s);
    double secs = (double)(g_get_monotonic_time() - s->t0) / 1e6;
    if (!strcmp(s->op, "save"))
        fprintf(stderr, "\rsaving %s: %" G_GUINT64_FORMAT " MiB written, %.1f s ", s->tag,
                (now > s->base_bytes ? now - s->base_bytes : 0) >> 20, secs);
    else
        fprintf(stderr, "\r%s %s: %.1f s ", !strcmp(s->op, "load") ? "loading" : "deleting", s->tag,
                secs);
    s->progress_shown = TRUE;
}

static gboolean run_live(Snap *s, const char *op, GError **error)
{
    s->t0 = g_get_monotonic_time();
    s->base_bytes = allocated_bytes(s);
    s->op = op;
    gboolean ok = snapshot_live(s->qmp, op, s->tag, s->vmstate, (const char *const *)s->disks,
                                show_progress, s, s->timeout_s * 1000LL, error);
    if (s->progress_shown)
        fprintf(stderr, "\n");
    s->progress_shown = FALSE;
    return ok;
}

static gboolean run_op_on(Snap *s, const char *op, const char *const *disks, GError **error)
{
    if (s->qmp)
        return run_live(s, op, error);
    return snapshot_offline(s->p, op, s->tag, disks, error);
}

static gboolean run_op(Snap *s, const char *op, GError **error)
{
    return run_op_on(s, op, (const char *const *)s->disks, error);
}

/* Every participating disk holds the snapshot: else a load would roll some
 * disks back and not others. */
static gboolean on_every_disk(const Snap *s, const SnapInfo *info, GError **error)
{
    GString *missing = g_string_new(NULL);
    for (gsize i = 0; s->disks[i]; i++) {
        gboolean has = FALSE;
        for (guint k = 0; k < info->disks->len && !has; k++)
            has = !strcmp(info->disks->pdata[k], s->disks[i]);
        if (!has)
            g_string_append_printf(missing, "%s[disk %s]", missing->len ? ", " : "", s->disks[i]);
    }
    gboolean ok = missing->len == 0;
    if (!ok)
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "snapshot '%s' of %s is not on %s: loading it would roll back some disks and "
                    "not others; nothing was changed (delete it and save it again)",
                    s->tag, s->p->name, missing->str);
    g_string_free(missing, TRUE);
    return ok;
}

/* "; /dir has 3.9 MiB free" for the filesystem of the vmstate disk. */
static char *free_space_note(const Snap *s)
{
    const ProfileDisk *d = profile_find_disk(s->p, s->vmstate);
    g_autofree char *dir = d ? g_path_get_dirname(d->file) : NULL;
    struct statvfs vfs;
    if (!dir || statvfs(dir, &vfs) != 0)
        return g_strdup("");
    double free_mib = (double)vfs.f_bavail * (double)vfs.f_frsize / (1 << 20);
    return g_strdup_printf("; %s (holding [disk %s]) has %.1f MiB free", dir, d->name, free_mib);
}

/* The result line, or with --json the same facts as an object. */
static int report(const Snap *s, const char *done, double secs, guint64 vm_state, char *text)
{
    g_autofree char *line = text;
    if (!s->json) {
        printf("%s\n", line);
        return EXIT_OK;
    }
    json_auto_t *j = json_pack("{s:s, s:s, s:s, s:b, s:f, s:I}", "vm", s->p->name, "snapshot",
                               s->tag, "done", done, "live", s->qmp != NULL, "seconds", secs,
                               "vm_state_size", (json_int_t)vm_state);
    cli_print_json(j);
    return EXIT_OK;
}

static gboolean vm_is_running(QmpConn *qmp)
{
    json_auto_t *st = qmp_conn_execute(qmp, "query-status", NULL, 10000, NULL);
    return json_is_true(json_object_get(st, "running"));
}

static int do_save(Snap *s, GPtrArray *list, GError **error)
{
    g_autoptr(GError) err = NULL;
    SnapInfo *old = snapshot_find(list, s->tag);
    if (s->qmp && !share_refuse(s->p, "save a live snapshot of", &err))
        return cli_fail(error, &err);
    if (!s->qmp && !snapshot_offline_check(s->p, (const char *const *)s->disks, &err))
        return cli_failf(error, "saving snapshot '%s' of %s: %s", s->tag, s->p->name, err->message);
    if (old) {
        if (!s->force)
            return cli_failf(error,
                             "snapshot '%s' already exists on VM %s (use --force to replace it, or "
                             "choose another name)",
                             s->tag, s->p->name);
        /* only where it is: a disk without it would fail the delete */
        g_ptr_array_add(old->disks, NULL);
        gboolean ok = run_op_on(s, "delete", (const char *const *)old->disks->pdata, &err);
        g_ptr_array_remove_index(old->disks, old->disks->len - 1);
        if (!ok)
            return cli_failf(error, "replacing snapshot '%s' of %s: %s", s->tag, s->p->name,
                             err->message);
    }
    /* the state saved with the agent's port connected and qemu-ga waiting
     * in poll() (vm_qga_hold): start --restore connects before the load
     * and has the first answer without qemu-ga's 100 ms EOF sleep */
    g_autoptr(QmpConn) qga =
        s->qmp && s->p->agent && vm_is_running(s->qmp) ? vm_qga_hold(s->v, s->qmp, 1000) : NULL;
    gint64 t0 = g_get_monotonic_time();
    if (!run_op(s, "save", &err)) {
        /* QEMU reports a full disk as a plain I/O error: say what is left. */
        g_autofree char *space = free_space_note(s);
        return cli_failf(error, "saving snapshot '%s' of %s failed: %s%s%s", s->tag, s->p->name,
                         err->message, space,
                         s->qmp ? " (the VM keeps running; earlier snapshots are untouched)" : "");
    }
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    g_autoptr(GPtrArray) after = snap_list(s, NULL);
    SnapInfo *info = snapshot_find(after, s->tag);
    guint64 size = info ? info->vm_state_size : 0;
    /* what start --restore checks the profile against; an offline save
     * has no state to restore, so no record */
    restore_record_remove(s->p->name, s->tag);
    json_auto_t *meta = s->qmp ? vm_meta_read(s->v) : NULL;
    if (s->qmp && (!meta || !restore_record_write(s->p, meta, s->tag, &err)))
        fprintf(stderr,
                "qlaunch: snapshot '%s' of %s is saved, but what it was taken of could not be "
                "recorded (%s): start --restore %s will not check the profile against it\n",
                s->tag, s->p->name, err ? err->message : "no meta.json", s->tag);
    if (s->qmp)
        return report(s, "saved", secs, size,
                      g_strdup_printf("saved snapshot '%s' of %s (VM state %.1f MiB, on disk %s) "
                                      "in %.2f s",
                                      s->tag, s->p->name, (double)size / (1 << 20), s->vmstate,
                                      secs));
    return report(s, "saved", secs, 0,
                  g_strdup_printf("saved snapshot '%s' of %s offline: disks only, no memory state "
                                  "(the VM is not running) in %.2f s",
                                  s->tag, s->p->name, secs));
}

static int do_load(Snap *s, GPtrArray *list, GError **error)
{
    SnapInfo *info = snapshot_find(list, s->tag);
    if (!info)
        return cli_failf(error, "no snapshot named '%s' on VM %s (see 'qlaunch snapshot list %s')",
                         s->tag, s->p->name, s->p->name);
    g_autoptr(GError) err = NULL;
    if (!on_every_disk(s, info, &err) ||
        (!s->qmp && !snapshot_offline_check(s->p, (const char *const *)s->disks, &err)))
        return cli_failf(error, "loading snapshot '%s' of %s: %s", s->tag, s->p->name,
                         err->message);
    gint64 t0 = g_get_monotonic_time();
    gboolean was_running = s->qmp && vm_is_running(s->qmp);
    gboolean ok = run_op(s, "load", &err);
    /* A load job leaves the VM stopped (restore-vm): resume what ran. HMP
     * loadvm resumes it itself once the load succeeded (a cont after it
     * cost about 4 ms of the load's time). */
    if (was_running && (!ok || !snapshot_loadvm_same(s->vmstate, (const char *const *)s->disks))) {
        json_auto_t *r = qmp_conn_execute(s->qmp, "cont", NULL, 10000, NULL);
    }
    if (!ok)
        return cli_failf(error, "loading snapshot '%s' of %s failed: %s", s->tag, s->p->name,
                         err->message);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (s->qmp)
        return report(s, "loaded", secs, info->vm_state_size,
                      g_strdup_printf("loaded snapshot '%s' of %s in %.2f s (%s)", s->tag,
                                      s->p->name, secs,
                                      was_running ? "running" : "paused, as before"));
    return report(
        s, "loaded", secs, 0,
        g_strdup_printf(
            "loaded snapshot '%s' of %s offline: disks only%s, in %.2f s", s->tag, s->p->name,
            info->vm_state_size ? " (its memory state is used only by a live load)" : "", secs));
}

static int do_delete(Snap *s, GPtrArray *list, GError **error)
{
    if (!snapshot_find(list, s->tag))
        return cli_failf(error, "no snapshot named '%s' on VM %s (see 'qlaunch snapshot list %s')",
                         s->tag, s->p->name, s->p->name);
    g_autoptr(GError) err = NULL;
    if (!run_op(s, "delete", &err))
        return cli_failf(error, "deleting snapshot '%s' of %s failed: %s", s->tag, s->p->name,
                         err->message);
    restore_record_remove(s->p->name, s->tag);
    return report(s, "deleted", 0, 0,
                  g_strdup_printf("deleted snapshot '%s' of %s%s", s->tag, s->p->name,
                                  s->qmp ? "" : " (offline)"));
}

static void human_size(char *buf, gsize len, guint64 bytes)
{
    if (bytes == 0)
        g_strlcpy(buf, "-", len);
    else
        g_snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
}

static int do_list(Snap *s, GPtrArray *list)
{
    if (s->json) {
        json_auto_t *arr = json_array();
        for (guint i = 0; i < list->len; i++) {
            SnapInfo *in = list->pdata[i];
            json_t *disks = json_array();
            for (guint d = 0; d < in->disks->len; d++)
                json_array_append_new(disks, json_string(in->disks->pdata[d]));
            json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:f, s:o}", "name", in->name,
                                                 "vm_state_size", (json_int_t)in->vm_state_size,
                                                 "date", (json_int_t)in->date_sec, "vm_clock_s",
                                                 (double)in->vm_clock_ns / 1e9, "disks", disks));
        }
        cli_print_json(arr);
        return EXIT_OK;
    }
    if (!s->qmp && !cli_quiet)
        fprintf(stderr, "(VM %s is not running: read from the disk images)\n", s->p->name);
    printf("%-20s %-12s %-20s %-12s %s\n", "NAME", "VM STATE", "DATE", "VM CLOCK", "DISKS");
    for (guint i = 0; i < list->len; i++) {
        SnapInfo *in = list->pdata[i];
        char size[32], date[32];
        human_size(size, sizeof(size), in->vm_state_size);
        time_t t = (time_t)in->date_sec;
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime(&t));
        g_ptr_array_add(in->disks, NULL);
        g_autofree char *disks = g_strjoinv(",", (char **)in->disks->pdata);
        g_ptr_array_remove_index(in->disks, in->disks->len - 1);
        printf("%-20s %-12s %-20s %9.1f s  %s\n", in->name, size, date,
               (double)in->vm_clock_ns / 1e9, disks);
    }
    return EXIT_OK;
}

/* After SIGINT/SIGTERM during an operation that was let finish: what the
 * VM and the snapshot are now. */
static void interrupted_note(Snap *s, const char *op, int rc)
{
    g_autoptr(GPtrArray) now = s->p ? snap_list(s, NULL) : NULL;
    gboolean exists = now && snapshot_find(now, s->tag);
    const char *vm = !s->qmp ? "not running" : vm_is_running(s->qmp) ? "running" : "paused";
    fprintf(stderr,
            "qlaunch: interrupted during snapshot %s; the operation was let finish (a snapshot "
            "cannot be cut short safely) and %s: snapshot '%s' %s, VM %s %s\n",
            op, rc == EXIT_OK ? "succeeded" : "failed", s->tag,
            now ? (exists ? "exists" : "does not exist") : "(state unknown)",
            s->p ? s->p->name : "", vm);
}

int cmd_snapshot(int argc, char **argv, GError **error)
{
    Snap s = { .timeout_s = 600 };
    GOptionEntry entries[] = {
        { "force", 'f', 0, G_OPTION_ARG_NONE, &s.force, "save: replace a snapshot of that name",
          NULL },
        { "live", 0, 0, G_OPTION_ARG_NONE, &s.live_only, "Refuse unless the VM is running", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &s.json, "Print the result as JSON", NULL },
        { "timeout", 't', 0, G_OPTION_ARG_INT, &s.timeout_s, "Seconds a job may take (600)", "S" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    const char *op = argv[1];
    if (!cli_subverb("snapshot", op))
        return EXIT_USAGE;
    gboolean is_list = !strcmp(op, "list");
    if (is_list && argc != 3)
        return cli_usagef("snapshot", "snapshot list takes one VM: qlaunch snapshot list VM");
    if (!is_list && argc != 4)
        return cli_usagef("snapshot",
                          "snapshot %s takes a VM and a snapshot name: qlaunch "
                          "snapshot %s VM NAME",
                          op, op);
    s.tag = is_list ? NULL : argv[3];
    if (s.tag && !snapshot_name_valid(s.tag))
        return cli_usagef("snapshot",
                          "'%s' is not a valid snapshot name (letters, digits, '.', '_', '-'; "
                          "starting with a letter or digit; not all digits)",
                          s.tag);
    g_autoptr(GError) err = NULL;
    int rc = EXIT_FAIL;
    g_autoptr(GPtrArray) list = NULL;
    /* A snapshot job cannot be cut short safely (QEMU's save, load and
     * delete jobs have no clean cancel; qemu-img is mid-write), so SIGINT
     * and SIGTERM are held until it ends, then the state is printed. */
    if (!is_list)
        proc_catch_interrupts(TRUE);
    if (!snap_open(&s, argv[2], &err) || !(list = snap_list(&s, &err)))
        rc = cli_fail(error, &err);
    else if (is_list)
        rc = do_list(&s, list);
    else if (!strcmp(op, "save"))
        rc = do_save(&s, list, error);
    else if (!strcmp(op, "load"))
        rc = do_load(&s, list, error);
    else
        rc = do_delete(&s, list, error);
    if (!is_list) {
        proc_catch_interrupts(FALSE);
        if (proc_interrupted)
            interrupted_note(&s, op, rc);
    }
    snap_clear(&s);
    return rc;
}
