/* NAT network definitions: parse and validate the INI, render dnsmasq's
 * configuration and the nftables rules, find routes that overlap. Pure. */
#include "network.h"

#include <stdio.h>
#include <string.h>

#include "ini.h"

static const char *const network_keys[] = { "bridge", "subnet", "gateway", "dhcp-range",
                                            "nat",    "dns",    "uplink",  NULL };

static gboolean fail(GError **error, const NetDef *d, const char *group, const char *key,
                     const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static gboolean fail(GError **error, const NetDef *d, const char *group, const char *key,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_INVALID, "network %s%s%s%s%s%s: %s", d->path,
                group ? " [" : "", group ? group : "", group ? "]" : "", key ? " " : "",
                key ? key : "", msg);
    return FALSE;
}

static gboolean parse_ip(const char *s, guint32 *out)
{
    guint32 v = 0;
    int parts = 0;
    const char *p = s;
    while (parts < 4) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
        guint x = 0;
        int digits = 0;
        while (g_ascii_isdigit(*p) && digits < 4) {
            x = x * 10 + (guint)(*p++ - '0');
            digits++;
        }
        if (x > 255 || digits > 3)
            return FALSE;
        v = (v << 8) | x;
        parts++;
        if (parts < 4 && *p++ != '.')
            return FALSE;
    }
    if (*p)
        return FALSE;
    *out = v;
    return TRUE;
}

