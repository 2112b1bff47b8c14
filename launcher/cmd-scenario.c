/* bench --scenario: start several VMs, drive each one's CPU load (sysbench
 * --rate, calibrated per VM) and memory use (a tmpfs hog) inside the guest
 * through the agent, and measure each VM from the host once a second: its
 * vCPU threads' CPU time and QEMU's RSS. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "balloon.h"
#include "bench.h"
#include "cli.h"
#include "commands.h"
#include "proc.h"
#include "resources.h"
#include "scenario.h"
#include "template.h"
#include "cmd-scenario.h"

#define AGENT_TIMEOUT_MS 120000
#define CALIBRATE_S 3
#define SPREAD_LIMIT 10.0 /* percentage points */

typedef struct {
    char *name;
    guint vcpus;
    guint64 memory_mib;
    VmPaths *v;
    QmpConn *qmp, *qga;
    pid_t pid;
    GArray *tids;
    gboolean started; /* by us: stopped at the end */
    GStrv cgroups;    /* load=cgroup: where its CPU limit is set */
    double full_rate; /* sysbench cpu events/s of one vCPU at 100 % */
    guint64 total_kib, base_used_kib;
    json_int_t balloon_actual; /* memory=balloon: the balloon's size after the step's hog */
    double last_cpu, last_proc;
    gint64 last_t;
} RunVm;

static void run_vm_clear(RunVm *r)
{
    g_clear_pointer(&r->qga, qmp_conn_free);
    g_clear_pointer(&r->qmp, qmp_conn_free);
    if (r->tids)
        g_array_unref(r->tids);
    g_strfreev(r->cgroups);
    vm_paths_free(r->v);
    g_free(r->name);
}

static char *guest_out(RunVm *r, const char *const *argv, gint64 timeout_ms, GError **error)
{
    g_autoptr(QgaExecResult) res = qga_exec(r->qga, argv, NULL, timeout_ms, error);
    if (!res) {
        g_prefix_error(error, "VM %s: ", r->name);
        return NULL;
    }
    gsize n = 0;
    const char *out = g_bytes_get_data(res->out, &n);
    if (res->signaled || res->code != 0) {
        gsize en = 0;
        const char *err = res->err ? g_bytes_get_data(res->err, &en) : NULL;
        g_set_error(error, BENCH_ERROR, 0, "VM %s: %s failed (%d): %.*s", r->name, argv[0],
                    res->code, (int)MIN(en, 300), err ? err : "");
        return NULL;
    }
    return g_strndup(out ? out : "", n);
}

static gboolean meminfo(RunVm *r, guint64 *total, guint64 *used, GError **error)
{
    const char *argv[] = { "cat", "/proc/meminfo", NULL };
    g_autofree char *text = guest_out(r, argv, 30000, error);
    if (!text)
        return FALSE;
    const char *t = strstr(text, "MemTotal:"), *a = strstr(text, "MemAvailable:");
    if (!t || !a) {
        g_set_error(error, BENCH_ERROR, 0, "VM %s: /proc/meminfo has no MemTotal/MemAvailable",
                    r->name);
        return FALSE;
    }
    *total = g_ascii_strtoull(t + strlen("MemTotal:"), NULL, 10);
    guint64 avail = g_ascii_strtoull(a + strlen("MemAvailable:"), NULL, 10);
    *used = *total > avail ? *total - avail : 0;
    return TRUE;
}

/* One vCPU's sysbench cpu events/s at full load, alone: the best of two
 * runs, since whatever else the host runs can only lower a run's rate (and
 * a low full rate would make every later target overshoot). */
static gboolean calibrate(RunVm *r, GError **error)
{
    /* a first, discarded run: under TCG a fresh guest's first sysbench
     * also pays for translating it, which would lower the rate */
    const char *warm[] = { "sysbench", "cpu", "--threads=1", "--time=1", "run", NULL };
    g_autofree char *w = guest_out(r, warm, 60000, error);
    if (!w)
        return FALSE;
    g_autofree char *t = g_strdup_printf("--time=%d", CALIBRATE_S);
    const char *argv[] = { "sysbench", "cpu", "--threads=1", t, "run", NULL };
    r->full_rate = 0;
    for (int i = 0; i < 2; i++) {
        g_autofree char *out = guest_out(r, argv, 60000, error);
        double rate = 0;
        if (!out || !bench_parse("cpu", out, &rate, error))
            return FALSE;
        r->full_rate = MAX(r->full_rate, rate);
    }
    return TRUE;
}

