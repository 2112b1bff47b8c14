/* Lifecycle benchmarks, measured side by side in one run (medians):
 * qlaunch start vs the same QEMU argv spawned by hand; libqmp query-status
 * vs a minimal raw-socket client; the CLI pair pause+resume; boot to agent. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../qmp/qmp.h"
#include "bench-util.h"

static const char *ql, *vm, *rundir;

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "bench: %s failed (rc %d)\n", what, rc);
        exit(1);
    }
}

static double median(GArray *a)
{
    return median_of((double *)(void *)a->data, a->len);
}

static char *vm_file(const char *name)
{
    return g_strdup_printf("%s/%s/%s", rundir, vm, name);
}

static void kill_vm(void)
{
    const char *argv[] = { ql, "kill", vm, NULL };
    run_quiet(argv);
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    for (int i = 0; i < 2000; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        close(fd);
        g_usleep(1000);
    }
    return -1;
}

/* Reads until the buffer ends in '\n': one reply per request, as a
 * minimal client would (no JSON parsing, chunked reads). */
static gboolean read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            return FALSE;
        n += (size_t)r;
        if (buf[n - 1] == '\n')
            break;
    }
    buf[n] = '\0';
    return TRUE;
}

/* QEMU spawned by hand with the argv qlaunch used; until the greeting. */
static double start_by_hand(char **argv)
{
    g_autofree char *dir = g_strdup_printf("%s/%s", rundir, vm);
    g_mkdir_with_parents(dir, 0700);
    g_autofree char *sock = vm_file("qmp.sock");
    double t0 = now_ms();
    must(run_quiet((const char *const *)argv), "QEMU by hand");
    int fd = connect_unix(sock);
    char buf[4096];
    if (fd < 0 || !read_line(fd, buf, sizeof(buf)) || !strstr(buf, "\"QMP\""))
        must(1, "greeting");
    double t = now_ms() - t0;
    close(fd);
    g_autofree char *pidf = vm_file("qemu.pid"), *text = NULL;
    g_file_get_contents(pidf, &text, NULL, NULL);
    pid_t pid = text ? atoi(text) : 0;
    if (pid > 0)
        kill(pid, SIGKILL);
    for (int i = 0; pid > 0 && i < 2500; i++) { /* gone, or a zombie: at most 5 s */
        g_autofree char *st = NULL, *p = g_strdup_printf("/proc/%d/stat", (int)pid);
        if (!g_file_get_contents(p, &st, NULL, NULL) || strstr(st, ") Z"))
            break;
        g_usleep(2000);
    }
    unlink(sock);
    unlink(pidf);
    return t;
}

static char **recorded_argv(void)
{
    g_autofree char *meta = vm_file("meta.json");
    json_auto_t *j = json_load_file(meta, 0, NULL);
    json_t *a = json_object_get(j, "argv");
    if (!a)
        must(1, "reading meta.json argv");
    char **argv = g_new0(char *, json_array_size(a) + 1);
    for (size_t i = 0; i < json_array_size(a); i++)
        argv[i] = g_strdup(json_string_value(json_array_get(a, i)));
    return argv;
}

static void bench_start(int reps, GArray *ql_ms, GArray *hand_ms)
{
    const char *start[] = { ql, "start", "-q", vm, NULL };
    g_auto(GStrv) argv = NULL;
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        must(run_quiet(start), "qlaunch start");
        double t = now_ms() - t0;
        g_array_append_val(ql_ms, t);
        if (!argv)
            argv = recorded_argv();
        kill_vm();
        t = start_by_hand(argv);
        g_array_append_val(hand_ms, t);
    }
}

