/* Profiles rendered for libvirt, Proxmox and plain sh. */
#include "export.h"
#include "disk.h"

#include <string.h>

#include "cmdline.h"

static void lostf(GString *lost, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void lostf(GString *lost, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_string_append_vprintf(lost, fmt, ap);
    va_end(ap);
    g_string_append_c(lost, '\n');
}

static char *finish_lost(GString *lost)
{
    return lost->len ? g_string_free(lost, FALSE) : (g_string_free(lost, TRUE), NULL);
}

/* XML text with <, >, &, ' and " escaped (transfer full). */
static char *x(const char *s)
{
    return g_markup_escape_text(s ? s : "", -1);
}

static void xml_cpu(GString *s, const Profile *p, const char *accel)
{
    const char *model = cmdline_cpu_model(p, accel);
    g_auto(GStrv) parts = g_strsplit(model, ",", -1);
    if (!strcmp(parts[0], "host"))
        g_string_append(s, "  <cpu mode='host-passthrough'");
    else if (!strcmp(parts[0], "max"))
        g_string_append(s, "  <cpu mode='maximum'");
    else
        g_string_append(s, "  <cpu mode='custom' match='exact'");
    g_string_append(s, ">\n");
    if (strcmp(parts[0], "host") && strcmp(parts[0], "max")) {
        g_autofree char *m = x(parts[0]);
        g_string_append_printf(s, "    <model fallback='forbid'>%s</model>\n", m);
    }
    for (gsize i = 1; parts[i]; i++) {
        const char *f = parts[i];
        gboolean off = *f == '-';
        if (*f == '+' || *f == '-')
            f++;
        g_autofree char *name = g_strdup(f), *ex = NULL;
        char *eq = strchr(name, '=');
        if (eq) { /* feature=on|off */
            off = !strcmp(eq + 1, "off");
            *eq = '\0';
        }
        ex = x(name);
        g_string_append_printf(s, "    <feature policy='%s' name='%s'/>\n",
                               off ? "disable" : "require", ex);
    }
    if (p->numa_nodes) {
        g_string_append(s, "    <numa>\n");
        for (guint i = 0; i < p->numa_nodes; i++)
            g_string_append_printf(
                s, "      <cell id='%u' cpus='%u-%u' memory='%" G_GUINT64_FORMAT "' unit='MiB'/>\n",
                i, p->numa[i].cpu_first, p->numa[i].cpu_last, p->numa[i].memory_mib);
        g_string_append(s, "    </numa>\n");
    }
    g_string_append(s, "  </cpu>\n");
}

static void xml_tuning(GString *s, const Profile *p, GString *lost)
{
    if (p->pin || p->cpu_limit_pct) {
        g_string_append(s, "  <cputune>\n");
        for (guint i = 0; p->pin && i < p->cpus; i++)
            g_string_append_printf(s, "    <vcpupin vcpu='%u' cpuset='%d'/>\n", i, p->pin[i]);
        if (p->cpu_limit_pct)
            g_string_append_printf(s,
                                   "    <global_period>100000</global_period>\n"
                                   "    <global_quota>%u</global_quota>\n",
                                   p->cpu_limit_pct * 1000);
        g_string_append(s, "  </cputune>\n");
    }
    if (p->memory_limit)
        g_string_append_printf(s,
                               "  <memtune>\n    <hard_limit unit='KiB'>%" G_GUINT64_FORMAT
                               "</hard_limit>\n  </memtune>\n",
                               p->memory_limit / 1024);
    if (p->tcg_thread)
        lostf(lost, "[vm] tcg-thread=%s (libvirt has no setting for it)", p->tcg_thread);
    if (p->numa_nodes && p->numa[0].host_node >= 0) {
        g_string_append(s, "  <numatune>\n");
        for (guint i = 0; i < p->numa_nodes; i++)
            g_string_append_printf(s, "    <memnode cellid='%u' mode='strict' nodeset='%d'/>\n", i,
                                   p->numa[i].host_node);
        g_string_append(s, "  </numatune>\n");
    }
}

static void xml_os(GString *s, const Profile *p, GString *lost)
{
    g_autofree char *machine = x(p->machine);
    g_string_append_printf(s, "  <os>\n    <type arch='x86_64' machine='%s'>hvm</type>\n", machine);
    if (firmware_is_uefi(p->firmware)) {
        g_autofree char *code = x(p->firmware_code), *tmpl = x(p->vars_template);
        g_string_append_printf(s,
                               "    <loader readonly='yes'%s type='pflash'>%s</loader>\n"
                               "    <nvram template='%s'/>\n",
                               p->firmware == FIRMWARE_UEFI_SECURE ? " secure='yes'" : "", code,
                               tmpl);
        lostf(lost,
              "[boot] vars=%s: libvirt makes its own raw variable store from the template, and "
              "QEMU then refuses internal snapshots of the VM (a raw pflash)",
              p->vars);
    } else if (p->firmware == FIRMWARE_QBOOT) {
        g_string_append(s, "    <loader type='rom'>/usr/share/qemu/qboot.rom</loader>\n");
    }
    if (p->kernel) {
        g_autofree char *k = x(p->kernel), *i = x(p->initrd), *a = x(p->append);
        g_string_append_printf(s, "    <kernel>%s</kernel>\n", k);
        if (p->initrd)
            g_string_append_printf(s, "    <initrd>%s</initrd>\n", i);
        if (p->append)
            g_string_append_printf(s, "    <cmdline>%s</cmdline>\n", a);
    }
    /* qlaunch's default: the disks, then the CD-ROM (a blank disk falls through) */
    const char *order = p->order ? p->order : (p->kernel ? "" : p->cdrom_drive ? "cd" : "c");
    for (const char *o = order; *o; o++) {
        const char *dev = *o == 'c' ? "hd" : *o == 'd' ? "cdrom" : *o == 'n' ? "network" : NULL;
        if (dev)
            g_string_append_printf(s, "    <boot dev='%s'/>\n", dev);
    }
    g_string_append(s, "  </os>\n");
}

/* The base's format as qemu-img reads it (raw when it cannot be read). */
static char *base_format(const ProfileDisk *d)
{
    g_autoptr(DiskInfo) info = disk_image_info(d->base, NULL, NULL);
    return g_strdup(info ? info->format : "raw");
}

/* The qemu-img command that makes a base= disk's overlay, shell-quoted. */
static char *overlay_command(const ProfileDisk *d)
{
    g_autofree char *fmt = base_format(d);
    g_autofree char *b = g_shell_quote(d->base), *f = g_shell_quote(d->file);
    g_autofree char *size = d->size ? g_strdup_printf(" %" G_GUINT64_FORMAT, d->size) : NULL;
    return g_strdup_printf("qemu-img create -q -f qcow2 -F %s -b %s %s%s", fmt, b, f,
                           size ? size : "");
}

static void xml_disks(GString *s, const Profile *p, GString *lost)
{
    guint nvirtio = 0, nsata = 0;
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        gboolean virtio = !strcmp(d->bus, "virtio");
        g_autofree char *dev =
            g_strdup_printf("%s%c", virtio ? "vd" : "sd", 'a' + (virtio ? nvirtio++ : nsata++));
        g_autofree char *file = x(d->file), *fmt = x(d->format);
        /* auto: which mode the host runs is for the other manager to find
         * (libvirt's default is threads, Proxmox's io_uring) */
        const char *aio = cmdline_disk_aio(d, FALSE);
        g_string_append_printf(s,
                               "    <disk type='file' device='disk'>\n"
                               "      <driver name='qemu' type='%s'%s%s%s%s%s%s/>\n"
                               "      <source file='%s'/>\n"
                               "      <target dev='%s' bus='%s'/>\n%s"
                               "    </disk>\n",
                               fmt, d->cache ? " cache='" : "", d->cache ? d->cache : "",
                               d->cache ? "'" : "", aio ? " io='" : "", aio ? aio : "",
                               aio ? "'" : "", file, dev, virtio ? "virtio" : "sata",
                               d->readonly ? "      <readonly/>\n" : "");
        if (d->base) {
            g_autofree char *how = overlay_command(d);
            lostf(lost, "[disk %s] base=: libvirt does not create overlays; create it first: %s",
                  d->name, how);
        } else if (d->size) {
            lostf(lost,
                  "[disk %s] size=: libvirt does not create disks; create it first: qemu-img "
                  "create -f qcow2 %s %" G_GUINT64_FORMAT,
                  d->name, d->file, d->size);
        }
    }
    if (p->cdrom) {
        gboolean ide = g_str_has_prefix(p->machine, "pc") && !strstr(p->machine, "q35");
        g_autofree char *iso = x(p->cdrom);
        g_string_append_printf(s,
                               "    <disk type='file' device='cdrom'>\n"
                               "      <driver name='qemu' type='raw'/>\n"
                               "      <source file='%s'/>\n"
                               "      <target dev='%s%c' bus='%s'/>\n"
                               "      <readonly/>\n"
                               "    </disk>\n",
                               iso, ide ? "hd" : "sd", ide ? 'c' : (char)('a' + nsata),
                               ide ? "ide" : "sata");
    }
}