/* memory=balloon: deflates the balloon to all of the RAM (full) or
 * inflates it to leave the guest what it uses now and some slack, so
 * that what the step does not use goes back to the host. */
static gboolean set_balloon(RunVm *r, gboolean full, GError **error)
{
    guint64 ram = balloon_ram_bytes(r->v, r->memory_mib), want = ram;
    if (!full) {
        guint64 total = 0, used = 0;
        if (!meminfo(r, &total, &used, error))
            return FALSE;
        want = MIN(ram, (used << 10) + MAX(64ull << 20, (total << 10) / 10));
    }
    if (!balloon_set(r->v, r->qmp, want, error))
        return FALSE;
    if (!balloon_wait(r->qmp, want, ram, 60000, &r->balloon_actual, error)) {
        if (r->balloon_actual < 0)
            return FALSE;
        fprintf(stderr,
                "scenario: VM %s: the balloon reached %" JSON_INTEGER_FORMAT
                " of %" G_GUINT64_FORMAT " MiB in 60 s; going on\n",
                r->name, r->balloon_actual >> 20, want >> 20);
    }
    return TRUE;
}

/* Stops the previous load, sets the memory hog, starts the CPU load. */
static gboolean set_load(RunVm *r, const ScenarioLoad *l, gboolean cgroup, gboolean balloon,
                         guint seconds, GError **error)
{
    const char *kill[] = { "killall", "-q", "sysbench", NULL };
    g_autoptr(QgaExecResult) k = qga_exec(r->qga, kill, NULL, 10000, error);
    if (!k)
        return FALSE;
    guint64 want = r->total_kib * l->mem / 100;
    guint64 hog_mib = want > r->base_used_kib ? (want - r->base_used_kib) / 1024 : 0;
    g_autofree char *mib = g_strdup_printf("%" G_GUINT64_FORMAT, hog_mib);
    /* the size reaches the script as $0, never spliced into it */
    const char *hog[] = { "sh", "-c",
                          "d=/run/qlaunch-hog; mkdir -p $d; "
                          "grep -q \" $d \" /proc/mounts || "
                          "mount -t tmpfs -o size=100% qlaunch-hog $d || exit 1; "
                          "rm -f $d/hog; "
                          "[ \"$0\" -gt 0 ] || exit 0; "
                          "dd if=/dev/zero of=$d/hog bs=1M count=\"$0\" 2>/dev/null",
                          mib, NULL };
    if (balloon && !set_balloon(r, TRUE, error))
        return FALSE;
    g_autofree char *out = guest_out(r, hog, 120000, error);
    if (!out || (balloon && !set_balloon(r, FALSE, error)))
        return FALSE;
    if (l->cpu == 0)
        return TRUE;
    /* cgroup: the guest spins at full load and the host caps it */
    double rate = r->full_rate * r->vcpus * l->cpu / 100.0;
    if (cgroup && !res_cgroup_set_cpu(r->cgroups, MAX(1u, l->cpu * r->vcpus), error)) {
        g_prefix_error(error, "VM %s: ", r->name);
        return FALSE;
    }
    g_autofree char *rate_s =
        cgroup ? g_strdup("--rate=0") : g_strdup_printf("--rate=%u", MAX(1u, (guint)lround(rate)));
    g_autofree char *threads = g_strdup_printf("--threads=%u", r->vcpus);
    g_autofree char *time_s = g_strdup_printf("--time=%u", seconds);
    /* not waited for: it runs through the step and is killed at the next */
    json_auto_t *args =
        json_pack("{s:s, s:[s, s, s, s, s, s], s:b}", "path", "sysbench", "arg", "cpu", threads,
                  rate_s, time_s, "--rand-seed=1", "run", "capture-output", 0);
    json_auto_t *res = qmp_conn_execute(r->qga, "guest-exec", args, 10000, error);
    return res != NULL;
}

/* CPU % of the VM's vCPUs since the last sample, and of the whole QEMU
 * process (100 = one host CPU). */
