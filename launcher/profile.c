/* VM profiles: parse an INI file with GKeyFile and validate every value. */
#include "profile.h"
#include "ini.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CPU_SETSIZE_MAX 1024

static const char *const vm_keys[] = {
    "name", "memory",    "cpus",         "accel",       "cpu",        "machine", "snapshot-disk",
    "pin",  "cpu-limit", "memory-limit", "tcg-tb-size", "tcg-thread", "balloon", NULL
};
static const char *const boot_keys[] = { "kernel", "initrd", "append", "cdrom", "order", NULL };
static const char *const disk_keys[] = {
    "file", "size", "format", "bus", "cache", "readonly", NULL
};
static const char *const net_keys[] = { "mode", "forward",  "mac",     "model",  "lan", "net",
                                        "dns",  "restrict", "network", "bridge", NULL };
static const char *const agent_keys[] = { "enabled", NULL };
static const char *const serial_keys[] = { "enabled", "log", NULL };

/* The reading context: file name for messages, the key file, the result. */
typedef struct {
    const char *path;
    GKeyFile *kf;
    const ProfileEnv *env;
    Profile *p;
    GHashTable *forwards; /* group -> GPtrArray of every forward= line */
} Ctx;

static gboolean fail(Ctx *c, GError **error, const char *group, const char *key, const char *fmt,
                     ...) G_GNUC_PRINTF(5, 6);
static gboolean fail(Ctx *c, GError **error, const char *group, const char *key, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_INVALID, "profile %s%s%s%s%s%s: %s", c->path,
                group ? " [" : "", group ? group : "", group ? "]" : "", key ? " " : "",
                key ? key : "", msg);
    return FALSE;
}

/* "did you mean 'x'?" for the closest valid word, or "valid: a, b, c". */
static char *suggest(const char *word, const char *const *valid)
{
    const char *best = ini_closest(word, valid, 2);
    g_autofree char *list = g_strjoinv(", ", (char **)valid);
    if (best)
        return g_strdup_printf("did you mean '%s'? (valid: %s)", best, list);
    return g_strdup_printf("valid keys: %s", list);
}

static gboolean check_keys(Ctx *c, const char *group, const char *const *valid, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(c->kf, group, NULL, NULL);
    for (gsize i = 0; keys && keys[i]; i++) {
        /* GKeyFile returns no value that is not UTF-8: do not take it for absent */
        g_autofree char *v = g_key_file_get_string(c->kf, group, keys[i], NULL);
        if (!v)
            return fail(c, error, group, keys[i], "the value is not valid UTF-8 text");
        if (!g_strv_contains(valid, keys[i])) {
            g_autofree char *hint = suggest(keys[i], valid);
            return fail(c, error, group, keys[i], "unknown key; %s", hint);
        }
    }
    return TRUE;
}

static char *get_str(Ctx *c, const char *group, const char *key)
{
    char *v = g_key_file_get_string(c->kf, group, key, NULL);
    return v ? profile_strip_comment(v) : NULL;
}

static gboolean no_control_chars(Ctx *c, const char *group, const char *key, const char *v,
                                 GError **error)
{
    for (const char *s = v; *s; s++) {
        if ((guchar)*s < 0x20 || *s == 0x7f)
            return fail(c, error, group, key, "control characters are not allowed in values");
    }
    return TRUE;
}

static gboolean get_bool(Ctx *c, const char *group, const char *key, gboolean dflt, gboolean *out,
                         GError **error)
{
    g_autofree char *v = get_str(c, group, key);
    if (!v) {
        *out = dflt;
        return TRUE;
    }
    if (!profile_parse_bool(v, out))
        return fail(c, error, group, key, "\"%s\" is not a boolean (use true or false)", v);
    return TRUE;
}

gboolean profile_parse_bool(const char *v, gboolean *out)
{
    if (!g_ascii_strcasecmp(v, "true") || !g_ascii_strcasecmp(v, "yes") || !strcmp(v, "1") ||
        !g_ascii_strcasecmp(v, "on"))
        *out = TRUE;
    else if (!g_ascii_strcasecmp(v, "false") || !g_ascii_strcasecmp(v, "no") || !strcmp(v, "0") ||
             !g_ascii_strcasecmp(v, "off"))
        *out = FALSE;
    else
        return FALSE;
    return TRUE;
}

