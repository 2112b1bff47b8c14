/* Argv builder: golden .ini -> .args files, and escaping that QEMU parses back. */
#include <string.h>

#include "../../launcher/cmdline.h"
#include "../../launcher/export.h"
#include "../qemu-opts.h"

#define GOLDEN SRCDIR "/tests/golden"

static const ProfileEnv env = { .guest_dir = "/guest", .state_base = "/state" };

static char *render(const char *ini)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(ini, &env, &err);
    g_assert_no_error(err);
    CmdlineOpts o = { .qemu = "qemu-system-x86_64",
                      .runtime_dir = "/run/qlaunch/vm",
                      .accel = "tcg",
                      .daemonize = TRUE,
                      .loadvm = p->restore };
    g_auto(GStrv) argv = cmdline_build(p, &o);
    g_autofree char *text = g_strjoinv("\n", argv);
    /* The profile's directory depends on the checkout: name it $DIR. */
    g_autoptr(GString) s = g_string_new(text);
    g_string_replace(s, GOLDEN, "$DIR", 0);
    g_string_append_c(s, '\n');
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static void test_golden(gconstpointer data)
{
    const char *ini = data;
    g_autofree char *got = render(ini);
    g_autofree char *stem = g_strndup(ini, strlen(ini) - strlen(".ini"));
    g_autofree char *args = g_strconcat(stem, ".args", NULL);
    if (g_getenv("QLAUNCH_UPDATE_GOLDEN"))
        g_assert_true(g_file_set_contents(args, got, -1, NULL));
    g_autofree char *want = NULL;
    g_assert_true(g_file_get_contents(args, &want, NULL, NULL));
    g_assert_cmpstr(got, ==, want);
}

static void test_comma_escaped(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(GOLDEN "/comma.ini", &env, &err);
    g_assert_no_error(err);
    CmdlineOpts o = { .qemu = "q", .runtime_dir = "/run/a,b", .accel = "tcg" };
    g_auto(GStrv) argv = cmdline_build(p, &o);
    gboolean seen_drive = FALSE, seen_chardev = FALSE;
    for (gsize i = 1; argv[i]; i++) {
        guint dups = 0;
        if (!strcmp(argv[i - 1], "-drive")) {
            g_autoptr(GHashTable) kv = qemu_opts_parse(argv[i], &dups);
            g_assert_cmpuint(dups, ==, 0);
            g_assert_cmpstr(g_hash_table_lookup(kv, "format"), ==, "qcow2");
            g_assert_cmpstr(g_hash_table_lookup(kv, "file"), ==, GOLDEN "/a,format=raw.qcow2");
            seen_drive = TRUE;
        }
        if (!strcmp(argv[i - 1], "-chardev") && strstr(argv[i], "serial0")) {
            g_autoptr(GHashTable) kv = qemu_opts_parse(argv[i], &dups);
            g_assert_cmpuint(dups, ==, 0);
            g_assert_cmpstr(g_hash_table_lookup(kv, "path"), ==, "/run/a,b/serial.sock");
            g_assert_cmpstr(g_hash_table_lookup(kv, "logfile"), ==, GOLDEN "/x,y.log");
            seen_chardev = TRUE;
        }
    }
    g_assert_true(seen_drive && seen_chardev);
}

static void test_escape(void)
{
    g_autofree char *a = cmdline_escape("a,b,,c");
    g_assert_cmpstr(a, ==, "a,,b,,,,c");
    g_autofree char *b = cmdline_escape("plain");
    g_assert_cmpstr(b, ==, "plain");
}

static void test_mac_and_cpu(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(GOLDEN "/tiny-like.ini", &env, &err);
    g_assert_no_error(err);
    ProfileNet *n = p->nets->pdata[0];
    g_autofree char *m1 = cmdline_nic_mac(p, n), *m2 = cmdline_nic_mac(p, n);
    g_assert_cmpstr(m1, ==, m2); /* stable */
    g_assert_true(g_str_has_prefix(m1, "52:54:00:"));
    g_free(p->name);
    p->name = g_strdup("other");
    g_autofree char *m3 = cmdline_nic_mac(p, n);
    g_assert_cmpstr(m1, !=, m3); /* differs per VM */
    g_assert_cmpstr(cmdline_cpu_model(p, "kvm"), ==, "host");
    g_assert_cmpstr(cmdline_cpu_model(p, "tcg"), ==, "max,-tsc-deadline");
}

/* A started VM's tap NICs use the fd qlaunch opened; the others keep theirs. */
static void test_tap_fd(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(GOLDEN "/net-opts.ini", &env, &err);
    g_assert_no_error(err);
    int fds[] = { -1, -1, 7, 9 }; /* [net u], [net l], [net t], [net b] */
    CmdlineOpts o = { .qemu = "q", .runtime_dir = "/r", .accel = "tcg", .tap_fds = fds };
    g_auto(GStrv) argv = cmdline_build(p, &o);
    g_autofree char *all = g_strjoinv(" ", argv);
    g_assert_nonnull(strstr(all, "-netdev tap,id=net-t,fd=7 "));
    g_assert_nonnull(strstr(all, "-netdev tap,id=net-b,fd=9 "));
    g_assert_nonnull(strstr(all, "-netdev user,id=net-u,"));
    g_assert_null(strstr(all, "ifname="));
}

