/* Benchmark cases, sysbench output, statistics, CSV and comparison. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(qlaunch_bench_error, bench_error)

#define FILEIO_SIZE "128M"
#define FILEIO_FILES "4"

void bench_case_free(BenchCase *c)
{
    if (!c)
        return;
    g_free(c->id);
    g_free(c->test);
    g_free(c->desc);
    g_free(c->unit);
    g_strfreev(c->args);
    g_strfreev(c->prepare_args);
    g_free(c);
}

static BenchCase *new_case(const char *id, const char *test, const char *unit, guint threads,
                           const char *desc_fmt, ...) G_GNUC_PRINTF(5, 6);
static BenchCase *new_case(const char *id, const char *test, const char *unit, guint threads,
                           const char *desc_fmt, ...)
{
    BenchCase *c = g_new0(BenchCase, 1);
    va_list ap;
    va_start(ap, desc_fmt);
    c->desc = g_strdup_vprintf(desc_fmt, ap);
    va_end(ap);
    c->id = g_strdup(id);
    c->test = g_strdup(test);
    c->unit = g_strdup(unit);
    c->threads = threads;
    return c;
}

static GStrv strv(const char *first, ...) G_GNUC_NULL_TERMINATED;
static GStrv strv(const char *first, ...)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new();
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        g_ptr_array_add(a, g_strdup(s));
    va_end(ap);
    g_ptr_array_add(a, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&a), FALSE);
}

static void add_cpu(GPtrArray *out, guint vcpus)
{
    const guint primes[] = { 10000, 20000 };
    for (gsize i = 0; i < G_N_ELEMENTS(primes); i++) {
        guint threads[] = { 1, vcpus };
        for (gsize t = 0; t < (vcpus > 1 ? 2u : 1u); t++) {
            g_autofree char *id = g_strdup_printf("cpu-%u-%s", primes[i], t == 0 ? "1" : "all");
            BenchCase *c = new_case(id, "cpu", "events/s", threads[t], "cpu prime=%u threads=%u",
                                    primes[i], threads[t]);
            g_autofree char *p = g_strdup_printf("--cpu-max-prime=%u", primes[i]);
            g_autofree char *th = g_strdup_printf("--threads=%u", threads[t]);
            c->args = strv("cpu", p, th, NULL);
            g_ptr_array_add(out, c);
        }
    }
}

static void add_memory(GPtrArray *out)
{
    const char *ops[] = { "write", "read" };
    for (gsize i = 0; i < G_N_ELEMENTS(ops); i++) {
        g_autofree char *id = g_strconcat("memory-", ops[i], NULL);
        BenchCase *c = new_case(id, "memory", "MiB/s", 1, "memory 1K blocks %s global", ops[i]);
        g_autofree char *op = g_strconcat("--memory-oper=", ops[i], NULL);
        c->args = strv("memory", "--memory-block-size=1K", "--memory-total-size=1T",
                       "--memory-scope=global", op, "--threads=1", NULL);
        g_ptr_array_add(out, c);
    }
}

static void add_fileio(GPtrArray *out)
{
    const char *modes[][2] = { { "seqrd", "sequential read" }, { "rndrw", "random read/write" } };
    for (gsize i = 0; i < G_N_ELEMENTS(modes); i++) {
        g_autofree char *id = g_strconcat("fileio-", modes[i][0], NULL);
        BenchCase *c = new_case(id, "fileio", "MiB/s", 1,
                                "fileio %s " FILEIO_SIZE " in " FILEIO_FILES " files", modes[i][1]);
        g_autofree char *mode = g_strconcat("--file-test-mode=", modes[i][0], NULL);
        c->args = strv("fileio", "--file-total-size=" FILEIO_SIZE, "--file-num=" FILEIO_FILES, mode,
                       "--threads=1", NULL);
        c->prepare_args =
            strv("fileio", "--file-total-size=" FILEIO_SIZE, "--file-num=" FILEIO_FILES, NULL);
        g_ptr_array_add(out, c);
    }
}

/* iperf3's UDP test sends at this rate (bits/s), in the guest and on the host. */
#define NET_UDP_RATE "50M"

