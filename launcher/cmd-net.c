/* qlaunch net start|stop|status|list: NAT networks (bridge, nftables, dnsmasq). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "nat.h"

static void print_status(json_t *s)
{
    const char *state = json_string_value(json_object_get(s, "state"));
    printf("network: %s\nstate:   %s\n", json_string_value(json_object_get(s, "name")), state);
    if (!json_object_get(s, "bridge"))
        return;
    printf("file:    %s\nbridge:  %s%s\nsubnet:  %s (gateway %s)\nnat:     %s\n",
           json_string_value(json_object_get(s, "file")),
           json_string_value(json_object_get(s, "bridge")),
           json_is_true(json_object_get(s, "bridge_present")) ? "" : " (absent)",
           json_string_value(json_object_get(s, "subnet")),
           json_string_value(json_object_get(s, "gateway")),
           json_is_true(json_object_get(s, "nat")) ? "masquerade" : "no (isolated)");
    printf("nft:     table ip %s%s\n", json_string_value(json_object_get(s, "nft_table")),
           json_is_true(json_object_get(s, "nft_table_present")) ? "" : " (absent)");
    json_int_t pid = json_integer_value(json_object_get(s, "dnsmasq_pid"));
    if (pid)
        printf("dnsmasq: pid %" JSON_INTEGER_FORMAT "\n", pid);
    else
        printf("dnsmasq: not running\n");
    size_t i;
    json_t *x;
    printf("attached:");
    json_array_foreach(json_object_get(s, "attached"), i, x) printf(" %s", json_string_value(x));
    printf("%s\n", json_array_size(json_object_get(s, "attached")) ? "" : " (none)");
    json_array_foreach(json_object_get(s, "leases"), i, x)
        printf("lease:   %s %s %s\n", json_string_value(json_object_get(x, "address")),
               json_string_value(json_object_get(x, "mac")),
               json_string_value(json_object_get(x, "hostname")));
}

/* The definition, when its file can be found; stop and status also work
 * from the state a start left behind. */
static NetDef *find_def(const char *arg, gboolean required, GError **error)
{
    g_autoptr(GError) e = NULL;
    NetDef *d = cli_load_network(arg, &e);
    if (d ||
        (!required && e->code == PROFILE_ERROR_READ && !strchr(arg, '/') && netdef_name_valid(arg)))
        return d;
    g_propagate_error(error, g_steal_pointer(&e));
    return NULL;
}

static int net_start(const char *arg, gboolean json, gboolean dry_run, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(NetDef) d = find_def(arg, TRUE, &err);
    if (d && dry_run) {
        g_autofree char *plan = nat_plan(d);
        if (json) {
            json_auto_t *j = json_pack("{s:s, s:s}", "name", d->name, "plan", plan);
            cli_print_json(j);
        } else {
            fputs(plan, stdout);
        }
        return EXIT_OK;
    }
    gboolean already = FALSE;
    gint64 t0 = g_get_monotonic_time();
    if (!d || !nat_start(d, &already, &err))
        return cli_fail(error, &err);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    json_auto_t *s = nat_status(d->name, d);
    if (json) {
        json_object_set_new(s, "already_running", json_boolean(already));
        json_object_set_new(s, "seconds", json_real(secs));
        cli_print_json(s);
    } else if (already) {
        printf("network %s is already running (bridge %s, gateway %s); nothing to do\n", d->name,
               d->bridge, json_string_value(json_object_get(s, "gateway")));
    } else {
        printf("started network %s: bridge %s, gateway %s, subnet %s%s, dnsmasq pid "
               "%" JSON_INTEGER_FORMAT " (%.2f s)\n",
               d->name, d->bridge, json_string_value(json_object_get(s, "gateway")),
               json_string_value(json_object_get(s, "subnet")), d->nat ? " masqueraded" : "",
               json_integer_value(json_object_get(s, "dnsmasq_pid")), secs);
    }
    return EXIT_OK;
}

