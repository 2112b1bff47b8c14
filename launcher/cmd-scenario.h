/* Shared by cmd-scenario.c (the runner) and cmd-scenario-report.c. */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "scenario.h"

/* A step's loads, "CPU/MEM" per VM ("50/30 100/0"; transfer full). */
char *scenario_load_label(const Scenario *s, guint step);
/* DIR/scenario.svg through gnuplot (names reach it only quoted). */
gboolean scenario_write_plot(const Scenario *s, const char *dir, json_t *steps, GError **error);
/* The mean of a JSON array of numbers (0 when empty). */
double scenario_mean_of(json_t *arr);
/* One line per step and VM: the table (csv FALSE) or CSV rows. */
void scenario_append_rows(GString *g, json_t *doc, gboolean csv);
/* The table and the verdict, on stdout. */
void scenario_print_report(const Scenario *s, json_t *doc);
