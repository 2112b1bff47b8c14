/* qlaunch bench: sysbench in the guest (through the agent) and on the host,
 * side by side, with statistics, metadata, table, JSON, CSV and a plot;
 * --compare of two results; --scenario runs interference scenarios. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include "cmdline.h"
#include "commands.h"
#include "proc.h"
#include "resources.h"
#include "scenario.h"
#include "cmd-bench.h"

#define AGENT_TIMEOUT_MS 120000
#define QMP_TIMEOUT_MS 10000
#define WARMUP_S 1

typedef struct {
    guint runs, time_s;
    const char *tests;
    gboolean pin, keep;
    const char *out;
    const char *guest_dir;
    char *host_dir;    /* fileio on the host */
    guint server_port; /* net-*: the port of the host's server for the case that runs */
    guint peer_port;   /* ... and of the peer VM's, on a socket lan */
    guint step, steps;
    gboolean tty;
    Template *tmpl; /* --template: each profile is a clone of it, from its state */
} Bench;

/* One side of a measurement: the guest (qga set) or the host. */
typedef struct {
    QmpConn *qga;
    const char *vm;
    gboolean pinned;
    cpu_set_t cpus;       /* host runs are pinned to the vCPUs' host CPUs */
    char *net_addr;       /* net-*: where this side reaches the host's server */
    const char *net_bind; /* (host side) what the server binds to */
    QmpConn *peer;        /* (guest side, socket lan) the peer VM that serves instead */
} Side;

static void progress(Bench *b, const char *vm, const BenchCase *c, const char *what)
{
    b->step++;
    if (cli_quiet)
        return;
    if (b->tty)
        fprintf(stderr, "\r\033[K[%3u/%u] %s: %s: %s", b->step, b->steps, vm, c->desc, what);
    else if (strcmp(what, "warm-up guest") == 0)
        fprintf(stderr, "[%3u/%u] %s: %s\n", b->step, b->steps, vm, c->desc);
    fflush(stderr);
}

static void progress_done(Bench *b)
{
    if (b->tty && !cli_quiet)
        fprintf(stderr, "\r\033[K");
}

/* Runs sysbench on the host (in dir when set; pinned like the vCPUs). */
static char *host_run(const Side *s, char **argv, const char *dir, guint time_s, GError **error)
{
    cpu_set_t old;
    gboolean restore = s->pinned && sched_getaffinity(0, sizeof old, &old) == 0;
    if (restore)
        sched_setaffinity(0, sizeof s->cpus, &s->cpus);
    char *out = NULL;
    int status = 0;
    gboolean ok =
        proc_run_in(dir, (const char *const *)argv, (time_s + 120) * 1000LL, &out, &status, error);
    if (restore)
        sched_setaffinity(0, sizeof old, &old);
    if (ok && status != 0) {
        g_autofree char *st = proc_describe_status(status);
        g_set_error(error, BENCH_ERROR, 0, "host: %s failed (%s): %s", argv[0], st, out ? out : "");
        ok = FALSE;
    }
    if (!ok)
        g_clear_pointer(&out, g_free);
    return out;
}

/* Runs argv in the guest (in dir when set, through sh's "$@": no string
 * is spliced into a command line). */
static char *guest_run(const Side *s, char **argv, const char *dir, guint time_s, gboolean quiet,
                       GError **error)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new();
    if (dir) {
        g_ptr_array_add(a, "sh");
        g_ptr_array_add(a, "-c");
        g_ptr_array_add(a, "cd \"$0\" && exec \"$@\"");
        g_ptr_array_add(a, (gpointer)dir);
    }
    for (gsize i = 0; argv[i]; i++)
        g_ptr_array_add(a, argv[i]);
    g_ptr_array_add(a, NULL);
    g_autoptr(QgaExecResult) r =
        qga_exec_quiet(s->qga, (const char *const *)a->pdata, NULL, quiet ? time_s * 1000LL : 0,
                       (time_s + 120) * 1000LL, error);
    if (!r) {
        g_prefix_error(error, "guest %s: ", s->vm);
        return NULL;
    }
    gsize n = 0, en = 0;
    const char *out = g_bytes_get_data(r->out, &n);
    const char *err = r->err ? g_bytes_get_data(r->err, &en) : NULL;
    if (r->signaled || r->code != 0) {
        g_set_error(error, BENCH_ERROR, 0, "guest %s: %s failed (%s %d): %.*s%.*s", s->vm, argv[0],
                    r->signaled ? "signal" : "exit code", r->code, (int)MIN(n, 400), out ? out : "",
                    (int)MIN(en, 400), err ? err : "");
        return NULL;
    }
    return g_strndup(out ? out : "", n);
}

