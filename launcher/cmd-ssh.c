/* qlaunch ssh and ssh-config: where the guest's port 22 is reached (a
 * user-mode forward, made when there is none, or a NAT network's DHCP
 * lease), as which user and key, and a known_hosts of the VM's own, filled
 * with the host keys read from the guest through its agent (never trusted
 * on first sight when there is an agent). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "cloudinit.h"
#include "cmdline.h"
#include "commands.h"
#include "nat.h"
#include "netfwd.h"

#define QMP_TIMEOUT_MS 10000

typedef struct {
    char *user, *host, *key, *known_hosts;
    guint port;
    gboolean verified; /* known_hosts holds the keys the agent read */
} SshTarget;

static void ssh_target_clear(SshTarget *t)
{
    g_free(t->user);
    g_free(t->host);
    g_free(t->key);
    g_free(t->known_hosts);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SshTarget, ssh_target_clear)

/* A port on 127.0.0.1 that nothing listens on now. */
static guint free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    guint port = 0;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

/* Port 22 of the guest: a user-mode forward to it (one is added on the
 * first user-mode NIC when there is none), else a NAT network's lease. */
static gboolean find_endpoint(VmPaths *v, const Profile *p, SshTarget *t, GError **error)
{
    g_autoptr(QmpConn) qmp = vm_qmp_open(v, QMP_TIMEOUT_MS, error);
    if (!qmp)
        return FALSE;
    const ProfileNet *user_nic = NULL;
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if (n->mode == NET_USER && !user_nic)
            user_nic = n;
    }
    if (user_nic) {
        json_auto_t *fwds = fwd_list(qmp, error);
        if (!fwds)
            return FALSE;
        size_t i;
        json_t *f;
        json_array_foreach(fwds, i, f)
        {
            if (g_strcmp0(json_string_value(json_object_get(f, "proto")), "tcp") ||
                json_integer_value(json_object_get(f, "guest_port")) != 22)
                continue;
            const char *addr = json_string_value(json_object_get(f, "host_addr"));
            t->host = g_strdup(addr && *addr && strcmp(addr, "0.0.0.0") ? addr : "127.0.0.1");
            t->port = (guint)json_integer_value(json_object_get(f, "host_port"));
            return TRUE;
        }
        guint port = free_port();
        g_autofree char *rule = g_strdup_printf("tcp:127.0.0.1:%u-:22", port);
        if (!port || !fwd_add(qmp, user_nic->name, rule, error)) {
            g_prefix_error(error, "a forward to the guest's port 22 (%s): ", rule);
            return FALSE;
        }
        cli_info("forwarding 127.0.0.1:%u to port 22 of %s for ssh (qlaunch forward %s remove "
                 "tcp:127.0.0.1:%u removes it)",
                 port, p->name, p->name, port);
        t->host = g_strdup("127.0.0.1");
        t->port = port;
        return TRUE;
    }
    for (guint i = 0; i < p->nets->len; i++) {
        const ProfileNet *n = p->nets->pdata[i];
        if (n->mode != NET_TAP || !n->network)
            continue;
        g_autofree char *mac = cmdline_nic_mac(p, n);
        g_autofree char *addr = nat_lease_address(n->network, mac);
        if (addr) {
            t->host = g_steal_pointer(&addr);
            t->port = 22;
            return TRUE;
        }
    }
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "VM %s has no user-mode NIC to forward port 22 through and no DHCP lease on a "
                "qlaunch NAT network (yet); find its address with 'qlaunch exec %s -- ip addr' "
                "and ssh there",
                p->name, p->name);
    return FALSE;
}

/* The guest's host keys through the agent, polled until the deadline (an
 * sshd makes them at its first boot), as known_hosts lines for t. */
static char *guest_host_keys(VmPaths *v, const SshTarget *t, gint64 deadline, GError **error)
{
    g_autoptr(QmpConn) qga = vm_qga_open(v, 30000, error);
    if (!qga)
        return NULL;
    const char *files[] = { "/etc/ssh/ssh_host_ed25519_key.pub", "/etc/ssh/ssh_host_ecdsa_key.pub",
                            "/etc/ssh/ssh_host_rsa_key.pub" };
    g_autofree char *name =
        t->port == 22 ? g_strdup(t->host) : g_strdup_printf("[%s]:%u", t->host, t->port);
    for (;;) {
        GString *lines = g_string_new(NULL);
        for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
            json_int_t h = qga_file_open(qga, files[i], "r", 10000, NULL);
            if (h < 0)
                continue;
            gboolean eof = FALSE;
            g_autoptr(GBytes) b = qga_file_read(qga, h, 16384, &eof, 10000, NULL);
            qga_file_close(qga, h, FALSE, 10000, NULL);
            gsize len = 0;
            const char *data = b ? g_bytes_get_data(b, &len) : NULL;
            g_autofree char *text = g_strndup(data ? data : "", len);
            g_auto(GStrv) words = g_strsplit_set(g_strstrip(text), " \t\n", 3);
            /* "TYPE BASE64 [comment]": only the first two, checked */
            if (!words[0] || !words[1] || !g_regex_match_simple("^[a-z0-9@.-]+$", words[0], 0, 0) ||
                !g_regex_match_simple("^[A-Za-z0-9+/=]+$", words[1], 0, 0))
                continue;
            g_string_append_printf(lines, "%s %s %s\n", name, words[0], words[1]);
        }
        if (lines->len)
            return g_string_free(lines, FALSE);
        g_string_free(lines, TRUE);
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "the guest has no ssh host key in /etc/ssh (is an ssh server installed "
                        "and started? cloud-init makes the keys at first boot)");
            return NULL;
        }
        g_usleep(200000);
    }
}