static void bench_rtt(int blocks, int per_block, GArray *lib_us, GArray *raw_us)
{
    g_autofree char *sock = vm_file("qmp.sock");
    for (int b = 0; b < blocks; b++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(QmpConn) c = qmp_conn_connect(sock, QMP_MODE_MONITOR, 5000, &err);
        if (!c || !qmp_conn_handshake(c, 5000, &err))
            must(1, "libqmp handshake");
        for (int i = 0; i < per_block; i++) {
            double t0 = now_ms();
            json_auto_t *r = qmp_conn_execute(c, "query-status", NULL, 5000, &err);
            double t = (now_ms() - t0) * 1000;
            if (!r)
                must(1, "libqmp query-status");
            g_array_append_val(lib_us, t);
        }
        g_clear_pointer(&c, qmp_conn_free);
        int fd = connect_unix(sock);
        char buf[8192];
        const char *caps = "{\"execute\":\"qmp_capabilities\"}\n";
        if (!read_line(fd, buf, sizeof(buf)) || write(fd, caps, strlen(caps)) < 0 ||
            !read_line(fd, buf, sizeof(buf)))
            must(1, "raw handshake");
        for (int i = 0; i < per_block; i++) {
            char req[128];
            int n = snprintf(req, sizeof(req), "{\"execute\":\"query-status\",\"id\":%d}\n", i);
            double t0 = now_ms();
            if (write(fd, req, (size_t)n) != n || !read_line(fd, buf, sizeof(buf)) ||
                !strstr(buf, "return"))
                must(1, "raw query-status");
            double t = (now_ms() - t0) * 1000;
            g_array_append_val(raw_us, t);
        }
        close(fd);
    }
}

static void bench_cli_pair(int reps, GArray *ms)
{
    const char *pause[] = { ql, "pause", "-q", vm, NULL };
    const char *resume[] = { ql, "resume", "-q", vm, NULL };
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        must(run_quiet(pause), "qlaunch pause");
        must(run_quiet(resume), "qlaunch resume");
        double t = now_ms() - t0;
        g_array_append_val(ms, t);
    }
}

static void bench_boot(int reps, GArray *ms)
{
    const char *start[] = { ql, "start", "-q", "--wait-agent", vm, NULL };
    for (int i = 0; i < reps; i++) {
        kill_vm();
        double t0 = now_ms();
        must(run_quiet(start), "qlaunch start --wait-agent");
        double t = now_ms() - t0;
        g_array_append_val(ms, t);
    }
    kill_vm();
}

/* CPU time (utime + stime, clock ticks) of a process, or 0. */
static unsigned long long cpu_ticks(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid), *text = NULL;
    const char *p = g_file_get_contents(path, &text, NULL, NULL) ? strrchr(text, ')') : NULL;
    unsigned long long ut = 0, st = 0;
    /* after the name: state and 10 fields, then utime and stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

/* Waits (20 s at most) until the VM's QEMU used under a quarter of one CPU
 * in three 200 ms windows in a row, as template save does; the seconds
 * waited, negative when the deadline came first. */
static double settle_vm(void)
{
    g_autofree char *pidf = vm_file("qemu.pid"), *text = NULL;
    must(!g_file_get_contents(pidf, &text, NULL, NULL), "reading qemu.pid");
    int pid = atoi(text);
    long hz = sysconf(_SC_CLK_TCK);
    double t0 = now_ms();
    unsigned long long last = cpu_ticks(pid);
    for (int quiet = 0; quiet < 3;) {
        if (now_ms() - t0 > 20000)
            return -(now_ms() - t0) / 1000;
        g_usleep(200000);
        unsigned long long now = cpu_ticks(pid);
        quiet = (double)(now - last) / hz < 0.05 ? quiet + 1 : 0;
        last = now;
    }
    return (now_ms() - t0) / 1000;
}

/* Cold boot and start --restore to a working agent, in rounds (cold, then
 * the restores in rotating order) so that all see the same host load. Two
 * snapshots of one boot: "fresh" saved as soon as the agent answered (the
 * guest still finishing its boot: DHCP, the ssh host key, work every
 * restore of it does again), "idle" once the guest went idle (*settle_s
 * later). With threads_vm (the same VM's profile with aio=threads, QEMU's
 * default) "idle" is also restored that way into threads_ms. */
