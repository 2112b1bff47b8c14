/* qlaunch pause, resume, status, list, cpus, qmp: thin verbs over QMP. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "cmdline.h"
#include "nat.h"
#include "netfwd.h"
#include "resources.h"
#include "proc.h"

#define QMP_TIMEOUT_MS 10000

/* Opens a running VM's QMP; NULL with the error. */
static QmpConn *open_vm(const char *name, VmPaths **out, pid_t *pid, GError **error)
{
    g_autoptr(VmPaths) v = cli_running_vm(name, pid, error);
    QmpConn *qmp = v ? vm_qmp_open(v, QMP_TIMEOUT_MS, error) : NULL;
    if (!qmp)
        return NULL;
    *out = g_steal_pointer(&v);
    return qmp;
}

static int simple_command(int argc, char **argv, const char *command, const char *done,
                          GError **error)
{
    if (!cli_parse(&argc, &argv, NULL))
        return EXIT_USAGE;
    g_autoptr(VmPaths) v = NULL;
    g_autoptr(QmpConn) qmp = open_vm(argv[1], &v, NULL, error);
    if (!qmp)
        return EXIT_FAIL;
    g_autoptr(GError) err = NULL;
    json_auto_t *r = qmp_conn_execute(qmp, command, NULL, QMP_TIMEOUT_MS, &err);
    if (!r)
        return cli_failf(error, "%s %s: %s", command, v->name, err->message);
    if (!cli_quiet)
        printf("%s %s\n", done, v->name);
    return EXIT_OK;
}

int cmd_pause(int argc, char **argv, GError **error)
{
    return simple_command(argc, argv, "stop", "paused", error);
}

int cmd_resume(int argc, char **argv, GError **error)
{
    return simple_command(argc, argv, "cont", "resumed", error);
}

/* One VM's state as JSON (transfer full); never fails: a VM that does not
 * answer is reported as such. */
static void add_resources(json_t *j, json_t *meta, QmpConn *qmp, pid_t pid);
static void add_nics(json_t *j, VmPaths *v, QmpConn *qmp);

/* A VM of this name exists in some form: a runtime dir, a state dir (its
 * disks) or a profile of that name on the search path. */
static gboolean vm_known(const char *name)
{
    g_autoptr(VmPaths) v = vm_paths_new(name);
    g_autofree char *base = vm_state_base();
    g_autofree char *state = g_build_filename(base, name, NULL);
    if (g_file_test(v->dir, G_FILE_TEST_EXISTS) || g_file_test(state, G_FILE_TEST_IS_DIR))
        return TRUE;
    g_auto(GStrv) names = cli_known_vm_names();
    return g_strv_contains((const char *const *)names, name);
}

/* status's exit code (LSB/systemctl style, README): 0 QEMU answers and the
 * VM runs or is paused (or migrating, suspended, ...), 1 it does not
 * answer, is refused, or its guest or QEMU failed, 3 not running, 4 no VM
 * of that name */
static int state_exit_code(const char *state)
{
    static const char *const failed[] = { "unresponsive",   "refused",  "guest-panicked",
                                          "internal-error", "io-error", "shutdown",
                                          "watchdog",       NULL };
    if (!g_strcmp0(state, "not found"))
        return 4;
    if (!g_strcmp0(state, "shut off") || !g_strcmp0(state, "stale"))
        return 3;
    return !state || g_strv_contains(failed, state) ? EXIT_FAIL : EXIT_OK;
}