/* [share NAME]: virtio-fs (libvirt starts virtiofsd; the RAM is shared,
 * xml_memory_backing) or 9p. */
static void xml_shares(GString *s, const Profile *p)
{
    for (guint i = 0; i < p->shares->len; i++) {
        const ProfileShare *sh = p->shares->pdata[i];
        g_autofree char *dir = x(sh->path), *tag = x(sh->tag);
        g_string_append_printf(s,
                               "    <filesystem type='mount' accessmode='%s'>\n"
                               "%s"
                               "      <source dir='%s'/>\n"
                               "      <target dir='%s'/>\n%s"
                               "    </filesystem>\n",
                               sh->type == SHARE_VIRTIOFS ? "passthrough" : "squash",
                               sh->type == SHARE_VIRTIOFS ? "      <driver type='virtiofs'/>\n"
                                                          : "",
                               dir, tag, sh->readonly ? "      <readonly/>\n" : "");
    }
}

static void xml_nics(GString *s, const Profile *p, GString *lost)
{
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if (n->mode == NET_NONE)
            continue;
        g_autofree char *mac = cmdline_nic_mac(p, n);
        const char *model = strcmp(n->model, "e1000") ? "virtio" : "e1000";
        if (n->mode == NET_USER) {
            g_string_append(s, "    <interface type='user'>\n");
            for (gsize f = 0; n->forwards && n->forwards[f]; f++)
                lostf(lost,
                      "[net %s] forward=%s (libvirt's user networking has no forwards "
                      "without the passt backend)",
                      n->name, n->forwards[f]);
            if (n->net || n->dns || n->restrict_)
                lostf(lost, "[net %s] net=/dns=/restrict= of user mode", n->name);
        } else if (n->mode == NET_SOCKET) {
            g_autofree char *group = NULL;
            guint port = cmdline_lan_address(n->lan, &group);
            g_string_append_printf(s,
                                   "    <interface type='mcast'>\n"
                                   "      <source address='%s' port='%u'/>\n",
                                   group, port);
            lostf(lost,
                  "[net %s] lan=%s: multicast %s:%u carries over, but not localaddr=127.0.0.1 "
                  "(libvirt's mcast NIC uses the default route's interface)",
                  n->name, n->lan, group, port);
        } else if (n->network) {
            g_autofree char *net = x(n->network);
            g_string_append_printf(s,
                                   "    <interface type='network'>\n"
                                   "      <source network='%s'/>\n",
                                   net);
            lostf(lost,
                  "[net %s] network=%s: the NIC joins libvirt's network of that name (its "
                  "default is 192.168.122.0/24), not qlaunch's networks/%s.ini",
                  n->name, n->network, n->network);
        } else {
            g_autofree char *br = x(n->bridge);
            g_string_append_printf(s,
                                   "    <interface type='bridge'>\n"
                                   "      <source bridge='%s'/>\n",
                                   br);
        }
        g_string_append_printf(s,
                               "      <mac address='%s'/>\n"
                               "      <model type='%s'/>\n"
                               "    </interface>\n",
                               mac, model);
    }
}