static void bench_restore(int reps, const char *threads_vm, GArray *cold_ms, GArray *fresh_ms,
                          GArray *idle_ms, GArray *threads_ms, double *settle_s)
{
    const char *start[] = { ql, "start", "-q", "--wait-agent", vm, NULL };
    const char *tags[] = { "bench-fresh", "bench-idle", "bench-idle" };
    const char *profiles[] = { vm, vm, threads_vm };
    GArray *out[] = { fresh_ms, idle_ms, threads_ms };
    const int kinds = threads_vm ? 3 : 2;
    kill_vm();
    must(run_quiet(start), "qlaunch start --wait-agent");
    for (int k = 0; k < 2; k++) {
        if (k == 1)
            *settle_s = settle_vm();
        const char *save[] = { ql, "snapshot", "save", "-q", vm, tags[k], NULL };
        must(run_quiet(save), "snapshot save");
    }
    for (int i = 0; i < reps; i++) {
        kill_vm();
        double t0 = now_ms();
        must(run_quiet(start), "qlaunch start --wait-agent");
        double t = now_ms() - t0;
        g_array_append_val(cold_ms, t);
        for (int j = 0; j < kinds; j++) {
            int k = (i + j) % kinds;
            const char *restore[] = { ql,          "start", "-q",        "--wait-agent",
                                      "--restore", tags[k], profiles[k], NULL };
            kill_vm();
            t0 = now_ms();
            must(run_quiet(restore), "qlaunch start --restore");
            t = now_ms() - t0;
            g_array_append_val(out[k], t);
        }
    }
    for (int k = 0; k < 2; k++) {
        const char *del[] = { ql, "snapshot", "delete", "-q", vm, tags[k], NULL };
        must(run_quiet(del), "snapshot delete");
    }
    kill_vm();
}

/* kB of one smaps_rollup field of pid, or 0. */
static double smaps_kb(pid_t pid, const char *field)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps_rollup", (int)pid), *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    const char *at = strstr(text, field);
    return at ? g_ascii_strtod(at + strlen(field), NULL) : 0;
}

static pid_t clone_pid(int i)
{
    g_autofree char *path = g_strdup_printf("%s/bclone-%d/qemu.pid", rundir, i), *text = NULL;
    return g_file_get_contents(path, &text, NULL, NULL) ? atoi(text) : 0;
}

/* 8 clones from one template, all answering their agent, in one start;
 * then their RSS and PSS (the template's RAM file is mapped privately by
 * each: pages none has written are counted once, shared). */
static void bench_clones(int reps, int n, GArray *all_ms, double *rss_kb, double *pss_kb,
                         double *pss_file_kb)
{
    const char *start[] = { ql, "start", "-q", "--wait-agent", vm, NULL };
    const char *save[] = { ql, "template", "save", "-q", vm, "bench-tmpl", NULL };
    const char *tdel[] = { ql, "template", "delete", "-q", "bench-tmpl", NULL };
    g_autofree char *k = g_strdup_printf("%d", n);
    const char *clones[] = { ql,         "start", "-q",     "--wait-agent", "bench-tmpl",
                             "--clones", k,       "--name", "bclone",       NULL };
    kill_vm();
    must(run_quiet(start), "qlaunch start --wait-agent");
    must(run_quiet(save), "template save");
    kill_vm();
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        must(run_quiet(clones), "start --clones");
        double t = now_ms() - t0;
        g_array_append_val(all_ms, t);
        if (r == reps - 1)
            for (int i = 1; i <= n; i++) {
                pid_t pid = clone_pid(i);
                *rss_kb += smaps_kb(pid, "\nRss:");
                *pss_kb += smaps_kb(pid, "\nPss:");
                *pss_file_kb += smaps_kb(pid, "\nPss_File:");
            }
        for (int i = 1; i <= n; i++) {
            g_autofree char *name = g_strdup_printf("bclone-%d", i);
            const char *kill_c[] = { ql, "kill", name, NULL };
            const char *del_c[] = { ql, "delete", "-q", name, NULL };
            run_quiet(kill_c);
            run_quiet(del_c);
        }
    }
    must(run_quiet(tdel), "template delete");
}

/* One HMP command on a fresh raw connection (connect, greeting,
 * capabilities, command, skip events until the reply): what a minimal
 * client must do, as qlaunch does per invocation. */
