/* migrate --probe (migrate-probe.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmdline.h"
#include "migrate-probe.h"
#include "nat.h"
#include "netfwd.h"

#define GUEST_PORT 47007
#define AGENT_TIMEOUT_MS 30000
#define FIRST_ECHO_MS 20000
#define PHASE_MS 1000 /* streamed before the migration and after it */
#define MAGIC G_GUINT64_CONSTANT(0x716c61756e636821)

/* ---- analysis ------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, guint n, guint p)
{
    return n ? sorted[MIN(n - 1, (n * p) / 100)] : 0;
}

static json_t *phase(const ProbeSample *s, guint n, gint64 from, gint64 to)
{
    g_autofree double *d = g_new0(double, n + 1);
    guint sent = 0, got = 0;
    double jitter = 0, last = -1;
    guint pairs = 0;
    for (guint i = 0; i < n; i++) {
        if (s[i].sent_ns < from || s[i].sent_ns >= to)
            continue;
        sent++;
        if (!s[i].recv_ns)
            continue;
        double delay = (double)(s[i].recv_ns - s[i].sent_ns) / 1e6;
        if (last >= 0) {
            jitter += fabs(delay - last);
            pairs++;
        }
        last = delay;
        d[got++] = delay;
    }
    qsort(d, got, sizeof *d, cmp_double);
    return json_pack("{s:i, s:i, s:f, s:f, s:f}", "sent", (int)sent, "lost", (int)(sent - got),
                     "delay_p50_ms", pct(d, got, 50), "delay_p99_ms", pct(d, got, 99), "jitter_ms",
                     pairs ? jitter / pairs : 0.0);
}

json_t *probe_analyse(const ProbeSample *s, guint n, gint64 start_ns, gint64 end_ns,
                      guint interval_ms)
{
    g_autofree gint64 *recv = g_new0(gint64, n + 1);
    guint got = 0;
    for (guint i = 0; i < n; i++)
        if (s[i].recv_ns)
            recv[got++] = s[i].recv_ns;
    qsort(recv, got, sizeof *recv, cmp_i64);
    /* the longest stretch with no echo arriving, from the first sample
     * sent to the last echo */
    gint64 gap = 0, gap_from = n ? s[0].sent_ns : 0;
    gint64 prev = n ? s[0].sent_ns : 0;
    for (guint i = 0; i < got; i++) {
        if (recv[i] - prev > gap) {
            gap = recv[i] - prev;
            gap_from = prev;
        }
        prev = recv[i];
    }
    json_t *phases =
        json_pack("{s:o, s:o, s:o}", "before", phase(s, n, G_MININT64, start_ns), "during",
                  phase(s, n, start_ns, end_ns), "after", phase(s, n, end_ns, G_MAXINT64));
    /* every datagram: [ms sent after the start, delay ms or null] */
    json_t *timeline = json_array();
    for (guint i = 0; i < n; i++) {
        json_t *delay =
            s[i].recv_ns ? json_real((double)(s[i].recv_ns - s[i].sent_ns) / 1e6) : json_null();
        json_array_append_new(timeline,
                              json_pack("[f, o]", (double)(s[i].sent_ns - start_ns) / 1e6, delay));
    }
    return json_pack("{s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:o, s:o}", "interval_ms",
                     (int)interval_ms, "sent", (int)n, "received", (int)got, "lost", (int)(n - got),
                     "longest_gap_ms", (double)gap / 1e6, "gap_start_ms",
                     (double)(gap_from - start_ns) / 1e6, "migration_ms",
                     (double)(end_ns - start_ns) / 1e6, "phases", phases, "timeline", timeline);
}

double probe_parse_clock(const char *text)
{
    const char *p = text ? strstr(text, "max_gap_ms=") : NULL;
    if (!p)
        return -1;
    char *end = NULL;
    double v = g_ascii_strtod(p + strlen("max_gap_ms="), &end);
    return end == p + strlen("max_gap_ms=") || !isfinite(v) ? -1 : v;
}

/* ---- the stream ----------------------------------------------------- */

struct MigrateProbe {
    int fd;
    struct sockaddr_in dst;
    guint interval_ms;
    guint64 nonce;
    GThread *thread;
    gint sending, echoes; /* atomics */
    GArray *samples;      /* ProbeSample; the thread's until joined */
    gint64 start_ns, end_ns, forwards_ns;
    json_int_t echo_pid, clock_pid; /* in the guest */
    char *nic, *fwd;                /* user mode: the forward qlaunch added */
    char *where;                    /* how the host reaches the responder */
};

static gint64 now_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

