/* NAT networks on the host: bridge + gateway address, ip_forward, an
 * nftables table of our own, dnsmasq; and taps for VMs. Every step is
 * recorded in <runtime>/_networks/NAME/state.json before it is taken, and
 * the bridge carries the alias "qlaunch network NAME", so stop can undo a
 * start that was cut short. */
#include "nat.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "proc.h"
#include "vm.h"

#define TOOL_TIMEOUT_MS 15000
#define NAT_ERROR (g_quark_from_static_string("qlaunch-nat"))

/* GLib 2.74 has no g_strv_builder_take. */
static void take(GStrvBuilder *b, char *s)
{
    g_strv_builder_add(b, s);
    g_free(s);
}

char *nat_privilege_problem(const char *verb)
{
    g_autofree char *status = NULL;
    if (g_file_get_contents("/proc/self/status", &status, NULL, NULL)) {
        const char *cap = strstr(status, "CapEff:");
        guint64 eff = cap ? g_ascii_strtoull(cap + 7, NULL, 16) : 0;
        if (eff & (1ULL << 12)) /* CAP_NET_ADMIN */
            return NULL;
    }
    return g_strdup_printf(
        "%s needs root or CAP_NET_ADMIN (it creates bridges, taps and nftables rules); run it "
        "with sudo. VMs with mode=user or mode=socket networking need no privileges at all",
        verb);
}

char *nat_find_tool(const char *name, const char *package, GError **error)
{
    char *p = g_find_program_in_path(name);
    if (p)
        return p;
    const char *dirs[] = { "/usr/sbin", "/sbin", "/usr/bin" };
    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *c = g_build_filename(dirs[i], name, NULL);
        if (g_file_test(c, G_FILE_TEST_IS_EXECUTABLE))
            return g_steal_pointer(&c);
    }
    g_set_error(error, NAT_ERROR, 1,
                "%s is not installed; install the Debian package %s (apt-get install %s)", name,
                package, package);
    return NULL;
}

/* Runs a tool; an exit status other than 0 is an error with its output. */
static gboolean run_tool(const char *const *argv, char **output, GError **error)
{
    int status = 0;
    g_autofree char *out = NULL;
    if (!proc_run_all(argv, TOOL_TIMEOUT_MS, &out, &status, error))
        return FALSE;
    if (status != 0) {
        g_autofree char *line = g_strjoinv(" ", (char **)argv);
        g_autofree char *how = proc_describe_status(status);
        g_set_error(error, NAT_ERROR, 1, "%s failed (%s): %s", line, how,
                    out ? g_strstrip(out) : "");
        return FALSE;
    }
    if (output)
        *output = g_steal_pointer(&out);
    return TRUE;
}

static gboolean ip_cmd(const char *ip, GError **error, ...)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new();
    g_ptr_array_add(a, (gpointer)ip);
    va_list ap;
    va_start(ap, error);
    for (const char *s; (s = va_arg(ap, const char *));)
        g_ptr_array_add(a, (gpointer)s);
    va_end(ap);
    g_ptr_array_add(a, NULL);
    return run_tool((const char *const *)a->pdata, NULL, error);
}

char *nat_state_dir(const char *name)
{
    g_autofree char *base = vm_runtime_base();
    return g_build_filename(base, "_networks", name, NULL);
}

static char *state_file(const char *name)
{
    g_autofree char *dir = nat_state_dir(name);
    return g_build_filename(dir, "state.json", NULL);
}

json_t *nat_state_read(const char *name)
{
    g_autofree char *f = state_file(name);
    return json_load_file(f, 0, NULL);
}

static gboolean state_write(const char *name, json_t *st, GError **error)
{
    g_autofree char *f = state_file(name);
    g_autofree char *tmp = g_strconcat(f, ".tmp", NULL);
    if (json_dump_file(st, tmp, JSON_INDENT(2)) < 0 || rename(tmp, f) < 0) {
        g_set_error(error, NAT_ERROR, 1, "cannot write %s", f);
        return FALSE;
    }
    return TRUE;
}

static char *bridge_alias(const char *name)
{
    return g_strdup_printf("qlaunch network %s", name);
}

