/* Migration compatibility between a running profile and a destination profile (pure). */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../launcher/migrate.h"
#include "../../launcher/migrate-probe.h"

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

/* exec: reaches a shell inside QEMU: only tcp: and unix: pass. */
static void test_uri(void)
{
    const char *good[] = { "tcp:127.0.0.1:4444", "tcp:[::1]:4444", "tcp:dest.example:1",
                           "unix:/run/user/1000/m.sock", NULL };
    const char *bad[] = { "exec:touch /tmp/x",
                          "exec:cat > /tmp/x",
                          "fd:3",
                          "file:/tmp/x",
                          "rdma:1.2.3.4:5",
                          "tcp:127.0.0.1",
                          "tcp:127.0.0.1:0",
                          "tcp:127.0.0.1:65536",
                          "tcp:a b:4",
                          "tcp:h:4x",
                          "unix:rel.sock",
                          "unix:/a,b",
                          "",
                          "TCP:1.2.3.4:5",
                          NULL };
    for (gsize i = 0; good[i]; i++) {
        g_autoptr(GError) e = NULL;
        if (!migrate_uri_valid(good[i], &e))
            g_error("%s refused: %s", good[i], e->message);
    }
    for (gsize i = 0; bad[i]; i++) {
        g_autoptr(GError) e = NULL;
        if (migrate_uri_valid(bad[i], &e))
            g_error("%s accepted", bad[i]);
        g_assert_nonnull(strstr(e->message, "migration URI"));
    }
}

/* ---- post-copy and the timeout, against a fake QEMU (a real one cannot be
 * made to pass the timeout exactly between the switch and completion) ---- */

typedef struct {
    int fd;
    gboolean cancelled, switched;
} FakeSrc;

static json_t *read_req(int fd)
{
    GString *line = g_string_new(NULL);
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n')
        g_string_append_c(line, c);
    json_t *req = line->len ? json_loads(line->str, 0, NULL) : NULL;
    g_string_free(line, TRUE);
    return req;
}

/* migrate, then query-migrate: active (first pass done), post-copy with
 * bytes moving for ~1 s (well past the client's 200 ms timeout), done. */
static gpointer fake_source(gpointer data)
{
    FakeSrc *f = data;
    gint64 t_switch = 0;
    json_t *req;
    while ((req = read_req(f->fd))) {
        const char *cmd = json_string_value(json_object_get(req, "execute"));
        json_int_t id = json_integer_value(json_object_get(req, "id"));
        g_autofree char *ret = NULL;
        if (!g_strcmp0(cmd, "migrate_cancel"))
            f->cancelled = TRUE;
        if (!g_strcmp0(cmd, "migrate-start-postcopy")) {
            f->switched = TRUE;
            t_switch = g_get_monotonic_time();
        }
        if (!g_strcmp0(cmd, "query-migrate")) {
            gint64 since = t_switch ? g_get_monotonic_time() - t_switch : 0;
            const char *st = !f->switched             ? "active"
                             : since < G_USEC_PER_SEC ? "postcopy-active"
                                                      : "completed";
            ret = g_strdup_printf("{\"status\":\"%s\",\"total-time\":1200,\"downtime\":5,"
                                  "\"ram\":{\"transferred\":%" G_GINT64_FORMAT
                                  ",\"dirty-sync-count\":2}}",
                                  st, since / 1000);
        }
        g_autofree char *reply = g_strdup_printf(
            "{\"return\":%s,\"id\":%" JSON_INTEGER_FORMAT "}\n", ret ? ret : "{}", id);
        g_assert_cmpint(write(f->fd, reply, strlen(reply)), ==, (gssize)strlen(reply));
        json_decref(req);
    }
    return NULL;
}

static void test_postcopy_timeout_never_cancels(void)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    FakeSrc f = { .fd = sv[1] };
    GThread *t = g_thread_new("fake-qemu", fake_source, &f);
    QmpConn *c = qmp_conn_new_fd(sv[0], QMP_MODE_MONITOR);
    MigrateOpts o = { .postcopy = TRUE };
    g_autoptr(GError) err = NULL;
    json_auto_t *info = migrate_run(c, "unix:/x", &o, NULL, NULL, NULL, 200, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_string_value(json_object_get(info, "status")), ==, "completed");
    g_assert_true(f.switched);
    g_assert_false(f.cancelled); /* the timeout passed in post-copy: not cancelled */
    qmp_conn_free(c);
    g_thread_join(t);
    close(sv[1]);
}