static void sample(RunVm *r, double *vcpu_pct, double *proc_pct, double *rss_pct)
{
    double cpu = 0;
    for (guint i = 0; i < r->tids->len; i++)
        cpu += MAX(0, res_cpu_seconds(r->pid, g_array_index(r->tids, pid_t, i)));
    double proc = res_cpu_seconds(r->pid, 0);
    gint64 now = g_get_monotonic_time();
    double dt = (double)(now - r->last_t) / 1e6;
    *vcpu_pct = dt > 0 ? 100.0 * (cpu - r->last_cpu) / dt / r->vcpus : 0;
    *proc_pct = dt > 0 ? 100.0 * (proc - r->last_proc) / dt : 0;
    *rss_pct = 100.0 * (double)res_rss_bytes(r->pid) / (double)(r->memory_mib << 20);
    r->last_cpu = cpu;
    r->last_proc = proc;
    r->last_t = now;
}

static void mark(RunVm *r)
{
    double a, b, c;
    sample(r, &a, &b, &c);
}

/* The cgroup dirs start recorded for the VM (load=cgroup). */
static GStrv vm_cgroups(VmPaths *v)
{
    json_auto_t *meta = vm_meta_read(v);
    g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(meta, "cgroups"), i, d)
        g_ptr_array_add(dirs, g_strdup(json_string_value(d)));
    g_ptr_array_add(dirs, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&dirs), FALSE);
}

/* tmpl: p is a new clone of it (template_clone_profile refused a name
 * whose clone is there already), started from its state. */
static gboolean bring_up(RunVm *r, Profile *p, const Template *tmpl, gboolean cgroup,
                         GError **error)
{
    if (cgroup && !p->cpu_limit_pct)
        p->cpu_limit_pct = 100 * p->cpus; /* a cgroup of its own, not limiting yet */
    r->name = g_strdup(p->name);
    r->vcpus = p->cpus;
    r->memory_mib = p->memory_mib;
    r->v = vm_paths_new(p->name);
    if (!p->agent) {
        g_set_error(error, BENCH_ERROR, 0,
                    "profile %s: [agent] enabled=false; scenarios drive the load through the "
                    "guest agent",
                    p->path);
        return FALSE;
    }
    if (vm_running_pid(r->v, NULL) > 0) {
        r->qmp = vm_qmp_open(r->v, 10000, error);
    } else {
        if (!cli_quiet)
            fprintf(stderr, "scenario: starting %s\n", p->name);
        StartOpts so = { .wait_agent = TRUE, .timeout_s = 180, .tmpl = tmpl };
        g_autofree char *accel = NULL, *reason = NULL;
        r->qmp = start_vm(r->v, p, &so, &accel, &reason, error);
        r->started = r->qmp != NULL;
    }
    if (!r->qmp)
        return FALSE;
    r->pid = vm_read_pid(r->v);
    r->cgroups = vm_cgroups(r->v);
    if (cgroup && !r->cgroups[0]) {
        g_set_error(error, BENCH_ERROR, 0,
                    "VM %s runs without a cgroup; stop it so that the scenario starts it "
                    "(load=cgroup)",
                    r->name);
        return FALSE;
    }
    r->tids = res_vcpu_threads(r->qmp, error);
    r->qga = r->tids ? vm_qga_open(r->v, AGENT_TIMEOUT_MS, error) : NULL;
    return r->qga != NULL;
}

/* Stops the VMs the scenario started; with remove_clones (a template's
 * clones), also their state dirs (clone.ini, overlays), so the next run
 * starts new clones from the same state. */
static void tear_down(RunVm *r, guint n, gboolean remove_clones)
{
    for (guint i = 0; i < n; i++) {
        if (r[i].qga) {
            const char *kill[] = { "killall", "-q", "sysbench", NULL };
            g_autoptr(QgaExecResult) k = qga_exec(r[i].qga, kill, NULL, 10000, NULL);
        }
        g_clear_pointer(&r[i].qga, qmp_conn_free);
        g_clear_pointer(&r[i].qmp, qmp_conn_free);
        pid_t pid = r[i].v ? vm_running_pid(r[i].v, NULL) : 0;
        if (r[i].started && pid > 0)
            stop_vm(r[i].v, pid, 30, TRUE, FALSE);
        if (remove_clones && r[i].started && r[i].v && vm_running_pid(r[i].v, NULL) <= 0) {
            g_autofree char *state = vm_state_base();
            g_autofree char *dir = g_build_filename(state, r[i].name, NULL);
            proc_remove_tree(dir, NULL);
        }
        run_vm_clear(&r[i]);
    }
}