/* A migration destination appends to the serial log; a fresh start truncates
 * it. pc/q35 machines get pvpanic (panic pauses the VM), others do not. */
static void test_incoming_and_panic(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(GOLDEN "/comma.ini", &env, &err);
    g_assert_no_error(err);
    for (int incoming = 0; incoming < 2; incoming++) {
        CmdlineOpts o = { .qemu = "q", .runtime_dir = "/r", .accel = "tcg", .incoming = incoming };
        g_auto(GStrv) argv = cmdline_build(p, &o);
        g_autofree char *all = g_strjoinv(" ", argv);
        g_assert_true((strstr(all, "x,,y.log,logappend=on ") != NULL) == incoming);
        g_assert_true((strstr(all, " -incoming defer") != NULL) == incoming);
        g_assert_nonnull(strstr(all, " -device pvpanic -action panic=pause "));
    }
    g_free(p->machine);
    p->machine = g_strdup("microvm");
    CmdlineOpts o = { .qemu = "q", .runtime_dir = "/r", .accel = "tcg" };
    g_auto(GStrv) argv = cmdline_build(p, &o);
    g_autofree char *all = g_strjoinv(" ", argv);
    g_assert_null(strstr(all, "pvpanic"));
}

/* aio=: auto disks get io_uring where QEMU runs it (o->io_uring), else no
 * aio= (QEMU's default); a disk's own aio= always goes through. */
static void test_disk_aio(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(SRCDIR "/tests/profiles/pass/full.ini", &env, &err);
    g_assert_no_error(err);
    ProfileDisk *a = p->disks->pdata[0];
    g_free(a->aio);
    a->aio = g_strdup("auto");
    for (int uring = 0; uring < 2; uring++) {
        CmdlineOpts o = { .qemu = "q", .runtime_dir = "/r", .accel = "tcg", .io_uring = uring };
        g_auto(GStrv) argv = cmdline_build(p, &o);
        guint n = 0;
        for (gsize i = 1; argv[i]; i++) {
            if (strcmp(argv[i - 1], "-drive") != 0 || !strstr(argv[i], "node-name=disk-"))
                continue;
            guint dups = 0;
            g_autoptr(GHashTable) kv = qemu_opts_parse(argv[i], &dups);
            g_assert_cmpuint(dups, ==, 0);
            const char *aio = g_hash_table_lookup(kv, "aio");
            if (n++ == 0)
                g_assert_cmpstr(aio, ==, uring ? "io_uring" : NULL);
            else
                g_assert_cmpstr(aio, ==, "native"); /* [disk b] aio=native, cache=none */
        }
        g_assert_cmpuint(n, ==, 2);
    }
    /* exports carry a given aio= and leave auto to the other manager */
    g_autofree char *lost = NULL, *lost2 = NULL;
    g_autofree char *xml = export_libvirt(p, "tcg", "/usr/bin/qemu-system-x86_64", &lost);
    g_autofree char *conf = export_proxmox(p, "tcg", &lost2, NULL);
    g_assert_nonnull(strstr(xml, "cache='none' io='native'/>"));
    g_assert_null(strstr(xml, "io='io_uring'"));
    g_assert_nonnull(strstr(conf, ",cache=none,aio=native\n"));
    g_assert_null(strstr(conf, "aio=io_uring"));
}

/* A start from a snapshot: -loadvm for cmdline and the foreground; qlaunch's
 * own start stops the vCPUs (-S) and loads it over QMP. Both take private
 * anonymous RAM. */
static void test_restore_paused(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(GOLDEN "/restore.ini", &env, &err);
    g_assert_no_error(err);
    g_assert_nonnull(p->restore);
    for (int paused = 0; paused < 2; paused++) {
        CmdlineOpts o = { .qemu = "q",
                          .runtime_dir = "/r",
                          .accel = "tcg",
                          .loadvm = p->restore,
                          .loadvm_paused = paused };
        g_auto(GStrv) argv = cmdline_build(p, &o);
        g_autofree char *joined = g_strjoinv(" ", argv);
        g_autofree char *all = g_strconcat(joined, " ", NULL);
        g_assert_true((strstr(all, " -loadvm ") != NULL) == !paused);
        g_assert_true((strstr(all, " -S ") != NULL) == paused);
        g_assert_nonnull(strstr(all, " memory-backend-ram,id=pc.ram,"));
    }
}

/* Guest RAM: a shared memfd named like QEMU's default RAM; a local
 * destination maps the source's; under the TCG workaround 8 KiB less. */
