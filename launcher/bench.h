/* The benchmark harness's pure parts: which sysbench runs, reading their
 * output, statistics, CSV and comparison of two results.json files. */
#pragma once

#include <glib.h>
#include <jansson.h>

#define BENCH_ERROR (bench_error_quark())
GQuark bench_error_quark(void);

typedef struct {
    char *id;   /* stable across profiles: "cpu-10000-1", "cpu-10000-all", "memory-write" */
    char *test; /* cpu | memory | threads | fileio */
    char *desc; /* "cpu prime=10000 threads=2" */
    char *unit; /* events/s | MiB/s */
    guint threads;
    GStrv args;         /* sysbench arguments after "sysbench", before "run" (no --time) */
    GStrv prepare_args; /* fileio: the same files for prepare and cleanup; else NULL */
    /* net-*: the whole argv (iperf3 or qlaunch-probe) with {addr}, {port}
     * and {time} to fill in (bench_net_argv), and the server the host runs
     * for it: "iperf3" (iperf3 -s) or "echo" (qlaunch-probe echo); NULL
     * for sysbench cases. */
    const char *server;
    gboolean lower_better; /* loss, jitter, latency */
} BenchCase;

void bench_case_free(BenchCase *c);

/* The cases for a comma-separated test list (cpu, memory, threads,
 * fileio; net or net-tcp, net-udp, net-rr) on
 * a VM with vcpus vCPUs; fileio files go to fileio_dir. BenchCase* array. */
GPtrArray *bench_cases(const char *tests, guint vcpus, GError **error);

/* A net case's argv against the server at addr:port for time_s seconds
 * (transfer full). */
GStrv bench_net_argv(const BenchCase *c, const char *addr, guint port, guint time_s);
/* The host's server for a net case, bound to addr:port: argv (transfer
 * full) and the line it prints once it listens. probe: qlaunch-probe's
 * path. */
GStrv bench_server_argv(const BenchCase *c, const char *probe, const char *addr, guint port,
                        const char **ready);

/* sysbench argv for one run: "sysbench", case args, --time, --rand-seed,
 * "run"; or "prepare"/"cleanup" with no --time (transfer full). */
GStrv bench_argv(const BenchCase *c, const char *sysbench, const char *action, guint time_s);

/* The figure a run reports, from sysbench's output: cpu events per second,
 * memory MiB/sec, threads events / total time, fileio read + written MiB/s;
 * from iperf3 -J: net-tcp Mbit/s received, net-udp-loss % and
 * net-udp-jitter ms; from qlaunch-probe rr: net-rr-p50/p99 us. */
gboolean bench_parse(const char *test, const char *output, double *value, GError **error);

typedef struct {
    guint n;
    double median, min, max, mean;
    double cv; /* standard deviation / mean (sample), 0 with one value */
} BenchStats;

BenchStats bench_stats(const double *values, guint n);
/* {"runs": [...], "median": .., "min": .., "max": .., "mean": .., "cv": ..} */
json_t *bench_stats_json(const double *values, guint n);

/* results.json -> CSV (one row per profile and test; transfer full). */
char *bench_csv(json_t *results);

/* A table of the differences between two results.json files: per profile
 * and test, A and B medians and the change in %, guest and host. */
char *bench_compare(json_t *a, json_t *b, GError **error);
