/* VM profiles: parse an INI file with GKeyFile and validate every value. */
#include "profile.h"
#include "ini.h"
#include "profile-read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CPU_SETSIZE_MAX 1024

static const char *const vm_keys[] = { "name",      "memory",       "cpus",          "accel",
                                       "cpu",       "machine",      "snapshot-disk", "pin",
                                       "cpu-limit", "memory-limit", "tcg-tb-size",   "tcg-thread",
                                       "balloon",   "numa",         "numa-host",     NULL };
static const char *const boot_keys[] = { "kernel",     "initrd",     "append",   "cdrom",
                                         "order",      "restore",    "firmware", "vars",
                                         "iso-kernel", "iso-initrd", "preset",   NULL };
static const char *const agent_keys[] = { "enabled", NULL };
static const char *const serial_keys[] = { "enabled", "log", NULL };

/* pin=2,3: one host CPU per vCPU, or one for all of them. */
static gboolean read_pin(Ctx *c, GError **error)
{
    Profile *p = c->p;
    g_autofree char *pin = prof_get_str(c, "vm", "pin");
    if (!pin)
        return TRUE;
    g_auto(GStrv) items = g_strsplit(pin, ",", -1);
    guint n = g_strv_length(items);
    if (n != 1 && n != p->cpus)
        return prof_fail(c, error, "vm", "pin",
                         "\"%s\" names %u host CPUs for %u vCPUs (give one host CPU per vCPU, "
                         "e.g. pin=0,1, or one for all)",
                         pin, n, p->cpus);
    p->pin = g_new0(int, p->cpus);
    for (guint i = 0; i < p->cpus; i++) {
        const char *it = items[n == 1 ? 0 : i];
        char *end = NULL;
        guint64 cpu = g_ascii_strtoull(it, &end, 10);
        if (!g_ascii_isdigit(*it) || *end || cpu >= CPU_SETSIZE_MAX)
            return prof_fail(c, error, "vm", "pin",
                             "\"%s\" is not a host CPU number (pin=0,1 puts vCPU 0 on host CPU 0 "
                             "and vCPU 1 on host CPU 1)",
                             it);
        p->pin[i] = (int)cpu;
    }
    return TRUE;
}

/* cpu-limit=50% (of one host CPU, like top and cpulimit), memory-limit=1G. */
static gboolean read_resources(Ctx *c, GError **error)
{
    Profile *p = c->p;
    if (!read_pin(c, error) || !prof_read_numa(c, error))
        return FALSE;
    g_autofree char *lim = prof_get_str(c, "vm", "cpu-limit");
    if (lim) {
        char *end = NULL;
        guint64 pct = g_ascii_strtoull(lim, &end, 10);
        if (!g_ascii_isdigit(*lim) || g_strcmp0(end, "%") != 0 || pct < 1 || pct > 100 * 1024)
            return prof_fail(c, error, "vm", "cpu-limit",
                             "\"%s\" is not a CPU share (a percentage of one host CPU, like top: "
                             "cpu-limit=50%% or cpu-limit=200%%)",
                             lim);
        p->cpu_limit_pct = (guint)pct;
    }
    g_autofree char *mlim = prof_get_str(c, "vm", "memory-limit");
    if (mlim && (!profile_parse_size(mlim, 0, &p->memory_limit) || p->memory_limit < (64ull << 20)))
        return prof_fail(c, error, "vm", "memory-limit",
                         "\"%s\" is not a memory size of at least 64M (the QEMU process's limit, "
                         "e.g. memory-limit=1G)",
                         mlim);
    return TRUE;
}

