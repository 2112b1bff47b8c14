/* qlaunch cp: files and directories between the host and a guest, through
 * the guest agent (guest-file-*), so it works with no network in the guest.
 *
 * A file streams in QGA_FILE_CHUNK chunks into a temporary name beside the
 * target, which is renamed only when all of it is written: a full guest
 * disk leaves nothing under the target's name. A directory travels as a tar
 * stream (the host's tar, the guest's tar), in a temporary file in the
 * guest, so modes and links are kept; memory stays bounded either way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

#define CP_TIMEOUT_MS 60000 /* one agent call (a chunk under TCG: milliseconds) */

typedef struct {
    const char *label; /* what the progress line names */
    guint64 done, total;
    gint64 started, shown;
    gboolean tty;
} Progress;

static void progress_show(Progress *pr, gboolean last)
{
    gint64 now = g_get_monotonic_time();
    if (!pr->tty || (!last && now - pr->shown < 200000))
        return;
    pr->shown = now;
    double secs = MAX((now - pr->started) / 1e6, 1e-3);
    if (pr->total)
        fprintf(stderr, "\r%s: %.1f of %.1f MiB (%.1f MiB/s)%s", pr->label, pr->done / 1048576.0,
                pr->total / 1048576.0, pr->done / 1048576.0 / secs, last ? "\n" : "");
    else
        fprintf(stderr, "\r%s: %.1f MiB (%.1f MiB/s)%s", pr->label, pr->done / 1048576.0,
                pr->done / 1048576.0 / secs, last ? "\n" : "");
    fflush(stderr);
}

/* Runs argv in the guest; FALSE with its stderr (or status) in error. */
static gboolean guest_run(QmpConn *qga, const char *const *argv, GBytes **out, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QgaExecResult) r = qga_exec(qga, argv, NULL, 300000, &err);
    if (!r) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s in the guest: %s", argv[0], err->message);
        return FALSE;
    }
    if (r->signaled || r->code != 0) {
        gsize len = 0;
        const char *msg = g_bytes_get_data(r->err, &len);
        g_autofree char *text = g_strstrip(g_strndup(msg ? msg : "", len));
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s", *text ? text : "failed in the guest");
        return FALSE;
    }
    if (out)
        *out = g_bytes_ref(r->out);
    return TRUE;
}

static void guest_rm(QmpConn *qga, const char *path, gboolean recursive)
{
    const char *argv[] = { "rm", recursive ? "-rf" : "-f", "--", path, NULL };
    g_autoptr(GError) ignored = NULL;
    guest_run(qga, argv, NULL, &ignored);
}

/* The guest path's mode (stat -L): FALSE when it does not exist. */
static gboolean guest_stat(QmpConn *qga, const char *path, guint *mode, GError **error)
{
    const char *argv[] = { "stat", "-L", "-c", "%f", "--", path, NULL };
    g_autoptr(GBytes) out = NULL;
    if (!guest_run(qga, argv, &out, error))
        return FALSE;
    gsize len = 0;
    const char *text = g_bytes_get_data(out, &len);
    g_autofree char *s = g_strstrip(g_strndup(text ? text : "", len));
    char *end = NULL;
    guint64 m = g_ascii_strtoull(s, &end, 16);
    if (!*s || *end) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "stat of %s in the guest printed '%s'", path,
                    s);
        return FALSE;
    }
    *mode = (guint)m;
    return TRUE;
}

/* A name beside target that no one else uses. */
static char *part_name(const char *target)
{
    return g_strdup_printf("%s.qlaunch-part-%d-%08x", target, (int)getpid(), g_random_int());
}

/* Writes head, then reads fd to its end, into the guest file gpath
 * (created). */
