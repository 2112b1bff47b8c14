/* The VM lifecycle below the verbs: prepare the files, claim the runtime
 * dir, choose the accelerator, launch QEMU, wait for it (and the agent),
 * apply the resources; and the graceful stop. It never prints: notes go
 * out as g_message() in the "qlaunch" log domain (the CLI shows them
 * unless --quiet), errors as GErrors. */
#define G_LOG_DOMAIN "qlaunch"
#include "lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "accel.h"
#include "cloudinit.h"
#include "cmdline.h"
#include "disk.h"
#include "migrate.h"
#include "nat.h"
#include "netfwd.h"
#include "platform.h"
#include "proc.h"
#include "resources.h"
#include "restore.h"
#include "share.h"

const char *qlaunch_qemu_binary(void)
{
    /* Resolved once, so the KVM probe and the VM run the same binary and
     * the probe's cache is keyed by its absolute path. */
    static char *path;
    if (!path) {
        const char *env = g_getenv("QLAUNCH_QEMU");
        const char *name = env && *env ? env : "qemu-system-x86_64";
        path = g_find_program_in_path(name);
        if (path && !g_path_is_absolute(path)) {
            char *abs = g_canonicalize_filename(path, NULL);
            g_free(path);
            path = abs;
        }
        if (!path)
            path = g_strdup(name); /* not found: exec says so, naming it */
    }
    return path;
}

/* The QEMU binary as a cache key: an upgrade or another wrapper is another key. */
static char *qemu_binary_key(const char *qemu)
{
    struct stat st;
    if (stat(qemu, &st) != 0)
        return NULL;
    return g_strdup_printf("%s %llu %llu %lld %lld.%09ld", qemu, (unsigned long long)st.st_dev,
                           (unsigned long long)st.st_ino, (long long)st.st_size,
                           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/* A fact about the QEMU binary, kept in the user's cache (file NAME, as
 * KEY\nVALUE\n) so that a start (a clone's too) does not pay for asking:
 * the value, or NULL when none is kept for key. */
static char *fact_cached(const char *name, const char *key)
{
    g_autofree char *file = g_build_filename(g_get_user_cache_dir(), "qlaunch", name, NULL);
    g_autofree char *text = NULL;
    if (!key || !g_file_get_contents(file, &text, NULL, NULL))
        return NULL;
    g_auto(GStrv) l = g_strsplit(text, "\n", 3);
    return g_strv_length(l) >= 2 && !strcmp(l[0], key) && *l[1] ? g_strdup(l[1]) : NULL;
}

static void fact_forget(const char *name)
{
    g_autofree char *file = g_build_filename(g_get_user_cache_dir(), "qlaunch", name, NULL);
    g_unlink(file);
}

static void fact_store(const char *name, const char *key, const char *value)
{
    if (!key || strchr(key, '\n'))
        return;
    g_autofree char *file = g_build_filename(g_get_user_cache_dir(), "qlaunch", name, NULL);
    g_autofree char *dir = g_path_get_dirname(file);
    g_autofree char *rec = g_strdup_printf("%s\n%s\n", key, value);
    if (g_mkdir_with_parents(dir, 0700) == 0)
        g_file_set_contents_full(file, rec, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL);
}

/* `qemu --version` costs about 25 ms */
int qlaunch_qemu_major(void)
{
    static int major = -1;
    if (major >= 0)
        return major;
    const char *qemu = qlaunch_qemu_binary();
    g_autofree char *key = qemu_binary_key(qemu);
    g_autofree char *have = fact_cached("qemu-version", key);
    if (have && g_ascii_isdigit(have[0]))
        return major = (int)g_ascii_strtoll(have, NULL, 10);
    const char *argv[] = { qemu, "--version", NULL };
    g_autofree char *out = NULL;
    int status = 0;
    const char *v = NULL;
    if (proc_run_quiet(argv, 10000, &out, &status, NULL) && status == 0)
        v = strstr(out, "version ");
    major = v ? (int)g_ascii_strtoll(v + 8, NULL, 10) : 0;
    if (major > 0) {
        g_autofree char *value = g_strdup_printf("%d", major);
        fact_store("qemu-version", key, value);
    }
    return major;
}

#define IO_URING_PROBE_END "qlaunch-probe-end"
#define IO_URING_FACT "qemu-io-uring"

/* aio=io_uring needs the kernel's io_uring (a container's seccomp filter or
 * kernel.io_uring_disabled refuses it) and a QEMU built with it. QEMU is
 * asked by opening a drive so, then stopping at a device that does not
 * exist: it names that device, and not io_uring, only when the drive
 * opened (about 40 ms, kept for this host boot and binary). */
gboolean qlaunch_qemu_io_uring(void)
{
    static int usable = -1;
    if (usable >= 0)
        return usable;
    const char *qemu = qlaunch_qemu_binary();
    g_autofree char *bin = qemu_binary_key(qemu), *boot = accel_boot_id();
    g_autofree char *key = bin ? g_strdup_printf("%s %s", boot, bin) : NULL;
    g_autofree char *have = fact_cached(IO_URING_FACT, key);
    if (have)
        return usable = have[0] == '1';
    const char *argv[] = {
        qemu,
        "-machine",
        "none",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-drive",
        "if=none,id=probe,driver=file,filename=/proc/self/exe,aio=io_uring,readonly=on",
        "-device",
        IO_URING_PROBE_END,
        NULL
    };
    g_autofree char *out = NULL;
    int status = 0;
    if (!proc_run_all(argv, 10000, &out, &status, NULL))
        return usable = FALSE; /* did not run or did not end: asked again next time */
    usable = strstr(out, "-device " IO_URING_PROBE_END ":") && !strstr(out, "io_uring");
    g_debug("QEMU %s aio=io_uring: %s", usable ? "runs" : "does not run", out);
    fact_store(IO_URING_FACT, key, usable ? "1" : "0");
    return usable;
}

gboolean qlaunch_disks_io_uring(const Profile *p)
{
    for (guint i = 0; i < p->disks->len; i++)
        if (!g_strcmp0(((ProfileDisk *)p->disks->pdata[i])->aio, "auto"))
            return qlaunch_qemu_io_uring(); /* asked only where a disk takes it */
    return FALSE;
}

/* An existing disk's virtual size: a qcow2 header's, or a raw file's
 * length; 0 when unknown. */
static guint64 disk_virtual_size(const ProfileDisk *d)
{
    struct stat st;
    if (stat(d->file, &st) != 0)
        return 0;
    if (strcmp(d->format, "qcow2"))
        return S_ISREG(st.st_mode) ? (guint64)st.st_size : 0;
    int fd = open(d->file, O_RDONLY | O_CLOEXEC);
    guint8 h[32];
    gboolean ok =
        fd >= 0 && pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h && !memcmp(h, "QFI\xfb", 4);
    if (fd >= 0)
        close(fd);
    guint64 size = 0;
    for (int i = 0; ok && i < 8; i++) /* big-endian at offset 24 */
        size = size << 8 | h[24 + i];
    return size;
}

gboolean vm_memory_fits(const Profile *p, GError **error)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        return TRUE;
    for (guint i = 0; i < p->numa_nodes; i++) {
        g_autofree char *node =
            g_strdup_printf("/sys/devices/system/node/node%d", p->numa[i].host_node);
        if (p->numa[i].host_node >= 0 && !g_file_test(node, G_FILE_TEST_IS_DIR)) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "profile %s [vm] numa-host: this host has no NUMA node %d (no %s; "
                        "numactl -H lists the nodes)",
                        p->path, p->numa[i].host_node, node);
            return FALSE;
        }
    }
    guint64 ram = (guint64)si.totalram * si.mem_unit, swap = (guint64)si.totalswap * si.mem_unit;
    if ((guint64)p->memory_mib << 20 <= ram + swap)
        return TRUE;
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "profile %s [vm] memory: %" G_GUINT64_FORMAT " MiB is more than this host could "
                "ever give (RAM %" G_GUINT64_FORMAT " MiB + swap %" G_GUINT64_FORMAT " MiB)",
                p->path, p->memory_mib, ram >> 20, swap >> 20);
    return FALSE;
}

