/* qlaunch forward add|remove|list: user-mode host forwards on a running VM. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "netfwd.h"

#define QMP_TIMEOUT_MS 5000

/* The NIC to act on: --nic, else the VM's first mode=user NIC. */
static const ProfileNet *user_nic(const Profile *p, const char *want, GError **error)
{
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if ((!want && n->mode == NET_USER) || (want && strcmp(n->name, want) == 0)) {
            if (n->mode != NET_USER) {
                g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                            "[net %s] of VM %s is mode=%s; forwards need mode=user", n->name,
                            p->name, profile_net_mode_name(n->mode));
                return NULL;
            }
            return n;
        }
    }
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                want ? "VM %s has no [net %s]" : "VM %s has no mode=user NIC%s", p->name,
                want ? want : "");
    return NULL;
}

static void print_list(json_t *list)
{
    printf("%-8s %-5s %-22s %s\n", "nic", "proto", "host", "guest");
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
    {
        const char *nd = json_string_value(json_object_get(f, "netdev"));
        g_autofree char *host = g_strdup_printf(
            "%s:%" JSON_INTEGER_FORMAT, json_string_value(json_object_get(f, "host_addr")),
            json_integer_value(json_object_get(f, "host_port")));
        printf("%-8s %-5s %-22s %s:%" JSON_INTEGER_FORMAT "\n",
               nd && g_str_has_prefix(nd, "net-") ? nd + 4 : (nd ? nd : "?"),
               json_string_value(json_object_get(f, "proto")), host,
               json_string_value(json_object_get(f, "guest_addr")),
               json_integer_value(json_object_get(f, "guest_port")));
    }
}

int cmd_forward(int argc, char **argv, GError **error)
{
    gboolean json = FALSE;
    g_autofree char *nic = NULL;
    GOptionEntry entries[] = { { "nic", 0, 0, G_OPTION_ARG_STRING, &nic,
                                 "The [net NAME] to change (default: the first mode=user one)",
                                 "NAME" },
                               { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    const char *op = argv[1], *vm = argv[2], *rule = argc > 3 ? argv[3] : NULL;
    gboolean list = strcmp(op, "list") == 0, add = strcmp(op, "add") == 0,
             remove = strcmp(op, "remove") == 0;
    if (!cli_subverb("forward", op))
        return EXIT_USAGE;
    if ((add || remove) && !rule)
        return cli_usagef("forward", "forward %s: give the rule, e.g. qlaunch forward %s %s %s", op,
                          op, vm, add ? "tcp:127.0.0.1:8080-:80" : "tcp:127.0.0.1:8080");
    if (list && rule)
        return cli_usagef("forward", "forward list takes no rule");
    g_autoptr(GError) err = NULL;
    pid_t pid = 0;
    g_autoptr(VmPaths) v = cli_running_vm(vm, &pid, &err);
    g_autoptr(Profile) p = v ? vm_running_profile(v, &err) : NULL;
    if (!p)
        return cli_fail(error, &err);
    g_autofree char *norm = add ? profile_normalise_forward(rule) : NULL;
    if (add && !norm)
        return cli_usagef("forward",
                          "forward add: \"%s\" is not a forward (try tcp:127.0.0.1:8080-:80, "
                          "i.e. proto:hostaddr:hostport-guestaddr:guestport)",
                          rule);
    /* before our own QMP connection: the check asks every VM, this one too */
    if (add && !fwd_port_free(norm, NULL, &err))
        return cli_failf(error, "forward add %s %s: %s", vm, norm, err->message);
    g_autoptr(QmpConn) qmp = vm_qmp_open(v, QMP_TIMEOUT_MS, &err);
    if (!qmp)
        return cli_fail(error, &err);
    if (list) {
        json_auto_t *l = fwd_list(qmp, &err);
        if (!l)
            return cli_fail(error, &err);
        if (json)
            cli_print_json(l);
        else
            print_list(l);
        return EXIT_OK;
    }
    const ProfileNet *n = user_nic(p, nic, &err);
    if (!n)
        return cli_fail(error, &err);
    if (add) {
        if (!fwd_add(qmp, n->name, norm, &err))
            return cli_failf(error, "forward add %s %s: %s", vm, norm, err->message);
        printf("added %s on %s [net %s]\n", norm, vm, n->name);
    } else {
        if (!fwd_remove(qmp, n->name, rule, &err))
            return cli_failf(error, "forward remove %s %s: %s", vm, rule, err->message);
        printf("removed %s from %s [net %s]\n", rule, vm, n->name);
    }
    return EXIT_OK;
}
