/* Live migration: capabilities, the migration loop with cancel, metrics. */
#include "migrate.h"

#include <string.h>

#include "vm.h"

static void add_cap(json_t *caps, const char *name, gboolean on)
{
    json_array_append_new(caps, json_pack("{s:s, s:b}", "capability", name, "state", on));
}

gboolean migrate_configure(QmpConn *qmp, const MigrateOpts *o, gboolean destination, GError **error)
{
    json_auto_t *caps = json_array();
    add_cap(caps, "events", TRUE);
    add_cap(caps, "postcopy-ram", o->postcopy);
    add_cap(caps, "multifd", o->multifd > 0);
    add_cap(caps, "x-ignore-shared", o->ignore_shared);
    if (!destination) {
        add_cap(caps, "xbzrle", o->xbzrle);
        add_cap(caps, "auto-converge", o->auto_converge);
    }
    json_auto_t *args = json_pack("{s:O}", "capabilities", caps);
    json_auto_t *r = qmp_conn_execute(qmp, "migrate-set-capabilities", args, 10000, error);
    if (!r) {
        g_prefix_error(error, "migrate-set-capabilities: ");
        return FALSE;
    }
    /* QEMU keeps parameters from one migration to the next (a cancelled
     * --bandwidth 1 would slow every later one): set them all, every time. */
    json_auto_t *params = json_object();
    if (o->multifd > 0)
        json_object_set_new(params, "multifd-channels", json_integer(o->multifd));
    if (!destination) {
        json_object_set_new(params, "downtime-limit",
                            json_integer(o->downtime_limit_ms > 0 ? o->downtime_limit_ms : 300));
        json_object_set_new(
            params, "max-bandwidth",
            json_integer(o->bandwidth_bps > 0 ? (json_int_t)o->bandwidth_bps : 128 << 20));
    }
    if (json_object_size(params) == 0)
        return TRUE;
    json_auto_t *r2 = qmp_conn_execute(qmp, "migrate-set-parameters", params, 10000, error);
    if (!r2)
        g_prefix_error(error, "migrate-set-parameters: ");
    return r2 != NULL;
}

gboolean migrate_unshare(QmpConn *qmp, GError **error)
{
    json_auto_t *caps = json_array();
    add_cap(caps, "x-ignore-shared", FALSE);
    json_auto_t *args = json_pack("{s:O}", "capabilities", caps);
    json_auto_t *r = qmp_conn_execute(qmp, "migrate-set-capabilities", args, 10000, error);
    return r != NULL;
}

gboolean migrate_listen(QmpConn *dest, const char *uri, const MigrateOpts *o, GError **error)
{
    MigrateOpts none = { 0 };
    if (!migrate_configure(dest, o ? o : &none, TRUE, error))
        return FALSE;
    json_auto_t *args = json_pack("{s:s}", "uri", uri);
    json_auto_t *r = qmp_conn_execute(dest, "migrate-incoming", args, 10000, error);
    if (!r)
        g_prefix_error(error, "migrate-incoming %s: ", uri);
    return r != NULL;
}

static const char *status_of(json_t *info)
{
    const char *s = json_string_value(json_object_get(info, "status"));
    return s ? s : "none";
}

/* One step of the loop: TRUE to go on, FALSE when finished (*done says
 * whether it completed). */
static gboolean step(QmpConn *src, const MigrateOpts *o, json_t *info, gboolean *switched,
                     gboolean *done, GError **error)
{
    const char *st = status_of(info);
    if (!strcmp(st, "completed")) {
        *done = TRUE;
        return FALSE;
    }
    if (!strcmp(st, "failed") || !strcmp(st, "cancelled")) {
        const char *why = json_string_value(json_object_get(info, "error-desc"));
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "migration %s%s%s", st, why ? ": " : "",
                    why ? why : "");
        *done = FALSE;
        return FALSE;
    }
    /* Post-copy: switch once the first full pass is done. */
    json_t *ram = json_object_get(info, "ram");
    if (o->postcopy && !*switched && !strcmp(st, "active") &&
        json_integer_value(json_object_get(ram, "dirty-sync-count")) >= 2) {
        json_auto_t *r = qmp_conn_execute(src, "migrate-start-postcopy", NULL, 10000, error);
        if (!r)
            return FALSE;
        *switched = TRUE;
    }
    return TRUE;
}

