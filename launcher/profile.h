/* VM profiles: INI (GKeyFile) -> validated Profile. */
#pragma once

#include <glib.h>

#include "ini.h"

typedef enum { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG } AccelChoice;
typedef enum { NET_USER, NET_TAP, NET_SOCKET, NET_NONE } NetMode;

typedef struct {
    char *name;   /* from [disk NAME] */
    char *file;   /* absolute path */
    char *base;   /* base=: file is made as a qcow2 overlay on it; NULL = none */
    guint64 size; /* bytes; 0 = none given (the file must exist, or base= sizes it) */
    char *format; /* qcow2 | raw */
    char *bus;    /* virtio | sata */
    char *cache;  /* NULL = QEMU's default */
    /* aio=: threads | io_uring | native, or auto (io_uring where the host
     * and QEMU run it, else QEMU's default, threads) */
    char *aio;
    gboolean readonly;
} ProfileDisk;

typedef struct {
    char *name; /* from [net NAME] */
    NetMode mode;
    char **forwards;    /* user mode host forwards, normalised; NULL-terminated */
    char *mac;          /* NULL = derived from the VM and NIC names */
    char *model;        /* virtio | e1000 */
    char *lan;          /* mode=socket: the segment's name */
    char *net;          /* mode=user: guest network CIDR, NULL = QEMU's 10.0.2.0/24 */
    char *dns;          /* mode=user: the guest's DNS address, NULL = QEMU's */
    gboolean restrict_; /* mode=user: no access to the host's network */
    char *network;      /* mode=tap: a qlaunch NAT network (qlaunch net start NAME) */
    char *bridge;       /* mode=tap: an existing bridge instead */
} ProfileNet;

typedef enum { SHARE_VIRTIOFS, SHARE_9P } ShareType;

/* [share NAME]: a host folder the guest mounts. */
typedef struct {
    char *name;  /* from [share NAME] */
    char *path;  /* path=: the host folder (absolute, an existing directory) */
    char *tag;   /* tag=: the mount tag the guest sees, default NAME */
    char *mount; /* mount=: where qlaunch's guests mount it, default /mnt/NAME */
    ShareType type;
    gboolean readonly;
} ProfileShare;

typedef struct {
    guint cpu_first, cpu_last; /* its vCPUs */
    guint64 memory_mib;
    int host_node; /* numa-host=: the host node its memory is bound to, -1 = none */
} ProfileNumaNode;

/* BIOS-style first (SeaBIOS, qboot), then OVMF: firmware_is_uefi() */
typedef enum { FIRMWARE_BIOS, FIRMWARE_QBOOT, FIRMWARE_UEFI, FIRMWARE_UEFI_SECURE } Firmware;
#define firmware_is_uefi(f) ((f) >= FIRMWARE_UEFI)

/* [display]: how the VM's screen is served (never a local window). */
typedef struct {
    char *type;          /* none | vnc | spice */
    char *vga;           /* std | virtio | qxl | none */
    char *listen;        /* NULL = a unix socket in the runtime dir; else an IP address */
    guint port;          /* with listen=: the TCP port, 0 = the first free one (VNC) */
    char *password_file; /* absolute path, or NULL */
} ProfileDisplay;

/* [cloud-init]: a NoCloud seed (cidata ISO) qlaunch writes at each start. */
typedef struct {
    gboolean enabled;     /* the group is there */
    char *user;           /* user=, default: the invoking user's name */
    char *ssh_key;        /* ssh-key=: a key's text, or NULL (found or made at start) */
    char *ssh_key_file;   /* ssh-key=: a .pub file, or NULL */
    char *hostname;       /* hostname=, default: the VM's name */
    char **packages;      /* packages= (NULL-terminated, may be empty) */
    char **runcmd;        /* runcmd= lines (NULL-terminated, may be empty) */
    char *user_data;      /* user-data=FILE: used verbatim instead of qlaunch's */
    char *network_config; /* network-config=FILE, verbatim */
    char *seed;           /* STATE/VM/cidata.iso */
} ProfileCloudInit;