static gpointer stream(gpointer data)
{
    MigrateProbe *pr = data;
    gint64 next = now_ns(), tail_end = 0;
    for (;;) {
        gint64 now = now_ns();
        if (!g_atomic_int_get(&pr->sending)) {
            if (!tail_end) /* the last echoes still on their way */
                tail_end = now + 500 * G_GINT64_CONSTANT(1000000);
            if (now >= tail_end)
                break;
        } else if (now >= next) {
            guint64 msg[2] = { pr->samples->len, pr->nonce };
            ProbeSample smp = { .sent_ns = now };
            g_array_append_val(pr->samples, smp);
            sendto(pr->fd, msg, sizeof msg, MSG_DONTWAIT, (struct sockaddr *)&pr->dst,
                   sizeof pr->dst);
            next += (gint64)pr->interval_ms * 1000000;
            if (next < now) /* we were descheduled: do not burst */
                next = now + (gint64)pr->interval_ms * 1000000;
        }
        gint64 wait = (tail_end ? tail_end : next) - now_ns();
        struct pollfd p = { .fd = pr->fd, .events = POLLIN };
        if (poll(&p, 1, wait > 0 ? (int)(wait / 1000000) + 1 : 0) <= 0)
            continue;
        guint64 back[2];
        ssize_t r;
        while ((r = recv(pr->fd, back, sizeof back, MSG_DONTWAIT)) >= 0 || errno == EINTR) {
            if (r == (ssize_t)sizeof back && back[1] == pr->nonce && back[0] < pr->samples->len) {
                ProbeSample *smp = &g_array_index(pr->samples, ProbeSample, back[0]);
                if (!smp->recv_ns) {
                    smp->recv_ns = now_ns();
                    g_atomic_int_inc(&pr->echoes);
                }
            }
        }
    }
    return NULL;
}

/* ---- the guest's side ---------------------------------------------- */

/* Ends the guest's probes and returns the clock probe's largest gap, or -1. */
static double guest_stop(MigrateProbe *pr, VmPaths *v)
{
    g_autoptr(QmpConn) qga = vm_qga_open(v, AGENT_TIMEOUT_MS, NULL);
    if (!qga)
        return -1;
    g_autofree char *e = g_strdup_printf("%" JSON_INTEGER_FORMAT, pr->echo_pid);
    g_autofree char *c = g_strdup_printf("%" JSON_INTEGER_FORMAT, pr->clock_pid);
    const char *kill[] = { "kill", "-TERM", e, c, NULL };
    g_autoptr(QgaExecResult) k = qga_exec(qga, kill, NULL, AGENT_TIMEOUT_MS, NULL);
    if (pr->clock_pid <= 0)
        return -1;
    g_autoptr(QgaExecResult) r =
        qga_exec_wait(qga, pr->clock_pid, "qlaunch-probe clock", 0, 10000, NULL);
    gsize len = 0;
    const char *out = r ? g_bytes_get_data(r->out, &len) : NULL;
    g_autofree char *text = out ? g_strndup(out, len) : NULL;
    return probe_parse_clock(text);
}

/* Where the host sends to: a forward on user mode, the lease on a tap. */
static gboolean reach_guest(MigrateProbe *pr, const Profile *p, QmpConn *qmp, GError **error)
{
    const ProfileNet *n = p->nets->len ? p->nets->pdata[0] : NULL;
    pr->dst.sin_family = AF_INET;
    if (n && n->mode == NET_USER && !n->restrict_) {
        /* a free port on loopback, then a forward to the responder */
        int t = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;
        gboolean ok = t >= 0 && bind(t, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                      getsockname(t, (struct sockaddr *)&sa, &len) == 0;
        if (t >= 0)
            close(t);
        if (!ok) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "--probe: no free UDP port on 127.0.0.1");
            return FALSE;
        }
        pr->dst = sa;
        pr->nic = g_strdup(n->name);
        pr->fwd = g_strdup_printf("udp:127.0.0.1:%u-:%d", ntohs(sa.sin_port), GUEST_PORT);
        if (!fwd_add(qmp, n->name, pr->fwd, error)) {
            g_prefix_error(error, "--probe: forward %s: ", pr->fwd);
            g_clear_pointer(&pr->fwd, g_free);
            return FALSE;
        }
        pr->where = g_strdup_printf("127.0.0.1:%u (forward %s)", ntohs(sa.sin_port), pr->fwd);
        return TRUE;
    }
    if (n && n->mode == NET_TAP && n->network) {
        g_autofree char *mac = cmdline_nic_mac(p, n);
        g_autofree char *addr = nat_lease_address(n->network, mac);
        if (!addr || inet_pton(AF_INET, addr, &pr->dst.sin_addr) != 1) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "--probe: the guest has no DHCP lease on network %s yet", n->network);
            return FALSE;
        }
        pr->dst.sin_port = htons(GUEST_PORT);
        pr->where = g_strdup_printf("%s:%d (network %s)", addr, GUEST_PORT, n->network);
        return TRUE;
    }
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "--probe: profile %s: the host reaches the guest's responder over the first NIC "
                "in user mode (not restrict=on) or on a tap of a qlaunch network; this one is %s",
                p->path, n ? profile_net_mode_name(n->mode) : "missing");
    return FALSE;
}

