/* qlaunch stats VM and qlaunch top: watching VMs from the host. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "stats.h"

static char *human(double bytes)
{
    const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    return g_strdup_printf(u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void print_rates(json_t *x, const char *a, const char *b, const char *la, const char *lb)
{
    g_autofree char *ka = g_strconcat(a, "_per_s", NULL), *kb = g_strconcat(b, "_per_s", NULL);
    if (!json_object_get(x, ka))
        return;
    g_autofree char *ra = human(stats_num(x, ka)), *rb = human(stats_num(x, kb));
    printf("  [%s %s/s, %s %s/s]", la, ra, lb, rb);
}

static void print_sample(json_t *j)
{
    printf("%s: %s, up %" JSON_INTEGER_FORMAT " s, QEMU pid %" JSON_INTEGER_FORMAT
           ", CPU %.1f%% (%s, %.1f s)\n",
           json_string_value(json_object_get(j, "name")),
           json_string_value(json_object_get(j, "state")),
           json_integer_value(json_object_get(j, "uptime_s")),
           json_integer_value(json_object_get(j, "pid")), stats_num(j, "cpu_pct"),
           json_string_value(json_object_get(j, "window")), stats_num(j, "window_s"));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(j, "vcpus"), i, x)
        printf("vcpu %zu:  thread %" JSON_INTEGER_FORMAT ", %.2f s CPU, %.1f%%\n", i,
               json_integer_value(json_object_get(x, "thread_id")), stats_num(x, "cpu_s"),
               stats_num(x, "cpu_pct"));
    g_autofree char *rss = human(stats_num(j, "rss_bytes"));
    printf("memory:  QEMU RSS %s", rss);
    json_t *m = json_object_get(j, "memory");
    if (json_is_object(m)) {
        g_autofree char *t = human(stats_num(m, "total_bytes")),
                        *a = human(stats_num(m, "available_bytes"));
        printf("; guest %s total, %s available (%s)", t, a,
               json_string_value(json_object_get(m, "source")));
    } else {
        printf("; guest: unknown (%s)", json_string_value(json_object_get(j, "guest")));
    }
    json_t *bl = json_object_get(j, "balloon");
    if (json_is_object(bl)) {
        g_autofree char *t = human(stats_num(bl, "target_bytes")),
                        *a = human(stats_num(bl, "actual_bytes"));
        printf("; balloon target %s, actual %s", t, a);
    }
    printf("\n");
    json_array_foreach(json_object_get(j, "disks"), i, x)
    {
        g_autofree char *r = human(stats_num(x, "rd_bytes")), *w = human(stats_num(x, "wr_bytes"));
        printf("disk %s: read %s in %.0f ops (%.2f ms/op), written %s in %.0f ops (%.2f ms/op), "
               "%.0f flushes",
               json_string_value(json_object_get(x, "name")), r, stats_num(x, "rd_ops"),
               stats_num(x, "rd_latency_ms"), w, stats_num(x, "wr_ops"),
               stats_num(x, "wr_latency_ms"), stats_num(x, "flush_ops"));
        print_rates(x, "rd_bytes", "wr_bytes", "read", "write");
        printf("\n");
    }
    json_array_foreach(json_object_get(j, "nics"), i, x)
    {
        printf("nic %s:   %s %s", json_string_value(json_object_get(x, "name")),
               json_string_value(json_object_get(x, "mode")),
               json_string_value(json_object_get(x, "mac")));
        if (json_object_get(x, "rx_bytes")) {
            g_autofree char *r = human(stats_num(x, "rx_bytes")),
                            *t = human(stats_num(x, "tx_bytes"));
            printf(", guest received %s / %.0f packets, sent %s / %.0f packets (%s)", r,
                   stats_num(x, "rx_packets"), t, stats_num(x, "tx_packets"),
                   json_string_value(json_object_get(x, "source")));
            print_rates(x, "rx_bytes", "tx_bytes", "rx", "tx");
        } else {
            printf(", counters: %s", json_string_value(json_object_get(x, "source")));
        }
        printf("\n");
    }
}

int cmd_stats(int argc, char **argv, GError **error)
{
    gboolean json = FALSE, no_guest = FALSE;
    double interval = 0;
    int count = 0;
    GOptionEntry entries[] = {
        { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &interval,
          "Sample every S seconds (rates and CPU % over the interval)", "S" },
        { "count", 'n', 0, G_OPTION_ARG_INT, &count,
          "Number of samples (default 1, or until Ctrl-C with --interval)", "N" },
        { "no-guest", 0, 0, G_OPTION_ARG_NONE, &no_guest,
          "Do not ask the guest agent (guest memory and user-mode NIC counters)", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          "Print JSON (one object per line when sampling more than once)", NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    if (interval < 0 || count < 0 || (count > 1 && interval <= 0))
        return cli_usagef("stats",
                          "stats: --count N>1 needs --interval S>0 (e.g. --interval 1 --count 5)");
    if (count == 0)
        count = interval > 0 ? G_MAXINT : 1;
    g_autoptr(GError) err = NULL;
    g_autoptr(VmPaths) v = cli_vm(argv[1], &err);
    if (!v)
        return cli_fail(error, &err);
    StatsSource src = { .v = v };
    json_t *prev = NULL;
    proc_catch_interrupts(TRUE);
    int rc = EXIT_OK;
    for (int i = 0; i < count && !proc_interrupted; i++) {
        if (i > 0)
            g_usleep((gulong)(interval * G_USEC_PER_SEC));
        if (proc_interrupted)
            break;
        json_t *cur = stats_sample(&src, !no_guest, &err);
        stats_source_clear(&src);
        if (!cur) {
            rc = cli_fail(error, &err);
            break;
        }
        stats_derive(cur, prev);
        if (json && count == 1) {
            cli_print_json(cur);
        } else if (json) {
            g_autofree char *line = json_dumps(cur, JSON_COMPACT);
            printf("%s\n", line);
        } else {
            if (i > 0)
                printf("\n");
            print_sample(cur);
        }
        fflush(stdout);
        json_decref(prev);
        prev = cur;
    }
    json_decref(prev);
    proc_catch_interrupts(FALSE);
    return rc;
}

/* ---- top ---- */

