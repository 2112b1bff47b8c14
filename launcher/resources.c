/* vCPU pinning and cgroup limits for a QEMU process. */
#include "resources.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"

#define QMP_TIMEOUT_MS 10000
#define CFS_PERIOD_US 100000

GArray *res_vcpu_threads(QmpConn *qmp, GError **error)
{
    json_auto_t *cpus = qmp_conn_execute(qmp, "query-cpus-fast", NULL, QMP_TIMEOUT_MS, error);
    if (!cpus)
        return NULL;
    GArray *tids = g_array_new(FALSE, TRUE, sizeof(pid_t));
    size_t i;
    json_t *c;
    json_array_foreach(cpus, i, c)
    {
        pid_t tid = (pid_t)json_integer_value(json_object_get(c, "thread-id"));
        g_array_append_val(tids, tid);
    }
    return tids;
}

gboolean res_pin_threads(pid_t pid, const GArray *tids, const int *cpus, GError **error)
{
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    for (guint i = 0; i < tids->len; i++) {
        if (cpus[i] >= ncpu || cpus[i] >= CPU_SETSIZE) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "pin: host CPU %d does not exist (this host has CPUs 0-%ld)", cpus[i],
                        ncpu - 1);
            return FALSE;
        }
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpus[i], &set);
        pid_t tid = g_array_index(tids, pid_t, i);
        if (sched_setaffinity(tid, sizeof set, &set) < 0) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "pin: cannot pin vCPU %u (thread %d of QEMU %d) to host CPU %d: %s", i,
                        (int)tid, (int)pid, cpus[i], g_strerror(errno));
            return FALSE;
        }
    }
    return TRUE;
}

char *res_thread_affinity(pid_t pid, pid_t tid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/task/%d/status", (int)pid, (int)tid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    const char *k = strstr(text, "\nCpus_allowed_list:");
    if (!k)
        return NULL;
    k += strlen("\nCpus_allowed_list:");
    while (*k == ' ' || *k == '\t')
        k++;
    return g_strndup(k, strcspn(k, "\n"));
}

double res_cpu_seconds(pid_t pid, pid_t tid)
{
    g_autofree char *path = tid ? g_strdup_printf("/proc/%d/task/%d/stat", (int)pid, (int)tid)
                                : g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    const char *paren = strrchr(text, ')');
    if (!paren)
        return -1;
    g_auto(GStrv) f = g_strsplit(paren + 2, " ", -1); /* f[0] is field 3 (state) */
    if (g_strv_length(f) < 13)
        return -1;
    return (double)(g_ascii_strtoull(f[11], NULL, 10) + g_ascii_strtoull(f[12], NULL, 10)) /
           (double)sysconf(_SC_CLK_TCK);
}

guint64 res_rss_bytes(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/statm", (int)pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    g_auto(GStrv) f = g_strsplit(text, " ", -1);
    if (g_strv_length(f) < 2)
        return 0;
    return g_ascii_strtoull(f[1], NULL, 10) * (guint64)sysconf(_SC_PAGESIZE);
}

/* ---- cgroups ---- */

/* Where a hierarchy is mounted and the path of our own cgroup in it. */
typedef struct {
    char *mount; /* NULL when not mounted */
    char *own;   /* absolute dir of qlaunch's cgroup */
} Hier;

static void hier_clear(Hier *h)
{
    g_clear_pointer(&h->mount, g_free);
    g_clear_pointer(&h->own, g_free);
}

static gboolean has_word(const char *list, const char *word, const char *seps)
{
    g_auto(GStrv) w = g_strsplit_set(list, seps, -1);
    return g_strv_contains((const char *const *)w, word);
}

/* controller NULL = the cgroup2 hierarchy. */
static void find_hier(const char *controller, Hier *h)
{
    g_autofree char *mi = NULL, *self = NULL;
    if (!g_file_get_contents("/proc/self/mountinfo", &mi, NULL, NULL) ||
        !g_file_get_contents("/proc/self/cgroup", &self, NULL, NULL))
        return;
    g_autofree char *root = NULL;
    g_auto(GStrv) lines = g_strsplit(mi, "\n", -1);
    for (gsize i = 0; lines[i] && !h->mount; i++) {
        const char *dash = strstr(lines[i], " - ");
        if (!dash)
            continue;
        g_auto(GStrv) pre = g_strsplit(lines[i], " ", 6);
        g_auto(GStrv) post = g_strsplit(dash + 3, " ", 3);
        if (g_strv_length(pre) < 5 || g_strv_length(post) < 3)
            continue;
        gboolean match = controller ? strcmp(post[0], "cgroup") == 0 &&
                                          has_word(g_strstrip(post[2]), controller, ",")
                                    : strcmp(post[0], "cgroup2") == 0;
        if (match) {
            h->mount = g_strdup(pre[4]);
            root = g_strdup(pre[3]);
        }
    }
    if (!h->mount)
        return;
    g_auto(GStrv) cg = g_strsplit(self, "\n", -1);
    for (gsize i = 0; cg[i]; i++) {
        g_auto(GStrv) f = g_strsplit(cg[i], ":", 3);
        if (g_strv_length(f) < 3)
            continue;
        gboolean match = controller ? has_word(f[1], controller, ",") : strcmp(f[0], "0") == 0;
        if (!match)
            continue;
        const char *path = f[2];
        /* inside a container the mount's root may be our own cgroup */
        if (strcmp(root, "/") != 0 && g_str_has_prefix(path, root))
            path += strlen(root);
        h->own = g_build_filename(h->mount, path, NULL);
        return;
    }
    h->own = g_strdup(h->mount);
}