static json_t *run_steps(const Scenario *s, RunVm *r, GError **error)
{
    json_t *steps = json_array();
    for (guint st = 0; st < s->steps->len; st++) {
        const ScenarioLoad *l = s->steps->pdata[st];
        g_autofree char *label = scenario_load_label(s, st);
        if (!cli_quiet)
            fprintf(stderr, "scenario: step %s (%u/%u): %s\n", s->step_names[st], st + 1,
                    s->steps->len, label);
        for (guint v = 0; v < s->nvms; v++)
            if (!set_load(&r[v], &l[v], s->cgroup_load, s->balloon, s->step_s + 30, error)) {
                json_decref(steps);
                return NULL;
            }
        g_usleep((gulong)s->settle_s * G_USEC_PER_SEC);
        guint n = s->step_s - s->settle_s;
        json_t *cpu[s->nvms], *proc[s->nvms], *rss[s->nvms];
        for (guint v = 0; v < s->nvms; v++) {
            cpu[v] = json_array();
            proc[v] = json_array();
            rss[v] = json_array();
            mark(&r[v]);
        }
        for (guint t = 0; t < n && !proc_interrupted; t++) {
            g_usleep(G_USEC_PER_SEC);
            for (guint v = 0; v < s->nvms; v++) {
                double c, p, m;
                sample(&r[v], &c, &p, &m);
                json_array_append_new(cpu[v], json_real(c));
                json_array_append_new(proc[v], json_real(p));
                json_array_append_new(rss[v], json_real(m));
            }
        }
        json_t *vms = json_array();
        for (guint v = 0; v < s->nvms; v++) {
            guint64 total = 0, used = 0;
            double gmem = meminfo(&r[v], &total, &used, NULL) && total
                              ? 100.0 * (double)used / (double)total
                              : -1;
            json_array_append_new(vms,
                                  json_pack("{s:s, s:i, s:f, s:f, s:i, s:f, s:f, s:o, s:o}", "vm",
                                            s->vms[v], "cpu_target", (int)l[v].cpu, "cpu_measured",
                                            scenario_mean_of(cpu[v]), "qemu_cpu_pct",
                                            scenario_mean_of(proc[v]), "mem_target", (int)l[v].mem,
                                            "rss_pct", scenario_mean_of(rss[v]), "guest_mem_pct",
                                            gmem, "cpu_samples", cpu[v], "rss_samples", rss[v]));
            if (s->balloon)
                json_object_set_new(json_array_get(vms, v), "balloon_actual_mib",
                                    json_integer(r[v].balloon_actual >> 20));
            json_decref(proc[v]);
        }
        json_array_append_new(steps, json_pack("{s:s, s:s, s:o}", "step", s->step_names[st],
                                               "loads", label, "vms", vms));
        if (proc_interrupted) {
            g_set_error(error, BENCH_ERROR, 0, "interrupted (SIGINT/SIGTERM) in step %s",
                        s->step_names[st]);
            json_decref(steps);
            return NULL;
        }
    }
    return steps;
}

/* Whether a VM's measured load moves with the others' loads: over all
 * steps, and over the steps whose targets fit in 80 % of the host's CPUs
 * (QEMU's own threads need the rest), so that sharing an oversubscribed
 * host is told apart from interference. */