#define MS G_GINT64_CONSTANT(1000000)

/* 100 datagrams 10 ms apart; the migration from 300 to 600 ms; echoes take
 * 1 ms, 3 ms from 300 ms on; those sent at 400-440 ms are lost and the
 * one sent at 450 ms comes back at 500 ms. */
static void test_probe_analyse(void)
{
    ProbeSample s[100];
    for (int i = 0; i < 100; i++) {
        s[i].sent_ns = i * 10 * MS;
        s[i].recv_ns = s[i].sent_ns + (i < 30 ? 1 : 3) * MS;
        if (i >= 40 && i <= 44)
            s[i].recv_ns = 0;
        if (i == 45)
            s[i].recv_ns = 500 * MS;
    }
    json_auto_t *r = probe_analyse(s, 100, 300 * MS, 600 * MS, 10);
    g_assert_cmpint(json_integer_value(json_object_get(r, "sent")), ==, 100);
    g_assert_cmpint(json_integer_value(json_object_get(r, "lost")), ==, 5);
    /* the last echo before the hole arrived at 393 ms, the next at 463 ms */
    g_assert_cmpfloat_with_epsilon(json_number_value(json_object_get(r, "longest_gap_ms")), 70,
                                   1e-9);
    g_assert_cmpfloat_with_epsilon(json_number_value(json_object_get(r, "gap_start_ms")), 93, 1e-9);
    g_assert_cmpfloat_with_epsilon(json_number_value(json_object_get(r, "migration_ms")), 300,
                                   1e-9);
    json_t *ph = json_object_get(r, "phases");
    json_t *before = json_object_get(ph, "before"), *during = json_object_get(ph, "during");
    g_assert_cmpint(json_integer_value(json_object_get(before, "sent")), ==, 30);
    g_assert_cmpint(json_integer_value(json_object_get(before, "lost")), ==, 0);
    g_assert_cmpfloat_with_epsilon(json_number_value(json_object_get(before, "delay_p50_ms")), 1,
                                   1e-9);
    g_assert_cmpfloat_with_epsilon(json_number_value(json_object_get(before, "jitter_ms")), 0,
                                   1e-9);
    g_assert_cmpint(json_integer_value(json_object_get(during, "sent")), ==, 30);
    g_assert_cmpint(json_integer_value(json_object_get(during, "lost")), ==, 5);
    g_assert_cmpfloat_with_epsilon(json_number_value(json_object_get(during, "delay_p99_ms")), 50,
                                   1e-9);
    /* 24 pairs: 3 -> 50 -> 3 ms moves 94 ms in all */
    g_assert_cmpfloat_with_epsilon(json_number_value(json_object_get(during, "jitter_ms")),
                                   94.0 / 24, 1e-9);
    g_assert_cmpint(json_integer_value(json_object_get(json_object_get(ph, "after"), "sent")), ==,
                    40);
    g_assert_cmpfloat(probe_parse_clock("samples=98 max_gap_ms=2.042 at_realtime=1.5\n"), ==,
                      2.042);
    g_assert_cmpfloat(probe_parse_clock("samples=98\n"), <, 0);
    g_assert_cmpfloat(probe_parse_clock(NULL), <, 0);
    json_t *tl = json_object_get(r, "timeline");
    g_assert_cmpuint(json_array_size(tl), ==, 100);
    g_assert_cmpfloat(json_number_value(json_array_get(json_array_get(tl, 0), 0)), ==, -300);
    g_assert_cmpfloat(json_number_value(json_array_get(json_array_get(tl, 45), 1)), ==, 50);
    g_assert_true(json_is_null(json_array_get(json_array_get(tl, 40), 1)));
    json_auto_t *none = probe_analyse(s, 0, 0, 0, 10); /* nothing sent */
    g_assert_cmpint(json_integer_value(json_object_get(none, "received")), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migrate/compatible", test_compatible);
    g_test_add_func("/migrate/uri", test_uri);
    g_test_add_func("/migrate/postcopy-timeout-never-cancels", test_postcopy_timeout_never_cancels);
    g_test_add_func("/migrate/differences", test_differences);
    g_test_add_func("/migrate/probe-analyse", test_probe_analyse);
    return g_test_run();
}
