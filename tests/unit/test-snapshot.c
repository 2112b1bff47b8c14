/* Snapshot planning (pure) and the HMP fallback, against a fake QMP server
 * that lacks the job commands as QEMU before 6.0 does (7.2 cannot be made to). */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../launcher/qcow2.h"
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

#define NO_LOAD_JOB                                                                                \
    "\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command snapshot-load has not "   \
    "been found\"}"
#define HMP_NOSUCH                                                                                 \
    "\"return\": \"Error: Snapshot 'nosuch' does not exist in one or more devices\\r\\n\""

/* Old QEMU: no snapshot-save; savevm through HMP works, loadvm fails with
 * text. A load with the VM state on the first disk taking part, and no
 * UEFI variables, goes to HMP loadvm at once (it loads the same there). */
static gpointer old_qemu(gpointer data)
{
    int fd = GPOINTER_TO_INT(data);
    /* a save first turns x-ignore-shared off (a snapshot must hold RAM) */
    const char *expect[] = { "migrate-set-capabilities",
                             "snapshot-save",
                             "savevm s1",
                             "snapshot-load",
                             "loadvm nosuch",
                             "loadvm nosuch",
                             "snapshot-load",
                             "loadvm nosuch" };
    const char *answer[] = {
        "\"return\": {}",
        "\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command snapshot-save has not "
        "been found\"}",
        "\"return\": \"\"",
        NO_LOAD_JOB,
        HMP_NOSUCH,
        HMP_NOSUCH,
        NO_LOAD_JOB,
        HMP_NOSUCH,
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
    /* the VM state on the second disk: the job first (it names the disk) */
    const char *second[] = { "a", "data", NULL }, *uefi[] = { "data", "efivars", NULL };
    const char *const *loads[] = { second, disks, uefi };
    for (gsize i = 0; i < G_N_ELEMENTS(loads); i++) {
        g_clear_error(&err);
        g_assert_false(
            snapshot_live(c, "load", "nosuch", "data", loads[i], NULL, NULL, 5000, &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "Snapshot 'nosuch' does not exist"));
    }
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

/* qemu-img with argv after it; its stdout (transfer full) */
static char *qemu_img(const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer) "qemu-img");
    for (gsize i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    char *out = NULL;
    int status = 1;
    g_autoptr(GError) err = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, NULL, &status, &err));
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    return out;
}