typedef enum { SORT_CPU, SORT_MEM, SORT_NAME, SORT_DISK } SortKey;

static double row_disk(json_t *r)
{
    double s = 0;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(r, "disks"), i, d) s +=
        stats_num(d, "rd_bytes_per_s") + stats_num(d, "wr_bytes_per_s");
    return s;
}

static SortKey sort_key;

static int compare_rows(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double dx = 0, dy = 0;
    switch (sort_key) {
    case SORT_NAME:
        return g_strcmp0(json_string_value(json_object_get(x, "name")),
                         json_string_value(json_object_get(y, "name")));
    case SORT_MEM:
        dx = stats_num(x, "rss_bytes");
        dy = stats_num(y, "rss_bytes");
        break;
    case SORT_DISK:
        dx = row_disk(x);
        dy = row_disk(y);
        break;
    case SORT_CPU:
        dx = stats_num(x, "cpu_pct");
        dy = stats_num(y, "cpu_pct");
        break;
    }
    return dx < dy ? 1 : dx > dy ? -1 : 0;
}

/* Every VM with a runtime dir: a sample each, rates against prev (a JSON
 * object name -> sample; updated). */
static json_t *top_sample(json_t *prev)
{
    g_auto(GStrv) names = vm_list_names();
    json_t *rows = json_array();
    for (gsize i = 0; names[i]; i++) {
        g_autoptr(VmPaths) v = vm_paths_new(names[i]);
        StatsSource src = { .v = v };
        g_autoptr(GError) err = NULL;
        json_t *cur = stats_sample(&src, FALSE, &err);
        stats_source_clear(&src);
        if (!cur) {
            json_array_append_new(rows,
                                  json_pack("{s:s, s:s}", "name", names[i], "state",
                                            g_error_matches(err, VM_ERROR, VM_ERROR_NOT_RUNNING)
                                                ? "shut off"
                                                : "unresponsive"));
            continue;
        }
        json_t *p = json_object_get(prev, names[i]);
        stats_derive(cur, p);
        json_object_set(prev, names[i], cur);
        json_array_append_new(rows, cur);
    }
    return rows;
}

