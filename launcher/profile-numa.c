/* [vm] numa= and numa-host=: the guest's NUMA nodes, their vCPUs and
 * memory, and the host node each one's memory is bound to. */
#include <string.h>

#include "profile-read.h"

#define NUMA_NODES_MAX 8
#define NUMA_HOST_NODE_MAX 1023

/* "3" or "2-3" -> first and last vCPU. */
static gboolean cpu_range(const char *text, guint *first, guint *last)
{
    char *end = NULL;
    guint64 a = g_ascii_strtoull(text, &end, 10), b = a;
    if (!g_ascii_isdigit(*text))
        return FALSE;
    if (*end == '-') {
        const char *t = end + 1;
        if (!g_ascii_isdigit(*t))
            return FALSE;
        b = g_ascii_strtoull(t, &end, 10);
    }
    if (*end || b < a || b > 255)
        return FALSE;
    *first = (guint)a;
    *last = (guint)b;
    return TRUE;
}

/* memory= in equal parts, the last node the rest. */
static void split_memory(Profile *p)
{
    guint n = p->numa_nodes;
    for (guint i = 0; i < n; i++)
        p->numa[i].memory_mib =
            i + 1 < n ? p->memory_mib / n : p->memory_mib - (n - 1) * (p->memory_mib / n);
}

/* numa=N: N nodes, the vCPUs in contiguous blocks (the first nodes one
 * more when they do not divide), the memory in equal parts (the last node
 * the rest). */
static gboolean numa_split(Ctx *c, guint n, GError **error)
{
    Profile *p = c->p;
    if (n > p->cpus)
        return prof_fail(c, error, "vm", "numa",
                         "%u nodes for %u vCPUs: every node needs a vCPU (raise cpus= or give "
                         "fewer nodes)",
                         n, p->cpus);
    guint next = 0;
    for (guint i = 0; i < n; i++) {
        ProfileNumaNode *nd = &p->numa[i];
        guint k = p->cpus / n + (i < p->cpus % n ? 1 : 0);
        nd->cpu_first = next;
        nd->cpu_last = next + k - 1;
        next += k;
        nd->host_node = -1;
    }
    split_memory(p);
    return TRUE;
}

/* numa=0:0-1,1:2-3 or 0:0-1:256M,1:2-3:768M: NODE:CPUS[:SIZE], nodes in
 * order, every vCPU in one node, sizes on all nodes or on none. */
static gboolean numa_list(Ctx *c, const char *v, GStrv items, GError **error)
{
    Profile *p = c->p;
    guint n = p->numa_nodes, next = 0, sized = 0;
    guint64 total = 0;
    for (guint i = 0; i < n; i++) {
        ProfileNumaNode *nd = &p->numa[i];
        nd->host_node = -1;
        g_auto(GStrv) f = g_strsplit(items[i], ":", -1);
        guint nf = g_strv_length(f);
        g_autofree char *want = g_strdup_printf("%u", i);
        if (nf < 2 || nf > 3 || strcmp(g_strstrip(f[0]), want) != 0 ||
            !cpu_range(g_strstrip(f[1]), &nd->cpu_first, &nd->cpu_last))
            return prof_fail(c, error, "vm", "numa",
                             "\"%s\" is not NODE:CPUS[:SIZE] with node %u next (e.g. "
                             "numa=0:0-1,1:2-3, or numa=2 to split the vCPUs and memory in two)",
                             items[i], i);
        if (nd->cpu_first != next)
            return prof_fail(c, error, "vm", "numa",
                             "node %u starts at vCPU %u, not %u: give each node the vCPUs that "
                             "follow the last node's",
                             i, nd->cpu_first, next);
        next = nd->cpu_last + 1;
        if (nf == 3) {
            guint64 bytes = 0;
            if (!profile_parse_size(g_strstrip(f[2]), 1ull << 20, &bytes) || bytes < (1ull << 20) ||
                bytes % (1ull << 20))
                return prof_fail(c, error, "vm", "numa",
                                 "\"%s\" in node %u is not a whole number of MiB (e.g. 256M)", f[2],
                                 i);
            nd->memory_mib = bytes >> 20;
            total += nd->memory_mib;
            sized++;
        }
    }
    if (next != p->cpus)
        return prof_fail(c, error, "vm", "numa",
                         "\"%s\" places vCPUs 0-%u, but the VM has %u (cpus=): every vCPU needs a "
                         "node",
                         v, next - 1, p->cpus);
    if (sized && sized != n)
        return prof_fail(c, error, "vm", "numa",
                         "\"%s\" gives a size to %u of %u nodes: give one to every node or to none "
                         "(then memory= is split equally)",
                         v, sized, n);
    if (sized && total != p->memory_mib)
        return prof_fail(c, error, "vm", "numa",
                         "the nodes' sizes add up to %" G_GUINT64_FORMAT
                         " MiB, but memory= is %" G_GUINT64_FORMAT " MiB",
                         total, p->memory_mib);
    if (!sized)
        split_memory(p);
    return TRUE;
}

/* numa-host=0,1: the host node each guest node's memory is bound to. */
static gboolean numa_host(Ctx *c, GError **error)
{
    Profile *p = c->p;
    g_autofree char *v = prof_get_str(c, "vm", "numa-host");
    if (!v)
        return TRUE;
    if (!p->numa_nodes)
        return prof_fail(c, error, "vm", "numa-host",
                         "binds guest NUMA nodes to host nodes, but there are none: set numa= too");
    g_auto(GStrv) items = g_strsplit(v, ",", -1);
    if (g_strv_length(items) != p->numa_nodes)
        return prof_fail(c, error, "vm", "numa-host",
                         "\"%s\" names %u host nodes for %u guest nodes (one per guest node, e.g. "
                         "numa-host=0,1)",
                         v, g_strv_length(items), p->numa_nodes);
    for (guint i = 0; i < p->numa_nodes; i++) {
        const char *it = g_strstrip(items[i]);
        char *end = NULL;
        guint64 h = g_ascii_strtoull(it, &end, 10);
        if (!g_ascii_isdigit(*it) || *end || h > NUMA_HOST_NODE_MAX)
            return prof_fail(c, error, "vm", "numa-host", "\"%s\" is not a host node number", it);
        p->numa[i].host_node = (int)h;
    }
    return TRUE;
}

gboolean prof_read_numa(Ctx *c, GError **error)
{
    Profile *p = c->p;
    g_autofree char *v = prof_get_str(c, "vm", "numa");
    if (v && *v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
        g_auto(GStrv) items = g_strsplit(v, ",", -1);
        char *end = NULL;
        guint64 n = g_ascii_strtoull(v, &end, 10);
        gboolean count = g_ascii_isdigit(*v) && !*end;
        p->numa_nodes = count ? (guint)MIN(n, NUMA_NODES_MAX + 1) : g_strv_length(items);
        if (p->numa_nodes > NUMA_NODES_MAX)
            return prof_fail(c, error, "vm", "numa", "\"%s\": at most %d nodes", v, NUMA_NODES_MAX);
        p->numa = g_new0(ProfileNumaNode, p->numa_nodes);
        if (!(count ? numa_split(c, p->numa_nodes, error) : numa_list(c, v, items, error)))
            return FALSE;
        for (guint i = 0; i < p->numa_nodes; i++)
            if (p->numa[i].memory_mib < 16)
                return prof_fail(c, error, "vm", "numa",
                                 "node %u would have %" G_GUINT64_FORMAT
                                 " MiB; every node needs at least 16M",
                                 i, p->numa[i].memory_mib);
    }
    return numa_host(c, error);
}
