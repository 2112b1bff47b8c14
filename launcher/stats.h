/* qlaunch stats and top: counters of a running VM from the host (vCPU
 * threads' CPU time, QEMU's RSS, query-blockstats, tap counters) and,
 * where it answers, from the guest agent (memory, NIC counters). The
 * parsing and the arithmetic are pure and unit-tested. */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "../qmp/qmp.h"
#include "vm.h"

typedef struct {
    VmPaths *v;
    QmpConn *qmp; /* kept open between samples */
    QmpConn *qga; /* NULL: no agent, or not asked for */
    gboolean agent_tried;
} StatsSource;
/* Connections are opened by stats_sample; close them with
 * stats_source_clear between samples so other qlaunch commands (QMP and
 * the agent take one client at a time) are not kept out. */

/* A number member of a sample (0 when absent). */
static inline double stats_num(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* One sample of raw, cumulative counters (transfer full): name, state, pid,
 * uptime_s, t (monotonic seconds), cpu_s (QEMU process), vcpus [{index,
 * thread_id, cpu_s}], rss_bytes, balloon {target_bytes, actual_bytes} or
 * null, memory {total_bytes, available_bytes,
 * source} or null, disks [{name, device, rd_bytes, wr_bytes, rd_ops, wr_ops,
 * flush_ops, rd_time_ns, wr_time_ns}], nics [{name, mode, mac, tap?, rx_bytes,
 * rx_packets, tx_bytes, tx_packets, source}]. with_guest: ask the agent. */
json_t *stats_sample(StatsSource *s, gboolean with_guest, GError **error);
/* The guest's /proc/meminfo through the agent: {total_bytes,
 * available_bytes, free_bytes, source}, or NULL (transfer full). */
json_t *stats_guest_memory(QmpConn *qga);
void stats_source_clear(StatsSource *s); /* closes; the next sample reopens */

/* Adds what a reader wants to cur: cpu_pct per vCPU and for QEMU (over the
 * window since prev, or since start when prev is NULL; window_s says
 * which), per-disk average latencies (ms per op), and with prev, byte and
 * op rates per second for disks and NICs. */
void stats_derive(json_t *cur, json_t *prev);

/* /proc/meminfo text -> {total_bytes, available_bytes, free_bytes}, or NULL. */
json_t *stats_parse_meminfo(const char *text);
/* query-blockstats' reply -> our disks (drive-NAME devices), raw counters. */
json_t *stats_parse_blockstats(json_t *reply);
/* guest-network-get-interfaces' reply -> {mac: {rx_bytes, ...}}. */
json_t *stats_parse_guest_nics(json_t *reply);
