/* Templates and clones: save (pause, state to a file, RAM and disks copied,
 * resume) and what a clone needs (profile, overlays, the state loaded). */
#define G_LOG_DOMAIN "qlaunch"
#include "template.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdline.h"
#include "disk.h"
#include "migrate.h"
#include "proc.h"
#include "restore.h"

#define QMP_TIMEOUT_MS 10000
#define COPY_TIMEOUT_MS 600000

void template_free(Template *t)
{
    if (!t)
        return;
    g_free(t->name);
    g_free(t->dir);
    g_free(t->ram);
    g_free(t->state);
    json_decref(t->info);
    g_free(t);
}

char *template_base(void)
{
    g_autofree char *state = vm_state_base();
    return g_build_filename(state, "templates", NULL);
}

static char *template_dir(const char *name)
{
    g_autofree char *base = template_base();
    return g_build_filename(base, name, NULL);
}

static char *disk_base(const char *dir, const char *disk)
{
    g_autofree char *file = g_strdup_printf("disk-%s.qcow2", disk);
    return g_build_filename(dir, file, NULL);
}

static gboolean name_valid(const char *name, GError **error)
{
    if (profile_name_valid(name))
        return TRUE;
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "'%s' is not a template name (letters, digits, '.', '_', '-')", name);
    return FALSE;
}

Template *template_open(const char *name, GError **error)
{
    if (!name_valid(name, error))
        return NULL;
    g_autofree char *dir = template_dir(name);
    g_autofree char *json = g_build_filename(dir, "template.json", NULL);
    json_error_t jerr;
    json_t *info = json_load_file(json, 0, &jerr);
    if (!info) {
        g_set_error(error, VM_ERROR, VM_ERROR_NOT_RUNNING,
                    "no template named '%s' (%s: %s; see 'qlaunch template list', or save one "
                    "with 'qlaunch template save VM %s')",
                    name, json, g_file_test(json, G_FILE_TEST_EXISTS) ? jerr.text : "missing",
                    name);
        return NULL;
    }
    Template *t = g_new0(Template, 1);
    t->name = g_strdup(name);
    t->dir = g_steal_pointer(&dir);
    t->ram = g_build_filename(t->dir, "ram", NULL);
    t->state = g_build_filename(t->dir, "state", NULL);
    t->info = info;
    return t;
}

static gint cmp_template(gconstpointer a, gconstpointer b)
{
    const Template *x = *(Template *const *)a, *y = *(Template *const *)b;
    return strcmp(x->name, y->name);
}

GPtrArray *template_list(GError **error)
{
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)template_free);
    g_autofree char *base = template_base();
    GDir *d = g_dir_open(base, 0, NULL);
    if (!d)
        return list; /* none saved yet */
    const char *e;
    while ((e = g_dir_read_name(d))) {
        if (e[0] == '.')
            continue; /* a save under way (.NAME.part) */
        Template *t = template_open(e, NULL);
        if (t)
            g_ptr_array_add(list, t);
    }
    g_dir_close(d);
    g_ptr_array_sort(list, cmp_template);
    (void)error;
    return list;
}

static gboolean run_tool(const char *const *argv, const char *what, GError **error)
{
    g_autofree char *out = NULL;
    int status = 0;
    if (!proc_run_all(argv, COPY_TIMEOUT_MS, &out, &status, error))
        return FALSE;
    if (status != 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s failed: %s", what,
                    out && *out ? g_strstrip(out) : "no output");
        return FALSE;
    }
    return TRUE;
}

/* What the template refuses up front, before the VM is touched. */
static gboolean save_allowed(const Profile *p, GError **error)
{
    if (p->numa_nodes) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "VM %s has [vm] numa= (one memory backend per node): a template holds one "
                    "RAM file, so NUMA VMs cannot be templates yet",
                    p->name);
        return FALSE;
    }
    if (p->tpm || firmware_is_uefi(p->firmware)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "VM %s has %s: a template holds the RAM, the device state and the [disk] "
                    "bases, not %s, so such VMs cannot be templates yet",
                    p->name, p->tpm ? "[tpm]" : "[boot] firmware=uefi",
                    p->tpm ? "the TPM's state" : "the UEFI variable store");
        return FALSE;
    }
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if (n->mode == NET_TAP || n->mode == NET_SOCKET) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "VM %s [net %s] is mode=%s: its clones would share the guest's address on "
                        "that network (the lease, the lan address), so only VMs whose NICs are "
                        "mode=user or none can be templates",
                        p->name, n->name, n->mode == NET_TAP ? "tap" : "socket");
            return FALSE;
        }
    }
    return TRUE;
}

