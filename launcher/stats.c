/* Counters of a running VM, sampled from the host and the guest agent. */
#include "stats.h"

#include <stdio.h>
#include <string.h>

#include "cmdline.h"
#include "proc.h"
#include "vm.h"
#include "resources.h"

#define QMP_TIMEOUT_MS 5000
#define QGA_TIMEOUT_MS 3000

json_t *stats_parse_meminfo(const char *text)
{
    guint64 total = 0, avail = 0, freeb = 0;
    gboolean have_total = FALSE, have_avail = FALSE;
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
    for (gsize i = 0; lines[i]; i++) {
        char key[64];
        unsigned long long kib = 0;
        if (sscanf(lines[i], "%63[^:]: %llu kB", key, &kib) != 2)
            continue;
        if (!strcmp(key, "MemTotal")) {
            total = kib * 1024;
            have_total = TRUE;
        } else if (!strcmp(key, "MemAvailable")) {
            avail = kib * 1024;
            have_avail = TRUE;
        } else if (!strcmp(key, "MemFree")) {
            freeb = kib * 1024;
        }
    }
    if (!have_total || !have_avail)
        return NULL;
    return json_pack("{s:I, s:I, s:I}", "total_bytes", (json_int_t)total, "available_bytes",
                     (json_int_t)avail, "free_bytes", (json_int_t)freeb);
}

json_t *stats_parse_blockstats(json_t *reply)
{
    json_t *out = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(reply, i, b)
    {
        const char *dev = json_string_value(json_object_get(b, "device"));
        json_t *st = json_object_get(b, "stats");
        if (!dev || !g_str_has_prefix(dev, "drive-") || !json_is_object(st))
            continue; /* not one of our drives (e.g. an empty cdrom slot has no node) */
        json_array_append_new(
            out,
            json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name", dev + 6, "device",
                      dev, "rd_bytes", json_integer_value(json_object_get(st, "rd_bytes")),
                      "wr_bytes", json_integer_value(json_object_get(st, "wr_bytes")), "rd_ops",
                      json_integer_value(json_object_get(st, "rd_operations")), "wr_ops",
                      json_integer_value(json_object_get(st, "wr_operations")), "flush_ops",
                      json_integer_value(json_object_get(st, "flush_operations")), "rd_time_ns",
                      json_integer_value(json_object_get(st, "rd_total_time_ns")), "wr_time_ns",
                      json_integer_value(json_object_get(st, "wr_total_time_ns"))));
    }
    return out;
}

json_t *stats_parse_guest_nics(json_t *reply)
{
    json_t *out = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(reply, i, n)
    {
        const char *mac = json_string_value(json_object_get(n, "hardware-address"));
        json_t *st = json_object_get(n, "statistics");
        if (!mac || !json_is_object(st))
            continue;
        g_autofree char *lower = g_ascii_strdown(mac, -1);
        json_object_set_new(
            out, lower,
            json_pack("{s:I, s:I, s:I, s:I, s:s}", "rx_bytes",
                      json_integer_value(json_object_get(st, "rx-bytes")), "rx_packets",
                      json_integer_value(json_object_get(st, "rx-packets")), "tx_bytes",
                      json_integer_value(json_object_get(st, "tx-bytes")), "tx_packets",
                      json_integer_value(json_object_get(st, "tx-packets")), "source", "agent"));
    }
    return out;
}

void stats_source_clear(StatsSource *s)
{
    g_clear_pointer(&s->qmp, qmp_conn_free);
    g_clear_pointer(&s->qga, qmp_conn_free);
    s->agent_tried = FALSE;
}

static guint64 sysfs_counter(const char *ifname, const char *name)
{
    g_autofree char *p = g_build_filename("/sys/class/net", ifname, "statistics", name, NULL);
    g_autofree char *t = NULL;
    return g_file_get_contents(p, &t, NULL, NULL) ? g_ascii_strtoull(t, NULL, 10) : 0;
}

/* The guest's memory from /proc/meminfo, read through the agent. */
json_t *stats_guest_memory(QmpConn *qga)
{
    const char *argv[] = { "cat", "/proc/meminfo", NULL };
    g_autoptr(QgaExecResult) r = qga_exec(qga, argv, NULL, QGA_TIMEOUT_MS, NULL);
    if (!r || !r->exited || r->code != 0)
        return NULL;
    gsize len = 0;
    const char *data = g_bytes_get_data(r->out, &len);
    g_autofree char *text = g_strndup(data, len);
    json_t *m = stats_parse_meminfo(text);
    if (m)
        json_object_set_new(m, "source", json_string("agent /proc/meminfo"));
    return m;
}

