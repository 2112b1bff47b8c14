/* What a start sets up beside QEMU for the platform keys of a profile
 * (platform.c): the kernel and initrd taken out of the ISO, the UEFI
 * variable store, the display's password, swtpm; and their cleanup. */
#pragma once

#include <glib.h>

#include "profile.h"
#include "vm.h"

/* [boot] iso-kernel=/preset=: extracts them from cdrom= into p->iso_dir
 * (bsdtar, by argv), unless the copy there came from this same ISO (its
 * size and mtime). */
gboolean platform_extract_iso(const Profile *p, GError **error);
/* OVMF is there, the VM's variable store exists (made from OVMF's
 * template as a qcow2) and has the template's size. */
gboolean platform_prepare_vars(const Profile *p, GError **error);
/* [display] type=spice: this QEMU has SPICE (its -spice help). */
gboolean platform_check_display(const Profile *p, const char *qemu, GError **error);
/* The display's password file, without its trailing newline, into the
 * runtime dir (0600), where QEMU's secret object reads it. */
gboolean platform_write_password(VmPaths *v, const Profile *p, GError **error);
/* [tpm]: starts swtpm (state in p->tpm_state, socket in the runtime dir)
 * and waits for its socket; it ends itself when QEMU's connection closes. */
gboolean platform_start_tpm(VmPaths *v, const Profile *p, GError **error);
/* Ends this VM's swtpm, if one runs; returns how many were ended. */
guint platform_stop_tpm(VmPaths *v);
/* The runtime files of the platform (sockets, the password, swtpm's). */
void platform_remove_files(VmPaths *v);
/* The media record: STATE/VM/media.json, the CD-ROM's disc as 'qlaunch
 * media' left it ({"cdrom": PATH} or {"cdrom": null}). NULL if none. */
char *platform_media_record_path(const char *vm);
/* Applies the record to p: the disc in the drive instead of cdrom= (none
 * when ejected: the kernel taken from the ISO goes too, so the disk boots). */
void platform_apply_media(Profile *p);
/* The drive of p empty (and the kernel taken from the ISO gone with it). */
void platform_eject(Profile *p);
gboolean platform_record_media(const char *vm, const char *file, GError **error);
