/* Interference scenario files: parsing and the interference measure. */
#include "scenario.h"

#include <math.h>
#include <string.h>

#include "bench.h"
#include "profile.h"

void scenario_free(Scenario *s)
{
    if (!s)
        return;
    g_free(s->path);
    g_free(s->name);
    g_free(s->profile);
    g_free(s->tmpl);
    g_strfreev(s->vms);
    g_strfreev(s->step_names);
    if (s->steps)
        g_ptr_array_unref(s->steps);
    g_free(s);
}

static gboolean fail(GError **error, const Scenario *s, const char *group, const char *key,
                     const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static gboolean fail(GError **error, const Scenario *s, const char *group, const char *key,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, BENCH_ERROR, 0, "scenario %s [%s]%s%s: %s", s->path, group, key ? " " : "",
                key ? key : "", msg);
    return FALSE;
}

/* A value without an inline " # comment", stripped. */
static char *value(GKeyFile *kf, const char *group, const char *key)
{
    g_autofree char *v = g_key_file_get_value(kf, group, key, NULL);
    if (!v)
        return NULL;
    for (char *c = v; *c; c++)
        if (*c == '#' && (c == v || c[-1] == ' ' || c[-1] == '\t')) {
            *c = '\0';
            break;
        }
    return g_strdup(g_strstrip(v));
}

static gboolean seconds(GKeyFile *kf, Scenario *s, const char *key, guint dflt, guint *out,
                        GError **error)
{
    g_autofree char *v = value(kf, "scenario", key);
    *out = dflt;
    if (!v)
        return TRUE;
    char *end = NULL;
    guint64 n = g_ascii_strtoull(v, &end, 10);
    if (!g_ascii_isdigit(*v) || *end || n > 3600)
        return fail(error, s, "scenario", key, "\"%s\" is not a number of seconds (0 to 3600)", v);
    *out = (guint)n;
    return TRUE;
}

static gboolean percent(const char *text, guint max, guint *out)
{
    char *end = NULL;
    guint64 n = g_ascii_strtoull(text, &end, 10);
    if (!g_ascii_isdigit(*text) || (*end && strcmp(end, "%") != 0) || n > max)
        return FALSE;
    *out = (guint)n;
    return TRUE;
}

static gboolean parse_step(Scenario *s, const char *key, const char *text, GError **error)
{
    g_auto(GStrv) cells = g_strsplit_set(text, " \t", -1);
    g_autoptr(GPtrArray) got = g_ptr_array_new();
    for (gsize i = 0; cells[i]; i++)
        if (*cells[i])
            g_ptr_array_add(got, cells[i]);
    if (got->len != s->nvms)
        return fail(error, s, "steps", key,
                    "\"%s\" has %u loads for %u VMs (one CPU%%/memory%% per VM, e.g. 90/80)", text,
                    got->len, s->nvms);
    ScenarioLoad *loads = g_new0(ScenarioLoad, s->nvms);
    for (guint i = 0; i < got->len; i++) {
        g_auto(GStrv) pm = g_strsplit(got->pdata[i], "/", 2);
        if (g_strv_length(pm) != 2 || !percent(pm[0], 100, &loads[i].cpu) ||
            !percent(pm[1], 95, &loads[i].mem)) {
            g_free(loads);
            return fail(error, s, "steps", key,
                        "\"%s\" is not CPU%%/memory%% (CPU 0-100, memory 0-95, e.g. 90/80)",
                        (char *)got->pdata[i]);
        }
    }
    g_ptr_array_add(s->steps, loads);
    return TRUE;
}

/* Only [scenario] and [steps], and only known keys in [scenario]. */
static gboolean check_layout(GKeyFile *kf, Scenario *s, GError **error)
{
    static const char *const keys[] = { "name", "profile",      "template",
                                        "vms",  "step-seconds", "settle-seconds",
                                        "load", "memory",       NULL };
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    for (gsize i = 0; groups[i]; i++)
        if (strcmp(groups[i], "scenario") != 0 && strcmp(groups[i], "steps") != 0)
            return fail(error, s, groups[i], NULL,
                        "unknown group (a scenario has [scenario] and [steps])");
    if (!g_key_file_has_group(kf, "scenario") || !g_key_file_has_group(kf, "steps")) {
        g_set_error(error, BENCH_ERROR, 0,
                    "scenario %s: needs a [scenario] group (profile=, vms=) and a [steps] group",
                    s->path);
        return FALSE;
    }
    g_auto(GStrv) skeys = g_key_file_get_keys(kf, "scenario", NULL, NULL);
    for (gsize i = 0; skeys[i]; i++)
        if (!g_strv_contains(keys, skeys[i])) {
            g_autofree char *list = g_strjoinv(", ", (char **)keys);
            return fail(error, s, "scenario", skeys[i], "unknown key (known: %s)", list);
        }
    return TRUE;
}