static json_t *verdict(const Scenario *s, json_t *steps, guint vcpus)
{
    guint n = s->steps->len;
    g_autofree double *means = g_new0(double, n * s->nvms);
    g_autofree gboolean *fits = g_new0(gboolean, n);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double capacity = 0.8 * 100.0 * (double)ncpu;
    double worst_err = 0;
    GString *over = g_string_new(NULL);
    size_t i, k;
    json_t *st, *vm;
    json_array_foreach(steps, i, st)
    {
        double demand = 0;
        json_array_foreach(json_object_get(st, "vms"), k, vm)
        {
            double m = json_number_value(json_object_get(vm, "cpu_measured"));
            json_int_t t = json_integer_value(json_object_get(vm, "cpu_target"));
            means[i * s->nvms + k] = m;
            demand += (double)t * vcpus;
            worst_err = MAX(worst_err, fabs(m - (double)t));
        }
        fits[i] = demand <= capacity;
        if (!fits[i])
            g_string_append_printf(over, "%s%s", over->len ? "," : "", s->step_names[i]);
    }
    guint vmi = 0, target = 0, fvmi = 0, ftarget = 0;
    double spread = scenario_spread(s, means, NULL, &vmi, &target);
    double fspread = scenario_spread(s, means, fits, &fvmi, &ftarget);
    gboolean interferes = spread > SPREAD_LIMIT;
    gboolean only_over = interferes && fspread >= 0 && fspread <= SPREAD_LIMIT;
    g_autofree char *text = NULL;
    if (spread < 0)
        text = g_strdup("cannot judge: no VM has the same target in two steps, so no step shows "
                        "whether the others' loads move it");
    else if (!interferes)
        text = g_strdup_printf("no interference: at the same target, no VM's measured load moved "
                               "more than %.1f points as the others' loads changed (limit %.0f)",
                               spread, SPREAD_LIMIT);
    else if (only_over)
        text = g_strdup_printf(
            "no interference while the targets fit in the host: in the steps whose targets add up "
            "to at most 80%% of its %ld CPUs, no VM's load moved more than %.1f points (limit "
            "%.0f). In steps %s they add up to more, and the loaded VMs share the CPUs: VM %s, "
            "asked for %u%%, measured loads %.1f points apart",
            ncpu, fspread, SPREAD_LIMIT, over->str, s->vms[vmi], target, spread);
    else
        text = g_strdup_printf("interference: VM %s, asked for %u%% in several steps, measured "
                               "loads %.1f points apart as the other VMs' loads changed (limit "
                               "%.0f), also where the targets fit in the host's %ld CPUs",
                               s->vms[fspread > SPREAD_LIMIT ? fvmi : vmi],
                               fspread > SPREAD_LIMIT ? ftarget : target,
                               fspread > SPREAD_LIMIT ? fspread : spread, SPREAD_LIMIT, ncpu);
    json_t *j = json_pack("{s:b, s:b, s:f, s:f, s:s, s:i, s:f, s:f, s:s, s:i}", "interference",
                          interferes && !only_over, "host_oversubscribed_steps_differ", only_over,
                          "max_spread_points", spread, "max_spread_within_capacity_points", fspread,
                          "vm", s->vms[vmi], "at_target", (int)target, "max_target_error_points",
                          worst_err, "limit_points", SPREAD_LIMIT, "oversubscribed_steps",
                          over->str, "host_cpus", (int)ncpu);
    json_object_set_new(j, "text", json_string(text));
    g_string_free(over, TRUE);
    return j;
}

