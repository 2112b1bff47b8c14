/* The verb handlers (one file per verb family) and what they share. */
#pragma once

#include "cli.h"

int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_cpus(int argc, char **argv);
int cmd_qmp(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_cmdline(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_net(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_profiles(int argc, char **argv);

/* The accelerator to show for p: accel_arg, else what the cached KVM probe
 * says (no VM is booted to find out). transfer full */
char *cli_preview_accel(const Profile *p, const char *accel_arg);

typedef struct {
    gboolean wait_agent;
    gboolean foreground;
    gboolean force;
    gboolean json;
    int timeout_s;
    gboolean incoming;    /* -incoming defer: QEMU waits for migrate-incoming */
    const char *ram_from; /* a local migration destination: the source's RAM */
} StartOpts;

/* Starts profile p in runtime dir v (prepared and locked here); returns
 * its QMP connection (transfer full) and how the accelerator was chosen.
 * Prints nothing. */
QmpConn *start_vm(VmPaths *v, const Profile *p, const StartOpts *o, char **accel, char **reason,
                  GError **error);

/* Graceful stop of a running VM (agent or ACPI, then quit, then SIGKILL,
 * each after a deadline); removes its runtime dir; returns how it went.
 * With interruptible, SIGINT/SIGTERM (proc_catch_interrupts) while the
 * guest powers off returns NULL: the VM is left running, runtime intact. */
const char *stop_vm(VmPaths *v, pid_t pid, int timeout_s, gboolean use_agent,
                    gboolean interruptible);

/* p's memory is no more than this host's RAM and swap together. */
gboolean cli_memory_fits(const Profile *p, GError **error);

/* $QLAUNCH_QEMU or qemu-system-x86_64 */
const char *qlaunch_qemu_binary(void);
/* QEMU's major version (qemu --version, asked once), 0 when unknown. */
int qlaunch_qemu_major(void);
