/* qlaunch exec (a command in the guest through the agent) and console (serial). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

#define CONSOLE_ESCAPE 0x1d /* Ctrl-] as in telnet and virsh console */

static void write_bytes(FILE *f, GBytes *b)
{
    gsize len = 0;
    const void *data = g_bytes_get_data(b, &len);
    if (len)
        fwrite(data, 1, len, f);
    fflush(f);
}

int cmd_exec(int argc, char **argv, GError **error)
{
    int timeout_s = 300;
    GOptionEntry entries[] = { { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
                                 "Seconds the command may run (300)", "S" },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    int first = 2;
    if (strcmp(argv[2], "--") == 0)
        first = 3;
    if (first >= argc) {
        fprintf(stderr, "qlaunch exec: no command given (qlaunch exec VM -- COMMAND ARGS)\n");
        return EXIT_USAGE;
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], NULL, &err);
    g_autoptr(QmpConn) qga = v ? vm_qga_open(v, 30000, &err) : NULL;
    if (!qga)
        return cli_fail(error, &err);
    g_autoptr(QgaExecResult) res =
        qga_exec(qga, (const char *const *)argv + first, NULL, timeout_s * 1000LL, &err);
    if (!res)
        return cli_failf(error, "exec %s in %s: %s", argv[first], v->name, err->message);
    write_bytes(stdout, res->out);
    write_bytes(stderr, res->err);
    if (res->out_truncated || res->err_truncated)
        fprintf(stderr, "qlaunch: the guest agent truncated the command's output (16 MiB limit)\n");
    if (res->signaled) {
        fprintf(stderr, "qlaunch: %s was killed by signal %d in the guest\n", argv[first],
                res->code);
        return 128 + res->code;
    }
    return res->code;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(a.sun_path))
        return -1;
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Copies between the terminal and the serial socket. Interactive: until the
 * escape key. Piped input: until it ends, then linger_ms more of output. */
static int pump(int sock, gboolean tty, int linger_ms)
{
    struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
    gboolean in_open = TRUE;
    char buf[4096];
    for (;;) {
        int n = poll(p, 2, in_open ? -1 : linger_ms);
        if (n == 0)
            return EXIT_OK;
        if (n < 0 && errno != EINTR)
            return EXIT_FAIL;
        if (p[1].revents & (POLLIN | POLLHUP)) {
            ssize_t r = read(sock, buf, sizeof(buf));
            if (r <= 0)
                return EXIT_OK; /* QEMU went away */
            if (write(1, buf, (size_t)r) < 0)
                return EXIT_FAIL;
        }
        if (in_open && (p[0].revents & (POLLIN | POLLHUP))) {
            ssize_t r = read(0, buf, sizeof(buf));
            if (r <= 0) {
                in_open = FALSE;
                p[0].fd = -1;
                continue;
            }
            if (tty && memchr(buf, CONSOLE_ESCAPE, (size_t)r))
                return EXIT_OK;
            if (send(sock, buf, (size_t)r, MSG_NOSIGNAL) < 0)
                return EXIT_FAIL;
        }
    }
}

int cmd_console(int argc, char **argv, GError **error)
{
    int linger_ms = 1000;
    GOptionEntry entries[] = { { "linger", 0, 0, G_OPTION_ARG_INT, &linger_ms,
                                 "With piped input: ms to keep printing after it ends (1000)",
                                 "MS" },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_autoptr(GError) err = NULL;
    g_autoptr(VmPaths) v = cli_running_vm(argv[1], NULL, &err);
    if (!v)
        return cli_fail(error, &err);
    int sock = connect_unix(v->serial);
    if (sock < 0)
        return cli_failf(error,
                         "cannot connect to the serial console of %s (%s): %s (another console "
                         "attached, or [serial] enabled=false?)",
                         v->name, v->serial, g_strerror(errno));
    gboolean tty = isatty(0);
    struct termios saved;
    if (tty) {
        tcgetattr(0, &saved);
        struct termios raw = saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
        fprintf(stderr, "Connected to %s's serial console; press Ctrl-] to detach.\r\n", v->name);
    }
    int rc = pump(sock, tty, linger_ms);
    if (tty) {
        tcsetattr(0, TCSANOW, &saved);
        fprintf(stderr, "\nDetached from %s.\n", v->name);
    }
    close(sock);
    return rc;
}