static double raw_hmp(const char *line)
{
    g_autofree char *sock = vm_file("qmp.sock");
    char buf[65536];
    double t0 = now_ms();
    int fd = connect_unix(sock);
    const char *caps = "{\"execute\":\"qmp_capabilities\"}\n";
    if (fd < 0 || !read_line(fd, buf, sizeof(buf)) || write(fd, caps, strlen(caps)) < 0 ||
        !read_line(fd, buf, sizeof(buf)))
        must(1, "raw handshake");
    g_autofree char *req = g_strdup_printf("{\"execute\":\"human-monitor-command\",\"arguments\":{"
                                           "\"command-line\":\"%s\"},\"id\":1}\n",
                                           line);
    if (write(fd, req, strlen(req)) < 0)
        must(1, "raw write");
    do {
        if (!read_line(fd, buf, sizeof(buf)))
            must(1, "raw reply");
    } while (!strstr(buf, "\"return\""));
    double t = now_ms() - t0;
    if (strstr(buf, "Error"))
        must(1, buf);
    close(fd);
    return t;
}

static double ql_timed(const char *const *argv)
{
    double t0 = now_ms();
    must(run_quiet(argv), argv[2]);
    return now_ms() - t0;
}

static void bench_snapshot(int reps, GArray *save_ql, GArray *save_raw, GArray *load_ql,
                           GArray *load_raw)
{
    for (int i = 0; i < reps; i++) {
        g_autofree char *qn = g_strdup_printf("q%d", i), *rn = g_strdup_printf("r%d", i);
        const char *save[] = { ql, "snapshot", "save", "-q", vm, qn, NULL };
        const char *load[] = { ql, "snapshot", "load", "-q", vm, qn, NULL };
        const char *del[] = { ql, "snapshot", "delete", "-q", vm, qn, NULL };
        double t = ql_timed(save);
        g_array_append_val(save_ql, t);
        g_autofree char *sv = g_strdup_printf("savevm %s", rn),
                        *lv = g_strdup_printf("loadvm %s", rn);
        g_autofree char *dv = g_strdup_printf("delvm %s", rn);
        t = raw_hmp(sv);
        g_array_append_val(save_raw, t);
        /* the two loads in alternating order: the first after the saves
         * must not always be qlaunch's */
        double tq, tr;
        if (i % 2 == 0) {
            tq = ql_timed(load);
            tr = raw_hmp(lv);
        } else {
            tr = raw_hmp(lv);
            tq = ql_timed(load);
        }
        g_array_append_val(load_ql, tq);
        g_array_append_val(load_raw, tr);
        must(run_quiet(del), "snapshot delete");
        raw_hmp(dv);
    }
}

static guint64 vm_state_size(void)
{
    const char *save[] = { ql, "snapshot", "save", "-q", vm, "size-probe", NULL };
    const char *del[] = { ql, "snapshot", "delete", "-q", vm, "size-probe", NULL };
    must(run_quiet(save), "snapshot save");
    g_autofree char *sock = vm_file("qmp.sock");
    g_autoptr(QmpConn) c = qmp_conn_connect(sock, QMP_MODE_MONITOR, 5000, NULL);
    guint64 size = 0;
    if (c && qmp_conn_handshake(c, 5000, NULL)) {
        json_auto_t *blocks = qmp_conn_execute(c, "query-block", NULL, 5000, NULL);
        size_t i, j;
        json_t *b, *sn;
        json_array_foreach(blocks, i, b)
        {
            json_t *snaps = json_object_get(
                json_object_get(json_object_get(b, "inserted"), "image"), "snapshots");
            json_array_foreach(snaps, j, sn) size =
                MAX(size, (guint64)json_integer_value(json_object_get(sn, "vm-state-size")));
        }
    }
    g_clear_pointer(&c, qmp_conn_free);
    must(run_quiet(del), "snapshot delete");
    return size;
}

