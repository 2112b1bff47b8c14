/* Accelerator choice. /dev/kvm existing is not enough: on nested hosts it
 * can be a software hypervisor (kvm_pvm) under which a stock guest hangs at
 * its first exception, so KVM counts only once a real guest booted on it. */
#include "accel.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm-probe.h" /* kvm_probe_image[]: launcher/kvm-probe.S, built by make */

#define PROBE_MARKER "qlaunch-kvm-probe: exceptions and interrupts work"
#define CACHE_MAGIC "qlaunch-kvm-probe 2"

void kvm_facts_clear(KvmFacts *f)
{
    g_free(f->detail);
    g_free(f->cpu);
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
    *why = f->probe == 1 ? g_strdup_printf("probe passed: %s", f->detail ? f->detail : "")
                         : g_strdup("/dev/kvm works and the CPU has vmx/svm (probe not run)");
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

char *accel_boot_id(void)
{
    char *id = NULL;
    if (!g_file_get_contents("/proc/sys/kernel/random/boot_id", &id, NULL, NULL))
        return g_strdup("unknown");
    return g_strstrip(id);
}

/* What the answer depends on besides the boot: the QEMU binary (an upgrade
 * re-probes) and the probe image. */
static char *probe_key(const char *qemu)
{
    GStatBuf st = { 0 };
    g_autofree char *id = accel_boot_id();
    g_autofree char *img =
        g_compute_checksum_for_data(G_CHECKSUM_SHA256, kvm_probe_image, sizeof kvm_probe_image);
    if (g_stat(qemu, &st) != 0)
        return g_strdup_printf("%s %s missing %.12s", id, qemu, img);
    return g_strdup_printf("%s %s %lld %lld %.12s", id, qemu, (long long)st.st_size,
                           (long long)st.st_mtime, img);
}

/* Cache format: MAGIC\nKEY\nRESULT\nCPU\nSECONDS\nWHEN\nDETAIL\n */
static gboolean probe_cached(KvmFacts *f, const char *qemu, const char *cache_file)
{
    g_autofree char *text = NULL, *key = probe_key(qemu);
    if (!cache_file || !g_file_get_contents(cache_file, &text, NULL, NULL))
        return FALSE;
    g_auto(GStrv) l = g_strsplit(text, "\n", 8);
    if (g_strv_length(l) < 7 || strcmp(l[0], CACHE_MAGIC) != 0 || strcmp(l[1], key) != 0)
        return FALSE;
    f->probe = l[2][0] == '1' ? 1 : 0;
    g_free(f->cpu);
    f->cpu = *l[3] ? g_strdup(l[3]) : NULL;
    f->probe_secs = g_ascii_strtod(l[4], NULL);
    f->probed_at = g_ascii_strtoll(l[5], NULL, 10);
    f->cached = TRUE;
    g_free(f->detail);
    f->detail = g_strdup_printf("%s (cached for this host boot and QEMU)", l[6]);
    return TRUE;
}

static void probe_store(const KvmFacts *f, const char *qemu, const char *cache_file)
{
    if (!cache_file)
        return;
    g_autofree char *dir = g_path_get_dirname(cache_file), *key = probe_key(qemu);
    g_mkdir_with_parents(dir, 0700);
    char secs[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(secs, sizeof secs, "%.3f", f->probe_secs);
    g_autofree char *detail = g_strdelimit(g_strdup(f->detail ? f->detail : ""), "\n", ' ');
    g_autofree char *text =
        g_strdup_printf("%s\n%s\n%d\n%s\n%s\n%lld\n%s\n", CACHE_MAGIC, key, f->probe,
                        f->cpu ? f->cpu : "", secs, (long long)f->probed_at, detail);
    g_file_set_contents(cache_file, text, -1, NULL);
}

typedef enum { RUN_PASSED, RUN_EXITED, RUN_KVM_ERROR, RUN_HUNG, RUN_INTERRUPTED } ProbeRun;

/* Reads QEMU's serial and stderr until the marker, a KVM error, its exit,
 * the deadline or *stop; *last gets QEMU's last line of output. */
static ProbeRun wait_marker(int fd, gint64 deadline, const volatile sig_atomic_t *stop, char **last)
{
    g_autoptr(GString) seen = g_string_new(NULL);
    char buf[4096];
    ProbeRun r = RUN_HUNG;
    while (g_get_monotonic_time() < deadline) {
        if (stop && *stop) {
            r = RUN_INTERRUPTED;
            break;
        }
        GPollFD p = { .fd = fd, .events = G_IO_IN };
        if (g_poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            r = RUN_EXITED;
            break;
        }
        g_string_append_len(seen, buf, n);
        if (strstr(seen->str, PROBE_MARKER)) {
            r = RUN_PASSED;
            break;
        }
        if (strstr(seen->str, "KVM internal error") || strstr(seen->str, "emulation failure")) {
            r = RUN_KVM_ERROR;
            break;
        }
        if (seen->len > 1 << 16)
            g_string_erase(seen, 0, (gssize)(seen->len - 4096));
    }
    /* QEMU's own error line (e.g. "failed to set MSR 0x10a") says more
     * than the assertion after it */
    g_strchomp(seen->str);
    const char *err = strstr(seen->str, "error: ");
    const char *nl = strrchr(seen->str, '\n');
    if (err)
        *last = g_strndup(err, strcspn(err, "\n"));
    else
        *last = g_strdup(nl ? nl + 1 : seen->str);
    return r;
}

/* The probe QEMU gets its own process group: a Ctrl-C at the terminal
 * reaches qlaunch alone, which kills the probe and caches nothing. */
static void probe_child_setup(gpointer data)
{
    (void)data;
    setpgid(0, 0);
    dup2(1, 2);
}

static ProbeRun probe_one(const char *qemu, const char *image, const char *cpu, gint64 timeout_ms,
                          const volatile sig_atomic_t *stop, char **what)
{
    const char *argv[] = { qemu,
                           "-accel",
                           "kvm",
                           "-cpu",
                           cpu,
                           "-m",
                           "32M",
                           "-nodefaults",
                           "-no-user-config",
                           "-display",
                           "none",
                           "-no-reboot",
                           "-device",
                           "isa-debug-exit,iobase=0xf4,iosize=4",
                           "-serial",
                           "stdio",
                           "-kernel",
                           image,
                           NULL };
    GPid pid;
    int out = -1;
    g_autoptr(GError) err = NULL;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
                                  probe_child_setup, NULL, &pid, NULL, &out, NULL, &err)) {
        *what = g_strdup_printf("cannot run %s: %s", qemu, err->message);
        return RUN_EXITED;
    }
    gint64 t0 = g_get_monotonic_time();
    g_autofree char *last = NULL;
    ProbeRun r = wait_marker(out, t0 + timeout_ms * G_TIME_SPAN_MILLISECOND, stop, &last);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(out);
    switch (r) {
    case RUN_PASSED: *what = g_strdup_printf("%.2f s", secs); break;
    case RUN_EXITED:
        *what = g_strdup_printf("QEMU exited after %.2f s: %s", secs, *last ? last : "no output");
        break;
    case RUN_KVM_ERROR:
        *what = g_strdup_printf("KVM internal error at the guest's first exception, after %.2f s",
                                secs);
        break;
    case RUN_HUNG: *what = g_strdup_printf("the guest hung (killed after %.1f s)", secs); break;
    case RUN_INTERRUPTED: *what = g_strdup("interrupted"); break;
    }
    return r;
}

