/* qlaunch bench's report: the table, the files (results.csv, plot.svg)
 * and --compare of two results.json. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "cmd-bench.h"
#include "proc.h"

static const char *profile_label(json_t *p, char *buf, gsize len)
{
    const char *accel = json_string_value(json_object_get(json_object_get(p, "vm"), "accel"));
    if (accel)
        g_snprintf(buf, len, "%s (%s)", json_string_value(json_object_get(p, "name")), accel);
    else
        g_snprintf(buf, len, "%s (%s: %s)", json_string_value(json_object_get(p, "name")),
                   json_string_value(json_object_get(p, "accel_requested")),
                   json_string_value(json_object_get(p, "status")));
    return buf;
}

/* Every test id of every profile, in first-seen order (borrowed strings). */
static GPtrArray *test_ids(json_t *profiles)
{
    GPtrArray *ids = g_ptr_array_new();
    size_t i, k;
    json_t *p, *r;
    json_array_foreach(profiles, i, p) json_array_foreach(json_object_get(p, "results"), k, r)
    {
        const char *id = json_string_value(json_object_get(r, "id"));
        gboolean seen = FALSE;
        for (guint j = 0; j < ids->len; j++)
            seen = seen || strcmp(ids->pdata[j], id) == 0;
        if (!seen)
            g_ptr_array_add(ids, (gpointer)id);
    }
    return ids;
}

/* A profile's result for one test id, or NULL (borrowed). */
static json_t *profile_result(json_t *p, const char *id)
{
    size_t k;
    json_t *r;
    json_array_foreach(json_object_get(p, "results"), k,
                       r) if (strcmp(json_string_value(json_object_get(r, "id")), id) ==
                              0) return r;
    return NULL;
}

void bench_print_table(json_t *doc)
{
    json_t *profiles = json_object_get(doc, "profiles");
    g_autoptr(GPtrArray) ids = test_ids(profiles); /* the rows */
    size_t i, k;
    json_t *p, *r;
    printf("\n%-42s %-9s %18s", "Test", "unit", "host");
    char label[128];
    json_array_foreach(profiles, i, p) printf(" %38s", profile_label(p, label, sizeof label));
    printf("\n");
    for (guint j = 0; j < ids->len; j++) {
        const char *desc = NULL, *unit = NULL;
        double host_sum = 0, host_cv = 0;
        guint host_n = 0;
        json_array_foreach(profiles, i, p) json_array_foreach(json_object_get(p, "results"), k, r)
        {
            if (strcmp(json_string_value(json_object_get(r, "id")), ids->pdata[j]) != 0)
                continue;
            desc = json_string_value(json_object_get(r, "desc"));
            unit = json_string_value(json_object_get(r, "unit"));
            host_sum += json_number_value(json_object_get(json_object_get(r, "host"), "median"));
            host_cv =
                MAX(host_cv, json_number_value(json_object_get(json_object_get(r, "host"), "cv")));
            host_n++;
        }
        g_autofree char *hcell =
            g_strdup_printf("%.1f ±%.1f%%", host_sum / MAX(host_n, 1), 100 * host_cv);
        printf("%-42s %-9s %18s", desc, unit, hcell);
        json_array_foreach(profiles, i, p)
        {
            json_t *hit = profile_result(p, ids->pdata[j]);
            if (!hit) {
                printf(" %38s", strcmp(json_string_value(json_object_get(p, "status")), "ok") == 0
                                    ? "-"
                                    : json_string_value(json_object_get(p, "status")));
                continue;
            }
            json_t *g = json_object_get(hit, "guest");
            g_autofree char *cell = g_strdup_printf(
                "%.1f [%.0f-%.0f] ±%.1f%% %5.1f%%", json_number_value(json_object_get(g, "median")),
                json_number_value(json_object_get(g, "min")),
                json_number_value(json_object_get(g, "max")),
                100 * json_number_value(json_object_get(g, "cv")),
                json_number_value(json_object_get(hit, "guest_pct_of_host")));
            printf(" %38s", cell);
        }
        printf("\n");
    }
    printf("(median [min-max] ±CV of %" JSON_INTEGER_FORMAT " runs; %% = the guest as a percentage "
           "of the host runs made side by side with it)\n",
           json_integer_value(json_object_get(json_object_get(doc, "options"), "runs")));
    gboolean lower = FALSE;
    json_array_foreach(profiles, i, p) json_array_foreach(json_object_get(p, "results"), k, r)
        lower = lower || json_is_true(json_object_get(r, "lower_is_better"));
    if (lower)
        printf("(loss, jitter and round trip: lower is better, so above 100%% the guest does "
               "worse; the host's runs go over its loopback)\n");
    json_array_foreach(profiles, i, p) if (json_object_get(p, "reason"))
        printf("%s: %s: %s\n", json_string_value(json_object_get(p, "name")),
               json_string_value(json_object_get(p, "status")),
               json_string_value(json_object_get(p, "reason")));
}

