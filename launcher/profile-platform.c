/* The platform keys of a profile: [boot] firmware= and the ISO install
 * keys (iso-kernel=, iso-initrd=, preset=), [display] and [tpm]. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "profile-read.h"

static const char *const display_keys[] = { "type", "vga", "listen", "password-file", NULL };
static const char *const tpm_keys[] = { "enabled", NULL };
static const char *const cloud_init_keys[] = { "user",   "ssh-key",   "hostname",       "packages",
                                               "runcmd", "user-data", "network-config", NULL };

/* Where a distribution's installer keeps its kernel and initrd on the ISO,
 * and the arguments that put it on the serial console. */
typedef struct {
    const char *name, *kernel, *initrd, *append;
} IsoPreset;

static const IsoPreset iso_presets[] = {
    /* Ubuntu live-server: subiquity takes its serial UI with console=ttyS0 */
    { "ubuntu-live", "casper/vmlinuz", "casper/initrd", "console=ttyS0 ---" },
    /* Debian's netinst and DVD: the text installer */
    { "debian-installer", "install.amd/vmlinuz", "install.amd/initrd.gz",
      "console=ttyS0,115200n8 ---" },
};

const char *profile_firmware_name(Firmware f)
{
    static const char *const names[] = { "bios", "qboot", "uefi", "uefi-secure" };
    return names[f];
}

const char *profile_ovmf_dir(void)
{
    const char *env = g_getenv("QLAUNCH_OVMF_DIR");
    return env && *env ? env : "/usr/share/OVMF";
}

/* A path inside the ISO: relative, no "..", nothing bsdtar would take for
 * a pattern; a leading '/' is dropped. */
static gboolean iso_path(Ctx *c, const char *key, char *v, char **out, GError **error)
{
    const char *s = v;
    while (*s == '/')
        s++;
    if (!*s || strpbrk(s, "*?[]\\") || strstr(s, "..") ||
        !prof_no_control_chars(c, "boot", key, s, NULL))
        return prof_fail(c, error, "boot", key,
                         "\"%s\" is not a file's path inside the ISO (e.g. casper/vmlinuz; no "
                         "'..', wildcards or control characters)",
                         v);
    *out = g_strdup(s);
    return TRUE;
}

static gboolean read_iso_boot(Ctx *c, GError **error)
{
    Profile *p = c->p;
    g_autofree char *preset = prof_get_str(c, "boot", "preset");
    g_autofree char *kernel = prof_get_str(c, "boot", "iso-kernel");
    g_autofree char *initrd = prof_get_str(c, "boot", "iso-initrd");
    const IsoPreset *ps = NULL;
    if (preset) {
        const char *names[G_N_ELEMENTS(iso_presets) + 1] = { NULL };
        for (gsize i = 0; i < G_N_ELEMENTS(iso_presets); i++) {
            names[i] = iso_presets[i].name;
            if (!strcmp(preset, iso_presets[i].name))
                ps = &iso_presets[i];
        }
        if (!ps) {
            g_autofree char *list = g_strjoinv(", ", (char **)names);
            return prof_fail(c, error, "boot", "preset",
                             "\"%s\" is not a preset (valid: %s; or give iso-kernel= and "
                             "iso-initrd=)",
                             preset, list);
        }
    }
    if (!ps && !kernel) {
        if (initrd)
            return prof_fail(c, error, "boot", "iso-initrd", "needs iso-kernel= too");
        return TRUE;
    }
    const char *key = kernel ? "iso-kernel" : "preset";
    if (p->kernel || p->initrd)
        return prof_fail(c, error, "boot", key,
                         "the kernel comes from the ISO here: remove kernel= and initrd=");
    if (!p->cdrom)
        return prof_fail(c, error, "boot", key, "needs cdrom= (the ISO the kernel is taken from)");
    if (!iso_path(c, "iso-kernel", kernel ? kernel : (char *)ps->kernel, &p->iso_kernel, error))
        return FALSE;
    if ((initrd || ps) &&
        !iso_path(c, "iso-initrd", initrd ? initrd : (char *)ps->initrd, &p->iso_initrd, error))
        return FALSE;
    p->preset = g_steal_pointer(&preset);
    if (!p->append && ps)
        p->append = g_strdup(ps->append);
    /* extracted by start (iso.c), cached by the ISO's size and mtime */
    p->iso_dir = g_build_filename(c->env->state_base, p->name, "iso-boot", NULL);
    p->kernel = g_build_filename(p->iso_dir, "kernel", NULL);
    if (p->iso_initrd)
        p->initrd = g_build_filename(p->iso_dir, "initrd", NULL);
    return TRUE;
}