/* quiet: a benchmark run of time_s seconds, not polled before its end */
static char *side_run(const Side *s, char **argv, const char *dir, guint time_s, gboolean quiet,
                      GError **error)
{
    return s->qga ? guest_run(s, argv, dir, time_s, quiet, error)
                  : host_run(s, argv, dir, time_s, error);
}

static gboolean measure(Bench *b, const Side *s, const BenchCase *c, const char *dir, guint time_s,
                        double *value, GError **error)
{
    if (proc_interrupted) {
        g_set_error(error, BENCH_ERROR, 0, "interrupted (SIGINT/SIGTERM)");
        return FALSE;
    }
    guint port = s->peer ? b->peer_port : b->server_port;
    g_auto(GStrv) argv = c->server ? bench_net_argv(c, s->net_addr, port, time_s)
                                   : bench_argv(c, "sysbench", "run", time_s);
    if (!s->qga && !strcmp(argv[0], "qlaunch-probe")) { /* the host's copy of the guest's */
        g_autofree char *guest = vm_guest_dir();
        g_free(argv[0]);
        argv[0] = g_build_filename(guest, "qlaunch-probe", NULL);
    }
    g_autofree char *out = side_run(s, argv, dir, time_s, TRUE, error);
    return out && bench_parse(c->test, out, value, error);
}

static gboolean fileio_files(const Side *s, const BenchCase *c, const char *dir, const char *action,
                             GError **error)
{
    g_auto(GStrv) argv = bench_argv(c, "sysbench", action, 0);
    g_autofree char *out = side_run(s, argv, dir, 60, FALSE, error);
    return out != NULL;
}

static gboolean guest_dir_ok(const Side *guest, const char *dir, GError **error)
{
    const char *argv[] = { "test", "-d", dir, NULL };
    g_autoptr(QgaExecResult) r = qga_exec(guest->qga, argv, NULL, 30000, error);
    if (r && r->code != 0)
        g_set_error(error, BENCH_ERROR, 0,
                    "fileio: the guest %s has no directory %s (give --guest-dir DIR on a disk, or "
                    "leave fileio out of --tests)",
                    guest->vm, dir);
    return r && r->code == 0;
}

/* Warm-up, then runs alternating guest and host; one result object. */
static json_t *run_case(Bench *b, const Side *guest, const Side *host, const BenchCase *c,
                        GError **error)
{
    gboolean fileio = c->prepare_args != NULL;
    const char *gdir = fileio ? b->guest_dir : NULL;
    const char *hdir = fileio ? b->host_dir : NULL;
    if (fileio && !guest_dir_ok(guest, gdir, error))
        return NULL;
    if (fileio && (!fileio_files(guest, c, gdir, "prepare", error) ||
                   !fileio_files(host, c, hdir, "prepare", error)))
        return NULL;
    g_autoptr(BenchServer) server = NULL;
    if (c->server && !(server = bench_server_start(c, host->net_bind, b->out, error)))
        return NULL;
    if (server && guest->peer && !bench_peer_server_start(server, c, guest->peer, error))
        return NULL;
    b->server_port = server ? server->port : 0;
    b->peer_port = server ? server->peer_port : 0;
    g_autofree double *gv = g_new0(double, b->runs);
    g_autofree double *hv = g_new0(double, b->runs);
    double warm = 0;
    gboolean ok = TRUE;
    progress(b, guest->vm, c, "warm-up guest");
    ok = measure(b, guest, c, gdir, WARMUP_S, &warm, error);
    progress(b, guest->vm, c, "warm-up host");
    ok = ok && measure(b, host, c, hdir, WARMUP_S, &warm, error);
    for (guint r = 0; ok && r < b->runs; r++) {
        g_autofree char *gw = g_strdup_printf("guest run %u/%u", r + 1, b->runs);
        g_autofree char *hw = g_strdup_printf("host run %u/%u", r + 1, b->runs);
        progress(b, guest->vm, c, gw);
        ok = measure(b, guest, c, gdir, b->time_s, &gv[r], error);
        progress(b, guest->vm, c, hw);
        ok = ok && measure(b, host, c, hdir, b->time_s, &hv[r], error);
    }
    if (fileio) {
        fileio_files(guest, c, gdir, "cleanup", NULL);
        fileio_files(host, c, hdir, "cleanup", NULL);
    }
    if (!ok)
        return NULL;
    BenchStats gs = bench_stats(gv, b->runs), hs = bench_stats(hv, b->runs);
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:f}", "id", c->id, "test", c->test,
                          "desc", c->desc, "unit", c->unit, "threads", (int)c->threads, "guest",
                          bench_stats_json(gv, b->runs), "host", bench_stats_json(hv, b->runs),
                          "guest_pct_of_host", hs.median > 0 ? 100.0 * gs.median / hs.median : 0.0);
    if (c->lower_better) /* loss, jitter, latency: above 100 % the guest does worse */
        json_object_set_new(r, "lower_is_better", json_true());
    if (c->server)
        json_object_set_new(r, "server",
                            json_pack("{s:s, s:s, s:i, s:s}", "tool", c->server, "host_addr",
                                      host->net_bind, "host_port", (int)b->server_port,
                                      "guest_addr", guest->net_addr));
    return r;
}