static gboolean link_exists(const char *ifname)
{
    g_autofree char *p = g_build_filename("/sys/class/net", ifname, NULL);
    return g_file_test(p, G_FILE_TEST_EXISTS);
}

/* The bridge exists and carries our alias. */
static gboolean bridge_is_ours(const char *bridge, const char *name)
{
    g_autofree char *p = g_build_filename("/sys/class/net", bridge, "ifalias", NULL);
    g_autofree char *alias = NULL, *want = bridge_alias(name);
    return g_file_get_contents(p, &alias, NULL, NULL) && strcmp(g_strstrip(alias), want) == 0;
}

/* Interfaces enslaved to the bridge (transfer full). */
static GStrv bridge_ports(const char *bridge)
{
    g_autofree char *p = g_build_filename("/sys/class/net", bridge, "brif", NULL);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_autoptr(GDir) d = g_dir_open(p, 0, NULL);
    for (const char *n; d && (n = g_dir_read_name(d));)
        g_strv_builder_add(b, n);
    return g_strv_builder_end(b);
}

static gboolean nft_table_exists(const char *nft, const char *table)
{
    const char *argv[] = { nft, "list", "table", "ip", table, NULL };
    int status = 0;
    g_autofree char *out = NULL;
    return proc_run_all(argv, TOOL_TIMEOUT_MS, &out, &status, NULL) && status == 0;
}

/* dnsmasq's pid if it runs with our configuration file, else 0. */
static pid_t our_dnsmasq(const char *dir)
{
    g_autofree char *pidf = g_build_filename(dir, "dnsmasq.pid", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(pidf, &text, NULL, NULL))
        return 0;
    gint64 pid = g_ascii_strtoll(text, NULL, 10);
    if (pid <= 0 || pid > G_MAXINT || !proc_alive((pid_t)pid))
        return 0;
    g_autofree char *cmdp = g_strdup_printf("/proc/%d/cmdline", (int)pid);
    g_autofree char *cmd = NULL;
    gsize len = 0;
    if (!g_file_get_contents(cmdp, &cmd, &len, NULL))
        return 0;
    g_autofree char *conf = g_strdup_printf("--conf-file=%s/dnsmasq.conf", dir);
    for (gsize off = 0; off < len; off += strlen(cmd + off) + 1)
        if (strcmp(cmd + off, conf) == 0)
            return (pid_t)pid; /* not some other process that reused the pid */
    return 0;
}

static int lock_dir(const char *dir, GError **error)
{
    g_autofree char *f = g_build_filename(dir, "lock", NULL);
    int fd = open(f, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (fd >= 0)
            close(fd);
        g_set_error(error, NAT_ERROR, 1,
                    "%s: another qlaunch is starting or stopping this network; try again", f);
        return -1;
    }
    return fd;
}

static gboolean prepare_dir(const char *name, char **dir, GError **error)
{
    g_autofree char *base = vm_runtime_base();
    g_autofree char *nets = g_build_filename(base, "_networks", NULL);
    g_mkdir_with_parents(base, 0700);
    *dir = nat_state_dir(name);
    return vm_private_dir(base, error) && vm_private_dir(nets, error) &&
           vm_private_dir(*dir, error);
}

static gboolean check_free(const NetDef *d, GError **error)
{
    if (link_exists(d->bridge) && !bridge_is_ours(d->bridge, d->name)) {
        g_set_error(error, NAT_ERROR, 1,
                    "network %s: bridge %s already exists and is not qlaunch's (it lacks the "
                    "alias \"qlaunch network %s\"); set another bridge= in %s, or remove it "
                    "(ip link del %s) if nothing uses it",
                    d->name, d->bridge, d->name, d->path, d->bridge);
        return FALSE;
    }
    g_autofree char *routes = NULL;
    g_file_get_contents("/proc/net/route", &routes, NULL, NULL);
    g_autofree char *clash = netdef_route_overlap(d, routes, d->bridge);
    if (clash) {
        g_autofree char *subnet = netdef_subnet_string(d);
        g_set_error(error, NAT_ERROR, 1,
                    "network %s: subnet=%s overlaps the route %s already present on this host; "
                    "choose another subnet= in %s",
                    d->name, subnet, clash, d->path);
        return FALSE;
    }
    return TRUE;
}