static void add_net(GPtrArray *out, const char *const *want)
{
    gboolean all = g_strv_contains(want, "net");
    if (all || g_strv_contains(want, "net-tcp")) {
        BenchCase *c =
            new_case("net-tcp-tx", "net-tcp", "Mbit/s", 1, "net TCP out of the guest (iperf3)");
        c->args = strv("iperf3", "-c", "{addr}", "-p", "{port}", "-t", "{time}", "-J", NULL);
        c->server = "iperf3";
        g_ptr_array_add(out, c);
        c = new_case("net-tcp-rx", "net-tcp", "Mbit/s", 1, "net TCP into the guest (iperf3 -R)");
        c->args = strv("iperf3", "-c", "{addr}", "-p", "{port}", "-t", "{time}", "-R", "-J", NULL);
        c->server = "iperf3";
        g_ptr_array_add(out, c);
    }
    if (all || g_strv_contains(want, "net-udp")) {
        const char *what[][3] = { { "net-udp-loss", "%", "loss" },
                                  { "net-udp-jitter", "us", "jitter" } };
        for (gsize i = 0; i < G_N_ELEMENTS(what); i++) {
            BenchCase *c = new_case(what[i][0], what[i][0], what[i][1], 1,
                                    "net UDP " NET_UDP_RATE "bit/s %s (iperf3)", what[i][2]);
            c->args = strv("iperf3", "-c", "{addr}", "-p", "{port}", "-t", "{time}", "-u", "-b",
                           NET_UDP_RATE, "-J", NULL);
            c->server = "iperf3";
            c->lower_better = TRUE;
            g_ptr_array_add(out, c);
        }
    }
    if (all || g_strv_contains(want, "net-rr")) {
        const char *pct[] = { "p50", "p99" };
        for (gsize i = 0; i < G_N_ELEMENTS(pct); i++) {
            g_autofree char *id = g_strconcat("net-rr-", pct[i], NULL);
            BenchCase *c =
                new_case(id, id, "us", 1, "net UDP round trip %s (qlaunch-probe)", pct[i]);
            c->args = strv("qlaunch-probe", "rr", "{addr}", "{port}", "{time}", NULL);
            c->server = "echo";
            c->lower_better = TRUE;
            g_ptr_array_add(out, c);
        }
    }
}

GStrv bench_net_argv(const BenchCase *c, const char *addr, guint port, guint time_s)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);
    for (gsize i = 0; c->args[i]; i++) {
        const char *x = c->args[i];
        g_ptr_array_add(a, !strcmp(x, "{addr}")   ? g_strdup(addr)
                           : !strcmp(x, "{port}") ? g_strdup_printf("%u", port)
                           : !strcmp(x, "{time}") ? g_strdup_printf("%u", time_s)
                                                  : g_strdup(x));
    }
    g_ptr_array_add(a, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&a), FALSE);
}

GStrv bench_server_argv(const BenchCase *c, const char *probe, const char *addr, guint port,
                        const char **ready)
{
    g_autofree char *p = g_strdup_printf("%u", port);
    if (g_strcmp0(c->server, "echo") == 0) {
        *ready = "listening";
        return strv(probe, "echo", addr, p, NULL);
    }
    *ready = "Server listening";
    return strv("iperf3", "-s", "-B", addr, "-p", p, "--forceflush", NULL);
}

GPtrArray *bench_cases(const char *tests, guint vcpus, GError **error)
{
    static const char *const known[] = { "cpu",     "memory",  "threads", "fileio", "net",
                                         "net-tcp", "net-udp", "net-rr",  NULL };
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)bench_case_free);
    g_auto(GStrv) want = g_strsplit(tests, ",", -1);
    for (gsize i = 0; want[i]; i++)
        if (!g_strv_contains(known, g_strstrip(want[i]))) {
            g_set_error(error, BENCH_ERROR, 0,
                        "--tests: \"%s\" is not a test (cpu, memory, threads, fileio, net, "
                        "net-tcp, net-udp, net-rr)",
                        want[i]);
            return NULL;
        }
    if (g_strv_contains((const char *const *)want, "cpu"))
        add_cpu(out, vcpus);
    if (g_strv_contains((const char *const *)want, "memory"))
        add_memory(out);
    if (g_strv_contains((const char *const *)want, "threads")) {
        BenchCase *c = new_case("threads", "threads", "events/s", vcpus,
                                "threads yields=1000 locks=8 threads=%u", vcpus);
        g_autofree char *th = g_strdup_printf("--threads=%u", vcpus);
        c->args = strv("threads", "--thread-yields=1000", "--thread-locks=8", th, NULL);
        g_ptr_array_add(out, c);
    }
    if (g_strv_contains((const char *const *)want, "fileio"))
        add_fileio(out);
    add_net(out, (const char *const *)want);
    if (out->len == 0) {
        g_set_error(error, BENCH_ERROR, 0,
                    "--tests: no test named (cpu, memory, threads, fileio, net)");
        return NULL;
    }
    return g_steal_pointer(&out);
}

GStrv bench_argv(const BenchCase *c, const char *sysbench, const char *action, guint time_s)
{
    gboolean run = strcmp(action, "run") == 0;
    char *const *args = run || !c->prepare_args ? c->args : c->prepare_args;
    g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(a, g_strdup(sysbench));
    for (gsize i = 0; args[i]; i++)
        g_ptr_array_add(a, g_strdup(args[i]));
    if (run) {
        g_ptr_array_add(a, g_strdup_printf("--time=%u", time_s));
        g_ptr_array_add(a, g_strdup("--rand-seed=1"));
    }
    g_ptr_array_add(a, g_strdup(action));
    g_ptr_array_add(a, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&a), FALSE);
}