gboolean bench_write_text(const char *dir, const char *name, const char *text, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    return g_file_set_contents(path, text, -1, error);
}

/* plot.svg: guest as % of host, one bar per profile per test (gnuplot). */
gboolean bench_write_plot(const char *dir, json_t *doc, GError **error)
{
    json_t *profiles = json_object_get(doc, "profiles");
    GString *dat = g_string_new("# test");
    size_t i;
    json_t *p;
    json_array_foreach(profiles, i, p)
        g_string_append_printf(dat, " %s", json_string_value(json_object_get(p, "name")));
    g_string_append_c(dat, '\n');
    g_autoptr(GPtrArray) ids = test_ids(profiles);
    for (guint j = 0; j < ids->len; j++) {
        g_string_append(dat, ids->pdata[j]);
        json_array_foreach(profiles, i, p)
        {
            json_t *hit = profile_result(p, ids->pdata[j]);
            if (hit)
                g_string_append_printf(
                    dat, " %.3f", json_number_value(json_object_get(hit, "guest_pct_of_host")));
            else
                g_string_append(dat, " -");
        }
        g_string_append_c(dat, '\n');
    }
    GString *gp = g_string_new(
        "set terminal svg size 1000,560 dynamic background rgb 'white'\n"
        "set output 'plot.svg'\n"
        "set title 'qlaunch bench: guest as % of host (sysbench medians, side by side)'\n"
        "set datafile missing '-'\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.8 border -1\nset ylabel 'guest / host (%)'\n"
        "set grid ytics\nset xtics nomirror font ',9'\n"
        "set key outside top\n"
        "set logscale y\nset yrange [0.5:200]\n"
        "plot ");
    char label[128];
    json_array_foreach(profiles, i, p)
    {
        g_autofree char *q = proc_gp_string(profile_label(p, label, sizeof label));
        g_string_append_printf(gp, "%s'plot.dat' using %zu%s title %s", i ? ", " : "", i + 2,
                               i == 0 ? ":xtic(1)" : "", q);
    }
    if (json_array_size(profiles) == 0)
        g_string_append(gp, "0 notitle");
    g_string_append(gp, "\n");
    gboolean ok = bench_write_text(dir, "plot.dat", dat->str, error) &&
                  bench_write_text(dir, "plot.gp", gp->str, error);
    g_string_free(dat, TRUE);
    g_string_free(gp, TRUE);
    if (!ok)
        return FALSE;
    return proc_gnuplot(dir, "plot.gp", error);
}

int bench_compare_files(const char *a_path, const char *b_path, GError **error)
{
    json_error_t je;
    json_auto_t *a = json_load_file(a_path, 0, &je);
    if (!a)
        return cli_failf(error, "--compare: %s: %s (line %d)", a_path, je.text, je.line);
    json_auto_t *b = json_load_file(b_path, 0, &je);
    if (!b)
        return cli_failf(error, "--compare: %s: %s (line %d)", b_path, je.text, je.line);
    g_autoptr(GError) err = NULL;
    g_autofree char *table = bench_compare(a, b, &err);
    if (!table)
        return cli_failf(error, "--compare %s %s: %s", a_path, b_path, err->message);
    printf("A = %s\nB = %s\n%s", a_path, b_path, table);
    return EXIT_OK;
}