/* A file's identity for "the same disk": its real path, else the path */
static char *real_or_given(const char *path)
{
    char *r = realpath(path, NULL);
    return r ? r : g_strdup(path);
}

/* [disk NAME] base=: the overlay is made when missing (size= grows it past
 * the base's size), and an existing one must be on that base. */
static gboolean prepare_overlay(const Profile *p, const ProfileDisk *d, GError **error)
{
    if (!g_file_test(d->base, G_FILE_TEST_EXISTS)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s [disk %s] base: %s does not exist (the image the VM's disk is "
                    "made on, e.g. a distribution's cloud image: put it there or change base=)",
                    p->path, d->name, d->base);
        return FALSE;
    }
    g_autofree char *want = real_or_given(d->base);
    if (g_file_test(d->file, G_FILE_TEST_EXISTS)) {
        g_autoptr(GError) err = NULL;
        g_autoptr(DiskInfo) info = disk_image_info(d->file, "qcow2", &err);
        g_autofree char *has = info && info->backing ? real_or_given(info->backing) : NULL;
        if (has && !strcmp(has, want)) {
            if (d->size && d->size != info->virtual_size)
                g_message("note: profile %s [disk %s] size= is %" G_GUINT64_FORMAT
                          " MiB but the overlay %s is %" G_GUINT64_FORMAT
                          " MiB: size= applies when it is made (grow it with qlaunch disk "
                          "resize %s %s SIZE)",
                          p->path, d->name, d->size >> 20, d->file, info->virtual_size >> 20,
                          p->name, d->name);
            return TRUE;
        }
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s [disk %s] base: %s exists and is %s%s, not an overlay on %s; "
                    "nothing was changed (qlaunch delete %s removes the VM's disks, or point "
                    "file= elsewhere)",
                    p->path, d->name, d->file, has ? "an overlay on " : "",
                    has ? has : (err ? err->message : "no overlay"), d->base, p->name);
        return FALSE;
    }
    g_autoptr(DiskInfo) base = disk_image_info(d->base, NULL, error);
    if (!base) {
        g_prefix_error(error, "profile %s [disk %s] base: ", p->path, d->name);
        return FALSE;
    }
    if (d->size && d->size < base->virtual_size) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s [disk %s] size: %" G_GUINT64_FORMAT " MiB is less than its base "
                    "%s (%" G_GUINT64_FORMAT " MiB); an overlay can only be as large or larger "
                    "(drop size= to take the base's)",
                    p->path, d->name, d->size >> 20, d->base, base->virtual_size >> 20);
        return FALSE;
    }
    if (!disk_create_overlay(want, base->format, d->file, d->size, error))
        return FALSE;
    g_message("created disk %s (a qcow2 overlay on %s, %s, %" G_GUINT64_FORMAT " MiB)", d->file,
              d->base, base->format, MAX(d->size, base->virtual_size) >> 20);
    return TRUE;
}