/* tcg-tb-size=MiB (translation cache), tcg-thread=multi|single. */
static gboolean read_tcg(Ctx *c, GError **error)
{
    static const char *const threads[] = { "default", "multi", "single", NULL };
    Profile *p = c->p;
    g_autofree char *tb = prof_get_str(c, "vm", "tcg-tb-size");
    if (tb) {
        char *end = NULL;
        guint64 mib = g_ascii_strtoull(tb, &end, 10);
        if (!g_ascii_isdigit(*tb) || *end || mib < 1 || mib > 65536)
            return prof_fail(c, error, "vm", "tcg-tb-size",
                             "\"%s\" is not a translation cache size in MiB (1 to 65536, e.g. 512)",
                             tb);
        p->tcg_tb_size_mib = (guint)mib;
    }
    g_autofree char *th = NULL;
    if (!prof_get_enum(c, "vm", "tcg-thread", threads, "default", &th, error))
        return FALSE;
    if (strcmp(th, "default") != 0)
        p->tcg_thread = g_steal_pointer(&th);
    return prof_get_bool(c, "vm", "balloon", FALSE, &p->balloon, error);
}

static gboolean read_vm(Ctx *c, GError **error)
{
    static const char *const accels[] = { "auto", "kvm", "tcg", NULL };
    const char *g = "vm";
    Profile *p = c->p;
    if (!prof_check_keys(c, g, vm_keys, error))
        return FALSE;
    g_autofree char *name = prof_get_str(c, g, "name");
    if (c->env->name_override) {
        g_free(name);
        name = g_strdup(c->env->name_override);
    } else if (!name) {
        name = ini_file_stem(c->path);
    }
    if (!profile_name_valid(name))
        return prof_fail(c, error, g, "name",
                         "\"%s\" is not a valid VM name (letters, digits, '.', '_', "
                         "'-'; starting with a letter or digit; at most 64)",
                         name);
    p->name = g_steal_pointer(&name);

    g_autofree char *mem = prof_get_str(c, g, "memory");
    guint64 bytes = 512ull << 20;
    if (mem && !profile_parse_size(mem, 1ull << 20, &bytes))
        return prof_fail(c, error, g, "memory", "\"%s\" is not a size (try 512M or 2G)", mem);
    if (bytes < (16ull << 20))
        return prof_fail(c, error, g, "memory",
                         "\"%s\" is %" G_GUINT64_FORMAT " %s; a VM needs at least 16M (a bare "
                         "number is MiB: try 512M or 2G)",
                         mem, bytes % (1ull << 20) ? bytes >> 10 : bytes >> 20,
                         bytes % (1ull << 20) ? "KiB" : "MiB");
    if (bytes % (1ull << 20))
        return prof_fail(c, error, g, "memory", "\"%s\" must be a whole number of MiB (e.g. 1536M)",
                         mem);
    p->memory_mib = bytes >> 20;

    g_autofree char *cpus = prof_get_str(c, g, "cpus");
    p->cpus = 1;
    if (cpus) {
        char *end = NULL;
        guint64 n = g_ascii_strtoull(cpus, &end, 10);
        if (!g_ascii_isdigit(*cpus) || *end || n < 1 || n > 255)
            return prof_fail(c, error, g, "cpus", "\"%s\" is not a vCPU count (1 to 255)", cpus);
        p->cpus = (guint)n;
    }

    g_autofree char *accel = NULL;
    if (!prof_get_enum(c, g, "accel", accels, "auto", &accel, error))
        return FALSE;
    p->accel = !strcmp(accel, "kvm") ? ACCEL_KVM : !strcmp(accel, "tcg") ? ACCEL_TCG : ACCEL_AUTO;

    p->cpu = prof_get_str(c, g, "cpu");
    if (!p->cpu)
        p->cpu = g_strdup("auto");
    if (!prof_plain_word(p->cpu, ",+="))
        return prof_fail(c, error, g, "cpu",
                         "\"%s\" is not a CPU model (try auto, max, host or qemu64)", p->cpu);
    p->machine = prof_get_str(c, g, "machine");
    if (!p->machine)
        p->machine = g_strdup("q35");
    p->snapshot_disk = prof_get_str(c, g, "snapshot-disk");
    if (!prof_plain_word(p->machine, NULL))
        return prof_fail(c, error, g, "machine", "\"%s\" is not a machine type (try q35 or pc)",
                         p->machine);
    return read_resources(c, error) && read_tcg(c, error);
}

