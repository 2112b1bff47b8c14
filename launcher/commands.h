/* The verb handlers (one file per verb family) and what they share. */
#pragma once

#include "cli.h"
#include "lifecycle.h"

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