static char *first_line(const char *text)
{
    if (!text)
        return NULL;
    return g_strstrip(g_strndup(text, strcspn(text, "\n")));
}

static char *guest_line(const Side *guest, const char *const *argv)
{
    g_autoptr(QgaExecResult) r = qga_exec(guest->qga, argv, NULL, 30000, NULL);
    if (!r || r->code != 0)
        return NULL;
    gsize n = 0;
    const char *out = g_bytes_get_data(r->out, &n);
    g_autofree char *s = g_strndup(out ? out : "", n);
    return first_line(s);
}

static char *host_line(const char *const *argv)
{
    g_autofree char *out = NULL;
    int status = 0;
    if (!proc_run(argv, 30000, &out, &status, NULL) || status != 0)
        return NULL;
    return first_line(out);
}

static json_t *str_or_null(char *s)
{
    json_t *j = s ? json_string(s) : json_null();
    g_free(s);
    return j;
}

static char *cpuinfo_model(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL))
        return NULL;
    const char *k = strstr(text, "model name");
    const char *colon = k ? strchr(k, ':') : NULL;
    return colon ? first_line(colon + 1) : NULL;
}

static json_t *host_info(void)
{
    struct utsname u;
    uname(&u);
    const char *sb[] = { "sysbench", "--version", NULL };
    return json_pack("{s:o, s:i, s:s, s:s, s:o, s:s}", "cpu_model", str_or_null(cpuinfo_model()),
                     "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN), "kernel", u.release, "machine",
                     u.machine, "sysbench_version", str_or_null(host_line(sb)), "hostname",
                     u.nodename);
}

static char *file_sha256(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL))
        return NULL;
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
}

static json_t *vm_info(const Profile *p, VmPaths *v, QmpConn *qmp, const Side *guest,
                       gboolean reused)
{
    json_auto_t *meta = vm_meta_read(v);
    const char *accel = json_string_value(json_object_get(meta, "accel"));
    json_auto_t *ver = qmp_conn_execute(qmp, "query-version", NULL, QMP_TIMEOUT_MS, NULL);
    json_t *q = json_object_get(ver, "qemu");
    g_autofree char *qv = q ? g_strdup_printf("%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT
                                              ".%" JSON_INTEGER_FORMAT,
                                              json_integer_value(json_object_get(q, "major")),
                                              json_integer_value(json_object_get(q, "minor")),
                                              json_integer_value(json_object_get(q, "micro")))
                            : NULL;
    const char *uname_r[] = { "uname", "-r", NULL };
    const char *sb[] = { "sysbench", "--version", NULL };
    json_t *j = json_pack(
        "{s:s?, s:s?, s:s?, s:s?, s:s, s:s, s:i, s:I, s:o, s:o, s:b}", "accel", accel,
        "accel_reason", json_string_value(json_object_get(meta, "accel_reason")), "qemu_version",
        qv, "qemu_package", json_string_value(json_object_get(ver, "package")), "cpu_model",
        json_object_get(meta, "cpu_model") ? json_string_value(json_object_get(meta, "cpu_model"))
                                           : cmdline_cpu_model(p, accel ? accel : "tcg"),
        "machine", p->machine, "vcpus", (int)p->cpus, "memory_mib", (json_int_t)p->memory_mib,
        "guest_kernel", str_or_null(guest_line(guest, uname_r)), "sysbench_version",
        str_or_null(guest_line(guest, sb)), "reused_running_vm", reused);
    if (p->tcg_tb_size_mib)
        json_object_set_new(j, "tcg_tb_size_mib", json_integer(p->tcg_tb_size_mib));
    if (p->tcg_thread)
        json_object_set_new(j, "tcg_thread", json_string(p->tcg_thread));
    return j;
}

