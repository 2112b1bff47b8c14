/* A qcow2 image's snapshot table, read directly from the file: qemu-img
 * info costs a process start (about 20 ms of every start --restore). */
#pragma once

#include <glib.h>
#include <jansson.h>

#define QCOW2_ERROR qcow2_error_quark()
GQuark qcow2_error_quark(void);
typedef enum {
    QCOW2_ERROR_IO,     /* the file cannot be opened or read */
    QCOW2_ERROR_FORMAT, /* not a qcow2 image, or its table is damaged */
    QCOW2_ERROR_IN_USE, /* a process (a QEMU) has it open for writing */
} Qcow2Error;

/* The snapshots of the qcow2 image open on fd, as qemu-img info --output=json
 * gives them: [{"id", "name", "vm-state-size", "date-sec", "date-nsec",
 * "vm-clock-sec", "vm-clock-nsec"}] (transfer full), or NULL with an error.
 * Nothing in the file is trusted: every size and offset is checked against
 * the format's limits and the file's length. */
json_t *qcow2_snapshots_fd(int fd, GError **error);

/* The same for the image at path, refused with QCOW2_ERROR_IN_USE while
 * a process holds QEMU's write-permission lock on it (its table may be
 * being rewritten: qemu-img info refuses then too). */
json_t *qcow2_snapshots(const char *path, GError **error);