/* Creates missing qcow2 disks; checks that every other file exists. */
/* An ELF kernel (the embedded guest's vmlinux) rather than a bzImage. */
static gboolean kernel_is_elf(const char *path)
{
    char magic[4] = { 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return FALSE;
    gboolean elf = read(fd, magic, sizeof magic) == sizeof magic && !memcmp(magic, "\177ELF", 4);
    close(fd);
    return elf;
}

static gboolean prepare_files(const Profile *p, GError **error)
{
    if (!vm_memory_fits(p, error))
        return FALSE;
    if (p->cdrom && !g_file_test(p->cdrom, G_FILE_TEST_IS_REGULAR)) {
        g_autofree char *rec = platform_media_record_path(p->name);
        gboolean inserted = g_file_test(rec, G_FILE_TEST_EXISTS);
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s [boot] cdrom: %s does not exist (%s)", p->path, p->cdrom,
                    inserted ? "it was put in with qlaunch media insert: insert another, or "
                               "'qlaunch start --eject' to start with the tray empty"
                             : "put the ISO there or change cdrom=; 'qlaunch start --eject' "
                               "starts with the tray empty");
        return FALSE;
    }
    if (!platform_extract_iso(p, error) || !platform_prepare_vars(p, error))
        return FALSE;
    const char *boot[] = { p->kernel, p->initrd };
    for (gsize i = 0; i < G_N_ELEMENTS(boot); i++) {
        if (boot[i] && !g_file_test(boot[i], G_FILE_TEST_IS_REGULAR)) {
            g_autofree char *guest = vm_guest_dir();
            g_autofree char *exe_dir = vm_exe_dir();
            g_autofree char *makefile = g_build_filename(exe_dir, "Makefile", NULL);
            gboolean embedded = g_str_has_prefix(boot[i], guest);
            /* in the source tree: make guest; installed: where it comes from */
            const char *how = !embedded ? ""
                              : g_file_test(makefile, G_FILE_TEST_IS_REGULAR)
                                  ? " (build the embedded guest: make guest)"
                                  : " (the embedded guest is not installed: in qlaunch's source "
                                    "tree run 'make guest' and then 'make install' again, or "
                                    "point QLAUNCH_GUEST_DIR at a directory with vmlinux, "
                                    "vmlinuz and initrd.img)";
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "profile %s [boot]: %s does not exist%s",
                        p->path, boot[i], how);
            return FALSE;
        }
    }
    if (p->kernel && firmware_is_uefi(p->firmware) && kernel_is_elf(p->kernel)) {
        g_set_error(
            error, VM_ERROR, VM_ERROR_FAILED,
            "profile %s [boot] kernel=: %s is an uncompressed ELF kernel, which QEMU "
            "starts at its PVH entry from SeaBIOS or qboot only; firmware=%s (OVMF) boots a "
            "bzImage: use e.g. @guest/vmlinuz",
            p->path, p->kernel, profile_firmware_name(p->firmware));
        return FALSE;
    }
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        if (d->base && !prepare_overlay(p, d, error))
            return FALSE;
        if (d->base)
            continue;
        if (g_file_test(d->file, G_FILE_TEST_EXISTS)) {
            guint64 has = d->size ? disk_virtual_size(d) : 0;
            if (has && has != d->size)
                g_message("note: profile %s [disk %s] size= is %" G_GUINT64_FORMAT
                          " MiB but %s exists with %" G_GUINT64_FORMAT
                          " MiB: size= only applies when the disk is created (grow it with "
                          "qlaunch disk resize)",
                          p->path, d->name, d->size >> 20, d->file, has >> 20);
            continue;
        }
        if (!d->size) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "profile %s [disk %s] file: %s does not "
                        "exist (add size= to have qlaunch create it)",
                        p->path, d->name, d->file);
            return FALSE;
        }
        g_autofree char *dir = g_path_get_dirname(d->file);
        g_autofree char *size = g_strdup_printf("%" G_GUINT64_FORMAT, d->size);
        g_mkdir_with_parents(dir, 0700);
        const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", d->file, size, NULL };
        int status = 0;
        g_autofree char *out = NULL;
        if (!proc_run(argv, 60000, &out, &status, error))
            return FALSE;
        if (status != 0) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "qemu-img create %s failed: %s", d->file,
                        out ? g_strstrip(out) : "");
            return FALSE;
        }
        g_message("created disk %s (%s, qcow2)", d->file, size);
    }
    return cloudinit_write_seed(p, error);
}

static gboolean choose_accel(const Profile *p, gboolean force, char **accel, char **reason,
                             char **kvm_cpu, GError **error)
{
    KvmFacts f = { 0 };
    accel_gather(&f);
    if (p->accel != ACCEL_TCG) {
        g_autofree char *cache = vm_cache_file();
        accel_probe(&f, qlaunch_qemu_binary(), cache, ACCEL_PROBE_TIMEOUT_MS, &proc_interrupted);
    }
    if (f.interrupted) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "start of VM %s interrupted during the KVM probe: nothing was started and "
                    "nothing cached (the next start probes again)",
                    p->name);
        kvm_facts_clear(&f);
        return FALSE;
    }
    gboolean ok = accel_decide(p->accel, &f, force, accel, reason);
    *kvm_cpu = ok && !strcmp(*accel, "kvm") && f.probe == 1 ? g_strdup(f.cpu) : NULL;
    kvm_facts_clear(&f);
    if (!ok) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "profile %s [vm] accel: %s", p->path,
                    *reason);
        g_clear_pointer(reason, g_free);
    }
    return ok;
}

