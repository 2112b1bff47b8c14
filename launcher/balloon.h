/* A running VM's virtio-balloon: set its target and wait for the guest's
 * driver to reach it (QMP balloon, query-balloon). */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "../qmp/qmp.h"
#include "vm.h"

/* query-balloon's actual (bytes), or -1 with the error (no balloon:
 * QEMU's "No balloon device has been activated"). */
json_int_t balloon_actual(QmpConn *qmp, GError **error);
/* The RAM QEMU gave the guest: memory= less what the migration workaround
 * holds back (meta.json's ram_held_back_kib). */
guint64 balloon_ram_bytes(VmPaths *v, guint64 memory_mib);
/* Asks for bytes and records the target in meta.json (stats shows it). */
gboolean balloon_set(VmPaths *v, QmpConn *qmp, guint64 bytes, GError **error);
/* Polls actual until it is within 1 MiB of bytes (capped at the RAM QEMU
 * has, ram_bytes), the deadline passes or the user interrupts. Returns
 * whether it got there; *actual is the last value, -1 on a QMP error. */
gboolean balloon_wait(QmpConn *qmp, guint64 bytes, guint64 ram_bytes, gint64 timeout_ms,
                      json_int_t *actual, GError **error);
