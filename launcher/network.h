/* NAT networks (profiles/networks/NAME.ini): a bridge with the gateway
 * address, nftables masquerade in a table of our own, dnsmasq for DHCP and
 * DNS. This half is pure (parse, render, compare) and unit-tested; nat.c
 * does the privileged work. */
#pragma once

#include <glib.h>

#include "ini.h"

typedef struct {
    char *name; /* MAC's host name from [hosts] NAME= */
    char *mac;  /* lower case */
    char *ip;
} NetHost;

typedef struct {
    char *path;   /* the file as given */
    char *name;   /* from the file name (NAME.ini) */
    char *bridge; /* e.g. qlbr0 */
    guint32 net;  /* subnet address, host order */
    guint prefix; /* 8..30 */
    guint32 gateway;
    guint32 dhcp_start, dhcp_end; /* 0 = no DHCP */
    gboolean nat;                 /* masquerade to the outside (else isolated) */
    gboolean dns;                 /* dnsmasq answers DNS on the gateway */
    char *uplink;                 /* masquerade only out of this interface; NULL = any */
    GPtrArray *hosts;             /* NetHost* */
} NetDef;

NetDef *netdef_load(const char *path, GError **error);
NetDef *netdef_load_data(const char *path, const char *data, gsize len, GError **error);
void netdef_free(NetDef *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetDef, netdef_free)

/* "a.b.c.d" (transfer full) */
char *netdef_ip_string(guint32 addr);
/* "192.168.123.0/24" (transfer full) */
char *netdef_subnet_string(const NetDef *d);
/* The nftables table that holds this network's rules. */
char *netdef_nft_table(const NetDef *d);
/* nft -f input that creates the table (transfer full). */
char *netdef_nft_rules(const NetDef *d);
/* dnsmasq's configuration; dir holds its pid and lease files. */
char *netdef_dnsmasq_conf(const NetDef *d, const char *dir);
/* The first route of /proc/net/route's text (other than on skip_dev) that
 * overlaps the subnet: "192.168.1.0/24 dev eth0" (transfer full), or NULL. */
char *netdef_route_overlap(const NetDef *d, const char *proc_net_route, const char *skip_dev);
/* The address dnsmasq leased to mac (dnsmasq lease file text), or NULL. */
char *netdef_lease_for(const char *leases, const char *mac);