/* The number after "label" on the same line (skipping ':' and blanks). */
static gboolean number_after(const char *text, const char *label, double *out)
{
    const char *p = strstr(text, label);
    if (!p)
        return FALSE;
    p += strlen(label);
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '(')
        p++;
    char *end = NULL;
    double v = g_ascii_strtod(p, &end);
    if (end == p || !isfinite(v))
        return FALSE;
    *out = v;
    return TRUE;
}

/* iperf3 -J: the member at a path of object keys, a number. */
static gboolean iperf_number(const char *output, const char *const *path, double *out)
{
    json_auto_t *doc = json_loads(output, 0, NULL);
    json_t *x = doc;
    for (gsize i = 0; path[i]; i++)
        x = json_object_get(x, path[i]);
    if (!json_is_number(x))
        return FALSE;
    *out = json_number_value(x);
    return isfinite(*out);
}

/* net-*: iperf3's JSON or qlaunch-probe's key=value line. */
static gboolean net_parse(const char *test, const char *output, double *value)
{
    if (strcmp(test, "net-tcp") == 0) {
        const char *const path[] = { "end", "sum_received", "bits_per_second", NULL };
        gboolean ok = iperf_number(output, path, value);
        *value /= 1e6;
        return ok && *value > 0;
    }
    if (g_str_has_prefix(test, "net-udp-")) {
        const char *const loss[] = { "end", "sum", "lost_percent", NULL };
        const char *const jitter[] = { "end", "sum", "jitter_ms", NULL };
        const char *const packets[] = { "end", "sum", "packets", NULL };
        gboolean is_loss = strcmp(test, "net-udp-loss") == 0;
        double sent = 0;
        if (!iperf_number(output, packets, &sent) || sent <= 0 ||
            !iperf_number(output, is_loss ? loss : jitter, value) || *value < 0)
            return FALSE;
        if (!is_loss)
            *value *= 1000; /* ms -> us */
        return TRUE;
    }
    if (g_str_has_prefix(test, "net-rr-")) {
        g_autofree char *key = g_strdup_printf(" %s_us=", test + strlen("net-rr-"));
        const char *p = strstr(output, key);
        char *end = NULL;
        *value = p ? g_ascii_strtod(p + strlen(key), &end) : 0;
        return p && end != p + strlen(key) && *value > 0;
    }
    return FALSE;
}

