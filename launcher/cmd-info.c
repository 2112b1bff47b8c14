/* qlaunch cmdline (print the QEMU argv) and doctor (what this host can run). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "accel.h"
#include "cli.h"
#include "cmdline.h"
#include "commands.h"
#include "nat.h"
#include "proc.h"
#include "restore.h"

char *cli_preview_accel(const Profile *p, const char *accel_arg)
{
    if (accel_arg)
        return g_strdup(accel_arg);
    /* Only a cached probe answer: printing an argv must not boot a VM. */
    g_autofree char *accel = NULL, *reason = NULL;
    KvmFacts f = { 0 };
    g_autofree char *cache = vm_cache_file();
    accel_gather(&f);
    accel_probe(&f, qlaunch_qemu_binary(), cache, 0, NULL);
    if (!accel_decide(p->accel, &f, TRUE, &accel, &reason)) {
        g_clear_pointer(&accel, g_free);
        accel = g_strdup("kvm");
    }
    kvm_facts_clear(&f);
    return g_steal_pointer(&accel);
}

/* What start would refuse, said by cmdline too (which starts nothing). */
static void warn_missing(const Profile *p)
{
    const char *keys[] = { "kernel", "initrd", "cdrom" };
    const char *files[] = { p->kernel, p->initrd, p->cdrom };
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++)
        if (files[i] && !(i < 2 && p->iso_kernel) && /* those start takes out of the ISO */
            !g_file_test(files[i], G_FILE_TEST_IS_REGULAR))
            fprintf(stderr,
                    "qlaunch: warning: profile %s [boot] %s: %s does not exist (start "
                    "will refuse)\n",
                    p->path, keys[i], files[i]);
    for (guint i = 0; i < p->disks->len; i++) {
        const ProfileDisk *d = p->disks->pdata[i];
        if (!d->size && !g_file_test(d->file, G_FILE_TEST_EXISTS))
            fprintf(stderr,
                    "qlaunch: warning: profile %s [disk %s] file: %s does not exist and "
                    "has no size= (start will refuse)\n",
                    p->path, d->name, d->file);
    }
    g_autoptr(GError) err = NULL;
    if (!vm_memory_fits(p, &err))
        fprintf(stderr, "qlaunch: warning: %s (start will refuse)\n", err->message);
}

