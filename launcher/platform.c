/* Beside QEMU: the ISO's kernel, the UEFI variables, the display's
 * password, swtpm; and the CD-ROM's media record. */
#define G_LOG_DOMAIN "qlaunch"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jansson.h>

#include "cmdline.h"
#include "proc.h"
#include "share.h"

#define TOOL_TIMEOUT_MS 300000
#define TPM_WAIT_MS 10000

static gboolean run_tool(const char *const *argv, const char *what, GError **error)
{
    int status = 0;
    g_autofree char *out = NULL;
    if (!proc_run_all(argv, TOOL_TIMEOUT_MS, &out, &status, error)) {
        g_prefix_error(error, "%s: ", what);
        return FALSE;
    }
    if (status != 0) {
        g_autofree char *how = proc_describe_status(status);
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s failed (%s): %s", what, argv[0], how,
                    out ? g_strstrip(out) : "");
        return FALSE;
    }
    return TRUE;
}

/* What the cache records: the ISO by path, size and mtime, and the paths. */
static char *iso_stamp(const Profile *p, const GStatBuf *st)
{
    return g_strdup_printf("%s\n%lld\n%lld.%09ld\n%s\n%s\n", p->cdrom, (long long)st->st_size,
                           (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, p->iso_kernel,
                           p->iso_initrd ? p->iso_initrd : "");
}

gboolean platform_extract_iso(const Profile *p, GError **error)
{
    if (!p->iso_kernel || !p->cdrom)
        return TRUE;
    GStatBuf st;
    if (g_stat(p->cdrom, &st) < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "profile %s [boot] cdrom: %s: %s", p->path,
                    p->cdrom, g_strerror(errno));
        return FALSE;
    }
    g_autofree char *stamp = iso_stamp(p, &st);
    g_autofree char *stamp_file = g_build_filename(p->iso_dir, "source", NULL);
    g_autofree char *had = NULL;
    if (g_file_get_contents(stamp_file, &had, NULL, NULL) && !strcmp(had, stamp) &&
        g_file_test(p->kernel, G_FILE_TEST_IS_REGULAR) &&
        (!p->initrd || g_file_test(p->initrd, G_FILE_TEST_IS_REGULAR)))
        return TRUE;
    g_autofree char *parent = g_path_get_dirname(p->iso_dir);
    g_mkdir_with_parents(parent, 0700);
    if (!vm_private_dir(p->iso_dir, error))
        return FALSE;
    g_autofree char *tmp = g_build_filename(p->iso_dir, "extract.tmp", NULL);
    if (!proc_remove_tree(tmp, error))
        return FALSE;
    if (g_mkdir(tmp, 0700) < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", tmp, g_strerror(errno));
        return FALSE;
    }
    unlink(stamp_file);
    const char *argv[] = { "bsdtar", "-x", "-f",          p->cdrom,      "-C",
                           tmp,      "--", p->iso_kernel, p->iso_initrd, NULL };
    g_autofree char *what = g_strdup_printf(
        "profile %s [boot] %s%s: taking %s%s%s out of %s", p->path,
        p->preset ? "preset=" : "iso-kernel=", p->preset ? p->preset : p->iso_kernel, p->iso_kernel,
        p->iso_initrd ? " and " : "", p->iso_initrd ? p->iso_initrd : "", p->cdrom);
    g_autofree char *bsdtar = g_find_program_in_path("bsdtar");
    if (!bsdtar) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "%s: bsdtar is missing (install libarchive-tools: scripts/install-deps.sh run)",
                    what);
        return FALSE;
    }
    if (!run_tool(argv, what, error)) {
        g_prefix_error(error, "(see what the ISO holds with: bsdtar -tf %s) ", p->cdrom);
        proc_remove_tree(tmp, NULL);
        return FALSE;
    }
    const char *inside[] = { p->iso_kernel, p->iso_initrd };
    const char *dest[] = { p->kernel, p->initrd };
    for (gsize i = 0; i < G_N_ELEMENTS(inside); i++) {
        if (!inside[i])
            continue;
        g_autofree char *got = g_build_filename(tmp, inside[i], NULL);
        if (g_rename(got, dest[i]) < 0) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s: %s", what, inside[i],
                        g_strerror(errno));
            proc_remove_tree(tmp, NULL);
            return FALSE;
        }
        chmod(dest[i], 0600);
    }
    proc_remove_tree(tmp, NULL);
    g_message("took %s%s%s out of %s", p->iso_kernel, p->iso_initrd ? " and " : "",
              p->iso_initrd ? p->iso_initrd : "", p->cdrom);
    return g_file_set_contents(stamp_file, stamp, -1, error);
}