static gboolean read_firmware(Ctx *c, GError **error)
{
    Profile *p = c->p;
    static const char *const words[] = { "bios", "qboot", "uefi", "uefi-secure", NULL };
    g_autofree char *fw = NULL;
    if (!prof_get_enum(c, "boot", "firmware", words, "bios", &fw, error))
        return FALSE;
    p->firmware = !strcmp(fw, "uefi")          ? FIRMWARE_UEFI
                  : !strcmp(fw, "uefi-secure") ? FIRMWARE_UEFI_SECURE
                  : !strcmp(fw, "qboot")       ? FIRMWARE_QBOOT
                                               : FIRMWARE_BIOS;
    if (!firmware_is_uefi(p->firmware))
        return TRUE;
    if (p->firmware == FIRMWARE_UEFI_SECURE && !g_str_has_prefix(p->machine, "q35"))
        return prof_fail(c, error, "boot", "firmware",
                         "uefi-secure needs machine=q35 (Secure Boot needs SMM), not %s",
                         p->machine);
    gboolean secure = p->firmware == FIRMWARE_UEFI_SECURE;
    /* Debian's ovmf: the 4 MiB builds; with Secure Boot, the code that
     * enforces it and variables with Microsoft's keys enrolled */
    p->firmware_code = g_build_filename(
        profile_ovmf_dir(), secure ? "OVMF_CODE_4M.secboot.fd" : "OVMF_CODE_4M.fd", NULL);
    p->vars_template = g_build_filename(profile_ovmf_dir(),
                                        secure ? "OVMF_VARS_4M.ms.fd" : "OVMF_VARS_4M.fd", NULL);
    if (!prof_get_path(c, "boot", "vars", &p->vars, error))
        return FALSE;
    if (!p->vars)
        p->vars = g_build_filename(c->env->state_base, p->name, "efivars.qcow2", NULL);
    return TRUE;
}

gboolean prof_read_boot_platform(Ctx *c, GError **error)
{
    if (!read_firmware(c, error) || !read_iso_boot(c, error))
        return FALSE;
    /* qboot (QEMU's minimal firmware, 0.2-0.4 s sooner than SeaBIOS under
     * TCG) only hands over to a kernel QEMU loaded: it reads no disk */
    if (c->p->firmware == FIRMWARE_QBOOT && !c->p->kernel)
        return prof_fail(c, error, "boot", "firmware",
                         "qboot boots only a kernel= (or iso-kernel=) QEMU loads, never a disk "
                         "or CD-ROM: add kernel=, or use firmware=bios");
    return TRUE;
}

static gboolean loopback(const char *addr)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return strcmp(addr, "::1") == 0;
}

/* listen=unix | ADDR | ADDR:PORT | [V6ADDR]:PORT */
static gboolean read_listen(Ctx *c, ProfileDisplay *d, GError **error)
{
    const char *g = "display";
    g_autofree char *v = prof_get_str(c, g, "listen");
    if (!v || !strcmp(v, "unix"))
        return TRUE;
    g_autofree char *host = NULL;
    const char *port = NULL;
    if (*v == '[') {
        char *end = strchr(v, ']');
        if (end) {
            host = g_strndup(v + 1, (gsize)(end - v - 1));
            port = end[1] == ':' ? end + 2 : end[1] ? "" : NULL;
        }
    } else {
        char *colon = strchr(v, ':');
        host = colon && strchr(colon + 1, ':') ? g_strdup(v) /* a bare IPv6 address */
               : colon                         ? g_strndup(v, (gsize)(colon - v))
                                               : g_strdup(v);
        port = colon && !strchr(colon + 1, ':') ? colon + 1 : NULL;
    }
    if (host && !strcmp(host, "localhost")) {
        g_free(host);
        host = g_strdup("127.0.0.1");
    }
    unsigned char buf[sizeof(struct in6_addr)];
    if (!host || (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1))
        return prof_fail(c, error, g, "listen",
                         "\"%s\" is not unix or an IP address with an optional port (e.g. "
                         "127.0.0.1, 127.0.0.1:5901, [::1]:5901)",
                         v);
    if (port) {
        char *end = NULL;
        guint64 n = g_ascii_strtoull(port, &end, 10);
        gboolean vnc = !strcmp(d->type, "vnc");
        if (!g_ascii_isdigit(*port) || *end || n == 0 || n > 65535 || (vnc && n < 5900))
            return prof_fail(c, error, g, "listen",
                             "\"%s\" is not a TCP port%s (or leave it out: the first free one "
                             "from 5900 is taken)",
                             port, vnc ? " from 5900 (VNC display 0) up" : "");
        d->port = (guint)n;
    } else if (!strcmp(d->type, "spice")) {
        d->port = 5930;
    }
    d->listen = g_steal_pointer(&host);
    return TRUE;
}