static gboolean stream_to_guest(QmpConn *qga, const guchar *head, gsize head_len, int fd,
                                const char *gpath, Progress *pr, GError **error)
{
    json_int_t h = qga_file_open(qga, gpath, "w", CP_TIMEOUT_MS, error);
    if (h < 0)
        return FALSE;
    g_autofree guchar *buf = g_malloc(QGA_FILE_CHUNK);
    gboolean ok = TRUE;
    for (gsize off = 0; off < head_len && ok; off += QGA_FILE_CHUNK) {
        gsize n = MIN(QGA_FILE_CHUNK, head_len - off);
        ok = qga_file_write(qga, h, head + off, n, CP_TIMEOUT_MS, error);
        pr->done += n;
    }
    while (ok) {
        gsize have = 0;
        while (have < QGA_FILE_CHUNK) { /* full chunks: fewer round trips */
            ssize_t n = read(fd, buf + have, QGA_FILE_CHUNK - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "read: %s", g_strerror(errno));
                ok = FALSE;
            }
            if (n <= 0)
                break;
            have += (gsize)n;
        }
        if (!ok || have == 0)
            break;
        if (!qga_file_write(qga, h, buf, have, CP_TIMEOUT_MS, error)) {
            ok = FALSE;
            break;
        }
        pr->done += have;
        progress_show(pr, FALSE);
        if (have < QGA_FILE_CHUNK) /* the read loop stopped at the end */
            break;
    }
    /* a full disk may show only at the flush: stdio buffers the writes */
    if (!qga_file_close(qga, h, ok, CP_TIMEOUT_MS, ok ? error : NULL))
        ok = FALSE;
    return ok;
}

/* Writes the guest file gpath to fd. */
static gboolean stream_from_guest(QmpConn *qga, const char *gpath, int fd, Progress *pr,
                                  GError **error)
{
    json_int_t h = qga_file_open(qga, gpath, "r", CP_TIMEOUT_MS, error);
    if (h < 0)
        return FALSE;
    gboolean ok = TRUE, eof = FALSE;
    while (ok && !eof) {
        g_autoptr(GBytes) b = qga_file_read(qga, h, QGA_FILE_CHUNK, &eof, CP_TIMEOUT_MS, error);
        if (!b) {
            ok = FALSE;
            break;
        }
        gsize len = 0;
        const guchar *p = g_bytes_get_data(b, &len);
        for (gsize off = 0; off < len;) {
            ssize_t w = write(fd, p + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "write: %s", g_strerror(errno));
                ok = FALSE;
                break;
            }
            off += (gsize)w;
        }
        pr->done += len;
        progress_show(pr, FALSE);
        if (len == 0)
            break;
    }
    qga_file_close(qga, h, FALSE, CP_TIMEOUT_MS, NULL);
    return ok;
}

/* tar on the host, by argv, with one end of a pipe as its stdout or stdin. */
static gboolean host_tar(const char *const *argv, gboolean reading, GPid *pid, int *fd,
                         GError **error)
{
    return g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                    G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                    pid, reading ? NULL : fd, reading ? fd : NULL, NULL, error);
}

static gboolean host_tar_wait(GPid pid, const char *what, GError **error)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    g_spawn_close_pid(pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return TRUE;
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "tar %s on the host failed (status %d)", what,
                status);
    return FALSE;
}

static gboolean copy_file_in(QmpConn *qga, const char *src, const struct stat *st,
                             const char *target, Progress *pr, GError **error)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", src, g_strerror(errno));
        return FALSE;
    }
    g_autofree char *part = part_name(target);
    pr->total = (guint64)st->st_size;
    gboolean ok = stream_to_guest(qga, NULL, 0, fd, part, pr, error);
    close(fd);
    g_autofree char *mode = g_strdup_printf("%04o", st->st_mode & 07777);
    const char *chmod_argv[] = { "chmod", mode, "--", part, NULL };
    const char *mv_argv[] = { "mv", "-f", "--", part, target, NULL };
    if (ok && guest_run(qga, chmod_argv, NULL, error) && guest_run(qga, mv_argv, NULL, error))
        return TRUE;
    guest_rm(qga, part, FALSE);
    g_autofree char *why = g_strdup((*error)->message);
    g_clear_error(error);
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s -> %s: %s (nothing was left at %s)", src,
                target, why, target);
    return FALSE;
}

static gboolean copy_dir_in(QmpConn *qga, const char *src, const char *target, Progress *pr,
                            GError **error)
{
    g_autofree char *tarfile = part_name(target);
    g_autofree char *tarname = g_strconcat(tarfile, ".tar", NULL);
    const char *tar_argv[] = { "tar", "-c", "-f", "-", "--owner=0", "--group=0", "--numeric-owner",
                               "-C",  src,  ".",  NULL };
    GPid pid = 0;
    int fd = -1;
    if (!host_tar(tar_argv, TRUE, &pid, &fd, error))
        return FALSE;
    pr->total = 0;
    gboolean ok = stream_to_guest(qga, NULL, 0, fd, tarname, pr, error);
    close(fd);
    GError *tar_err = NULL;
    if (!host_tar_wait(pid, "-c", ok ? &tar_err : NULL) && ok) {
        g_propagate_error(error, tar_err);
        ok = FALSE;
    }
    const char *mkdir_argv[] = { "mkdir", "-p", "--", target, NULL };
    const char *x_argv[] = { "tar", "-x", "-f", tarname, "-C", target, NULL };
    if (ok)
        ok = guest_run(qga, mkdir_argv, NULL, error) && guest_run(qga, x_argv, NULL, error);
    guest_rm(qga, tarname, FALSE);
    if (!ok)
        g_prefix_error(error, "%s -> %s: ", src, target);
    return ok;
}

