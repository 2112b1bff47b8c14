/* Live migration: capabilities, the migration loop with cancel, metrics. */
#pragma once

#include <signal.h>

#include "../qmp/qmp.h"
#include "profile.h"

typedef struct {
    int downtime_limit_ms; /* 0 = QEMU's default (300 ms) */
    guint64 bandwidth_bps; /* 0 = QEMU's default (128 MiB/s) */
    gboolean postcopy, xbzrle, auto_converge;
    int multifd;            /* channels; 0 = off */
    gboolean ignore_shared; /* local: both QEMUs map the same RAM, none is copied */
} MigrateOpts;

/* Sets capabilities and parameters. On a destination only those that must
 * match both ends (postcopy-ram, multifd) are set, plus events. */
gboolean migrate_configure(QmpConn *qmp, const MigrateOpts *o, gboolean destination,
                           GError **error);
/* Turns x-ignore-shared off again on a QEMU that survives a local
 * migration: left on, a later snapshot save would skip guest RAM. */
gboolean migrate_unshare(QmpConn *qmp, GError **error);
/* Destination: configure (o may be NULL) and migrate-incoming uri. */
gboolean migrate_listen(QmpConn *dest, const char *uri, const MigrateOpts *o, GError **error);

typedef void (*MigrateProgress)(json_t *info, gpointer data);
/* Source: migrate to uri and wait, polling query-migrate. A set *cancel
 * (e.g. from SIGINT) sends migrate_cancel, unless post-copy has begun (then
 * it runs to its end). Returns the final query-migrate
 * of a completed migration (transfer full); else NULL and why. */
/* After the switch to post-copy, how long the wait goes on past the
 * timeout without a byte moving before migrate_run gives up (without
 * cancelling: VM_ERROR_POSTCOPY). */
#define MIGRATE_POSTCOPY_STALL_MS 30000

json_t *migrate_run(QmpConn *src, const char *uri, const MigrateOpts *o,
                    volatile sig_atomic_t *cancel, MigrateProgress progress, gpointer data,
                    gint64 timeout_ms, GError **error);
/* Metrics people compare: times, bytes, pages, passes, mode (transfer full). */
json_t *migrate_summary(json_t *info, const MigrateOpts *o);
/* Pure: can a VM of profile a move into a QEMU started from profile b?
 * FALSE with the first difference in *why (transfer full). */
gboolean migrate_compatible(const Profile *a, const Profile *b, char **why);
/* Only tcp:HOST:PORT and unix:/ABSOLUTE/PATH: QEMU's exec: would run a
 * shell command, fd:/file:/rdma: are not what qlaunch offers. FALSE with
 * the reason. */
gboolean migrate_uri_valid(const char *uri, GError **error);