static gboolean read_display(Ctx *c, GError **error)
{
    const char *g = "display";
    ProfileDisplay *d = &c->p->display;
    static const char *const types[] = { "none", "vnc", "spice", NULL };
    static const char *const vgas[] = { "std", "virtio", "qxl", "none", NULL };
    gboolean has = g_key_file_has_group(c->kf, g);
    if (!prof_check_keys(c, g, display_keys, error) ||
        !prof_get_enum(c, g, "type", types, has ? "vnc" : "none", &d->type, error))
        return FALSE;
    const char *vga = !strcmp(d->type, "spice") ? "qxl" : !strcmp(d->type, "vnc") ? "std" : "none";
    if (!prof_get_enum(c, g, "vga", vgas, vga, &d->vga, error) || !read_listen(c, d, error) ||
        !prof_get_path(c, g, "password-file", &d->password_file, error))
        return FALSE;
    if (!strcmp(d->type, "none") && (d->listen || d->password_file))
        return prof_fail(c, error, g, d->listen ? "listen" : "password-file",
                         "type=none serves no display: give type=vnc or type=spice");
    if (d->password_file && !d->listen)
        return prof_fail(c, error, g, "password-file",
                         "the unix socket is private to you already; a password is for "
                         "listen=ADDR");
    if (d->listen && !loopback(d->listen) && !d->password_file)
        return prof_fail(c, error, g, "listen",
                         "%s can be reached from other hosts and the display gives full control "
                         "of the VM: give password-file= too, or listen on 127.0.0.1 (with ssh "
                         "-L from elsewhere), or leave listen= out for a private unix socket",
                         d->listen);
    return TRUE;
}

/* A POSIX-ish user name, as useradd takes it. */
static gboolean user_name_ok(const char *s)
{
    if (!*s || strlen(s) > 32 || !(g_ascii_islower(*s) || *s == '_'))
        return FALSE;
    for (; *s; s++)
        if (!g_ascii_islower(*s) && !g_ascii_isdigit(*s) && *s != '_' && *s != '-')
            return FALSE;
    return TRUE;
}

/* RFC 1123 labels, dot-separated. */
static gboolean hostname_ok(const char *s)
{
    g_auto(GStrv) labels = g_strsplit(s, ".", -1);
    if (!*s || strlen(s) > 253)
        return FALSE;
    for (gsize i = 0; labels[i]; i++) {
        gsize n = strlen(labels[i]);
        if (n == 0 || n > 63 || labels[i][0] == '-' || labels[i][n - 1] == '-')
            return FALSE;
        for (const char *t = labels[i]; *t; t++)
            if (!g_ascii_isalnum(*t) && *t != '-')
                return FALSE;
    }
    return TRUE;
}

