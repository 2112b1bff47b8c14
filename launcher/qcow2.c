/* A qcow2 image's snapshot table, read without qemu-img (docs/interop/qcow2.txt). */
#include "qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(qlaunch_qcow2_error, qcow2_error)

/* Limits of QEMU's own block/qcow2.h: a table beyond them is not QEMU's. */
#define QCOW_MAX_SNAPSHOTS 65536
#define QCOW_MAX_SNAPSHOT_EXTRA_DATA 1024
#define SNAPSHOT_HEADER_SIZE 40
/* QEMU's file locking (block/file-posix.c): a process with write permission
 * holds a shared lock on byte RAW_LOCK_PERM_BASE + log2(BLK_PERM_WRITE). */
#define QEMU_WRITE_PERM_LOCK_BYTE (100 + 1)

static guint32 be32(const guint8 *p)
{
    return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static guint64 be64(const guint8 *p)
{
    return (guint64)be32(p) << 32 | be32(p + 4);
}

static gboolean read_at(int fd, void *buf, gsize len, guint64 off, guint64 file_size,
                        GError **error)
{
    if (off > file_size || len > file_size - off) {
        g_set_error(
            error, QCOW2_ERROR, QCOW2_ERROR_FORMAT,
            "its snapshot table runs past the end of the file (offset %" G_GUINT64_FORMAT ")", off);
        return FALSE;
    }
    gsize done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_set_error(error, QCOW2_ERROR, QCOW2_ERROR_IO, "reading it: %s",
                        n < 0 ? g_strerror(errno) : "unexpected end of file");
            return FALSE;
        }
        done += (gsize)n;
    }
    return TRUE;
}

/* One entry of the table at *off, which moves past it (8-byte aligned). */
static json_t *read_entry(int fd, guint64 *off, guint64 file_size, GError **error)
{
    guint8 h[SNAPSHOT_HEADER_SIZE];
    if (!read_at(fd, h, sizeof h, *off, file_size, error))
        return NULL;
    guint32 id_len = h[12] << 8 | h[13], name_len = h[14] << 8 | h[15];
    guint32 extra_len = be32(h + 36);
    if (extra_len > QCOW_MAX_SNAPSHOT_EXTRA_DATA) {
        g_set_error(error, QCOW2_ERROR, QCOW2_ERROR_FORMAT,
                    "a snapshot has %u bytes of extra data (at most %u)", extra_len,
                    QCOW_MAX_SNAPSHOT_EXTRA_DATA);
        return NULL;
    }
    guint8 extra[QCOW_MAX_SNAPSHOT_EXTRA_DATA];
    g_autofree char *id = g_malloc0(id_len + 1), *name = g_malloc0(name_len + 1);
    guint64 at = *off + sizeof h;
    if (!read_at(fd, extra, extra_len, at, file_size, error) ||
        !read_at(fd, id, id_len, at + extra_len, file_size, error) ||
        !read_at(fd, name, name_len, at + extra_len + id_len, file_size, error))
        return NULL;
    if (!id_len || strlen(id) != id_len || strlen(name) != name_len ||
        !g_utf8_validate(name, -1, NULL) || !g_utf8_validate(id, -1, NULL)) {
        g_set_error(error, QCOW2_ERROR, QCOW2_ERROR_FORMAT,
                    "a snapshot's id or name is missing or not text");
        return NULL;
    }
    *off = (at + extra_len + id_len + name_len + 7) & ~(guint64)7;
    /* vm_state_size_large, when there, replaces the 32-bit field */
    guint64 vm_state = extra_len >= 8 ? be64(extra) : be32(h + 32);
    guint64 clock_ns = be64(h + 24);
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "id", id, "name", name, "vm-state-size",
                     (json_int_t)MIN(vm_state, (guint64)G_MAXINT64), "date-sec",
                     (json_int_t)be32(h + 16), "date-nsec", (json_int_t)be32(h + 20),
                     "vm-clock-sec", (json_int_t)(clock_ns / 1000000000), "vm-clock-nsec",
                     (json_int_t)(clock_ns % 1000000000));
}

json_t *qcow2_snapshots_fd(int fd, GError **error)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        g_set_error(error, QCOW2_ERROR, QCOW2_ERROR_IO, "%s", g_strerror(errno));
        return NULL;
    }
    guint64 size = (guint64)st.st_size;
    guint8 h[72];
    if (size < sizeof h || !read_at(fd, h, sizeof h, 0, size, error) ||
        memcmp(h, "QFI\xfb", 4) != 0 || (be32(h + 4) != 2 && be32(h + 4) != 3)) {
        g_clear_error(error);
        g_set_error(error, QCOW2_ERROR, QCOW2_ERROR_FORMAT, "not a qcow2 image (version 2 or 3)");
        return NULL;
    }
    guint32 n = be32(h + 60);
    guint64 off = be64(h + 64);
    if (n > QCOW_MAX_SNAPSHOTS || (n && (off & 7))) {
        g_set_error(error, QCOW2_ERROR, QCOW2_ERROR_FORMAT,
                    "its header gives %u snapshots at offset %" G_GUINT64_FORMAT
                    " (at most %u, 8-byte aligned)",
                    n, off, QCOW_MAX_SNAPSHOTS);
        return NULL;
    }
    json_auto_t *list = json_array();
    for (guint32 i = 0; i < n; i++) {
        json_t *e = read_entry(fd, &off, size, error);
        if (!e)
            return NULL;
        json_array_append_new(list, e);
    }
    return json_incref(list);
}

json_t *qcow2_snapshots(const char *path, GError **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(error, QCOW2_ERROR, QCOW2_ERROR_IO, "%s: %s", path, g_strerror(errno));
        return NULL;
    }
    struct flock lk = {
        .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = QEMU_WRITE_PERM_LOCK_BYTE, .l_len = 1
    };
    if (fcntl(fd, F_OFD_GETLK, &lk) == 0 && lk.l_type != F_UNLCK) {
        close(fd);
        g_set_error(error, QCOW2_ERROR, QCOW2_ERROR_IN_USE,
                    "%s: another process (a QEMU) has it open for writing", path);
        return NULL;
    }
    json_t *list = qcow2_snapshots_fd(fd, error);
    close(fd);
    if (!list)
        g_prefix_error(error, "%s: ", path);
    return list;
}