static void iso_kernel_lost(const Profile *p, GString *lost)
{
    if (p->iso_kernel)
        lostf(lost,
              "[boot] %s: the kernel is the copy qlaunch takes out of the ISO at start (%s); "
              "start the VM with qlaunch once so that it exists",
              p->preset ? "preset=" : "iso-kernel=", p->kernel);
}

/* [display] and [tpm] as libvirt devices */
static void xml_platform(GString *s, const Profile *p, GString *lost)
{
    const ProfileDisplay *d = &p->display;
    iso_kernel_lost(p, lost);
    if (strcmp(d->vga, "none"))
        g_string_append_printf(s, "    <video>\n      <model type='%s'/>\n    </video>\n",
                               !strcmp(d->vga, "std") ? "vga" : d->vga);
    if (strcmp(d->type, "none")) {
        g_autofree char *listen = x(d->listen ? d->listen : "127.0.0.1");
        g_autofree char *port = d->port ? g_strdup_printf(" port='%u'", d->port) : NULL;
        g_string_append_printf(s, "    <graphics type='%s'%s listen='%s'/>\n", d->type,
                               port ? port : " autoport='yes'", listen);
        if (!d->listen)
            lostf(lost,
                  "[display] the unix socket: libvirt serves it on 127.0.0.1 (virsh domdisplay "
                  "tells where)");
        if (d->password_file)
            lostf(lost,
                  "[display] password-file=%s: give libvirt the password yourself "
                  "(<graphics passwd=...>)",
                  d->password_file);
    }
    if (p->tpm)
        g_string_append_printf(s,
                               "    <tpm model='%s'>\n      <backend type='emulator' "
                               "version='2.0'/>\n    </tpm>\n",
                               g_str_has_prefix(p->machine, "q35") ? "tpm-crb" : "tpm-tis");
}