/* The embedded image goes to a private temporary file beside the cache. */
static char *write_image(const char *cache_file, GError **error)
{
    g_autofree char *dir = cache_file ? g_path_get_dirname(cache_file) : g_strdup(g_get_tmp_dir());
    g_mkdir_with_parents(dir, 0700);
    g_autofree char *path = g_build_filename(dir, "kvm-probe-XXXXXX", NULL);
    int fd = g_mkstemp_full(path, O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
                    g_strerror(errno));
        return NULL;
    }
    gboolean ok =
        write(fd, kvm_probe_image, sizeof kvm_probe_image) == (ssize_t)sizeof kvm_probe_image;
    close(fd);
    if (!ok) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOSPC, "%s: short write", path);
        unlink(path);
        return NULL;
    }
    return g_steal_pointer(&path);
}

static const char *const probe_cpus[] = { "host", "host,-arch-capabilities", "qemu64" };

void accel_probe(KvmFacts *f, const char *qemu, const char *cache_file, gint64 timeout_ms,
                 const volatile sig_atomic_t *stop)
{
    if (!f->create_vm || probe_cached(f, qemu, cache_file) || timeout_ms <= 0)
        return; /* timeout_ms 0: only a cached answer is wanted */
    g_autoptr(GError) err = NULL;
    g_autofree char *image = write_image(cache_file, &err);
    if (!image) {
        g_free(f->detail);
        f->detail = g_strdup_printf("cannot write the probe image: %s", err->message);
        return; /* probe stays -1 */
    }
    g_autoptr(GString) tried = g_string_new(NULL);
    gint64 t0 = g_get_monotonic_time();
    ProbeRun r = RUN_EXITED;
    const char *cpu = NULL;
    /* The next model is tried when QEMU exited (-cpu host aborts on MSR
     * 0x10a under some nested KVMs that run guests fine) or the guest hung;
     * a KVM that failed to deliver an exception fails every model. */
    for (gsize i = 0; i < G_N_ELEMENTS(probe_cpus) && r != RUN_PASSED && r != RUN_KVM_ERROR; i++) {
        g_autofree char *what = NULL;
        cpu = probe_cpus[i];
        r = probe_one(qemu, image, cpu, timeout_ms, stop, &what);
        if (r == RUN_INTERRUPTED)
            break;
        g_string_append_printf(tried, "%s-cpu %s: %s", tried->len ? "; " : "", cpu, what);
    }
    unlink(image);
    g_free(f->detail);
    if (r == RUN_INTERRUPTED) {
        f->interrupted = TRUE; /* nothing cached: the next start probes again */
        f->detail = g_strdup("the KVM probe was interrupted");
        return;
    }
    f->probe_secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    f->probed_at = g_get_real_time() / G_USEC_PER_SEC;
    f->probe = r == RUN_PASSED ? 1 : 0;
    f->cpu = r == RUN_PASSED ? g_strdup(cpu) : NULL;
    f->detail = r == RUN_PASSED
                    ? g_strdup_printf("a guest took an exception and a timer interrupt in long "
                                      "mode under KVM (%s)",
                                      tried->str)
                    : g_strdup_printf("no CPU model ran the probe guest under KVM (%s)%s",
                                      tried->str, f->pvm ? "; /dev/kvm is kvm_pvm" : "");
    probe_store(f, qemu, cache_file);
}