static void test_shared_ram(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(GOLDEN "/tiny-like.ini", &env, &err);
    g_assert_no_error(err);
    CmdlineOpts o = { .qemu = "q", .runtime_dir = "/r", .accel = "tcg" };
    g_auto(GStrv) a1 = cmdline_build(p, &o);
    g_autofree char *s1 = g_strjoinv(" ", a1);
    g_assert_nonnull(strstr(s1, " -machine q35,memory-backend=pc.ram "));
    g_assert_nonnull(
        strstr(s1, " -m 512M -object memory-backend-memfd,id=pc.ram,size=512M,share=on "));
    o.ram_trim = TRUE;
    o.ram_from = "/proc/12,3/fd/7";
    g_auto(GStrv) a2 = cmdline_build(p, &o);
    g_autofree char *s2 = g_strjoinv(" ", a2);
    g_assert_nonnull(strstr(s2, " -m 524280K -object memory-backend-file,id=pc.ram,size=524280K,"
                                "mem-path=/proc/12,,3/fd/7,share=on "));
    /* NUMA: every node's RAM block is 8 KiB short (an aligned first node
     * took the fast path and lost writes), -m their sum */
    const char *numa = "[vm]\nname=n\nmemory=512M\ncpus=2\nnuma=2\n[boot]\nkernel=/k\n";
    g_autoptr(Profile) q = profile_load_data("/t/n.ini", numa, strlen(numa), &env, &err);
    g_assert_no_error(err);
    CmdlineOpts on = { .qemu = "q", .runtime_dir = "/r", .accel = "tcg", .ram_trim = TRUE };
    g_auto(GStrv) a3 = cmdline_build(q, &on);
    g_autofree char *s3 = g_strjoinv(" ", a3);
    g_assert_nonnull(strstr(s3, " -m 524272K "));
    g_assert_nonnull(strstr(s3, "id=ram-node0,size=262136K,"));
    g_assert_nonnull(strstr(s3, "id=ram-node1,size=262136K,"));
    g_assert_cmpuint(cmdline_ram_trim_kib(q), ==, 16);
    g_assert_cmpuint(cmdline_ram_trim_kib(p), ==, 8);
}

/* A disk path with a comma cannot add options to a Proxmox volume, and
 * paths in args: are quoted (the config is refused, or says exactly this). */
static void test_proxmox_injection(void)
{
    const char *bad =
        "[vm]\nname=x\n[boot]\nkernel=/k\n[disk d]\nfile=/p/d,format=raw,file=/etc/shadow\n";
    g_autoptr(Profile) p = profile_load_data("/t/x.ini", bad, strlen(bad), &env, NULL);
    g_assert_nonnull(p);
    g_autofree char *lost = NULL;
    g_autoptr(GError) err = NULL;
    g_assert_null(export_proxmox(p, "tcg", &lost, &err));
    g_assert_nonnull(strstr(err->message, "[disk d] file"));
    const char *nl = "[vm]\nname=x\nmachine=q35\\nargs: -x\n[boot]\nkernel=/k\n";
    g_autoptr(Profile) q = profile_load_data("/t/x.ini", nl, strlen(nl), &env, NULL);
    g_autoptr(GError) e2 = NULL;
    g_autofree char *lost2 = NULL;
    g_assert_true(q == NULL || export_proxmox(q, "tcg", &lost2, &e2) == NULL);
    const char *sp = "[vm]\nname=x\n[boot]\nkernel=/my kernels/k;rm\ninitrd=/i\n";
    g_autoptr(Profile) r = profile_load_data("/t/x.ini", sp, strlen(sp), &env, NULL);
    g_assert_nonnull(r);
    g_autofree char *lost3 = NULL;
    g_autofree char *conf = export_proxmox(r, "tcg", &lost3, NULL);
    g_assert_nonnull(strstr(conf, "args: -kernel '/my kernels/k;rm' -initrd '/i'\n"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cmdline/tap-fd", test_tap_fd);
    const char *names[] = { "tiny-like",      "comma",      "cdrom",   "tcg-opts",
                            "net-opts",       "numa",       "restore", "install",
                            "serial-install", "cloud-init", "shares" };
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *tp = g_strdup_printf("/cmdline/golden/%s", names[i]);
        g_test_add_data_func_full(tp, g_strdup_printf(GOLDEN "/%s.ini", names[i]), test_golden,
                                  g_free);
    }
    g_test_add_func("/cmdline/comma-escaped", test_comma_escaped);
    g_test_add_func("/cmdline/escape", test_escape);
    g_test_add_func("/cmdline/mac-and-cpu", test_mac_and_cpu);
    g_test_add_func("/cmdline/incoming-and-panic", test_incoming_and_panic);
    g_test_add_func("/cmdline/shared-ram", test_shared_ram);
    g_test_add_func("/cmdline/restore-paused", test_restore_paused);
    g_test_add_func("/cmdline/disk-aio", test_disk_aio);
    g_test_add_func("/export/proxmox-injection", test_proxmox_injection);
    return g_test_run();
}
