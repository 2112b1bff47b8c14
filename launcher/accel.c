/* Accelerator choice. /dev/kvm existing is not enough: on nested hosts it
 * can be a software hypervisor (kvm_pvm) under which a stock guest hangs at
 * its first exception, so KVM counts only once a real guest booted on it. */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_MARKER "qlaunch-guest: init started"

void kvm_facts_clear(KvmFacts *f)
{
    g_free(f->detail);
    memset(f, 0, sizeof(*f));
}

static gboolean cpuinfo_has_virt_flag(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL))
        return FALSE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (gsize i = 0; lines[i]; i++) {
        if (!g_str_has_prefix(lines[i], "flags"))
            continue;
        g_auto(GStrv) words = g_strsplit_set(lines[i], " \t", -1);
        return g_strv_contains((const char *const *)words, "vmx") ||
               g_strv_contains((const char *const *)words, "svm");
    }
    return FALSE;
}

void accel_gather(KvmFacts *f)
{
    kvm_facts_clear(f);
    f->probe = -1;
    f->hw_flag = cpuinfo_has_virt_flag();
    f->pvm = g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_EXISTS);
    f->dev_exists = g_file_test("/dev/kvm", G_FILE_TEST_EXISTS);
    if (!f->dev_exists)
        return;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        f->detail = g_strdup_printf("/dev/kvm: %s (add yourself to group kvm)", g_strerror(errno));
        return;
    }
    f->dev_opens = TRUE;
    f->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
    int vm = ioctl(fd, KVM_CREATE_VM, 0);
    if (vm >= 0) {
        f->create_vm = TRUE;
        close(vm);
    }
    close(fd);
}

gboolean accel_kvm_usable(const KvmFacts *f, char **why)
{
    const char *r = NULL;
    if (!f->dev_exists)
        r = "/dev/kvm does not exist: no KVM module loaded, or no hardware virtualization";
    else if (!f->dev_opens)
        r = f->detail ? f->detail : "/dev/kvm cannot be opened";
    else if (f->api_version != KVM_API_VERSION)
        r = "/dev/kvm answers with an unexpected API version";
    else if (!f->create_vm)
        r = "KVM_CREATE_VM failed";
    else if (f->probe == 0)
        r = f->detail ? f->detail : "a guest did not boot under KVM";
    else if (f->probe < 0 && (f->pvm || !f->hw_flag))
        r = f->pvm ? "/dev/kvm is kvm_pvm, a software hypervisor that stock guests hang under, and "
                     "the probe could not run"
                   : "no vmx/svm CPU flag and the probe could not run";
    if (r) {
        *why = g_strdup(r);
        return FALSE;
    }
    *why = g_strdup(f->probe == 1 ? "the embedded guest booted under KVM (probe passed)"
                                  : "/dev/kvm works and the CPU has vmx/svm (probe not run)");
    return TRUE;
}

gboolean accel_decide(AccelChoice want, const KvmFacts *f, gboolean force, char **accel,
                      char **reason)
{
    g_autofree char *why = NULL;
    gboolean kvm_ok = want == ACCEL_TCG ? FALSE : accel_kvm_usable(f, &why);
    switch (want) {
    case ACCEL_TCG:
        *accel = g_strdup("tcg");
        *reason = g_strdup("accel=tcg in the profile");
        return TRUE;
    case ACCEL_KVM:
        if (!kvm_ok && !force) {
            *accel = NULL;
            *reason = g_strdup_printf("accel=kvm, but KVM does not run guests here: %s "
                                      "(use accel=auto or accel=tcg, or --force to try anyway)",
                                      why);
            return FALSE;
        }
        *accel = g_strdup("kvm");
        *reason = kvm_ok ? g_strdup_printf("accel=kvm in the profile; %s", why)
                         : g_strdup_printf("accel=kvm forced although %s", why);
        return TRUE;
    case ACCEL_AUTO:
    default:
        *accel = g_strdup(kvm_ok ? "kvm" : "tcg");
        *reason = kvm_ok ? g_strdup_printf("auto: %s", why)
                         : g_strdup_printf("auto: KVM not usable (%s); using TCG", why);
        return TRUE;
    }
}