int scenario_run(const char *file, const char *tmpl_name, const char *out_dir, gboolean json,
                 GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(file, &data, &len, &err))
        return cli_failf(error, "--scenario: %s", err->message);
    g_autoptr(Scenario) s = scenario_parse_source(file, data, len, tmpl_name != NULL, &err);
    if (!s)
        return cli_fail(error, &err);
    if (tmpl_name) { /* bench --template replaces the file's profile= or template= */
        g_free(s->tmpl);
        s->tmpl = g_strdup(tmpl_name);
        g_clear_pointer(&s->profile, g_free);
    }
    g_autoptr(Template) tmpl = NULL;
    if (s->tmpl && !(tmpl = template_open(s->tmpl, &err)))
        return cli_failf(error, "scenario %s%s: %s", file,
                         tmpl_name ? " (bench --template)" : " [scenario] template", err->message);
    g_autoptr(GPtrArray) profiles = g_ptr_array_new_with_free_func((GDestroyNotify)profile_free);
    for (guint v = 0; v < s->nvms; v++) {
        g_autofree char *name = g_strdup_printf("%s-%s", s->name, s->vms[v]);
        Profile *p = tmpl ? template_clone_profile(tmpl, name, &err)
                          : cli_load_profile_as(s->profile, name, &err);
        if (!p)
            return cli_failf(error, "scenario %s [scenario] %s: %s", file,
                             tmpl ? "template" : "profile", err->message);
        if (s->balloon && !p->balloon) {
            cli_failf(error,
                      "scenario %s [scenario] memory=balloon: profile %s has no balloon; set "
                      "balloon=true in its [vm]",
                      file, p->path);
            profile_free(p);
            return EXIT_FAIL;
        }
        g_ptr_array_add(profiles, p);
    }
    if (g_mkdir_with_parents(out_dir, 0755) < 0)
        return cli_failf(error, "bench --out: cannot create %s: %s", out_dir, g_strerror(errno));
    RunVm *r = g_new0(RunVm, s->nvms);
    gboolean ok = TRUE;
    proc_catch_interrupts(TRUE); /* the VMs it started are stopped either way */
    for (guint v = 0; ok && v < s->nvms; v++)
        ok = bring_up(&r[v], profiles->pdata[v], tmpl, s->cgroup_load, &err);
    for (guint v = 0; ok && v < s->nvms; v++) {
        if (!cli_quiet && !s->cgroup_load)
            fprintf(stderr,
                    "scenario: calibrating %s (sysbench cpu at full load, best of 2 x %d s)\n",
                    r[v].name, CALIBRATE_S);
        ok = (!s->balloon || set_balloon(&r[v], TRUE, &err)) &&
             meminfo(&r[v], &r[v].total_kib, &r[v].base_used_kib, &err) &&
             (s->cgroup_load || calibrate(&r[v], &err));
    }
    json_t *steps = ok ? run_steps(s, r, &err) : NULL;
    json_auto_t *doc = NULL;
    if (steps) {
        json_t *vms = json_array();
        for (guint v = 0; v < s->nvms; v++)
            json_array_append_new(vms, json_pack("{s:s, s:s, s:i, s:I, s:f}", "vm", s->vms[v],
                                                 "name", r[v].name, "vcpus", (int)r[v].vcpus,
                                                 "memory_mib", (json_int_t)r[v].memory_mib,
                                                 "full_load_events_per_s", r[v].full_rate));
        doc = json_pack("{s:s, s:s, s:s, s:s?, s:i, s:i, s:o, s:o}", "schema", "qlaunch-scenario/1",
                        "scenario", s->name, "file", file, "profile", s->profile, "step_s",
                        (int)s->step_s, "settle_s", (int)s->settle_s, "vms", vms, "steps", steps);
        json_object_set_new(doc, "verdict", verdict(s, steps, r[0].vcpus));
        if (tmpl) /* every VM started from this state */
            json_object_set_new(doc, "template",
                                json_pack("{s:s, s:O?}", "name", tmpl->name, "sha256",
                                          json_object_get(tmpl->info, "sha256")));
    }
    tear_down(r, s->nvms, tmpl != NULL);
    proc_catch_interrupts(FALSE);
    g_free(r);
    if (!doc)
        return cli_fail(error, &err);
    g_autofree char *jpath = g_build_filename(out_dir, "scenario.json", NULL);
    if (json_dump_file(doc, jpath, JSON_INDENT(2)) < 0)
        return cli_failf(error, "cannot write %s", jpath);
    GString *csv =
        g_string_new("step,vm,cpu_target,cpu_measured,mem_target,rss_pct,guest_mem_pct\n");
    scenario_append_rows(csv, doc, TRUE);
    g_autofree char *cpath = g_build_filename(out_dir, "scenario.csv", NULL);
    g_file_set_contents(cpath, csv->str, -1, NULL);
    g_string_free(csv, TRUE);
    g_autoptr(GError) perr = NULL;
    gboolean plotted = scenario_write_plot(s, out_dir, json_object_get(doc, "steps"), &perr);
    if (json)
        cli_print_json(doc);
    else
        scenario_print_report(s, doc);
    if (!plotted)
        fprintf(stderr, "qlaunch: plot: %s (install gnuplot-nox)\n", perr->message);
    if (!cli_quiet)
        fprintf(stderr, "scenario: results in %s/ (scenario.json, scenario.csv%s)\n", out_dir,
                plotted ? ", scenario.svg" : "");
    return EXIT_OK;
}