char *netdef_ip_string(guint32 a)
{
    return g_strdup_printf("%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static guint32 mask_of(guint prefix)
{
    return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

char *netdef_subnet_string(const NetDef *d)
{
    g_autofree char *ip = netdef_ip_string(d->net);
    return g_strdup_printf("%s/%u", ip, d->prefix);
}

char *netdef_nft_table(const NetDef *d)
{
    /* One name, one table: '_' is written "__" and '-' "_h", so lab-1 and
     * lab_1 no longer share (and delete) one table. */
    GString *t = g_string_new("qlaunch_");
    for (const char *c = d->name; *c; c++) {
        if (*c == '_')
            g_string_append(t, "__");
        else if (*c == '-')
            g_string_append(t, "_h");
        else
            g_string_append_c(t, *c);
    }
    return g_string_free(t, FALSE);
}

static char *value(GKeyFile *kf, const char *g, const char *k)
{
    char *v = g_key_file_get_string(kf, g, k, NULL);
    return v ? profile_strip_comment(v) : NULL;
}

static gboolean read_bool(GKeyFile *kf, const NetDef *d, const char *k, gboolean *out,
                          GError **error)
{
    g_autofree char *v = value(kf, "network", k);
    if (!v)
        return TRUE;
    if (!g_ascii_strcasecmp(v, "yes") || !g_ascii_strcasecmp(v, "true") || !strcmp(v, "1") ||
        !g_ascii_strcasecmp(v, "on"))
        *out = TRUE;
    else if (!g_ascii_strcasecmp(v, "no") || !g_ascii_strcasecmp(v, "false") || !strcmp(v, "0") ||
             !g_ascii_strcasecmp(v, "off"))
        *out = FALSE;
    else
        return fail(error, d, "network", k, "\"%s\" is not yes or no", v);
    return TRUE;
}

static gboolean inside(const NetDef *d, guint32 a)
{
    guint32 m = mask_of(d->prefix);
    return (a & m) == d->net && a != d->net && a != (d->net | ~m);
}

static gboolean read_subnet(GKeyFile *kf, NetDef *d, GError **error)
{
    g_autofree char *subnet = value(kf, "network", "subnet");
    if (!subnet)
        return fail(error, d, "network", "subnet", "missing (e.g. subnet=192.168.123.0/24)");
    /* g_strsplit of "" is an empty vector: parts[1] only after parts[0] */
    g_auto(GStrv) parts = g_strsplit(subnet, "/", 2);
    char *end = NULL;
    guint64 bits = parts[0] && parts[1] && g_ascii_isdigit(*parts[1])
                       ? g_ascii_strtoull(parts[1], &end, 10)
                       : 0;
    if (!parts[0] || !parse_ip(parts[0], &d->net) || !end || *end || bits < 8 || bits > 30)
        return fail(error, d, "network", "subnet",
                    "\"%s\" is not an IPv4 network (e.g. 192.168.123.0/24, prefix 8 to 30)",
                    subnet);
    d->prefix = (guint)bits;
    if (d->net & ~mask_of(d->prefix)) {
        g_autofree char *base = netdef_ip_string(d->net & mask_of(d->prefix));
        return fail(error, d, "network", "subnet", "\"%s\" has host bits set (did you mean %s/%u?)",
                    subnet, base, d->prefix);
    }
    g_autofree char *gw = value(kf, "network", "gateway");
    d->gateway = d->net + 1;
    if (gw && (!parse_ip(gw, &d->gateway) || !inside(d, d->gateway)))
        return fail(error, d, "network", "gateway", "\"%s\" is not a host address inside subnet=%s",
                    gw, subnet);
    return TRUE;
}

static gboolean read_dhcp(GKeyFile *kf, NetDef *d, GError **error)
{
    g_autofree char *range = value(kf, "network", "dhcp-range");
    guint32 last = (d->net | ~mask_of(d->prefix)) - 1;
    if (!range) { /* like libvirt: everything after the gateway */
        d->dhcp_start = d->gateway + 1 <= last ? d->gateway + 1 : d->net + 1;
        d->dhcp_end = last;
        return TRUE;
    }
    if (!strcmp(range, "none") || !strcmp(range, "no"))
        return TRUE;
    g_auto(GStrv) ends = g_strsplit(range, "-", 2);
    g_autofree char *subnet = netdef_subnet_string(d);
    if (!ends[0] || !ends[1] || !parse_ip(g_strstrip(ends[0]), &d->dhcp_start) ||
        !parse_ip(g_strstrip(ends[1]), &d->dhcp_end) || !inside(d, d->dhcp_start) ||
        !inside(d, d->dhcp_end) || d->dhcp_start > d->dhcp_end)
        return fail(error, d, "network", "dhcp-range",
                    "\"%s\" is not FIRST-LAST inside %s (e.g. dhcp-range=192.168.123.100-"
                    "192.168.123.199, or none)",
                    range, subnet);
    if (d->gateway >= d->dhcp_start && d->gateway <= d->dhcp_end)
        return fail(error, d, "network", "dhcp-range", "\"%s\" contains the gateway's address",
                    range);
    return TRUE;
}

static void host_free(gpointer p)
{
    NetHost *h = p;
    g_free(h->name);
    g_free(h->mac);
    g_free(h->ip);
    g_free(h);
}

static gboolean read_hosts(GKeyFile *kf, NetDef *d, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(kf, "hosts", NULL, NULL);
    g_autoptr(GRegex) mac_re =
        g_regex_new("^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", G_REGEX_DOLLAR_ENDONLY, 0, NULL);
    for (gsize i = 0; keys && keys[i]; i++) {
        g_autofree char *v = value(kf, "hosts", keys[i]);
        if (!v) /* found by fuzz-profile: GKeyFile refuses values that are not UTF-8 */
            return fail(error, d, "hosts", keys[i], "the value is not valid UTF-8 text");
        g_auto(GStrv) f = g_strsplit(v, ",", 3);
        guint32 ip = 0;
        if (f[0])
            g_strstrip(f[0]);
        g_autofree char *mac = f[0] ? g_ascii_strdown(f[0], -1) : NULL;
        if (!profile_name_valid(keys[i]) || !f[0] || !f[1] ||
            !g_regex_match(mac_re, mac, 0, NULL) || f[2] || !parse_ip(g_strstrip(f[1]), &ip) ||
            !inside(d, ip) || ip == d->gateway)
            return fail(error, d, "hosts", keys[i],
                        "\"%s\" is not MAC,ADDRESS with a host name for key and an address "
                        "inside the subnet other than the gateway (e.g. web=52:54:00:12:34:56,"
                        "192.168.123.10)",
                        v);
        NetHost *h = g_new0(NetHost, 1);
        h->name = g_strdup(keys[i]);
        h->mac = g_steal_pointer(&mac);
        h->ip = netdef_ip_string(ip);
        g_ptr_array_add(d->hosts, h);
    }
    return TRUE;
}

static gboolean check_groups(GKeyFile *kf, const NetDef *d, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    for (gsize i = 0; groups[i]; i++)
        if (strcmp(groups[i], "network") && strcmp(groups[i], "hosts"))
            return fail(error, d, groups[i], NULL,
                        "unknown group; a network file has [network] and [hosts]");
    if (!g_key_file_has_group(kf, "network"))
        return fail(error, d, "network", NULL, "missing");
    g_auto(GStrv) keys = g_key_file_get_keys(kf, "network", NULL, NULL);
    for (gsize i = 0; keys[i]; i++) {
        g_autofree char *v = g_key_file_get_string(kf, "network", keys[i], NULL);
        if (!v)
            return fail(error, d, "network", keys[i], "the value is not valid UTF-8 text");
    }
    for (gsize i = 0; keys[i]; i++)
        if (!g_strv_contains(network_keys, keys[i])) {
            g_autofree char *list = g_strjoinv(", ", (char **)network_keys);
            return fail(error, d, "network", keys[i], "unknown key (valid: %s)", list);
        }
    return TRUE;
}

static gboolean parse(NetDef *d, GKeyFile *kf, GError **error)
{
    if (!check_groups(kf, d, error))
        return FALSE;
    d->bridge = value(kf, "network", "bridge");
    if (!d->bridge)
        d->bridge = g_strdup_printf("ql-%.12s", d->name);
    if (!netdef_ifname_valid(d->bridge))
        return fail(error, d, "network", "bridge",
                    "\"%s\" is not an interface name (1 to 15 letters, digits, '_', '-', '.')",
                    d->bridge);
    d->uplink = value(kf, "network", "uplink");
    if (d->uplink && !netdef_ifname_valid(d->uplink))
        return fail(error, d, "network", "uplink", "\"%s\" is not an interface name", d->uplink);
    d->nat = d->dns = TRUE;
    return read_subnet(kf, d, error) && read_dhcp(kf, d, error) &&
           read_bool(kf, d, "nat", &d->nat, error) && read_bool(kf, d, "dns", &d->dns, error) &&
           read_hosts(kf, d, error);
}

NetDef *netdef_load_data(const char *path, const char *data, gsize len, GError **error)
{
    g_autoptr(NetDef) d = g_new0(NetDef, 1);
    d->path = g_strdup(path);
    d->hosts = g_ptr_array_new_with_free_func(host_free);
    g_autofree char *base = g_path_get_basename(path);
    if (g_str_has_suffix(base, ".ini"))
        base[strlen(base) - 4] = '\0';
    d->name = g_strdup(base);
    if (!netdef_name_valid(d->name)) {
        fail(error, d, NULL, NULL,
             "\"%s\" is not a network name: name the file NAME.ini with letters, digits, '_' "
             "and '-' (at most 32)",
             d->name);
        return NULL;
    }
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) e = NULL;
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &e)) {
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ, "network %s: %s", path, e->message);
        return NULL;
    }
    return parse(d, kf, error) ? g_steal_pointer(&d) : NULL;
}