static gboolean write_meta(VmPaths *v, const Profile *p, const char *accel, const char *reason,
                           const char *cpu, gboolean ram_trim, char **argv, json_t *taps,
                           GError **error)
{
    json_auto_t *args = json_array();
    for (gsize i = 0; argv[i]; i++)
        json_array_append_new(args, json_string(argv[i]));
    g_autofree char *abs = g_canonicalize_filename(p->path, NULL);
    json_auto_t *meta =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:O, s:i, s:I}", "name", p->name, "profile", abs,
                  "accel", accel, "accel_reason", reason, "cpu_model", cpu, "started",
                  (json_int_t)g_get_real_time() / G_USEC_PER_SEC, "argv", args, "cpus",
                  (int)p->cpus, "memory_mib", (json_int_t)p->memory_mib);
    if (taps)
        json_object_set(meta, "taps", taps);
    if (ram_trim)
        json_object_set_new(meta, "ram_held_back_kib",
                            json_integer((json_int_t)cmdline_ram_trim_kib(p)));
    if (!vm_meta_write(v, meta, error))
        return FALSE;
    /* the bytes parsed, not the file as it is now: an edit since must not
     * change what later verbs take this VM to be */
    gsize len = 0;
    const char *text = p->source ? g_bytes_get_data(p->source, &len) : "";
    return vm_runtime_file_write(v->profile_copy, text, (gssize)len, error);
}

/* No other running VM has one of p's writable disks (a copied profile with
 * a file= of its original; QEMU's own lock error would not say whose). */
static gboolean disks_free(const Profile *p, GError **error)
{
    g_auto(GStrv) names = vm_list_names();
    for (gsize i = 0; names[i]; i++) {
        if (!strcmp(names[i], p->name))
            continue;
        g_autoptr(VmPaths) ov = vm_paths_new(names[i]);
        pid_t pid = vm_dir_check(ov, NULL) ? vm_read_pid(ov) : 0;
        g_autoptr(Profile) op = pid > 0 && proc_alive(pid) ? vm_running_profile(ov, NULL) : NULL;
        for (guint k = 0; op && k < op->disks->len; k++) {
            const ProfileDisk *od = op->disks->pdata[k];
            g_autofree char *theirs = real_or_given(od->file);
            for (guint d = 0; d < p->disks->len; d++) {
                const ProfileDisk *mine = p->disks->pdata[d];
                g_autofree char *file = real_or_given(mine->file);
                g_autofree char *base = mine->base ? real_or_given(mine->base) : NULL;
                g_autofree char *their_base = od->base ? real_or_given(od->base) : NULL;
                if ((base && !od->readonly && !strcmp(base, theirs)) ||
                    (their_base && !mine->readonly && !strcmp(file, their_base))) {
                    g_set_error(error, VM_ERROR, VM_ERROR_BUSY,
                                "profile %s [disk %s]: %s is the base of one VM's overlay and "
                                "the writable disk of the other (running VM %s, profile %s): "
                                "writing it would corrupt the overlay; a base must only be "
                                "read",
                                p->path, mine->name, base ? mine->base : mine->file, op->name,
                                op->path);
                    return FALSE;
                }
                if (strcmp(file, theirs) || (mine->readonly && od->readonly))
                    continue;
                g_set_error(error, VM_ERROR, VM_ERROR_BUSY,
                            "profile %s [disk %s]: %s is the disk of running VM %s (profile %s); "
                            "give this profile a disk of its own (file=, or none: then it is "
                            "created for the VM's name)",
                            p->path, mine->name, mine->file, op->name, op->path);
                return FALSE;
            }
        }
    }
    return TRUE;
}

/* The runtime dir must not belong to a running VM; a stale one is cleaned. */
static gboolean claim_runtime(VmPaths *v, const Profile *p, GError **error)
{
    pid_t pid = vm_read_pid(v);
    if (pid > 0 && proc_alive(pid)) {
        json_auto_t *meta = vm_meta_read(v);
        const char *theirs = json_string_value(json_object_get(meta, "profile"));
        g_autofree char *mine = g_canonicalize_filename(p->path, NULL);
        if (theirs && strcmp(theirs, mine)) /* a copied profile that kept name= */
            g_set_error(error, VM_ERROR, VM_ERROR_BUSY,
                        "profile %s: VM %s is already running from another profile, %s (pid "
                        "%d); give this one a name of its own ([vm] name=, or no name=: the file "
                        "name)",
                        p->path, v->name, theirs, (int)pid);
        else
            g_set_error(error, VM_ERROR, VM_ERROR_BUSY,
                        "VM %s is already running (pid %d); stop it with "
                        "'qlaunch stop %s' first",
                        v->name, (int)pid, v->name);
        return FALSE;
    }
    if (pid > 0 || vm_pidfile_stale(v) || g_file_test(v->qmp, G_FILE_TEST_EXISTS)) {
        g_message("cleaning stale runtime dir of %s (its QEMU is gone)", v->name);
        const char *stale[] = { v->qmp, v->qga, v->serial, v->pidfile, v->meta, v->profile_copy };
        for (gsize i = 0; i < G_N_ELEMENTS(stale); i++)
            unlink(stale[i]);
        platform_remove_files(v);
    }
    unlink(v->log);
    return TRUE;
}

