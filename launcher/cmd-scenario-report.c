/* bench --scenario's report: the table, CSV rows and the plot. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "cmd-scenario.h"
#include "proc.h"
#include "scenario.h"

char *scenario_load_label(const Scenario *s, guint step)
{
    GString *g = g_string_new(NULL);
    const ScenarioLoad *l = s->steps->pdata[step];
    for (guint v = 0; v < s->nvms; v++)
        g_string_append_printf(g, "%s%u/%u", v ? " " : "", l[v].cpu, l[v].mem);
    return g_string_free(g, FALSE);
}

gboolean scenario_write_plot(const Scenario *s, const char *dir, json_t *steps, GError **error)
{
    GString *dat = g_string_new(NULL);
    size_t i, k;
    json_t *st;
    json_array_foreach(steps, i, st)
    {
        g_string_append_printf(dat, "# step %zu\n", i + 1); /* a name could hold a newline */
        json_t *vms = json_object_get(st, "vms");
        size_t n = json_array_size(json_object_get(json_array_get(vms, 0), "cpu_samples"));
        for (k = 0; k < n; k++) {
            g_string_append_printf(dat, "%zu", k + 1);
            for (guint v = 0; v < s->nvms; v++)
                g_string_append_printf(
                    dat, " %.2f",
                    json_number_value(
                        json_array_get(json_object_get(json_array_get(vms, v), "cpu_samples"), k)));
            g_string_append_c(dat, '\n');
        }
        g_string_append(dat, "\n\n");
    }
    guint n = s->steps->len;
    guint cols = (guint)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols;
    /* Every name from the scenario file reaches the script only through
     * proc_gp_string: a step key like a'.system("id").' stays text. */
    GString *gp = g_string_new(NULL);
    g_autofree char *head = g_strdup_printf(
        "qlaunch bench --scenario %s: measured vCPU load (lines) vs target (dashed), %% per VM",
        s->name);
    g_autofree char *qhead = proc_gp_string(head);
    g_string_append_printf(gp,
                           "set terminal svg size %u,%u dynamic background rgb 'white' font ',9'\n"
                           "set output 'scenario.svg'\n"
                           "set multiplot layout %u,%u title %s\n"
                           "set yrange [0:110]\nset grid ytics\nset key top left font ',8'\n"
                           "set xlabel 's'\n",
                           320 * cols, 260 * rows + 40, rows, cols, qhead);
    for (guint st_i = 0; st_i < n; st_i++) {
        g_autofree char *label = scenario_load_label(s, st_i);
        g_autofree char *title = g_strdup_printf("step %s: %s", s->step_names[st_i], label);
        g_autofree char *qtitle = proc_gp_string(title);
        g_string_append_printf(gp, "set title %s\nplot ", qtitle);
        const ScenarioLoad *l = s->steps->pdata[st_i];
        for (guint v = 0; v < s->nvms; v++) {
            g_autofree char *qvm = proc_gp_string(s->vms[v]);
            g_string_append_printf(gp,
                                   "%s'scenario.dat' index %u using 1:%u with lines lw 2 lc %u "
                                   "title %s, %u with lines dt 2 lc %u notitle",
                                   v ? ", " : "", st_i, v + 2, v + 1, qvm, l[v].cpu, v + 1);
        }
        g_string_append_c(gp, '\n');
    }
    g_string_append(gp, "unset multiplot\n");
    g_autofree char *dpath = g_build_filename(dir, "scenario.dat", NULL);
    g_autofree char *gpath = g_build_filename(dir, "scenario.gp", NULL);
    gboolean ok = g_file_set_contents(dpath, dat->str, -1, error) &&
                  g_file_set_contents(gpath, gp->str, -1, error);
    g_string_free(dat, TRUE);
    g_string_free(gp, TRUE);
    if (!ok)
        return FALSE;
    return proc_gnuplot(dir, "scenario.gp", error);
}

double scenario_mean_of(json_t *arr)
{
    double sum = 0;
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) sum += json_number_value(x);
    return json_array_size(arr) ? sum / (double)json_array_size(arr) : 0;
}

/* One line per step and VM: the table (csv FALSE) or CSV rows. */
void scenario_append_rows(GString *g, json_t *doc, gboolean csv)
{
    size_t i, k;
    json_t *st, *vm;
    json_array_foreach(json_object_get(doc, "steps"), i, st)
        json_array_foreach(json_object_get(st, "vms"), k, vm)
    {
        const char *step = json_string_value(json_object_get(st, "step"));
        const char *name = json_string_value(json_object_get(vm, "vm"));
        json_int_t ct = json_integer_value(json_object_get(vm, "cpu_target"));
        json_int_t mt = json_integer_value(json_object_get(vm, "mem_target"));
        double cm = json_number_value(json_object_get(vm, "cpu_measured"));
        double rss = json_number_value(json_object_get(vm, "rss_pct"));
        double gm = json_number_value(json_object_get(vm, "guest_mem_pct"));
        if (csv) {
            g_autofree char *cstep = proc_csv_field(step), *cname = proc_csv_field(name);
            g_string_append_printf(
                g, "%s,%s,%" JSON_INTEGER_FORMAT ",%.2f,%" JSON_INTEGER_FORMAT ",%.2f,%.2f\n",
                cstep, cname, ct, cm, mt, rss, gm);
        } else
            g_string_append_printf(g,
                                   "%-6s %-8s %9" JSON_INTEGER_FORMAT
                                   "%% %9.1f%% %9" JSON_INTEGER_FORMAT "%% %9.1f%% %9.1f%%\n",
                                   k == 0 ? step : "", name, ct, cm, mt, rss, gm);
    }
}

void scenario_print_report(const Scenario *s, json_t *doc)
{
    printf("\nscenario %s: %u VMs, %u steps of %u s (first %u s not measured)\n", s->name, s->nvms,
           s->steps->len, s->step_s, s->settle_s);
    GString *g = g_string_new(NULL);
    g_string_append_printf(g, "%-6s %-8s %10s %10s %10s %10s %10s\n", "step", "vm", "cpu target",
                           "measured", "mem target", "qemu rss", "guest mem");
    scenario_append_rows(g, doc, FALSE);
    fputs(g->str, stdout);
    g_string_free(g, TRUE);
    json_t *v = json_object_get(doc, "verdict");
    printf("\nverdict: %s\n", json_string_value(json_object_get(v, "text")));
}