/* The balloon's statistics, when the guest has reported them. */
static json_t *balloon_memory(QmpConn *qmp)
{
    json_auto_t *args =
        json_pack("{s:s, s:s}", "path", "/machine/peripheral/balloon0", "property", "guest-stats");
    json_auto_t *r = qmp_conn_execute(qmp, "qom-get", args, QMP_TIMEOUT_MS, NULL);
    json_t *st = json_object_get(r, "stats");
    json_int_t total = json_integer_value(json_object_get(st, "stat-total-memory"));
    json_int_t avail = json_integer_value(json_object_get(st, "stat-available-memory"));
    if (json_integer_value(json_object_get(r, "last-update")) <= 0 || total <= 0 || avail < 0)
        return NULL; /* no balloon, or no report yet (-1 = not given) */
    return json_pack("{s:I, s:I, s:I, s:s}", "total_bytes", total, "available_bytes", avail,
                     "free_bytes", json_integer_value(json_object_get(st, "stat-free-memory")),
                     "source", "balloon");
}

/* The balloon's target (what qlaunch memory last set, else all of the
 * RAM) and actual size, or null without a balloon. */
static json_t *balloon_sizes(QmpConn *qmp, json_t *meta)
{
    json_auto_t *r = qmp_conn_execute(qmp, "query-balloon", NULL, QMP_TIMEOUT_MS, NULL);
    json_t *actual = json_object_get(r, "actual");
    if (!json_is_integer(actual))
        return json_null();
    json_t *target = json_object_get(meta, "balloon_target_bytes");
    return json_pack("{s:O, s:O}", "target_bytes", json_is_integer(target) ? target : actual,
                     "actual_bytes", actual);
}

static json_t *nics_sample(StatsSource *s, json_t *meta, json_t *guest_nics)
{
    json_t *out = json_array();
    g_autoptr(Profile) p = vm_running_profile(s->v, NULL);
    for (guint i = 0; p && i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if (n->mode == NET_NONE)
            continue;
        g_autofree char *mac = cmdline_nic_mac(p, n);
        g_autofree char *lower = g_ascii_strdown(mac, -1);
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", n->name, "mode",
                              profile_net_mode_name(n->mode), "mac", lower);
        const char *tap = NULL;
        size_t k;
        json_t *t;
        json_array_foreach(
            json_object_get(meta, "taps"), k,
            t) if (g_strcmp0(json_string_value(json_object_get(t, "nic")), n->name) == 0) tap =
            json_string_value(json_object_get(t, "tap"));
        json_t *g = json_object_get(guest_nics, lower);
        if (tap) { /* the host's tap counters, turned to the guest's view */
            json_object_set_new(o, "tap", json_string(tap));
            json_object_set_new(o, "rx_bytes",
                                json_integer((json_int_t)sysfs_counter(tap, "tx_bytes")));
            json_object_set_new(o, "rx_packets",
                                json_integer((json_int_t)sysfs_counter(tap, "tx_packets")));
            json_object_set_new(o, "tx_bytes",
                                json_integer((json_int_t)sysfs_counter(tap, "rx_bytes")));
            json_object_set_new(o, "tx_packets",
                                json_integer((json_int_t)sysfs_counter(tap, "rx_packets")));
            json_object_set_new(o, "source", json_string("tap"));
        } else if (g) {
            json_object_update(o, g);
        } else {
            json_object_set_new(o, "source",
                                json_string("none (no agent; QEMU keeps no "
                                            "counters for user or socket NICs)"));
        }
        json_array_append_new(out, o);
    }
    return out;
}

static void open_agent(StatsSource *s)
{
    if (s->agent_tried)
        return;
    s->agent_tried = TRUE;
    g_autoptr(Profile) p = vm_running_profile(s->v, NULL);
    if (p && p->agent)
        s->qga = vm_qga_open(s->v, QGA_TIMEOUT_MS, NULL);
}

