/* Profile -> QEMU argv, with every value placed in option syntax escaped. */
#include "cmdline.h"

#include <string.h>

char *cmdline_escape(const char *value)
{
    GString *s = g_string_sized_new(strlen(value) + 8);
    for (const char *c = value; *c; c++) {
        g_string_append_c(s, *c);
        if (*c == ',')
            g_string_append_c(s, ',');
    }
    return g_string_free(s, FALSE);
}

const char *cmdline_cpu_model(const Profile *p, const char *accel)
{
    if (strcmp(p->cpu, "auto") != 0)
        return p->cpu;
    /* host under a KVM that passed the probe. Under TCG, max (the fullest
     * model) without the TSC-deadline timer: with it, after a live
     * migration of a busy guest a halted vCPU was never woken again
     * (QEMU 7.2, seen 2 of 2 times; 0 of 6 without it). */
    return strcmp(accel, "kvm") == 0 ? "host" : "max,-tsc-deadline";
}

const char *cmdline_cpu(const Profile *p, const CmdlineOpts *o)
{
    if (o->kvm_cpu && !strcmp(p->cpu, "auto") && !strcmp(o->accel, "kvm"))
        return o->kvm_cpu;
    return cmdline_cpu_model(p, o->accel);
}

char *cmdline_nic_mac(const Profile *p, const ProfileNet *n)
{
    if (n->mac)
        return g_ascii_strdown(n->mac, -1);
    g_autofree char *key = g_strdup_printf("%s/%s", p->name, n->name);
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
    return g_strdup_printf("52:54:00:%.2s:%.2s:%.2s", sum, sum + 2, sum + 4);
}

static void add(GStrvBuilder *b, const char *a)
{
    g_strv_builder_add(b, a);
}

/* g_strv_builder_take() needs GLib 2.80; Debian 12 has 2.74. */
static void take(GStrvBuilder *b, char *a)
{
    g_strv_builder_add(b, a);
    g_free(a);
}

static void addf(GStrvBuilder *b, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void addf(GStrvBuilder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    take(b, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* -chardev socket,id=ID,path=DIR/FILE,server=on,wait=off[,logfile=L[,logappend=on]] */
static void add_socket_chardev(GStrvBuilder *b, const char *id, const char *dir, const char *file,
                               const char *logfile, gboolean logappend)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autofree char *esc = cmdline_escape(path);
    g_autofree char *log = logfile ? cmdline_escape(logfile) : NULL;
    add(b, "-chardev");
    addf(b, "socket,id=%s,path=%s,server=on,wait=off%s%s%s", id, esc, log ? ",logfile=" : "",
         log ? log : "", log && logappend ? ",logappend=on" : "");
}

/* The boot order without order=: every disk first (a blank disk has no
 * boot sector or EFI system partition, and the firmware falls through),
 * then the CD-ROM, so an installed system boots with no edit. A direct
 * kernel boot and order= leave the firmware's own order. */
static char *bootindex(const Profile *p, guint i)
{
    if (p->order || p->kernel)
        return g_strdup("");
    return g_strdup_printf(",bootindex=%u", i + 1);
}

char *cmdline_password_path(const char *runtime_dir)
{
    return g_build_filename(runtime_dir, "display.secret", NULL);
}

static void add_socket_chardev_client(GStrvBuilder *b, const char *id, const char *dir,
                                      const char *file)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autofree char *esc = cmdline_escape(path);
    add(b, "-chardev");
    addf(b, "socket,id=%s,path=%s", id, esc);
}

const char *cmdline_disk_aio(const ProfileDisk *d, gboolean io_uring)
{
    if (strcmp(d->aio, "auto") != 0)
        return d->aio;
    return io_uring ? "io_uring" : NULL;
}

static void add_disks(GStrvBuilder *b, const Profile *p, const CmdlineOpts *o)
{
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        g_autofree char *file = cmdline_escape(d->file);
        const char *aio = cmdline_disk_aio(d, o->io_uring);
        add(b, "-drive");
        addf(b, "file=%s,if=none,id=drive-%s,node-name=disk-%s,format=%s%s%s%s%s%s", file, d->name,
             d->name, d->format, d->cache ? ",cache=" : "", d->cache ? d->cache : "",
             aio ? ",aio=" : "", aio ? aio : "", d->readonly ? ",readonly=on" : "");
        g_autofree char *bi = bootindex(p, i);
        add(b, "-device");
        if (strcmp(d->bus, "virtio") == 0)
            addf(b, "virtio-blk-pci,drive=drive-%s,id=disk-dev-%s%s", d->name, d->name, bi);
        else
            addf(b, "ide-hd,drive=drive-%s,id=disk-dev-%s%s", d->name, d->name, bi);
    }
    if (p->cdrom_drive) { /* cdrom NULL: the tray is empty (qlaunch media eject) */
        g_autofree char *file = p->cdrom ? cmdline_escape(p->cdrom) : NULL;
        g_autofree char *bi = bootindex(p, p->disks->len);
        add(b, "-drive");
        addf(b, "%s%s%sif=none,id=drive-cdrom,media=cdrom,readonly=on", file ? "file=" : "",
             file ? file : "", file ? "," : "");
        add(b, "-device");
        addf(b, "ide-cd,drive=drive-cdrom,id=cdrom0%s", bi);
    }
    if (p->cloud_init.enabled) { /* NoCloud finds it by its label, cidata */
        g_autofree char *seed = cmdline_escape(p->cloud_init.seed);
        add(b, "-drive");
        addf(b, "file=%s,if=none,id=drive-cidata,format=raw,readonly=on", seed);
        add(b, "-device");
        add(b, "virtio-blk-pci,drive=drive-cidata,id=cidata");
    }
    if (firmware_is_uefi(p->firmware)) {
        /* OVMF: its code read-only, the VM's variables in a qcow2 (so an
         * internal snapshot and a migration take them along) */
        g_autofree char *code = cmdline_escape(p->firmware_code);
        g_autofree char *vars = cmdline_escape(p->vars);
        add(b, "-drive");
        addf(b, "if=pflash,unit=0,format=raw,readonly=on,file=%s", code);
        add(b, "-drive");
        addf(b, "if=pflash,unit=1,format=qcow2,node-name=disk-efivars,file=%s", vars);
    }
}