/* Waits until something at host:port says "SSH-" (an sshd's banner). */
static gboolean wait_banner(const char *host, guint port, gint64 deadline, GError **error)
{
    for (;;) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        char buf[8] = { 0 };
        gboolean ok = FALSE;
        if (s >= 0 && inet_pton(AF_INET, host, &a.sin_addr) == 1 &&
            connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
            struct pollfd pfd = { .fd = s, .events = POLLIN };
            if (poll(&pfd, 1, 5000) == 1 && read(s, buf, 4) == 4)
                ok = !memcmp(buf, "SSH-", 4);
        }
        if (s >= 0)
            close(s);
        if (ok)
            return TRUE;
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "no ssh server answered on %s:%u (the guest's port 22) in time", host,
                        port);
            return FALSE;
        }
        g_usleep(200000);
    }
}

static gboolean resolve(const char *vm, const char *user, int wait_s, gboolean need_banner,
                        SshTarget *t, Profile **profile, GError **error)
{
    g_autoptr(VmPaths) v = cli_running_vm(vm, NULL, error);
    g_autoptr(Profile) p = v ? vm_running_profile(v, error) : NULL;
    if (!p || !find_endpoint(v, p, t, error))
        return FALSE;
    gint64 deadline = g_get_monotonic_time() + (gint64)wait_s * G_TIME_SPAN_SECOND;
    t->user = user ? g_strdup(user) : cloudinit_user(p);
    t->key = cloudinit_identity(p);
    g_autofree char *base = vm_state_base();
    g_autofree char *statedir = g_build_filename(base, p->name, "ssh", NULL);
    g_mkdir_with_parents(statedir, 0700);
    t->known_hosts = g_build_filename(statedir, "known_hosts", NULL);
    if (p->agent) {
        g_autofree char *lines = guest_host_keys(v, t, deadline, error);
        if (!lines || !g_file_set_contents_full(t->known_hosts, lines, -1,
                                                G_FILE_SET_CONTENTS_CONSISTENT, 0600, error)) {
            g_prefix_error(error, "ssh %s: ", p->name);
            return FALSE;
        }
        t->verified = TRUE;
    } else {
        cli_info("note: VM %s has no guest agent to read its host key from: the first "
                 "connection trusts the key the guest offers (kept in %s)",
                 p->name, t->known_hosts);
    }
    if (need_banner && !wait_banner(t->host, t->port, deadline, error)) {
        g_prefix_error(error, "ssh %s: ", p->name);
        return FALSE;
    }
    if (profile)
        *profile = g_steal_pointer(&p);
    return TRUE;
}

/* One line on stderr that a terminal sees change (a log sees the last). */
static void progress(const char *what, const char *vm, gint64 t0, const char *state)
{
    if (cli_quiet)
        return;
    gboolean tty = isatty(STDERR_FILENO);
    fprintf(stderr, "%swaiting for %s of %s: %s (%.0f s)%s", tty ? "\r\033[K" : "", what, vm, state,
            (g_get_monotonic_time() - t0) / 1e6, tty ? "" : "\n");
    fflush(stderr);
}

/* cloud-init status through the agent until it is done or in error. */
static gboolean wait_cloud_init(const char *vm, gint64 deadline, GError **error)
{
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(VmPaths) v = cli_running_vm(vm, NULL, error);
    g_autoptr(QmpConn) qga = v ? vm_qga_open(v, MAX((deadline - t0) / 1000, 1000), error) : NULL;
    if (!qga)
        return FALSE;
    const char *argv[] = { "cloud-init", "status", NULL };
    g_autofree char *last = NULL;
    for (;;) {
        g_autoptr(GError) err = NULL;
        g_autoptr(QgaExecResult) r = qga_exec(qga, argv, NULL, 60000, &err);
        if (!r) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "the guest agent could not run cloud-init (%s): does the image have "
                        "cloud-init?",
                        err->message);
            return FALSE;
        }
        gsize len = 0;
        const char *out = g_bytes_get_data(r->out, &len);
        g_autofree char *text = g_strstrip(g_strndup(out ? out : "", len));
        const char *st = strstr(text, "status: ");
        g_autofree char *state = g_strdup(st ? st + 8 : *text ? text : "no status yet");
        char *nl = strchr(state, '\n');
        if (nl)
            *nl = '\0';
        progress("cloud-init", vm, t0, state);
        if (!strcmp(state, "done")) {
            if (!cli_quiet && isatty(STDERR_FILENO))
                fputc('\n', stderr);
            return TRUE;
        }
        if (!strcmp(state, "error") || !strcmp(state, "degraded")) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "cloud-init ended with status %s in VM %s (qlaunch ssh %s -- cloud-init "
                        "status --long says why)",
                        state, vm, vm);
            return FALSE;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "cloud-init of VM %s was still '%s' at the deadline; it may still "
                        "finish (qlaunch start --wait cloud-init --timeout S waits longer)",
                        vm, state);
            return FALSE;
        }
        g_usleep(1000000);
    }
}

