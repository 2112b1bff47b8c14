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

/* Input up to this size goes in the guest-exec request itself (base64,
 * which the agent holds in memory); more goes through a file in the guest. */
#define EXEC_INLINE_INPUT (4u << 20)

/* Reads stdin until EOF or limit bytes; *eof says which. */
static GByteArray *read_stdin_head(gsize limit, gboolean *eof, GError **error)
{
    GByteArray *a = g_byte_array_sized_new(64 * 1024);
    guint8 buf[64 * 1024];
    *eof = FALSE;
    while (a->len < limit) {
        ssize_t n = read(STDIN_FILENO, buf, MIN(sizeof buf, limit - a->len));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "reading standard input: %s",
                        g_strerror(errno));
            g_byte_array_unref(a);
            return NULL;
        }
        if (n == 0) {
            *eof = TRUE;
            break;
        }
        g_byte_array_append(a, buf, (guint)n);
    }
    return a;
}

int cmd_exec(int argc, char **argv, GError **error)
{
    int timeout_s = 300;
    gboolean with_stdin = FALSE;
    GOptionEntry entries[] = { { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
                                 "Seconds the command may run (300)", "S" },
                               { "stdin", 'i', 0, G_OPTION_ARG_NONE, &with_stdin,
                                 "Pass standard input to the command", NULL },
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
    g_autoptr(GBytes) input = NULL;
    g_autofree char *input_file = NULL;
    g_autoptr(GPtrArray) cmd = g_ptr_array_new();
    for (int i = first; i < argc; i++)
        g_ptr_array_add(cmd, argv[i]);
    if (with_stdin) {
        gboolean eof = FALSE;
        g_autoptr(GByteArray) head = read_stdin_head(EXEC_INLINE_INPUT, &eof, &err);
        if (!head)
            return cli_fail(error, &err);
        if (eof) {
            input = g_bytes_new(head->data, head->len);
        } else {
            input_file = cp_stdin_to_guest(qga, head->data, head->len, &err);
            if (!input_file)
                return cli_failf(error, "exec -i in %s: %s", v->name, err->message);
            /* the guest's sh opens it as the command's stdin; the command
             * and its arguments stay positional parameters, never parsed */
            const char *wrap[] = { "/bin/sh", "-c", "exec \"$@\" < \"$0\"", input_file };
            for (gsize i = 0; i < G_N_ELEMENTS(wrap); i++)
                g_ptr_array_insert(cmd, (gint)i, (gpointer)wrap[i]);
        }
    }
    g_ptr_array_add(cmd, NULL);
    g_autoptr(QgaExecResult) res =
        qga_exec(qga, (const char *const *)cmd->pdata, input, timeout_s * 1000LL, &err);
    if (input_file)
        cp_guest_rm(qga, input_file);
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
