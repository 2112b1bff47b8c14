/* qlaunch cmdline (print the QEMU argv) and doctor (what this host can run). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "accel.h"
#include "cli.h"
#include "cmdline.h"
#include "commands.h"
#include "proc.h"

int cmd_cmdline(int argc, char **argv)
{
    char *accel_opt = NULL;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        { "accel", 0, 0, G_OPTION_ARG_STRING, &accel_opt,
          "Show the argv for this accelerator (kvm|tcg) instead of probing", "A" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the argv as a JSON array", NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries, "PROFILE|NAME",
                   "Print the QEMU command line a profile "
                   "gives; start nothing.",
                   1, 1))
        return EXIT_USAGE;
    g_autofree char *accel_arg = accel_opt;
    if (accel_arg && strcmp(accel_arg, "kvm") && strcmp(accel_arg, "tcg")) {
        fprintf(stderr, "qlaunch cmdline: --accel takes kvm or tcg\n");
        return EXIT_USAGE;
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = cli_load_profile(argv[1], &err);
    if (!p)
        return cli_fail(err);
    g_autofree char *accel = NULL, *reason = NULL;
    if (accel_arg) {
        accel = g_strdup(accel_arg);
    } else {
        /* Only a cached probe answer: printing an argv must not boot a VM. */
        KvmFacts f = { 0 };
        g_autofree char *cache = vm_cache_file();
        accel_gather(&f);
        accel_probe(&f, qlaunch_qemu_binary(), "", cache, 0);
        if (!accel_decide(p->accel, &f, TRUE, &accel, &reason))
            accel = g_strdup("kvm");
        kvm_facts_clear(&f);
    }
    g_autoptr(VmPaths) v = vm_paths_new(p->name);
    CmdlineOpts o = {
        .qemu = qlaunch_qemu_binary(), .runtime_dir = v->dir, .accel = accel, .daemonize = TRUE
    };
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
    if (proc_run(argv, 10000, &out, &status, NULL) && status == 0) {
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

static void check_kvm(Doctor *d, gboolean probe)
{
    KvmFacts f = { 0 };
    accel_gather(&f);
    g_autofree char *guest = vm_guest_dir(), *cache = vm_cache_file();
    accel_probe(&f, qlaunch_qemu_binary(), guest, cache, probe ? 20000 : 0);
    g_autofree char *facts = g_strdup_printf("/dev/kvm %s; opens %s; CREATE_VM %s; vmx/svm %s; "
                                             "kvm_pvm %s; probe %s%s%s",
                                             f.dev_exists ? "present" : "absent",
                                             f.dev_opens ? "yes" : "no", f.create_vm ? "yes" : "no",
                                             f.hw_flag ? "yes" : "no", f.pvm ? "loaded" : "no",
                                             f.probe == 1   ? "passed"
                                             : f.probe == 0 ? "failed"
                                                            : "not run",
                                             f.detail ? ": " : "", f.detail ? f.detail : "");
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
}

int cmd_doctor(int argc, char **argv)
{
    gboolean json = FALSE, no_probe = FALSE;
    GOptionEntry entries[] = { { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
                               { "no-probe", 0, 0, G_OPTION_ARG_NONE, &no_probe,
                                 "Do not boot a probe guest under KVM", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries, "", "Check what this host can run and why.", 0, 0))
        return EXIT_USAGE;
    Doctor d = { .checks = json_array() };
    check_tools(&d);
    check_kvm(&d, !no_probe);
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