/* One of a fixed set of words. */
static gboolean get_enum(Ctx *c, const char *group, const char *key, const char *const *words,
                         const char *dflt, char **out, GError **error)
{
    g_autofree char *v = get_str(c, group, key);
    if (!v) {
        *out = g_strdup(dflt);
        return TRUE;
    }
    if (!g_strv_contains(words, v)) {
        g_autofree char *list = g_strjoinv(", ", (char **)words);
        return fail(c, error, group, key, "\"%s\" is not one of: %s", v, list);
    }
    *out = g_steal_pointer(&v);
    return TRUE;
}

gboolean profile_parse_size(const char *text, guint64 plain_unit, guint64 *out)
{
    if (!text || !g_ascii_isdigit(*text))
        return FALSE;
    errno = 0;
    char *end = NULL;
    guint64 n = g_ascii_strtoull(text, &end, 10);
    if (errno || n == 0)
        return FALSE;
    guint64 unit;
    switch (g_ascii_toupper(*end)) {
    case '\0': unit = plain_unit; break;
    case 'K':
        unit = 1ull << 10;
        end++;
        break;
    case 'M':
        unit = 1ull << 20;
        end++;
        break;
    case 'G':
        unit = 1ull << 30;
        end++;
        break;
    case 'T':
        unit = 1ull << 40;
        end++;
        break;
    default: return FALSE;
    }
    if (unit == 0)
        return FALSE;
    if (*end && g_ascii_strcasecmp(end, "B") && g_ascii_strcasecmp(end, "iB"))
        return FALSE;
    if (n > G_MAXUINT64 / unit)
        return FALSE;
    *out = n * unit;
    return TRUE;
}

/* A word safe as a QEMU option value without escaping (machine type, ids). */
static gboolean plain_word(const char *s, const char *extra)
{
    if (!s || !*s || *s == '-')
        return FALSE;
    for (; *s; s++) {
        if (!g_ascii_isalnum(*s) && !strchr("._-", *s) && !(extra && strchr(extra, *s)))
            return FALSE;
    }
    return TRUE;
}

/* Resolves a path value: @guest/X, absolute, or relative to the profile. */
static gboolean get_path(Ctx *c, const char *group, const char *key, char **out, GError **error)
{
    g_autofree char *v = get_str(c, group, key);
    *out = NULL;
    if (!v)
        return TRUE;
    if (!*v)
        return fail(c, error, group, key, "empty path");
    if (!no_control_chars(c, group, key, v, error))
        return FALSE;
    if (g_str_has_prefix(v, "@guest/")) {
        const char *rest = v + strlen("@guest/");
        g_auto(GStrv) parts = g_strsplit(rest, "/", -1);
        if (!*rest || g_strv_contains((const char *const *)parts, ".."))
            return fail(c, error, group, key,
                        "\"%s\": @guest/ takes a file name inside the guest "
                        "directory (e.g. @guest/vmlinuz)",
                        v);
        *out = g_build_filename(c->env->guest_dir, rest, NULL);
    } else if (g_path_is_absolute(v)) {
        *out = g_steal_pointer(&v);
    } else {
        *out = g_build_filename(c->p->dir, v, NULL);
    }
    return TRUE;
}

/* pin=2,3: one host CPU per vCPU, or one for all of them. */
static gboolean read_pin(Ctx *c, GError **error)
{
    Profile *p = c->p;
    g_autofree char *pin = get_str(c, "vm", "pin");
    if (!pin)
        return TRUE;
    g_auto(GStrv) items = g_strsplit(pin, ",", -1);
    guint n = g_strv_length(items);
    if (n != 1 && n != p->cpus)
        return fail(c, error, "vm", "pin",
                    "\"%s\" names %u host CPUs for %u vCPUs (give one host CPU per vCPU, "
                    "e.g. pin=0,1, or one for all)",
                    pin, n, p->cpus);
    p->pin = g_new0(int, p->cpus);
    for (guint i = 0; i < p->cpus; i++) {
        const char *it = items[n == 1 ? 0 : i];
        char *end = NULL;
        guint64 cpu = g_ascii_strtoull(it, &end, 10);
        if (!g_ascii_isdigit(*it) || *end || cpu >= CPU_SETSIZE_MAX)
            return fail(c, error, "vm", "pin",
                        "\"%s\" is not a host CPU number (pin=0,1 puts vCPU 0 on host CPU 0 "
                        "and vCPU 1 on host CPU 1)",
                        it);
        p->pin[i] = (int)cpu;
    }
    return TRUE;
}