static gboolean write_file(const char *dir, const char *file, const char *value, GError **error)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    FILE *f = fopen(path, "we");
    if (!f || fputs(value, f) < 0 || fclose(f) != 0) {
        int e = errno;
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "cannot write %s to %s: %s", value, path,
                    g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

static char *read_line(const char *dir, const char *file)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return g_strstrip(text);
}

static gboolean make_dir(const char *path, GError **error)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "cannot create %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* v2: qlaunch/VM below our cgroup with the controller enabled down to it. */
static char *v2_dir(const Hier *h, const char *vm, const char *controller, GError **error)
{
    g_autofree char *ctl = read_line(h->own, "cgroup.controllers");
    if (!ctl || !has_word(ctl, controller, " ")) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "v2 %s has no %s controller", h->own,
                    controller);
        return NULL;
    }
    g_autofree char *plus = g_strconcat("+", controller, NULL);
    g_autofree char *top = g_build_filename(h->own, "qlaunch", NULL);
    g_autofree char *dir = g_build_filename(top, vm, NULL);
    if (!write_file(h->own, "cgroup.subtree_control", plus, error) || !make_dir(top, error) ||
        !write_file(top, "cgroup.subtree_control", plus, error) || !make_dir(dir, error))
        return NULL;
    return g_steal_pointer(&dir);
}

static char *v1_dir(const char *vm, const char *controller, GError **error)
{
    Hier h = { 0 };
    find_hier(controller, &h);
    if (!h.mount) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "no v1 %s hierarchy is mounted", controller);
        return NULL;
    }
    g_autofree char *top = g_build_filename(h.own, "qlaunch", NULL);
    char *dir = g_build_filename(top, vm, NULL);
    hier_clear(&h);
    if (!make_dir(top, error) || !make_dir(dir, error)) {
        g_free(dir);
        return NULL;
    }
    return dir;
}

/* A cgroup dir for one controller, limited; v2 first, then v1. */
static char *limited_dir(const char *vm, const char *controller, guint cpu_pct, guint64 mem,
                         gboolean *v2, GError **error)
{
    Hier h = { 0 };
    find_hier(NULL, &h);
    g_autoptr(GError) e2 = NULL, e1 = NULL;
    char *dir = h.mount ? v2_dir(&h, vm, controller, &e2) : NULL;
    hier_clear(&h);
    if (dir) {
        *v2 = TRUE;
        g_autofree char *val =
            strcmp(controller, "cpu") == 0
                ? g_strdup_printf("%u %u", cpu_pct * (CFS_PERIOD_US / 100), CFS_PERIOD_US)
                : g_strdup_printf("%" G_GUINT64_FORMAT, mem);
        if (write_file(dir, strcmp(controller, "cpu") == 0 ? "cpu.max" : "memory.max", val, &e2))
            return dir;
        g_free(dir);
    }
    *v2 = FALSE;
    dir = v1_dir(vm, controller, &e1);
    gboolean ok = dir != NULL;
    if (ok && strcmp(controller, "cpu") == 0) {
        g_autofree char *q = g_strdup_printf("%u", cpu_pct * (CFS_PERIOD_US / 100));
        g_autofree char *per = g_strdup_printf("%u", CFS_PERIOD_US);
        ok = write_file(dir, "cpu.cfs_period_us", per, &e1) &&
             write_file(dir, "cpu.cfs_quota_us", q, &e1);
    } else if (ok) {
        g_autofree char *m = g_strdup_printf("%" G_GUINT64_FORMAT, mem);
        /* the pages QEMU already has follow it into the new cgroup */
        write_file(dir, "memory.move_charge_at_immigrate", "3", NULL);
        ok = write_file(dir, "memory.limit_in_bytes", m, &e1);
    }
    if (ok)
        return dir;
    if (dir)
        rmdir(dir);
    g_free(dir);
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "no writable cgroup %s controller (%s; %s); run qlaunch as root or in a "
                "delegated cgroup",
                controller, e2 ? e2->message : "no cgroup2 hierarchy is mounted",
                e1 ? e1->message : "v1 not tried");
    return NULL;
}

