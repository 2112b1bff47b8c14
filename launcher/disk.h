/* Disk images through qemu-img: what an image is, overlays on a base,
 * resizing. Every call is an argv (qemu-img, never a shell), with a
 * deadline. */
#pragma once

#include <glib.h>

typedef struct {
    char *format;         /* "qcow2", "raw", ... as qemu-img reads it */
    guint64 virtual_size; /* bytes */
    char *backing;        /* the backing file it names, or NULL */
} DiskInfo;

void disk_info_free(DiskInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DiskInfo, disk_info_free)

/* qemu-img info -U (the image may be in use). format NULL = let qemu-img
 * tell; give it for an image a guest could have written (a raw disk that
 * looks like qcow2 must stay raw). */
DiskInfo *disk_image_info(const char *file, const char *format, GError **error);

/* A qcow2 overlay at overlay on base (of base_format), of size bytes (0 =
 * the base's size), 0600. The base is only read, then and after. */
gboolean disk_create_overlay(const char *base, const char *base_format, const char *overlay,
                             guint64 size, GError **error);

/* qemu-img resize of a disk no QEMU has open, to size bytes (never
 * smaller: that would cut off what the guest wrote there). */
gboolean disk_resize_offline(const char *file, const char *format, guint64 size, GError **error);
