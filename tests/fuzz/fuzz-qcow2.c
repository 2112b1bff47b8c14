/* libFuzzer target: the qcow2 snapshot table reader, on a file nobody
 * vouches for. It must return a list or an error, never read out of
 * bounds; a list it returns has only entries with an id and text names. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../launcher/qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("qcow2", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    GError *err = NULL;
    json_t *list = qcow2_snapshots_fd(fd, &err);
    if (!list == !err)
        abort(); /* exactly one of them */
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!id || !*id || !name || !g_utf8_validate(name, -1, NULL))
            abort();
    }
    json_decref(list);
    g_clear_error(&err);
    close(fd);
    return 0;
}