/* vms=: short names, each making a valid VM name NAME-VM, none twice. */
static gboolean read_vms(GKeyFile *kf, Scenario *s, GError **error)
{
    g_autofree char *vms = value(kf, "scenario", "vms");
    if (!vms || !*vms)
        return fail(error, s, "scenario", "vms", "missing: the VMs' short names, e.g. vms=s1,s2");
    s->vms = g_strsplit(vms, ",", -1);
    s->nvms = g_strv_length(s->vms);
    for (guint i = 0; i < s->nvms; i++) {
        g_strstrip(s->vms[i]);
        g_autofree char *full = g_strdup_printf("%s-%s", s->name, s->vms[i]);
        if (!*s->vms[i] || !profile_name_valid(full))
            return fail(error, s, "scenario", "vms",
                        "\"%s\" does not make a valid VM name %s (letters, digits, '.', '_', '-')",
                        s->vms[i], full);
        for (guint j = 0; j < i; j++)
            if (strcmp(s->vms[i], s->vms[j]) == 0)
                return fail(error, s, "scenario", "vms", "\"%s\" is named twice", s->vms[i]);
    }
    return TRUE;
}

/* load=, step-seconds=, settle-seconds= */
static gboolean read_timing(GKeyFile *kf, Scenario *s, GError **error)
{
    g_autofree char *load = value(kf, "scenario", "load");
    if (load && strcmp(load, "rate") != 0 && strcmp(load, "cgroup") != 0)
        return fail(error, s, "scenario", "load",
                    "\"%s\" is not a load method (rate: sysbench --rate in the guest; cgroup: a "
                    "busy guest capped by a CPU limit, like cpulimit)",
                    load);
    s->cgroup_load = g_strcmp0(load, "cgroup") == 0;
    g_autofree char *memory = value(kf, "scenario", "memory");
    if (memory && strcmp(memory, "hog") != 0 && strcmp(memory, "balloon") != 0)
        return fail(error, s, "scenario", "memory",
                    "\"%s\" is neither hog (a memory hog in the guest: the default) nor balloon "
                    "(the hog, then the balloon takes back what the step leaves free)",
                    memory);
    s->balloon = g_strcmp0(memory, "balloon") == 0;
    if (!seconds(kf, s, "step-seconds", 20, &s->step_s, error) ||
        !seconds(kf, s, "settle-seconds", 3, &s->settle_s, error))
        return FALSE;
    if (s->step_s < s->settle_s + 2)
        return fail(error, s, "scenario", "step-seconds",
                    "%u leaves no time to measure after settle-seconds=%u (make it at least %u)",
                    s->step_s, s->settle_s, s->settle_s + 2);
    return TRUE;
}

Scenario *scenario_parse(const char *path, const char *data, gsize len, GError **error)
{
    return scenario_parse_source(path, data, len, FALSE, error);
}

Scenario *scenario_parse_source(const char *path, const char *data, gsize len,
                                gboolean allow_no_source, GError **error)
{
    g_autoptr(Scenario) s = g_new0(Scenario, 1);
    s->path = g_strdup(path);
    s->steps = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) kerr = NULL;
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &kerr)) {
        g_set_error(error, BENCH_ERROR, 0, "scenario %s: not an INI file: %s", path, kerr->message);
        return NULL;
    }
    if (!check_layout(kf, s, error))
        return NULL;
    s->name = value(kf, "scenario", "name");
    if (!s->name)
        s->name = ini_file_stem(path);
    s->profile = value(kf, "scenario", "profile");
    s->tmpl = value(kf, "scenario", "template");
    if (s->profile && *s->profile && s->tmpl) {
        fail(error, s, "scenario", "template",
             "the VMs come from profile= or from template=, not both (keep one)");
        return NULL;
    }
    if (s->tmpl && !*s->tmpl) {
        fail(error, s, "scenario", "template", "empty: name a template (qlaunch template list)");
        return NULL;
    }
    if ((!s->profile || !*s->profile) && !s->tmpl && !allow_no_source) {
        fail(error, s, "scenario", "profile",
             "missing: the profile each VM is started from (or template=NAME: each VM a clone "
             "of that template)");
        return NULL;
    }
    if (s->profile && !*s->profile)
        g_clear_pointer(&s->profile, g_free);
    if (!read_vms(kf, s, error) || !read_timing(kf, s, error))
        return NULL;
    s->step_names = g_key_file_get_keys(kf, "steps", NULL, NULL);
    for (gsize i = 0; s->step_names[i]; i++) {
        g_autofree char *v = value(kf, "steps", s->step_names[i]);
        if (!parse_step(s, s->step_names[i], v, error))
            return NULL;
    }
    if (s->steps->len == 0) {
        fail(error, s, "steps", NULL, "no steps (one line per step: NAME=CPU/MEM CPU/MEM ...)");
        return NULL;
    }
    return g_steal_pointer(&s);
}

double scenario_spread(const Scenario *s, const double *means, const gboolean *use, guint *vm_index,
                       guint *target)
{
    double worst = -1;
    for (guint v = 0; v < s->nvms; v++)
        for (guint a = 0; a < s->steps->len; a++)
            for (guint b = a + 1; b < s->steps->len; b++) {
                if (use && (!use[a] || !use[b]))
                    continue;
                const ScenarioLoad *la = s->steps->pdata[a], *lb = s->steps->pdata[b];
                if (la[v].cpu != lb[v].cpu)
                    continue;
                double d = fabs(means[a * s->nvms + v] - means[b * s->nvms + v]);
                if (d > worst) {
                    worst = d;
                    *vm_index = v;
                    *target = la[v].cpu;
                }
            }
    return worst;
}