char *export_libvirt(const Profile *p, const char *accel, const char *qemu, char **lost_out)
{
    GString *lost = g_string_new(NULL);
    GString *s = g_string_new(NULL);
    g_autofree char *name = x(p->name), *emu = x(qemu);
    g_string_append_printf(s,
                           "<domain type='%s'>\n"
                           "  <name>%s</name>\n"
                           "  <memory unit='MiB'>%" G_GUINT64_FORMAT "</memory>\n"
                           "  <vcpu placement='static'>%u</vcpu>\n",
                           strcmp(accel, "kvm") ? "qemu" : "kvm", name, p->memory_mib, p->cpus);
    if (p->shares->len) /* virtio-fs needs the guest RAM shared with virtiofsd */
        g_string_append(s, "  <memoryBacking>\n    <source type='memfd'/>\n"
                           "    <access mode='shared'/>\n  </memoryBacking>\n");
    xml_tuning(s, p, lost);
    xml_os(s, p, lost);
    g_string_append(s, "  <features>\n    <acpi/>\n");
    if (p->firmware == FIRMWARE_UEFI_SECURE)
        g_string_append(s, "    <smm state='on'/>\n");
    if (p->tcg_tb_size_mib && strcmp(accel, "kvm"))
        g_string_append_printf(s,
                               "    <tcg>\n      <tb-cache unit='MiB'>%u</tb-cache>\n    </tcg>\n",
                               p->tcg_tb_size_mib);
    g_string_append(s, "  </features>\n");
    xml_cpu(s, p, accel);
    g_string_append_printf(s,
                           "  <on_poweroff>destroy</on_poweroff>\n"
                           "  <on_reboot>restart</on_reboot>\n"
                           "  <on_crash>destroy</on_crash>\n"
                           "  <devices>\n"
                           "    <emulator>%s</emulator>\n",
                           emu);
    xml_disks(s, p, lost);
    xml_shares(s, p);
    xml_nics(s, p, lost);
    if (p->serial) {
        g_autofree char *log = x(p->serial_log);
        g_string_append(s, "    <serial type='pty'>\n");
        if (p->serial_log)
            g_string_append_printf(s, "      <log file='%s' append='on'/>\n", log);
        g_string_append(s, "      <target port='0'/>\n    </serial>\n"
                           "    <console type='pty'>\n      <target type='serial' port='0'/>\n"
                           "    </console>\n");
    }
    if (p->agent)
        g_string_append(s, "    <channel type='unix'>\n"
                           "      <target type='virtio' name='org.qemu.guest_agent.0'/>\n"
                           "    </channel>\n");
    xml_platform(s, p, lost);
    g_string_append_printf(s, "    <memballoon model='%s'/>\n  </devices>\n</domain>\n",
                           p->balloon ? "virtio" : "none");
    *lost_out = finish_lost(lost);
    return g_string_free(s, FALSE);
}