/* Pauses, writes the device state (no RAM: x-ignore-shared) to dir/state,
 * copies the RAM memfd and the writable disks (QEMU has let go of them
 * once the migration completed), then resumes. */
static gboolean save_paused(VmPaths *v, const Profile *p, QmpConn *qmp, const char *dir,
                            json_t *disks, GError **error)
{
    pid_t pid = vm_read_pid(v);
    g_autofree char *ram_fd = proc_find_fd(pid, "/memfd:memory-backend-memfd");
    if (!ram_fd) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "VM %s: its guest RAM is not a memfd (started with --restore or [boot] "
                    "restore=, whose RAM is private, or by an older qlaunch); start it "
                    "without a restore and save the template again",
                    p->name);
        return FALSE;
    }
    g_autofree char *state = g_build_filename(dir, "state", NULL);
    int fd = open(state, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", state, g_strerror(errno));
        return FALSE;
    }
    gboolean ok = qmp_conn_getfd(qmp, fd, "qlaunch-template", QMP_TIMEOUT_MS, error);
    close(fd);
    MigrateOpts mo = { .ignore_shared = TRUE };
    json_auto_t *done = NULL;
    if (ok && migrate_configure(qmp, &mo, FALSE, error))
        done =
            migrate_run(qmp, "fd:qlaunch-template", &mo, NULL, NULL, NULL, COPY_TIMEOUT_MS, error);
    if (!done)
        return FALSE;
    g_autofree char *ram = g_build_filename(dir, "ram", NULL);
    const char *cp[] = { "cp", "--sparse=always", "--", ram_fd, ram, NULL };
    if (!run_tool(cp, "copying the guest RAM", error))
        return FALSE;
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        if (d->readonly)
            continue; /* never written: clones use the file itself */
        g_autofree char *base = disk_base(dir, d->name);
        /* convert, not cp: the base holds no internal snapshots */
        const char *conv[] = { "qemu-img", "convert", "-O",    "qcow2", "-f",
                               d->format,  "--",      d->file, base,    NULL };
        if (!run_tool(conv, "copying a disk (qemu-img convert)", error)) {
            g_prefix_error(error, "[disk %s] %s: ", d->name, d->file);
            return FALSE;
        }
        json_object_set_new(disks, d->name, json_string(base));
    }
    return TRUE;
}

/* The name of the guest interface with this MAC in a
 * guest-network-get-interfaces reply, or NULL (borrowed). */
static const char *guest_ifname(json_t *ifs, const char *mac)
{
    size_t k;
    json_t *itf;
    json_array_foreach(ifs, k, itf)
    {
        const char *hw = json_string_value(json_object_get(itf, "hardware-address"));
        if (hw && !g_ascii_strcasecmp(hw, mac))
            return json_string_value(json_object_get(itf, "name"));
    }
    return NULL;
}

/* SHA-256 of the template's state and RAM: the same hash, the same
 * starting state (bench records it). */
static char *template_hash(const char *dir)
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    const char *parts[] = { "state", "ram" };
    for (gsize i = 0; i < G_N_ELEMENTS(parts); i++) {
        g_autofree char *path = g_build_filename(dir, parts[i], NULL);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        char buf[1 << 16];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            g_checksum_update(sum, (const guchar *)buf, (gssize)n);
        close(fd);
    }
    char *hex = g_strdup(g_checksum_get_string(sum));
    g_checksum_free(sum);
    return hex;
}

static guint64 allocated(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (guint64)st.st_blocks * 512 : 0;
}

