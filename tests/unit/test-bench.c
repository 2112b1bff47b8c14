/* Benchmark harness pure parts: cases, sysbench output, statistics, CSV,
 * comparison, scenario files and the interference measure. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../launcher/bench.h"
#include "../../launcher/scenario.h"
#include "../../launcher/proc.h"

/* Real sysbench 1.0.20 output, trimmed to what matters plus noise. */
static const char cpu_out[] = "sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)\n\n"
                              "Prime numbers limit: 10000\n\nCPU speed:\n"
                              "    events per second:  4289.59\n\nGeneral statistics:\n"
                              "    total time:                          1.0005s\n"
                              "    total number of events:              4301\n";
static const char mem_out[] = "Total operations: 7403030 (7382729.36 per second)\n\n"
                              "7229.52 MiB transferred (7209.70 MiB/sec)\n";
static const char threads_out[] = "General statistics:\n"
                                  "    total time:                          2.0000s\n"
                                  "    total number of events:              801\n";
static const char fileio_out[] = "File operations:\n    reads/s:                      21195.36\n"
                                 "Throughput:\n    read, MiB/s:                  331.18\n"
                                 "    written, MiB/s:               220.78\n";

static void test_parse(void)
{
    double v = 0;
    g_autoptr(GError) err = NULL;
    g_assert_true(bench_parse("cpu", cpu_out, &v, &err));
    g_assert_cmpfloat_with_epsilon(v, 4289.59, 1e-9);
    g_assert_true(bench_parse("memory", mem_out, &v, &err));
    g_assert_cmpfloat_with_epsilon(v, 7209.70, 1e-9); /* MiB/sec, not MiB transferred */
    g_assert_true(bench_parse("threads", threads_out, &v, &err));
    g_assert_cmpfloat_with_epsilon(v, 400.5, 1e-9); /* events / total time */
    g_assert_true(bench_parse("fileio", fileio_out, &v, &err));
    g_assert_cmpfloat_with_epsilon(v, 551.96, 1e-9);
    g_assert_no_error(err);
}

static void test_parse_garbage(void)
{
    const char *bad[][2] = { { "cpu", "FATAL: unknown option\n" },
                             { "cpu", "events per second: nan\n" },
                             { "cpu", "events per second:  0.00\n" },
                             { "memory", "Total operations: 5\n" },
                             { "threads", "total number of events: 5\n" },
                             { "fileio", "read, MiB/s: 3\n" },
                             { "nosuch", cpu_out } };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        double v = -1;
        g_autoptr(GError) err = NULL;
        g_assert_false(bench_parse(bad[i][0], bad[i][1], &v, &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "sysbench"));
    }
}

/* iperf3 3.12 -J, trimmed to the members read; and qlaunch-probe rr's line. */
static const char tcp_json[] = "{\"start\": {}, \"end\": {\"sum_sent\": {\"bits_per_second\": "
                               "4.2e8}, \"sum_received\": {\"bits_per_second\": 410300000.5}}}";
static const char udp_json[] = "{\"end\": {\"sum\": {\"jitter_ms\": 0.0998, \"lost_packets\": 3, "
                               "\"packets\": 1200, \"lost_percent\": 0.25}}}";
static const char rr_out[] = "samples=5735 lost=0 p50_us=282 p99_us=2011 mean_us=343.9\n";

