/* NAT networks brought up and down on the host (root or CAP_NET_ADMIN),
 * and the taps that connect VMs to them. */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "network.h"

/* NULL when the process may configure networks, else why not (transfer
 * full): names the verb, the capability and that user mode needs nothing. */
char *nat_privilege_problem(const char *verb);
/* The full path of a system tool (PATH, then /usr/sbin and /sbin), or NULL
 * with an error naming the Debian package to install. */
char *nat_find_tool(const char *name, const char *package, GError **error);
/* The network's runtime dir: <runtime>/_networks/NAME (transfer full). */
char *nat_state_dir(const char *name);
/* state.json of a network that was started (transfer full), or NULL. */
json_t *nat_state_read(const char *name);
/* Brings the network up; *already is set when it was running (nothing done). */
gboolean nat_start(const NetDef *d, gboolean *already, GError **error);
/* What nat_start would do, as commands and file contents; changes nothing
 * and needs no privilege (transfer full). */
char *nat_plan(const NetDef *d);
/* Tears down what start made (from state.json, else from d when given).
 * Refuses while taps are attached unless force. *removed lists what went
 * (transfer full); an empty list means nothing was running. */
gboolean nat_stop(const char *name, const NetDef *d, gboolean force, GStrv *removed,
                  GError **error);
/* The network's state for status and list: name, state (running, stopped,
 * partial), bridge, subnet, gateway, dnsmasq, leases, attached. */
json_t *nat_status(const char *name, const NetDef *d);
/* Names of networks with a runtime dir (transfer full). */
GStrv nat_list_started(void);
/* A tap on bridge: fd open for QEMU (not close-on-exec), its name in *ifname. */
int nat_tap_open(const char *bridge, char **ifname, GError **error);
/* The bridge a mode=tap NIC joins: network=NAME (must be running) or bridge=. */
char *nat_nic_bridge(const char *network, const char *bridge, GError **error);
/* The DHCP address the network leased to mac, or NULL. */
char *nat_lease_address(const char *network, const char *mac);