typedef struct {
    char *path;     /* the profile file as given */
    GBytes *source; /* the bytes that were parsed (the runtime dir keeps these) */
    char *dir;      /* its directory (absolute) */
    char *name;
    guint64 memory_mib;
    guint cpus;
    AccelChoice accel;
    char *cpu; /* "auto" or a -cpu model spec */
    char *machine;
    char *snapshot_disk;   /* [vm] snapshot-disk=: a [disk NAME]; NULL = the first qcow2 */
    int *pin;              /* host CPU of each vCPU (cpus entries), or NULL */
    guint cpu_limit_pct;   /* % of one host CPU for the whole QEMU process; 0 = none */
    guint64 memory_limit;  /* bytes for the whole QEMU process; 0 = none */
    guint tcg_tb_size_mib; /* 0 = QEMU's default */
    char *tcg_thread;      /* multi | single | NULL (QEMU's default) */
    gboolean balloon;      /* virtio-balloon: qlaunch memory, and the guest's memory statistics */
    guint numa_nodes;      /* [vm] numa=: 0 = no NUMA topology */
    ProfileNumaNode *numa; /* numa_nodes entries */
    char *kernel, *initrd, *append, *cdrom, *order;
    char *restore;        /* [boot] restore=: a snapshot every start begins from, or NULL */
    gboolean cdrom_drive; /* a CD-ROM drive: cdrom= given (cdrom is NULL when it is ejected) */
    /* [boot] iso-kernel=, iso-initrd= (or preset=): paths inside cdrom=;
     * kernel= and initrd= then name where start extracts them to, in the
     * VM's state dir (iso_dir). */
    char *iso_kernel, *iso_initrd, *iso_dir, *preset;
    Firmware firmware;   /* [boot] firmware= */
    char *firmware_code; /* UEFI: OVMF's code (read-only) */
    char *vars_template; /* UEFI: OVMF's variable store template */
    char *vars;          /* UEFI: the VM's variable store, qcow2 (snapshots, migration) */
    ProfileDisplay display;
    ProfileCloudInit cloud_init;
    gboolean tpm;      /* [tpm] enabled=: swtpm, a TPM 2.0 */
    char *tpm_state;   /* its state dir (in the VM's state dir) */
    GPtrArray *disks;  /* ProfileDisk* */
    GPtrArray *nets;   /* ProfileNet* */
    GPtrArray *shares; /* ProfileShare* */
    gboolean agent;
    gboolean serial;
    char *serial_log; /* absolute path or NULL */
} Profile;

/* Where the profile's implicit paths point. */
typedef struct {
    const char *guest_dir;     /* what @guest/ names */
    const char *state_base;    /* disks without file= go to state_base/<vm>/ */
    const char *name_override; /* NULL, or the VM name to use instead of [vm] name */
} ProfileEnv;

Profile *profile_load(const char *path, const ProfileEnv *env, GError **error);
Profile *profile_load_data(const char *path, const char *data, gsize len, const ProfileEnv *env,
                           GError **error);
void profile_free(Profile *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Profile, profile_free)

/* "512M", "2G", "2900MB", "1T" -> bytes. Plain numbers are refused unless
 * plain_unit is not 0, in which case they are multiplied by it. */
gboolean profile_parse_size(const char *text, guint64 plain_unit, guint64 *out);
const char *profile_accel_name(AccelChoice a);
/* true/yes/on/1, false/no/off/0; FALSE if v is neither. */
gboolean profile_parse_bool(const char *v, gboolean *out);
/* The [disk NAME] entry, or NULL (borrowed). */
ProfileDisk *profile_find_disk(const Profile *p, const char *name);
const char *profile_net_mode_name(NetMode m);
const char *profile_share_type_name(ShareType t);
const char *profile_firmware_name(Firmware f);
/* Where OVMF is ($QLAUNCH_OVMF_DIR, else Debian's /usr/share/OVMF). */
const char *profile_ovmf_dir(void);
/* "tcp::2222-:22" -> "tcp:127.0.0.1:2222-:22" (transfer full); NULL if it
 * is not proto:hostaddr:hostport-guestaddr:guestport. */
char *profile_normalise_forward(const char *v);