static void test_parse_net(void)
{
    double v = 0;
    g_autoptr(GError) err = NULL;
    g_assert_true(bench_parse("net-tcp", tcp_json, &v, &err));
    g_assert_cmpfloat_with_epsilon(v, 410.3000005, 1e-6); /* received, Mbit/s */
    g_assert_true(bench_parse("net-udp-loss", udp_json, &v, &err));
    g_assert_cmpfloat_with_epsilon(v, 0.25, 1e-9);
    g_assert_true(bench_parse("net-udp-jitter", udp_json, &v, &err));
    g_assert_cmpfloat_with_epsilon(v, 99.8, 1e-9); /* us */
    g_assert_true(bench_parse("net-rr-p50", rr_out, &v, &err));
    g_assert_cmpfloat_with_epsilon(v, 282, 1e-9);
    g_assert_true(bench_parse("net-rr-p99", rr_out, &v, &err));
    g_assert_cmpfloat_with_epsilon(v, 2011, 1e-9);
    g_assert_no_error(err);
    const char zero_loss[] = "{\"end\": {\"sum\": {\"packets\": 10, \"lost_percent\": 0}}}";
    g_assert_true(bench_parse("net-udp-loss", zero_loss, &v, &err)); /* 0 % is a result */
    g_assert_cmpfloat(v, ==, 0);
    const char *bad[][2] = { { "net-tcp", "iperf3: error - unable to connect to server\n" },
                             { "net-tcp", "{\"end\": {}}" },
                             { "net-udp-loss", "{\"end\": {\"sum\": {\"packets\": 0, "
                                               "\"lost_percent\": 0}}}" },
                             { "net-rr-p50", "samples=0 lost=9\n" },
                             { "net-rr-p99", "p99_us=\n" } };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_assert_false(bench_parse(bad[i][0], bad[i][1], &v, &e));
        g_assert_nonnull(e);
    }
    g_autoptr(GPtrArray) c = bench_cases("net", 2, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(c->len, ==, 6);
    BenchCase *rr = c->pdata[4];
    g_assert_cmpstr(rr->id, ==, "net-rr-p50");
    g_assert_cmpstr(rr->server, ==, "echo");
    g_assert_true(rr->lower_better);
    g_auto(GStrv) argv = bench_net_argv(c->pdata[1], "10.0.2.2", 5201, 2);
    g_autofree char *joined = g_strjoinv(" ", argv);
    g_assert_cmpstr(joined, ==, "iperf3 -c 10.0.2.2 -p 5201 -t 2 -R -J");
    g_autoptr(GPtrArray) udp = bench_cases("net-udp", 2, &err);
    g_assert_cmpuint(udp->len, ==, 2);
}

static void test_stats(void)
{
    const double v[] = { 3, 1, 2, 10 };
    BenchStats s = bench_stats(v, 4);
    g_assert_cmpfloat(s.median, ==, 2.5);
    g_assert_cmpfloat(s.min, ==, 1);
    g_assert_cmpfloat(s.max, ==, 10);
    g_assert_cmpfloat(s.mean, ==, 4);
    /* sample sd of 1,2,3,10 = sqrt(50/3) */
    g_assert_cmpfloat_with_epsilon(s.cv, sqrt(50.0 / 3) / 4, 1e-12);
    const double one[] = { 7 };
    s = bench_stats(one, 1);
    g_assert_cmpfloat(s.median, ==, 7);
    g_assert_cmpfloat(s.cv, ==, 0);
    const double odd[] = { 5, 9, 1 };
    g_assert_cmpfloat(bench_stats(odd, 3).median, ==, 5);
}

static gboolean has_arg(char **argv, const char *a)
{
    return g_strv_contains((const char *const *)argv, a);
}