static gboolean has_control(const char *v)
{
    for (const char *c = v; c && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return TRUE;
    return FALSE;
}

/* What a Proxmox config cannot carry, or FALSE with the reason: a value
 * is one line, and a volume in a property string ("virtio0: FILE,cache=")
 * has no escaping, so ',', '=' and ';' would add options of their own. */
/* What a Proxmox config cannot carry, or FALSE with the reason: a value
 * is one line, and a volume in a property string ("virtio0: FILE,cache=")
 * has no escaping, so ',', '=' and ';' would add options of their own. */
typedef struct {
    const char *what, *value;
    gboolean volume;
} PveValue;

static gboolean pve_check_one(const PveValue *v, GError **error)
{
    const char *why = !v->value               ? NULL
                      : has_control(v->value) ? "holds a control character (a newline would "
                                                "start a config line of its own)"
                      : v->volume && strpbrk(v->value, ",=;")
                          ? "holds ',', '=' or ';', which a Proxmox volume cannot carry (rename "
                            "the file)"
                          : NULL;
    if (why)
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_INVALID,
                    "export --format proxmox: %s \"%s\" %s", v->what, v->value, why);
    return why == NULL;
}

static gboolean pve_check(const Profile *p, GError **error)
{
    const PveValue fixed[] = {
        { "[vm] cpu", p->cpu, FALSE },         { "[vm] machine", p->machine, FALSE },
        { "[boot] kernel", p->kernel, FALSE }, { "[boot] initrd", p->initrd, FALSE },
        { "[boot] append", p->append, FALSE }, { "[boot] cdrom", p->cdrom, TRUE },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++)
        if (!pve_check_one(&fixed[i], error))
            return FALSE;
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        g_autofree char *what = g_strdup_printf("[disk %s] file", d->name);
        PveValue v = { what, d->file, TRUE };
        if (!pve_check_one(&v, error))
            return FALSE;
    }
    return TRUE;
}

/* firmware, [display] and [tpm] in a Proxmox config; its EFI and TPM
 * state live on a storage of Proxmox's, made with qm set */
static void pve_platform(GString *s, const Profile *p, GString *lost)
{
    if (firmware_is_uefi(p->firmware)) {
        gboolean secure = p->firmware == FIRMWARE_UEFI_SECURE;
        g_string_append(s, "bios: ovmf\n");
        lostf(lost,
              "[boot] firmware=%s: give the VM an EFI disk: qm set VMID --efidisk0 "
              "STORAGE:1,efitype=4m%s (its variables start fresh; %s stays here)",
              profile_firmware_name(p->firmware), secure ? ",pre-enrolled-keys=1" : "", p->vars);
    } else if (p->firmware == FIRMWARE_QBOOT) {
        lostf(lost, "[boot] firmware=qboot: Proxmox boots SeaBIOS, which starts the same kernel "
                    "(0.2-0.4 s later under TCG)");
    }
    const char *vga = p->display.vga;
    /* no graphics card: Proxmox's console is then the serial port */
    g_string_append_printf(s, "vga: %s\n",
                           strcmp(vga, "none") ? vga
                           : p->serial         ? "serial0"
                                               : "none");
    iso_kernel_lost(p, lost);
    if (strcmp(p->display.type, "none"))
        lostf(lost,
              "[display] type=%s: Proxmox serves the display itself (noVNC; SPICE with "
              "vga: qxl)",
              p->display.type);
    if (p->tpm)
        lostf(lost,
              "[tpm]: give the VM a TPM state volume: qm set VMID --tpmstate0 "
              "STORAGE:1,version=v2.0 (%s stays here)",
              p->tpm_state);
}