/* A start that failed or timed out may leave the daemonized QEMU running
 * (only its -daemonize parent was ours): end whatever runs with this VM's
 * -pidfile, and say so. NULL when there was none. */
static char *kill_unmanaged(VmPaths *v)
{
    pid_t pids[8];
    guint n = proc_find_by_args("-pidfile", v->pidfile, pids, G_N_ELEMENTS(pids));
    if (n == 0)
        return NULL;
    GString *s = g_string_new("; its QEMU was still running and was killed (pid");
    for (guint i = 0; i < n; i++) {
        kill(pids[i], SIGKILL);
        proc_wait_gone(pids[i], 30000);
        g_string_append_printf(s, " %d", (int)pids[i]);
    }
    g_string_append_c(s, ')');
    return g_string_free(s, FALSE);
}

typedef struct {
    const char *path;
    QmpConn *conn;
} EarlyAgent;

static gboolean connect_agent(gpointer data)
{
    EarlyAgent *e = data;
    e->conn = qmp_conn_connect(e->path, QMP_MODE_AGENT, 0, NULL);
    return e->conn != NULL;
}

/* Runs QEMU until its daemonizing parent exits (the VM set up). AGENT (may
 * be NULL): set to a connection to the agent's socket made meanwhile, as
 * soon as QEMU listens on it (before a -loadvm), or NULL. */
static gboolean launch(VmPaths *v, char **argv, const int *fds, guint n_fds, int timeout_s,
                       QmpConn **agent, GError **error)
{
    int status = 0;
    EarlyAgent early = { .path = v->qga };
    mode_t old = umask(077); /* sockets and files QEMU creates: owner only */
    gboolean ran =
        proc_run_logged((const char *const *)argv, v->log, fds, n_fds, timeout_s * 1000LL,
                        agent ? connect_agent : NULL, &early, &status, error);
    umask(old);
    if (agent)
        *agent = early.conn;
    if (ran && status == 0 && vm_read_pid(v) > 0)
        return TRUE;
    if (agent)
        g_clear_pointer(agent, qmp_conn_free);
    g_autofree char *tail = proc_tail_file(v->log, 15);
    g_autofree char *how = ran ? proc_describe_status(status) : g_strdup((*error)->message);
    g_autofree char *killed = kill_unmanaged(v);
    /* io_uring refused since it was asked (a sysctl, a new seccomp filter):
     * the next start asks QEMU again. QEMU's own words, as every error
     * about a -drive repeats its aio=io_uring. */
    gboolean uring = tail && (strstr(tail, "Unable to use io_uring") ||
                              strstr(tail, "io_uring was specified, but"));
    if (uring)
        fact_forget(IO_URING_FACT);
    g_clear_error(error);
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "QEMU failed to start VM %s (%s)%s. Its last "
                "output:\n%s%s",
                v->name, how, killed ? killed : "", tail && *tail ? tail : "(nothing)",
                uring ? "\n(qlaunch asks QEMU about io_uring again at the next start; aio=threads "
                        "in the profile's [disk] groups keeps QEMU's thread pool)"
                      : "");
    return FALSE;
}

/* QEMU's -daemonize sets umask 027 itself: every file it made in the
 * runtime dir (sockets, pidfile, log) is made owner-only. */
static void restrict_runtime_files(VmPaths *v)
{
    g_autoptr(GDir) d = g_dir_open(v->dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(v->dir, name, NULL);
        GStatBuf st;
        if (g_lstat(path, &st) == 0 && !S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode))
            chmod(path, 0600);
    }
}

/* [serial] log=: created owner-only before QEMU opens it (under its
 * daemonize umask it would be 0640); an existing file keeps its mode. */
static gboolean create_serial_log(const Profile *p, GError **error)
{
    if (!p->serial_log)
        return TRUE;
    int fd = open(p->serial_log, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "profile %s [serial] log: %s: %s", p->path,
                    p->serial_log, g_strerror(errno));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* pin=, cpu-limit=, memory-limit=: applied to the running QEMU and
 * recorded in meta.json (status shows them; stop removes the cgroups). */
static gboolean apply_resources(VmPaths *v, const Profile *p, QmpConn *qmp, GError **error)
{
    if (!p->pin && !p->cpu_limit_pct && !p->memory_limit)
        return TRUE;
    pid_t pid = vm_read_pid(v);
    json_auto_t *meta = vm_meta_read(v);
    if (!pid || !meta) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "VM %s: no pid or meta.json in %s", v->name,
                    v->dir);
        return FALSE;
    }
    if (p->pin) {
        g_autoptr(GArray) tids = res_vcpu_threads(qmp, error);
        if (!tids)
            return FALSE;
        if (tids->len != p->cpus) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "pin: QEMU reports %u vCPUs, not %u",
                        tids->len, p->cpus);
            return FALSE;
        }
        if (!res_pin_threads(pid, tids, p->pin, error))
            return FALSE;
        json_t *pins = json_array();
        for (guint i = 0; i < p->cpus; i++)
            json_array_append_new(pins, json_integer(p->pin[i]));
        json_object_set_new(meta, "pin", pins);
    }
    g_auto(GStrv) dirs = NULL;
    if ((p->cpu_limit_pct || p->memory_limit) &&
        !res_cgroup_apply(v->name, pid, p->cpu_limit_pct, p->memory_limit, &dirs, error)) {
        g_prefix_error(error, "profile %s [vm] ", p->path);
        return FALSE;
    }
    json_t *cg = json_array();
    for (gsize i = 0; dirs && dirs[i]; i++)
        json_array_append_new(cg, json_string(dirs[i]));
    json_object_set_new(meta, "cgroups", cg);
    if (!vm_meta_write(v, meta, error)) {
        res_cgroup_remove(dirs);
        return FALSE;
    }
    return TRUE;
}

