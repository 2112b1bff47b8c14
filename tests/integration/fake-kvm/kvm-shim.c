/* LD_PRELOAD shim for test-kvm.sh: a /dev/kvm that answers what qlaunch's
 * host check asks (it exists, opens read-write, KVM_GET_API_VERSION is 12,
 * KVM_CREATE_VM gives a VM fd), on any machine, KVM or not. Everything else
 * goes to libc. The QEMU that then runs "under KVM" is the wrapper in this
 * folder, which runs the real QEMU on TCG. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FDS 1024
static unsigned char fake[MAX_FDS]; /* 1: a fake /dev/kvm fd, 2: a fake VM fd */

static int is_kvm(const char *path)
{
    return path && strcmp(path, "/dev/kvm") == 0;
}

static int fake_open(int kind)
{
    int (*real_open)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
    int fd = real_open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0 && fd < MAX_FDS)
        fake[fd] = (unsigned char)kind;
    return fd;
}

static int open_via(const char *sym, const char *path, int flags, va_list ap)
{
    mode_t mode = (flags & O_CREAT) ? va_arg(ap, mode_t) : 0;
    if (is_kvm(path))
        return fake_open(1);
    int (*real)(const char *, int, ...) = dlsym(RTLD_NEXT, sym);
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_via("open", path, flags, ap);
    va_end(ap);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_via("open64", path, flags, ap);
    va_end(ap);
    return fd;
}

int access(const char *path, int mode)
{
    if (is_kvm(path))
        return 0;
    int (*real)(const char *, int) = dlsym(RTLD_NEXT, "access");
    return real(path, mode);
}

int close(int fd)
{
    if (fd >= 0 && fd < MAX_FDS)
        fake[fd] = 0;
    int (*real)(int) = dlsym(RTLD_NEXT, "close");
    return real(fd);
}

int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (fd >= 0 && fd < MAX_FDS && fake[fd] == 1) {
        if (req == KVM_GET_API_VERSION)
            return KVM_API_VERSION;
        if (req == KVM_CREATE_VM)
            return fake_open(2);
        errno = ENOTTY;
        return -1;
    }
    int (*real)(int, unsigned long, ...) = dlsym(RTLD_NEXT, "ioctl");
    return real(fd, req, arg);
}