/* Waits (at most max_ms) for the guest to go idle: a guest saved in the
 * middle of work (a boot's tail: its DHCP client, ssh host key, first
 * agent answers) makes every clone do that work again, all at once (8
 * clones of tiny saved right after --wait-agent: 6.6-7.4 s to their agents
 * on 2 cores, 3.1 s when saved idle). Idle: QEMU used under a quarter of
 * one host CPU in each of SETTLE_QUIET_WINDOWS windows in a row (tiny idle
 * under TCG: about 2%; its boot's tail: 100%). Returns the seconds waited;
 * *settled says whether it went idle; FALSE on an interrupt. */
#define SETTLE_WINDOW_MS 200
#define SETTLE_QUIET_WINDOWS 3
#define SETTLE_BUSY_SHARE 0.25
static gboolean settle(pid_t pid, gint64 max_ms, double *waited_s, gboolean *settled,
                       GError **error)
{
    gint64 t0 = g_get_monotonic_time(), deadline = t0 + max_ms * 1000;
    guint64 last = 0;
    gint64 last_t = t0;
    guint quiet = 0;
    *settled = FALSE;
    gboolean have = proc_cpu_ns(pid, &last);
    while (have && g_get_monotonic_time() < deadline) {
        if (proc_interrupted) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "interrupted while waiting for the guest to go idle");
            return FALSE;
        }
        g_usleep(SETTLE_WINDOW_MS * 1000);
        guint64 now_ns = 0;
        gint64 now = g_get_monotonic_time();
        if (!proc_cpu_ns(pid, &now_ns))
            break; /* gone: the save says so */
        double share = (double)(now_ns - MIN(now_ns, last)) / 1e3 / (double)MAX(now - last_t, 1);
        last = now_ns;
        last_t = now;
        quiet = share < SETTLE_BUSY_SHARE ? quiet + 1 : 0;
        if (quiet >= SETTLE_QUIET_WINDOWS) {
            *settled = TRUE;
            break;
        }
    }
    *waited_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    return TRUE;
}