static gboolean copy_file_out(QmpConn *qga, const char *gsrc, guint mode, const char *target,
                              Progress *pr, GError **error)
{
    g_autofree char *tmpl = g_strconcat(target, ".qlaunch-part-XXXXXX", NULL);
    int fd = g_mkstemp_full(tmpl, O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", target, g_strerror(errno));
        return FALSE;
    }
    pr->total = 0;
    gboolean ok = stream_from_guest(qga, gsrc, fd, pr, error);
    if (ok && (fchmod(fd, mode & 07777) != 0 || fsync(fd) != 0)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", tmpl, g_strerror(errno));
        ok = FALSE;
    }
    if (close(fd) != 0 && ok) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", tmpl, g_strerror(errno));
        ok = FALSE;
    }
    if (ok && rename(tmpl, target) != 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", target, g_strerror(errno));
        ok = FALSE;
    }
    if (!ok) {
        unlink(tmpl);
        g_prefix_error(error, "%s -> %s (nothing was left there): ", gsrc, target);
    }
    return ok;
}

static gboolean copy_dir_out(QmpConn *qga, const char *gsrc, const char *target, Progress *pr,
                             GError **error)
{
    g_autofree char *tarname =
        g_strdup_printf("/tmp/qlaunch-cp-%d-%08x.tar", (int)getpid(), g_random_int());
    const char *c_argv[] = { "tar", "-c", "-f", tarname, "-C", gsrc, ".", NULL };
    if (!guest_run(qga, c_argv, NULL, error)) {
        guest_rm(qga, tarname, FALSE);
        g_prefix_error(error, "tar of %s in the guest: ", gsrc);
        return FALSE;
    }
    if (g_mkdir_with_parents(target, 0755) != 0) {
        guest_rm(qga, tarname, FALSE);
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "%s: %s", target, g_strerror(errno));
        return FALSE;
    }
    const char *x_argv[] = { "tar", "-x", "-f", "-", "-C", target, NULL };
    GPid pid = 0;
    int fd = -1;
    gboolean ok = host_tar(x_argv, FALSE, &pid, &fd, error);
    if (ok) {
        pr->total = 0;
        ok = stream_from_guest(qga, tarname, fd, pr, error);
        close(fd);
        GError *tar_err = NULL;
        if (!host_tar_wait(pid, "-x", ok ? &tar_err : NULL) && ok) {
            g_propagate_error(error, tar_err);
            ok = FALSE;
        }
    }
    guest_rm(qga, tarname, FALSE);
    if (!ok)
        g_prefix_error(error, "%s -> %s: ", gsrc, target);
    return ok;
}

char *cp_stdin_to_guest(QmpConn *qga, const guchar *head, gsize head_len, GError **error)
{
    char *gpath = g_strdup_printf("/tmp/qlaunch-stdin-%d-%08x", (int)getpid(), g_random_int());
    Progress pr = { .label = "stdin" };
    if (stream_to_guest(qga, head, head_len, STDIN_FILENO, gpath, &pr, error))
        return gpath;
    guest_rm(qga, gpath, FALSE);
    g_prefix_error(error, "standard input to %s in the guest: ", gpath);
    g_free(gpath);
    return NULL;
}

void cp_guest_rm(QmpConn *qga, const char *path)
{
    guest_rm(qga, path, FALSE);
}

/* "VM:PATH" -> VM and PATH; a local path is one with no ':' before its
 * first '/' (as scp: ./a:b is local). */
static gboolean split_remote(const char *arg, char **vm, char **path)
{
    const char *colon = strchr(arg, ':');
    const char *slash = strchr(arg, '/');
    if (!colon || colon == arg || (slash && slash < colon))
        return FALSE;
    *vm = g_strndup(arg, (gsize)(colon - arg));
    *path = g_strdup(colon + 1);
    return TRUE;
}