static json_t *vm_state(VmPaths *v)
{
    pid_t pid = vm_read_pid(v);
    json_t *j = json_pack("{s:s}", "name", v->name);
    g_autoptr(GError) unsafe = NULL;
    if (!vm_dir_check(v, &unsafe)) {
        json_object_set_new(j, "state", json_string("refused")); /* not ours */
        json_object_set_new(j, "error", json_string(unsafe->message));
        return j;
    }
    if (!(pid > 0 && proc_alive(pid))) {
        gboolean stale = pid > 0 || vm_pidfile_stale(v); /* QEMU gone, its files left */
        json_object_set_new(j, "state",
                            json_string(stale               ? "stale"
                                        : vm_known(v->name) ? "shut off"
                                                            : "not found"));
        return j;
    }
    json_object_set_new(j, "pid", json_integer(pid));
    json_auto_t *meta = vm_meta_read(v);
    const char *keys[] = { "accel", "accel_reason", "profile",
                           "cpus",  "memory_mib",   "ram_held_back_kib" };
    for (gsize i = 0; meta && i < G_N_ELEMENTS(keys); i++)
        if (json_object_get(meta, keys[i]))
            json_object_set(j, keys[i], json_object_get(meta, keys[i]));
    json_int_t started = json_integer_value(json_object_get(meta, "started"));
    if (started)
        json_object_set_new(j, "uptime_s",
                            json_integer(g_get_real_time() / G_USEC_PER_SEC - started));
    g_autoptr(GError) err = NULL;
    g_autoptr(QmpConn) qmp = vm_qmp_open(v, 3000, &err);
    json_auto_t *st = qmp ? qmp_conn_execute(qmp, "query-status", NULL, 3000, &err) : NULL;
    json_object_set_new(
        j, "state",
        json_string(st ? json_string_value(json_object_get(st, "status")) : "unresponsive"));
    if (!st)
        json_object_set_new(j, "error", json_string(err->message));
    add_resources(j, meta, qmp, pid);
    add_nics(j, v, qmp);
    return j;
}

/* numa=, read back from QEMU: each node's vCPUs (query-cpus-fast's
 * node-id) and memory backend (query-memdev: size, host nodes, policy). */
static gint by_node(gconstpointer a, gconstpointer b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "node"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "node"));
    return x < y ? -1 : x > y;
}

static void add_numa(json_t *j, QmpConn *qmp)
{
    json_auto_t *mem = qmp_conn_execute(qmp, "query-memdev", NULL, QMP_TIMEOUT_MS, NULL);
    json_auto_t *cpus = qmp_conn_execute(qmp, "query-cpus-fast", NULL, QMP_TIMEOUT_MS, NULL);
    json_t *nodes = json_array();
    size_t i, k;
    json_t *m, *c;
    json_array_foreach(mem, i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        if (!id || !g_str_has_prefix(id, "ram-node"))
            continue;
        json_int_t node = g_ascii_strtoll(id + strlen("ram-node"), NULL, 10);
        json_t *vc = json_array();
        json_array_foreach(cpus, k, c)
        {
            json_t *nid = json_object_get(json_object_get(c, "props"), "node-id");
            if (json_is_integer(nid) && json_integer_value(nid) == node)
                json_array_append(vc, json_object_get(c, "cpu-index"));
        }
        json_array_append_new(
            nodes, json_pack("{s:I, s:o, s:I, s:O, s:O}", "node", node, "cpus", vc, "memory_mib",
                             (json_integer_value(json_object_get(m, "size")) + (512 << 10)) >> 20,
                             "host_nodes", json_object_get(m, "host-nodes"), "policy",
                             json_object_get(m, "policy")));
    }
    if (!json_array_size(nodes)) {
        json_decref(nodes);
        return;
    }
    /* query-memdev lists the backends in no set order */
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();
    json_array_foreach(nodes, i, m) g_ptr_array_add(sorted, m);
    g_ptr_array_sort(sorted, by_node);
    json_t *out = json_array();
    for (guint n = 0; n < sorted->len; n++)
        json_array_append(out, sorted->pdata[n]);
    json_decref(nodes);
    json_object_set_new(j, "numa", out);
}