static gboolean sysctl_forward(const char *value, char **before)
{
    const char *f = "/proc/sys/net/ipv4/ip_forward";
    if (before) {
        g_autofree char *old = NULL;
        if (!g_file_get_contents(f, &old, NULL, NULL))
            return FALSE;
        *before = g_strdup(g_strstrip(old));
    }
    /* /proc files are written in place (g_file_set_contents renames) */
    int fd = open(f, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return FALSE;
    gboolean ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
    return close(fd) == 0 && ok;
}

static gboolean start_bridge(const NetDef *d, const char *ip, json_t *st, GError **error)
{
    g_autofree char *alias = bridge_alias(d->name), *gw = netdef_ip_string(d->gateway);
    g_autofree char *addr = g_strdup_printf("%s/%u", gw, d->prefix);
    if (!link_exists(d->bridge)) {
        json_object_set_new(st, "bridge_created", json_true());
        if (!state_write(d->name, st, error) ||
            !ip_cmd(ip, error, "link", "add", d->bridge, "type", "bridge", NULL))
            return FALSE;
    }
    const char *show[] = { ip, "-4", "-o", "addr", "show", "dev", d->bridge, NULL };
    g_autofree char *have = NULL;
    if (!ip_cmd(ip, error, "link", "set", "dev", d->bridge, "alias", alias, NULL) ||
        !run_tool(show, &have, error))
        return FALSE;
    g_autofree char *needle = g_strdup_printf(" %s ", addr);
    if (!strstr(have, needle) && !ip_cmd(ip, error, "addr", "add", addr, "dev", d->bridge, NULL))
        return FALSE;
    return ip_cmd(ip, error, "link", "set", "dev", d->bridge, "up", NULL);
}

static gboolean start_nft(const NetDef *d, const char *nft, const char *dir, json_t *st,
                          GError **error)
{
    g_autofree char *table = netdef_nft_table(d), *rules = netdef_nft_rules(d);
    g_autofree char *file = g_build_filename(dir, "nftables.conf", NULL);
    /* nat_start runs only where no state of this network is left (a
     * leftover is stopped first), so a table of this name is not ours: it
     * is never replaced (stop deletes only the table the state records). */
    if (nft_table_exists(nft, table)) {
        g_set_error(error, NAT_ERROR, 1,
                    "nft table ip %s already exists and qlaunch's state does not record it as "
                    "network %s's; refusing to replace it (if it is a leftover: nft delete table "
                    "ip %s)",
                    table, d->name, table);
        return FALSE;
    }
    if (!g_file_set_contents(file, rules, -1, error))
        return FALSE;
    json_object_set_new(st, "nft_table", json_string(table));
    if (!state_write(d->name, st, error))
        return FALSE;
    const char *add[] = { nft, "-f", file, NULL };
    return run_tool(add, NULL, error);
}

static gboolean start_dnsmasq(const NetDef *d, const char *dnsmasq, const char *dir, json_t *st,
                              GError **error)
{
    g_autofree char *conf = netdef_dnsmasq_conf(d, dir);
    g_autofree char *file = g_build_filename(dir, "dnsmasq.conf", NULL);
    g_autofree char *arg = g_strdup_printf("--conf-file=%s", file);
    if (!g_file_set_contents(file, conf, -1, error))
        return FALSE;
    json_object_set_new(st, "dnsmasq", json_true());
    if (!state_write(d->name, st, error))
        return FALSE;
    /* dnsmasq forks once it has bound its sockets; its exit status says
     * whether that worked. */
    const char *argv[] = { dnsmasq, arg, NULL };
    if (!run_tool(argv, NULL, error))
        return FALSE;
    for (gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC; g_get_monotonic_time() < end;
         g_usleep(20000)) {
        pid_t pid = our_dnsmasq(dir);
        if (pid) {
            json_object_set_new(st, "dnsmasq_pid", json_integer(pid));
            return state_write(d->name, st, error);
        }
    }
    g_set_error(error, NAT_ERROR, 1, "dnsmasq started but wrote no pid file in %s within 5 s", dir);
    return FALSE;
}

static gboolean start_steps(const NetDef *d, const char *dir, json_t *st, GError **error)
{
    g_autofree char *ip = nat_find_tool("ip", "iproute2", error);
    g_autofree char *nft = ip ? nat_find_tool("nft", "nftables", error) : NULL;
    gboolean need_dnsmasq = d->dns || d->dhcp_start;
    g_autofree char *dnsmasq =
        nft && need_dnsmasq ? nat_find_tool("dnsmasq", "dnsmasq-base", error) : NULL;
    if (!nft || (need_dnsmasq && !dnsmasq) || !check_free(d, error) ||
        !start_bridge(d, ip, st, error))
        return FALSE;
    g_autofree char *before = NULL;
    if (d->nat) {
        if (!sysctl_forward("1", &before)) {
            g_set_error(error, NAT_ERROR, 1,
                        "cannot enable forwarding in /proc/sys/net/ipv4/ip_forward");
            return FALSE;
        }
        json_object_set_new(st, "ip_forward_before", json_string(before));
        if (!state_write(d->name, st, error))
            return FALSE;
    }
    if (!start_nft(d, nft, dir, st, error))
        return FALSE;
    if (need_dnsmasq && !start_dnsmasq(d, dnsmasq, dir, st, error))
        return FALSE;
    json_object_set_new(st, "state", json_string("running"));
    return state_write(d->name, st, error);
}

char *nat_plan(const NetDef *d)
{
    g_autofree char *dir = nat_state_dir(d->name), *alias = bridge_alias(d->name);
    g_autofree char *gw = netdef_ip_string(d->gateway), *subnet = netdef_subnet_string(d);
    g_autofree char *rules = netdef_nft_rules(d), *conf = netdef_dnsmasq_conf(d, dir);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "# qlaunch net start %s --dry-run: nothing was changed\n", d->name);
    g_string_append_printf(s, "# network %s from %s: subnet %s, gateway %s\n", d->name, d->path,
                           subnet, gw);
    g_autoptr(GError) busy = NULL;
    if (!check_free(d, &busy))
        g_string_append_printf(s, "# start would refuse: %s\n", busy->message);
    if (!link_exists(d->bridge))
        g_string_append_printf(s, "ip link add %s type bridge\n", d->bridge);
    g_string_append_printf(s, "ip link set dev %s alias '%s'\n", d->bridge, alias);
    g_string_append_printf(s, "ip addr add %s/%u dev %s\n", gw, d->prefix, d->bridge);
    g_string_append_printf(s, "ip link set dev %s up\n", d->bridge);
    if (d->nat)
        g_string_append(s, "sysctl -w net.ipv4.ip_forward=1   # net stop restores the old value\n");
    g_string_append_printf(s, "nft -f %s/nftables.conf   # with:\n", dir);
    g_string_append(s, rules);
    if (d->dns || d->dhcp_start) {
        g_string_append_printf(s, "dnsmasq --conf-file=%s/dnsmasq.conf   # with:\n", dir);
        g_string_append(s, conf);
    }
    return g_string_free(s, FALSE);
}