json_t *stats_sample(StatsSource *s, gboolean with_guest, GError **error)
{
    pid_t pid = vm_running_pid(s->v, error);
    if (!pid)
        return NULL;
    if (!s->qmp && !(s->qmp = vm_qmp_open(s->v, QMP_TIMEOUT_MS, error)))
        return NULL;
    json_auto_t *meta = vm_meta_read(s->v);
    json_auto_t *st = qmp_conn_execute(s->qmp, "query-status", NULL, QMP_TIMEOUT_MS, error);
    if (!st)
        return NULL;
    double now = (double)g_get_monotonic_time() / 1e6;
    json_int_t started = json_integer_value(json_object_get(meta, "started"));
    json_t *j = json_pack(
        "{s:s, s:s, s:i, s:I, s:f, s:f, s:I}", "name", s->v->name, "state",
        json_string_value(json_object_get(st, "status")), "pid", (int)pid, "uptime_s",
        started ? (json_int_t)(g_get_real_time() / G_USEC_PER_SEC - started) : 0, "t", now, "cpu_s",
        res_cpu_seconds(pid, 0), "rss_bytes", (json_int_t)res_rss_bytes(pid));
    g_autoptr(GArray) tids = res_vcpu_threads(s->qmp, error);
    if (!tids) {
        json_decref(j);
        return NULL;
    }
    json_t *vcpus = json_array();
    for (guint i = 0; i < tids->len; i++) {
        pid_t tid = g_array_index(tids, pid_t, i);
        json_array_append_new(vcpus, json_pack("{s:i, s:i, s:f}", "index", (int)i, "thread_id",
                                               (int)tid, "cpu_s", res_cpu_seconds(pid, tid)));
    }
    json_object_set_new(j, "vcpus", vcpus);
    json_auto_t *bs = qmp_conn_execute(s->qmp, "query-blockstats", NULL, QMP_TIMEOUT_MS, NULL);
    json_object_set_new(j, "disks", stats_parse_blockstats(bs));
    json_auto_t *guest_nics = NULL;
    json_t *mem = balloon_memory(s->qmp);
    if (with_guest) {
        open_agent(s);
        if (s->qga) {
            if (!mem)
                mem = stats_guest_memory(s->qga);
            json_auto_t *ifs = qmp_conn_execute(s->qga, "guest-network-get-interfaces", NULL,
                                                QGA_TIMEOUT_MS, NULL);
            guest_nics = ifs ? stats_parse_guest_nics(ifs) : NULL;
        }
    }
    json_object_set_new(j, "memory", mem ? mem : json_null());
    json_object_set_new(j, "balloon", balloon_sizes(s->qmp, meta));
    json_object_set_new(j, "guest",
                        json_string(!with_guest ? "not asked"
                                    : s->qga    ? "agent"
                                                : "no agent answer"));
    json_object_set_new(j, "nics", nics_sample(s, meta, guest_nics));
    return j;
}

static void rate(json_t *cur, json_t *prev, const char *k, double dt)
{
    if (!prev || !json_object_get(prev, k) || !json_object_get(cur, k) || dt <= 0)
        return;
    g_autofree char *name = g_strconcat(k, "_per_s", NULL);
    double d = stats_num(cur, k) - stats_num(prev, k);
    json_object_set_new(cur, name, json_real(d < 0 ? 0 : d / dt));
}

/* The element of prev's array k whose field id equals cur's. */
static json_t *match(json_t *prev, const char *k, const char *id, json_t *cur_item)
{
    size_t i;
    json_t *x;
    json_array_foreach(
        json_object_get(prev, k), i,
        x) if (json_equal(json_object_get(x, id), json_object_get(cur_item, id))) return x;
    return NULL;
}

void stats_derive(json_t *cur, json_t *prev)
{
    double dt = prev ? stats_num(cur, "t") - stats_num(prev, "t") : stats_num(cur, "uptime_s");
    json_object_set_new(cur, "window_s", json_real(dt));
    json_object_set_new(cur, "window", json_string(prev ? "interval" : "since start"));
    double base = prev ? stats_num(prev, "cpu_s") : 0;
    if (dt > 0)
        json_object_set_new(cur, "cpu_pct",
                            json_real(100.0 * (stats_num(cur, "cpu_s") - base) / dt));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(cur, "vcpus"), i, x)
    {
        json_t *p = prev ? match(prev, "vcpus", "index", x) : NULL;
        double b = p ? stats_num(p, "cpu_s") : 0;
        if (dt > 0 && (!prev || p))
            json_object_set_new(x, "cpu_pct", json_real(100.0 * (stats_num(x, "cpu_s") - b) / dt));
    }
    const char *disk_rates[] = { "rd_bytes", "wr_bytes", "rd_ops", "wr_ops" };
    json_array_foreach(json_object_get(cur, "disks"), i, x)
    {
        double rops = stats_num(x, "rd_ops"), wops = stats_num(x, "wr_ops");
        json_object_set_new(x, "rd_latency_ms",
                            rops > 0 ? json_real(stats_num(x, "rd_time_ns") / rops / 1e6)
                                     : json_null());
        json_object_set_new(x, "wr_latency_ms",
                            wops > 0 ? json_real(stats_num(x, "wr_time_ns") / wops / 1e6)
                                     : json_null());
        json_t *p = prev ? match(prev, "disks", "device", x) : NULL;
        for (gsize k = 0; p && k < G_N_ELEMENTS(disk_rates); k++)
            rate(x, p, disk_rates[k], dt);
    }
    const char *nic_rates[] = { "rx_bytes", "tx_bytes", "rx_packets", "tx_packets" };
    json_array_foreach(json_object_get(cur, "nics"), i, x)
    {
        json_t *p = prev ? match(prev, "nics", "name", x) : NULL;
        for (gsize k = 0; p && k < G_N_ELEMENTS(nic_rates); k++)
            rate(x, p, nic_rates[k], dt);
    }
}