/* --pin: vCPU i on host CPU i mod N; the host runs on the same CPUs. */
static gboolean pin_vcpus(VmPaths *v, QmpConn *qmp, guint vcpus, Side *host, json_t *info,
                          GError **error)
{
    pid_t pid = vm_read_pid(v);
    g_autoptr(GArray) tids = res_vcpu_threads(qmp, error);
    if (!tids)
        return FALSE;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    g_autofree int *cpus = g_new0(int, MAX(tids->len, 1));
    CPU_ZERO(&host->cpus);
    json_t *pins = json_array();
    for (guint i = 0; i < tids->len; i++) {
        cpus[i] = (int)(i % (guint)ncpu);
        CPU_SET(cpus[i], &host->cpus);
        json_array_append_new(pins, json_integer(cpus[i]));
    }
    json_object_set_new(info, "pinned_vcpus", pins);
    host->pinned = TRUE;
    (void)vcpus;
    return res_pin_threads(pid, tids, cpus, error);
}

/* One profile: start (or reuse) its VM, run every case, stop it again. */
/* A socket lan: the peer VM NAME-peer of the same profile (started unless
 * it runs), both given their lan address; its agent, or NULL. */
static QmpConn *lan_peer(const Profile *p, QmpConn *qga, VmPaths **pv, gboolean *started,
                         json_t *res, GError **error)
{
    g_autofree char *name = g_strdup_printf("%s-peer", p->name);
    g_autoptr(Profile) pp = cli_load_profile_as(p->path, name, error);
    if (!pp)
        return NULL;
    *pv = vm_paths_new(name);
    if (vm_running_pid(*pv, NULL) <= 0) {
        if (!cli_quiet)
            fprintf(stderr, "bench: starting %s, the peer on lan %s\n", name,
                    ((ProfileNet *)p->nets->pdata[0])->lan);
        StartOpts so = { .wait_agent = TRUE, .timeout_s = 180 };
        g_autofree char *accel = NULL, *reason = NULL;
        g_autoptr(QmpConn) pq = start_vm(*pv, pp, &so, &accel, &reason, error);
        if (!pq)
            return NULL;
        *started = TRUE;
    }
    QmpConn *peer = vm_qga_open(*pv, AGENT_TIMEOUT_MS, error);
    if (!peer || !bench_lan_address(qga, p->name, BENCH_LAN_VM, error) ||
        !bench_lan_address(peer, name, BENCH_LAN_PEER, error)) {
        if (peer)
            qmp_conn_free(peer);
        return NULL;
    }
    json_object_set_new(res, "lan_peer",
                        json_pack("{s:s, s:s, s:s}", "name", name, "addr", BENCH_LAN_PEER,
                                  "vm_addr", BENCH_LAN_VM));
    return peer;
}

/* Some case needs a server on the host (the net tests). */
static gboolean has_net(GPtrArray *cases)
{
    for (guint i = 0; i < cases->len; i++)
        if (((BenchCase *)cases->pdata[i])->server)
            return TRUE;
    return FALSE;
}

/* A clone bench made: its state dir (clone.ini, overlays) goes. */
static void bench_remove_clone(const char *name)
{
    g_autofree char *state = vm_state_base();
    g_autofree char *dir = g_build_filename(state, name, NULL);
    proc_remove_tree(dir, NULL);
}