guint64 cmdline_ram_trim_kib(const Profile *p)
{
    return CMDLINE_RAM_TRIM_KIB * MAX(1u, p->numa_nodes);
}

guint cmdline_lan_address(const char *lan, char **group)
{
    /* FNV-1a, stable across versions (g_str_hash is not promised to be) */
    guint32 h = 2166136261u;
    for (const char *c = lan; *c; c++)
        h = (h ^ (guchar)*c) * 16777619u;
    *group = g_strdup_printf("239.255.%u.%u", (h >> 8) & 0xff, MAX(h & 0xff, 1u));
    return 20000 + (h >> 16) % 40000;
}

static void add_nets(GStrvBuilder *b, const Profile *p, const CmdlineOpts *o)
{
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if (n->mode == NET_NONE)
            continue;
        GString *nd = g_string_new(NULL);
        if (n->mode == NET_SOCKET) {
            /* multicast on loopback: every VM of the lan on this host, no root */
            g_autofree char *group = NULL;
            guint port = cmdline_lan_address(n->lan, &group);
            g_string_append_printf(nd, "socket,id=net-%s,mcast=%s:%u,localaddr=127.0.0.1", n->name,
                                   group, port);
        } else if (n->mode == NET_TAP && o->tap_fds && o->tap_fds[i] >= 0) {
            /* the tap qlaunch opened and attached; QEMU inherits the fd */
            g_string_append_printf(nd, "tap,id=net-%s,fd=%d", n->name, o->tap_fds[i]);
        } else if (n->mode == NET_TAP) {
            /* no fd (a preview): a tap made beforehand, no scripts */
            g_string_append_printf(nd, "tap,id=net-%s,ifname=qltap%u,script=no,downscript=no",
                                   n->name, i);
        } else {
            g_string_append_printf(nd, "user,id=net-%s", n->name);
        }
        if (n->net)
            g_string_append_printf(nd, ",net=%s", n->net);
        if (n->dns)
            g_string_append_printf(nd, ",dns=%s", n->dns);
        if (n->restrict_)
            g_string_append(nd, ",restrict=on");
        for (gsize f = 0; n->forwards && n->forwards[f]; f++) {
            g_autofree char *esc = cmdline_escape(n->forwards[f]);
            g_string_append_printf(nd, ",hostfwd=%s", esc);
        }
        add(b, "-netdev");
        take(b, g_string_free(nd, FALSE));
        g_autofree char *mac = cmdline_nic_mac(p, n);
        add(b, "-device");
        addf(b, "%s,netdev=net-%s,mac=%s,id=nic-%s",
             strcmp(n->model, "e1000") == 0 ? "e1000" : "virtio-net-pci", n->name, mac, n->name);
    }
}

