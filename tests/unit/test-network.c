/* NAT network definitions: parsing, errors, nftables rules, dnsmasq
 * configuration, route overlaps, leases. */
#include <string.h>

#include "../../launcher/network.h"
#include "../../launcher/profile.h"

static NetDef *load(const char *name, const char *text, GError **error)
{
    return netdef_load_data(name, text, strlen(text), error);
}

static void test_shipped_default(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(NetDef) d = netdef_load(SRCDIR "/profiles/networks/default.ini", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(d->name, ==, "default");
    g_assert_cmpstr(d->bridge, ==, "qlbr0");
    g_autofree char *subnet = netdef_subnet_string(d), *gw = netdef_ip_string(d->gateway);
    g_autofree char *a = netdef_ip_string(d->dhcp_start), *b = netdef_ip_string(d->dhcp_end);
    g_assert_cmpstr(subnet, ==, "192.168.123.0/24");
    g_assert_cmpstr(gw, ==, "192.168.123.1");
    g_assert_cmpstr(a, ==, "192.168.123.100");
    g_assert_cmpstr(b, ==, "192.168.123.199");
    g_assert_true(d->nat);
    g_assert_true(d->dns);
    g_assert_cmpuint(d->hosts->len, ==, 0);
}

static void test_defaults(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(NetDef) d = load("/x/lab-net.ini", "[network]\nsubnet=10.5.0.0/16\n", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(d->bridge, ==, "ql-lab-net");
    g_autofree char *gw = netdef_ip_string(d->gateway);
    g_autofree char *a = netdef_ip_string(d->dhcp_start), *b = netdef_ip_string(d->dhcp_end);
    g_assert_cmpstr(gw, ==, "10.5.0.1");
    g_assert_cmpstr(a, ==, "10.5.0.2"); /* like libvirt: everything after the gateway */
    g_assert_cmpstr(b, ==, "10.5.255.254");
    g_autofree char *table = netdef_nft_table(d);
    g_assert_cmpstr(table, ==, "qlaunch_lab_hnet"); /* '-' is "_h", '_' is "__": one to one */
    g_free(d->name);
    d->name = g_strdup("lab_net");
    g_autofree char *t2 = netdef_nft_table(d);
    g_assert_cmpstr(t2, ==, "qlaunch_lab__net");
}

static const struct {
    const char *file, *text, *want;
} bad[] = {
    { "n.ini", "[network]\nbridge=b0\n", "[network] subnet: missing" },
    { "n.ini", "[network]\nsubnet=10.0.0.1/24\n", "has host bits set (did you mean 10.0.0.0/24?)" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/33\n", "is not an IPv4 network" },
    /* found by fuzz-profile: an empty value split into no parts */
    { "n.ini", "[network]\nsubnet=\n", "[network] subnet: \"\" is not an IPv4 network" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\ndhcp-range=\n", "is not FIRST-LAST" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\n[hosts]\nweb=\xff\n",
      "[hosts] web: the value is not valid UTF-8" },
    { "n.ini", "[network]\nsubnet=\xfe\n", "[network] subnet: the value is not valid UTF-8" },
    { "n.ini", "[network]\nsubnet=300.0.0.0/24\n", "is not an IPv4 network" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\ngateway=10.0.1.1\n",
      "[network] gateway: \"10.0.1.1\" is not a host address inside subnet=10.0.0.0/24" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\ngateway=10.0.0.255\n", "is not a host address" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\ndhcp-range=10.0.0.1-10.0.0.50\n",
      "contains the gateway's address" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\ndhcp-range=10.0.0.50-10.0.0.10\n",
      "is not FIRST-LAST inside 10.0.0.0/24" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\ndhcp-range=10.0.0.50-10.0.1.10\n",
      "is not FIRST-LAST" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\nbridge=br0;reboot\n",
      "[network] bridge: \"br0;reboot\" is not an interface name" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\nbridge=averyveryverylongname\n",
      "is not an interface name" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\nnat=maybe\n",
      "[network] nat: \"maybe\" is not yes or no" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\nsubnte=1\n",
      "[network] subnte: unknown key (valid:" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\n[dhcp]\n", "[dhcp]: unknown group" },
    { "n.ini", "[hosts]\n", "[network]: missing" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\n[hosts]\nweb=52:54:00:12:34:56\n",
      "[hosts] web: \"52:54:00:12:34:56\" is not MAC,ADDRESS" },
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\n[hosts]\nweb=52:54:00:12:34:56,10.0.0.1\n",
      "is not MAC,ADDRESS" }, /* the gateway */
    { "n.ini", "[network]\nsubnet=10.0.0.0/24\n[hosts]\nweb=52:54:00:12:34,10.0.0.9\n",
      "is not MAC,ADDRESS" },
    { "bad name.ini", "[network]\nsubnet=10.0.0.0/24\n", "\"bad name\" is not a network name" },
    { "n.ini", "not ini", "network n.ini:" },
};

static void test_errors(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(NetDef) d = load(bad[i].file, bad[i].text, &err);
        g_assert_null(d);
        g_assert_nonnull(err);
        if (!strstr(err->message, bad[i].want) || !strstr(err->message, bad[i].file))
            g_error("case %zu: got \"%s\", want the file and \"%s\"", i, err->message, bad[i].want);
    }
}

static void test_nft(void)
{
    g_autoptr(NetDef) d = load("lab.ini", "[network]\nbridge=qlbr9\nsubnet=10.9.0.0/24\n", NULL);
    g_autofree char *r = netdef_nft_rules(d);
    g_assert_nonnull(strstr(r, "table ip qlaunch_lab {"));
    g_assert_nonnull(
        strstr(r, "ip saddr 10.9.0.0/24 ip daddr != 10.9.0.0/24 oifname != \"qlbr9\" masquerade"));
    g_assert_nonnull(strstr(r, "policy accept;")); /* never drop the host's other traffic */
    g_assert_null(strstr(r, "policy drop"));
    g_assert_nonnull(strstr(r, "oifname \"qlbr9\" ip daddr 10.9.0.0/24 ct state "
                               "related,established accept"));
    g_autoptr(NetDef) iso =
        load("iso.ini", "[network]\nbridge=qlbr8\nsubnet=10.8.0.0/24\nnat=no\n", NULL);
    g_autofree char *ri = netdef_nft_rules(iso);
    g_assert_null(strstr(ri, "masquerade"));
    g_assert_nonnull(strstr(ri, "iifname \"qlbr8\" drop"));
    g_autoptr(NetDef) up = load("up.ini", "[network]\nsubnet=10.7.0.0/24\nuplink=eth1\n", NULL);
    g_autofree char *ru = netdef_nft_rules(up);
    g_assert_nonnull(strstr(ru, "ip daddr != 10.7.0.0/24 oifname \"eth1\" masquerade"));
}

static void test_dnsmasq(void)
{
    const char *text = "[network]\nbridge=qlbr0\nsubnet=192.168.123.0/24\n"
                       "dhcp-range=192.168.123.100-192.168.123.199\n"
                       "[hosts]\nweb=52:54:00:AA:bb:cc,192.168.123.10\n";
    g_autoptr(GError) err = NULL;
    g_autoptr(NetDef) d = load("default.ini", text, &err);
    g_assert_no_error(err);
    g_autofree char *c = netdef_dnsmasq_conf(d, "/run/q/_networks/default");
    const char *want[] = { "interface=qlbr0\n",
                           "except-interface=lo\n",
                           "bind-dynamic\n",
                           "pid-file=/run/q/_networks/default/dnsmasq.pid\n",
                           "dhcp-leasefile=/run/q/_networks/default/leases\n",
                           "dhcp-range=192.168.123.100,192.168.123.199,255.255.255.0,1h\n",
                           "dhcp-option=option:router,192.168.123.1\n",
                           "dhcp-host=52:54:00:aa:bb:cc,192.168.123.10,web\n",
                           "dhcp-lease-max=101\n" };
    for (gsize i = 0; i < G_N_ELEMENTS(want); i++)
        if (!strstr(c, want[i]))
            g_error("dnsmasq.conf lacks %s:\n%s", want[i], c);
    g_assert_null(strstr(c, "port=0"));
    g_autoptr(NetDef) q =
        load("q.ini", "[network]\nsubnet=10.1.0.0/24\ndns=no\ndhcp-range=none\n", NULL);
    g_autofree char *cq = netdef_dnsmasq_conf(q, "/d");
    g_assert_nonnull(strstr(cq, "port=0\n"));
    g_assert_null(strstr(cq, "dhcp-range"));
}

/* /proc/net/route of a little-endian machine */
static const char routes[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

static void test_overlap(void)
{
    struct {
        const char *subnet, *skip, *want;
    } cases[] = {
        { "192.168.123.0/24", NULL, NULL }, /* the default route does not count */
        { "172.17.5.0/24", NULL, "172.17.0.0/16 dev docker0" },
        { "172.16.0.0/12", NULL, "172.17.0.0/16 dev docker0" },
        { "192.168.0.0/16", NULL, "192.168.2.0/24 dev eth0" },
        { "192.168.2.128/25", NULL, "192.168.2.0/24 dev eth0" },
        { "192.168.2.0/24", "eth0", NULL }, /* our own bridge's route */
        { "10.0.0.0/8", NULL, NULL },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf("[network]\nsubnet=%s\n", cases[i].subnet);
        g_autoptr(GError) err = NULL;
        g_autoptr(NetDef) d = load("n.ini", text, &err);
        g_assert_no_error(err);
        g_autofree char *got = netdef_route_overlap(d, routes, cases[i].skip);
        g_assert_cmpstr(got, ==, cases[i].want);
    }
    g_autoptr(NetDef) d = load("n.ini", "[network]\nsubnet=10.0.0.0/24\n", NULL);
    g_autofree char *none = netdef_route_overlap(d, "garbage\n\x01\xff\n", NULL);
    g_assert_null(none);
}

static void test_leases(void)
{
    const char *l = "1790000000 52:54:00:2f:92:c9 192.168.123.124 * 01:52:54:00:2f:92:c9\n"
                    "1790000001 52:54:00:00:00:0b 192.168.123.10 nat-b *\n";
    g_autofree char *a = netdef_lease_for(l, "52:54:00:2F:92:C9");
    g_autofree char *b = netdef_lease_for(l, "52:54:00:00:00:0b");
    g_autofree char *c = netdef_lease_for(l, "52:54:00:00:00:0c");
    g_autofree char *e = netdef_lease_for("", "52:54:00:00:00:0c");
    g_assert_cmpstr(a, ==, "192.168.123.124");
    g_assert_cmpstr(b, ==, "192.168.123.10");
    g_assert_null(c);
    g_assert_null(e);
}

static void test_names(void)
{
    g_assert_true(netdef_ifname_valid("qlbr0"));
    g_assert_true(netdef_ifname_valid("br-lan.10"));
    g_assert_false(netdef_ifname_valid(""));
    g_assert_false(netdef_ifname_valid(".."));
    g_assert_false(netdef_ifname_valid("a,b"));
    g_assert_false(netdef_ifname_valid("0123456789abcdef"));
    g_assert_true(netdef_name_valid("default"));
    g_assert_false(netdef_name_valid("-x"));
    g_assert_false(netdef_name_valid("a/b"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/network/shipped-default", test_shipped_default);
    g_test_add_func("/network/defaults", test_defaults);
    g_test_add_func("/network/errors", test_errors);
    g_test_add_func("/network/nft", test_nft);
    g_test_add_func("/network/dnsmasq", test_dnsmasq);
    g_test_add_func("/network/route-overlap", test_overlap);
    g_test_add_func("/network/leases", test_leases);
    g_test_add_func("/network/names", test_names);
    return g_test_run();
}