static json_t *bench_profile(Bench *b, const Profile *p)
{
    g_autofree char *sha = file_sha256(p->path);
    json_t *res = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:[]}", "name", p->name, "profile", p->path,
                            "profile_sha256", sha, "accel_requested", profile_accel_name(p->accel),
                            "status", "ok", "results");
    g_autoptr(GError) err = NULL;
    g_autoptr(VmPaths) v = vm_paths_new(p->name);
    gboolean reused = vm_running_pid(v, NULL) > 0;
    g_autoptr(QmpConn) qmp = NULL;
    if (reused) {
        qmp = vm_qmp_open(v, QMP_TIMEOUT_MS, &err);
        json_auto_t *st =
            qmp ? qmp_conn_execute(qmp, "query-status", NULL, QMP_TIMEOUT_MS, &err) : NULL;
        if (st && !json_is_true(json_object_get(st, "running"))) {
            g_set_error(&err, BENCH_ERROR, 0, "VM %s is %s, not running (qlaunch resume %s)",
                        p->name, json_string_value(json_object_get(st, "status")), p->name);
            g_clear_pointer(&qmp, qmp_conn_free);
        }
    } else {
        if (!cli_quiet)
            fprintf(stderr, "bench: starting %s\n", p->name);
        StartOpts so = { .wait_agent = TRUE, .timeout_s = 180, .tmpl = b->tmpl };
        g_autofree char *accel = NULL, *reason = NULL;
        qmp = start_vm(v, p, &so, &accel, &reason, &err);
        if (!qmp) {
            json_object_set_new(res, "status", json_string("unavailable"));
            json_object_set_new(res, "reason", json_string(err->message));
            return res;
        }
    }
    g_autoptr(QmpConn) qga = qmp ? vm_qga_open(v, AGENT_TIMEOUT_MS, &err) : NULL;
    Side guest = { .qga = qga, .vm = p->name }, host = { .vm = p->name };
    json_t *info = NULL;
    g_autoptr(GPtrArray) cases = NULL;
    if (qga) {
        info = vm_info(p, v, qmp, &guest, reused);
        json_object_set_new(res, "vm", info);
        host.pinned = FALSE;
        if (b->pin && !pin_vcpus(v, qmp, p->cpus, &host, info, &err))
            g_clear_pointer(&qga, qmp_conn_free);
    }
    if (qga)
        cases = bench_cases(b->tests, p->cpus, &err);
    g_autofree char *bind = NULL;
    if (cases && has_net(cases) && !bench_net_addresses(p, &guest.net_addr, &bind, &err))
        g_clear_pointer(&cases, g_ptr_array_unref);
    host.net_addr = g_strdup(bind);
    host.net_bind = bind;
    g_autoptr(VmPaths) pv = NULL;
    gboolean peer_started = FALSE;
    g_autoptr(QmpConn) peer_qga = NULL;
    if (cases && has_net(cases) && ((ProfileNet *)p->nets->pdata[0])->mode == NET_SOCKET) {
        peer_qga = lan_peer(p, qga, &pv, &peer_started, res, &err);
        guest.peer = peer_qga;
        if (!peer_qga)
            g_clear_pointer(&cases, g_ptr_array_unref);
    }
    if (cases && has_net(cases) && !bench_guest_route(qga, p->name, guest.net_addr, &err))
        g_clear_pointer(&cases, g_ptr_array_unref);
    for (guint i = 0; cases && i < cases->len; i++) {
        json_t *r = run_case(b, &guest, &host, cases->pdata[i], &err);
        if (!r)
            break;
        json_array_append_new(json_object_get(res, "results"), r);
    }
    progress_done(b);
    if (err) {
        json_object_set_new(res, "status", json_string("failed"));
        json_object_set_new(res, "reason", json_string(err->message));
    }
    g_clear_pointer(&qga, qmp_conn_free);
    g_clear_pointer(&qmp, qmp_conn_free);
    g_free(guest.net_addr);
    g_free(host.net_addr);
    g_clear_pointer(&peer_qga, qmp_conn_free);
    pid_t ppid = pv ? vm_running_pid(pv, NULL) : 0;
    if (peer_started && !b->keep && ppid > 0)
        stop_vm(pv, ppid, 30, TRUE, FALSE);
    pid_t pid = vm_running_pid(v, NULL);
    if (!reused && !b->keep && pid > 0)
        stop_vm(v, pid, 30, TRUE, FALSE);
    if (b->tmpl) {
        json_object_set_new(res, "template",
                            json_pack("{s:s, s:O?}", "name", b->tmpl->name, "sha256",
                                      json_object_get(b->tmpl->info, "sha256")));
        if (!b->keep && !vm_running_pid(v, NULL)) /* the next bench starts a new clone */
            bench_remove_clone(p->name);
    }
    return res;
}

/* The profiles to bench, each with the agent it needs; counts the steps
 * for the progress line. With --template, one clone of it (TEMPLATE-bench). */