NetDef *netdef_load(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) e = NULL;
    if (!g_file_get_contents(path, &data, &len, &e)) {
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ, "network %s: %s", path, e->message);
        return NULL;
    }
    return netdef_load_data(path, data, len, error);
}

void netdef_free(NetDef *d)
{
    if (!d)
        return;
    g_free(d->path);
    g_free(d->name);
    g_free(d->bridge);
    g_free(d->uplink);
    if (d->hosts)
        g_ptr_array_unref(d->hosts);
    g_free(d);
}

char *netdef_nft_rules(const NetDef *d)
{
    g_autofree char *table = netdef_nft_table(d), *subnet = netdef_subnet_string(d);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "table ip %s {\n", table);
    if (d->nat) {
        g_autofree char *out = d->uplink ? g_strdup_printf(" oifname \"%s\"", d->uplink)
                                         : g_strdup_printf(" oifname != \"%s\"", d->bridge);
        g_string_append_printf(s,
                               "    chain postrouting {\n"
                               "        type nat hook postrouting priority srcnat; policy accept;\n"
                               "        ip saddr %s ip daddr != %s%s masquerade\n"
                               "    }\n",
                               subnet, subnet, out);
    }
    /* policy accept: a drop policy here would also drop other forwarded
     * traffic of the host; only this bridge's packets are judged. */
    g_string_append(s, "    chain forward {\n"
                       "        type filter hook forward priority filter; policy accept;\n");
    if (d->nat)
        g_string_append_printf(s,
                               "        iifname \"%s\" ip saddr %s accept\n"
                               "        oifname \"%s\" ip daddr %s ct state related,established "
                               "accept\n",
                               d->bridge, subnet, d->bridge, subnet);
    g_string_append_printf(s,
                           "        iifname \"%s\" oifname \"%s\" accept\n"
                           "        iifname \"%s\" drop\n"
                           "        oifname \"%s\" drop\n"
                           "    }\n}\n",
                           d->bridge, d->bridge, d->bridge, d->bridge);
    return g_string_free(s, FALSE);
}

