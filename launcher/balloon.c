/* A running VM's virtio-balloon (balloon.h). */
#define G_LOG_DOMAIN "qlaunch"
#include <stdlib.h>

#include "balloon.h"
#include "proc.h"

#define QMP_TIMEOUT_MS 10000

json_int_t balloon_actual(QmpConn *qmp, GError **error)
{
    json_auto_t *r = qmp_conn_execute(qmp, "query-balloon", NULL, QMP_TIMEOUT_MS, error);
    if (!r)
        return -1;
    json_t *a = json_object_get(r, "actual");
    if (!json_is_integer(a)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "query-balloon gave no 'actual'");
        return -1;
    }
    return json_integer_value(a);
}

guint64 balloon_ram_bytes(VmPaths *v, guint64 memory_mib)
{
    json_auto_t *meta = vm_meta_read(v);
    return (memory_mib << 20) -
           1024 * (guint64)json_integer_value(json_object_get(meta, "ram_held_back_kib"));
}

gboolean balloon_set(VmPaths *v, QmpConn *qmp, guint64 bytes, GError **error)
{
    json_auto_t *args = json_pack("{s:I}", "value", (json_int_t)bytes);
    json_auto_t *r = qmp_conn_execute(qmp, "balloon", args, QMP_TIMEOUT_MS, error);
    if (!r) {
        g_prefix_error(error, "VM %s: balloon: ", v->name);
        return FALSE;
    }
    json_auto_t *meta = vm_meta_read(v);
    g_autoptr(GError) err = NULL;
    if (meta) {
        json_object_set_new(meta, "balloon_target_bytes", json_integer((json_int_t)bytes));
        if (!vm_meta_write(v, meta, &err))
            g_message("VM %s: the balloon target is set but not recorded: %s", v->name,
                      err->message);
    }
    return TRUE;
}

gboolean balloon_wait(QmpConn *qmp, guint64 bytes, guint64 ram_bytes, gint64 timeout_ms,
                      json_int_t *actual, GError **error)
{
    /* QEMU caps a target above its RAM at the RAM, which the 8 KiB the
     * migration workaround holds back makes a little less than memory=. */
    json_int_t goal = (json_int_t)MIN(bytes, ram_bytes);
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;
    for (;;) {
        *actual = balloon_actual(qmp, error);
        if (*actual < 0)
            return FALSE;
        /* exact below the RAM size; at the cap QEMU's own rounding may differ */
        if (*actual == goal || (bytes >= ram_bytes && llabs(*actual - goal) < (1 << 20)))
            return TRUE;
        if (g_get_monotonic_time() >= deadline || proc_interrupted)
            return FALSE;
        g_usleep(100 * 1000);
    }
}
