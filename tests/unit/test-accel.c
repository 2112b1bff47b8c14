/* Accelerator decision from host facts: auto must not trust a KVM that does not run guests. */
#include <string.h>
#include <unistd.h>

#include "../../launcher/accel.h"

/* What this kind of nested host shows: /dev/kvm works at the ioctl level,
 * no vmx/svm, kvm_pvm loaded, and the guest probe hung. */
static KvmFacts pvm_host(void)
{
    return (KvmFacts){ .dev_exists = TRUE,
                       .dev_opens = TRUE,
                       .api_version = 12,
                       .create_vm = TRUE,
                       .hw_flag = FALSE,
                       .pvm = TRUE,
                       .probe = 0,
                       .detail = (char *)"the embedded guest did not reach its init under KVM" };
}

static KvmFacts good_host(void)
{
    return (KvmFacts){ .dev_exists = TRUE,
                       .dev_opens = TRUE,
                       .api_version = 12,
                       .create_vm = TRUE,
                       .hw_flag = TRUE,
                       .probe = 1 };
}

static void test_auto_falls_back_on_pvm(void)
{
    KvmFacts f = pvm_host();
    g_autofree char *accel = NULL, *reason = NULL;
    g_assert_true(accel_decide(ACCEL_AUTO, &f, FALSE, &accel, &reason));
    g_assert_cmpstr(accel, ==, "tcg");
    g_assert_nonnull(strstr(reason, "did not reach its init"));
}

static void test_kvm_refused_unless_forced(void)
{
    KvmFacts f = pvm_host();
    g_autofree char *accel = NULL, *reason = NULL;
    g_assert_false(accel_decide(ACCEL_KVM, &f, FALSE, &accel, &reason));
    g_assert_null(accel);
    g_assert_nonnull(strstr(reason, "--force"));
    g_autofree char *a2 = NULL, *r2 = NULL;
    g_assert_true(accel_decide(ACCEL_KVM, &f, TRUE, &a2, &r2));
    g_assert_cmpstr(a2, ==, "kvm");
    g_assert_nonnull(strstr(r2, "forced"));
}

static void test_working_kvm_is_used(void)
{
    KvmFacts f = good_host();
    g_autofree char *accel = NULL, *reason = NULL;
    g_assert_true(accel_decide(ACCEL_AUTO, &f, FALSE, &accel, &reason));
    g_assert_cmpstr(accel, ==, "kvm");
    g_autofree char *a2 = NULL, *r2 = NULL;
    g_assert_true(accel_decide(ACCEL_TCG, &f, FALSE, &a2, &r2));
    g_assert_cmpstr(a2, ==, "tcg");
}

static void test_pvm_without_probe_is_not_trusted(void)
{
    KvmFacts f = pvm_host();
    f.probe = -1;
    f.detail = NULL;
    g_autofree char *why = NULL;
    g_assert_false(accel_kvm_usable(&f, &why));
    g_assert_nonnull(strstr(why, "kvm_pvm"));
    KvmFacts g = good_host();
    g.probe = -1; /* real VT-x host, probe not runnable: trusted */
    g_autofree char *why2 = NULL;
    g_assert_true(accel_kvm_usable(&g, &why2));
}

static void test_no_dev_kvm(void)
{
    KvmFacts f = { .probe = -1 };
    g_autofree char *accel = NULL, *reason = NULL;
    g_assert_true(accel_decide(ACCEL_AUTO, &f, FALSE, &accel, &reason));
    g_assert_cmpstr(accel, ==, "tcg");
    g_assert_nonnull(strstr(reason, "/dev/kvm does not exist"));
}

static void test_gather_matches_host(void)
{
    KvmFacts f = { 0 };
    accel_gather(&f);
    g_assert_cmpint(f.dev_exists, ==, g_file_test("/dev/kvm", G_FILE_TEST_EXISTS));
    g_assert_cmpint(f.probe, ==, -1); /* gathering runs nothing */
    kvm_facts_clear(&f);
}

/* A cache of round one's format (no QEMU binary in its key) is not
 * trusted; the positive path and a changed binary are in test-kvm.sh. */
static void test_cache_keyed_by_binary(void)
{
    g_autofree char *dir = g_dir_make_tmp("qlaunch-accel-XXXXXX", NULL);
    g_autofree char *cache = g_build_filename(dir, "kvm-probe", NULL);
    g_autofree char *qemu = g_build_filename(dir, "qemu", NULL);
    g_assert_true(g_file_set_contents(qemu, "v1", -1, NULL));
    g_autofree char *boot = NULL;
    g_assert_true(g_file_get_contents("/proc/sys/kernel/random/boot_id", &boot, NULL, NULL));
    g_strstrip(boot);
    /* an old-format cache from round one: BOOT\nRESULT\nDETAIL */
    g_autofree char *old = g_strdup_printf("%s\n0\nthe embedded guest did not boot\n", boot);
    g_assert_true(g_file_set_contents(cache, old, -1, NULL));
    KvmFacts f = { .create_vm = TRUE, .probe = -1 };
    accel_probe(&f, qemu, cache, 0, NULL);
    g_assert_cmpint(f.probe, ==, -1);
    g_assert_false(f.cached);
    kvm_facts_clear(&f);
    unlink(cache);
    unlink(qemu);
    rmdir(dir);
}

/* An interrupt before the probe starts: no QEMU is run, nothing cached. */
static void test_interrupted_probe_caches_nothing(void)
{
    g_autofree char *dir = g_dir_make_tmp("qlaunch-accel-XXXXXX", NULL);
    g_autofree char *cache = g_build_filename(dir, "kvm-probe", NULL);
    volatile sig_atomic_t stop = 1;
    KvmFacts f = { .create_vm = TRUE, .probe = -1 };
    accel_probe(&f, "/bin/sleep", cache, 2500, &stop);
    g_assert_true(f.interrupted);
    g_assert_cmpint(f.probe, ==, -1);
    g_assert_false(g_file_test(cache, G_FILE_TEST_EXISTS));
    kvm_facts_clear(&f);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/accel/auto-falls-back-on-pvm", test_auto_falls_back_on_pvm);
    g_test_add_func("/accel/kvm-refused-unless-forced", test_kvm_refused_unless_forced);
    g_test_add_func("/accel/working-kvm-is-used", test_working_kvm_is_used);
    g_test_add_func("/accel/pvm-without-probe-not-trusted", test_pvm_without_probe_is_not_trusted);
    g_test_add_func("/accel/no-dev-kvm", test_no_dev_kvm);
    g_test_add_func("/accel/gather-matches-host", test_gather_matches_host);
    g_test_add_func("/accel/cache-keyed-by-binary", test_cache_keyed_by_binary);
    g_test_add_func("/accel/interrupted-probe-caches-nothing",
                    test_interrupted_probe_caches_nothing);
    return g_test_run();
}