gboolean template_save(VmPaths *v, const Profile *p, QmpConn *qmp, const char *name,
                       gint64 settle_ms, json_t **report, GError **error)
{
    if (!name_valid(name, error))
        return FALSE;
    g_autofree char *dir = template_dir(name);
    if (g_file_test(dir, G_FILE_TEST_EXISTS)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "template '%s' exists (%s); delete it first (qlaunch template delete %s) or "
                    "choose another name",
                    name, dir, name);
        return FALSE;
    }
    if (!save_allowed(p, error))
        return FALSE;
    g_autofree char *st = vm_run_state(qmp, QMP_TIMEOUT_MS);
    if (!st || (strcmp(st, "running") != 0 && strcmp(st, "paused") != 0)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "VM %s is %s: a template is saved from a running or paused VM", p->name,
                    st ? st : "not answering");
        return FALSE;
    }
    gboolean was_running = !strcmp(st, "running");
    /* before anything is made: an interrupt here leaves nothing behind */
    double settle_s = 0;
    gboolean settled = TRUE; /* a paused VM, or --settle 0: nothing waited for */
    if (was_running && settle_ms > 0 &&
        !settle(vm_read_pid(v), settle_ms, &settle_s, &settled, error)) {
        g_prefix_error(error, "template save %s of VM %s (nothing was saved): ", name, p->name);
        return FALSE;
    }
    g_autofree char *base = template_base();
    g_autofree char *part_name = g_strdup_printf(".%s.part", name);
    g_autofree char *part = g_build_filename(base, part_name, NULL);
    g_autofree char *state_base = vm_state_base();
    if (!vm_private_dir(state_base, error) || !vm_private_dir(base, error))
        return FALSE;
    proc_remove_tree(part, NULL); /* what an interrupted save left */
    if (!vm_private_dir(part, error))
        return FALSE;

    json_auto_t *disks = json_object();
    /* the state saved with the agent's port connected (vm_qga_hold) */
    g_autoptr(QmpConn) qga = p->agent && was_running ? vm_qga_hold(v, qmp, 1000) : NULL;
    gint64 t0 = g_get_monotonic_time();
    json_auto_t *stop =
        was_running ? qmp_conn_execute(qmp, "stop", NULL, QMP_TIMEOUT_MS, error) : json_object();
    gboolean ok = stop && save_paused(v, p, qmp, part, disks, error);
    /* whatever happened: RAM shared no more, and the VM as it was (a cont
     * from postmigrate takes the disks back) */
    migrate_unshare(qmp, NULL);
    if (stop) {
        json_auto_t *c = qmp_conn_execute(qmp, "cont", NULL, QMP_TIMEOUT_MS, NULL);
        if (!c)
            g_message("VM %s: could not be resumed after the template save (qlaunch resume %s)",
                      p->name, p->name);
        if (!was_running) {
            json_auto_t *s = qmp_conn_execute(qmp, "stop", NULL, QMP_TIMEOUT_MS, NULL);
        }
    }
    double paused_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (!ok) {
        proc_remove_tree(part, NULL);
        g_prefix_error(
            error, "template save %s of VM %s (the VM goes on, nothing was kept): ", name, p->name);
        return FALSE;
    }
    json_auto_t *meta = vm_meta_read(v);
    json_t *fp =
        restore_fingerprint(p, json_string_value(json_object_get(meta, "cpu_model")),
                            json_integer_value(json_object_get(meta, "ram_held_back_kib")));
    json_t *macs = json_object();
    json_t *ifnames = json_object();
    /* the guest's name of each NIC, so a clone renames its MAC at once */
    if (!qga && p->agent && was_running)
        qga = vm_qga_open(v, 3000, NULL);
    json_auto_t *ifs =
        qga ? qmp_conn_execute(qga, "guest-network-get-interfaces", NULL, 3000, NULL) : NULL;
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        g_autofree char *mac = n->mode != NET_NONE ? cmdline_nic_mac(p, n) : NULL;
        if (!mac)
            continue;
        json_object_set_new(macs, n->name, json_string(mac));
        const char *ifname = guest_ifname(ifs, mac);
        if (ifname)
            json_object_set_new(ifnames, n->name, json_string(ifname));
    }
    g_autofree char *hash = template_hash(part);
    g_autofree char *ram = g_build_filename(part, "ram", NULL);
    g_autofree char *state = g_build_filename(part, "state", NULL);
    guint64 ram_bytes = allocated(ram), state_bytes = allocated(state);
    gsize len = 0;
    const char *src = g_bytes_get_data(p->source, &len);
    g_autofree char *pcopy = g_build_filename(part, "profile.ini", NULL);
    json_t *fixed_disks = json_object();
    const char *dk;
    json_t *dv;
    json_object_foreach(disks, dk, dv)
    {
        g_autofree char *file = g_strdup_printf("disk-%s.qcow2", dk);
        json_object_set_new(fixed_disks, dk, json_string(file));
    }
    g_autofree char *abs = g_canonicalize_filename(p->path, NULL);
    const char *accel = json_string_value(json_object_get(meta, "accel"));
    json_auto_t *info = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:I, s:I, s:f, s:f, s:b}", "name", name,
        "vm", p->name, "profile", abs, "created", (json_int_t)(g_get_real_time() / G_USEC_PER_SEC),
        "accel", accel ? accel : "?", "devices", fp, "macs", macs, "guest_nics", ifnames, "disks",
        fixed_disks, "sha256", hash, "ram_bytes", (json_int_t)ram_bytes, "state_bytes",
        (json_int_t)state_bytes, "vm_paused_s", paused_s, "settle_s", settle_s, "settled", settled);
    g_autofree char *json = g_build_filename(part, "template.json", NULL);
    g_autofree char *text = json_dumps(info, JSON_INDENT(2) | JSON_SORT_KEYS);
    g_autofree char *line = g_strconcat(text, "\n", NULL);
    if (!g_file_set_contents_full(pcopy, src, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0400,
                                  error) ||
        !g_file_set_contents_full(json, line, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error)) {
        proc_remove_tree(part, NULL);
        return FALSE;
    }
    /* the bases are never written again: clones write their overlays, and
     * map the RAM privately (QEMU opens it read-write, so it stays 0600) */
    chmod(state, 0400);
    json_object_foreach(disks, dk, dv) chmod(json_string_value(dv), 0400);
    if (rename(part, dir) != 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s -> %s: %s", part, dir, g_strerror(errno));
        proc_remove_tree(part, NULL);
        return FALSE;
    }
    *report = json_deep_copy(info);
    json_object_set_new(*report, "dir", json_string(dir));
    return TRUE;
}