/* cpu-limit=50% (of one host CPU, like top and cpulimit), memory-limit=1G. */
static gboolean read_resources(Ctx *c, GError **error)
{
    Profile *p = c->p;
    if (!read_pin(c, error))
        return FALSE;
    g_autofree char *lim = get_str(c, "vm", "cpu-limit");
    if (lim) {
        char *end = NULL;
        guint64 pct = g_ascii_strtoull(lim, &end, 10);
        if (!g_ascii_isdigit(*lim) || g_strcmp0(end, "%") != 0 || pct < 1 || pct > 100 * 1024)
            return fail(c, error, "vm", "cpu-limit",
                        "\"%s\" is not a CPU share (a percentage of one host CPU, like top: "
                        "cpu-limit=50%% or cpu-limit=200%%)",
                        lim);
        p->cpu_limit_pct = (guint)pct;
    }
    g_autofree char *mlim = get_str(c, "vm", "memory-limit");
    if (mlim && (!profile_parse_size(mlim, 0, &p->memory_limit) || p->memory_limit < (64ull << 20)))
        return fail(c, error, "vm", "memory-limit",
                    "\"%s\" is not a memory size of at least 64M (the QEMU process's limit, "
                    "e.g. memory-limit=1G)",
                    mlim);
    return TRUE;
}

/* tcg-tb-size=MiB (translation cache), tcg-thread=multi|single. */
static gboolean read_tcg(Ctx *c, GError **error)
{
    static const char *const threads[] = { "default", "multi", "single", NULL };
    Profile *p = c->p;
    g_autofree char *tb = get_str(c, "vm", "tcg-tb-size");
    if (tb) {
        char *end = NULL;
        guint64 mib = g_ascii_strtoull(tb, &end, 10);
        if (!g_ascii_isdigit(*tb) || *end || mib < 1 || mib > 65536)
            return fail(c, error, "vm", "tcg-tb-size",
                        "\"%s\" is not a translation cache size in MiB (1 to 65536, e.g. 512)", tb);
        p->tcg_tb_size_mib = (guint)mib;
    }
    g_autofree char *th = NULL;
    if (!get_enum(c, "vm", "tcg-thread", threads, "default", &th, error))
        return FALSE;
    if (strcmp(th, "default") != 0)
        p->tcg_thread = g_steal_pointer(&th);
    return get_bool(c, "vm", "balloon", FALSE, &p->balloon, error);
}

static gboolean read_vm(Ctx *c, GError **error)
{
    static const char *const accels[] = { "auto", "kvm", "tcg", NULL };
    const char *g = "vm";
    Profile *p = c->p;
    if (!check_keys(c, g, vm_keys, error))
        return FALSE;
    g_autofree char *name = get_str(c, g, "name");
    if (c->env->name_override) {
        g_free(name);
        name = g_strdup(c->env->name_override);
    } else if (!name) {
        g_autofree char *base = g_path_get_basename(c->path);
        char *dot = strrchr(base, '.');
        if (dot)
            *dot = '\0';
        name = g_steal_pointer(&base);
    }
    if (!profile_name_valid(name))
        return fail(c, error, g, "name",
                    "\"%s\" is not a valid VM name (letters, digits, '.', '_', "
                    "'-'; starting with a letter or digit; at most 64)",
                    name);
    p->name = g_steal_pointer(&name);

    g_autofree char *mem = get_str(c, g, "memory");
    guint64 bytes = 512ull << 20;
    if (mem && !profile_parse_size(mem, 1ull << 20, &bytes))
        return fail(c, error, g, "memory", "\"%s\" is not a size (try 512M or 2G)", mem);
    if (bytes < (16ull << 20))
        return fail(c, error, g, "memory",
                    "\"%s\" is %" G_GUINT64_FORMAT " %s; a VM needs at least 16M (a bare "
                    "number is MiB: try 512M or 2G)",
                    mem, bytes % (1ull << 20) ? bytes >> 10 : bytes >> 20,
                    bytes % (1ull << 20) ? "KiB" : "MiB");
    if (bytes % (1ull << 20))
        return fail(c, error, g, "memory", "\"%s\" must be a whole number of MiB (e.g. 1536M)",
                    mem);
    p->memory_mib = bytes >> 20;

    g_autofree char *cpus = get_str(c, g, "cpus");
    p->cpus = 1;
    if (cpus) {
        char *end = NULL;
        guint64 n = g_ascii_strtoull(cpus, &end, 10);
        if (!g_ascii_isdigit(*cpus) || *end || n < 1 || n > 255)
            return fail(c, error, g, "cpus", "\"%s\" is not a vCPU count (1 to 255)", cpus);
        p->cpus = (guint)n;
    }

    g_autofree char *accel = NULL;
    if (!get_enum(c, g, "accel", accels, "auto", &accel, error))
        return FALSE;
    p->accel = !strcmp(accel, "kvm") ? ACCEL_KVM : !strcmp(accel, "tcg") ? ACCEL_TCG : ACCEL_AUTO;

    p->cpu = get_str(c, g, "cpu");
    if (!p->cpu)
        p->cpu = g_strdup("auto");
    if (!plain_word(p->cpu, ",+="))
        return fail(c, error, g, "cpu", "\"%s\" is not a CPU model (try auto, max, host or qemu64)",
                    p->cpu);
    p->machine = get_str(c, g, "machine");
    if (!p->machine)
        p->machine = g_strdup("q35");
    p->snapshot_disk = get_str(c, g, "snapshot-disk");
    if (!plain_word(p->machine, NULL))
        return fail(c, error, g, "machine", "\"%s\" is not a machine type (try q35 or pc)",
                    p->machine);
    return read_resources(c, error) && read_tcg(c, error);
}