static GPtrArray *load_profiles(Bench *b, int n, char **args, GError **error)
{
    g_autoptr(GPtrArray) profiles = g_ptr_array_new_with_free_func((GDestroyNotify)profile_free);
    for (int i = 0; i < n; i++) {
        g_autofree char *cname = b->tmpl ? g_strdup_printf("%s-bench", b->tmpl->name) : NULL;
        g_autoptr(Profile) p = b->tmpl ? template_clone_profile(b->tmpl, cname, error)
                                       : cli_load_profile(args[i], error);
        if (!p)
            return NULL;
        if (!p->agent) {
            g_set_error(error, BENCH_ERROR, 0,
                        "profile %s [agent] enabled=false: bench runs sysbench in the guest "
                        "through the guest agent",
                        args[i]);
            return NULL;
        }
        g_autoptr(GPtrArray) cases = bench_cases(b->tests, p->cpus, error);
        if (!cases)
            return NULL;
        g_autofree char *gaddr = NULL, *baddr = NULL;
        if (has_net(cases) && !bench_net_addresses(p, &gaddr, &baddr, error))
            return NULL;
        b->steps += cases->len * (b->runs + 1) * 2;
        g_ptr_array_add(profiles, g_steal_pointer(&p));
    }
    return g_steal_pointer(&profiles);
}

/* Every profile, guest and host side by side, into a results document
 * (transfer full) that is written out after each profile: what is done
 * survives an interrupt. */
static json_t *run_profiles(Bench *b, GPtrArray *profiles)
{
    b->host_dir = g_build_filename(b->out, "fileio-host", NULL);
    g_mkdir_with_parents(b->host_dir, 0700);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format_iso8601(now);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:{s:i, s:i, s:i, s:s, s:b, s:i, s:s}, s:o, s:[]}",
                            "schema", "qlaunch-bench/1", "qlaunch_version", QLAUNCH_VERSION, "date",
                            date, "options", "runs", (int)b->runs, "time_s", (int)b->time_s,
                            "warmup_s", WARMUP_S, "tests", b->tests, "pin", b->pin, "seed", 1,
                            "guest_dir", b->guest_dir, "host", host_info(), "profiles");
    g_autofree char *results = g_build_filename(b->out, "results.json", NULL);
    proc_catch_interrupts(TRUE); /* stop at the next run, then clean up */
    for (guint i = 0; i < profiles->len && !proc_interrupted; i++) {
        json_array_append_new(json_object_get(doc, "profiles"),
                              bench_profile(b, profiles->pdata[i]));
        json_dump_file(doc, results, JSON_INDENT(2));
    }
    proc_catch_interrupts(FALSE);
    rmdir(b->host_dir);
    g_clear_pointer(&b->host_dir, g_free);
    return doc;
}

/* results.json, results.csv, plot.svg, the table; exit 0 when every
 * profile ran. */
static int report(json_t *doc, const char *out, gboolean json, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *results = g_build_filename(out, "results.json", NULL);
    g_autofree char *csv = bench_csv(doc);
    if (!bench_write_text(out, "results.csv", csv, &err) ||
        json_dump_file(doc, results, JSON_INDENT(2)))
        return cli_failf(error, "bench: cannot write results to %s: %s", out,
                         err ? err->message : g_strerror(errno));
    g_autoptr(GError) perr = NULL;
    guint nresults = 0, ok = 0, failed = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(doc, "profiles"), i, p)
    {
        const char *st = json_string_value(json_object_get(p, "status"));
        nresults += json_array_size(json_object_get(p, "results"));
        ok += strcmp(st, "ok") == 0;
        failed += strcmp(st, "failed") == 0;
    }
    gboolean plotted = nresults > 0 && bench_write_plot(out, doc, &perr);
    if (json)
        cli_print_json(doc);
    else
        bench_print_table(doc);
    if (perr)
        fprintf(stderr, "qlaunch: %s\n", perr->message);
    if (!cli_quiet)
        fprintf(stderr, "bench: results in %s/ (results.json, results.csv%s)\n", out,
                plotted ? ", plot.svg" : "");
    return ok > 0 && failed == 0 ? EXIT_OK : EXIT_FAIL;
}

static char *default_out(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");
    return g_build_filename("bench-results", stamp, NULL);
}