/* What pin=, cpu-limit=, memory-limit= and numa= enforce now, read back. */
static void add_resources(json_t *j, json_t *meta, QmpConn *qmp, pid_t pid)
{
    if (qmp)
        add_numa(j, qmp);
    json_t *cg = json_object_get(meta, "cgroups");
    if (json_array_size(cg)) {
        g_autoptr(GPtrArray) dirs = g_ptr_array_new();
        size_t i;
        json_t *d;
        json_array_foreach(cg, i, d) g_ptr_array_add(dirs, (gpointer)json_string_value(d));
        g_ptr_array_add(dirs, NULL);
        json_t *lim = res_cgroup_read((char *const *)dirs->pdata);
        json_object_set_new(lim, "cgroups", json_incref(cg));
        json_object_set_new(j, "limits", lim);
    }
    g_autoptr(GArray) tids = qmp ? res_vcpu_threads(qmp, NULL) : NULL;
    if (!tids || !json_object_get(meta, "pin"))
        return;
    json_t *aff = json_array();
    for (guint i = 0; i < tids->len; i++) {
        g_autofree char *a = res_thread_affinity(pid, g_array_index(tids, pid_t, i));
        json_array_append_new(aff, a ? json_string(a) : json_null());
    }
    json_object_set_new(j, "vcpu_affinity", aff);
}

/* A tap NIC: its tap, bridge, network and the DHCP lease's address. */
static void add_tap(json_t *o, const ProfileNet *n, json_t *meta, const char *mac)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(meta, "taps"), i, t)
    {
        if (g_strcmp0(json_string_value(json_object_get(t, "nic")), n->name) != 0)
            continue;
        json_object_set(o, "tap", json_object_get(t, "tap"));
        json_object_set(o, "bridge", json_object_get(t, "bridge"));
    }
    if (n->network) {
        g_autofree char *addr = nat_lease_address(n->network, mac);
        json_object_set_new(o, "network", json_string(n->network));
        json_object_set_new(o, "address", addr ? json_string(addr) : json_null());
    }
}

/* Each NIC: name, mode, model, MAC; the lan's segment; live forwards; a
 * tap's bridge and lease. */
static void add_nics(json_t *j, VmPaths *v, QmpConn *qmp)
{
    g_autoptr(Profile) p = vm_running_profile(v, NULL);
    if (!p)
        return;
    json_auto_t *fwds = qmp ? fwd_list(qmp, NULL) : NULL;
    json_auto_t *meta = vm_meta_read(v);
    json_t *nics = json_array();
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        g_autofree char *mac = cmdline_nic_mac(p, n);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", n->name, "mode",
                              profile_net_mode_name(n->mode), "model", n->model, "mac", mac);
        if (n->lan) {
            g_autofree char *group = NULL;
            guint port = cmdline_lan_address(n->lan, &group);
            g_autofree char *seg = g_strdup_printf("%s:%u", group, port);
            json_object_set_new(o, "lan", json_string(n->lan));
            json_object_set_new(o, "segment", json_string(seg));
        }
        if (n->mode == NET_TAP)
            add_tap(o, n, meta, mac);
        if (n->mode == NET_USER) {
            g_autofree char *nd = g_strconcat("net-", n->name, NULL);
            json_t *mine = json_array();
            size_t k;
            json_t *f;
            json_array_foreach(
                fwds, k, f) if (g_strcmp0(json_string_value(json_object_get(f, "netdev")), nd) == 0)
                json_array_append(mine, f);
            json_object_set_new(o, "forwards", mine);
        }
        json_array_append_new(nics, o);
    }
    json_object_set_new(j, "nics", nics);
}

static void print_state(json_t *j)
{
    printf("%-16s %-12s", json_string_value(json_object_get(j, "name")),
           json_string_value(json_object_get(j, "state")));
    if (json_object_get(j, "pid"))
        printf(" pid %-8" JSON_INTEGER_FORMAT " accel %-4s up %" JSON_INTEGER_FORMAT " s",
               json_integer_value(json_object_get(j, "pid")),
               json_string_value(json_object_get(j, "accel")),
               json_integer_value(json_object_get(j, "uptime_s")));
    printf("\n");
}