static void add_boot(GStrvBuilder *b, const Profile *p)
{
    if (p->kernel) {
        add(b, "-kernel");
        add(b, p->kernel);
    }
    if (p->initrd) {
        add(b, "-initrd");
        add(b, p->initrd);
    }
    /* A kernel qlaunch boots learns the shares to mount from its command
     * line (the embedded guest's init reads qlaunch.share=). */
    GString *shares = g_string_new(NULL);
    for (guint i = 0; p->kernel && i < p->shares->len; i++) {
        const ProfileShare *s = p->shares->pdata[i];
        g_string_append_printf(shares, " qlaunch.share=%s:%s:%s:%s",
                               profile_share_type_name(s->type), s->tag, s->mount,
                               s->readonly ? "ro" : "rw");
    }
    if (p->append || shares->len) {
        add(b, "-append");
        addf(b, "%s%s", p->append ? p->append : "", p->append ? shares->str : shares->str + 1);
    }
    g_string_free(shares, TRUE);
    if (p->order) {
        add(b, "-boot");
        addf(b, "order=%s", p->order);
    }
}

char *cmdline_share_socket(const char *runtime_dir, const ProfileShare *s)
{
    g_autofree char *file = g_strdup_printf("virtiofs-%s.sock", s->name);
    return g_build_filename(runtime_dir, file, NULL);
}

/* [share NAME]: virtio-fs through the virtiofsd qlaunch started (the guest
 * RAM is already a shared memfd, which vhost-user needs), or 9p served by
 * QEMU itself, read-only when the share is. */
static void add_shares(GStrvBuilder *b, const Profile *p, const CmdlineOpts *o)
{
    for (guint i = 0; i < p->shares->len; i++) {
        const ProfileShare *s = p->shares->pdata[i];
        if (s->type == SHARE_VIRTIOFS) {
            g_autofree char *sock = cmdline_share_socket(o->runtime_dir, s);
            g_autofree char *esc = cmdline_escape(sock);
            add(b, "-chardev");
            addf(b, "socket,id=fs-%s,path=%s", s->name, esc);
            add(b, "-device");
            addf(b, "vhost-user-fs-pci,chardev=fs-%s,tag=%s,id=share-%s", s->name, s->tag, s->name);
        } else {
            g_autofree char *esc = cmdline_escape(s->path);
            add(b, "-fsdev");
            addf(b, "local,id=fs-%s,path=%s,security_model=none%s", s->name, esc,
                 s->readonly ? ",readonly=on" : "");
            add(b, "-device");
            addf(b, "virtio-9p-pci,fsdev=fs-%s,mount_tag=%s,id=share-%s", s->name, s->tag, s->name);
        }
    }
}

/* [display]: a VGA, and VNC or SPICE on a unix socket in the runtime dir
 * or on listen=; never a local window. */
static void add_display(GStrvBuilder *b, const Profile *p, const CmdlineOpts *o)
{
    const ProfileDisplay *d = &p->display;
    static const char *const models[][2] = { { "std", "VGA" },
                                             { "virtio", "virtio-vga" },
                                             { "qxl", "qxl-vga" } };
    for (gsize i = 0; i < G_N_ELEMENTS(models); i++) {
        if (!strcmp(d->vga, models[i][0])) {
            add(b, "-device");
            addf(b, "%s,id=video0", models[i][1]);
        }
    }
    add(b, "-display");
    add(b, "none");
    gboolean vnc = !strcmp(d->type, "vnc"), spice = !strcmp(d->type, "spice");
    if (!vnc && !spice)
        return;
    g_autofree char *pw = d->password_file ? cmdline_password_path(o->runtime_dir) : NULL;
    if (pw) {
        g_autofree char *esc = cmdline_escape(pw);
        add(b, "-object");
        addf(b, "secret,id=display-secret,format=raw,file=%s", esc);
    }
    const char *secret = pw ? ",password-secret=display-secret" : "";
    g_autofree char *sock = g_build_filename(o->runtime_dir, vnc ? "vnc.sock" : "spice.sock", NULL);
    g_autofree char *esc = cmdline_escape(sock);
    gboolean v6 = d->listen && strchr(d->listen, ':');
    add(b, vnc ? "-vnc" : "-spice");
    if (vnc && !d->listen)
        addf(b, "unix:%s", esc);
    else if (vnc) /* VNC counts displays from port 5900; to=: the first free one */
        addf(b, "%s%s%s:%u%s%s", v6 ? "[" : "", d->listen, v6 ? "]" : "",
             d->port ? d->port - 5900 : 0, d->port ? "" : ",to=99", secret);
    else if (!d->listen)
        addf(b, "unix=on,addr=%s,disable-ticketing=on", esc);
    else
        addf(b, "addr=%s,port=%u%s", d->listen, d->port, pw ? secret : ",disable-ticketing=on");
}