static void test_cases(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) c = bench_cases("cpu,memory,threads,fileio", 2, &err);
    g_assert_no_error(err);
    /* cpu: 2 primes x (1 thread, all vCPUs); memory write+read; threads; fileio seq+rnd */
    g_assert_cmpuint(c->len, ==, 4 + 2 + 1 + 2);
    BenchCase *all = c->pdata[1];
    g_assert_cmpstr(all->id, ==, "cpu-10000-all");
    g_assert_cmpuint(all->threads, ==, 2);
    g_auto(GStrv) argv = bench_argv(all, "sysbench", "run", 5);
    g_assert_cmpstr(argv[0], ==, "sysbench");
    g_assert_cmpstr(argv[1], ==, "cpu");
    g_assert_true(has_arg(argv, "--cpu-max-prime=10000"));
    g_assert_true(has_arg(argv, "--threads=2"));
    g_assert_true(has_arg(argv, "--time=5"));
    g_assert_true(has_arg(argv, "--rand-seed=1"));
    g_assert_cmpstr(argv[g_strv_length(argv) - 1], ==, "run");
    BenchCase *mw = c->pdata[4];
    g_assert_cmpstr(mw->id, ==, "memory-write");
    g_auto(GStrv) margv = bench_argv(mw, "sysbench", "run", 1);
    g_assert_true(has_arg(margv, "--memory-block-size=1K")); /* the lab's default */
    g_assert_true(has_arg(margv, "--memory-scope=global"));
    BenchCase *fio = c->pdata[8];
    g_assert_nonnull(fio->prepare_args);
    g_auto(GStrv) prep = bench_argv(fio, "sysbench", "prepare", 0);
    g_assert_false(has_arg(prep, "--file-test-mode=rndrw"));
    g_assert_cmpstr(prep[g_strv_length(prep) - 1], ==, "prepare");

    /* one vCPU: no separate "all vCPUs" cpu case */
    g_autoptr(GPtrArray) one = bench_cases("cpu", 1, &err);
    g_assert_cmpuint(one->len, ==, 2);
    g_autoptr(GPtrArray) bad = bench_cases("cpu,gpu", 1, &err);
    g_assert_null(bad);
    g_assert_nonnull(strstr(err->message, "\"gpu\" is not a test"));
}

static json_t *doc(double guest, double host)
{
    const double g[] = { guest }, h[] = { host };
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:f}", "id", "cpu-10000-1", "test",
                          "cpu", "desc", "cpu prime=10000, threads=1", "unit", "events/s",
                          "threads", 1, "guest", bench_stats_json(g, 1), "host",
                          bench_stats_json(h, 1), "guest_pct_of_host", 100 * guest / host);
    return json_pack("{s:[{s:s, s:s, s:{s:s}, s:[o]}]}", "profiles", "name", "tiny", "status", "ok",
                     "vm", "accel", "tcg", "results", r);
}

static void test_csv_and_compare(void)
{
    json_auto_t *a = doc(700, 4300), *b = doc(770, 4300);
    g_autofree char *csv = bench_csv(a);
    g_auto(GStrv) lines = g_strsplit(csv, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 3); /* header, row, "" */
    g_assert_true(g_str_has_prefix(lines[1], "tiny,tcg,cpu-10000-1,"));
    g_assert_nonnull(strstr(lines[1], ",4300.00,"));
    g_assert_nonnull(strstr(lines[1], ",16.28,ok,4300.00,4300.00,700.00,700.00")); /* 700/4300 */
    g_auto(GStrv) cells = g_strsplit(lines[1], ",", -1);
    g_assert_cmpuint(g_strv_length(cells), ==, 16); /* the comma in desc did not split */

    g_autoptr(GError) err = NULL;
    g_autofree char *cmp = bench_compare(a, b, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(cmp, "+10.0%")); /* guest 700 -> 770 */
    g_assert_nonnull(strstr(cmp, "+0.0%"));  /* host unchanged */

    json_auto_t *other = json_pack("{s:[]}", "profiles");
    g_autofree char *none = bench_compare(a, other, &err);
    g_assert_null(none);
    g_assert_nonnull(strstr(err->message, "no profile and test in common"));
    g_clear_error(&err);
    json_auto_t *notours = json_pack("{s:i}", "x", 1);
    g_assert_null(bench_compare(notours, a, &err));
    g_assert_nonnull(strstr(err->message, "not a qlaunch bench results.json"));
}

static const char lab[] = "[scenario]\nname=lab\nprofile=lab4-vm   # the VMs\nvms=s1, s2\n"
                          "step-seconds=10\nsettle-seconds=2\n[steps]\n"
                          "1=10/30 10/30\n2=90/80 10/30\n3=90%/80% 90/80\n";