static gboolean read_boot(Ctx *c, GError **error)
{
    const char *g = "boot";
    Profile *p = c->p;
    if (!g_key_file_has_group(c->kf, g))
        return prof_read_boot_platform(c, error);
    if (!prof_check_keys(c, g, boot_keys, error) ||
        !prof_get_path(c, g, "kernel", &p->kernel, error) ||
        !prof_get_path(c, g, "initrd", &p->initrd, error) ||
        !prof_get_path(c, g, "cdrom", &p->cdrom, error))
        return FALSE;
    p->cdrom_drive = p->cdrom != NULL;
    p->append = prof_get_str(c, g, "append");
    if (p->append && !prof_no_control_chars(c, g, "append", p->append, error))
        return FALSE;
    if (!prof_read_boot_platform(c, error))
        return FALSE;
    if ((p->initrd || p->append) && !p->kernel)
        return prof_fail(c, error, g, p->initrd ? "initrd" : "append",
                         "needs kernel= in the same group");
    p->order = prof_get_str(c, g, "order");
    if (p->order) {
        if (!*p->order || strspn(p->order, "acdn") != strlen(p->order))
            return prof_fail(c, error, g, "order",
                             "\"%s\" is not a boot order (letters c=disk, d=cdrom, "
                             "n=network, a=floppy; e.g. dc)",
                             p->order);
    }
    p->restore = prof_get_str(c, g, "restore");
    if (p->restore &&
        (!profile_name_valid(p->restore) || strspn(p->restore, "0123456789") == strlen(p->restore)))
        return prof_fail(c, error, g, "restore",
                         "\"%s\" is not a snapshot name (letters, digits, '.', '_', '-'; "
                         "starting with a letter or digit; not all digits)",
                         p->restore);
    return TRUE;
}

/* GKeyFile keeps only the last of repeated keys; forward= may be repeated,
 * so collect those lines per group from the text itself. */
static GHashTable *collect_forwards(const char *data, gsize len)
{
    GHashTable *t =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    g_autofree char *text = g_strndup(data, len);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *group = NULL;
    for (gsize i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        if (*l == '[' && l[strlen(l) - 1] == ']') {
            g_free(group);
            group = g_strndup(l + 1, strlen(l) - 2);
        } else if (group && g_str_has_prefix(l, "forward")) {
            char *eq = strchr(l, '=');
            g_autofree char *key = eq ? g_strstrip(g_strndup(l, (gsize)(eq - l))) : NULL;
            if (!key || strcmp(key, "forward") != 0)
                continue;
            GPtrArray *arr = g_hash_table_lookup(t, group);
            if (!arr) {
                arr = g_ptr_array_new_with_free_func(g_free);
                g_hash_table_insert(t, g_strdup(group), arr);
            }
            g_ptr_array_add(arr, profile_strip_comment(g_strdup(eq + 1)));
        }
    }
    return t;
}

/* GKeyFile keeps the last of a repeated key without a word: a key given
 * twice in a group (also when the group itself is repeated) is refused,
 * naming both lines, and so is a forward= repeated with the same rule. */
static gboolean check_repeats(Ctx *c, const char *data, gsize len, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *text = g_strndup(data, len);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *group = NULL;
    for (gsize i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        char *eq = strchr(l, '=');
        if (*l == '[' && l[strlen(l) - 1] == ']') {
            g_free(group);
            group = g_strndup(l + 1, strlen(l) - 2);
            continue;
        }
        if (!group || *l == '#' || *l == ';' || !eq)
            continue;
        g_autofree char *key = g_strstrip(g_strndup(l, (gsize)(eq - l)));
        gboolean fwd = !strcmp(key, "forward");
        g_autofree char *value = fwd ? profile_strip_comment(g_strdup(eq + 1)) : NULL;
        g_autofree char *id =
            g_strdup_printf("%s\n%s%s%s", group, key, fwd ? "=" : "", fwd ? g_strstrip(value) : "");
        gsize first = GPOINTER_TO_SIZE(g_hash_table_lookup(seen, id));
        if (first)
            return prof_fail(
                c, error, group, key,
                fwd ? "the same forward is given twice (lines %zu and %zu): keep one"
                    : "given twice (lines %zu and %zu; only the last would count): keep "
                      "one",
                first, i + 1);
        g_hash_table_insert(seen, g_steal_pointer(&id), GSIZE_TO_POINTER(i + 1));
    }
    return TRUE;
}