/* The backing file an overlay names, or NULL. */
static char *backing_of(const char *file)
{
    g_autoptr(DiskInfo) info = disk_image_info(file, "qcow2", NULL);
    return info ? g_strdup(info->backing) : NULL;
}

/* The overlay must not exist yet: a clone starts from the template's
 * state, and an earlier clone's overlay holds what that clone wrote. */
static gboolean overlay_free(const char *base, const char *overlay, const Template *t,
                             const char *clone, GError **error)
{
    if (!g_file_test(overlay, G_FILE_TEST_EXISTS))
        return TRUE;
    g_autofree char *b = backing_of(overlay);
    if (g_strcmp0(b, base) == 0)
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "VM %s was started from template '%s' before, and %s holds what it wrote "
                    "since; a clone starts from the template's state, so delete the old one "
                    "first (qlaunch delete %s) or choose another name; nothing was changed",
                    clone, t->name, overlay, clone);
    else
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "%s exists and is not a clone's disk of template '%s'; nothing was changed "
                    "(choose another clone name, or remove the file)",
                    overlay, t->name);
    return FALSE;
}

Profile *template_clone_profile(const Template *t, const char *clone, GError **error)
{
    if (!profile_name_valid(clone)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "'%s' is not a VM name (letters, digits, '.', '_', '-')", clone);
        return NULL;
    }
    const char *orig = json_string_value(json_object_get(t->info, "profile"));
    g_autofree char *pcopy = g_build_filename(t->dir, "profile.ini", NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!orig || !g_file_get_contents(pcopy, &data, &len, error)) {
        g_prefix_error(error, "template '%s': ", t->name);
        return NULL;
    }
    g_autofree char *guest = NULL, *state = NULL;
    ProfileEnv env = vm_profile_env(&guest, &state);
    const char *vmname = json_string_value(json_object_get(t->info, "vm"));
    env.name_override = vmname;
    g_autoptr(Profile) tp = profile_load_data(orig, data, len, &env, error);
    if (!tp) {
        g_prefix_error(error, "template '%s': ", t->name);
        return NULL;
    }
    g_autoptr(GKeyFile) kf = g_key_file_new();
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_KEEP_COMMENTS, error))
        return NULL;
    g_autofree char *cdir = g_build_filename(state, clone, NULL);
    if (!vm_private_dir(state, error) || !vm_private_dir(cdir, error))
        return NULL;
    g_key_file_set_string(kf, "vm", "name", clone);
    /* relative paths were the template profile's: give them whole */
    if (tp->kernel)
        g_key_file_set_string(kf, "boot", "kernel", tp->kernel);
    if (tp->initrd)
        g_key_file_set_string(kf, "boot", "initrd", tp->initrd);
    if (tp->cdrom)
        g_key_file_set_string(kf, "boot", "cdrom", tp->cdrom);
    g_key_file_remove_key(kf, "boot", "restore", NULL);
    if (tp->serial_log) {
        g_autofree char *log = g_build_filename(cdir, "serial.log", NULL);
        g_key_file_set_string(kf, "serial", "log", log);
    }
    json_t *disks = json_object_get(t->info, "disks");
    /* every overlay checked before any is made: nothing half done */
    for (int pass = 0; pass < 2; pass++)
        for (guint i = 0; i < tp->disks->len; i++) {
            const ProfileDisk *d = tp->disks->pdata[i];
            g_autofree char *group = g_strdup_printf("disk %s", d->name);
            const char *file = json_string_value(json_object_get(disks, d->name));
            if (!file) { /* read-only: shared as it is */
                g_key_file_set_string(kf, group, "file", d->file);
                continue;
            }
            g_autofree char *base = g_build_filename(t->dir, file, NULL);
            g_autofree char *ofile = g_strdup_printf("%s.qcow2", d->name);
            g_autofree char *overlay = g_build_filename(cdir, ofile, NULL);
            if (pass == 0 ? !overlay_free(base, overlay, t, clone, error)
                          : !disk_create_overlay(base, "qcow2", overlay, 0, error))
                return NULL;
            g_key_file_set_string(kf, group, "file", overlay);
            g_key_file_set_string(kf, group, "format", "qcow2");
            g_key_file_remove_key(kf, group, "size", NULL);
        }
    for (guint i = 0; i < tp->nets->len; i++) {
        const ProfileNet *n = tp->nets->pdata[i];
        g_autofree char *group = g_strdup_printf("net %s", n->name);
        g_key_file_remove_key(kf, group, "mac", NULL);     /* its own, from its name */
        g_key_file_remove_key(kf, group, "forward", NULL); /* host ports: one VM each */
    }
    g_autofree char *text = g_key_file_to_data(kf, NULL, NULL);
    g_autofree char *head = g_strdup_printf("# clone %s of template %s (written by qlaunch start; "
                                            "remade at every start of the clone)\n",
                                            clone, t->name);
    g_autofree char *whole = g_strconcat(head, text, NULL);
    g_autofree char *path = g_build_filename(cdir, "clone.ini", NULL);
    g_autofree char *mark = g_build_filename(cdir, "template", NULL);
    if (!g_file_set_contents_full(path, whole, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error) ||
        !g_file_set_contents_full(mark, t->name, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
        return NULL;
    env.name_override = NULL; /* the clone's own: [vm] name= */
    return profile_load(path, &env, error);
}

GPtrArray *template_clones(const char *name)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *state = vm_state_base();
    GDir *d = g_dir_open(state, 0, NULL);
    if (!d)
        return out;
    g_autofree char *dir = template_dir(name);
    const char *e;
    while ((e = g_dir_read_name(d))) {
        g_autofree char *mark = g_build_filename(state, e, "template", NULL);
        g_autofree char *which = NULL;
        if (!g_file_get_contents(mark, &which, NULL, NULL) || strcmp(which, name) != 0)
            continue;
        /* a clone whose overlays are still there, running or not */
        g_autofree char *cdir = g_build_filename(state, e, NULL);
        GDir *cd = g_dir_open(cdir, 0, NULL);
        const char *f;
        gboolean uses = FALSE;
        while (cd && !uses && (f = g_dir_read_name(cd))) {
            if (!g_str_has_suffix(f, ".qcow2"))
                continue;
            g_autofree char *file = g_build_filename(cdir, f, NULL);
            g_autofree char *b = backing_of(file);
            uses = b && g_str_has_prefix(b, dir);
        }
        if (cd)
            g_dir_close(cd);
        g_autoptr(VmPaths) v = vm_paths_new(e);
        if (uses || vm_running_pid(v, NULL))
            g_ptr_array_add(out, g_strdup(e));
    }
    g_dir_close(d);
    return out;
}