static void probe_free(MigrateProbe *pr, VmPaths *v, QmpConn *qmp, double *guest_gap)
{
    if (pr->thread) {
        g_atomic_int_set(&pr->sending, 0);
        g_thread_join(pr->thread);
    }
    double g = pr->echo_pid > 0 || pr->clock_pid > 0 ? guest_stop(pr, v) : -1;
    if (guest_gap)
        *guest_gap = g;
    if (pr->fwd && qmp)
        fwd_remove(qmp, pr->nic, pr->fwd, NULL);
    if (pr->fd >= 0)
        close(pr->fd);
    g_array_unref(pr->samples);
    g_free(pr->nic);
    g_free(pr->fwd);
    g_free(pr->where);
    g_free(pr);
}

MigrateProbe *migrate_probe_start(VmPaths *v, const Profile *p, QmpConn *qmp, guint interval_ms,
                                  GError **error)
{
    if (!p->agent) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "--probe: profile %s has no guest agent ([agent] enabled=true): the "
                    "responder runs in the guest",
                    p->path);
        return NULL;
    }
    MigrateProbe *pr = g_new0(MigrateProbe, 1);
    pr->fd = -1;
    pr->interval_ms = interval_ms;
    pr->nonce = g_random_int() | (guint64)g_random_int() << 32;
    pr->samples = g_array_new(FALSE, TRUE, sizeof(ProbeSample));
    pr->echo_pid = pr->clock_pid = -1;
    g_autoptr(QmpConn) qga = vm_qga_open(v, AGENT_TIMEOUT_MS, error);
    g_autofree char *port = g_strdup_printf("%d", GUEST_PORT);
    const char *echo[] = { "qlaunch-probe", "echo", "0.0.0.0", port, NULL };
    const char *clock[] = { "qlaunch-probe", "clock", "10", "86400", NULL };
    if (!qga || (pr->echo_pid = qga_spawn(qga, echo, NULL, FALSE, AGENT_TIMEOUT_MS, error)) < 0 ||
        (pr->clock_pid = qga_spawn(qga, clock, NULL, TRUE, AGENT_TIMEOUT_MS, error)) < 0) {
        g_prefix_error(error,
                       "--probe: the guest's probes (qlaunch-probe, in the embedded guest): ");
        g_clear_pointer(&qga, qmp_conn_free);
        probe_free(pr, v, qmp, NULL);
        return NULL;
    }
    g_clear_pointer(&qga, qmp_conn_free); /* the agent takes one client at a time */
    pr->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (pr->fd < 0 || !reach_guest(pr, p, qmp, error)) {
        if (pr->fd < 0)
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "--probe: socket: %s", g_strerror(errno));
        probe_free(pr, v, qmp, NULL);
        return NULL;
    }
    g_atomic_int_set(&pr->sending, 1);
    pr->thread = g_thread_new("probe", stream, pr);
    /* the responder answers once it runs: poll for the first echo */
    gint64 deadline = g_get_monotonic_time() + FIRST_ECHO_MS * 1000;
    while (!g_atomic_int_get(&pr->echoes) && g_get_monotonic_time() < deadline)
        g_usleep(10 * 1000);
    if (!g_atomic_int_get(&pr->echoes)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "--probe: no echo from the guest's responder at %s within %d s", pr->where,
                    FIRST_ECHO_MS / 1000);
        probe_free(pr, v, qmp, NULL);
        return NULL;
    }
    g_usleep(PHASE_MS * 1000); /* the "before" phase: a measurement window */
    return pr;
}

void migrate_probe_mark_start(MigrateProbe *pr)
{
    if (pr)
        pr->start_ns = now_ns();
}

void migrate_probe_mark_end(MigrateProbe *pr)
{
    if (pr)
        pr->end_ns = now_ns();
}

void migrate_probe_mark_forwards(MigrateProbe *pr)
{
    if (pr)
        pr->forwards_ns = now_ns();
}

json_t *migrate_probe_finish(MigrateProbe *pr, VmPaths *v, QmpConn *qmp)
{
    if (!pr)
        return NULL;
    gint64 left = pr->end_ns + PHASE_MS * G_GINT64_CONSTANT(1000000) - now_ns();
    if (left > 0)
        g_usleep((gulong)(left / 1000)); /* the "after" phase */
    g_atomic_int_set(&pr->sending, 0);
    g_thread_join(pr->thread);
    pr->thread = NULL;
    json_t *r = probe_analyse((ProbeSample *)pr->samples->data, pr->samples->len, pr->start_ns,
                              pr->end_ns, pr->interval_ms);
    json_object_set_new(r, "target", json_string(pr->where));
    json_object_set_new(r, "forward_takeover_ms",
                        pr->fwd && pr->forwards_ns
                            ? json_real((double)(pr->forwards_ns - pr->end_ns) / 1e6)
                            : json_null());
    double guest_gap = -1;
    probe_free(pr, v, qmp, &guest_gap);
    json_object_set_new(r, "guest_pause_ms", guest_gap >= 0 ? json_real(guest_gap) : json_null());
    return r;
}

void migrate_probe_abort(MigrateProbe *pr, VmPaths *v, QmpConn *qmp)
{
    if (pr)
        probe_free(pr, v, qmp, NULL);
}