gboolean res_cgroup_apply(const char *vm, pid_t pid, guint cpu_pct, guint64 mem_bytes, GStrv *dirs,
                          GError **error)
{
    g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func(g_free);
    struct {
        const char *controller, *what;
        gboolean want;
    } want[] = { { "cpu", "cpu-limit", cpu_pct > 0 }, { "memory", "memory-limit", mem_bytes > 0 } };
    g_autofree char *pidtext = g_strdup_printf("%d", (int)pid);
    for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
        if (!want[i].want)
            continue;
        gboolean v2 = FALSE;
        char *dir = limited_dir(vm, want[i].controller, cpu_pct, mem_bytes, &v2, error);
        if (!dir || !write_file(dir, "cgroup.procs", pidtext, error)) {
            g_prefix_error(error, "%s: ", want[i].what);
            if (dir)
                g_ptr_array_add(made, dir);
            g_ptr_array_add(made, NULL);
            res_cgroup_remove((char **)made->pdata);
            return FALSE;
        }
        gboolean dup = FALSE;
        for (guint j = 0; j < made->len; j++)
            dup = dup || strcmp(made->pdata[j], dir) == 0;
        if (dup)
            g_free(dir);
        else
            g_ptr_array_add(made, dir);
    }
    g_ptr_array_add(made, NULL);
    *dirs = (GStrv)g_ptr_array_free(g_steal_pointer(&made), FALSE);
    return TRUE;
}

gboolean res_cgroup_set_cpu(char *const *dirs, guint cpu_pct, GError **error)
{
    g_autofree char *v2 = g_strdup_printf("%u %u", cpu_pct * (CFS_PERIOD_US / 100), CFS_PERIOD_US);
    g_autofree char *v1 = g_strdup_printf("%u", cpu_pct * (CFS_PERIOD_US / 100));
    for (gsize i = 0; dirs && dirs[i]; i++) {
        g_autofree char *max = g_build_filename(dirs[i], "cpu.max", NULL);
        g_autofree char *quota = g_build_filename(dirs[i], "cpu.cfs_quota_us", NULL);
        if (g_file_test(max, G_FILE_TEST_EXISTS))
            return write_file(dirs[i], "cpu.max", v2, error);
        if (g_file_test(quota, G_FILE_TEST_EXISTS))
            return write_file(dirs[i], "cpu.cfs_quota_us", v1, error);
    }
    g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                "the VM has no cgroup with a CPU limit (give its profile cpu-limit=)");
    return FALSE;
}

void res_cgroup_remove(char *const *dirs)
{
    for (gsize i = 0; dirs && dirs[i]; i++) {
        if (!strstr(dirs[i], "/qlaunch/"))
            continue; /* only what we made */
        /* an exited QEMU stays in its cgroup until its parent reaps it */
        gint64 deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
        while (rmdir(dirs[i]) < 0 && errno == EBUSY && g_get_monotonic_time() < deadline)
            g_usleep(20000);
        g_autofree char *top = g_path_get_dirname(dirs[i]);
        rmdir(top); /* fails while other VMs use it: fine */
    }
}

json_t *res_cgroup_read(char *const *dirs)
{
    json_t *j = json_object();
    for (gsize i = 0; dirs && dirs[i]; i++) {
        g_autofree char *max = read_line(dirs[i], "cpu.max");
        g_autofree char *quota = read_line(dirs[i], "cpu.cfs_quota_us");
        g_autofree char *period = read_line(dirs[i], "cpu.cfs_period_us");
        if (max && !g_str_has_prefix(max, "max")) {
            guint64 q = g_ascii_strtoull(max, NULL, 10);
            const char *sp = strchr(max, ' ');
            guint64 p = sp ? g_ascii_strtoull(sp + 1, NULL, 10) : 0;
            if (p)
                json_object_set_new(j, "cpu_limit_pct", json_integer((json_int_t)(q * 100 / p)));
        } else if (quota && period && quota[0] != '-') {
            guint64 q = g_ascii_strtoull(quota, NULL, 10), p = g_ascii_strtoull(period, NULL, 10);
            if (p)
                json_object_set_new(j, "cpu_limit_pct", json_integer((json_int_t)(q * 100 / p)));
        }
        const char *mfiles[][2] = { { "memory.max", "memory.current" },
                                    { "memory.limit_in_bytes", "memory.usage_in_bytes" } };
        for (gsize k = 0; k < G_N_ELEMENTS(mfiles); k++) {
            g_autofree char *lim = read_line(dirs[i], mfiles[k][0]);
            g_autofree char *cur = read_line(dirs[i], mfiles[k][1]);
            if (lim && g_ascii_isdigit(*lim))
                json_object_set_new(j, "memory_limit",
                                    json_integer((json_int_t)g_ascii_strtoull(lim, NULL, 10)));
            if (cur && g_ascii_isdigit(*cur))
                json_object_set_new(j, "memory_current",
                                    json_integer((json_int_t)g_ascii_strtoull(cur, NULL, 10)));
        }
    }
    return j;
}