/* [tpm]: swtpm (started by qlaunch before QEMU) on a socket in the
 * runtime dir. */
static void add_tpm(GStrvBuilder *b, const Profile *p, const CmdlineOpts *o)
{
    if (!p->tpm)
        return;
    add_socket_chardev_client(b, "chrtpm", o->runtime_dir, "swtpm.sock");
    add(b, "-tpmdev");
    add(b, "emulator,id=tpm0,chardev=chrtpm");
    add(b, "-device");
    add(b, g_str_has_prefix(p->machine, "q35") ? "tpm-crb,tpmdev=tpm0,id=tpm"
                                               : "tpm-tis,tpmdev=tpm0,id=tpm");
}

/* The guest RAM: one shared memfd (a local migration's destination maps
 * the source's), or with numa= one memfd and one -numa node per node, the
 * last one trimmed like the whole RAM would be.
 * A start from a snapshot (-loadvm) takes private anonymous RAM instead,
 * unless a virtio-fs share needs it shared: QEMU reads every zero page of
 * the snapshot's RAM to see that it is zero, and a read of a memfd's hole
 * allocates a page where anonymous memory maps the zero page (loadvm of
 * tiny, 121 MiB of state in 512 MiB: about 380 ms on a memfd, 90 ms
 * anonymous). Such a VM's local migration copies its RAM. */
static void add_memory(GStrvBuilder *b, const Profile *p, const CmdlineOpts *o, const char *size)
{
    if (!p->numa_nodes) {
        add(b, "-object");
        if (o->ram_from) {
            g_autofree char *from = cmdline_escape(o->ram_from);
            addf(b, "memory-backend-file,id=pc.ram,size=%s,mem-path=%s,share=on", size, from);
        } else if (o->ram_file) {
            g_autofree char *from = cmdline_escape(o->ram_file);
            addf(b, "memory-backend-file,id=pc.ram,size=%s,mem-path=%s,share=off", size, from);
        } else if (o->loadvm && !p->shares->len) {
            addf(b, "memory-backend-ram,id=pc.ram,size=%s", size);
        } else {
            addf(b, "memory-backend-memfd,id=pc.ram,size=%s,share=on", size);
        }
        return;
    }
    for (guint i = 0; i < p->numa_nodes; i++) {
        const ProfileNumaNode *nd = &p->numa[i];
        g_autofree char *sz = o->ram_trim
                                  ? g_strdup_printf("%" G_GUINT64_FORMAT "K",
                                                    nd->memory_mib * 1024 - CMDLINE_RAM_TRIM_KIB)
                                  : g_strdup_printf("%" G_GUINT64_FORMAT "M", nd->memory_mib);
        g_autofree char *bind = nd->host_node >= 0
                                    ? g_strdup_printf(",host-nodes=%d,policy=bind", nd->host_node)
                                    : g_strdup("");
        add(b, "-object");
        addf(b, "memory-backend-memfd,id=ram-node%u,size=%s,share=on%s", i, sz, bind);
        add(b, "-numa");
        addf(b, "node,nodeid=%u,cpus=%u-%u,memdev=ram-node%u", i, nd->cpu_first, nd->cpu_last, i);
    }
}

