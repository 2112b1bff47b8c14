/* [share NAME]: host folders in the guest. virtio-fs shares are served by
 * a virtiofsd per share that qlaunch starts before QEMU (in a private
 * mount namespace where a readonly= folder is mounted read-only) and that
 * ends when QEMU's connection closes; 9p shares are QEMU's own. */
#pragma once

#include <glib.h>

#include "profile.h"
#include "vm.h"

/* Starts a virtiofsd for every virtio-fs share and waits for its socket. */
gboolean share_start(VmPaths *v, const Profile *p, GError **error);
/* Ends this VM's virtiofsd processes, if any run; returns how many. */
guint share_stop(VmPaths *v);
/* FALSE with the reason when p has a share and verb (migrate, snapshot
 * save, template save) cannot work with one. */
gboolean share_refuse(const Profile *p, const char *verb, GError **error);
