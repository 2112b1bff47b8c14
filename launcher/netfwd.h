/* User-mode host forwards: parsing QEMU's "info usernet", checking that a
 * host port is free (and which of our VMs holds it), adding and removing
 * forwards on a running VM through HMP hostfwd_add / hostfwd_remove. */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "../qmp/qmp.h"

/* The host forwards in "info usernet" output: [{"netdev", "proto",
 * "host_addr", "host_port", "guest_addr", "guest_port"}]. */
json_t *fwd_parse_usernet(const char *text);

/* The live forwards of a running VM (HMP info usernet). */
json_t *fwd_list(QmpConn *qmp, GError **error);

/* "tcp:127.0.0.1:2222-:22" (normalised) -> its parts; FALSE if not one. */
gboolean fwd_split(const char *rule, char **proto, char **host_addr, guint *host_port);

/* TRUE when proto/addr/port can be bound here. Otherwise FALSE with an
 * error that names the port and, when one of our running VMs (other than
 * except_vm) forwards it, that VM. */
gboolean fwd_port_free(const char *rule, const char *except_vm, GError **error);

/* hostfwd_add / hostfwd_remove on netdev net-NIC; QEMU's answer becomes
 * the error. remove takes "proto:hostaddr:hostport" or a whole rule. */
gboolean fwd_add(QmpConn *qmp, const char *nic, const char *rule, GError **error);
gboolean fwd_remove(QmpConn *qmp, const char *nic, const char *rule, GError **error);