gboolean nat_start(const NetDef *d, gboolean *already, GError **error)
{
    *already = FALSE;
    g_autofree char *why = nat_privilege_problem("qlaunch net start");
    if (why) {
        g_set_error_literal(error, NAT_ERROR, 1, why);
        return FALSE;
    }
    g_autofree char *dir = NULL;
    if (!prepare_dir(d->name, &dir, error))
        return FALSE;
    int lock = lock_dir(dir, error);
    if (lock < 0)
        return FALSE;
    json_auto_t *old = nat_state_read(d->name);
    gboolean ok = FALSE;
    if (old) {
        json_auto_t *s = nat_status(d->name, d);
        const char *state = json_string_value(json_object_get(s, "state"));
        if (g_strcmp0(state, "running") == 0) {
            *already = TRUE;
            ok = TRUE;
        } else {
            g_set_error(error, NAT_ERROR, 1,
                        "network %s was left half set up (by a start that did not finish, or a "
                        "piece was removed by hand); run 'qlaunch net stop %s' first",
                        d->name, d->name);
        }
        close(lock);
        return ok;
    }
    g_autofree char *subnet = netdef_subnet_string(d), *gw = netdef_ip_string(d->gateway);
    g_autofree char *abs = g_canonicalize_filename(d->path, NULL);
    json_auto_t *st = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:b, s:s}", "name", d->name,
                                "file", abs, "bridge", d->bridge, "subnet", subnet, "gateway", gw,
                                "started", (json_int_t)(g_get_real_time() / G_USEC_PER_SEC), "nat",
                                d->nat, "dns", d->dns, "state", "starting");
    ok = state_write(d->name, st, error) && start_steps(d, dir, st, error);
    close(lock);
    if (!ok) { /* undo what was made, keep the first error */
        g_auto(GStrv) removed = NULL;
        nat_stop(d->name, d, TRUE, &removed, NULL);
    }
    return ok;
}