char *netdef_dnsmasq_conf(const NetDef *d, const char *dir)
{
    GString *s = g_string_new("# written by qlaunch net start; removed by qlaunch net stop\n");
    g_autofree char *gw = netdef_ip_string(d->gateway);
    g_autofree char *mask = netdef_ip_string(mask_of(d->prefix));
    g_string_append_printf(s,
                           "strict-order\nexcept-interface=lo\nbind-dynamic\ninterface=%s\n"
                           "listen-address=%s\npid-file=%s/dnsmasq.pid\n",
                           d->bridge, gw, dir);
    if (!d->dns)
        g_string_append(s, "port=0\n");
    else
        g_string_append_printf(s, "domain-needed\nbogus-priv\nlocal=/%s/\ndomain=%s\n", d->name,
                               d->name);
    if (d->dhcp_start) {
        g_autofree char *a = netdef_ip_string(d->dhcp_start), *b = netdef_ip_string(d->dhcp_end);
        g_string_append_printf(s,
                               "dhcp-range=%s,%s,%s,1h\ndhcp-no-override\ndhcp-authoritative\n"
                               "dhcp-lease-max=%u\ndhcp-leasefile=%s/leases\n"
                               "dhcp-option=option:router,%s\n",
                               a, b, mask, d->dhcp_end - d->dhcp_start + 1 + d->hosts->len, dir,
                               gw);
        if (d->dns)
            g_string_append_printf(s, "dhcp-option=option:dns-server,%s\n", gw);
        for (guint i = 0; i < d->hosts->len; i++) {
            const NetHost *h = d->hosts->pdata[i];
            g_string_append_printf(s, "dhcp-host=%s,%s,%s\n", h->mac, h->ip, h->name);
        }
    }
    return g_string_free(s, FALSE);
}

char *netdef_route_overlap(const NetDef *d, const char *text, const char *skip_dev)
{
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
    guint32 m = mask_of(d->prefix);
    for (gsize i = 1; lines[i]; i++) { /* line 0 is the header */
        char dev[64];
        unsigned dst = 0, gw = 0, flags = 0, refcnt = 0, use = 0, metric = 0, mask = 0;
        if (sscanf(lines[i], "%63s %x %x %x %u %u %u %x", dev, &dst, &gw, &flags, &refcnt, &use,
                   &metric, &mask) != 8)
            continue;
        /* /proc/net/route prints the network-order words as host integers. */
        guint32 rdst = g_ntohl(dst), rmask = g_ntohl(mask);
        if (rmask == 0 || (skip_dev && !strcmp(dev, skip_dev)))
            continue; /* the default route overlaps everything by design */
        guint32 common = m & rmask;
        if ((rdst & common) == (d->net & common)) {
            g_autofree char *ip = netdef_ip_string(rdst);
            guint bits = 0;
            for (guint32 x = rmask; x; x <<= 1)
                bits++;
            return g_strdup_printf("%s/%u dev %s", ip, bits, dev);
        }
    }
    return NULL;
}

char *netdef_lease_for(const char *leases, const char *mac)
{
    g_auto(GStrv) lines = g_strsplit(leases ? leases : "", "\n", -1);
    for (gsize i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], " ", 0);
        if (g_strv_length(f) >= 3 && !g_ascii_strcasecmp(f[1], mac))
            return g_strdup(f[2]);
    }
    return NULL;
}