static json_t *stat_json(GArray *a, const char *unit)
{
    double med = median(a);
    return json_pack("{s:f, s:f, s:f, s:i, s:s}", "median", med, "min", g_array_index(a, double, 0),
                     "max", g_array_index(a, double, a->len - 1), "n", (int)a->len, "unit", unit);
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: bench-lifecycle QLAUNCH VM OUT.json [VM-PROFILE-WITH-AIO=THREADS] "
                        "(QLAUNCH_RUNTIME_DIR set)\n");
        return 2;
    }
    const char *threads_vm = argc == 5 ? argv[4] : NULL;
    ql = argv[1];
    vm = argv[2];
    rundir = g_getenv("QLAUNCH_RUNTIME_DIR");
    if (!rundir)
        must(1, "QLAUNCH_RUNTIME_DIR");
    int reps = atoi(g_getenv("BENCH_REPS") ? g_getenv("BENCH_REPS") : "7");
    GArray *a = g_array_new(FALSE, FALSE, sizeof(double)),
           *b = g_array_new(FALSE, FALSE, sizeof(double));
    GArray *c = g_array_new(FALSE, FALSE, sizeof(double)),
           *d = g_array_new(FALSE, FALSE, sizeof(double));
    GArray *e = g_array_new(FALSE, FALSE, sizeof(double)),
           *f = g_array_new(FALSE, FALSE, sizeof(double));
    bench_start(reps, a, b);
    const char *start[] = { ql, "start", "-q", vm, NULL };
    must(run_quiet(start), "qlaunch start");
    bench_rtt(4, 500, c, d);
    bench_cli_pair(reps * 4, e);
    GArray *sq = g_array_new(FALSE, FALSE, sizeof(double)),
           *sr = g_array_new(FALSE, FALSE, sizeof(double));
    GArray *lq = g_array_new(FALSE, FALSE, sizeof(double)),
           *lr = g_array_new(FALSE, FALSE, sizeof(double));
    guint64 state = vm_state_size();
    /* three times the pairs: one loadvm takes 90-410 ms from one run to
     * the next on this host, qlaunch's own share is a few ms */
    bench_snapshot(reps * 3, sq, sr, lq, lr);
    bench_boot(MAX(reps / 2, 3), f);
    GArray *rc = g_array_new(FALSE, FALSE, sizeof(double)),
           *rr = g_array_new(FALSE, FALSE, sizeof(double)),
           *ri = g_array_new(FALSE, FALSE, sizeof(double)),
           *rt = g_array_new(FALSE, FALSE, sizeof(double));
    double settle_s = 0;
    bench_restore(reps, threads_vm, rc, rr, ri, rt, &settle_s);
    GArray *cl = g_array_new(FALSE, FALSE, sizeof(double));
    double rss = 0, pss = 0, pss_file = 0;
    const int n_clones = 8;
    bench_clones(MAX(reps / 2, 3), n_clones, cl, &rss, &pss, &pss_file);
    json_auto_t *out = json_pack(
        "{s:{s:o, s:o, s:f}, s:{s:o, s:o, s:f}, s:{s:o, s:f}, s:{s:o}}", "start_until_qmp",
        "qlaunch", stat_json(a, "ms"), "by_hand", stat_json(b, "ms"), "overhead_ms",
        median(a) - median(b), "query_status_rtt", "libqmp", stat_json(c, "us"), "raw_socket",
        stat_json(d, "us"), "ratio", median(c) / median(d), "cli_pause_resume_pair", "qlaunch",
        stat_json(e, "ms"), "target_ms", 20.0, "boot_until_agent", "qlaunch", stat_json(f, "ms"));
    json_object_set_new(
        out, "clones_until_agent",
        json_pack("{s:i, s:o, s:f, s:f, s:f, s:f, s:f, s:s}", "clones", n_clones, "all",
                  stat_json(cl, "ms"), "target_ms", 2000.0, "rss_total_mib", rss / 1024,
                  "pss_total_mib", pss / 1024, "pss_file_total_mib", pss_file / 1024,
                  "cold_boot_median_ms", median(rc), "note",
                  "qlaunch start TEMPLATE --clones 8 --wait-agent; RSS/PSS summed over the 8 "
                  "QEMUs of the last run (smaps_rollup), cold boot from the restore pairs"));
    json_object_set_new(out, "restore_until_agent",
                        json_pack("{s:o, s:o, s:f, s:o, s:f, s:f, s:f, s:f, s:s}", "cold_boot",
                                  stat_json(rc, "ms"), "restore", stat_json(rr, "ms"), "ratio",
                                  median(rr) / median(rc), "restore_idle", stat_json(ri, "ms"),
                                  "ratio_idle", median(ri) / median(rc), "idle_after_s", settle_s,
                                  "target_ms", 300.0, "target_ratio", 0.10, "note",
                                  "qlaunch start --wait-agent, then start --restore --wait-agent "
                                  "of two snapshots of one boot: restore saved as soon as the "
                                  "agent answered, restore_idle once QEMU used under 25% of a "
                                  "CPU for 3 x 200 ms (idle_after_s later; negative: not idle "
                                  "by then), in rounds"));
    if (rt->len)
        json_object_set_new(json_object_get(out, "restore_until_agent"), "restore_idle_aio_threads",
                            json_pack("{s:o, s:f, s:s}", "ms", stat_json(rt, "ms"),
                                      "ratio_io_uring", median(ri) / median(rt), "note",
                                      "restore_idle's snapshot restored through the profile with "
                                      "aio=threads (QEMU's default), in the same rounds"));
    json_dump_file(out, argv[3], JSON_INDENT(2));
    g_autofree char *dir = g_path_get_dirname(argv[3]);
    g_autofree char *snap_path = g_build_filename(dir, "snapshot.json", NULL);
    json_auto_t *snap = json_pack(
        "{s:{s:o, s:o, s:f}, s:{s:o, s:o, s:f, s:f}, s:I, s:s}", "save", "qlaunch",
        stat_json(sq, "ms"), "bare_hmp_savevm", stat_json(sr, "ms"), "ratio",
        median(sq) / median(sr), "load", "qlaunch", stat_json(lq, "ms"), "bare_hmp_loadvm",
        stat_json(lr, "ms"), "ratio", median(lq) / median(lr), "target_ms", 200.0, "vm_state_bytes",
        (json_int_t)state, "note",
        "bare = connect + greeting + qmp_capabilities + human-monitor-command on a raw socket");
    json_dump_file(snap, snap_path, JSON_INDENT(2));
    printf("%-36s %12s %12s %10s\n", "benchmark (medians)", "qlaunch", "reference", "diff");
    printf("%-36s %9.1f ms %9.1f ms %+7.1f ms\n", "start until QMP answers", median(a), median(b),
           median(a) - median(b));
    printf("%-36s %9.1f us %9.1f us %9.3fx\n", "query-status round trip", median(c), median(d),
           median(c) / median(d));
    printf("%-36s %9.1f ms %12s\n", "CLI pause + resume", median(e), "(target 20)");
    printf("%-36s %9.1f ms\n", "boot until the guest agent answers", median(f));
    printf("%-36s %9.1f ms %9.1f ms %9.3fx\n", "start --restore to agent (vs cold)", median(rr),
           median(rc), median(rr) / median(rc));
    printf("%-36s %9.1f ms %9.1f ms %9.3fx (idle %.1f s after)\n",
           "... of a snapshot of the idle guest", median(ri), median(rc), median(ri) / median(rc),
           settle_s);
    if (rt->len)
        printf("%-36s %9.1f ms %9.1f ms %9.3fx (aio=io_uring vs threads)\n",
               "... the same with aio=threads", median(rt), median(ri), median(ri) / median(rt));
    printf("%-36s %9.1f ms %12s\n", "8 clones of a template, to agents", median(cl),
           "(target 2000)");
    printf("%-36s %9.1f MiB RSS %7.1f MiB PSS (%.1f MiB of it the shared RAM file)\n",
           "8 clones' memory", rss / 1024, pss / 1024, pss_file / 1024);
    printf("%-36s %9.1f ms %9.1f ms %9.3fx\n", "snapshot save (vs bare savevm)", median(sq),
           median(sr), median(sq) / median(sr));
    printf("%-36s %9.1f ms %9.1f ms %9.3fx\n", "snapshot load (vs bare loadvm)", median(lq),
           median(lr), median(lq) / median(lr));
    printf("%-36s %9.1f MiB\n", "VM state size (tiny, 512 MiB)", (double)state / (1 << 20));
    return 0;
}