/* True when some other qlaunch network still relies on ip_forward. */
static gboolean other_nat_running(const char *name)
{
    g_auto(GStrv) names = nat_list_started();
    for (gsize i = 0; names[i]; i++) {
        if (!strcmp(names[i], name))
            continue;
        json_auto_t *st = nat_state_read(names[i]);
        if (json_is_true(json_object_get(st, "nat")))
            return TRUE;
    }
    return FALSE;
}

static gboolean stop_dnsmasq(const char *dir, GStrvBuilder *removed)
{
    pid_t pid = our_dnsmasq(dir);
    if (!pid)
        return TRUE;
    kill(pid, SIGTERM);
    if (!proc_wait_gone(pid, 5000)) {
        kill(pid, SIGKILL);
        proc_wait_gone(pid, 5000);
    }
    take(removed, g_strdup_printf("dnsmasq (pid %d)", (int)pid));
    return !proc_alive(pid);
}

/* "qltap0 (VM web), eth5" (transfer full): which VM holds each tap. */
static char *describe_ports(GStrv ports)
{
    g_auto(GStrv) vms = vm_list_names();
    GString *s = g_string_new(NULL);
    for (gsize i = 0; ports[i]; i++) {
        const char *owner = NULL;
        for (gsize k = 0; vms[k] && !owner; k++) {
            g_autoptr(VmPaths) v = vm_paths_new(vms[k]);
            json_auto_t *meta = vm_meta_read(v);
            size_t j;
            json_t *t;
            json_array_foreach(json_object_get(meta, "taps"), j,
                               t) if (g_strcmp0(json_string_value(json_object_get(t, "tap")),
                                                ports[i]) == 0) owner = vms[k];
        }
        g_string_append_printf(s, "%s%s", i ? ", " : "", ports[i]);
        if (owner)
            g_string_append_printf(s, " (VM %s)", owner);
    }
    return g_string_free(s, FALSE);
}

/* The state of a network that has none recorded: what its file says. */
static json_t *state_from_def(const NetDef *d)
{
    g_autofree char *table = netdef_nft_table(d);
    return json_pack("{s:s, s:s, s:b}", "bridge", d->bridge, "nft_table", table, "nat", d->nat);
}

