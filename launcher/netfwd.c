/* User-mode host forwards on running VMs. */
#include "netfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm.h"

#define HMP_TIMEOUT_MS 5000

json_t *fwd_parse_usernet(const char *text)
{
    json_t *out = json_array();
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
    g_autofree char *netdev = NULL;
    for (gsize i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        /* "Hub -1 (net-0):" */
        const char *open = strchr(l, '(');
        if (g_str_has_prefix(l, "Hub") && open && g_str_has_suffix(l, "):")) {
            g_free(netdev);
            netdev = g_strndup(open + 1, strlen(open + 1) - 2);
            continue;
        }
        /* "TCP[HOST_FORWARD]  18  127.0.0.1  8080  10.0.2.15  80  0  0" */
        if (!strstr(l, "[HOST_FORWARD]"))
            continue;
        g_auto(GStrv) f = g_strsplit_set(l, " \t", -1);
        g_autoptr(GPtrArray) w = g_ptr_array_new();
        for (gsize k = 0; f[k]; k++)
            if (*f[k])
                g_ptr_array_add(w, f[k]);
        if (w->len < 6)
            continue;
        g_autofree char *proto = g_ascii_strdown(w->pdata[0], strcspn(w->pdata[0], "["));
        json_array_append_new(out, json_pack("{s:s?, s:s, s:s, s:i, s:s, s:i}", "netdev", netdev,
                                             "proto", proto, "host_addr", (char *)w->pdata[2],
                                             "host_port", atoi(w->pdata[3]), "guest_addr",
                                             (char *)w->pdata[4], "guest_port", atoi(w->pdata[5])));
    }
    return out;
}

static char *hmp(QmpConn *qmp, const char *command, GError **error)
{
    json_auto_t *args = json_pack("{s:s}", "command-line", command);
    json_auto_t *r = qmp_conn_execute(qmp, "human-monitor-command", args, HMP_TIMEOUT_MS, error);
    if (!r)
        return NULL;
    return g_strdup(json_is_string(r) ? json_string_value(r) : "");
}

json_t *fwd_list(QmpConn *qmp, GError **error)
{
    g_autofree char *text = hmp(qmp, "info usernet", error);
    return text ? fwd_parse_usernet(text) : NULL;
}

gboolean fwd_split(const char *rule, char **proto, char **host_addr, guint *host_port)
{
    g_auto(GStrv) f = g_strsplit_set(rule, ":-", 4);
    if (g_strv_length(f) < 3 || (strcmp(f[0], "tcp") != 0 && strcmp(f[0], "udp") != 0))
        return FALSE;
    char *end = NULL;
    guint64 port = g_ascii_strtoull(f[2], &end, 10);
    if (!g_ascii_isdigit(*f[2]) || *end || port < 1 || port > 65535)
        return FALSE;
    *proto = g_strdup(f[0]);
    *host_addr = g_strdup(*f[1] ? f[1] : "127.0.0.1");
    *host_port = (guint)port;
    return TRUE;
}

/* Which running VM of ours forwards proto addr:port, or NULL. */
static char *port_owner(const char *proto, const char *addr, guint port, const char *except_vm)
{
    g_auto(GStrv) names = vm_list_names();
    for (gsize i = 0; names[i]; i++) {
        if (except_vm && strcmp(names[i], except_vm) == 0)
            continue;
        g_autoptr(VmPaths) v = vm_paths_new(names[i]);
        if (vm_running_pid(v, NULL) <= 0)
            continue;
        g_autoptr(QmpConn) qmp = vm_qmp_open(v, 2000, NULL);
        json_auto_t *list = qmp ? fwd_list(qmp, NULL) : NULL;
        size_t k;
        json_t *f;
        json_array_foreach(list, k, f)
        {
            const char *ha = json_string_value(json_object_get(f, "host_addr"));
            if (strcmp(json_string_value(json_object_get(f, "proto")), proto) == 0 &&
                json_integer_value(json_object_get(f, "host_port")) == port &&
                (strcmp(ha, addr) == 0 || strcmp(ha, "0.0.0.0") == 0 ||
                 strcmp(addr, "0.0.0.0") == 0))
                return g_strdup(names[i]);
        }
    }
    return NULL;
}

gboolean fwd_port_free(const char *rule, const char *except_vm, GError **error)
{
    g_autofree char *proto = NULL, *addr = NULL;
    guint port = 0;
    if (!fwd_split(rule, &proto, &addr, &port)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "\"%s\" is not a forward (try tcp:127.0.0.1:2222-:22)", rule);
        return FALSE;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((guint16)port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "forward %s: \"%s\" is not an IPv4 address",
                    rule, addr);
        return FALSE;
    }
    gboolean tcp = strcmp(proto, "tcp") == 0;
    int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    int one = 1;
    if (tcp) /* as QEMU's slirp does: a port in TIME_WAIT is free */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = fd >= 0 ? bind(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        return TRUE;
    if (e == EADDRINUSE) {
        g_autofree char *owner = port_owner(proto, addr, port, except_vm);
        if (owner)
            g_set_error(error, VM_ERROR, VM_ERROR_BUSY,
                        "host port %u (%s on %s) is taken by VM %s, which forwards it; stop it "
                        "(qlaunch stop %s), remove its forward (qlaunch forward remove %s "
                        "%s:%s:%u) or choose another host port",
                        port, proto, addr, owner, owner, owner, proto, addr, port);
        else
            g_set_error(error, VM_ERROR, VM_ERROR_BUSY,
                        "host port %u (%s on %s) is in use by another program (ss -lnp shows "
                        "which); choose another host port",
                        port, proto, addr);
    } else {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "host port %u (%s on %s) cannot be bound: %s%s", port, proto, addr,
                    g_strerror(e), e == EACCES ? " (ports below 1024 need root)" : "");
    }
    return FALSE;
}

gboolean fwd_add(QmpConn *qmp, const char *nic, const char *rule, GError **error)
{
    g_autofree char *cmd = g_strdup_printf("hostfwd_add net-%s %s", nic, rule);
    g_autofree char *r = hmp(qmp, cmd, error);
    if (!r)
        return FALSE;
    if (*g_strstrip(r)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "QEMU: %s", r);
        return FALSE;
    }
    return TRUE;
}

gboolean fwd_remove(QmpConn *qmp, const char *nic, const char *rule, GError **error)
{
    g_autofree char *proto = NULL, *addr = NULL;
    guint port = 0;
    if (!fwd_split(rule, &proto, &addr, &port)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "\"%s\" is not a forward (give proto:hostaddr:hostport, e.g. "
                    "tcp:127.0.0.1:2222)",
                    rule);
        return FALSE;
    }
    g_autofree char *cmd =
        g_strdup_printf("hostfwd_remove net-%s %s:%s:%u", nic, proto, addr, port);
    g_autofree char *r = hmp(qmp, cmd, error);
    if (!r)
        return FALSE;
    if (!strstr(r, "removed")) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "QEMU: %s", g_strstrip(r));
        return FALSE;
    }
    return TRUE;
}