int cmd_status(int argc, char **argv, GError **error)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = { { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_autoptr(GError) err = NULL;
    g_autoptr(VmPaths) v = cli_vm(argv[1], &err);
    if (!v)
        return cli_fail(error, &err);
    json_auto_t *j = vm_state(v);
    const char *state = json_string_value(json_object_get(j, "state"));
    int rc = state_exit_code(state);
    if (json) {
        cli_print_json(j);
        return rc;
    }
    if (rc == 4) {
        g_auto(GStrv) names = cli_known_vm_names();
        g_autofree char *hint = cli_did_you_mean(v->name, (const char *const *)names);
        if (!*hint) { /* TINY for tiny */
            for (gsize i = 0; names[i] && !*hint; i++)
                if (!g_ascii_strcasecmp(names[i], v->name)) {
                    g_free(hint);
                    hint = g_strdup_printf(" (did you mean '%s'?)", names[i]);
                }
        }
        fprintf(stderr,
                "qlaunch: no VM named '%s': no runtime dir, no disks and no profile of that "
                "name%s; see qlaunch list --all and qlaunch profiles\n",
                v->name, hint);
    }
    printf("name:    %s\nstate:   %s\n", v->name, json_string_value(json_object_get(j, "state")));
    if (json_object_get(j, "error"))
        printf("error:   %s\n", json_string_value(json_object_get(j, "error")));
    if (json_object_get(j, "pid")) {
        printf("pid:     %" JSON_INTEGER_FORMAT "\n",
               json_integer_value(json_object_get(j, "pid")));
        printf("accel:   %s (%s)\n", json_string_value(json_object_get(j, "accel")),
               json_string_value(json_object_get(j, "accel_reason")));
        printf("vcpus:   %" JSON_INTEGER_FORMAT "\nmemory:  %" JSON_INTEGER_FORMAT " MiB%s\n",
               json_integer_value(json_object_get(j, "cpus")),
               json_integer_value(json_object_get(j, "memory_mib")),
               json_object_get(j, "ram_held_back_kib")
                   ? " less 8 KiB (QEMU < 9.0 under TCG: keeps live migration from losing "
                     "guest writes; README, Limits)"
                   : "");
        size_t ni;
        json_t *a;
        json_t *aff = json_object_get(j, "vcpu_affinity");
        if (aff) {
            printf("pinned: ");
            json_array_foreach(aff, ni, a) printf(" vCPU%zu->%s", ni, json_string_value(a));
            printf("\n");
        }
        json_array_foreach(json_object_get(j, "numa"), ni, a)
        {
            printf("numa %" JSON_INTEGER_FORMAT ":  vCPUs",
                   json_integer_value(json_object_get(a, "node")));
            size_t k;
            json_t *c;
            json_array_foreach(json_object_get(a, "cpus"), k, c)
                printf("%s%" JSON_INTEGER_FORMAT, k ? "," : " ", json_integer_value(c));
            printf(", %" JSON_INTEGER_FORMAT " MiB",
                   json_integer_value(json_object_get(a, "memory_mib")));
            json_t *h = json_object_get(a, "host_nodes");
            if (json_array_size(h)) {
                printf(", bound to host node");
                json_array_foreach(h, k, c)
                    printf("%s%" JSON_INTEGER_FORMAT, k ? "," : " ", json_integer_value(c));
                printf(" (%s)", json_string_value(json_object_get(a, "policy")));
            }
            printf("\n");
        }
        json_t *lim = json_object_get(j, "limits");
        if (json_object_get(lim, "cpu_limit_pct"))
            printf("cpu-limit: %" JSON_INTEGER_FORMAT "%% of one host CPU\n",
                   json_integer_value(json_object_get(lim, "cpu_limit_pct")));
        if (json_object_get(lim, "memory_limit"))
            printf("memory-limit: %" JSON_INTEGER_FORMAT " MiB (using %" JSON_INTEGER_FORMAT
                   " MiB)\n",
                   json_integer_value(json_object_get(lim, "memory_limit")) >> 20,
                   json_integer_value(json_object_get(lim, "memory_current")) >> 20);
        json_t *nic;
        json_array_foreach(json_object_get(j, "nics"), ni, nic)
        {
            printf("nic %s:   %s %s %s", json_string_value(json_object_get(nic, "name")),
                   json_string_value(json_object_get(nic, "mode")),
                   json_string_value(json_object_get(nic, "model")),
                   json_string_value(json_object_get(nic, "mac")));
            if (json_object_get(nic, "lan"))
                printf(" lan %s (%s)", json_string_value(json_object_get(nic, "lan")),
                       json_string_value(json_object_get(nic, "segment")));
            if (json_object_get(nic, "tap"))
                printf(" %s on %s", json_string_value(json_object_get(nic, "tap")),
                       json_string_value(json_object_get(nic, "bridge")));
            if (json_object_get(nic, "network")) {
                const char *addr = json_string_value(json_object_get(nic, "address"));
                printf(" network %s address %s", json_string_value(json_object_get(nic, "network")),
                       addr ? addr : "(no DHCP lease yet)");
            }
            size_t k;
            json_t *f;
            json_array_foreach(json_object_get(nic, "forwards"), k, f)
                printf(" %s:%s:%" JSON_INTEGER_FORMAT "->%" JSON_INTEGER_FORMAT,
                       json_string_value(json_object_get(f, "proto")),
                       json_string_value(json_object_get(f, "host_addr")),
                       json_integer_value(json_object_get(f, "host_port")),
                       json_integer_value(json_object_get(f, "guest_port")));
            printf("\n");
        }
        printf("uptime:  %" JSON_INTEGER_FORMAT " s\nprofile: %s\nruntime: %s\n",
               json_integer_value(json_object_get(j, "uptime_s")),
               json_string_value(json_object_get(j, "profile")), v->dir);
    }
    return rc;
}

static int compare_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The VMs with a runtime dir and those the profiles on the search path
 * name, sorted, each once (transfer full). */
static GStrv profile_vm_names(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_auto(GStrv) running = vm_list_names();
    for (gsize i = 0; running[i]; i++)
        g_hash_table_add(seen, g_strdup(running[i]));
    g_autoptr(GPtrArray) files = cli_profile_files(NULL);
    for (guint i = 0; i < files->len; i++) {
        g_autoptr(Profile) p = cli_load_profile(files->pdata[i], NULL);
        if (p)
            g_hash_table_add(seen, g_strdup(p->name));
    }
    g_autofree const char **keys = (const char **)g_hash_table_get_keys_as_array(seen, NULL);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_strv_builder_addv(b, keys);
    GStrv names = g_strv_builder_end(b);
    qsort(names, g_strv_length(names), sizeof(char *), compare_strp);
    return names;
}

int cmd_list(int argc, char **argv, GError **error)
{
    (void)error; /* reports its own output; no failure to hand back */
    gboolean json = FALSE, names_only = FALSE, all_vms = FALSE;
    GOptionEntry entries[] = {
        { "all", 'a', 0, G_OPTION_ARG_NONE, &all_vms,
          "Also the VMs of every profile on the search path, running or not (as virsh list --all)",
          NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
        { "names", 0, 0, G_OPTION_ARG_NONE, &names_only,
          "Only the names, without asking the VMs (for completion)", NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_auto(GStrv) names = all_vms ? profile_vm_names() : vm_list_names();
    if (names_only) {
        for (gsize i = 0; names[i]; i++)
            printf("%s\n", names[i]);
        return EXIT_OK;
    }
    json_auto_t *all = json_array();
    for (gsize i = 0; names[i]; i++) {
        g_autoptr(VmPaths) v = vm_paths_new(names[i]);
        json_array_append_new(all, vm_state(v));
    }
    if (json) {
        cli_print_json(all);
        return EXIT_OK;
    }
    if (!json_array_size(all) && !cli_quiet)
        fprintf(stderr, "%s\n",
                all_vms ? "no VMs: no runtime dirs and no profiles on the search path (see "
                          "qlaunch profiles)"
                        : "no VMs are running (qlaunch list --all shows those of every profile)");
    size_t i;
    json_t *j;
    json_array_foreach(all, i, j) print_state(j);
    return EXIT_OK;
}
