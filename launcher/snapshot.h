/* Internal snapshots: live through QMP jobs (HMP fallback), offline through qemu-img. */
#pragma once

#include "../qmp/qmp.h"
#include "profile.h"

typedef struct {
    char *name;
    guint64 vm_state_size; /* 0 for disk-only (offline) snapshots */
    gint64 date_sec;
    gint64 vm_clock_ns;
    GPtrArray *disks; /* names of the disks that hold it (char*) */
} SnapInfo;

void snap_info_free(SnapInfo *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnapInfo, snap_info_free)

/* Snapshot names: [A-Za-z0-9][A-Za-z0-9._-]*, not all digits (HMP would
 * take those for ids), at most 64. */
gboolean snapshot_name_valid(const char *name);

/* Pure: which disk holds the VM state (transfer full) and which disks take
 * part (transfer full), or a refusal naming the cause and the fix. */
gboolean snapshot_plan(const Profile *p, char **vmstate_disk, GStrv *disks, GError **error);

/* Called about every 200 ms while a job runs. */
typedef void (*SnapshotProgress)(gpointer data);

/* HMP loadvm (and -loadvm) take the VM state from the first disk that can
 * hold a snapshot and roll back every writable disk: they load what the
 * job would when the VM state is on the first disk taking part and there
 * is no UEFI variable store (its pflash comes before the disks). */
gboolean snapshot_loadvm_same(const char *vmstate_disk, const char *const *disks);
/* Live: snapshot-save / snapshot-load / snapshot-delete as a job, waited
 * for, its error reported, dismissed. op is "save", "load" or "delete".
 * Falls back to HMP savevm/loadvm/delvm where the jobs do not exist; a load
 * that HMP loadvm does the same (snapshot_loadvm_same) goes through HMP,
 * which is faster (bench-lifecycle: the job took about 15 ms more). */
gboolean snapshot_live(QmpConn *qmp, const char *op, const char *tag, const char *vmstate_disk,
                       const char *const *disks, SnapshotProgress progress, gpointer data,
                       gint64 timeout_ms, GError **error);
/* Live list from query-block (transfer full, SnapInfo*). */
GPtrArray *snapshot_list_live(QmpConn *qmp, GError **error);

/* Offline: every disk opens and none is locked by another process
 * (checked before anything is changed). */
gboolean snapshot_offline_check(const Profile *p, const char *const *disks, GError **error);
/* Offline (VM stopped): qemu-img snapshot -c/-a/-d on every disk; a
 * failure half-way names the disks already changed and those not. */
gboolean snapshot_offline(const Profile *p, const char *op, const char *tag,
                          const char *const *disks, GError **error);
GPtrArray *snapshot_list_offline(const Profile *p, const char *const *disks, GError **error);

/* The entry named tag in a list, or NULL (borrowed). */
SnapInfo *snapshot_find(GPtrArray *list, const char *tag);