/* "disk data" -> kind "disk", name "data". */
static gboolean split_group(Ctx *c, const char *group, char **kind, char **name, GError **error)
{
    const char *sp = strchr(group, ' ');
    *kind = sp ? g_strndup(group, (gsize)(sp - group)) : g_strdup(group);
    *name = sp ? g_strdup(sp + 1) : NULL;
    gboolean named = !strcmp(*kind, "disk") || !strcmp(*kind, "net") || !strcmp(*kind, "share");
    static const char *const kinds[] = { "vm",         "boot",   "disk",    "net",
                                         "agent",      "serial", "display", "tpm",
                                         "cloud-init", "share",  NULL };
    gboolean single = !named && g_strv_contains(kinds, *kind);
    if (!named && !single) {
        g_autofree char *hint = prof_suggest(*kind, kinds);
        return prof_fail(c, error, group, NULL,
                         "unknown group; %s (disk, net and share take a name: [disk data])", hint);
    }
    if (named && (!*name || !prof_plain_word(*name, NULL) || strchr(*name, '.')))
        return prof_fail(c, error, group, NULL,
                         "[%s NAME] needs a name of letters, digits, '_' or '-' "
                         "(e.g. [%s 0])",
                         *kind, *kind);
    if (single && *name)
        return prof_fail(c, error, group, NULL, "[%s] takes no name", *kind);
    /* found by fuzz-argv: its drive id would be the [boot] cdrom's */
    if (named && !strcmp(*kind, "disk") && (!strcmp(*name, "cdrom") || !strcmp(*name, "efivars")))
        return prof_fail(c, error, group, NULL,
                         "the name %s is kept for [boot] %s=; call the disk something else", *name,
                         !strcmp(*name, "cdrom") ? "cdrom" : "vars");
    if (named && !strcmp(*kind, "disk") && !strcmp(*name, "cidata"))
        return prof_fail(c, error, group, NULL,
                         "the name cidata is kept for [cloud-init]'s seed; call the disk "
                         "something else");
    return TRUE;
}

/* Every group name is known, before any value is read. */
static gboolean check_groups(Ctx *c, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(c->kf, NULL);
    for (gsize i = 0; groups[i]; i++) {
        g_autofree char *kind = NULL, *name = NULL;
        if (!split_group(c, groups[i], &kind, &name, error))
            return FALSE;
    }
    if (!g_key_file_has_group(c->kf, "vm"))
        return prof_fail(c, error, NULL, NULL,
                         "has no [vm] group (it needs at least [vm] and a way to "
                         "boot: [boot] kernel= or cdrom=, or a [disk NAME])");
    return TRUE;
}

static gboolean read_groups(Ctx *c, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(c->kf, NULL);
    for (gsize i = 0; groups[i]; i++) {
        g_autofree char *kind = NULL, *name = NULL;
        split_group(c, groups[i], &kind, &name, NULL);
        if (!strcmp(kind, "disk") && !prof_read_disk(c, groups[i], name, error))
            return FALSE;
        if (!strcmp(kind, "net") && !prof_read_net(c, groups[i], name, error))
            return FALSE;
        if (!strcmp(kind, "share") && !prof_read_share(c, groups[i], name, error))
            return FALSE;
    }
    if (!prof_check_shares(c, error))
        return FALSE;
    if (!prof_check_keys(c, "agent", agent_keys, error) ||
        !prof_get_bool(c, "agent", "enabled", TRUE, &c->p->agent, error) ||
        !prof_check_keys(c, "serial", serial_keys, error) ||
        !prof_get_bool(c, "serial", "enabled", TRUE, &c->p->serial, error) ||
        !prof_get_path(c, "serial", "log", &c->p->serial_log, error) ||
        !prof_read_platform(c, error))
        return FALSE;
    return TRUE;
}

