/* Profile parsing: pass/fail pairs under tests/profiles, every shipped profile, details. */
#include <string.h>

#include "../../launcher/cloudinit.h"
#include "../../launcher/profile.h"

static const ProfileEnv env = { .guest_dir = "/guest", .state_base = "/state" };

static void test_pass(gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(data, &env, &err);
    g_assert_no_error(err);
    g_assert_nonnull(p);
}

static void test_fail(gconstpointer data)
{
    const char *path = data;
    g_autofree char *stem = g_strndup(path, strlen(path) - strlen(".ini"));
    g_autofree char *errfile = g_strconcat(stem, ".err", NULL);
    g_autofree char *want = NULL;
    g_assert_true(g_file_get_contents(errfile, &want, NULL, NULL));
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(path, &env, &err);
    g_assert_null(p);
    g_assert_nonnull(err);
    g_assert_true(err->domain == PROFILE_ERROR);
    if (!strstr(err->message, want))
        g_error("message for %s:\n  got:  %s\n  want: ...%s...", path, err->message, want);
    g_assert_nonnull(strstr(err->message, path)); /* names the file */
}

static void test_full_values(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(SRCDIR "/tests/profiles/pass/full.ini", &env, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(p->name, ==, "full-1.x");
    g_assert_cmpuint(p->memory_mib, ==, 2900);
    g_assert_cmpuint(p->cpus, ==, 4);
    g_assert_cmpint(p->accel, ==, ACCEL_TCG);
    g_assert_cmpint(p->pin[0], ==, 3);
    g_assert_cmpint(p->pin[3], ==, 0);
    g_assert_cmpuint(p->cpu_limit_pct, ==, 150);
    g_assert_cmpuint(p->memory_limit, ==, 3ull << 30);
    g_assert_cmpuint(p->tcg_tb_size_mib, ==, 512);
    g_assert_cmpstr(p->tcg_thread, ==, "multi");
    g_assert_cmpstr(p->kernel, ==, SRCDIR "/tests/profiles/pass/k"); /* relative to the file */
    g_assert_cmpuint(p->disks->len, ==, 2);
    ProfileDisk *a = p->disks->pdata[0], *b = p->disks->pdata[1];
    g_assert_cmpuint(a->size, ==, 2ull << 30);
    g_assert_cmpstr(a->bus, ==, "sata");
    g_assert_cmpstr(a->cache, ==, "writethrough");
    g_assert_cmpstr(a->aio, ==, "threads");
    g_assert_cmpstr(b->aio, ==, "native");
    g_assert_true(b->readonly);
    g_assert_cmpstr(b->file, ==, "/abs/raw.img");
    ProfileNet *n = p->nets->pdata[0];
    g_assert_cmpuint(g_strv_length(n->forwards), ==, 2);           /* both forward= lines kept */
    g_assert_cmpstr(n->forwards[0], ==, "tcp:127.0.0.1:2222-:22"); /* loopback by default */
    g_assert_cmpstr(n->forwards[1], ==, "udp:0.0.0.0:5353-10.0.2.15:53");
    g_assert_false(p->agent);
    g_assert_cmpstr(p->serial_log, ==, SRCDIR "/tests/profiles/pass/serial.log");
}

static void test_defaults(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(SRCDIR "/tests/profiles/pass/noname.ini", &env, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(p->name, ==, "noname"); /* from the file name */
    g_assert_cmpuint(p->cpus, ==, 1);
    g_assert_cmpint(p->accel, ==, ACCEL_AUTO);
    g_assert_cmpstr(p->machine, ==, "q35");
    g_assert_true(p->agent);
    ProfileDisk *d = p->disks->pdata[0];
    g_assert_cmpstr(d->file, ==, "/state/noname/root.qcow2"); /* state dir */
    g_assert_cmpstr(d->format, ==, "qcow2");
    g_assert_cmpstr(d->aio, ==, "auto");
}

static void test_comments_and_guest(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) c = profile_load(SRCDIR "/tests/profiles/pass/comments.ini", &env, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(c->name, ==, "c");
    g_assert_cmpuint(c->memory_mib, ==, 2048);
    g_autoptr(Profile) g = profile_load(SRCDIR "/tests/profiles/pass/guest.ini", &env, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(g->kernel, ==, "/guest/vmlinuz");
    g_assert_cmpstr(g->initrd, ==, "/guest/initrd.img");
}

static void test_sizes(void)
{
    guint64 v = 0;
    g_assert_true(profile_parse_size("512M", 0, &v) && v == 512ull << 20);
    g_assert_true(profile_parse_size("2G", 0, &v) && v == 2ull << 30);
    g_assert_true(profile_parse_size("2900MB", 0, &v) && v == 2900ull << 20);
    g_assert_true(profile_parse_size("1TiB", 0, &v) && v == 1ull << 40);
    g_assert_true(profile_parse_size("100", 1 << 20, &v) && v == 100ull << 20);
    g_assert_false(profile_parse_size("100", 0, &v));
    g_assert_false(profile_parse_size("10X", 0, &v));
    g_assert_false(profile_parse_size("-1G", 0, &v));
    g_assert_false(profile_parse_size("0G", 0, &v));
    g_assert_false(profile_parse_size("G", 0, &v));
    g_assert_false(profile_parse_size("99999999999999T", 0, &v));
}

static void test_names(void)
{
    g_assert_true(profile_name_valid("tiny"));
    g_assert_true(profile_name_valid("a.b_c-9"));
    g_assert_false(profile_name_valid(""));
    g_assert_false(profile_name_valid("-x"));
    g_assert_false(profile_name_valid(".hidden"));
    g_assert_false(profile_name_valid("a/b"));
    g_assert_false(profile_name_valid("a b"));
    g_assert_false(profile_name_valid(".."));
}

static void add_dir_tests(const char *dir, const char *prefix, GTestDataFunc fn, const char *suffix)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    const char *n;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    while ((n = g_dir_read_name(d)))
        if (g_str_has_suffix(n, suffix))
            g_ptr_array_add(names, g_strdup(n));
    g_assert_cmpuint(names->len, >, 0);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        g_autofree char *tp = g_strdup_printf("%s/%s", prefix, (char *)names->pdata[i]);
        g_test_add_data_func_full(tp, g_steal_pointer(&path), fn, g_free);
    }
}

/* numa=3 on 3 vCPUs and 1000 MiB: a vCPU each, 333 + 333 + 334 MiB */
static void test_numa_split(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = profile_load(SRCDIR "/tests/profiles/pass/numa-split.ini", &env, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(p->numa_nodes, ==, 3);
    guint64 sum = 0;
    for (guint i = 0; i < 3; i++) {
        g_assert_cmpuint(p->numa[i].cpu_first, ==, i);
        g_assert_cmpuint(p->numa[i].cpu_last, ==, i);
        g_assert_cmpint(p->numa[i].host_node, ==, 0);
        sum += p->numa[i].memory_mib;
    }
    g_assert_cmpuint(p->numa[0].memory_mib, ==, 333);
    g_assert_cmpuint(p->numa[2].memory_mib, ==, 334);
    g_assert_cmpuint(sum, ==, 1000);
}

/* Every value reaches the seed's YAML double-quoted: nothing in it can end
 * the scalar or its line. */
static void test_yaml_quote(void)
{
    const char *cases[][2] = {
        { "plain", "\"plain\"" },
        { "a: b # c", "\"a: b # c\"" },
        { "q\"uo\\te", "\"q\\\"uo\\\\te\"" },
        { "line\nkey: x", "\"line\\nkey: x\"" },
        { "tab\tbell\x07"
          "del\x7f",
          "\"tab\\tbell\\x07del\\x7f\"" },
        { "", "\"\"" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *q = cloudinit_yaml_quote(cases[i][0]);
        g_assert_cmpstr(q, ==, cases[i][1]);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/cloud-init/yaml-quote", test_yaml_quote);
    add_dir_tests(SRCDIR "/tests/profiles/pass", "/profile/pass", test_pass, ".ini");
    add_dir_tests(SRCDIR "/tests/profiles/fail", "/profile/fail", test_fail, ".ini");
    add_dir_tests(SRCDIR "/profiles", "/profile/shipped", test_pass, ".ini");
    g_test_add_func("/profile/full-values", test_full_values);
    g_test_add_func("/profile/defaults", test_defaults);
    g_test_add_func("/profile/comments-and-guest", test_comments_and_guest);
    g_test_add_func("/profile/sizes", test_sizes);
    g_test_add_func("/profile/names", test_names);
    g_test_add_func("/profile/numa-split", test_numa_split);
    return g_test_run();
}