static gboolean read_boot(Ctx *c, GError **error)
{
    const char *g = "boot";
    Profile *p = c->p;
    if (!g_key_file_has_group(c->kf, g))
        return TRUE;
    if (!check_keys(c, g, boot_keys, error) || !get_path(c, g, "kernel", &p->kernel, error) ||
        !get_path(c, g, "initrd", &p->initrd, error) || !get_path(c, g, "cdrom", &p->cdrom, error))
        return FALSE;
    p->append = get_str(c, g, "append");
    if (p->append && !no_control_chars(c, g, "append", p->append, error))
        return FALSE;
    if ((p->initrd || p->append) && !p->kernel)
        return fail(c, error, g, p->initrd ? "initrd" : "append",
                    "needs kernel= in the same group");
    p->order = get_str(c, g, "order");
    if (p->order) {
        if (!*p->order || strspn(p->order, "acdn") != strlen(p->order))
            return fail(c, error, g, "order",
                        "\"%s\" is not a boot order (letters c=disk, d=cdrom, "
                        "n=network, a=floppy; e.g. dc)",
                        p->order);
    }
    return TRUE;
}

static void disk_free(gpointer data)
{
    ProfileDisk *d = data;
    g_free(d->name);
    g_free(d->file);
    g_free(d->format);
    g_free(d->bus);
    g_free(d->cache);
    g_free(d);
}

static gboolean read_disk(Ctx *c, const char *g, const char *name, GError **error)
{
    static const char *const formats[] = { "qcow2", "raw", NULL };
    static const char *const buses[] = { "virtio", "sata", NULL };
    static const char *const caches[] = { "none",       "writeback", "writethrough",
                                          "directsync", "unsafe",    NULL };
    ProfileDisk *d = g_new0(ProfileDisk, 1);
    g_ptr_array_add(c->p->disks, d);
    d->name = g_strdup(name);
    if (!check_keys(c, g, disk_keys, error) || !get_path(c, g, "file", &d->file, error) ||
        !get_enum(c, g, "format", formats, "qcow2", &d->format, error) ||
        !get_enum(c, g, "bus", buses, "virtio", &d->bus, error) ||
        !get_enum(c, g, "cache", caches, NULL, &d->cache, error) ||
        !get_bool(c, g, "readonly", FALSE, &d->readonly, error))
        return FALSE;
    g_autofree char *size = get_str(c, g, "size");
    if (size && !profile_parse_size(size, 0, &d->size))
        return fail(c, error, g, "size", "\"%s\" is not a size (try 10G)", size);
    if (d->size && strcmp(d->format, "qcow2") != 0)
        return fail(c, error, g, "size",
                    "only qcow2 disks are created by qlaunch; create the raw "
                    "file yourself or use format=qcow2");
    if (!d->file) {
        if (!d->size)
            return fail(c, error, g, "file",
                        "a disk needs file= (an existing image) or size= "
                        "(created in %s/%s/)",
                        c->env->state_base, c->p->name);
        g_autofree char *base = g_strdup_printf("%s.qcow2", name);
        d->file = g_build_filename(c->env->state_base, c->p->name, base, NULL);
    }
    return TRUE;
}