static void top_print(json_t *rows, gboolean bold)
{
    g_autoptr(GPtrArray) v = g_ptr_array_new();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) g_ptr_array_add(v, r);
    qsort(v->pdata, v->len, sizeof(gpointer), compare_rows);
    printf("%s%-16s %-12s %5s %7s %10s %10s %10s %10s %10s%s\n", bold ? "\033[1m" : "", "NAME",
           "STATE", "VCPUS", "CPU%", "RSS MiB", "DISK R/s", "DISK W/s", "NET RX/s", "NET TX/s",
           bold ? "\033[0m" : "");
    for (guint k = 0; k < v->len; k++) {
        r = v->pdata[k];
        printf("%-16s %-12s", json_string_value(json_object_get(r, "name")),
               json_string_value(json_object_get(r, "state")));
        if (!json_object_get(r, "pid")) {
            printf("\n");
            continue;
        }
        double rd = 0, wr = 0, rx = 0, tx = 0;
        gboolean net_known = FALSE;
        size_t j;
        json_t *x;
        json_array_foreach(json_object_get(r, "disks"), j, x)
        {
            rd += stats_num(x, "rd_bytes_per_s");
            wr += stats_num(x, "wr_bytes_per_s");
        }
        json_array_foreach(json_object_get(r, "nics"), j,
                           x) if (json_object_get(x, "rx_bytes_per_s"))
        {
            rx += stats_num(x, "rx_bytes_per_s");
            tx += stats_num(x, "tx_bytes_per_s");
            net_known = TRUE;
        }
        g_autofree char *srd = human(rd), *swr = human(wr), *srx = human(rx), *stx = human(tx);
        printf(" %5zu %6.1f%% %10.1f %10s %10s %10s %10s\n",
               json_array_size(json_object_get(r, "vcpus")), stats_num(r, "cpu_pct"),
               stats_num(r, "rss_bytes") / 1048576.0, srd, swr, net_known ? srx : "-",
               net_known ? stx : "-");
    }
    if (!v->len)
        printf("(no VMs)\n");
}

static gboolean color_ok(void)
{
    const char *nc = g_getenv("NO_COLOR");
    return isatty(1) && !(nc && *nc) && g_strcmp0(g_getenv("TERM"), "dumb") != 0;
}

static int top_interactive(double delay, GError **error)
{
    struct termios old, raw;
    if (tcgetattr(0, &old) < 0)
        return cli_failf(error, "top: cannot read the terminal's settings");
    raw = old;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &raw);
    proc_catch_interrupts(TRUE);
    json_auto_t *prev = json_object();
    gboolean bold = color_ok();
    while (!proc_interrupted) {
        json_auto_t *rows = top_sample(prev);
        printf("\033[H\033[2J");
        printf("qlaunch top - every %.1f s - keys: c cpu, m memory, d disk, n name, q quit\n\n",
               delay);
        top_print(rows, bold);
        fflush(stdout);
        struct pollfd p = { .fd = 0, .events = POLLIN };
        if (poll(&p, 1, (int)(delay * 1000)) > 0) {
            char c = 0;
            if (read(0, &c, 1) == 1) {
                if (c == 'q' || c == 'Q')
                    break;
                sort_key = c == 'm'   ? SORT_MEM
                           : c == 'n' ? SORT_NAME
                           : c == 'd' ? SORT_DISK
                           : c == 'c' ? SORT_CPU
                                      : sort_key;
            }
        }
    }
    tcsetattr(0, TCSANOW, &old);
    proc_catch_interrupts(FALSE);
    return EXIT_OK;
}

int cmd_top(int argc, char **argv, GError **error)
{
    (void)error; /* reports its own output; no failure to hand back */
    gboolean json = FALSE, once = FALSE;
    double delay = 2;
    g_autofree char *sort = NULL;
    GOptionEntry entries[] = {
        { "delay", 'd', 0, G_OPTION_ARG_DOUBLE, &delay, "Seconds between refreshes (2)", "S" },
        { "once", '1', 0, G_OPTION_ARG_NONE, &once,
          "Print one table (rates over --delay) and exit; the default when not on a terminal",
          NULL },
        { "sort", 's', 0, G_OPTION_ARG_STRING, &sort, "cpu (default), mem, disk or name", "KEY" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One-shot, as JSON", NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    if (delay <= 0)
        return cli_usagef("top", "top: --delay must be more than 0 seconds");
    if (sort) {
        if (!strcmp(sort, "cpu"))
            sort_key = SORT_CPU;
        else if (!strcmp(sort, "mem"))
            sort_key = SORT_MEM;
        else if (!strcmp(sort, "disk"))
            sort_key = SORT_DISK;
        else if (!strcmp(sort, "name"))
            sort_key = SORT_NAME;
        else
            return cli_usagef("top", "top: --sort %s: use cpu, mem, disk or name", sort);
    }
    if (!once && !json && isatty(0) && isatty(1))
        return top_interactive(delay, error);
    /* one shot: two samples --delay apart, so the rates mean something */
    json_auto_t *prev = json_object();
    json_decref(top_sample(prev));
    g_usleep((gulong)(delay * G_USEC_PER_SEC));
    json_auto_t *rows = top_sample(prev);
    if (json)
        cli_print_json(rows);
    else
        top_print(rows, color_ok());
    return EXIT_OK;
}