gboolean nat_stop(const char *name, const NetDef *d, gboolean force, GStrv *removed_out,
                  GError **error)
{
    g_autoptr(GStrvBuilder) removed = g_strv_builder_new();
    *removed_out = NULL;
    g_autofree char *why = nat_privilege_problem("qlaunch net stop");
    if (why) {
        g_set_error_literal(error, NAT_ERROR, 1, why);
        return FALSE;
    }
    g_autofree char *dir = nat_state_dir(name);
    json_auto_t *st = nat_state_read(name);
    gboolean recorded = st != NULL;
    if (!st && d)
        st = state_from_def(d);
    if (!st) {
        *removed_out = g_strv_builder_end(removed);
        return TRUE; /* not started, no file to say what it would have made */
    }
    const char *bridge = json_string_value(json_object_get(st, "bridge"));
    /* only a table our state file records (the bridge is checked by its
     * ownership alias below) */
    const char *table = recorded ? json_string_value(json_object_get(st, "nft_table")) : NULL;
    g_auto(GStrv) ports = bridge && bridge_is_ours(bridge, name) ? bridge_ports(bridge) : NULL;
    if (ports && ports[0] && !force) {
        g_autofree char *list = describe_ports(ports);
        g_set_error(error, NAT_ERROR, 1,
                    "network %s is still used by %s on bridge %s; stop those VMs first (qlaunch "
                    "list shows them), or use --force to cut them off",
                    name, list, bridge);
        return FALSE;
    }
    GError *first = NULL;
    g_autoptr(GError) e = NULL;
    if (!stop_dnsmasq(dir, removed))
        g_set_error(&first, NAT_ERROR, 1, "dnsmasq of network %s does not exit", name);
    g_autofree char *nft = nat_find_tool("nft", "nftables", NULL);
    if (table && nft && nft_table_exists(nft, table)) {
        const char *del[] = { nft, "delete", "table", "ip", table, NULL };
        if (run_tool(del, NULL, first ? &e : &first))
            take(removed, g_strdup_printf("nft table ip %s", table));
    }
    g_autofree char *ip = nat_find_tool("ip", "iproute2", NULL);
    if (bridge && ip && bridge_is_ours(bridge, name)) {
        g_clear_error(&e);
        if (ip_cmd(ip, first ? &e : &first, "link", "del", bridge, NULL))
            take(removed, g_strdup_printf("bridge %s", bridge));
    }
    const char *before = json_string_value(json_object_get(st, "ip_forward_before"));
    if (before && strcmp(before, "1") != 0 && !other_nat_running(name) &&
        sysctl_forward(before, NULL))
        take(removed, g_strdup_printf("ip_forward (back to %s)", before));
    if (first) {
        g_propagate_error(error, first);
        g_prefix_error(error, "network %s: stop left pieces behind (state kept in %s): ", name,
                       dir);
        return FALSE;
    }
    const char *files[] = { "state.json",    "dnsmasq.conf", "dnsmasq.pid",   "leases",
                            "nftables.conf", "lock",         "state.json.tmp" };
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *f = g_build_filename(dir, files[i], NULL);
        unlink(f);
    }
    rmdir(dir);
    g_autofree char *parent = g_path_get_dirname(dir);
    rmdir(parent); /* _networks, when it was the last */
    *removed_out = g_strv_builder_end(removed);
    return TRUE;
}

static json_t *leases_json(const char *dir)
{
    g_autofree char *f = g_build_filename(dir, "leases", NULL);
    g_autofree char *text = NULL;
    json_t *a = json_array();
    if (!g_file_get_contents(f, &text, NULL, NULL))
        return a;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (gsize i = 0; lines[i]; i++) {
        g_auto(GStrv) x = g_strsplit(lines[i], " ", 0);
        if (g_strv_length(x) < 4)
            continue;
        json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:s}", "expires",
                                           (json_int_t)g_ascii_strtoll(x[0], NULL, 10), "mac", x[1],
                                           "address", x[2], "hostname", x[3]));
    }
    return a;
}

json_t *nat_status(const char *name, const NetDef *d)
{
    g_autofree char *dir = nat_state_dir(name);
    json_auto_t *st = nat_state_read(name);
    json_t *out = json_object();
    json_object_set_new(out, "name", json_string(name));
    if (!st && !d) {
        json_object_set_new(out, "state", json_string("stopped"));
        return out;
    }
    json_t *src = st;
    g_autofree char *subnet = d ? netdef_subnet_string(d) : NULL;
    g_autofree char *gw = d ? netdef_ip_string(d->gateway) : NULL;
    g_autofree char *table = d ? netdef_nft_table(d) : NULL;
#define FIELD(k, dflt)                                                                             \
    (src && json_string_value(json_object_get(src, k))                                             \
         ? json_string_value(json_object_get(src, k))                                              \
         : (dflt))
    const char *bridge = FIELD("bridge", d ? d->bridge : NULL);
    const char *tbl = FIELD("nft_table", table);
    json_object_set_new(out, "file", json_string(FIELD("file", d ? d->path : "")));
    json_object_set_new(out, "bridge", json_string(bridge ? bridge : ""));
    json_object_set_new(out, "subnet", json_string(FIELD("subnet", subnet ? subnet : "")));
    json_object_set_new(out, "gateway", json_string(FIELD("gateway", gw ? gw : "")));
#undef FIELD
    g_autofree char *nft = nat_find_tool("nft", "nftables", NULL);
    gboolean have_bridge = bridge && bridge_is_ours(bridge, name);
    gboolean have_table = nft && tbl && nft_table_exists(nft, tbl);
    pid_t pid = our_dnsmasq(dir);
    gboolean want_dnsmasq = st ? json_is_true(json_object_get(st, "dnsmasq")) : FALSE;
    const char *state = "stopped";
    if (have_bridge && have_table && (!want_dnsmasq || pid) &&
        g_strcmp0(json_string_value(json_object_get(st, "state")), "running") == 0)
        state = "running";
    else if (st || have_bridge || have_table || pid)
        state = "partial";
    json_object_set_new(out, "state", json_string(state));
    json_object_set_new(out, "bridge_present", json_boolean(have_bridge));
    json_object_set_new(out, "nft_table", json_string(tbl ? tbl : ""));
    json_object_set_new(out, "nft_table_present", json_boolean(have_table));
    json_object_set_new(out, "dnsmasq_pid", json_integer(pid));
    json_object_set_new(out, "nat",
                        json_boolean(st ? json_is_true(json_object_get(st, "nat")) : d->nat));
    g_auto(GStrv) ports = have_bridge ? bridge_ports(bridge) : g_new0(char *, 1);
    json_t *pa = json_array();
    for (gsize i = 0; ports[i]; i++)
        json_array_append_new(pa, json_string(ports[i]));
    json_object_set_new(out, "attached", pa);
    json_object_set_new(out, "leases", leases_json(dir));
    return out;
}