gboolean template_delete(const char *name, GError **error)
{
    g_autoptr(Template) t = template_open(name, error);
    if (!t)
        return FALSE;
    g_autoptr(GPtrArray) clones = template_clones(name);
    if (clones->len) {
        g_ptr_array_add(clones, NULL);
        g_autofree char *list = g_strjoinv(", ", (char **)clones->pdata);
        g_set_error(error, VM_ERROR, VM_ERROR_BUSY,
                    "template '%s' is used by its clones %s (their disks are overlays on it); "
                    "stop them and delete them first (qlaunch delete VM), nothing was removed",
                    name, list);
        return FALSE;
    }
    return proc_remove_tree(t->dir, error);
}

gboolean template_load_state(QmpConn *qmp, const Template *t, int state_fd, gint64 timeout_ms,
                             GError **error)
{
    MigrateOpts mo = { .ignore_shared = TRUE };
    g_autofree char *uri = g_strdup_printf("fd:%d", state_fd);
    if (!migrate_listen(qmp, uri, &mo, error))
        return FALSE;
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;
    for (;;) {
        json_auto_t *info = qmp_conn_execute(qmp, "query-migrate", NULL, QMP_TIMEOUT_MS, error);
        if (!info)
            return FALSE;
        const char *st = json_string_value(json_object_get(info, "status"));
        if (!g_strcmp0(st, "completed"))
            break;
        if (!g_strcmp0(st, "failed") || !g_strcmp0(st, "cancelled")) {
            const char *why = json_string_value(json_object_get(info, "error-desc"));
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "loading template '%s' failed%s%s (see the VM's qemu.log)", t->name,
                        why ? ": " : "", why ? why : "");
            return FALSE;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, QMP_ERROR, QMP_ERROR_TIMEOUT,
                        "loading template '%s' did not finish in %" G_GINT64_FORMAT " s", t->name,
                        timeout_ms / 1000);
            return FALSE;
        }
        json_auto_t *ev = qmp_conn_wait_event(qmp, "MIGRATION", 20, NULL);
    }
    migrate_unshare(qmp, NULL);
    json_auto_t *c = qmp_conn_execute(qmp, "cont", NULL, QMP_TIMEOUT_MS, error);
    return c != NULL;
}