/* Every host port of the profile's forwards can be bound (QEMU's own
 * message would not say which VM holds it). */
static gboolean forwards_free(const Profile *p, GError **error)
{
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        for (gsize f = 0; n->mode == NET_USER && n->forwards && n->forwards[f]; f++)
            if (!fwd_port_free(n->forwards[f], p->name, error)) {
                g_prefix_error(error, "profile %s [net %s] forward %s: ", p->path, n->name,
                               n->forwards[f]);
                return FALSE;
            }
    }
    return TRUE;
}

/* A QEMU that started but must not run (a limit could not be applied). */
static void abort_started(VmPaths *v, QmpConn *qmp)
{
    pid_t pid = vm_read_pid(v);
    qmp_conn_execute(qmp, "quit", NULL, 3000, NULL);
    if (pid > 0 && !proc_wait_gone(pid, 5000)) {
        kill(pid, SIGKILL);
        proc_wait_gone(pid, 5000);
    }
    vm_runtime_remove(v);
}

/* SIGINT/SIGTERM during a start: the QEMU it launched is stopped again,
 * so the VM is either fully started or not there at all. */
static QmpConn *cancel_start(VmPaths *v, QmpConn *qmp, const char *when, GError **error)
{
    pid_t pid = vm_read_pid(v);
    abort_started(v, qmp);
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "start of VM %s interrupted %s: its QEMU (pid %d) was stopped again, "
                "nothing of it is left running",
                v->name, when, (int)pid);
    return NULL;
}

static void close_taps(int *fds, guint n)
{
    for (guint i = 0; fds && i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* A tap per mode=tap NIC, attached to its bridge; fds[i] = -1 for other
 * NICs. The taps vanish when their fds close (QEMU's copy: when it exits). */
static gboolean open_taps(const Profile *p, int *fds, json_t *taps, GError **error)
{
    for (guint i = 0; i < p->nets->len; i++)
        fds[i] = -1;
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if (n->mode != NET_TAP)
            continue;
        g_autofree char *why = nat_privilege_problem("qlaunch start of a mode=tap NIC");
        if (why) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "profile %s [net %s] mode=tap: %s",
                        p->path, n->name, why);
            close_taps(fds, p->nets->len);
            return FALSE;
        }
        g_autofree char *bridge = nat_nic_bridge(n->network, n->bridge, error);
        g_autofree char *tap = NULL;
        fds[i] = bridge ? nat_tap_open(bridge, &tap, error) : -1;
        if (fds[i] < 0) {
            g_prefix_error(error, "profile %s [net %s]: ", p->path, n->name);
            close_taps(fds, p->nets->len);
            return FALSE;
        }
        json_array_append_new(taps, json_pack("{s:s, s:s, s:s, s:s?}", "nic", n->name, "tap", tap,
                                              "bridge", bridge, "network", n->network));
    }
    return TRUE;
}

/* Everything from the runtime dir to a QMP connection, under the lock. */
const char *start_restore_tag(const Profile *p, const StartOpts *o)
{
    if (o->incoming || o->tmpl)
        return NULL;
    return o->restore ? o->restore : p->restore;
}

/* After a restore the guest's clock reads the time of the snapshot: set
 * it to the host's through the agent, which answers at once (it was
 * running when the state was saved), on HELD (taken; may be NULL) when
 * that answers, else on a new connection. A failure is a note, not an
 * error. Returns the agent's connection when it answered, for
 * --wait-agent (a second connection's first sync waits up to 100 ms on
 * qemu-ga's retry sleep). */
static QmpConn *restore_clock(VmPaths *v, const Profile *p, const char *tag, int timeout_s,
                              QmpConn *held)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpConn) qga = vm_qga_reuse(v, held, timeout_s * 1000LL, &err);
    if (!qga || !restore_set_clock(qga, timeout_s * 1000LL, &err)) {
        g_message("VM %s: started from snapshot '%s', but its clock could not be set to the "
                  "host's (%s); the guest's time is that of the snapshot",
                  p->name, tag, err->message);
        return NULL;
    }
    return g_steal_pointer(&qga);
}

