/* libFuzzer target: the argv builder. Every profile that loads must give
 * an argv whose key=value options parse back (QEMU's rules: ",," is a
 * comma) to exactly the profile's values, with no key twice: nothing a
 * profile says can add an option of its own. The same for the Proxmox
 * export. Abort on any mismatch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../launcher/cmdline.h"
#include "../../launcher/export.h"
#include "../qemu-opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect(gboolean ok, const char *what, const char *opt)
{
    if (!ok) {
        fprintf(stderr, "argv check failed: %s in \"%s\"\n", what, opt);
        abort();
    }
}

static void check_option(const Profile *p, const char *flag, const char *opt)
{
    guint dups = 0;
    GHashTable *kv = qemu_opts_parse(opt, &dups);
    const char *id = g_hash_table_lookup(kv, "id");
    guint allowed = 0; /* hostfwd= is the one key QEMU takes repeatedly */
    for (guint i = 0; !g_strcmp0(flag, "-netdev") && id && i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        guint nf = n->forwards ? g_strv_length(n->forwards) : 0;
        if (g_str_has_prefix(id, "net-") && !strcmp(id + 4, n->name) && nf > 1)
            allowed = nf - 1;
    }
    expect(dups == allowed, "a key twice", opt);
    if (!g_strcmp0(flag, "-drive") && id && g_str_has_prefix(id, "drive-") &&
        g_strcmp0(id, "drive-cdrom")) {
        ProfileDisk *d = profile_find_disk(p, id + 6);
        expect(d != NULL, "a drive of no [disk]", opt);
        expect(!g_strcmp0(g_hash_table_lookup(kv, "file"), d->file), "file= differs", opt);
        expect(!g_strcmp0(g_hash_table_lookup(kv, "format"), d->format), "format= differs", opt);
    }
    if (!g_strcmp0(flag, "-drive") && !g_strcmp0(id, "drive-cdrom"))
        expect(!g_strcmp0(g_hash_table_lookup(kv, "file"), p->cdrom), "cdrom file= differs", opt);
    if (!g_strcmp0(flag, "-chardev") && !g_strcmp0(id, "serial0"))
        expect(!g_strcmp0(g_hash_table_lookup(kv, "logfile"), p->serial_log),
               "serial logfile= differs", opt);
    if (!g_strcmp0(flag, "-name"))
        expect(!g_strcmp0(g_hash_table_lookup(kv, "guest"), p->name), "guest= differs", opt);
    g_hash_table_unref(kv);
}

/* export --format proxmox must parse back, as Proxmox reads it, to the
 * profile's values: one "key: value" per line, no key twice, each disk's
 * volume (the first property) its file, args: split like a shell line. */
static void check_proxmox(const Profile *p)
{
    char *lost = NULL;
    GError *err = NULL;
    char *conf = export_proxmox(p, "tcg", &lost, &err);
    g_free(lost);
    if (!conf) { /* refused, with the reason */
        expect(err != NULL, "proxmox export failed without a reason", "");
        g_error_free(err);
        return;
    }
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char **lines = g_strsplit(conf, "\n", -1);
    guint disk = 0;
    for (gsize i = 0; lines[i]; i++) {
        const char *l = lines[i], *colon = strchr(l, ':');
        if (!*l || *l == '#')
            continue;
        expect(colon && colon[1] == ' ', "a line that is not key: value", l);
        char *key = g_strndup(l, (gsize)(colon - l));
        for (const char *c = key; *c; c++)
            expect(g_ascii_isalnum(*c), "a key with other characters", l);
        expect(g_hash_table_add(seen, key), "a key twice", l);
        const char *val = colon + 2;
        if (g_str_has_prefix(l, "virtio") || g_str_has_prefix(l, "sata")) {
            const ProfileDisk *d = disk < p->disks->len ? p->disks->pdata[disk++] : NULL;
            expect(d && strlen(val) >= strlen(d->file) && !strncmp(val, d->file, strlen(d->file)) &&
                       (val[strlen(d->file)] == ',' || !val[strlen(d->file)]),
                   "a disk volume other than its file", l);
        }
        if (!strcmp(key, "name"))
            expect(!strcmp(val, p->name), "name differs", l);
        if (!strcmp(key, "args")) {
            char **a = NULL;
            expect(g_shell_parse_argv(val, NULL, &a, NULL), "args: does not split", l);
            gsize k = 0;
            expect(!g_strcmp0(a[k++], "-kernel") && !g_strcmp0(a[k++], p->kernel),
                   "-kernel differs", l);
            if (p->initrd)
                expect(!g_strcmp0(a[k++], "-initrd") && !g_strcmp0(a[k++], p->initrd),
                       "-initrd differs", l);
            if (p->append)
                expect(!g_strcmp0(a[k++], "-append") && !g_strcmp0(a[k++], p->append),
                       "-append differs", l);
            expect(a[k] == NULL, "args: has more than the profile's", l);
            g_strfreev(a);
        }
    }
    expect(disk == p->disks->len, "a disk missing", conf);
    g_strfreev(lines);
    g_hash_table_unref(seen);
    g_free(conf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProfileEnv env = { .guest_dir = "/guest", .state_base = "/state" };
    Profile *p = profile_load_data("/fuzz/vm.ini", (const char *)data, size, &env, NULL);
    if (!p)
        return 0;
    CmdlineOpts o = { .qemu = "q", .runtime_dir = "/run/x", .accel = "tcg", .daemonize = TRUE };
    char **argv = cmdline_build(p, &o);
    guint n_drive = 0;
    for (gsize i = 1; argv[i]; i++) {
        const char *flag = argv[i - 1];
        if (!strcmp(flag, "-drive") || !strcmp(flag, "-netdev") || !strcmp(flag, "-chardev") ||
            !strcmp(flag, "-device") || !strcmp(flag, "-name") || !strcmp(flag, "-machine"))
            check_option(p, flag, argv[i]);
        if (!strcmp(flag, "-drive"))
            n_drive++;
        if (!strcmp(flag, "-append"))
            expect(!g_strcmp0(argv[i], p->append), "-append differs", argv[i]);
        if (!strcmp(flag, "-kernel"))
            expect(!g_strcmp0(argv[i], p->kernel), "-kernel differs", argv[i]);
    }
    expect(n_drive == p->disks->len + (p->cdrom ? 1 : 0), "drives missing or extra", "");
    check_proxmox(p);
    g_strfreev(argv);
    profile_free(p);
    return 0;
}
