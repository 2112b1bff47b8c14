/* Migration compatibility between a running profile and a destination profile (pure). */
#include <string.h>

#include "../../launcher/migrate.h"

static const ProfileEnv env = { .guest_dir = "/guest", .state_base = "/state" };
static const char *base = "[vm]\nname=t\nmemory=512M\ncpus=2\n[boot]\nkernel=k\n"
                          "[disk data]\nsize=1G\n[net 0]\nmode=user\n";

static Profile *load(const char *text)
{
    g_autoptr(GError) err = NULL;
    Profile *p = profile_load_data("/p/t.ini", text, strlen(text), &env, &err);
    g_assert_no_error(err);
    return p;
}

static void expect(const char *other, const char *want)
{
    g_autoptr(Profile) a = load(base), b = load(other);
    g_autofree char *why = NULL;
    gboolean ok = migrate_compatible(a, b, &why);
    if (!want) {
        g_assert_true(ok);
        return;
    }
    g_assert_false(ok);
    if (!strstr(why, want))
        g_error("got: %s\nwant: ...%s...", why, want);
}

static void test_compatible(void)
{
    expect(base, NULL);
    /* boot files and forwards do not travel with the VM: still compatible */
    expect("[vm]\nname=t\nmemory=512M\ncpus=2\n[boot]\nkernel=other\n[disk data]\nsize=1G\n"
           "[net 0]\nmode=user\nforward=tcp::2222-:22\n",
           NULL);
}

static void test_differences(void)
{
    expect("[vm]\nname=t\nmemory=1G\ncpus=2\n[boot]\nkernel=k\n[disk data]\nsize=1G\n[net 0]\n",
           "memory differs: 512 MiB here, 1024 MiB");
    expect("[vm]\nname=t\nmemory=512M\ncpus=4\n[boot]\nkernel=k\n[disk data]\nsize=1G\n[net 0]\n",
           "vCPU count differs: 2 here, 4");
    expect("[vm]\nname=t\nmemory=512M\ncpus=2\n[boot]\nkernel=k\n[disk data]\nsize=1G\nbus=sata\n"
           "[net 0]\n",
           "[disk data] (virtio, qcow2) has no match");
    expect("[vm]\nname=t\nmemory=512M\ncpus=2\n[boot]\nkernel=k\n[disk data]\nsize=1G\n",
           "NIC count differs: 1 here, 0");
    expect("[vm]\nname=t\nmemory=512M\ncpus=2\nmachine=pc\n[boot]\nkernel=k\n[disk data]\nsize=1G\n"
           "[net 0]\n",
           "machine differs: q35 here, pc");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migrate/compatible", test_compatible);
    g_test_add_func("/migrate/differences", test_differences);
    return g_test_run();
}
