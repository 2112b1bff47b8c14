/* Resource controls on a running QEMU: vCPU pinning (sched_setaffinity on
 * the vCPU threads) and CPU/memory limits (cgroup v2, else v1). */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <sys/types.h>

#include "../qmp/qmp.h"

/* The host thread id of each vCPU, in vCPU order (query-cpus-fast). */
GArray *res_vcpu_threads(QmpConn *qmp, GError **error);

/* Pins thread tids[i] of pid to host CPU cpus[i]. */
gboolean res_pin_threads(pid_t pid, const GArray *tids, const int *cpus, GError **error);

/* "0-1" (Cpus_allowed_list of /proc/PID/task/TID/status), or NULL. */
char *res_thread_affinity(pid_t pid, pid_t tid);

/* user+system CPU seconds of one thread, or of the whole process when
 * tid is 0; -1 when it cannot be read. */
double res_cpu_seconds(pid_t pid, pid_t tid);

/* Resident memory of a process in bytes, 0 when unknown. */
guint64 res_rss_bytes(pid_t pid);

/* Moves pid into a cgroup of its own, qlaunch/VM below qlaunch's own
 * cgroup, with cpu_pct (% of one host CPU; 0 = no limit) and mem_bytes
 * (0 = no limit); v2 where the unified hierarchy has the controller, else
 * v1. The directories made go to *dirs (for res_cgroup_remove). The error
 * says which hierarchies were tried and why they failed. */
gboolean res_cgroup_apply(const char *vm, pid_t pid, guint cpu_pct, guint64 mem_bytes, GStrv *dirs,
                          GError **error);

/* Changes the CPU limit of the cgroups res_cgroup_apply made. */
gboolean res_cgroup_set_cpu(char *const *dirs, guint cpu_pct, GError **error);

/* Removes the cgroups res_cgroup_apply made (once their processes are
 * gone); best effort. */
void res_cgroup_remove(char *const *dirs);

/* What the cgroups in dirs enforce now: {"cpu_limit_pct": N,
 * "memory_limit": B, "memory_current": B} (keys only when known). */
json_t *res_cgroup_read(char *const *dirs);