GStrv cmdline_build(const Profile *p, const CmdlineOpts *o)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_autofree char *name = cmdline_escape(p->name);
    add(b, o->qemu);
    add(b, "-name");
    addf(b, "guest=%s,process=qlaunch-%s", name, name);
    add(b, "-machine");
    /* NUMA: one backend per node instead (add_memory); Secure Boot: SMM */
    addf(b, "%s%s%s", p->machine, p->numa_nodes ? "" : ",memory-backend=pc.ram",
         p->firmware == FIRMWARE_UEFI_SECURE ? ",smm=on" : "");
    if (p->firmware == FIRMWARE_UEFI_SECURE) { /* only SMM code may write the variables */
        add(b, "-global");
        add(b, "driver=cfi.pflash01,property=secure,value=on");
    }
    if (p->firmware == FIRMWARE_QBOOT) { /* QEMU finds it in its data directory */
        add(b, "-bios");
        add(b, "qboot.rom");
    }
    add(b, "-accel");
    if (strcmp(o->accel, "tcg") == 0 && (p->tcg_tb_size_mib || p->tcg_thread)) {
        GString *a = g_string_new("tcg");
        if (p->tcg_tb_size_mib)
            g_string_append_printf(a, ",tb-size=%u", p->tcg_tb_size_mib);
        if (p->tcg_thread)
            g_string_append_printf(a, ",thread=%s", p->tcg_thread);
        g_strv_builder_add(b, a->str);
        g_string_free(a, TRUE);
    } else {
        add(b, o->accel);
    }
    add(b, "-cpu");
    add(b, cmdline_cpu(p, o));
    g_autofree char *size = o->ram_trim
                                ? g_strdup_printf("%" G_GUINT64_FORMAT "K",
                                                  p->memory_mib * 1024 - cmdline_ram_trim_kib(p))
                                : g_strdup_printf("%" G_GUINT64_FORMAT "M", p->memory_mib);
    add(b, "-m");
    add(b, size);
    add_memory(b, p, o, size);
    add(b, "-smp");
    addf(b, "%u", p->cpus);
    add(b, "-nodefaults");
    add(b, "-no-user-config");
    add_display(b, p, o);
    add_socket_chardev(b, "qmp0", o->runtime_dir, "qmp.sock", NULL, FALSE);
    add(b, "-mon");
    add(b, "chardev=qmp0,mode=control");
    if (p->serial) {
        /* A migration destination continues the VM's console log. */
        add_socket_chardev(b, "serial0", o->runtime_dir, "serial.sock", p->serial_log, o->incoming);
        add(b, "-serial");
        add(b, "chardev:serial0");
    }
    add_boot(b, p);
    add_disks(b, p, o);
    add_shares(b, p, o);
    add_nets(b, p, o);
    add_tpm(b, p, o);
    if (p->balloon) {
        add(b, "-device");
        add(b, "virtio-balloon-pci,id=balloon0");
    }
    if (g_str_has_prefix(p->machine, "pc") || g_str_has_prefix(p->machine, "q35")) {
        /* pvpanic: a guest kernel panic shows as QEMU state guest-panicked
         * and the VM stays paused as it crashed (QEMU would otherwise quit). */
        add(b, "-device");
        add(b, "pvpanic");
        add(b, "-action");
        add(b, "panic=pause");
    }
    if (p->agent) {
        add_socket_chardev(b, CMDLINE_AGENT_CHARDEV, o->runtime_dir, "qga.sock", NULL, FALSE);
        add(b, "-device");
        add(b, "virtio-serial-pci,id=vser0");
        add(b, "-device");
        add(b, "virtserialport,chardev=" CMDLINE_AGENT_CHARDEV ",name=org.qemu.guest_agent.0");
    }
    g_autofree char *pidfile = g_build_filename(o->runtime_dir, "qemu.pid", NULL);
    add(b, "-pidfile");
    add(b, pidfile);
    if (o->incoming) {
        add(b, "-incoming");
        add(b, "defer");
    } else if (o->loadvm && o->loadvm_paused) {
        add(b, "-S");
    } else if (o->loadvm) {
        add(b, "-loadvm");
        add(b, o->loadvm);
    }
    if (o->daemonize)
        add(b, "-daemonize");
    return g_strv_builder_end(b);
}

char *cmdline_to_string(const char *const *argv)
{
    GString *s = g_string_new(NULL);
    for (gsize i = 0; argv[i]; i++) {
        g_autofree char *q = g_shell_quote(argv[i]);
        gboolean plain = strpbrk(argv[i], " \t\n'\"\\$`*?[]{}()<>|&;#~!") == NULL && *argv[i];
        if (i)
            g_string_append_c(s, ' ');
        g_string_append(s, plain ? argv[i] : q);
    }
    return g_string_free(s, FALSE);
}