static void test_scenario_parse(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Scenario) s = scenario_parse("x.ini", lab, strlen(lab), &err);
    g_assert_no_error(err);
    g_assert_cmpstr(s->name, ==, "lab");
    g_assert_cmpstr(s->profile, ==, "lab4-vm"); /* inline comment stripped */
    g_assert_cmpuint(s->nvms, ==, 2);
    g_assert_cmpstr(s->vms[1], ==, "s2");
    g_assert_cmpuint(s->steps->len, ==, 3);
    g_assert_cmpstr(s->step_names[2], ==, "3");
    ScenarioLoad *l = s->steps->pdata[1];
    g_assert_cmpuint(l[0].cpu, ==, 90);
    g_assert_cmpuint(l[0].mem, ==, 80);
    g_assert_cmpuint(l[1].cpu, ==, 10);
    g_assert_cmpuint(s->step_s, ==, 10);
    g_assert_false(s->cgroup_load); /* default: sysbench --rate in the guest */
    const char cg[] = "[scenario]\nprofile=p\nvms=a\nload=cgroup\n[steps]\n1=5/5\n";
    g_autoptr(Scenario) c = scenario_parse("c.ini", cg, strlen(cg), &err);
    g_assert_no_error(err);
    g_assert_true(c->cgroup_load);
    g_assert_false(c->balloon); /* default: memory=hog */
    const char bl[] = "[scenario]\nprofile=p\nvms=a\nmemory=balloon\n[steps]\n1=5/5\n";
    g_autoptr(Scenario) b = scenario_parse("b.ini", bl, strlen(bl), &err);
    g_assert_no_error(err);
    g_assert_true(b->balloon);
}

static void test_scenario_errors(void)
{
    const char *bad[][2] = {
        { "[scenario]\nprofile=p\nvms=a\n[steps]\n1=10/30 10/30\n",
          "[steps] 1: \"10/30 10/30\" has 2 loads for 1 VMs" },
        { "[scenario]\nprofile=p\nvms=a\n[steps]\n1=110/30\n",
          "[steps] 1: \"110/30\" is not CPU%/memory%" },
        { "[scenario]\nprofile=p\nvms=a\n[steps]\n1=50\n", "is not CPU%/memory%" },
        { "[scenario]\nprofile=p\nvms=a\nmemory=ballon\n[steps]\n1=5/5\n",
          "[scenario] memory: \"ballon\" is neither hog" },
        { "[scenario]\nvms=a\n[steps]\n1=5/5\n", "[scenario] profile: missing" },
        { "[scenario]\nprofile=p\ntemplate=t\nvms=a\n[steps]\n1=5/5\n",
          "[scenario] template: the VMs come from profile= or from template=, not both" },
        { "[scenario]\ntemplate=\nvms=a\n[steps]\n1=5/5\n", "[scenario] template: empty" },
        { "[scenario]\nprofile=p\n[steps]\n1=5/5\n", "[scenario] vms: missing" },
        { "[scenario]\nprofile=p\nvms=a,a\n[steps]\n1=5/5 5/5\n", "\"a\" is named twice" },
        { "[scenario]\nprofile=p\nvms=../x\n[steps]\n1=5/5\n", "does not make a valid VM name" },
        { "[scenario]\nprofile=p\nvms=a\nstep=3\n[steps]\n1=5/5\n",
          "[scenario] step: unknown key" },
        { "[scenario]\nprofile=p\nvms=a\nstep-seconds=3\nsettle-seconds=3\n[steps]\n1=5/5\n",
          "leaves no time to measure" },
        { "[scenario]\nprofile=p\nvms=a\n[steps]\n", "[steps]: no steps" },
        { "[scenario]\nprofile=p\nvms=a\n[step 1]\n", "[step 1]: unknown group" },
        { "not ini", "not an INI file" },
        { "[scenario]\nprofile=p\nvms=a\nload=stress\n[steps]\n1=5/5\n",
          "[scenario] load: \"stress\" is not a load method" },
    };
    /* template=: the VMs are clones of it; no profile */
    const char tp[] = "[scenario]\ntemplate=warm\nvms=a,b\n[steps]\n1=5/5 5/5\n";
    g_autoptr(GError) terr = NULL;
    g_autoptr(Scenario) t = scenario_parse("t.ini", tp, strlen(tp), &terr);
    g_assert_no_error(terr);
    g_assert_cmpstr(t->tmpl, ==, "warm");
    g_assert_null(t->profile);
    /* a template from the command line: the file needs neither */
    const char none[] = "[scenario]\nvms=a\n[steps]\n1=5/5\n";
    g_autoptr(Scenario) n = scenario_parse_source("n.ini", none, strlen(none), TRUE, &terr);
    g_assert_no_error(terr);
    g_assert_null(n->profile);
    g_assert_null(n->tmpl);
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(Scenario) s = scenario_parse("f.ini", bad[i][0], strlen(bad[i][0]), &err);
        g_assert_null(s);
        if (!strstr(err->message, bad[i][1]) || !strstr(err->message, "f.ini"))
            g_error("case %zu: got \"%s\", want ...%s...", i, err->message, bad[i][1]);
    }
}