static char *boot_id(void)
{
    char *id = NULL;
    if (!g_file_get_contents("/proc/sys/kernel/random/boot_id", &id, NULL, NULL))
        return g_strdup("unknown");
    return g_strstrip(id);
}

/* Cache format: "BOOT_ID\nRESULT\nDETAIL\n". */
static gboolean probe_cached(KvmFacts *f, const char *cache_file)
{
    g_autofree char *text = NULL, *id = boot_id();
    if (!cache_file || !g_file_get_contents(cache_file, &text, NULL, NULL))
        return FALSE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", 4);
    if (g_strv_length(lines) < 3 || strcmp(lines[0], id) != 0)
        return FALSE;
    f->probe = lines[1][0] == '1' ? 1 : 0;
    g_free(f->detail);
    f->detail = g_strdup_printf("%s (cached for this host boot)", lines[2]);
    return TRUE;
}

static void probe_store(const KvmFacts *f, const char *cache_file)
{
    if (!cache_file)
        return;
    g_autofree char *dir = g_path_get_dirname(cache_file), *id = boot_id();
    g_mkdir_with_parents(dir, 0700);
    g_autofree char *text =
        g_strdup_printf("%s\n%d\n%s\n", id, f->probe, f->detail ? f->detail : "");
    g_file_set_contents(cache_file, text, -1, NULL);
}

/* Reads the child's output until the marker shows or the deadline passes. */
static gboolean wait_marker(int fd, gint64 deadline)
{
    g_autoptr(GString) seen = g_string_new(NULL);
    char buf[4096];
    while (g_get_monotonic_time() < deadline) {
        int left = (int)((deadline - g_get_monotonic_time()) / 1000) + 1;
        GPollFD p = { .fd = fd, .events = G_IO_IN };
        if (g_poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            return FALSE; /* QEMU exited */
        g_string_append_len(seen, buf, n);
        if (strstr(seen->str, PROBE_MARKER))
            return TRUE;
        if (seen->len > 1 << 20)
            g_string_erase(seen, 0, (gssize)(seen->len - 4096));
    }
    return FALSE;
}

void accel_probe(KvmFacts *f, const char *qemu, const char *guest_dir, const char *cache_file,
                 gint64 timeout_ms)
{
    if (!f->create_vm || probe_cached(f, cache_file) || timeout_ms <= 0)
        return; /* timeout_ms 0: only a cached answer is wanted */
    g_autofree char *kernel = g_build_filename(guest_dir, "vmlinuz", NULL);
    g_autofree char *initrd = g_build_filename(guest_dir, "initrd.img", NULL);
    if (!g_file_test(kernel, G_FILE_TEST_EXISTS) || !g_file_test(initrd, G_FILE_TEST_EXISTS))
        return; /* probe stays -1: cannot run without the embedded guest */
    const char *argv[] = { qemu,       "-accel",      "kvm",
                           "-cpu",     "host",        "-m",
                           "256M",     "-nodefaults", "-no-user-config",
                           "-display", "none",        "-no-reboot",
                           "-kernel",  kernel,        "-initrd",
                           initrd,     "-append",     "console=ttyS0 quiet panic=-1 no_timer_check",
                           "-serial",  "stdio",       NULL };
    GPid pid;
    int out = -1;
    g_autoptr(GError) err = NULL;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL |
                                      G_SPAWN_STDIN_FROM_DEV_NULL,
                                  NULL, NULL, &pid, NULL, &out, NULL, &err)) {
        f->probe = 0;
        f->detail = g_strdup_printf("cannot run %s for the KVM probe: %s", qemu, err->message);
        return;
    }
    gint64 start = g_get_monotonic_time();
    gboolean ok = wait_marker(out, start + timeout_ms * G_TIME_SPAN_MILLISECOND);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(out);
    f->probe = ok ? 1 : 0;
    g_free(f->detail);
    f->detail =
        ok ? g_strdup_printf("the embedded guest booted under KVM in %.1f s",
                             (double)(g_get_monotonic_time() - start) / 1e6)
           : g_strdup_printf("the embedded guest did not reach its init under KVM within %.0f s "
                             "(a software or broken KVM%s)",
                             (double)timeout_ms / 1000, f->pvm ? ": kvm_pvm" : "");
    probe_store(f, cache_file);
}
