/* Profile [disk NAME] and [net NAME] groups. */
#include "profile-read.h"
#include "ini.h"

#include <string.h>

static const char *const disk_keys[] = { "file",  "base", "size",     "format", "bus",
                                         "cache", "aio",  "readonly", NULL };
static const char *const net_keys[] = { "mode", "forward",  "mac",     "model",  "lan", "net",
                                        "dns",  "restrict", "network", "bridge", NULL };

void prof_disk_free(gpointer data)
{
    ProfileDisk *d = data;
    g_free(d->name);
    g_free(d->file);
    g_free(d->base);
    g_free(d->format);
    g_free(d->bus);
    g_free(d->cache);
    g_free(d->aio);
    g_free(d);
}

gboolean prof_read_disk(Ctx *c, const char *g, const char *name, GError **error)
{
    static const char *const formats[] = { "qcow2", "raw", NULL };
    static const char *const buses[] = { "virtio", "sata", NULL };
    static const char *const caches[] = { "none",       "writeback", "writethrough",
                                          "directsync", "unsafe",    NULL };
    static const char *const aios[] = { "auto", "threads", "io_uring", "native", NULL };
    ProfileDisk *d = g_new0(ProfileDisk, 1);
    g_ptr_array_add(c->p->disks, d);
    d->name = g_strdup(name);
    if (!prof_check_keys(c, g, disk_keys, error) || !prof_get_path(c, g, "file", &d->file, error) ||
        !prof_get_path(c, g, "base", &d->base, error) ||
        !prof_get_enum(c, g, "format", formats, "qcow2", &d->format, error) ||
        !prof_get_enum(c, g, "bus", buses, "virtio", &d->bus, error) ||
        !prof_get_enum(c, g, "cache", caches, NULL, &d->cache, error) ||
        !prof_get_enum(c, g, "aio", aios, "auto", &d->aio, error) ||
        !prof_get_bool(c, g, "readonly", FALSE, &d->readonly, error))
        return FALSE;
    /* QEMU refuses Linux AIO on the page cache */
    if (!strcmp(d->aio, "native") && g_strcmp0(d->cache, "none") &&
        g_strcmp0(d->cache, "directsync"))
        return prof_fail(c, error, g, "aio",
                         "aio=native needs cache=none or cache=directsync (it bypasses the host's "
                         "page cache); set one of them, or use aio=io_uring");
    g_autofree char *size = prof_get_str(c, g, "size");
    if (size && !profile_parse_size(size, 0, &d->size))
        return prof_fail(c, error, g, "size", "\"%s\" is not a size (try 10G)", size);
    if (d->base && strcmp(d->format, "qcow2") != 0)
        return prof_fail(c, error, g, "format",
                         "a disk made on base= is a qcow2 overlay (the base may be raw or "
                         "qcow2: qlaunch reads its format); drop format=%s",
                         d->format);
    if (d->size && strcmp(d->format, "qcow2") != 0)
        return prof_fail(c, error, g, "size",
                         "only qcow2 disks are created by qlaunch; create the raw "
                         "file yourself or use format=qcow2");
    if (!d->file) {
        if (!d->size && !d->base)
            return prof_fail(c, error, g, "file",
                             "a disk needs file= (an existing image), size= "
                             "(created in %s/%s/) or base= (an overlay made there on an image)",
                             c->env->state_base, c->p->name);
        g_autofree char *base = g_strdup_printf("%s.qcow2", name);
        d->file = g_build_filename(c->env->state_base, c->p->name, base, NULL);
    }
    if (d->base && strcmp(d->base, d->file) == 0)
        return prof_fail(c, error, g, "base",
                         "%s is also file=: the base is only read, and the VM writes to an "
                         "overlay on it (drop file=, and qlaunch makes it in %s/%s/)",
                         d->base, c->env->state_base, c->p->name);
    return TRUE;
}

