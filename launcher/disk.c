/* Disk images through qemu-img (see disk.h). */
#define G_LOG_DOMAIN "qlaunch"
#include "disk.h"

#include <jansson.h>
#include <sys/stat.h>

#include "proc.h"
#include "vm.h"

#define QEMU_IMG_TIMEOUT_MS 120000

void disk_info_free(DiskInfo *info)
{
    if (!info)
        return;
    g_free(info->format);
    g_free(info->backing);
    g_free(info);
}

static gboolean qemu_img(const char *const *argv, const char *what, char **out, GError **error)
{
    g_autofree char *text = NULL;
    int status = 0;
    if (!proc_run_all(argv, QEMU_IMG_TIMEOUT_MS, &text, &status, error))
        return FALSE;
    if (status != 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", what,
                    text && *text ? g_strstrip(text) : "qemu-img failed with no output");
        return FALSE;
    }
    if (out)
        *out = g_steal_pointer(&text);
    return TRUE;
}

DiskInfo *disk_image_info(const char *file, const char *format, GError **error)
{
    const char *given[] = { "qemu-img", "info", "-U", "--output=json", "-f", format,
                            "--",       file,   NULL };
    const char *probed[] = { "qemu-img", "info", "-U", "--output=json", "--", file, NULL };
    const char *const *argv = format ? given : probed;
    g_autofree char *out = NULL;
    g_autofree char *what = g_strdup_printf("qemu-img info %s", file);
    if (!qemu_img(argv, what, &out, error))
        return NULL;
    json_error_t jerr;
    json_auto_t *j = json_loads(out, 0, &jerr);
    const char *fmt = json_string_value(json_object_get(j, "format"));
    json_t *vs = json_object_get(j, "virtual-size");
    if (!fmt || !json_is_integer(vs)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "qemu-img info %s gave no format and size: %s", file, out);
        return NULL;
    }
    DiskInfo *info = g_new0(DiskInfo, 1);
    info->format = g_strdup(fmt);
    info->virtual_size = (guint64)json_integer_value(vs);
    const char *b = json_string_value(json_object_get(j, "full-backing-filename"));
    info->backing = g_strdup(b ? b : json_string_value(json_object_get(j, "backing-filename")));
    return info;
}

gboolean disk_create_overlay(const char *base, const char *base_format, const char *overlay,
                             guint64 size, GError **error)
{
    g_autofree char *size_text = g_strdup_printf("%" G_GUINT64_FORMAT, size);
    const char *argv[] = { "qemu-img",  "create", "-q", "-f", "qcow2", "-F",
                           base_format, "-b",     base, "--", overlay, size ? size_text : NULL,
                           NULL };
    g_autofree char *what = g_strdup_printf("qemu-img create (an overlay %s on %s)", overlay, base);
    g_autofree char *dir = g_path_get_dirname(overlay);
    g_mkdir_with_parents(dir, 0700);
    if (!qemu_img(argv, what, NULL, error))
        return FALSE;
    chmod(overlay, 0600);
    return TRUE;
}

gboolean disk_resize_offline(const char *file, const char *format, guint64 size, GError **error)
{
    g_autoptr(DiskInfo) info = disk_image_info(file, format, error);
    if (!info)
        return FALSE;
    if (size < info->virtual_size) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "%s is %" G_GUINT64_FORMAT " MiB and would shrink to %" G_GUINT64_FORMAT
                    " MiB, cutting off what the guest wrote at its end; qlaunch only grows "
                    "disks (shrink the filesystem in the guest first, then qemu-img resize "
                    "--shrink yourself)",
                    file, info->virtual_size >> 20, size >> 20);
        return FALSE;
    }
    g_autofree char *size_text = g_strdup_printf("%" G_GUINT64_FORMAT, size);
    const char *argv[] = { "qemu-img", "resize", "-q",      "-f", info->format,
                           "--",       file,     size_text, NULL };
    g_autofree char *what = g_strdup_printf("qemu-img resize %s", file);
    return qemu_img(argv, what, NULL, error);
}
