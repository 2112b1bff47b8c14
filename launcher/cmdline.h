/* Profile -> QEMU argv. Pure: no I/O, so it is tested with golden files. */
#pragma once

#include "profile.h"

/* the guest agent's socket chardev (query-chardev names it) */
#define CMDLINE_AGENT_CHARDEV "qga0"

typedef struct {
    const char *qemu;        /* binary, e.g. qemu-system-x86_64 */
    const char *runtime_dir; /* where qmp.sock, qga.sock, serial.sock, qemu.pid go */
    const char *accel;       /* "kvm" or "tcg" (already decided) */
    const char *kvm_cpu;     /* the model the KVM probe ran for cpu=auto, or NULL (host) */
    /* Guest RAM is a shared memfd (memory-backend-memfd "pc.ram", the name
     * QEMU's own default RAM has, so older snapshots still load): a local
     * migration destination maps the same memory (ram_from: the source's
     * memfd as /proc/PID/fd/N) and nothing is copied (x-ignore-shared). */
    const char *ram_from;
    /* Guest RAM mapped privately (copy on write) from this file: a clone's
     * start from its template's RAM (template.c). */
    const char *ram_file;
    /* Each RAM block 8 KiB short (every NUMA node's): QEMU 7.2 under TCG
     * then takes its correct, per-page dirty sync in migration (a block
     * aligned to 256 KiB takes a fast path that loses guest writes; fixed
     * in QEMU 9.0). cmdline_ram_trim_kib() is the total held back. */
    gboolean ram_trim;
#define CMDLINE_RAM_TRIM_KIB 8
    gboolean daemonize;
    gboolean io_uring;  /* a disk with aio=auto gets aio=io_uring (qlaunch_qemu_io_uring) */
    gboolean incoming;  /* -incoming defer */
    const char *loadvm; /* -loadvm: start from this internal snapshot, or NULL */
    /* with loadvm: -S instead, the snapshot loaded over QMP (restore_load:
     * -loadvm would look for the VM state on the first disk) */
    gboolean loadvm_paused;
    const int *tap_fds; /* per [net]: the open tap of a mode=tap NIC, or -1; NULL = none */
} CmdlineOpts;

/* KiB of memory= that ram_trim holds back: 8 per RAM block (NUMA node) */
guint64 cmdline_ram_trim_kib(const Profile *p);

/* transfer full */
GStrv cmdline_build(const Profile *p, const CmdlineOpts *o);
/* Escapes a value for QEMU's key=value,... syntax: commas are doubled. */
char *cmdline_escape(const char *value);
/* The -cpu model for cpu=auto (or the profile's own) under an accelerator. */
const char *cmdline_cpu_model(const Profile *p, const char *accel);
/* The -cpu this argv gets: cmdline_cpu_model, or o->kvm_cpu under KVM. */
const char *cmdline_cpu(const Profile *p, const CmdlineOpts *o);
/* The NIC's MAC: the profile's, or 52:54:00 + 3 bytes hashed from the names. */
char *cmdline_nic_mac(const Profile *p, const ProfileNet *n);
/* A disk's -drive aio=: its profile's, or for aio=auto io_uring where QEMU
 * runs it (io_uring: qlaunch_qemu_io_uring; QEMU's default, threads, takes
 * each request through a thread pool, and loading a snapshot's VM state
 * takes half the time with io_uring), or NULL (QEMU's or, in an export,
 * the other manager's default). */
const char *cmdline_disk_aio(const ProfileDisk *d, gboolean io_uring);
/* The display's password as QEMU reads it: written by start from [display]
 * password-file= without its trailing newline. transfer full */
char *cmdline_password_path(const char *runtime_dir);
/* RUNTIME/virtiofs-NAME.sock: where the share's virtiofsd listens. */
char *cmdline_share_socket(const char *runtime_dir, const ProfileShare *s);
/* Shell-quoted one-line rendering of argv, for display only. */
char *cmdline_to_string(const char *const *argv);

/* The multicast group (transfer full) and UDP port of a socket lan. */
guint cmdline_lan_address(const char *lan, char **group);
