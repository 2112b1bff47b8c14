/* Starting a VM from a snapshot's saved state (start --restore, [boot]
 * restore=): what the snapshot was taken of, checked against the profile
 * before QEMU runs, and the guest's clock set after. */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "../qmp/qmp.h"
#include "profile.h"

/* Pure: the devices and sizes a snapshot's state depends on, as
 * "what" -> "value" strings (e.g. "memory" -> "512 MiB", "[disk data]" ->
 * "virtio, qcow2, read-write"). cpu_model is the -cpu given to QEMU;
 * ram_held_back_kib is meta.json's (0 = none). transfer full */
json_t *restore_fingerprint(const Profile *p, const char *cpu_model, json_int_t ram_held_back_kib);

/* Pure: what differs between two fingerprints, one phrase per change
 * joined by "; " ("memory: 512 MiB at WHEN, 384 MiB now"; when is e.g.
 * "the snapshot"), or NULL when nothing does. transfer full */
char *restore_fingerprint_diff(json_t *saved, json_t *now, const char *when);

/* STATE/<vm>/snapshots/<tag>.json: what the VM was when tag was saved.
 * transfer full */
char *restore_record_path(const char *vm, const char *tag);
/* Written after a live save (meta is the running VM's meta.json). */
gboolean restore_record_write(const Profile *p, json_t *meta, const char *tag, GError **error);
/* Removed after a delete, or an offline save that replaced the tag. */
void restore_record_remove(const char *vm, const char *tag);

/* Before QEMU starts: tag exists on every disk that takes part in
 * snapshots, holds a memory state, and (when qlaunch recorded it) was taken
 * of the devices the profile gives now. Else an error naming the cause. */
gboolean restore_check(const Profile *p, const char *tag, json_t *fingerprint, GError **error);

/* TRUE when QEMU's -loadvm loads the snapshot as the job would
 * (snapshot_loadvm_same): the VM runs at once from QEMU's start. Else
 * QEMU starts with -S and restore_load loads it. */
gboolean restore_by_loadvm(const Profile *p);
/* QEMU started with -S (cmdline loadvm_paused): loads tag (snapshot_live,
 * with the profile's snapshot disks: the job names the disk with the VM
 * state) and continues the VM. */
gboolean restore_load(QmpConn *qmp, const Profile *p, const char *tag, gint64 timeout_ms,
                      GError **error);

/* After the restore: the guest's clock to the host's (guest-set-time). */
gboolean restore_set_clock(QmpConn *qga, gint64 timeout_ms, GError **error);