static void test_spread(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Scenario) s = scenario_parse("x.ini", lab, strlen(lab), &err);
    /* steps x VMs: s2 asks 10 % in steps 1 and 2 and moves 10 -> 25 when s1 loads */
    const double moved[] = { 11, 10, 88, 25, 89, 87 };
    guint vm = 9, target = 9;
    g_assert_cmpfloat_with_epsilon(scenario_spread(s, moved, NULL, &vm, &target), 15, 1e-9);
    g_assert_cmpuint(vm, ==, 1);
    g_assert_cmpuint(target, ==, 10);
    const double steady[] = { 11, 10, 88, 11, 89, 87 };
    g_assert_cmpfloat_with_epsilon(scenario_spread(s, steady, NULL, &vm, &target), 1, 1e-9);
    /* leaving step 2 out: s2's 10 % is compared between steps 1 and 3 only (its target
     * there is 90, so nothing is left to compare for s2; s1 has 90 in steps 2 and 3) */
    const gboolean use[] = { TRUE, FALSE, TRUE };
    g_assert_cmpfloat(scenario_spread(s, moved, use, &vm, &target), <, 0);
    const gboolean use23[] = { FALSE, TRUE, TRUE };
    g_assert_cmpfloat_with_epsilon(scenario_spread(s, moved, use23, &vm, &target), 1, 1e-9);
    g_assert_cmpuint(vm, ==, 0);
    /* no VM with one target twice: cannot judge */
    const char two[] = "[scenario]\nprofile=p\nvms=a\n[steps]\n1=10/5\n2=20/5\n";
    g_autoptr(Scenario) t = scenario_parse("t.ini", two, strlen(two), &err);
    const double m[] = { 10, 20 };
    g_assert_cmpfloat(scenario_spread(t, m, NULL, &vm, &target), <, 0);
}

static void test_shipped_lab4(void)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(SRCDIR "/profiles/scenarios/lab4.ini", &data, &len, NULL));
    g_autoptr(GError) err = NULL;
    g_autoptr(Scenario) s = scenario_parse("lab4.ini", data, len, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(s->nvms, ==, 4);
    g_assert_cmpuint(s->steps->len, ==, 16); /* the lab's sixteen scenarios */
    ScenarioLoad *last = s->steps->pdata[15];
    g_assert_cmpuint(last[2].cpu, ==, 80); /* 16: 60/50 40/40 80/70 20/30 */
    g_assert_cmpuint(last[2].mem, ==, 70);
}