gboolean ssh_wait_ready(const char *vm, const char *what, int timeout_s, GError **error)
{
    if (!strcmp(what, "cloud-init"))
        return wait_cloud_init(vm, g_get_monotonic_time() + timeout_s * G_TIME_SPAN_SECOND, error);
    g_auto(SshTarget) t = { 0 };
    gint64 t0 = g_get_monotonic_time();
    progress("ssh", vm, t0, "finding port 22 and the host key");
    gboolean ok = resolve(vm, NULL, timeout_s, TRUE, &t, NULL, error);
    if (ok)
        progress("ssh", vm, t0, "ready");
    if (ok && !cli_quiet && isatty(STDERR_FILENO))
        fputc('\n', stderr);
    return ok;
}

int cmd_ssh(int argc, char **argv, GError **error)
{
    g_autofree char *user = NULL;
    int wait_s = 120;
    GOptionEntry entries[] = { { "user", 'l', 0, G_OPTION_ARG_STRING, &user,
                                 "Log in as USER (default: [cloud-init] user=, else yours)",
                                 "USER" },
                               { "wait", 0, 0, G_OPTION_ARG_INT, &wait_s,
                                 "Seconds to wait for the guest's ssh server (120)", "S" },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    int first = 2;
    if (first < argc && !strcmp(argv[first], "--"))
        first++;
    g_auto(SshTarget) t = { 0 };
    g_autoptr(GError) err = NULL;
    if (!resolve(argv[1], user, wait_s, TRUE, &t, NULL, &err))
        return cli_fail(error, &err);
    g_autofree char *kh = g_strdup_printf("UserKnownHostsFile=%s", t.known_hosts);
    g_autofree char *port = g_strdup_printf("%u", t.port);
    g_autofree char *dest = g_strdup_printf("%s@%s", t.user, t.host);
    GPtrArray *a = g_ptr_array_new();
    const char *fixed[] = { "ssh",
                            "-o",
                            kh,
                            "-o",
                            "GlobalKnownHostsFile=/dev/null",
                            "-o",
                            t.verified ? "StrictHostKeyChecking=yes"
                                       : "StrictHostKeyChecking=accept-new",
                            "-o",
                            "LogLevel=ERROR",
                            "-p",
                            port };
    for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++)
        g_ptr_array_add(a, (gpointer)fixed[i]);
    if (t.key) {
        g_ptr_array_add(a, "-i");
        g_ptr_array_add(a, t.key);
        g_ptr_array_add(a, "-o");
        g_ptr_array_add(a, "IdentitiesOnly=yes");
    }
    g_ptr_array_add(a, dest);
    /* ssh joins what follows into one line for the guest's shell: each
     * argument quoted, so they arrive as given (as with exec) */
    if (first < argc)
        g_ptr_array_add(a, "--");
    for (int i = first; i < argc; i++)
        g_ptr_array_add(a, g_shell_quote(argv[i]));
    g_ptr_array_add(a, NULL);
    fflush(NULL);
    execvp("ssh", (char **)a->pdata);
    return cli_failf(error, "ssh: %s (install openssh-client)", g_strerror(errno));
}

int cmd_ssh_config(int argc, char **argv, GError **error)
{
    g_autofree char *user = NULL;
    GOptionEntry entries[] = { { "user", 'l', 0, G_OPTION_ARG_STRING, &user,
                                 "Log in as USER (default: [cloud-init] user=, else yours)",
                                 "USER" },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_auto(SshTarget) t = { 0 };
    g_autoptr(GError) err = NULL;
    if (!resolve(argv[1], user, 30, FALSE, &t, NULL, &err))
        return cli_fail(error, &err);
    /* ssh_config values: quoted, as paths may hold spaces */
    printf("Host %s\n  HostName %s\n  Port %u\n  User %s\n", argv[1], t.host, t.port, t.user);
    if (t.key)
        printf("  IdentityFile \"%s\"\n  IdentitiesOnly yes\n", t.key);
    printf("  UserKnownHostsFile \"%s\"\n  StrictHostKeyChecking %s\n", t.known_hosts,
           t.verified ? "yes" : "accept-new");
    return EXIT_OK;
}
