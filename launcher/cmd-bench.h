/* Shared by cmd-bench.c (the runner) and cmd-bench-report.c (the report). */
#pragma once

#include <glib.h>
#include <jansson.h>

/* The guest-vs-host table of a results document, on stdout. */
void bench_print_table(json_t *doc);
/* DIR/NAME with text. */
gboolean bench_write_text(const char *dir, const char *name, const char *text, GError **error);
/* DIR/plot.svg through gnuplot (names reach it only quoted). */
gboolean bench_write_plot(const char *dir, json_t *doc, GError **error);
/* bench --compare A.json B.json: prints the table; an exit code. */
int bench_compare_files(const char *a_path, const char *b_path, GError **error);