static QmpConn *start_locked(VmPaths *v, const Profile *p, const StartOpts *o, char **accel,
                             char **reason, GError **error)
{
    const char *restore = start_restore_tag(p, o);
    g_autofree char *kvm_cpu = NULL;
    if (!claim_runtime(v, p, error))
        return NULL;
    /* QEMU runs in qlaunch's place: nothing is left to load with the job */
    if (restore && o->foreground && !restore_by_loadvm(p)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "VM %s: --restore %s with --foreground: QEMU's -loadvm looks for the VM "
                    "state on the first disk, and profile %s keeps it elsewhere ([vm] "
                    "snapshot-disk= another disk, or UEFI variables); start without --foreground "
                    "(qlaunch then loads the snapshot itself); nothing was started",
                    p->name, restore, p->path);
        vm_runtime_remove(v);
        return NULL;
    }
    if ((!o->incoming && !disks_free(p, error)) || !prepare_files(p, error) ||
        !create_serial_log(p, error) || (!o->incoming && !forwards_free(p, error)) ||
        !choose_accel(p, o->force, accel, reason, &kvm_cpu, error)) {
        vm_runtime_remove(v); /* refused before QEMU ran: nothing of the VM is left */
        return NULL;
    }
    if (!platform_check_display(p, qlaunch_qemu_binary(), error) ||
        !platform_write_password(v, p, error)) {
        vm_runtime_remove(v);
        return NULL;
    }
    g_autofree int *taps = g_new(int, p->nets->len + 1);
    json_auto_t *tap_info = json_array();
    if (!open_taps(p, taps, tap_info, error))
        return NULL;
    CmdlineOpts co = { .qemu = qlaunch_qemu_binary(),
                       .runtime_dir = v->dir,
                       .accel = *accel,
                       .kvm_cpu = kvm_cpu,
                       .ram_from = o->ram_from,
                       /* TCG on QEMU before 9.0 loses guest writes in a
                        * live migration unless RAM takes the slow sync */
                       .ram_trim = !strcmp(*accel, "tcg") && qlaunch_qemu_major() < 9,
                       .daemonize = !o->foreground,
                       .io_uring = qlaunch_disks_io_uring(p),
                       .incoming = o->incoming || o->tmpl,
                       .ram_file = o->tmpl ? o->tmpl->ram : NULL,
                       .loadvm = restore,
                       .loadvm_paused = restore && !restore_by_loadvm(p),
                       .tap_fds = taps };
    taps[p->nets->len] = -1; /* a clone's: its template's state, read by QEMU */
    if (o->tmpl) {
        json_auto_t *fp = restore_fingerprint(
            p, cmdline_cpu(p, &co), co.ram_trim ? (json_int_t)cmdline_ram_trim_kib(p) : 0);
        g_autofree char *diff = template_mismatch(o->tmpl, fp);
        if (!diff)
            taps[p->nets->len] = open(o->tmpl->state, O_RDONLY); /* inherited: no CLOEXEC */
        if (diff || taps[p->nets->len] < 0) {
            if (diff)
                g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                            "template '%s' was saved from another VM than this start would make "
                            "(%s): start its clones where it was saved, with the same "
                            "accelerator",
                            o->tmpl->name, diff);
            else
                g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", o->tmpl->state,
                            g_strerror(errno));
            close_taps(taps, p->nets->len + 1);
            vm_runtime_remove(v);
            return NULL;
        }
    }
    if (restore) {
        json_auto_t *fp = restore_fingerprint(
            p, cmdline_cpu(p, &co), co.ram_trim ? (json_int_t)cmdline_ram_trim_kib(p) : 0);
        if (!restore_check(p, restore, fp, error)) {
            close_taps(taps, p->nets->len + 1);
            vm_runtime_remove(v);
            return NULL;
        }
    }
    g_auto(GStrv) argv = cmdline_build(p, &co);
    if (!write_meta(v, p, *accel, *reason, cmdline_cpu(p, &co), co.ram_trim, argv,
                    json_array_size(tap_info) ? tap_info : NULL, error)) {
        close_taps(taps, p->nets->len + 1);
        return NULL;
    }
    if (o->tmpl) { /* template_clones() and list find clones by it */
        json_auto_t *meta = vm_meta_read(v);
        json_object_set_new(meta, "template", json_string(o->tmpl->name));
        if (!meta || !vm_meta_write(v, meta, error)) {
            close_taps(taps, p->nets->len + 1);
            return NULL;
        }
    }
    if (!platform_start_tpm(v, p, error) || !share_start(v, p, error)) {
        close_taps(taps, p->nets->len + 1);
        vm_runtime_remove(v);
        return NULL;
    }
    if (o->foreground) {
        umask(077);
        execvp(argv[0], argv);
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "cannot run %s: %s", argv[0],
                    g_strerror(errno));
        close_taps(taps, p->nets->len + 1);
        return NULL;
    }
    /* The agent's socket connected before the VM runs: during a -loadvm,
     * or before the load of a template's state or of a snapshot by the
     * job. QEMU accepts it before the loaded virtio-serial port compares
     * its saved host connection with the chardev's; a state saved with a
     * client connected (snapshot save and template save hold one) then
     * loads with no hang-up, and qemu-ga waits in poll() for the first
     * sync instead of sleeping 100 ms after an EOF. */
    g_autoptr(QmpConn) held_qga = NULL;
    gboolean early = restore && p->agent && !co.loadvm_paused;
    gboolean launched =
        launch(v, argv, taps, p->nets->len + 1, o->timeout_s, early ? &held_qga : NULL, error);
    close_taps(taps, p->nets->len + 1); /* QEMU holds its own copies */
    if (!launched) {
        vm_runtime_remove(v); /* the error carries the log's tail */
        return NULL;
    }
    restrict_runtime_files(v);
    g_autoptr(QmpConn) qmp = vm_qmp_open(v, o->timeout_s * 1000LL, error);
    if (!qmp)
        return NULL;
    if (proc_interrupted)
        return cancel_start(v, qmp, "while QEMU started", error);
    if (held_qga)
        held_qga = vm_qga_accepted(v, qmp, g_steal_pointer(&held_qga), o->timeout_s * 1000LL);
    else if ((o->tmpl || co.loadvm_paused) && p->agent)
        held_qga = vm_qga_attach(v, qmp, o->timeout_s * 1000LL);
    if (o->tmpl &&
        !template_load_state(qmp, o->tmpl, taps[p->nets->len], o->timeout_s * 1000LL, error)) {
        abort_started(v, qmp);
        return NULL;
    }
    if (co.loadvm_paused && !restore_load(qmp, p, restore, o->timeout_s * 1000LL, error)) {
        g_prefix_error(error, "VM %s: loading snapshot '%s' failed: ", p->name, restore);
        abort_started(v, qmp);
        return NULL;
    }
    if (!apply_resources(v, p, qmp, error)) {
        abort_started(v, qmp);
        return NULL;
    }
    if (p->balloon) { /* the guest reports its memory every 2 s (qlaunch stats) */
        json_auto_t *args = json_pack("{s:s, s:s, s:i}", "path", "/machine/peripheral/balloon0",
                                      "property", "guest-stats-polling-interval", "value", 2);
        json_auto_t *r = qmp_conn_execute(qmp, "qom-set", args, 5000, NULL);
        if (!r)
            g_message("VM %s: could not turn on the balloon's statistics", p->name);
    }
    g_autoptr(QmpConn) restored_qga = NULL; /* the agent that set the clock */
    if (restore && p->agent)
        restored_qga = restore_clock(v, p, restore, o->timeout_s, g_steal_pointer(&held_qga));
    if (o->tmpl && p->agent)
        template_settle_guest(v, p, o->tmpl, o->timeout_s * 1000LL, g_steal_pointer(&held_qga));
    if (o->wait_agent) {
        if (!p->agent) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "--wait-agent: profile %s has [agent] enabled=false", p->path);
            return NULL;
        }
        g_autoptr(QmpConn) qga =
            restored_qga ? g_steal_pointer(&restored_qga)
                         : vm_qga_open_watch(v, o->timeout_s * 1000LL, qmp, p->serial_log, error);
        if (!qga && proc_interrupted) {
            g_clear_error(error);
            return cancel_start(v, qmp, "while waiting for its guest agent", error);
        }
        if (!qga)
            return NULL;
    }
    if (proc_interrupted)
        return cancel_start(v, qmp, "while it was being set up", error);
    return g_steal_pointer(&qmp);
}