int cmd_cp(int argc, char **argv, GError **error)
{
    gboolean recursive = FALSE;
    GOptionEntry entries[] = { { "recursive", 'r', 0, G_OPTION_ARG_NONE, &recursive,
                                 "Copy directories (with what is in them)", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    int n_src = argc - 2;
    const char *dest = argv[argc - 1];
    g_autofree char *dvm = NULL, *dpath = NULL;
    gboolean in = split_remote(dest, &dvm, &dpath);
    g_autofree char *svm = NULL;
    g_autoptr(GPtrArray) spaths = g_ptr_array_new_with_free_func(g_free);
    for (int i = 1; i <= n_src; i++) {
        g_autofree char *vm = NULL, *path = NULL;
        gboolean remote = split_remote(argv[i], &vm, &path);
        if (in && remote)
            return cli_usagef("cp", "%s and %s are both in a guest: copy through the host", argv[i],
                              dest);
        if (!in && !remote)
            return cli_usagef("cp", "neither %s nor %s is in a guest (VM:PATH)", argv[i], dest);
        if (!in && svm && strcmp(svm, vm))
            return cli_usagef("cp", "the sources are in two guests (%s, %s): one at a time", svm,
                              vm);
        if (!in && !svm)
            svm = g_strdup(vm);
        g_ptr_array_add(spaths, g_strdup(remote ? path : argv[i]));
    }
    const char *vm = in ? dvm : svm;
    if ((in && !*dpath) || (!in && !*dest))
        return cli_usagef("cp", "an empty path: give the guest's path after the colon");
    g_autoptr(GError) err = NULL;
    g_autoptr(VmPaths) v = cli_running_vm(vm, NULL, &err);
    g_autoptr(QmpConn) qga = v ? vm_qga_open(v, 30000, &err) : NULL;
    if (!qga)
        return cli_fail(error, &err);
    Progress pr = { .tty = isatty(STDERR_FILENO) && !cli_quiet };

    /* where each source lands: inside DEST when it is a directory */
    gboolean dest_dir = FALSE;
    if (in) {
        guint mode = 0;
        g_autoptr(GError) ignored = NULL;
        dest_dir = guest_stat(qga, dpath, &mode, &ignored) && S_ISDIR(mode);
    } else {
        dest_dir = g_file_test(dest, G_FILE_TEST_IS_DIR);
    }
    if (n_src > 1 && !dest_dir)
        return cli_failf(error, "cp: %s is not a directory (%d sources go into one)", dest, n_src);
    for (guint i = 0; i < spaths->len; i++) {
        const char *src = spaths->pdata[i];
        g_autofree char *label = in ? g_strdup(src) : g_strdup_printf("%s:%s", vm, src);
        g_autofree char *base = g_path_get_basename(src);
        g_autofree char *target = dest_dir ? g_build_filename(in ? dpath : dest, base, NULL)
                                           : g_strdup(in ? dpath : dest);
        pr = (Progress){ .tty = pr.tty, .label = label, .started = g_get_monotonic_time() };
        gboolean ok;
        if (in) {
            struct stat st;
            if (stat(src, &st) != 0)
                return cli_failf(error, "cp: %s: %s", src, g_strerror(errno));
            if (S_ISDIR(st.st_mode) && !recursive)
                return cli_failf(error, "cp: %s is a directory (copy it with -r)", src);
            ok = S_ISDIR(st.st_mode) ? copy_dir_in(qga, src, target, &pr, &err)
                                     : copy_file_in(qga, src, &st, target, &pr, &err);
        } else {
            guint mode = 0;
            if (!guest_stat(qga, src, &mode, &err))
                return cli_failf(error, "cp: %s:%s in the guest: %s", vm, src, err->message);
            if (S_ISDIR(mode) && !recursive)
                return cli_failf(error, "cp: %s:%s is a directory (copy it with -r)", vm, src);
            ok = S_ISDIR(mode) ? copy_dir_out(qga, src, target, &pr, &err)
                               : copy_file_out(qga, src, mode, target, &pr, &err);
        }
        progress_show(&pr, TRUE);
        if (!ok)
            return cli_failf(error, "cp %s %s: %s", in ? "into" : "out of", vm, err->message);
    }
    return EXIT_OK;
}