void prof_net_free(gpointer data)
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
            return prof_fail(
                c, error, g, "forward",
                "\"%s\" is not a forward (try "
                "tcp:127.0.0.1:2222-:22, i.e. proto:hostaddr:hostport-guestaddr:guestport)",
                v);
        if (n->mode != NET_USER)
            return prof_fail(c, error, g, "forward", "forwards need mode=user");
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
    n->lan = prof_get_str(c, g, "lan");
    if (n->mode == NET_SOCKET && !n->lan)
        return prof_fail(c, error, g, "lan",
                         "missing: mode=socket needs the segment's name (VMs with the same lan= "
                         "share it, e.g. lan=lab)");
    if (n->lan && n->mode != NET_SOCKET)
        return prof_fail(c, error, g, "lan", "needs mode=socket");
    if (n->lan && (!prof_plain_word(n->lan, NULL) || strchr(n->lan, '.') || strlen(n->lan) > 32))
        return prof_fail(c, error, g, "lan",
                         "\"%s\" is not a lan name (letters, digits, '_' and '-', at most 32)",
                         n->lan);
    n->net = prof_get_str(c, g, "net");
    n->dns = prof_get_str(c, g, "dns");
    g_autofree char *restrict_ = prof_get_str(c, g, "restrict");
    if (!prof_get_bool(c, g, "restrict", FALSE, &n->restrict_, error))
        return FALSE;
    if ((n->net || n->dns || restrict_) && n->mode != NET_USER)
        return prof_fail(c, error, g,
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
            return prof_fail(c, error, g, "net",
                             "\"%s\" is not an IPv4 network (e.g. net=10.0.2.0/24, prefix 8 to 30)",
                             n->net);
    }
    if (n->dns && !ipv4(n->dns))
        return prof_fail(c, error, g, "dns",
                         "\"%s\" is not an IPv4 address (the guest's DNS server inside net=, e.g. "
                         "10.0.2.3)",
                         n->dns);
    return TRUE;
}

/* network= or bridge= (mode=tap). */
static gboolean read_tap_options(Ctx *c, const char *g, ProfileNet *n, GError **error)
{
    n->network = prof_get_str(c, g, "network");
    n->bridge = prof_get_str(c, g, "bridge");
    if ((n->network || n->bridge) && n->mode != NET_TAP)
        return prof_fail(c, error, g, n->network ? "network" : "bridge",
                         "needs mode=tap (a tap on a bridge)");
    if (n->mode != NET_TAP)
        return TRUE;
    if (!n->network == !n->bridge)
        return prof_fail(c, error, g, n->network ? "bridge" : "network",
                         n->network
                             ? "give network= or bridge=, not both"
                             : "missing: mode=tap needs network=NAME (a qlaunch NAT network, "
                               "e.g. network=default) or bridge=BRIDGE (an existing bridge)");
    if (n->network && !netdef_name_valid(n->network))
        return prof_fail(c, error, g, "network",
                         "\"%s\" is not a network name (letters, digits, '_' and '-', at most 32)",
                         n->network);
    if (n->bridge && !netdef_ifname_valid(n->bridge))
        return prof_fail(c, error, g, "bridge",
                         "\"%s\" is not an interface name (1 to 15 letters, digits, '_', '-', '.')",
                         n->bridge);
    return TRUE;
}

gboolean prof_read_net(Ctx *c, const char *g, const char *name, GError **error)
{
    static const char *const modes[] = { "user", "tap", "socket", "none", NULL };
    static const char *const models[] = { "virtio", "e1000", NULL };
    ProfileNet *n = g_new0(ProfileNet, 1);
    g_ptr_array_add(c->p->nets, n);
    n->name = g_strdup(name);
    g_autofree char *mode = NULL;
    if (!prof_check_keys(c, g, net_keys, error) ||
        !prof_get_enum(c, g, "mode", modes, "user", &mode, error) ||
        !prof_get_enum(c, g, "model", models, "virtio", &n->model, error))
        return FALSE;
    n->mode = !strcmp(mode, "user")     ? NET_USER
              : !strcmp(mode, "tap")    ? NET_TAP
              : !strcmp(mode, "socket") ? NET_SOCKET
                                        : NET_NONE;
    if (!read_net_options(c, g, n, error) || !read_tap_options(c, g, n, error))
        return FALSE;
    n->mac = prof_get_str(c, g, "mac");
    if (n->mac) {
        g_autoptr(GRegex) re =
            g_regex_new("^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$", G_REGEX_DOLLAR_ENDONLY, 0, NULL);
        if (!g_regex_match(re, n->mac, 0, NULL))
            return prof_fail(c, error, g, "mac",
                             "\"%s\" is not a MAC address (e.g. 52:54:00:12:34:56)", n->mac);
        if (g_ascii_xdigit_value(n->mac[1]) & 1)
            return prof_fail(c, error, g, "mac",
                             "\"%s\" is a multicast address; the first byte must be "
                             "even (e.g. 52:...)",
                             n->mac);
    }
    return read_forwards(c, g, n, error);
}