Profile *profile_load_data(const char *path, const char *data, gsize len, const ProfileEnv *env,
                           GError **error)
{
    g_autoptr(Profile) p = g_new0(Profile, 1);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;
    p->path = g_strdup(path);
    p->source = g_bytes_new(data, len);
    g_autofree char *dir = g_path_get_dirname(path);
    p->dir = g_path_is_absolute(dir) ? g_steal_pointer(&dir) : g_canonicalize_filename(dir, NULL);
    p->disks = g_ptr_array_new_with_free_func(prof_disk_free);
    p->nets = g_ptr_array_new_with_free_func(prof_net_free);
    p->shares = g_ptr_array_new_with_free_func(prof_share_free);
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ,
                    "profile %s: not a valid INI file: %s", path, local->message);
        return NULL;
    }
    Ctx c = { .path = path, .kf = kf, .env = env, .p = p, .forwards = collect_forwards(data, len) };
    gboolean ok = check_repeats(&c, data, len, error) && check_groups(&c, error) &&
                  read_vm(&c, error) && read_boot(&c, error) && read_groups(&c, error);
    if (ok && p->snapshot_disk && !profile_find_disk(p, p->snapshot_disk))
        ok = prof_fail(&c, error, "vm", "snapshot-disk",
                       "\"%s\" names no [disk %s] group in this profile", p->snapshot_disk,
                       p->snapshot_disk);
    if (ok && !p->kernel && !p->cdrom && p->disks->len == 0)
        ok = prof_fail(&c, error, "boot", NULL,
                       "nothing to boot from: give kernel=, cdrom= or a [disk NAME]");
    g_hash_table_unref(c.forwards);
    return ok ? g_steal_pointer(&p) : NULL;
}

Profile *profile_load(const char *path, const ProfileEnv *env, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ, "profile %s: %s", path,
                    local->message);
        return NULL;
    }
    return profile_load_data(path, data, len, env, error);
}

void profile_free(Profile *p)
{
    if (!p)
        return;
    g_free(p->path);
    g_clear_pointer(&p->source, g_bytes_unref);
    g_free(p->dir);
    g_free(p->name);
    g_free(p->cpu);
    g_free(p->machine);
    g_free(p->snapshot_disk);
    g_free(p->pin);
    g_free(p->numa);
    g_free(p->tcg_thread);
    g_free(p->kernel);
    g_free(p->initrd);
    g_free(p->append);
    g_free(p->cdrom);
    g_free(p->order);
    g_free(p->restore);
    if (p->disks)
        g_ptr_array_unref(p->disks);
    if (p->nets)
        g_ptr_array_unref(p->nets);
    if (p->shares)
        g_ptr_array_unref(p->shares);
    g_free(p->serial_log);
    prof_platform_free(p);
    g_free(p);
}

ProfileDisk *profile_find_disk(const Profile *p, const char *name)
{
    for (guint i = 0; i < p->disks->len; i++) {
        ProfileDisk *d = p->disks->pdata[i];
        if (strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

const char *profile_accel_name(AccelChoice a)
{
    return a == ACCEL_KVM ? "kvm" : a == ACCEL_TCG ? "tcg" : "auto";
}

const char *profile_share_type_name(ShareType t)
{
    return t == SHARE_9P ? "9p" : "virtiofs";
}

const char *profile_net_mode_name(NetMode m)
{
    static const char *const names[] = { "user", "tap", "socket", "none" };
    return names[m];
}
