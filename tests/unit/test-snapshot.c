/* Snapshot planning (pure) and the HMP fallback, against a fake QMP server
 * that lacks the job commands as QEMU before 6.0 does (7.2 cannot be made to). */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../launcher/restore.h"
#include "../../launcher/snapshot.h"

static const ProfileEnv env = { .guest_dir = "/guest", .state_base = "/state" };

static Profile *load(const char *text)
{
    g_autoptr(GError) err = NULL;
    Profile *p = profile_load_data("/p/t.ini", text, strlen(text), &env, &err);
    g_assert_no_error(err);
    return p;
}

static void test_plan_default_first_qcow2(void)
{
    g_autoptr(Profile) p = load("[vm]\nname=t\n[disk iso]\nfile=a.img\nformat=raw\nreadonly=true\n"
                                "[disk a]\nsize=1G\n[disk b]\nsize=2G\n");
    g_autofree char *vmstate = NULL;
    g_auto(GStrv) disks = NULL;
    g_autoptr(GError) err = NULL;
    g_assert_true(snapshot_plan(p, &vmstate, &disks, &err));
    g_assert_cmpstr(vmstate, ==, "a");
    g_assert_cmpuint(g_strv_length(disks), ==, 2); /* a and b; the read-only iso stays out */
    g_assert_cmpstr(disks[0], ==, "a");
    g_assert_cmpstr(disks[1], ==, "b");
}

static void test_plan_marked_disk(void)
{
    g_autoptr(Profile) p =
        load("[vm]\nname=t\nsnapshot-disk=b\n[disk a]\nsize=1G\n[disk b]\nsize=1G\n");
    g_autofree char *vmstate = NULL;
    g_auto(GStrv) disks = NULL;
    g_assert_true(snapshot_plan(p, &vmstate, &disks, NULL));
    g_assert_cmpstr(vmstate, ==, "b");
}

static void expect_refusal(const char *text, const char *want)
{
    g_autoptr(Profile) p = load(text);
    g_autofree char *vmstate = NULL;
    g_auto(GStrv) disks = NULL;
    g_autoptr(GError) err = NULL;
    g_assert_false(snapshot_plan(p, &vmstate, &disks, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, want))
        g_error("got: %s\nwant: ...%s...", err->message, want);
}

static void test_plan_refusals(void)
{
    expect_refusal("[vm]\nname=t\nsnapshot-disk=r\n[disk r]\nfile=r.img\nformat=raw\n",
                   "[vm] snapshot-disk: [disk r] is raw and cannot hold an internal snapshot");
    expect_refusal("[vm]\nname=t\nsnapshot-disk=q\n[disk q]\nfile=q.qcow2\nreadonly=true\n",
                   "[disk q] is read-only and cannot hold an internal snapshot");
    expect_refusal("[vm]\nname=t\n[disk q]\nsize=1G\n[disk r]\nfile=r.img\nformat=raw\n",
                   "[disk r]: a writable raw disk cannot take part in an internal snapshot");
    expect_refusal("[vm]\nname=t\n[boot]\nkernel=k\n", "no writable qcow2 disk to hold snapshots");
}

static void test_names(void)
{
    g_assert_true(snapshot_name_valid("s1"));
    g_assert_true(snapshot_name_valid("before-upgrade.2"));
    g_assert_false(snapshot_name_valid("123")); /* HMP would take it for an id */
    g_assert_false(snapshot_name_valid("a b"));
    g_assert_false(snapshot_name_valid("-x"));
    g_assert_false(snapshot_name_valid(""));
}

/* ---- HMP fallback against a fake QMP server ----------------------------- */

static json_t *read_req(int fd)
{
    GString *line = g_string_new(NULL);
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n')
        g_string_append_c(line, c);
    json_t *req = json_loads(line->str, 0, NULL);
    g_string_free(line, TRUE);
    return req;
}

static void reply(int fd, json_t *req, const char *body)
{
    g_autofree char *text = g_strdup_printf("{%s, \"id\": %" JSON_INTEGER_FORMAT "}\r\n", body,
                                            json_integer_value(json_object_get(req, "id")));
    g_assert_cmpint(write(fd, text, strlen(text)), ==, (gssize)strlen(text));
}

/* Old QEMU: no snapshot-save; savevm through HMP works, loadvm fails with text. */
static gpointer old_qemu(gpointer data)
{
    int fd = GPOINTER_TO_INT(data);
    /* a save first turns x-ignore-shared off (a snapshot must hold RAM) */
    const char *expect[] = { "migrate-set-capabilities", "snapshot-save", "savevm s1",
                             "snapshot-load", "loadvm nosuch" };
    const char *answer[] = {
        "\"return\": {}",
        "\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command snapshot-save has not "
        "been found\"}",
        "\"return\": \"\"",
        "\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command snapshot-load has not "
        "been found\"}",
        "\"return\": \"Error: Snapshot 'nosuch' does not exist in one or more devices\\r\\n\"",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(expect); i++) {
        json_auto_t *req = read_req(fd);
        const char *cmd = json_string_value(json_object_get(req, "execute"));
        const char *line =
            json_string_value(json_object_get(json_object_get(req, "arguments"), "command-line"));
        g_assert_cmpstr(line ? line : cmd, ==, expect[i]);
        if (i == 0) {
            g_autofree char *args = json_dumps(json_object_get(req, "arguments"), JSON_COMPACT);
            g_assert_cmpstr(args, ==,
                            "{\"capabilities\":[{\"capability\":\"x-ignore-shared\","
                            "\"state\":false}]}");
        }
        reply(fd, req, answer[i]);
    }
    close(fd);
    return NULL;
}