/* The table read from the file is the one qemu-img info gives, field by field. */
static void test_qcow2_table(void)
{
    g_autofree char *dir = g_dir_make_tmp("qlaunch-qcow2-XXXXXX", NULL);
    g_autofree char *img = g_build_filename(dir, "d.qcow2", NULL);
    g_free(qemu_img((const char *[]){ "create", "-q", "-f", "qcow2", img, "16M", NULL }));
    g_autoptr(GError) err = NULL;
    json_auto_t *none = qcow2_snapshots(img, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(json_array_size(none), ==, 0);
    g_free(qemu_img((const char *[]){ "snapshot", "-c", "alpha", img, NULL }));
    g_free(qemu_img((const char *[]){ "snapshot", "-c", "beta.2-x", img, NULL }));
    g_autofree char *out = qemu_img((const char *[]){ "info", "--output=json", img, NULL });
    json_auto_t *info = json_loads(out, 0, NULL);
    json_t *want = json_object_get(info, "snapshots");
    json_auto_t *got = qcow2_snapshots(img, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(json_array_size(got), ==, 2);
    for (gsize i = 0; i < 2; i++) {
        const char *keys[] = { "id",        "name",         "vm-state-size", "date-sec",
                               "date-nsec", "vm-clock-sec", "vm-clock-nsec" };
        for (gsize k = 0; k < G_N_ELEMENTS(keys); k++) {
            json_t *a = json_object_get(json_array_get(got, i), keys[k]);
            json_t *b = json_object_get(json_array_get(want, i), keys[k]);
            g_assert_nonnull(a);
            g_assert_true(json_equal(a, b));
        }
    }
    /* a QEMU with it open for writing holds this lock: refused, as by qemu-img */
    int holder = open(img, O_RDWR | O_CLOEXEC);
    struct flock lk = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 101, .l_len = 1 };
    g_assert_cmpint(fcntl(holder, F_OFD_SETLK, &lk), ==, 0);
    json_auto_t *busy = qcow2_snapshots(img, &err);
    g_assert_null(busy);
    g_assert_error(err, QCOW2_ERROR, QCOW2_ERROR_IN_USE);
    g_clear_error(&err);
    close(holder);
    unlink(img);
    rmdir(dir);
}

/* A file nobody can trust: every size and offset is checked. */
static void test_qcow2_damaged(void)
{
    g_autofree char *dir = g_dir_make_tmp("qlaunch-qcow2-XXXXXX", NULL);
    g_autofree char *img = g_build_filename(dir, "d.qcow2", NULL);
    g_free(qemu_img((const char *[]){ "create", "-q", "-f", "qcow2", img, "16M", NULL }));
    g_free(qemu_img((const char *[]){ "snapshot", "-c", "alpha", img, NULL }));
    gchar *text = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(img, &text, &len, NULL));
    g_autofree guint8 *orig = (guint8 *)text;
    guint64 table = 0;
    for (int i = 0; i < 8; i++)
        table = table << 8 | orig[64 + i];
    /* the one entry: 40 bytes, extra data, the id, then the name */
    gsize extra = (gsize)orig[table + 38] << 8 | orig[table + 39];
    gsize id_len = (gsize)orig[table + 12] << 8 | orig[table + 13];
    gsize name_at = (gsize)table + 40 + extra + id_len;
    struct {
        const char *what;
        gsize at, len; /* bytes replaced (0 = none) */
        guint8 with[8];
        gsize cut; /* the file cut to this length (0 = whole) */
    } cases[] = {
        { "not qcow2", 0, 4, { 'Q', 'F', 'I', 0 }, 0 },
        { "version 9", 4, 4, { 0, 0, 0, 9 }, 0 },
        { "too many snapshots", 60, 4, { 0, 2, 0, 1 }, 0 },
        { "more snapshots than the table has", 60, 4, { 0, 0, 0, 200 }, 0 },
        { "a table past the end", 64, 8, { 0x7f, 0, 0, 0, 0, 0, 0, 0 }, 0 },
        { "an unaligned table", 71, 1, { 3 }, 0 },
        { "a table cut short", 0, 0, { 0 }, (gsize)table + 20 },
        { "too much extra data", (gsize)table + 36, 4, { 0, 0, 8, 0 }, 0 },
        { "a name with a NUL", name_at + 2, 1, { 0 }, 0 },
        { "a name that is not UTF-8", name_at, 1, { 0xff }, 0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        /* 64 KiB of zeros after the image: a size check, not the end of
         * the file, must stop a read of too much extra data */
        g_autofree guint8 *bad = g_malloc0(len + 65536);
        memcpy(bad, orig, len);
        if (cases[i].len)
            memcpy(bad + cases[i].at, cases[i].with, cases[i].len);
        g_assert_true(g_file_set_contents(
            img, (char *)bad, cases[i].cut ? (gssize)cases[i].cut : (gssize)len + 65536, NULL));
        g_autoptr(GError) err = NULL;
        json_auto_t *list = qcow2_snapshots(img, &err);
        if (list)
            g_error("%s: read as %s", cases[i].what, json_dumps(list, 0));
        g_assert_error(err, QCOW2_ERROR, QCOW2_ERROR_FORMAT);
    }
    unlink(img);
    rmdir(dir);
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
    g_test_add_func("/snapshot/qcow2/table", test_qcow2_table);
    g_test_add_func("/snapshot/qcow2/damaged", test_qcow2_damaged);
    return g_test_run();
}