gboolean bench_parse(const char *test, const char *output, double *value, GError **error)
{
    double a = 0, b = 0;
    gboolean ok = FALSE;
    if (g_str_has_prefix(test, "net-")) {
        if (net_parse(test, output, value))
            return TRUE;
        g_autofree char *tail = g_strndup(output, 300);
        g_set_error(error, BENCH_ERROR, 0, "cannot read a %s figure from the output: %s", test,
                    tail);
        return FALSE;
    }
    if (strcmp(test, "cpu") == 0) {
        ok = number_after(output, "events per second", &a);
        *value = a;
    } else if (strcmp(test, "memory") == 0) {
        const char *t = strstr(output, "MiB transferred");
        ok = t && number_after(t, "MiB transferred", &a);
        *value = a;
    } else if (strcmp(test, "threads") == 0) {
        ok = number_after(output, "total time", &a) &&
             number_after(output, "total number of events", &b) && a > 0;
        *value = ok ? b / a : 0;
    } else if (strcmp(test, "fileio") == 0) {
        ok = number_after(output, "read, MiB/s", &a) && number_after(output, "written, MiB/s", &b);
        *value = a + b;
    }
    if (!ok || *value <= 0) {
        g_autofree char *tail = g_strndup(output, 300);
        g_set_error(error, BENCH_ERROR, 0, "cannot read a %s figure from sysbench's output: %s",
                    test, tail);
        return FALSE;
    }
    return TRUE;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

BenchStats bench_stats(const double *values, guint n)
{
    BenchStats s = { .n = n };
    if (n == 0)
        return s;
    g_autofree double *v = g_memdup2(values, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    s.min = v[0];
    s.max = v[n - 1];
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    double sum = 0;
    for (guint i = 0; i < n; i++)
        sum += v[i];
    s.mean = sum / n;
    if (n > 1 && s.mean != 0) {
        double ss = 0;
        for (guint i = 0; i < n; i++)
            ss += (v[i] - s.mean) * (v[i] - s.mean);
        s.cv = sqrt(ss / (n - 1)) / fabs(s.mean);
    }
    return s;
}

json_t *bench_stats_json(const double *values, guint n)
{
    BenchStats s = bench_stats(values, n);
    json_t *runs = json_array();
    for (guint i = 0; i < n; i++)
        json_array_append_new(runs, json_real(values[i]));
    return json_pack("{s:o, s:f, s:f, s:f, s:f, s:f}", "runs", runs, "median", s.median, "min",
                     s.min, "max", s.max, "mean", s.mean, "cv", s.cv);
}

static double num(json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(o, a);
    return json_number_value(b ? json_object_get(x, b) : x);
}

char *bench_csv(json_t *results)
{
    GString *s = g_string_new("profile,accel,test,description,unit,threads,host_median,host_cv,"
                              "guest_median,guest_cv,guest_pct_of_host,status,host_min,host_max,"
                              "guest_min,guest_max\n");
    size_t i, k;
    json_t *p, *r;
    json_array_foreach(json_object_get(results, "profiles"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        const char *accel = json_string_value(json_object_get(json_object_get(p, "vm"), "accel"));
        const char *status = json_string_value(json_object_get(p, "status"));
        if (json_array_size(json_object_get(p, "results")) == 0)
            g_string_append_printf(s, "%s,,,,,,,,,,,%s,,,,\n", name, status);
        json_array_foreach(json_object_get(p, "results"), k, r)
        {
            g_autofree char *desc = g_strdup(json_string_value(json_object_get(r, "desc")));
            g_strdelimit(desc, ",\"", ' ');
            g_string_append_printf(
                s,
                "%s,%s,%s,%s,%s,%" JSON_INTEGER_FORMAT
                ",%.2f,%.4f,%.2f,%.4f,%.2f,%s,%.2f,%.2f,%.2f,%.2f\n",
                name, accel ? accel : "", json_string_value(json_object_get(r, "id")), desc,
                json_string_value(json_object_get(r, "unit")),
                json_integer_value(json_object_get(r, "threads")), num(r, "host", "median"),
                num(r, "host", "cv"), num(r, "guest", "median"), num(r, "guest", "cv"),
                num(r, "guest_pct_of_host", NULL), status, num(r, "host", "min"),
                num(r, "host", "max"), num(r, "guest", "min"), num(r, "guest", "max"));
        }
    }
    return g_string_free(s, FALSE);
}

static json_t *find_result(json_t *doc, const char *profile, const char *id)
{
    size_t i, k;
    json_t *p, *r;
    json_array_foreach(json_object_get(doc, "profiles"), i, p)
    {
        if (g_strcmp0(json_string_value(json_object_get(p, "name")), profile) != 0)
            continue;
        json_array_foreach(json_object_get(p, "results"), k,
                           r) if (g_strcmp0(json_string_value(json_object_get(r, "id")), id) ==
                                  0) return r;
    }
    return NULL;
}

static double change(double a, double b)
{
    return a != 0 ? 100.0 * (b - a) / a : 0;
}

char *bench_compare(json_t *a, json_t *b, GError **error)
{
    if (!json_is_array(json_object_get(a, "profiles")) ||
        !json_is_array(json_object_get(b, "profiles"))) {
        g_set_error(error, BENCH_ERROR, 0, "not a qlaunch bench results.json (no \"profiles\")");
        return NULL;
    }
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%-12s %-16s %-9s %12s %12s %8s %12s %12s %8s\n", "profile", "test",
                           "unit", "guest A", "guest B", "change", "host A", "host B", "change");
    guint matched = 0;
    size_t i, k;
    json_t *p, *r;
    json_array_foreach(json_object_get(a, "profiles"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        json_array_foreach(json_object_get(p, "results"), k, r)
        {
            const char *id = json_string_value(json_object_get(r, "id"));
            json_t *o = find_result(b, name, id);
            if (!o) {
                g_string_append_printf(s, "%-12s %-16s only in A\n", name, id);
                continue;
            }
            matched++;
            double ga = num(r, "guest", "median"), gb = num(o, "guest", "median");
            double ha = num(r, "host", "median"), hb = num(o, "host", "median");
            g_string_append_printf(
                s, "%-12s %-16s %-9s %12.2f %12.2f %+7.1f%% %12.2f %12.2f %+7.1f%%\n", name, id,
                json_string_value(json_object_get(r, "unit")), ga, gb, change(ga, gb), ha, hb,
                change(ha, hb));
        }
    }
    json_array_foreach(json_object_get(b, "profiles"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        json_array_foreach(json_object_get(p, "results"), k, r)
        {
            const char *id = json_string_value(json_object_get(r, "id"));
            if (!find_result(a, name, id))
                g_string_append_printf(s, "%-12s %-16s only in B\n", name, id);
        }
    }
    if (!matched) {
        g_string_free(s, TRUE);
        g_set_error(error, BENCH_ERROR, 0,
                    "the two files have no profile and test in common (compare runs of the same "
                    "profiles)");
        return NULL;
    }
    return g_string_free(s, FALSE);
}