/* Runs a command in the guest; FALSE (and why) unless it exits 0. */
static gboolean guest_run(QmpConn *qga, const char *const *argv, gint64 timeout_ms, GError **error)
{
    g_autoptr(QgaExecResult) r = qga_exec(qga, argv, NULL, timeout_ms, error);
    if (!r)
        return FALSE;
    if (r->code != 0 || r->signaled) {
        gsize len = 0;
        const char *err = r->err ? g_bytes_get_data(r->err, &len) : NULL;
        g_autofree char *msg = err ? g_strndup(err, len) : g_strdup("");
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s exited %d: %s", argv[0], r->code,
                    g_strstrip(msg));
        return FALSE;
    }
    return TRUE;
}

void template_settle_guest(VmPaths *v, const Profile *p, const Template *t, gint64 timeout_ms,
                           QmpConn *held)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpConn) qga = vm_qga_reuse(v, held, timeout_ms, &err);
    if (!qga) {
        g_message("VM %s: started from template '%s', but its agent did not answer (%s): its "
                  "clock and MACs are the template's",
                  p->name, t->name, err->message);
        return;
    }
    if (!restore_set_clock(qga, timeout_ms, &err)) {
        g_message("VM %s: its clock could not be set (%s)", p->name, err->message);
        g_clear_error(&err);
    }
    json_t *macs = json_object_get(t->info, "macs");
    json_auto_t *ifs = NULL;
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        const char *old = json_string_value(json_object_get(macs, n->name));
        g_autofree char *mac = n->mode == NET_NONE ? NULL : cmdline_nic_mac(p, n);
        if (!old || !mac || !g_ascii_strcasecmp(old, mac))
            continue;
        const char *ifname =
            json_string_value(json_object_get(json_object_get(t->info, "guest_nics"), n->name));
        if (!ifname) { /* a template saved without the names: ask the guest */
            if (!ifs)
                ifs = qmp_conn_execute(qga, "guest-network-get-interfaces", NULL, timeout_ms, &err);
            ifname = guest_ifname(ifs, old);
        }
        const char *argv[] = { "ip", "link", "set", "dev", ifname, "address", mac, NULL };
        if (!ifname || !guest_run(qga, argv, timeout_ms, &err)) {
            g_message("VM %s [net %s]: the guest's NIC keeps the template's MAC %s (%s)", p->name,
                      n->name, old, err ? err->message : "no guest interface has it");
            g_clear_error(&err);
        }
    }
}

char *template_mismatch(const Template *t, json_t *clone_fingerprint)
{
    json_auto_t *a = json_deep_copy(json_object_get(t->info, "devices"));
    json_auto_t *b = json_deep_copy(clone_fingerprint);
    /* a clone's disks are overlays and its MACs its own, by design */
    json_t *objs[] = { a, b };
    for (gsize i = 0; i < G_N_ELEMENTS(objs); i++) {
        const char *k;
        json_t *val;
        void *tmp;
        json_object_foreach_safe(objs[i], tmp, k, val)
        {
            if (g_str_has_prefix(k, "[disk ") || g_str_has_prefix(k, "[net "))
                json_object_del(objs[i], k);
        }
    }
    return restore_fingerprint_diff(a, b, "the template");
}
