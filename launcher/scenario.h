/* Interference scenarios: several VMs, and per step each VM's target CPU
 * load and memory use; qlaunch drives the load in the guests and measures
 * from the host. */
#pragma once

#include <glib.h>

/* qlaunch bench --scenario FILE: runs it, writes DIR/scenario.json and
 * DIR/scenario.svg, prints a table (or the JSON) and a verdict. */
int scenario_run(const char *file, const char *out_dir, gboolean json);