/* What reaches a gnuplot script or a CSV file from a scenario or profile. */
static void test_gp_string(void)
{
    struct {
        const char *in, *out;
    } cases[] = {
        { "plain", "'plain'" },
        { "a'.system(\"id\").'", "'a''.system(\"id\").'''" },
        { "new\nline\r", "'new line '" },
        { "`id` @m \\n", "'`id` @m \\n'" },
        { "", "''" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *q = proc_gp_string(cases[i].in);
        g_assert_cmpstr(q, ==, cases[i].out);
    }
}

static void test_csv_field(void)
{
    g_autofree char *a = proc_csv_field("forty");
    g_autofree char *b = proc_csv_field("a,\"b\"");
    g_autofree char *c = proc_csv_field("x\ny");
    g_assert_cmpstr(a, ==, "forty");
    g_assert_cmpstr(b, ==, "\"a,\"\"b\"\"\"");
    g_assert_cmpstr(c, ==, "\"x\ny\"");
}

static int thread_release_fd = -1;

/* Ends the whole process once the release pipe closes (_exit: no exit
 * handlers in the forked child, a sanitizer's among them). */
static void *wait_for_release(void *arg)
{
    char c;
    (void)arg;
    _exit(read(thread_release_fd, &c, 1) == 0 ? 0 : 1);
}

static char proc_state(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *stat = NULL;
    const char *paren = g_file_get_contents(path, &stat, NULL, NULL) ? strrchr(stat, ')') : NULL;
    return paren && paren[1] == ' ' ? paren[2] : '?';
}

/* Forks a child whose second thread runs fn, and whose main thread then
 * ends (main_exits) or waits for *release (the write end of a pipe the
 * child reads, also in thread_release_fd) to be closed and exits 0. */
static pid_t fork_two_threads(void *(*fn)(void *), gboolean main_exits, int *release)
{
    int p[2];
    g_assert_cmpint(pipe(p), ==, 0);
    pid_t child = fork();
    g_assert_cmpint(child, >=, 0);
    if (child == 0) {
        close(p[1]);
        thread_release_fd = p[0];
        pthread_t t;
        if (pthread_create(&t, NULL, fn, NULL) != 0)
            _exit(1);
        if (main_exits)
            pthread_exit(NULL); /* the main thread ends, the other one lives on */
        char c;
        while (read(p[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    close(p[0]);
    *release = p[1];
    return child;
}

/* A killed QEMU's main thread is a zombie before its other threads have
 * exited, and they still hold its files and disk locks: not gone yet. */
static void test_alive_while_threads_exit(void)
{
    int release = -1;
    pid_t child = fork_two_threads(wait_for_release, TRUE, &release);
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (proc_state(child) != 'Z' && g_get_monotonic_time() < deadline)
        g_usleep(1000);
    g_assert_cmpint(proc_state(child), ==, 'Z');
    g_assert_true(proc_alive(child));
    close(release); /* its last thread returns: the process exits */
    g_assert_true(proc_wait_gone(child, 10000));
    int status = 0;
    g_assert_cmpint(waitpid(child, &status, 0), ==, child);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static volatile int spin_stop;
static void *spin(void *arg)
{
    (void)arg;
    while (!spin_stop) {
    }
    return NULL;
}

/* proc_cpu_ns counts every thread: here only the second one works (a
 * reader of the main thread's schedstat alone would see nothing). */
static void test_cpu_ns_all_threads(void)
{
    int release = -1;
    pid_t child = fork_two_threads(spin, FALSE, &release);
    guint64 first = 0, now = 0;
    g_assert_true(proc_cpu_ns(child, &first));
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    do {
        g_usleep(10000);
        g_assert_true(proc_cpu_ns(child, &now));
    } while (now - first < 50 * 1000000ULL && g_get_monotonic_time() < deadline);
    g_assert_cmpuint(now - first, >=, 50 * 1000000ULL);
    close(release);
    int status = 0;
    g_assert_cmpint(waitpid(child, &status, 0), ==, child);
    g_assert_false(proc_cpu_ns(child, &now)); /* reaped: gone */
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bench/parse", test_parse);
    g_test_add_func("/bench/parse-garbage", test_parse_garbage);
    g_test_add_func("/bench/parse-net", test_parse_net);
    g_test_add_func("/bench/stats", test_stats);
    g_test_add_func("/bench/cases", test_cases);
    g_test_add_func("/bench/csv-compare", test_csv_and_compare);
    g_test_add_func("/scenario/parse", test_scenario_parse);
    g_test_add_func("/plot/gp-string", test_gp_string);
    g_test_add_func("/plot/csv-field", test_csv_field);
    g_test_add_func("/proc/alive-while-threads-exit", test_alive_while_threads_exit);
    g_test_add_func("/proc/cpu-ns-all-threads", test_cpu_ns_all_threads);
    g_test_add_func("/scenario/errors", test_scenario_errors);
    g_test_add_func("/scenario/spread", test_spread);
    g_test_add_func("/scenario/lab4", test_shipped_lab4);
    return g_test_run();
}