static gboolean read_cloud_init(Ctx *c, GError **error)
{
    const char *g = "cloud-init";
    ProfileCloudInit *ci = &c->p->cloud_init;
    ci->enabled = g_key_file_has_group(c->kf, g);
    if (!ci->enabled)
        return TRUE;
    if (!prof_check_keys(c, g, cloud_init_keys, error) ||
        !prof_get_path(c, g, "user-data", &ci->user_data, error) ||
        !prof_get_path(c, g, "network-config", &ci->network_config, error))
        return FALSE;
    ci->user = prof_get_str(c, g, "user");
    if (ci->user && !user_name_ok(ci->user))
        return prof_fail(c, error, g, "user",
                         "\"%s\" is not a user name (lower-case letters, digits, '_' and '-', "
                         "starting with a letter or '_')",
                         ci->user);
    ci->hostname = prof_get_str(c, g, "hostname");
    if (ci->hostname && !hostname_ok(ci->hostname))
        return prof_fail(c, error, g, "hostname",
                         "\"%s\" is not a host name (letters, digits and '-', labels joined by "
                         "'.')",
                         ci->hostname);
    g_autofree char *key = prof_get_str(c, g, "ssh-key");
    if (key && !prof_no_control_chars(c, g, "ssh-key", key, error))
        return FALSE;
    if (key && (g_str_has_prefix(key, "ssh-") || g_str_has_prefix(key, "ecdsa-") ||
                g_str_has_prefix(key, "sk-")))
        ci->ssh_key = g_steal_pointer(&key);
    else if (key && !prof_get_path(c, g, "ssh-key", &ci->ssh_key_file, error))
        return FALSE;
    g_autofree char *pk = prof_get_str(c, g, "packages");
    ci->packages = g_strsplit_set(pk ? pk : "", " ,", -1);
    GStrvBuilder *b = g_strv_builder_new();
    for (gsize i = 0; ci->packages[i]; i++) {
        const char *w = ci->packages[i];
        if (*w && !prof_plain_word(w, "+.:=~")) {
            g_strv_builder_unref(b);
            return prof_fail(c, error, g, "packages",
                             "\"%s\" is not a package name (packages are separated by spaces "
                             "or commas; a version as name=1.2)",
                             w);
        }
        if (*w)
            g_strv_builder_add(b, w);
    }
    g_strfreev(ci->packages);
    ci->packages = g_strv_builder_end(b);
    /* runcmd: one shell command a line (\n between them in the INI) */
    g_autoptr(GError) kerr = NULL;
    g_autofree char *rc = g_key_file_get_string(c->kf, g, "runcmd", &kerr);
    if (!rc && kerr && !g_error_matches(kerr, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND))
        return prof_fail(c, error, g, "runcmd", "%s (write \\\\ for a backslash)", kerr->message);
    ci->runcmd = g_strsplit(rc ? rc : "", "\n", -1);
    b = g_strv_builder_new();
    for (gsize i = 0; ci->runcmd[i]; i++) {
        g_autofree char *line = g_strdup(g_strstrip(ci->runcmd[i]));
        if (*line && !prof_no_control_chars(c, g, "runcmd", line, error)) {
            g_strv_builder_unref(b);
            return FALSE;
        }
        if (*line)
            g_strv_builder_add(b, line);
    }
    g_strfreev(ci->runcmd);
    ci->runcmd = g_strv_builder_end(b);
    if (ci->user_data && (ci->user || ci->packages[0] || ci->runcmd[0] || key || ci->ssh_key))
        return prof_fail(c, error, g, "user-data",
                         "user-data=%s is used as it is, so user=, ssh-key=, packages= and "
                         "runcmd= would be ignored: put them in that file, or drop user-data=",
                         ci->user_data);
    ci->seed = g_build_filename(c->env->state_base, c->p->name, "cidata.iso", NULL);
    return TRUE;
}

gboolean prof_read_platform(Ctx *c, GError **error)
{
    Profile *p = c->p;
    if (!read_display(c, error) || !read_cloud_init(c, error) ||
        !prof_check_keys(c, "tpm", tpm_keys, error) ||
        !prof_get_bool(c, "tpm", "enabled", g_key_file_has_group(c->kf, "tpm"), &p->tpm, error))
        return FALSE;
    if (p->tpm)
        p->tpm_state = g_build_filename(c->env->state_base, p->name, "tpm", NULL);
    return TRUE;
}

void prof_platform_free(Profile *p)
{
    g_free(p->iso_kernel);
    g_free(p->iso_initrd);
    g_free(p->iso_dir);
    g_free(p->preset);
    g_free(p->firmware_code);
    g_free(p->vars_template);
    g_free(p->vars);
    g_free(p->display.type);
    g_free(p->display.vga);
    g_free(p->display.listen);
    g_free(p->display.password_file);
    g_free(p->tpm_state);
    ProfileCloudInit *ci = &p->cloud_init;
    g_free(ci->user);
    g_free(ci->ssh_key);
    g_free(ci->ssh_key_file);
    g_free(ci->hostname);
    g_strfreev(ci->packages);
    g_strfreev(ci->runcmd);
    g_free(ci->user_data);
    g_free(ci->network_config);
    g_free(ci->seed);
}