char *export_proxmox(const Profile *p, const char *accel, char **lost_out, GError **error)
{
    if (!pve_check(p, error))
        return NULL;
    GString *lost = g_string_new(NULL);
    GString *s = g_string_new(NULL);
    g_autofree char *cpu = g_strdup(cmdline_cpu_model(p, accel));
    char *comma = strchr(cpu, ',');
    if (comma) {
        lostf(lost, "[vm] cpu flags \"%s\" (Proxmox takes only a few whitelisted flags)",
              comma + 1);
        *comma = '\0';
    }
    g_string_append_printf(s,
                           "# %s, exported by qlaunch; save as /etc/pve/qemu-server/VMID.conf\n"
                           "name: %s\nmemory: %" G_GUINT64_FORMAT
                           "\nsockets: 1\ncores: %u\ncpu: %s\nkvm: %d\nmachine: %s\n"
                           "agent: %d\nostype: l26\n",
                           p->name, p->name, p->memory_mib, p->cpus, cpu, strcmp(accel, "kvm") == 0,
                           p->machine, p->agent ? 1 : 0);
    if (p->serial)
        g_string_append(s, "serial0: socket\n");
    if (p->cpu_limit_pct)
        g_string_append_printf(s, "cpulimit: %.2f\n", p->cpu_limit_pct / 100.0);
    if (p->pin) {
        g_string_append(s, "affinity: ");
        for (guint i = 0; i < p->cpus; i++)
            g_string_append_printf(s, "%s%d", i ? "," : "", p->pin[i]);
        g_string_append(s, "\n");
        lostf(lost, "[vm] pin=: Proxmox's affinity= pins the whole VM to the set, not each vCPU");
    }
    if (p->memory_limit)
        lostf(lost, "[vm] memory-limit= (Proxmox has no hard limit beyond memory:)");
    if (!p->balloon)
        g_string_append(s, "balloon: 0\n");
    if (p->numa_nodes)
        g_string_append(s, "numa: 1\n");
    for (guint i = 0; i < p->numa_nodes; i++) {
        const ProfileNumaNode *nd = &p->numa[i];
        g_string_append_printf(s, "numa%u: cpus=%u-%u,memory=%" G_GUINT64_FORMAT, i, nd->cpu_first,
                               nd->cpu_last, nd->memory_mib);
        if (nd->host_node >= 0)
            g_string_append_printf(s, ",hostnodes=%d,policy=bind", nd->host_node);
        g_string_append(s, "\n");
    }
    if (p->tcg_tb_size_mib || p->tcg_thread)
        lostf(lost, "[vm] tcg-tb-size=/tcg-thread=");
    for (guint i = 0; i < p->shares->len; i++) {
        const ProfileShare *sh = p->shares->pdata[i];
        lostf(lost,
              "[share %s]: Proxmox shares a folder through a directory mapping "
              "(Datacenter > Directory Mappings, then virtiofsN: MAPPING); map %s",
              sh->name, sh->path);
    }
    GString *boot = g_string_new(NULL);
    guint nv = 0, ns = 0;
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        gboolean virtio = !strcmp(d->bus, "virtio");
        g_autofree char *key =
            g_strdup_printf("%s%u", virtio ? "virtio" : "sata", virtio ? nv++ : ns++);
        const char *aio = cmdline_disk_aio(d, FALSE); /* auto: as above */
        g_string_append_printf(s, "%s: %s%s%s%s%s\n", key, d->file, d->cache ? ",cache=" : "",
                               d->cache ? d->cache : "", aio ? ",aio=" : "", aio ? aio : "");
        g_string_append_printf(boot, "%s%s", boot->len ? ";" : "", key);
        lostf(lost,
              "[disk %s] %s is referenced by path; import it into a storage with qm importdisk "
              "VMID %s STORAGE%s%s%s",
              d->name, d->file, d->file, d->readonly ? " (readonly= does not carry over)" : "",
              d->base ? " (an overlay on base=: importdisk copies it and its base into one "
                        "image, "
                      : "",
              d->base ? "so the VMs no longer share the base)" : "");
    }
    if (p->cdrom) {
        g_string_append_printf(s, "ide2: %s,media=cdrom\n", p->cdrom);
        g_string_append_printf(boot, "%side2", boot->len ? ";" : "");
    }
    for (guint i = 0, k = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if (n->mode == NET_NONE || n->mode == NET_SOCKET) {
            if (n->mode == NET_SOCKET)
                lostf(lost, "[net %s] lan=%s (Proxmox has no socket NICs)", n->name, n->lan);
            continue;
        }
        g_autofree char *mac = cmdline_nic_mac(p, n);
        const char *br = n->bridge ? n->bridge : "vmbr0";
        g_string_append_printf(s, "net%u: %s=%s,bridge=%s\n", k++,
                               strcmp(n->model, "e1000") ? "virtio" : "e1000", mac, br);
        if (n->mode == NET_USER)
            lostf(lost,
                  "[net %s] mode=user: Proxmox has no user-mode NAT; the NIC is put on "
                  "vmbr0%s",
                  n->name, n->forwards && n->forwards[0] ? " and its forward= lines are lost" : "");
        else if (n->network)
            lostf(lost, "[net %s] network=%s: put on vmbr0; make a NAT bridge in Proxmox for it",
                  n->name, n->network);
    }
    pve_platform(s, p, lost);
    if (p->kernel) {
        /* args: is split like a shell command line: every value quoted */
        g_autofree char *kernel = g_shell_quote(p->kernel);
        g_autofree char *initrd = p->initrd ? g_shell_quote(p->initrd) : NULL;
        g_autofree char *append = p->append ? g_shell_quote(p->append) : NULL;
        g_string_append_printf(s, "args: -kernel %s%s%s%s%s\n", kernel, initrd ? " -initrd " : "",
                               initrd ? initrd : "", append ? " -append " : "",
                               append ? append : "");
    }
    if (boot->len && !p->kernel)
        g_string_append_printf(s, "boot: order=%s\n", boot->str);
    g_string_free(boot, TRUE);
    *lost_out = finish_lost(lost);
    return g_string_free(s, FALSE);
}

