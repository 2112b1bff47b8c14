/* cloud-init's NoCloud seed: user-data, meta-data and network-config in a
 * "cidata" ISO9660 image that QEMU attaches read-only. */
#pragma once

#include <glib.h>

#include "profile.h"

/* value as a YAML double-quoted scalar, quotes included (transfer full):
 * backslash, quote and every control character escaped, so no value can
 * end its line or start a key. */
char *cloudinit_yaml_quote(const char *value);

/* The #cloud-config qlaunch writes for p (ssh_key: the public key line). */
char *cloudinit_user_data(const Profile *p, const char *user, const char *ssh_key);

/* Writes p->cloud_init.seed (xorriso, by argv) from the profile and the
 * user's ssh key (found, or made for the VM in its state dir). */
gboolean cloudinit_write_seed(const Profile *p, GError **error);

/* Where the key made for a VM is (whether or not it is there). */
char *cloudinit_vm_key(const Profile *p);

/* The private key that goes with the seed's public key, or NULL when it
 * is not known (ssh-key= given as text, user-data=) (transfer full). */
char *cloudinit_identity(const Profile *p);

/* The user the seed creates. */
char *cloudinit_user(const Profile *p);
