/* qlaunch export: a profile as libvirt domain XML, a Proxmox qm config, or
 * a standalone shell script with the QEMU argv. Pure: tested on every
 * shipped profile (the XML with virt-xml-validate). */
#pragma once

#include <glib.h>

#include "profile.h"

/* Each returns the text (transfer full); *lost (transfer full) lists what
 * does not carry over, one item per line, or is set to NULL when nothing. */
char *export_libvirt(const Profile *p, const char *accel, const char *qemu, char **lost);
/* NULL with error when a value cannot be written safely (see pve_check). */
char *export_proxmox(const Profile *p, const char *accel, char **lost, GError **error);
/* argv as qlaunch runs it in the foreground; every occurrence of
 * runtime_dir becomes the script's own directory ($1, or a fresh mktemp). */
char *export_sh(const Profile *p, char *const *argv, const char *runtime_dir);