char *export_sh(const Profile *p, char *const *argv, const char *runtime_dir)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(
        s,
        "#!/bin/sh\n"
        "# VM %s as qlaunch runs it, in the foreground (QEMU's own argv; Ctrl-C stops it).\n"
        "# Its sockets (qmp.sock, qga.sock, serial.sock) and pid file go to DIR: the first\n"
        "# argument, or a new private directory.\n"
        "set -eu\n"
        "dir=${1:-$(mktemp -d \"${TMPDIR:-/tmp}/qlaunch-%s.XXXXXX\")}\n"
        "case $dir in *,*) echo \"$0: DIR must not contain a comma (QEMU option syntax)\" >&2; "
        "exit 2 ;; esac\n"
        "mkdir -p \"$dir\"\nchmod 700 \"$dir\"\numask 077\n"
        "echo \"VM %s: sockets in $dir\" >&2\n",
        p->name, p->name, p->name);
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        if (!d->size && !d->base)
            continue;
        g_autofree char *f = g_shell_quote(d->file);
        g_autofree char *dirq = g_path_get_dirname(d->file);
        g_autofree char *dq = g_shell_quote(dirq);
        if (d->base) {
            g_autofree char *how = overlay_command(d);
            g_string_append_printf(s, "[ -e %s ] || { mkdir -p %s && %s; }\n", f, dq, how);
            continue;
        }
        g_string_append_printf(s,
                               "[ -e %s ] || { mkdir -p %s && qemu-img create -q -f qcow2 %s "
                               "%" G_GUINT64_FORMAT "; }\n",
                               f, dq, f, d->size);
    }
    g_string_append(s, "exec");
    for (gsize i = 0; argv[i]; i++) {
        if (!strcmp(argv[i], "-daemonize"))
            continue;
        g_autofree char *q = g_shell_quote(argv[i]);
        /* inside single quotes: close, splice "$dir", reopen */
        g_auto(GStrv) parts = g_strsplit(q, runtime_dir, -1);
        g_autofree char *joined = g_strjoinv("'\"$dir\"'", parts);
        /* an option and its value on one line */
        gboolean value = i > 0 && argv[i - 1][0] == '-' && argv[i][0] != '-';
        g_string_append_printf(s, value ? " %s" : " \\\n    %s", joined);
    }
    g_string_append(s, "\n");
    return g_string_free(s, FALSE);
}