/* QEMU sets "completed" a moment before it fills in total-time and
 * downtime: ask again (briefly) until they are there. Takes info. */
static json_t *final_info(QmpConn *src, json_t *info, GError **error)
{
    for (int i = 0; i < 200 && json_integer_value(json_object_get(info, "total-time")) == 0; i++) {
        g_usleep(5000);
        json_decref(info);
        info = qmp_conn_execute(src, "query-migrate", NULL, 10000, error);
        if (!info)
            return NULL;
    }
    return info;
}

json_t *migrate_run(QmpConn *src, const char *uri, const MigrateOpts *o,
                    volatile sig_atomic_t *cancel, MigrateProgress progress, gpointer data,
                    gint64 timeout_ms, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    json_auto_t *args = json_pack("{s:s}", "uri", uri);
    json_auto_t *r = qmp_conn_execute(src, "migrate", args, 10000, error);
    if (!r)
        return NULL;
    gboolean switched = FALSE, cancel_sent = FALSE, done = FALSE;
    const char *cancel_reason = NULL;
    json_int_t last_bytes = -1;
    gint64 last_progress = g_get_monotonic_time();
    for (;;) {
        json_t *info = qmp_conn_execute(src, "query-migrate", NULL, 10000, error);
        if (!info)
            return NULL;
        json_int_t bytes =
            json_integer_value(json_object_get(json_object_get(info, "ram"), "transferred"));
        if (bytes != last_bytes) {
            last_bytes = bytes;
            last_progress = g_get_monotonic_time();
        }
        if (!step(src, o, info, &switched, &done, error)) {
            if (done)
                return final_info(src, info, error);
            json_decref(info);
            if (cancel_reason)
                g_prefix_error(error, "%s: ", cancel_reason);
            return NULL;
        }
        if (progress)
            progress(info, data);
        json_decref(info);
        gboolean timeout = g_get_monotonic_time() >= deadline;
        /* After the switch to post-copy the VM runs at the destination and
         * the source no longer holds all of it: a cancel would lose the
         * guest, so neither an interrupt nor the timeout cancels. It is let
         * finish while pages still move; a stall ends the wait, saying so. */
        if (switched && timeout &&
            g_get_monotonic_time() - last_progress > MIGRATE_POSTCOPY_STALL_MS * 1000) {
            g_set_error(error, VM_ERROR, VM_ERROR_POSTCOPY,
                        "post-copy made no progress for %d s after the timeout; it was not "
                        "cancelled (that would lose the guest, which runs at the destination)",
                        MIGRATE_POSTCOPY_STALL_MS / 1000);
            return NULL;
        }
        if (!cancel_sent && !switched && ((cancel && *cancel) || timeout)) {
            cancel_reason = timeout ? "timed out" : "interrupted";
            json_auto_t *c = qmp_conn_execute(src, "migrate_cancel", NULL, 10000, NULL);
            cancel_sent = TRUE;
        }
        json_auto_t *ev = qmp_conn_wait_event(src, "MIGRATION", 50, NULL);
    }
}

static json_int_t geti(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

json_t *migrate_summary(json_t *info, const MigrateOpts *o)
{
    json_t *ram = json_object_get(info, "ram");
    const char *mode = o->postcopy ? "postcopy" : "precopy";
    json_t *caps = json_array();
    if (o->auto_converge)
        json_array_append_new(caps, json_string("auto-converge"));
    if (o->xbzrle)
        json_array_append_new(caps, json_string("xbzrle"));
    if (o->multifd)
        json_array_append_new(caps, json_string("multifd"));
    if (o->ignore_shared) /* shared RAM: mapped by both QEMUs, not copied */
        json_array_append_new(caps, json_string("x-ignore-shared"));
    return json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "mode", mode,
                     "capabilities", caps, "total_time_ms", geti(info, "total-time"), "downtime_ms",
                     geti(info, "downtime"), "setup_time_ms", geti(info, "setup-time"),
                     "transferred_bytes", geti(ram, "transferred"), "ram_total_bytes",
                     geti(ram, "total"), "normal_pages", geti(ram, "normal"), "duplicate_pages",
                     geti(ram, "duplicate"), "dirty_sync_count", geti(ram, "dirty-sync-count"),
                     "mbps", json_real_value(json_object_get(ram, "mbps")));
}