static const char *const share_keys[] = { "path", "tag", "mount", "type", "readonly", NULL };

void prof_share_free(gpointer data)
{
    ProfileShare *s = data;
    g_free(s->name);
    g_free(s->path);
    g_free(s->tag);
    g_free(s->mount);
    g_free(s);
}

/* A guest path for mount=: absolute, plain characters only (it reaches the
 * kernel command line and cloud-init's YAML), no "..". */
static gboolean plain_guest_path(const char *m)
{
    if (m[0] != '/' || strlen(m) > 200 || strstr(m, "/../") || g_str_has_suffix(m, "/..") ||
        !strcmp(m, "/"))
        return FALSE;
    for (const char *s = m; *s; s++)
        if (!g_ascii_isalnum(*s) && !strchr("/._-", *s))
            return FALSE;
    return TRUE;
}

gboolean prof_read_share(Ctx *c, const char *g, const char *name, GError **error)
{
    static const char *const types[] = { "virtiofs", "9p", NULL };
    ProfileShare *s = g_new0(ProfileShare, 1);
    g_ptr_array_add(c->p->shares, s);
    s->name = g_strdup(name);
    g_autofree char *type = NULL;
    if (!prof_check_keys(c, g, share_keys, error) ||
        !prof_get_path(c, g, "path", &s->path, error) ||
        !prof_get_enum(c, g, "type", types, "virtiofs", &type, error) ||
        !prof_get_bool(c, g, "readonly", FALSE, &s->readonly, error))
        return FALSE;
    s->type = strcmp(type, "9p") ? SHARE_VIRTIOFS : SHARE_9P;
    if (!s->path)
        return prof_fail(c, error, g, "path",
                         "a share needs path= (the host folder the guest sees, e.g. path=~/src "
                         "written out: path=/home/me/src)");
    s->tag = prof_get_str(c, g, "tag");
    if (!s->tag)
        s->tag = g_strdup(name);
    /* virtio-fs tags are at most 36 bytes; 9p's mount_tag 31 */
    if (!prof_plain_word(s->tag, NULL) || strlen(s->tag) > 31)
        return prof_fail(c, error, g, "tag",
                         "\"%s\" is not a mount tag: up to 31 letters, digits, '.', '_' or '-'",
                         s->tag);
    s->mount = prof_get_str(c, g, "mount");
    if (!s->mount)
        s->mount = g_strdup_printf("/mnt/%s", name);
    if (!plain_guest_path(s->mount))
        return prof_fail(c, error, g, "mount",
                         "\"%s\" is not a guest folder qlaunch mounts a share on: an absolute "
                         "path of letters, digits, '/', '.', '_' or '-', not / and without ..",
                         s->mount);
    return TRUE;
}

gboolean prof_check_shares(Ctx *c, GError **error)
{
    GPtrArray *a = c->p->shares;
    for (guint i = 0; i < a->len; i++) {
        const ProfileShare *s = a->pdata[i];
        for (guint j = 0; j < i; j++) {
            const ProfileShare *o = a->pdata[j];
            g_autofree char *g = g_strdup_printf("share %s", s->name);
            if (!strcmp(s->tag, o->tag))
                return prof_fail(c, error, g, "tag", "\"%s\" is also [share %s]'s tag", s->tag,
                                 o->name);
            if (!strcmp(s->mount, o->mount))
                return prof_fail(c, error, g, "mount", "\"%s\" is also [share %s]'s mount point",
                                 s->mount, o->name);
        }
    }
    return TRUE;
}