/* bench --template: the one "profile" is the template's clone. */
static int bench_template(Bench *b, const char *out, gboolean json, GError **error)
{
    g_autoptr(GError) err = NULL;
    char *none[] = { NULL };
    g_autoptr(GPtrArray) profiles = load_profiles(b, 1, none, &err);
    if (!profiles)
        return cli_fail(error, &err);
    if (g_mkdir_with_parents(out, 0755) < 0)
        return cli_failf(error, "bench --out: cannot create %s: %s", out, g_strerror(errno));
    json_auto_t *doc = run_profiles(b, profiles);
    return report(doc, out, json, error);
}

int cmd_bench(int argc, char **argv, GError **error)
{
    Bench b = { .runs = 3, .time_s = 3, .guest_dir = "/data" };
    int runs = 3, time_s = 3;
    gboolean do_compare = FALSE, json = FALSE;
    g_autofree char *tests = NULL, *out = NULL, *scenario = NULL, *guest_dir = NULL,
                    *tmpl_name = NULL;
    GOptionEntry entries[] = {
        { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "Measured runs per test and side (3)", "N" },
        { "tests", 0, 0, G_OPTION_ARG_STRING, &tests,
          "Tests to run: cpu,memory,threads,fileio (the default), net (net-tcp,net-udp,net-rr)",
          "LIST" },
        { "time", 0, 0, G_OPTION_ARG_INT, &time_s, "Seconds per run (3)", "S" },
        { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
          "Directory for results.json, results.csv, plot.svg (bench-results/DATE-TIME)", "DIR" },
        { "pin", 0, 0, G_OPTION_ARG_NONE, &b.pin,
          "Pin vCPU i to host CPU i and the host runs to the same CPUs", NULL },
        { "keep", 0, 0, G_OPTION_ARG_NONE, &b.keep, "Leave the VMs bench started running", NULL },
        { "guest-dir", 0, 0, G_OPTION_ARG_STRING, &guest_dir,
          "Guest directory for fileio (/data, the embedded guest's data disk)", "DIR" },
        { "compare", 0, 0, G_OPTION_ARG_NONE, &do_compare,
          "Compare two results.json files: bench --compare A.json B.json", NULL },
        { "scenario", 0, 0, G_OPTION_ARG_FILENAME, &scenario,
          "Run the interference scenarios of FILE.ini", "FILE" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print results.json instead of the table", NULL },
        { "template", 0, 0, G_OPTION_ARG_STRING, &tmpl_name,
          "Bench a clone of template NAME (qlaunch template save), so every bench starts from "
          "the same guest state; its SHA-256 goes into results.json",
          "NAME" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    if (do_compare) {
        if (argc != 3)
            return cli_usagef("bench", "bench --compare needs two results.json files (got %d)",
                              argc - 1);
        return bench_compare_files(argv[1], argv[2], error);
    }
    if (runs < 1 || runs > 1000)
        return cli_usagef("bench", "bench --runs: %d is not a run count (1 to 1000)", runs);
    if (time_s < 1 || time_s > 3600)
        return cli_usagef("bench", "bench --time: %d is not a number of seconds (1 to 3600)",
                          time_s);
    b.runs = (guint)runs;
    b.time_s = (guint)time_s;
    b.tests = tests ? tests : "cpu,memory,threads,fileio";
    if (guest_dir)
        b.guest_dir = guest_dir;
    if (!out)
        out = default_out();
    b.out = out;
    b.tty = isatty(STDERR_FILENO);
    if (scenario) {
        if (argc != 1)
            return cli_usagef("bench", "bench --scenario takes no profiles (the file names them)");
        return scenario_run(scenario, tmpl_name, out, json, error);
    }
    g_autoptr(Template) tmpl = NULL;
    if (tmpl_name) {
        if (argc != 1)
            return cli_usagef("bench", "bench --template takes no profiles (the clone is the VM)");
        g_autoptr(GError) terr = NULL;
        if (!(tmpl = template_open(tmpl_name, &terr)))
            return cli_fail(error, &terr);
        b.tmpl = tmpl;
        return bench_template(&b, out, json, error);
    }
    if (argc < 2)
        return cli_usagef("bench",
                          "bench: name at least one profile (e.g. qlaunch bench tiny), or use "
                          "--scenario FILE or --compare A.json B.json");
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) profiles = load_profiles(&b, argc - 1, argv + 1, &err);
    if (!profiles)
        return cli_fail(error, &err);
    if (g_mkdir_with_parents(out, 0755) < 0)
        return cli_failf(error, "bench --out: cannot create %s: %s", out, g_strerror(errno));
    json_auto_t *doc = run_profiles(&b, profiles);
    return report(doc, out, json, error);
}
