/* qlaunch-probe: the small network and clock probe qlaunch runs in the
 * embedded guest and on the host (the same binary on both sides). Built
 * static by scripts/build-guest.sh.
 *
 *   qlaunch-probe echo ADDR PORT          UDP echo until killed
 *   qlaunch-probe rr ADDR PORT SECONDS    UDP request/response: one 64-byte
 *                                         datagram in flight, 1 s timeout
 *       -> samples=N lost=N p50_us=X p99_us=X mean_us=X
 *   qlaunch-probe clock MS SECONDS        sleeps MS at a time, for SECONDS or
 *                                         until SIGTERM/SIGINT; the largest
 *                                         step of CLOCK_MONOTONIC beyond MS
 *       -> samples=N max_gap_ms=X at_realtime=T
 *
 * Numbers only on the command line: addresses are IPv4 literals. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: qlaunch-probe echo ADDR PORT | rr ADDR PORT SECONDS | clock MS SECONDS\n");
    return 2;
}

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int number(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !*s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static int address(const char *a, const char *p, struct sockaddr_in *sa)
{
    long port;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (inet_pton(AF_INET, a, &sa->sin_addr) != 1 || !number(p, 1, 65535, &port))
        return 0;
    sa->sin_port = htons((uint16_t)port);
    return 1;
}

static int echo(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
        perror("qlaunch-probe echo: bind");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    char buf[2048];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("qlaunch-probe echo: recvfrom");
            return 1;
        }
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int rr(const struct sockaddr_in *sa, long seconds)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
        perror("qlaunch-probe rr: connect");
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    long lost = 0;
    int64_t *rtt = malloc(cap * sizeof *rtt);
    if (!rtt)
        return 1;
    int64_t end = now_ns(CLOCK_MONOTONIC) + (int64_t)seconds * 1000000000;
    uint64_t seq = 0;
    while (now_ns(CLOCK_MONOTONIC) < end) {
        char msg[64] = { 0 }, back[2048];
        seq++;
        memcpy(msg, &seq, sizeof seq);
        int64_t t0 = now_ns(CLOCK_MONOTONIC);
        if (send(fd, msg, sizeof msg, 0) < 0) {
            lost++;
            usleep(10000);
            continue;
        }
        /* wait for this sequence number's answer; older ones are dropped */
        for (;;) {
            int64_t left = t0 + 1000000000 - now_ns(CLOCK_MONOTONIC);
            struct pollfd p = { .fd = fd, .events = POLLIN };
            if (left <= 0 || poll(&p, 1, (int)(left / 1000000) + 1) <= 0) {
                lost++;
                break;
            }
            ssize_t r = recv(fd, back, sizeof back, 0);
            uint64_t got = 0;
            if (r >= (ssize_t)sizeof got)
                memcpy(&got, back, sizeof got);
            if (r >= (ssize_t)sizeof got && got == seq) {
                if (n == cap) {
                    int64_t *bigger = realloc(rtt, 2 * cap * sizeof *rtt);
                    if (!bigger)
                        return 1;
                    rtt = bigger;
                    cap *= 2;
                }
                rtt[n++] = (now_ns(CLOCK_MONOTONIC) - t0) / 1000;
                break;
            }
            if (r < 0 && errno != EINTR && errno != ECONNREFUSED) {
                lost++;
                break;
            }
        }
    }
    if (n == 0) {
        fprintf(stderr, "qlaunch-probe rr: no answer from the echo server in %ld s (%ld lost)\n",
                seconds, lost);
        return 1;
    }
    qsort(rtt, n, sizeof *rtt, cmp_i64);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)rtt[i];
    printf("samples=%zu lost=%ld p50_us=%lld p99_us=%lld mean_us=%.1f\n", n, lost,
           (long long)rtt[n / 2], (long long)rtt[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1],
           sum / (double)n);
    free(rtt);
    return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int clock_probe(long ms, long seconds)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int64_t step = ms * 1000000, end = now_ns(CLOCK_MONOTONIC) + seconds * 1000000000;
    int64_t last = now_ns(CLOCK_MONOTONIC), max = 0, at = 0;
    long samples = 0;
    while (last < end && !stop) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        while (!stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        if (stop)
            break;
        int64_t t = now_ns(CLOCK_MONOTONIC);
        samples++;
        if (t - last - step > max) {
            max = t - last - step;
            at = now_ns(CLOCK_REALTIME);
        }
        last = t;
    }
    printf("samples=%ld max_gap_ms=%.3f at_realtime=%.3f\n", samples, (double)max / 1e6,
           (double)at / 1e9);
    return 0;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    long a, b;
    if (argc == 4 && !strcmp(argv[1], "echo") && address(argv[2], argv[3], &sa))
        return echo(&sa);
    if (argc == 5 && !strcmp(argv[1], "rr") && address(argv[2], argv[3], &sa) &&
        number(argv[4], 1, 3600, &a))
        return rr(&sa, a);
    if (argc == 4 && !strcmp(argv[1], "clock") && number(argv[2], 1, 10000, &a) &&
        number(argv[3], 1, 86400, &b))
        return clock_probe(a, b);
    return usage();
}