static gboolean image_virtual_size(const char *file, const char *format, guint64 *size,
                                   GError **error)
{
    const char *argv[] = { "qemu-img", "info", "-U", "--output=json", "-f", format, file, NULL };
    int status = 0;
    g_autofree char *out = NULL;
    if (!proc_run_all(argv, 60000, &out, &status, error))
        return FALSE;
    json_auto_t *info = status == 0 && out ? json_loads(out, 0, NULL) : NULL;
    json_t *vs = json_object_get(info, "virtual-size");
    if (!json_is_integer(vs)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s is not a %s image: %s", file, format,
                    out ? g_strstrip(out) : "");
        return FALSE;
    }
    *size = (guint64)json_integer_value(vs);
    return TRUE;
}

gboolean platform_prepare_vars(const Profile *p, GError **error)
{
    if (!firmware_is_uefi(p->firmware))
        return TRUE;
    const char *need[] = { p->firmware_code, p->vars_template };
    for (gsize i = 0; i < G_N_ELEMENTS(need); i++)
        if (!g_file_test(need[i], G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "profile %s [boot] firmware=%s: %s does not exist (install Debian's ovmf: "
                        "scripts/install-deps.sh run; or point QLAUNCH_OVMF_DIR at OVMF's 4 MiB "
                        "build)",
                        p->path, profile_firmware_name(p->firmware), need[i]);
            return FALSE;
        }
    GStatBuf st;
    if (g_stat(p->vars_template, &st) < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", p->vars_template,
                    g_strerror(errno));
        return FALSE;
    }
    if (!g_file_test(p->vars, G_FILE_TEST_EXISTS)) {
        g_autofree char *dir = g_path_get_dirname(p->vars);
        g_mkdir_with_parents(dir, 0700);
        const char *argv[] = { "qemu-img", "convert",        "-q",    "-f", "raw", "-O",
                               "qcow2",    p->vars_template, p->vars, NULL };
        g_autofree char *what = g_strdup_printf("profile %s [boot] vars: creating %s from %s",
                                                p->path, p->vars, p->vars_template);
        if (!run_tool(argv, what, error))
            return FALSE;
        chmod(p->vars, 0600);
        g_message("created UEFI variable store %s (from %s)", p->vars, p->vars_template);
    }
    guint64 size = 0;
    if (!image_virtual_size(p->vars, "qcow2", &size, error)) {
        g_prefix_error(error, "profile %s [boot] vars: ", p->path);
        return FALSE;
    }
    if (size != (guint64)st.st_size) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s [boot] vars: %s holds %" G_GUINT64_FORMAT
                    " bytes but this firmware's variable store is %lld bytes (%s): it belongs to "
                    "another firmware build; remove it to start with fresh variables from the "
                    "template, or convert the right one with qemu-img convert -O qcow2",
                    p->path, p->vars, size, (long long)st.st_size, p->vars_template);
        return FALSE;
    }
    return TRUE;
}

gboolean platform_check_display(const Profile *p, const char *qemu, GError **error)
{
    if (strcmp(p->display.type, "spice") != 0)
        return TRUE;
    /* a QEMU without SPICE says "invalid option" or "no option group" */
    const char *argv[] = { qemu,   "-machine", "none", "-nodefaults", "-display",
                           "none", "-spice",   "help", NULL };
    int status = 0;
    g_autofree char *out = NULL;
    if (proc_run_all(argv, 10000, &out, &status, error) && out && strstr(out, "spice options"))
        return TRUE;
    g_clear_error(error);
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "profile %s [display] type=spice: this QEMU (%s) has no SPICE support (%s); use "
                "type=vnc, or a QEMU built with SPICE (Debian's qemu-system-common has it)",
                p->path, qemu, out && *out ? g_strstrip(out) : "-spice help printed nothing");
    return FALSE;
}

gboolean platform_write_password(VmPaths *v, const Profile *p, GError **error)
{
    if (!p->display.password_file)
        return TRUE;
    g_autofree char *pw = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(p->display.password_file, &pw, &len, &local)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "profile %s [display] password-file: %s",
                    p->path, local->message);
        return FALSE;
    }
    while (len && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
        pw[--len] = '\0';
    if (!len || memchr(pw, '\0', len) || strchr(pw, '\n')) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s [display] password-file: %s must hold the password on one line",
                    p->path, p->display.password_file);
        return FALSE;
    }
    if (!strcmp(p->display.type, "vnc") && len > 8)
        g_message("note: VNC's password authentication uses only the first 8 characters of %s",
                  p->display.password_file);
    g_autofree char *path = cmdline_password_path(v->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, pw, len) != (ssize_t)len) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", path, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return FALSE;
    }
    close(fd);
    return TRUE;
}

static char *tpm_ctrl_arg(VmPaths *v)
{
    g_autofree char *sock = g_build_filename(v->dir, "swtpm.sock", NULL);
    return g_strdup_printf("type=unixio,path=%s,mode=0600", sock);
}