#define DIFFER(cond, ...)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            *why = g_strdup_printf(__VA_ARGS__);                                                   \
            return FALSE;                                                                          \
        }                                                                                          \
    } while (0)

gboolean migrate_compatible(const Profile *a, const Profile *b, char **why)
{
    DIFFER(a->memory_mib != b->memory_mib,
           "memory differs: %" G_GUINT64_FORMAT " MiB here, "
           "%" G_GUINT64_FORMAT " MiB in %s",
           a->memory_mib, b->memory_mib, b->path);
    DIFFER(a->cpus != b->cpus, "vCPU count differs: %u here, %u in %s", a->cpus, b->cpus, b->path);
    DIFFER(strcmp(a->machine, b->machine) != 0, "machine differs: %s here, %s in %s", a->machine,
           b->machine, b->path);
    DIFFER(a->disks->len != b->disks->len, "disk count differs: %u here, %u in %s", a->disks->len,
           b->disks->len, b->path);
    for (guint i = 0; i < a->disks->len; i++) {
        const ProfileDisk *x = a->disks->pdata[i], *y = b->disks->pdata[i];
        DIFFER(strcmp(x->name, y->name) || strcmp(x->bus, y->bus) || strcmp(x->format, y->format),
               "[disk %s] (%s, %s) has no match in %s ([disk %s], %s, %s)", x->name, x->bus,
               x->format, b->path, y->name, y->bus, y->format);
    }
    DIFFER(a->nets->len != b->nets->len, "NIC count differs: %u here, %u in %s", a->nets->len,
           b->nets->len, b->path);
    for (guint i = 0; i < a->nets->len; i++) {
        const ProfileNet *x = a->nets->pdata[i], *y = b->nets->pdata[i];
        DIFFER(strcmp(x->name, y->name) || strcmp(x->model, y->model) || x->mode != y->mode,
               "[net %s] has no match in %s", x->name, b->path);
    }
    DIFFER(!a->cdrom != !b->cdrom, "one has a cdrom and the other not (%s)", b->path);
    DIFFER(a->agent != b->agent || a->serial != b->serial, "agent or serial devices differ in %s",
           b->path);
    return TRUE;
}

static gboolean host_ok(const char *h, gsize len)
{
    if (len >= 2 && h[0] == '[' && h[len - 1] == ']') { /* [IPv6] */
        for (gsize i = 1; i + 1 < len; i++)
            if (!g_ascii_isxdigit(h[i]) && h[i] != ':' && h[i] != '.')
                return FALSE;
        return len > 2;
    }
    for (gsize i = 0; i < len; i++)
        if (!g_ascii_isalnum(h[i]) && h[i] != '.' && h[i] != '-')
            return FALSE;
    return len > 0;
}

gboolean migrate_uri_valid(const char *uri, GError **error)
{
    const char *why = NULL;
    if (g_str_has_prefix(uri, "unix:")) {
        const char *path = uri + 5;
        if (*path != '/')
            why = "unix: takes an absolute path (unix:/run/user/1000/dest.sock)";
        else if (strpbrk(path, ",\n"))
            why = "the socket path may not hold a comma or a newline";
    } else if (g_str_has_prefix(uri, "tcp:")) {
        const char *hp = uri + 4, *colon = strrchr(hp, ':');
        char *end = NULL;
        guint64 port = colon ? g_ascii_strtoull(colon + 1, &end, 10) : 0;
        if (!colon || !host_ok(hp, (gsize)(colon - hp)) || !g_ascii_isdigit(colon[1]) || *end ||
            port < 1 || port > 65535)
            why = "tcp: takes HOST:PORT (tcp:192.0.2.7:4444, tcp:[::1]:4444)";
    } else {
        why = "only tcp:HOST:PORT and unix:PATH are accepted (exec: would run a shell command)";
    }
    if (why) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "migration URI \"%s\": %s", uri, why);
        return FALSE;
    }
    return TRUE;
}
