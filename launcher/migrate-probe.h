/* migrate --probe: what a live migration looks like from outside. A UDP
 * echo stream between the host and a responder in the guest for the whole
 * migration, and a clock probe in the guest; the analysis is pure. */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "../qmp/qmp.h"
#include "profile.h"
#include "vm.h"

typedef struct {
    gint64 sent_ns; /* host CLOCK_MONOTONIC */
    gint64 recv_ns; /* 0: no echo came back */
} ProbeSample;

/* The report (transfer full) of samples in send order, the migration
 * having run from start_ns to end_ns (host monotonic): sent, received,
 * lost; the longest time without an echo arriving (longest_gap_ms, and
 * gap_start_ms relative to start_ns); and per phase (before, during,
 * after the migration, by send time) sent, lost, delay p50/p99 and jitter
 * (the mean difference of consecutive delays, RFC 3550's idea), in ms;
 * timeline: every datagram's [ms sent after start_ns, delay ms or null]. */
json_t *probe_analyse(const ProbeSample *s, guint n, gint64 start_ns, gint64 end_ns,
                      guint interval_ms);

/* "samples=N max_gap_ms=X ..." of qlaunch-probe clock -> max_gap_ms, or
 * -1 when absent. */
double probe_parse_clock(const char *text);

typedef struct MigrateProbe MigrateProbe;

/* Starts the guest's echo responder and clock probe (agent), reaches the
 * responder (user mode: a UDP forward on 127.0.0.1 added to the VM's QEMU
 * qmp, so a local migration takes it over with the others; a tap on a
 * qlaunch network: the guest's leased address) and streams one datagram
 * every interval_ms; returns once echoes come back and one second of the
 * "before" phase is recorded. NULL with the error otherwise. */
MigrateProbe *migrate_probe_start(VmPaths *v, const Profile *p, QmpConn *qmp, guint interval_ms,
                                  GError **error);
/* The migration starts now / has ended now / the destination has taken
 * the forwards over now (forward_takeover_ms in the report). */
void migrate_probe_mark_start(MigrateProbe *pr);
void migrate_probe_mark_end(MigrateProbe *pr);
void migrate_probe_mark_forwards(MigrateProbe *pr);
/* Streams on for a second after the end, stops, reads the guest's clock
 * probe, removes the forward (through qmp: the VM's QEMU now) and returns
 * the report (transfer full; NULL only if pr is). Frees pr. */
json_t *migrate_probe_finish(MigrateProbe *pr, VmPaths *v, QmpConn *qmp);
/* Stops and cleans up without a report (the migration failed). */
void migrate_probe_abort(MigrateProbe *pr, VmPaths *v, QmpConn *qmp);