static int net_stop(const char *arg, gboolean force, gboolean json, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(NetDef) d = find_def(arg, FALSE, &err);
    if (err)
        return cli_fail(error, &err);
    const char *name = d ? d->name : arg;
    g_auto(GStrv) removed = NULL;
    gint64 t0 = g_get_monotonic_time();
    if (!nat_stop(name, d, force, &removed, &err))
        return cli_fail(error, &err);
    double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (json) {
        json_auto_t *a = json_array();
        for (gsize i = 0; removed[i]; i++)
            json_array_append_new(a, json_string(removed[i]));
        json_auto_t *j = json_pack("{s:s, s:O, s:f}", "name", name, "removed", a, "seconds", secs);
        cli_print_json(j);
    } else if (!removed[0]) {
        printf("network %s is not running; nothing to do\n", name);
    } else {
        g_autofree char *list = g_strjoinv(", ", removed);
        printf("stopped network %s: removed %s (%.2f s)\n", name, list, secs);
    }
    return EXIT_OK;
}

static int net_status(const char *arg, gboolean json, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(NetDef) d = find_def(arg, FALSE, &err);
    if (err)
        return cli_fail(error, &err);
    json_auto_t *s = nat_status(d ? d->name : arg, d);
    if (!d && !nat_state_read(arg))
        return cli_failf(error,
                         "no network named '%s': no networks/%s.ini in the profile directories "
                         "and none started",
                         arg, arg);
    if (json)
        cli_print_json(s);
    else
        print_status(s);
    return EXIT_OK;
}

static int net_list(gboolean json)
{
    json_auto_t *all = json_array();
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_auto(GStrv) files = cli_network_files();
    for (gsize i = 0; files[i]; i++) {
        g_autoptr(GError) e = NULL;
        g_autoptr(NetDef) d = netdef_load(files[i], &e);
        if (!d) {
            g_printerr("qlaunch: %s\n", e->message);
            continue;
        }
        g_hash_table_add(seen, g_strdup(d->name));
        json_array_append_new(all, nat_status(d->name, d));
    }
    g_auto(GStrv) started = nat_list_started();
    for (gsize i = 0; started[i]; i++)
        if (!g_hash_table_contains(seen, started[i]))
            json_array_append_new(all, nat_status(started[i], NULL));
    if (json) {
        cli_print_json(all);
        return EXIT_OK;
    }
    printf("%-16s %-8s %-15s %-18s %s\n", "network", "state", "bridge", "subnet", "file");
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s)
        printf("%-16s %-8s %-15s %-18s %s\n", json_string_value(json_object_get(s, "name")),
               json_string_value(json_object_get(s, "state")),
               json_string_value(json_object_get(s, "bridge")),
               json_string_value(json_object_get(s, "subnet")),
               json_string_value(json_object_get(s, "file")));
    return EXIT_OK;
}

int cmd_net(int argc, char **argv, GError **error)
{
    gboolean json = FALSE, force = FALSE, dry_run = FALSE;
    GOptionEntry entries[] = {
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
          "start: print the bridge, address, sysctl, nft rules and dnsmasq config it would apply; "
          "change nothing",
          NULL },
        { "force", 0, 0, G_OPTION_ARG_NONE, &force,
          "stop: even while VMs' taps are on the bridge (they lose the network)", NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    const char *op = argv[1], *name = argc > 2 ? argv[2] : NULL;
    if (!cli_subverb("net", op))
        return EXIT_USAGE;
    if (!strcmp(op, "list")) {
        if (name)
            return cli_usagef("net", "net list takes no name");
        return net_list(json);
    }
    if (!name)
        return cli_usagef("net", "net %s: give the network's name, e.g. qlaunch net %s default", op,
                          op);
    if (!strcmp(op, "start"))
        return net_start(name, json, dry_run, error);
    if (!strcmp(op, "stop"))
        return net_stop(name, force, json, error);
    return net_status(name, json, error);
}