static void net_free(gpointer data)
{
    ProfileNet *n = data;
    g_free(n->name);
    g_strfreev(n->forwards);
    g_free(n->lan);
    g_free(n->net);
    g_free(n->dns);
    g_free(n->mac);
    g_free(n->model);
    g_free(n->network);
    g_free(n->bridge);
    g_free(n);
}

/* "tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"; an empty host address
 * becomes 127.0.0.1 so a forward is never open to the network by accident. */
char *profile_normalise_forward(const char *v)
{
    g_autoptr(GRegex) re = g_regex_new("^(tcp|udp):([0-9.]*):([0-9]{1,5})-([0-9.]*):([0-9]{1,5})$",
                                       G_REGEX_DOLLAR_ENDONLY, 0, NULL);
    g_autoptr(GMatchInfo) m = NULL;
    if (!g_regex_match(re, v, 0, &m))
        return NULL;
    g_autofree char *proto = g_match_info_fetch(m, 1), *haddr = g_match_info_fetch(m, 2);
    g_autofree char *hport = g_match_info_fetch(m, 3), *gaddr = g_match_info_fetch(m, 4);
    g_autofree char *gport = g_match_info_fetch(m, 5);
    if (atoi(hport) < 1 || atoi(hport) > 65535 || atoi(gport) < 1 || atoi(gport) > 65535)
        return NULL;
    return g_strdup_printf("%s:%s:%s-%s:%s", proto, *haddr ? haddr : "127.0.0.1", hport, gaddr,
                           gport);
}

static gboolean read_forwards(Ctx *c, const char *g, ProfileNet *n, GError **error)
{
    GPtrArray *lines = g_hash_table_lookup(c->forwards, g);
    g_autoptr(GStrvBuilder) out = g_strv_builder_new();
    for (guint i = 0; lines && i < lines->len; i++) {
        const char *v = lines->pdata[i];
        g_autofree char *norm = profile_normalise_forward(v);
        if (!norm)
            return fail(c, error, g, "forward",
                        "\"%s\" is not a forward (try "
                        "tcp:127.0.0.1:2222-:22, i.e. proto:hostaddr:hostport-guestaddr:guestport)",
                        v);
        if (n->mode != NET_USER)
            return fail(c, error, g, "forward", "forwards need mode=user");
        g_strv_builder_add(out, norm);
    }
    n->forwards = g_strv_builder_end(out);
    return TRUE;
}

static gboolean ipv4(const char *s)
{
    g_autoptr(GRegex) re = g_regex_new(
        "^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$",
        G_REGEX_DOLLAR_ENDONLY, 0, NULL);
    return g_regex_match(re, s, 0, NULL);
}

/* lan= (mode=socket), net=, dns=, restrict= (mode=user). */
static gboolean read_net_options(Ctx *c, const char *g, ProfileNet *n, GError **error)
{
    n->lan = get_str(c, g, "lan");
    if (n->mode == NET_SOCKET && !n->lan)
        return fail(c, error, g, "lan",
                    "missing: mode=socket needs the segment's name (VMs with the same lan= "
                    "share it, e.g. lan=lab)");
    if (n->lan && n->mode != NET_SOCKET)
        return fail(c, error, g, "lan", "needs mode=socket");
    if (n->lan && (!plain_word(n->lan, NULL) || strchr(n->lan, '.') || strlen(n->lan) > 32))
        return fail(c, error, g, "lan",
                    "\"%s\" is not a lan name (letters, digits, '_' and '-', at most 32)", n->lan);
    n->net = get_str(c, g, "net");
    n->dns = get_str(c, g, "dns");
    g_autofree char *restrict_ = get_str(c, g, "restrict");
    if (!get_bool(c, g, "restrict", FALSE, &n->restrict_, error))
        return FALSE;
    if ((n->net || n->dns || restrict_) && n->mode != NET_USER)
        return fail(c, error, g,
                    n->net   ? "net"
                    : n->dns ? "dns"
                             : "restrict",
                    "needs mode=user (the user-mode NAT's guest network)");
    if (n->net) {
        /* g_strsplit of "" is an empty vector: parts[1] only after parts[0] */
        g_auto(GStrv) parts = g_strsplit(n->net, "/", 2);
        char *end = NULL;
        guint64 bits = parts[0] && parts[1] ? g_ascii_strtoull(parts[1], &end, 10) : 0;
        if (!parts[0] || !ipv4(parts[0]) || !parts[1] || !g_ascii_isdigit(*parts[1]) || *end ||
            bits < 8 || bits > 30)
            return fail(c, error, g, "net",
                        "\"%s\" is not an IPv4 network (e.g. net=10.0.2.0/24, prefix 8 to 30)",
                        n->net);
    }
    if (n->dns && !ipv4(n->dns))
        return fail(c, error, g, "dns",
                    "\"%s\" is not an IPv4 address (the guest's DNS server inside net=, e.g. "
                    "10.0.2.3)",
                    n->dns);
    return TRUE;
}