GStrv nat_list_started(void)
{
    g_autofree char *base = vm_runtime_base();
    g_autofree char *nets = g_build_filename(base, "_networks", NULL);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_autoptr(GDir) d = g_dir_open(nets, 0, NULL);
    for (const char *n; d && (n = g_dir_read_name(d));)
        if (netdef_name_valid(n))
            g_strv_builder_add(b, n);
    return g_strv_builder_end(b);
}

int nat_tap_open(const char *bridge, char **ifname, GError **error)
{
    g_autofree char *why = nat_privilege_problem("mode=tap (creating a tap)");
    if (why) {
        g_set_error_literal(error, NAT_ERROR, 1, why);
        return -1;
    }
    g_autofree char *ip = nat_find_tool("ip", "iproute2", error);
    if (!ip)
        return -1;
    /* Not close-on-exec: QEMU inherits it as -netdev tap,fd=N. */
    int fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0) {
        g_set_error(error, NAT_ERROR, 1, "cannot open /dev/net/tun: %s (is the tun module loaded?)",
                    g_strerror(errno));
        return -1;
    }
    unsigned int features = 0;
    struct ifreq ifr = { 0 };
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR))
        ifr.ifr_flags |= IFF_VNET_HDR;
    g_strlcpy(ifr.ifr_name, "qltap%d", IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        g_set_error(error, NAT_ERROR, 1, "TUNSETIFF: %s", g_strerror(errno));
        close(fd);
        return -1;
    }
    *ifname = g_strndup(ifr.ifr_name, IFNAMSIZ);
    if (!ip_cmd(ip, error, "link", "set", "dev", *ifname, "master", bridge, "up", NULL)) {
        close(fd); /* the tap goes with its last fd */
        g_clear_pointer(ifname, g_free);
        return -1;
    }
    return fd;
}

char *nat_nic_bridge(const char *network, const char *bridge, GError **error)
{
    if (bridge) {
        g_autofree char *p = g_build_filename("/sys/class/net", bridge, "bridge", NULL);
        if (!g_file_test(p, G_FILE_TEST_IS_DIR)) {
            g_set_error(error, NAT_ERROR, 1, "bridge %s does not exist (or is not a bridge)",
                        bridge);
            return NULL;
        }
        return g_strdup(bridge);
    }
    json_auto_t *st = nat_state_read(network);
    const char *br = json_string_value(json_object_get(st, "bridge"));
    if (!br || g_strcmp0(json_string_value(json_object_get(st, "state")), "running") != 0 ||
        !bridge_is_ours(br, network)) {
        g_set_error(error, NAT_ERROR, 1,
                    "network %s is not running; start it with 'qlaunch net start %s' (as root)",
                    network, network);
        return NULL;
    }
    return g_strdup(br);
}

char *nat_lease_address(const char *network, const char *mac)
{
    g_autofree char *dir = nat_state_dir(network);
    g_autofree char *f = g_build_filename(dir, "leases", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(f, &text, NULL, NULL))
        return NULL;
    return netdef_lease_for(text, mac);
}
