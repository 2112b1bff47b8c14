/* libFuzzer target: the argv builder. Every profile that loads must give
 * an argv whose key=value options parse back (QEMU's rules: ",," is a
 * comma) to exactly the profile's values, with no key twice: nothing a
 * profile says can add an option of its own. Abort on any mismatch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../launcher/cmdline.h"
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
    g_strfreev(argv);
    profile_free(p);
    return 0;
}