/* network= or bridge= (mode=tap). */
static gboolean read_tap_options(Ctx *c, const char *g, ProfileNet *n, GError **error)
{
    n->network = get_str(c, g, "network");
    n->bridge = get_str(c, g, "bridge");
    if ((n->network || n->bridge) && n->mode != NET_TAP)
        return fail(c, error, g, n->network ? "network" : "bridge",
                    "needs mode=tap (a tap on a bridge)");
    if (n->mode != NET_TAP)
        return TRUE;
    if (!n->network == !n->bridge)
        return fail(c, error, g, n->network ? "bridge" : "network",
                    n->network ? "give network= or bridge=, not both"
                               : "missing: mode=tap needs network=NAME (a qlaunch NAT network, "
                                 "e.g. network=default) or bridge=BRIDGE (an existing bridge)");
    if (n->network && !netdef_name_valid(n->network))
        return fail(c, error, g, "network",
                    "\"%s\" is not a network name (letters, digits, '_' and '-', at most 32)",
                    n->network);
    if (n->bridge && !netdef_ifname_valid(n->bridge))
        return fail(c, error, g, "bridge",
                    "\"%s\" is not an interface name (1 to 15 letters, digits, '_', '-', '.')",
                    n->bridge);
    return TRUE;
}

static gboolean read_net(Ctx *c, const char *g, const char *name, GError **error)
{
    static const char *const modes[] = { "user", "tap", "socket", "none", NULL };
    static const char *const models[] = { "virtio", "e1000", NULL };
    ProfileNet *n = g_new0(ProfileNet, 1);
    g_ptr_array_add(c->p->nets, n);
    n->name = g_strdup(name);
    g_autofree char *mode = NULL;
    if (!check_keys(c, g, net_keys, error) ||
        !get_enum(c, g, "mode", modes, "user", &mode, error) ||
        !get_enum(c, g, "model", models, "virtio", &n->model, error))
        return FALSE;
    n->mode = !strcmp(mode, "user")     ? NET_USER
              : !strcmp(mode, "tap")    ? NET_TAP
              : !strcmp(mode, "socket") ? NET_SOCKET
                                        : NET_NONE;
    if (!read_net_options(c, g, n, error) || !read_tap_options(c, g, n, error))
        return FALSE;
    n->mac = get_str(c, g, "mac");
    if (n->mac) {
        g_autoptr(GRegex) re =
            g_regex_new("^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$", G_REGEX_DOLLAR_ENDONLY, 0, NULL);
        if (!g_regex_match(re, n->mac, 0, NULL))
            return fail(c, error, g, "mac", "\"%s\" is not a MAC address (e.g. 52:54:00:12:34:56)",
                        n->mac);
        if (g_ascii_xdigit_value(n->mac[1]) & 1)
            return fail(c, error, g, "mac",
                        "\"%s\" is a multicast address; the first byte must be "
                        "even (e.g. 52:...)",
                        n->mac);
    }
    return read_forwards(c, g, n, error);
}

/* GKeyFile keeps only the last of repeated keys; forward= may be repeated,
 * so collect those lines per group from the text itself. */