int cmd_cmdline(int argc, char **argv, GError **error)
{
    char *accel_opt = NULL;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        { "accel", 0, 0, G_OPTION_ARG_STRING, &accel_opt,
          "Show the argv for this accelerator (kvm|tcg) instead of probing", "A" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the argv as a JSON array", NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_autofree char *accel_arg = accel_opt;
    if (accel_arg && strcmp(accel_arg, "kvm") && strcmp(accel_arg, "tcg")) {
        fprintf(stderr, "qlaunch cmdline: --accel takes kvm or tcg\n");
        return EXIT_USAGE;
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = cli_load_profile(argv[1], &err);
    if (!p)
        return cli_fail(error, &err);
    cli_note_name(p);
    warn_missing(p);
    g_autofree char *accel = cli_preview_accel(p, accel_arg);
    g_autoptr(VmPaths) v = vm_paths_new(p->name);
    CmdlineOpts o = { .qemu = qlaunch_qemu_binary(),
                      .runtime_dir = v->dir,
                      .accel = accel,
                      .daemonize = TRUE,
                      .io_uring = qlaunch_disks_io_uring(p),
                      .loadvm = p->restore,
                      /* as start runs it: -S, then the load job */
                      .loadvm_paused = p->restore && !restore_by_loadvm(p) };
    g_auto(GStrv) args = cmdline_build(p, &o);
    if (json) {
        json_auto_t *arr = json_array();
        for (gsize i = 0; args[i]; i++)
            json_array_append_new(arr, json_string(args[i]));
        cli_print_json(arr);
    } else {
        g_autofree char *line = cmdline_to_string((const char *const *)args);
        printf("%s\n", line);
    }
    return EXIT_OK;
}

typedef struct {
    json_t *checks;
    int worst; /* 0 OK, 1 WARN, 2 FAIL */
} Doctor;

static void check(Doctor *d, int level, const char *what, const char *detail, const char *fix)
{
    static const char *const names[] = { "OK", "WARN", "FAIL" };
    json_array_append_new(d->checks, json_pack("{s:s, s:s, s:s, s:s?}", "check", what, "result",
                                               names[level], "detail", detail, "fix", fix));
    d->worst = MAX(d->worst, level);
}

static void check_tools(Doctor *d)
{
    const char *qemu = qlaunch_qemu_binary();
    const char *argv[] = { qemu, "--version", NULL };
    g_autofree char *out = NULL;
    int status = 0;
    if (proc_run_quiet(argv, 10000, &out, &status, NULL) && status == 0) {
        char *nl = strchr(out, '\n');
        if (nl)
            *nl = '\0';
        check(d, 0, "qemu", out, NULL);
    } else {
        check(d, 2, "qemu", "qemu-system-x86_64 does not run", "apt-get install qemu-system-x86");
    }
    g_autofree char *img = g_find_program_in_path("qemu-img");
    check(d, img ? 0 : 2, "qemu-img", img ? img : "not found",
          img ? NULL : "apt-get install qemu-utils");
    g_autofree char *guest = vm_guest_dir();
    g_autofree char *kernel = g_build_filename(guest, "vmlinuz", NULL);
    gboolean built = g_file_test(kernel, G_FILE_TEST_EXISTS);
    check(d, built ? 0 : 1, "embedded guest", guest, built ? NULL : "make guest");
}

static gboolean check_kvm(Doctor *d, gboolean probe)
{
    KvmFacts f = { 0 };
    accel_gather(&f);
    g_autofree char *cache = vm_cache_file();
    proc_catch_interrupts(TRUE);
    accel_probe(&f, qlaunch_qemu_binary(), cache, probe ? ACCEL_PROBE_TIMEOUT_MS : 0,
                &proc_interrupted);
    proc_catch_interrupts(FALSE);
    g_autofree char *when = NULL;
    if (f.probe >= 0) {
        g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(f.probed_at);
        g_autofree char *at = t ? g_date_time_format(t, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
        when = g_strdup_printf(" [probe took %.2f s%s%s; %s%s]", f.probe_secs,
                               f.cpu ? " with -cpu " : "", f.cpu ? f.cpu : "",
                               f.cached ? "cached at " : "run just now", f.cached ? at : "");
    }
    g_autofree char *facts = g_strdup_printf(
        "/dev/kvm %s; opens %s; CREATE_VM %s; vmx/svm %s; "
        "kvm_pvm %s; probe %s%s%s%s",
        f.dev_exists ? "present" : "absent", f.dev_opens ? "yes" : "no", f.create_vm ? "yes" : "no",
        f.hw_flag ? "yes" : "no", f.pvm ? "loaded" : "no",
        f.probe == 1   ? "passed"
        : f.probe == 0 ? "failed"
                       : "not run",
        f.detail ? ": " : "", f.detail ? f.detail : "", when ? when : "");
    g_autofree char *why = NULL, *accel = NULL, *reason = NULL;
    gboolean ok = accel_kvm_usable(&f, &why);
    check(d, ok ? 0 : 1, "kvm", facts,
          ok ? NULL
             : "VMs run on TCG (slower); on a host with "
               "VT-x/AMD-V load kvm_intel or kvm_amd");
    accel_decide(ACCEL_AUTO, &f, FALSE, &accel, &reason);
    g_autofree char *choice = g_strdup_printf("%s (%s)", accel, reason);
    check(d, 0, "accel=auto", choice, NULL);
    kvm_facts_clear(&f);
    return ok;
}

/* The hypervisor's CPUID signature (leaf 0x40000000), e.g. "KVMKVMKVM",
 * "VBoxVBoxVBox", "Microsoft Hv"; NULL on bare metal. */
static char *hypervisor_signature(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, dd;
    __cpuid(1, a, b, c, dd);
    if (!(c & (1u << 31)))
        return NULL;
    __cpuid(0x40000000, a, b, c, dd);
    char sig[13] = { 0 };
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &dd, 4);
    return g_strstrip(g_strdup(sig));
#else
    return NULL;
#endif
}

/* The host itself: bare metal, or a VM (nested labs: VirtualBox, KVM...). */
static void check_host(Doctor *d, gboolean kvm_ok)
{
    g_autofree char *cpuinfo = NULL, *vendor = NULL, *product = NULL;
    g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL);
    gboolean nested = cpuinfo && strstr(cpuinfo, " hypervisor");
    g_file_get_contents("/sys/class/dmi/id/sys_vendor", &vendor, NULL, NULL);
    g_file_get_contents("/sys/class/dmi/id/product_name", &product, NULL, NULL);
    g_autofree char *sig = hypervisor_signature();
    nested = nested || sig;
    g_autofree char *what = g_strdup_printf(
        "%s%s%s%s%s%s%s", nested ? "a virtual machine" : "no hypervisor flag (bare metal?)",
        sig ? ", hypervisor " : "", sig ? sig : "", vendor ? ": " : "",
        vendor ? g_strstrip(vendor) : "", product ? " " : "", product ? g_strstrip(product) : "");
    check(d, nested && !kvm_ok ? 1 : 0, "host", what,
          nested && !kvm_ok ? "nested KVM needs nested virtualization enabled in the outer "
                              "hypervisor (VirtualBox: Nested VT-x/AMD-V); until then TCG"
                            : NULL);
}

static void check_qemu_features(Doctor *d)
{
    const char *argv[] = { qlaunch_qemu_binary(), "-netdev", "help", NULL };
    g_autofree char *out = NULL;
    int status = 0;
    if (!proc_run_quiet(argv, 10000, &out, &status, NULL) || status != 0)
        return;
    gboolean slirp = strstr(out, "\nuser") != NULL;
    const char *colon = strchr(out, ':'); /* "Available netdev backend types:" */
    g_autofree char *list = g_strdelimit(g_strstrip(g_strdup(colon ? colon + 1 : out)), "\n", ' ');
    check(d, slirp ? 0 : 1, "qemu netdevs", list,
          slirp ? NULL : "this QEMU has no user-mode networking (slirp): use mode=socket or tap");
    gboolean uring = qlaunch_qemu_io_uring();
    check(d, uring ? 0 : 1, "io_uring",
          uring ? "QEMU opens disks with aio=io_uring: [disk] aio=auto uses it"
                : "QEMU cannot open a disk with aio=io_uring here (a seccomp filter, "
                  "kernel.io_uring_disabled, or a QEMU built without it)",
          uring ? NULL
                : "aio=auto disks use QEMU's thread pool (start --restore loads the VM state "
                  "more slowly)");
    gboolean vhost = access("/dev/vhost-net", R_OK | W_OK) == 0;
    check(d, vhost ? 0 : 1, "vhost-net",
          vhost ? "/dev/vhost-net usable" : "/dev/vhost-net absent or not writable",
          vhost ? NULL : "modprobe vhost_net (taps work without it, more slowly)");
}

static void check_networking(Doctor *d)
{
    g_autofree char *why = nat_privilege_problem("mode=tap and qlaunch net");
    gboolean tun = access("/dev/net/tun", R_OK | W_OK) == 0;
    check(d, !why && tun ? 0 : 1, "tap and bridge",
          why   ? why
          : tun ? "CAP_NET_ADMIN and /dev/net/tun: mode=tap and qlaunch net available"
                : "/dev/net/tun cannot be opened",
          why   ? "user and socket networking need none of this"
          : tun ? NULL
                : "modprobe tun");
    const char *tools[][2] = { { "ip", "iproute2" },
                               { "nft", "nftables" },
                               { "dnsmasq", "dnsmasq-base" } };
    for (gsize i = 0; i < G_N_ELEMENTS(tools); i++) {
        g_autoptr(GError) e = NULL;
        g_autofree char *path = nat_find_tool(tools[i][0], tools[i][1], &e);
        g_autofree char *fix =
            path ? NULL
                 : g_strdup_printf("apt-get install %s (needed by qlaunch net)", tools[i][1]);
        check(d, path ? 0 : 1, tools[i][0], path ? path : e->message, fix);
    }
}

static void check_cgroups(Doctor *d)
{
    g_autofree char *v2 = NULL;
    g_file_get_contents("/sys/fs/cgroup/cgroup.controllers", &v2, NULL, NULL);
    gboolean v2cpu = v2 && strstr(v2, "cpu") != NULL, v2mem = v2 && strstr(v2, "memory") != NULL;
    gboolean v1cpu = g_file_test("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", G_FILE_TEST_EXISTS);
    gboolean v1mem = g_file_test("/sys/fs/cgroup/memory/memory.limit_in_bytes", G_FILE_TEST_EXISTS);
    g_autofree char *detail = g_strdup_printf("cpu: %s; memory: %s",
                                              v2cpu   ? "v2"
                                              : v1cpu ? "v1"
                                                      : "none",
                                              v2mem   ? "v2"
                                              : v1mem ? "v1"
                                                      : "none");
    gboolean ok = (v2cpu || v1cpu) && (v2mem || v1mem);
    check(d, ok ? 0 : 1, "cgroups", detail,
          ok ? NULL : "cpu-limit= and memory-limit= need the cpu and memory controllers");
    const char *bench[][2] = { { "sysbench", "sysbench" }, { "gnuplot", "gnuplot-nox" } };
    for (gsize i = 0; i < G_N_ELEMENTS(bench); i++) {
        g_autofree char *path = g_find_program_in_path(bench[i][0]);
        g_autofree char *fix =
            path ? NULL : g_strdup_printf("apt-get install %s (qlaunch bench)", bench[i][1]);
        check(d, path ? 0 : 1, bench[i][0], path ? path : "not found", fix);
    }
}

int cmd_doctor(int argc, char **argv, GError **error)
{
    (void)error; /* reports its own output; no failure to hand back */
    gboolean json = FALSE, no_probe = FALSE;
    GOptionEntry entries[] = { { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
                               { "no-probe", 0, 0, G_OPTION_ARG_NONE, &no_probe,
                                 "Do not boot a probe guest under KVM", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    Doctor d = { .checks = json_array() };
    check_tools(&d);
    gboolean kvm_ok = check_kvm(&d, !no_probe);
    check_host(&d, kvm_ok);
    check_qemu_features(&d);
    check_networking(&d);
    check_cgroups(&d);
    g_autofree char *base = vm_runtime_base();
    g_autoptr(VmPaths) v = vm_paths_new("doctor-check");
    g_autoptr(GError) err = NULL;
    gboolean rt = vm_runtime_prepare(v, &err);
    if (rt)
        rmdir(v->dir);
    check(&d, rt ? 0 : 2, "runtime dir", rt ? base : err->message,
          rt ? NULL : "set QLAUNCH_RUNTIME_DIR");
    if (json) {
        cli_print_json(d.checks);
    } else {
        size_t i;
        json_t *c;
        json_array_foreach(d.checks, i, c)
        {
            const char *fix = json_string_value(json_object_get(c, "fix"));
            printf("%-5s %-15s %s%s%s\n", json_string_value(json_object_get(c, "result")),
                   json_string_value(json_object_get(c, "check")),
                   json_string_value(json_object_get(c, "detail")),
                   fix ? "\n                      -> " : "", fix ? fix : "");
        }
    }
    json_decref(d.checks);
    return d.worst == 2 ? EXIT_FAIL : EXIT_OK;
}
