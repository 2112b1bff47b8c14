/* Interference scenarios: several VMs, and per step each VM's target CPU
 * load and memory use; qlaunch drives the load in the guests and measures
 * each VM from the host. */
#pragma once

#include <glib.h>

typedef struct {
    guint cpu; /* % of the VM's vCPUs */
    guint mem; /* % of the VM's memory */
} ScenarioLoad;

typedef struct {
    char *path;
    char *name;    /* [scenario] name (VMs are NAME-VM) */
    char *profile; /* the profile every VM is started from, or NULL with template */
    char *tmpl;    /* template= (or bench --template): every VM a new clone of it */
    GStrv vms;     /* short names, in column order */
    guint nvms;
    guint step_s, settle_s;
    gboolean cgroup_load; /* load=cgroup: busy guest, CPU capped by a cgroup */
    gboolean balloon;     /* memory=balloon: each step's balloon gives back what it leaves free */
    GStrv step_names;     /* keys of [steps], in file order */
    GPtrArray *steps;     /* ScenarioLoad[nvms] per step */
} Scenario;

void scenario_free(Scenario *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Scenario, scenario_free)

/* Parses a scenario file; errors name the file, group and key. */
Scenario *scenario_parse(const char *path, const char *data, gsize len, GError **error);
/* The same; allow_no_source (a template given on the command line) lets
 * the file have neither profile= nor template=. */
Scenario *scenario_parse_source(const char *path, const char *data, gsize len,
                                gboolean allow_no_source, GError **error);

/* Per VM: among the steps where its own target is the same, how far its
 * measured CPU moved as the others' targets changed (the largest
 * difference of two step means, percentage points). means[step * nvms +
 * vm]; use (NULL = all) says which steps count. Returns it and sets *vm_index and *target to where
 * it was seen; -1 when no VM has the same target in two steps. */
double scenario_spread(const Scenario *s, const double *means, const gboolean *use, guint *vm_index,
                       guint *target);

/* qlaunch bench --scenario FILE: runs it, writes DIR/scenario.json,
 * scenario.csv and scenario.svg, prints a table (or the JSON) and a
 * verdict on interference. tmpl (bench --template, or NULL) replaces the
 * file's profile= or template=. */
int scenario_run(const char *file, const char *tmpl, const char *out_dir, gboolean json,
                 GError **error);