static GHashTable *collect_forwards(const char *data, gsize len)
{
    GHashTable *t =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    g_autofree char *text = g_strndup(data, len);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *group = NULL;
    for (gsize i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        if (*l == '[' && l[strlen(l) - 1] == ']') {
            g_free(group);
            group = g_strndup(l + 1, strlen(l) - 2);
        } else if (group && g_str_has_prefix(l, "forward")) {
            char *eq = strchr(l, '=');
            g_autofree char *key = eq ? g_strstrip(g_strndup(l, (gsize)(eq - l))) : NULL;
            if (!key || strcmp(key, "forward") != 0)
                continue;
            GPtrArray *arr = g_hash_table_lookup(t, group);
            if (!arr) {
                arr = g_ptr_array_new_with_free_func(g_free);
                g_hash_table_insert(t, g_strdup(group), arr);
            }
            g_ptr_array_add(arr, profile_strip_comment(g_strdup(eq + 1)));
        }
    }
    return t;
}

/* GKeyFile keeps the last of a repeated key without a word: a key given
 * twice in a group (also when the group itself is repeated) is refused,
 * naming both lines, and so is a forward= repeated with the same rule. */
static gboolean check_repeats(Ctx *c, const char *data, gsize len, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *text = g_strndup(data, len);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *group = NULL;
    for (gsize i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        char *eq = strchr(l, '=');
        if (*l == '[' && l[strlen(l) - 1] == ']') {
            g_free(group);
            group = g_strndup(l + 1, strlen(l) - 2);
            continue;
        }
        if (!group || *l == '#' || *l == ';' || !eq)
            continue;
        g_autofree char *key = g_strstrip(g_strndup(l, (gsize)(eq - l)));
        gboolean fwd = !strcmp(key, "forward");
        g_autofree char *value = fwd ? profile_strip_comment(g_strdup(eq + 1)) : NULL;
        g_autofree char *id =
            g_strdup_printf("%s\n%s%s%s", group, key, fwd ? "=" : "", fwd ? g_strstrip(value) : "");
        gsize first = GPOINTER_TO_SIZE(g_hash_table_lookup(seen, id));
        if (first)
            return fail(c, error, group, key,
                        fwd ? "the same forward is given twice (lines %zu and %zu): keep one"
                            : "given twice (lines %zu and %zu; only the last would count): keep "
                              "one",
                        first, i + 1);
        g_hash_table_insert(seen, g_steal_pointer(&id), GSIZE_TO_POINTER(i + 1));
    }
    return TRUE;
}

/* "disk data" -> kind "disk", name "data". */
static gboolean split_group(Ctx *c, const char *group, char **kind, char **name, GError **error)
{
    const char *sp = strchr(group, ' ');
    *kind = sp ? g_strndup(group, (gsize)(sp - group)) : g_strdup(group);
    *name = sp ? g_strdup(sp + 1) : NULL;
    gboolean named = !strcmp(*kind, "disk") || !strcmp(*kind, "net");
    gboolean single = !strcmp(*kind, "vm") || !strcmp(*kind, "boot") || !strcmp(*kind, "agent") ||
                      !strcmp(*kind, "serial");
    if (!named && !single) {
        static const char *const kinds[] = { "vm", "boot", "disk", "net", "agent", "serial", NULL };
        g_autofree char *hint = suggest(*kind, kinds);
        return fail(c, error, group, NULL,
                    "unknown group; %s (disk and net take a name: [disk data])", hint);
    }
    if (named && (!*name || !plain_word(*name, NULL) || strchr(*name, '.')))
        return fail(c, error, group, NULL,
                    "[%s NAME] needs a name of letters, digits, '_' or '-' "
                    "(e.g. [%s 0])",
                    *kind, *kind);
    if (single && *name)
        return fail(c, error, group, NULL, "[%s] takes no name", *kind);
    /* found by fuzz-argv: its drive id would be the [boot] cdrom's */
    if (named && !strcmp(*kind, "disk") && !strcmp(*name, "cdrom"))
        return fail(c, error, group, NULL,
                    "the name cdrom is kept for [boot] cdrom=; call the disk something else");
    return TRUE;
}