gboolean platform_start_tpm(VmPaths *v, const Profile *p, GError **error)
{
    if (!p->tpm)
        return TRUE;
    g_autofree char *swtpm = g_find_program_in_path("swtpm");
    if (!swtpm) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s [tpm] enabled: swtpm is missing (install Debian's swtpm: "
                    "scripts/install-deps.sh run)",
                    p->path);
        return FALSE;
    }
    if (g_mkdir_with_parents(p->tpm_state, 0700) < 0 || !vm_private_dir(p->tpm_state, error)) {
        if (error && !*error)
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", p->tpm_state,
                        g_strerror(errno));
        return FALSE;
    }
    platform_stop_tpm(v); /* one left by a start that failed */
    g_autofree char *sock = g_build_filename(v->dir, "swtpm.sock", NULL);
    g_autofree char *ctrl = tpm_ctrl_arg(v);
    g_autofree char *state = g_strdup_printf("dir=%s,mode=0600", p->tpm_state);
    g_autofree char *log = g_build_filename(v->dir, "swtpm.log", NULL);
    g_autofree char *logarg = g_strdup_printf("file=%s", log);
    unlink(sock);
    /* --terminate: it ends when QEMU's connection closes, SIGKILL included */
    const char *argv[] = { "swtpm", "socket", "--tpm2", "--tpmstate",  state,      "--ctrl",
                           ctrl,    "--log",  logarg,   "--terminate", "--daemon", NULL };
    g_autofree char *what = g_strdup_printf("profile %s [tpm]: starting swtpm", p->path);
    if (!run_tool(argv, what, error))
        return FALSE;
    gint64 end = g_get_monotonic_time() + TPM_WAIT_MS * 1000LL;
    while (!g_file_test(sock, G_FILE_TEST_EXISTS)) {
        if (g_get_monotonic_time() > end) {
            g_autofree char *tail = proc_tail_file(log, 5);
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: no socket %s after %d s: %s", what,
                        sock, TPM_WAIT_MS / 1000, tail ? tail : "(no log)");
            platform_stop_tpm(v);
            return FALSE;
        }
        g_usleep(10000);
    }
    return TRUE;
}

guint platform_stop_tpm(VmPaths *v)
{
    g_autofree char *ctrl = tpm_ctrl_arg(v);
    pid_t pids[4];
    guint n = proc_find_by_args("--ctrl", ctrl, pids, G_N_ELEMENTS(pids));
    for (guint i = 0; i < n; i++) {
        kill(pids[i], SIGTERM);
        if (!proc_wait_gone(pids[i], 5000)) {
            kill(pids[i], SIGKILL);
            proc_wait_gone(pids[i], 5000);
        }
    }
    return n;
}

void platform_remove_files(VmPaths *v)
{
    static const char *const files[] = { "vnc.sock",   "spice.sock", "display.secret",
                                         "swtpm.sock", "swtpm.log",  "screendump.tmp" };
    g_autofree char *tpm_sock = g_build_filename(v->dir, "swtpm.sock", NULL);
    if (g_file_test(tpm_sock, G_FILE_TEST_EXISTS)) /* only then can a swtpm of it run */
        platform_stop_tpm(v);
    share_stop(v);
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *path = g_build_filename(v->dir, files[i], NULL);
        unlink(path);
    }
}

char *platform_media_record_path(const char *vm)
{
    g_autofree char *base = vm_state_base();
    return g_build_filename(base, vm, "media.json", NULL);
}

void platform_apply_media(Profile *p)
{
    if (!p->cdrom_drive)
        return;
    g_autofree char *path = platform_media_record_path(p->name);
    json_auto_t *rec = json_load_file(path, 0, NULL);
    json_t *cd = json_object_get(rec, "cdrom");
    if (!cd)
        return;
    g_free(p->cdrom);
    p->cdrom = json_is_string(cd) ? g_strdup(json_string_value(cd)) : NULL;
    if (!p->cdrom)
        platform_eject(p);
}

void platform_eject(Profile *p)
{
    g_clear_pointer(&p->cdrom, g_free);
    if (p->iso_kernel) { /* ejected: the installed system boots */
        g_clear_pointer(&p->kernel, g_free);
        g_clear_pointer(&p->initrd, g_free);
        g_clear_pointer(&p->append, g_free);
        g_clear_pointer(&p->iso_kernel, g_free);
        g_clear_pointer(&p->iso_initrd, g_free);
    }
}

gboolean platform_record_media(const char *vm, const char *file, GError **error)
{
    g_autofree char *path = platform_media_record_path(vm);
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", dir, g_strerror(errno));
        return FALSE;
    }
    json_auto_t *rec = json_pack("{s:o}", "cdrom", file ? json_string(file) : json_null());
    g_autofree char *text = json_dumps(rec, JSON_INDENT(2));
    return g_file_set_contents(path, text, -1, error);
}
