/* The verb handlers (one file per verb family) and what they share. */
#pragma once

#include "cli.h"
#include "lifecycle.h"

int cmd_start(int argc, char **argv, GError **error);
int cmd_stop(int argc, char **argv, GError **error);
int cmd_kill(int argc, char **argv, GError **error);
int cmd_pause(int argc, char **argv, GError **error);
int cmd_resume(int argc, char **argv, GError **error);
int cmd_status(int argc, char **argv, GError **error);
int cmd_list(int argc, char **argv, GError **error);
int cmd_cpus(int argc, char **argv, GError **error);
int cmd_qmp(int argc, char **argv, GError **error);
int cmd_exec(int argc, char **argv, GError **error);
int cmd_console(int argc, char **argv, GError **error);
int cmd_cp(int argc, char **argv, GError **error);
int cmd_disk(int argc, char **argv, GError **error);
int cmd_ssh(int argc, char **argv, GError **error);
int cmd_ssh_config(int argc, char **argv, GError **error);
/* start --wait ssh|cloud-init: the guest's sshd answers on the port
 * qlaunch ssh would use, or cloud-init status says done, within timeout_s;
 * a progress line on stderr meanwhile. */
gboolean ssh_wait_ready(const char *vm, const char *what, int timeout_s, GError **error);
/* exec -i with more input than one guest-exec request carries: head and
 * the rest of stdin go to a new file in the guest's /tmp, whose path is
 * returned (transfer full; NULL with the error, nothing left). */
char *cp_stdin_to_guest(QmpConn *qga, const guchar *head, gsize head_len, GError **error);
void cp_guest_rm(QmpConn *qga, const char *path);
int cmd_snapshot(int argc, char **argv, GError **error);
int cmd_migrate(int argc, char **argv, GError **error);
int cmd_cmdline(int argc, char **argv, GError **error);
int cmd_doctor(int argc, char **argv, GError **error);
int cmd_bench(int argc, char **argv, GError **error);
int cmd_forward(int argc, char **argv, GError **error);
int cmd_net(int argc, char **argv, GError **error);
int cmd_stats(int argc, char **argv, GError **error);
int cmd_top(int argc, char **argv, GError **error);
int cmd_export(int argc, char **argv, GError **error);
int cmd_profiles(int argc, char **argv, GError **error);
int cmd_memory(int argc, char **argv, GError **error);
int cmd_template(int argc, char **argv, GError **error);
int cmd_delete(int argc, char **argv, GError **error);
int cmd_display(int argc, char **argv, GError **error);
int cmd_screenshot(int argc, char **argv, GError **error);
int cmd_sendkey(int argc, char **argv, GError **error);
int cmd_media(int argc, char **argv, GError **error);

/* The accelerator to show for p: accel_arg, else what the cached KVM probe
 * says (no VM is booted to find out). transfer full */
char *cli_preview_accel(const Profile *p, const char *accel_arg);