static void test_hmp_fallback(void)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    GThread *t = g_thread_new("old-qemu", old_qemu, GINT_TO_POINTER(sv[1]));
    g_autoptr(QmpConn) c = qmp_conn_new_fd(sv[0], QMP_MODE_MONITOR);
    const char *disks[] = { "data", NULL };
    g_autoptr(GError) err = NULL;
    g_assert_true(snapshot_live(c, "save", "s1", "data", disks, NULL, NULL, 5000, &err));
    g_assert_no_error(err);
    g_assert_false(snapshot_live(c, "load", "nosuch", "data", disks, NULL, NULL, 5000, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "Snapshot 'nosuch' does not exist"));
    g_thread_join(t);
}

/* What start --restore compares: equal profiles give no difference; each
 * change is named with its value then and now. */
static void test_restore_fingerprint(void)
{
    const char *base = "[vm]\nname=t\nmemory=512M\ncpus=2\n[disk a]\nsize=1G\n"
                       "[disk b]\nsize=1G\n[net 0]\nmode=user\n";
    g_autoptr(Profile) p = load(base);
    json_auto_t *fp = restore_fingerprint(p, "max", 8);
    g_assert_cmpstr(json_string_value(json_object_get(fp, "memory")), ==, "512 MiB less 8 KiB");
    g_assert_cmpstr(json_string_value(json_object_get(fp, "[disk b]")), ==,
                    "virtio, qcow2, read-write");
    json_auto_t *same = restore_fingerprint(p, "max", 8);
    g_assert_null(restore_fingerprint_diff(fp, same, "the snapshot"));

    g_autoptr(Profile) q = load("[vm]\nname=t\nmemory=384M\ncpus=2\n[disk a]\nsize=1G\n"
                                "[disk c]\nsize=1G\nreadonly=true\n[net 0]\nmode=user\n");
    json_auto_t *now = restore_fingerprint(q, "qemu64", 8);
    g_autofree char *diff = restore_fingerprint_diff(fp, now, "the snapshot");
    g_assert_nonnull(diff);
    g_assert_nonnull(
        strstr(diff, "memory: 512 MiB less 8 KiB at the snapshot, 384 MiB less 8 KiB now"));
    g_assert_nonnull(strstr(diff, "CPU model: max at the snapshot, qemu64 now"));
    g_assert_nonnull(strstr(diff, "[disk b] was there at the snapshot and is not now"));
    g_assert_nonnull(strstr(diff, "[disk c] is new since the snapshot"));
    g_assert_null(strstr(diff, "[disk a]"));
    g_assert_null(strstr(diff, "[net 0]"));

    /* the same NIC with another MAC is another device to the guest */
    g_autoptr(Profile) m = load("[vm]\nname=t\nmemory=512M\ncpus=2\n[disk a]\nsize=1G\n"
                                "[disk b]\nsize=1G\n[net 0]\nmode=user\nmac=52:54:00:00:00:01\n");
    json_auto_t *mac = restore_fingerprint(m, "max", 8);
    g_autofree char *macdiff = restore_fingerprint_diff(fp, mac, "the snapshot");
    g_assert_nonnull(macdiff);
    g_assert_nonnull(strstr(macdiff, "[net 0]: virtio, MAC 52:54:00:"));
}

static void test_restore_key(void)
{
    g_autoptr(Profile) p = load("[vm]\nname=t\n[boot]\nrestore=warm-1\n[disk a]\nsize=1G\n");
    g_assert_cmpstr(p->restore, ==, "warm-1");
    const char *bad[] = { "[vm]\nname=t\n[boot]\nrestore=12\n",
                          "[vm]\nname=t\n[boot]\nrestore=a,b\n",
                          "[vm]\nname=t\n[boot]\nrestore=-x\n" };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(Profile) r = profile_load_data("/p/t.ini", bad[i], strlen(bad[i]), &env, &err);
        g_assert_null(r);
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "[boot] restore"));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/snapshot/plan/default-first-qcow2", test_plan_default_first_qcow2);
    g_test_add_func("/snapshot/plan/marked-disk", test_plan_marked_disk);
    g_test_add_func("/snapshot/plan/refusals", test_plan_refusals);
    g_test_add_func("/snapshot/names", test_names);
    g_test_add_func("/snapshot/hmp-fallback", test_hmp_fallback);
    g_test_add_func("/snapshot/restore/fingerprint", test_restore_fingerprint);
    g_test_add_func("/snapshot/restore/profile-key", test_restore_key);
    return g_test_run();
}