QmpConn *start_vm(VmPaths *v, const Profile *p, const StartOpts *o, char **accel, char **reason,
                  GError **error)
{
    if (!vm_runtime_prepare(v, error))
        return NULL;
    int lock = vm_lock(v, error);
    if (lock < 0)
        return NULL;
    QmpConn *qmp = start_locked(v, p, o, accel, reason, error);
    close(lock);
    return qmp;
}

/* Asks the guest to power off: through the agent (it syncs and flushes our
 * guest's disks), else an ACPI power button press. Returns what was tried. */
static const char *request_shutdown(VmPaths *v, QmpConn *qmp, gboolean use_agent)
{
    if (use_agent && g_file_test(v->qga, G_FILE_TEST_EXISTS)) {
        g_autoptr(GError) err = NULL;
        g_autoptr(QmpConn) qga = qmp_conn_connect(v->qga, QMP_MODE_AGENT, 1000, &err);
        if (qga && qga_shutdown(qga, "powerdown", 3000, &err))
            return "guest agent shutdown";
    }
    if (qmp) {
        json_auto_t *r = qmp_conn_execute(qmp, "system_powerdown", NULL, 3000, NULL);
        if (r)
            return "ACPI powerdown";
    }
    return NULL;
}

/* Waits up to timeout_ms for pid to exit; with interruptible, gives up
 * early when SIGINT/SIGTERM arrives. TRUE when it is gone. */
static gboolean wait_gone(pid_t pid, gint64 timeout_ms, gboolean interruptible)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    while (proc_alive(pid)) {
        if (g_get_monotonic_time() >= deadline || (interruptible && proc_interrupted))
            return FALSE;
        g_usleep(10000);
    }
    return TRUE;
}

const char *stop_vm(VmPaths *v, pid_t pid, int timeout_s, gboolean use_agent,
                    gboolean interruptible)
{
    g_autoptr(QmpConn) qmp = vm_qmp_open(v, 5000, NULL);
    /* a panicked guest cannot power off: no point waiting for it */
    gboolean panicked = qmp && vm_guest_panicked(v, qmp);
    if (panicked)
        g_message("%s: the guest kernel had panicked; telling QEMU to quit", v->name);
    const char *how = panicked ? NULL : request_shutdown(v, qmp, use_agent);
    if (how && !wait_gone(pid, timeout_s * 1000LL, interruptible) && interruptible &&
        proc_interrupted)
        return NULL; /* asked to power off; the guest may still do so */
    if (!how || proc_alive(pid)) {
        if (!panicked)
            g_message("%s: guest did not power off within %d s; telling QEMU to quit", v->name,
                      timeout_s);
        json_auto_t *r = qmp ? qmp_conn_execute(qmp, "quit", NULL, 3000, NULL) : NULL;
        how = "QEMU quit";
        if (!proc_wait_gone(pid, 5000)) {
            kill(pid, SIGKILL);
            /* a killed QEMU still unmaps its guest RAM: on a loaded host
             * that takes a while */
            proc_wait_gone(pid, PROC_KILL_WAIT_MS);
            how = "SIGKILL";
        }
    }
    g_clear_pointer(&qmp, qmp_conn_free);
    if (!proc_alive(pid)) /* else the caller says so; the dir stays for kill */
        vm_runtime_remove(v);
    return how;
}
