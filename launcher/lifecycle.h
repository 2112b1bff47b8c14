/* The VM lifecycle below the verbs (lifecycle.c): start and stop. Never
 * prints; includes nothing of the CLI. */
#pragma once

#include <glib.h>

#include "profile.h"
#include "template.h"
#include "vm.h"

typedef struct {
    gboolean wait_agent;
    gboolean foreground;
    gboolean force;
    gboolean json;
    int timeout_s;
    gboolean incoming;    /* -incoming defer: QEMU waits for migrate-incoming */
    const char *ram_from; /* a local migration destination: the source's RAM */
    const char *restore;  /* start from this snapshot (else the profile's [boot] restore=) */
    const Template *tmpl; /* a clone: start from this template's state (p: its clone profile) */
} StartOpts;

/* The snapshot a start begins from: --restore, else [boot] restore=; never
 * for a migration destination (its state comes from the source). */
const char *start_restore_tag(const Profile *p, const StartOpts *o);

/* Starts profile p in runtime dir v (prepared and locked here); returns
 * its QMP connection (transfer full) and how the accelerator was chosen.
 * Prints nothing: notes are g_message()s in the "qlaunch" domain. */
QmpConn *start_vm(VmPaths *v, const Profile *p, const StartOpts *o, char **accel, char **reason,
                  GError **error);

/* Graceful stop of a running VM (agent or ACPI, then quit, then SIGKILL,
 * each after a deadline); removes its runtime dir; returns how it went.
 * With interruptible, SIGINT/SIGTERM (proc_catch_interrupts) while the
 * guest powers off returns NULL: the VM is left running, runtime intact. */
const char *stop_vm(VmPaths *v, pid_t pid, int timeout_s, gboolean use_agent,
                    gboolean interruptible);

/* p's memory is no more than this host's RAM and swap together, and the
 * host nodes numa-host= binds it to exist. */
gboolean vm_memory_fits(const Profile *p, GError **error);

/* $QLAUNCH_QEMU or qemu-system-x86_64 */
const char *qlaunch_qemu_binary(void);
/* QEMU's major version (qemu --version, asked once), 0 when unknown. */
int qlaunch_qemu_major(void);
/* QEMU can open a disk with aio=io_uring on this host (asked once). */
gboolean qlaunch_qemu_io_uring(void);
/* CmdlineOpts.io_uring for p: a disk has aio=auto and QEMU runs io_uring. */
gboolean qlaunch_disks_io_uring(const Profile *p);