/* Every group name is known, before any value is read. */
static gboolean check_groups(Ctx *c, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(c->kf, NULL);
    for (gsize i = 0; groups[i]; i++) {
        g_autofree char *kind = NULL, *name = NULL;
        if (!split_group(c, groups[i], &kind, &name, error))
            return FALSE;
    }
    if (!g_key_file_has_group(c->kf, "vm"))
        return fail(c, error, NULL, NULL,
                    "has no [vm] group (it needs at least [vm] and a way to "
                    "boot: [boot] kernel= or cdrom=, or a [disk NAME])");
    return TRUE;
}

static gboolean read_groups(Ctx *c, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(c->kf, NULL);
    for (gsize i = 0; groups[i]; i++) {
        g_autofree char *kind = NULL, *name = NULL;
        split_group(c, groups[i], &kind, &name, NULL);
        if (!strcmp(kind, "disk") && !read_disk(c, groups[i], name, error))
            return FALSE;
        if (!strcmp(kind, "net") && !read_net(c, groups[i], name, error))
            return FALSE;
    }
    if (!check_keys(c, "agent", agent_keys, error) ||
        !get_bool(c, "agent", "enabled", TRUE, &c->p->agent, error) ||
        !check_keys(c, "serial", serial_keys, error) ||
        !get_bool(c, "serial", "enabled", TRUE, &c->p->serial, error) ||
        !get_path(c, "serial", "log", &c->p->serial_log, error))
        return FALSE;
    return TRUE;
}

Profile *profile_load_data(const char *path, const char *data, gsize len, const ProfileEnv *env,
                           GError **error)
{
    g_autoptr(Profile) p = g_new0(Profile, 1);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;
    p->path = g_strdup(path);
    p->source = g_bytes_new(data, len);
    g_autofree char *dir = g_path_get_dirname(path);
    p->dir = g_path_is_absolute(dir) ? g_steal_pointer(&dir) : g_canonicalize_filename(dir, NULL);
    p->disks = g_ptr_array_new_with_free_func(disk_free);
    p->nets = g_ptr_array_new_with_free_func(net_free);
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ,
                    "profile %s: not a valid INI file: %s", path, local->message);
        return NULL;
    }
    Ctx c = { .path = path, .kf = kf, .env = env, .p = p, .forwards = collect_forwards(data, len) };
    gboolean ok = check_repeats(&c, data, len, error) && check_groups(&c, error) &&
                  read_vm(&c, error) && read_boot(&c, error) && read_groups(&c, error);
    if (ok && p->snapshot_disk && !profile_find_disk(p, p->snapshot_disk))
        ok = fail(&c, error, "vm", "snapshot-disk",
                  "\"%s\" names no [disk %s] group in this profile", p->snapshot_disk,
                  p->snapshot_disk);
    if (ok && !p->kernel && !p->cdrom && p->disks->len == 0)
        ok = fail(&c, error, "boot", NULL,
                  "nothing to boot from: give kernel=, cdrom= or a [disk NAME]");
    g_hash_table_unref(c.forwards);
    return ok ? g_steal_pointer(&p) : NULL;
}

Profile *profile_load(const char *path, const ProfileEnv *env, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ, "profile %s: %s", path,
                    local->message);
        return NULL;
    }
    return profile_load_data(path, data, len, env, error);
}

void profile_free(Profile *p)
{
    if (!p)
        return;
    g_free(p->path);
    g_clear_pointer(&p->source, g_bytes_unref);
    g_free(p->dir);
    g_free(p->name);
    g_free(p->cpu);
    g_free(p->machine);
    g_free(p->snapshot_disk);
    g_free(p->pin);
    g_free(p->tcg_thread);
    g_free(p->kernel);
    g_free(p->initrd);
    g_free(p->append);
    g_free(p->cdrom);
    g_free(p->order);
    if (p->disks)
        g_ptr_array_unref(p->disks);
    if (p->nets)
        g_ptr_array_unref(p->nets);
    g_free(p->serial_log);
    g_free(p);
}

ProfileDisk *profile_find_disk(const Profile *p, const char *name)
{
    for (guint i = 0; i < p->disks->len; i++) {
        ProfileDisk *d = p->disks->pdata[i];
        if (strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

const char *profile_accel_name(AccelChoice a)
{
    return a == ACCEL_KVM ? "kvm" : a == ACCEL_TCG ? "tcg" : "auto";
}

const char *profile_net_mode_name(NetMode m)
{
    static const char *const names[] = { "user", "tap", "socket", "none" };
    return names[m];
}
