/* qlaunch cpus (query-cpus-fast + /proc thread times) and qmp (raw passthrough). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "proc.h"

#define QMP_TIMEOUT_MS 10000

/* From /proc/PID/task/TID/stat: last CPU and user+system seconds. */
static gboolean thread_stat(pid_t pid, json_int_t tid, int *cpu, double *secs)
{
    g_autofree char *path =
        g_strdup_printf("/proc/%d/task/%" JSON_INTEGER_FORMAT "/stat", (int)pid, tid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    const char *paren = strrchr(text, ')');
    if (!paren)
        return FALSE;
    g_auto(GStrv) f = g_strsplit(paren + 2, " ", -1); /* f[0] is field 3 (state) */
    if (g_strv_length(f) < 37)
        return FALSE;
    long ticks = sysconf(_SC_CLK_TCK);
    *secs = (double)(g_ascii_strtoull(f[11], NULL, 10) + g_ascii_strtoull(f[12], NULL, 10)) /
            (double)ticks;
    *cpu = atoi(f[36]);
    return TRUE;
}

int cmd_cpus(int argc, char **argv, GError **error)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = { { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_autoptr(GError) err = NULL;
    pid_t pid = 0;
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], &pid, &err);
    g_autoptr(QmpConn) qmp = v ? vm_qmp_open(v, QMP_TIMEOUT_MS, &err) : NULL;
    json_auto_t *cpus =
        qmp ? qmp_conn_execute(qmp, "query-cpus-fast", NULL, QMP_TIMEOUT_MS, &err) : NULL;
    if (!cpus)
        return cli_fail(error, &err);
    json_auto_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(cpus, i, c)
    {
        json_int_t tid = json_integer_value(json_object_get(c, "thread-id"));
        int host_cpu = -1;
        double secs = 0;
        gboolean have = thread_stat(pid, tid, &host_cpu, &secs);
        json_t *row = json_pack("{s:O, s:I, s:O}", "index", json_object_get(c, "cpu-index"),
                                "thread_id", tid, "qom_path", json_object_get(c, "qom-path"));
        if (have) {
            json_object_set_new(row, "host_cpu", json_integer(host_cpu));
            json_object_set_new(row, "cpu_time_s", json_real(secs));
        }
        json_array_append_new(out, row);
    }
    if (json) {
        cli_print_json(out);
        return EXIT_OK;
    }
    printf("%-5s %-10s %-8s %s\n", "vcpu", "thread", "host-cpu", "cpu-time");
    json_array_foreach(out, i, c) printf("%-5" JSON_INTEGER_FORMAT " %-10" JSON_INTEGER_FORMAT
                                         " %-8" JSON_INTEGER_FORMAT " %.2f s\n",
                                         json_integer_value(json_object_get(c, "index")),
                                         json_integer_value(json_object_get(c, "thread_id")),
                                         json_integer_value(json_object_get(c, "host_cpu")),
                                         json_real_value(json_object_get(c, "cpu_time_s")));
    return EXIT_OK;
}

int cmd_qmp(int argc, char **argv, GError **error)
{
    int timeout_s = 30;
    GOptionEntry entries[] = { { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
                                 "Seconds to wait for the reply (30)", "S" },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    json_error_t jerr;
    json_auto_t *req = json_loads(argv[2], 0, &jerr);
    if (!req || !json_is_string(json_object_get(req, "execute"))) {
        fprintf(stderr,
                "qlaunch qmp: the command must be a JSON object with \"execute\", e.g. "
                "'{\"execute\":\"query-status\"}'%s%s\n",
                req ? "" : ": ", req ? "" : jerr.text);
        return EXIT_USAGE;
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], NULL, &err);
    g_autoptr(QmpConn) qmp = v ? vm_qmp_open(v, timeout_s * 1000LL, &err) : NULL;
    json_auto_t *reply = qmp ? qmp_conn_transact(qmp, req, timeout_s * 1000LL, &err) : NULL;
    if (!reply)
        return cli_fail(error, &err);
    json_t *e = json_object_get(reply, "error");
    if (e)
        return cli_failf(error, "%s: %s (%s)", json_string_value(json_object_get(req, "execute")),
                         json_string_value(json_object_get(e, "desc")),
                         json_string_value(json_object_get(e, "class")));
    cli_print_json(json_object_get(reply, "return"));
    return EXIT_OK;
}
