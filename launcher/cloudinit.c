/* cloud-init NoCloud seeds (see cloudinit.h). */
#define G_LOG_DOMAIN "qlaunch"
#include "cloudinit.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "vm.h"

#define XORRISO_TIMEOUT_MS 60000

char *cloudinit_yaml_quote(const char *value)
{
    GString *s = g_string_new("\"");
    for (const guchar *c = (const guchar *)value; *c; c++) {
        switch (*c) {
        case '"': g_string_append(s, "\\\""); break;
        case '\\': g_string_append(s, "\\\\"); break;
        case '\n': g_string_append(s, "\\n"); break;
        case '\t': g_string_append(s, "\\t"); break;
        default:
            if (*c < 0x20 || *c == 0x7f)
                g_string_append_printf(s, "\\x%02x", *c);
            else
                g_string_append_c(s, (char)*c);
        }
    }
    g_string_append_c(s, '"');
    return g_string_free(s, FALSE);
}

char *cloudinit_user(const Profile *p)
{
    if (p->cloud_init.user)
        return g_strdup(p->cloud_init.user);
    /* the invoking user: under sudo, the one who ran sudo */
    const char *sudo = getuid() == 0 ? g_getenv("SUDO_USER") : NULL;
    if (sudo && *sudo && strcmp(sudo, "root"))
        return g_strdup(sudo);
    struct passwd *pw = getpwuid(getuid());
    return g_strdup(pw && pw->pw_name ? pw->pw_name : "qlaunch");
}

static void yaml_list(GString *s, const char *indent, const char *key, char **items)
{
    if (!items || !items[0])
        return;
    g_string_append_printf(s, "%s%s:\n", indent, key);
    for (gsize i = 0; items[i]; i++) {
        g_autofree char *q = cloudinit_yaml_quote(items[i]);
        g_string_append_printf(s, "%s  - %s\n", indent, q);
    }
}

char *cloudinit_user_data(const Profile *p, const char *user, const char *ssh_key)
{
    const ProfileCloudInit *ci = &p->cloud_init;
    GString *s = g_string_new("#cloud-config\n# written by qlaunch for VM ");
    g_string_append_printf(s, "%s: every value is a YAML double-quoted string\n", p->name);
    g_autofree char *host = cloudinit_yaml_quote(ci->hostname ? ci->hostname : p->name);
    g_autofree char *name = cloudinit_yaml_quote(user);
    g_string_append_printf(s, "hostname: %s\nmanage_etc_hosts: true\n", host);
    g_string_append_printf(s, "users:\n  - name: %s\n", name);
    g_string_append(s, "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"
                       "    shell: \"/bin/bash\"\n"
                       "    lock_passwd: true\n");
    char *keys[] = { (char *)ssh_key, NULL };
    yaml_list(s, "    ", "ssh_authorized_keys", ssh_key ? keys : NULL);
    g_string_append(s, "ssh_pwauth: false\n");
    yaml_list(s, "", "packages", ci->packages);
    yaml_list(s, "", "runcmd", ci->runcmd);
    /* [share NAME]: mounted at every boot (bootcmd), not only the first */
    g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < p->shares->len; i++) {
        const ProfileShare *sh = p->shares->pdata[i];
        /* tag and mount are plain words and paths (profile-devices.c) */
        g_ptr_array_add(mounts,
                        g_strdup_printf("mkdir -p %s && { mountpoint -q %s || mount -t %s -o %s "
                                        "%s %s; }",
                                        sh->mount, sh->mount, profile_share_type_name(sh->type),
                                        sh->type == SHARE_9P
                                            ? (sh->readonly ? "ro,trans=virtio,version=9p2000.L"
                                                            : "rw,trans=virtio,version=9p2000.L")
                                            : (sh->readonly ? "ro" : "rw"),
                                        sh->tag, sh->mount));
    }
    g_ptr_array_add(mounts, NULL);
    yaml_list(s, "", "bootcmd", (char **)mounts->pdata);
    return g_string_free(s, FALSE);
}

char *cloudinit_vm_key(const Profile *p)
{
    g_autofree char *dir = g_path_get_dirname(p->cloud_init.seed);
    return g_build_filename(dir, "ssh", "id_ed25519", NULL);
}

/* The user's own key pairs, in the order they are looked for. */
static const char *const own_keys[] = { "id_ed25519", "id_rsa" };

char *cloudinit_identity(const Profile *p)
{
    const ProfileCloudInit *ci = &p->cloud_init;
    if (!ci->enabled || ci->ssh_key || ci->user_data)
        return NULL;
    if (ci->ssh_key_file) {
        if (!g_str_has_suffix(ci->ssh_key_file, ".pub"))
            return NULL;
        g_autofree char *priv = g_strndup(ci->ssh_key_file, strlen(ci->ssh_key_file) - 4);
        return g_file_test(priv, G_FILE_TEST_IS_REGULAR) ? g_steal_pointer(&priv) : NULL;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(own_keys); i++) {
        g_autofree char *priv = g_build_filename(g_get_home_dir(), ".ssh", own_keys[i], NULL);
        g_autofree char *pub = g_strconcat(priv, ".pub", NULL);
        if (g_file_test(pub, G_FILE_TEST_IS_REGULAR))
            return g_file_test(priv, G_FILE_TEST_IS_REGULAR) ? g_steal_pointer(&priv) : NULL;
    }
    g_autofree char *vm = cloudinit_vm_key(p);
    return g_file_test(vm, G_FILE_TEST_IS_REGULAR) ? g_steal_pointer(&vm) : NULL;
}

/* The public key the seed carries: ssh-key=, else the user's own, else
 * one made for this VM (its private half in STATE/VM/ssh, 0600). */
static char *public_key(const Profile *p, GError **error)
{
    const ProfileCloudInit *ci = &p->cloud_init;
    if (ci->ssh_key)
        return g_strdup(ci->ssh_key);
    g_autofree char *text = NULL;
    if (ci->ssh_key_file) {
        g_autoptr(GError) err = NULL;
        if (!g_file_get_contents(ci->ssh_key_file, &text, NULL, &err)) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "profile %s [cloud-init] ssh-key: %s",
                        p->path, err->message);
            return NULL;
        }
    } else {
        for (gsize i = 0; i < G_N_ELEMENTS(own_keys) && !text; i++) {
            g_autofree char *pub = g_strconcat(own_keys[i], ".pub", NULL);
            g_autofree char *f = g_build_filename(g_get_home_dir(), ".ssh", pub, NULL);
            g_file_get_contents(f, &text, NULL, NULL);
        }
    }
    if (!text) {
        g_autofree char *priv = cloudinit_vm_key(p);
        g_autofree char *pub = g_strconcat(priv, ".pub", NULL);
        if (!g_file_test(pub, G_FILE_TEST_EXISTS)) {
            g_autofree char *dir = g_path_get_dirname(priv);
            g_mkdir_with_parents(dir, 0700);
            g_autofree char *comment = g_strdup_printf("qlaunch-%s", p->name);
            const char *argv[] = { "ssh-keygen", "-q",    "-t", "ed25519", "-N", "",
                                   "-C",         comment, "-f", priv,      NULL };
            g_autofree char *out = NULL;
            int status = 0;
            if (!proc_run_all(argv, 30000, &out, &status, error))
                return NULL;
            if (status != 0) {
                g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                            "ssh-keygen (a key for VM %s, as you have no ~/.ssh/id_ed25519.pub) "
                            "failed: %s",
                            p->name, out ? g_strstrip(out) : "");
                return NULL;
            }
            g_message("made an ssh key for VM %s: %s", p->name, priv);
        }
        if (!g_file_get_contents(pub, &text, NULL, error))
            return NULL;
    }
    g_strstrip(text);
    if (strchr(text, '\n') || !*text) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "profile %s [cloud-init] ssh-key: the public key is not one line", p->path);
        return NULL;
    }
    return g_steal_pointer(&text);
}

static gboolean write_private(const char *path, const char *text, GError **error)
{
    return g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static gboolean copy_verbatim(const char *from, const char *to, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(from, &text, &len, error))
        return FALSE;
    return g_file_set_contents_full(to, text, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                    error);
}

gboolean cloudinit_write_seed(const Profile *p, GError **error)
{
    const ProfileCloudInit *ci = &p->cloud_init;
    if (!ci->enabled)
        return TRUE;
    g_autofree char *statedir = g_path_get_dirname(ci->seed);
    g_autofree char *dir = g_build_filename(statedir, "cidata", NULL);
    g_mkdir_with_parents(dir, 0700);
    g_autofree char *ud = g_build_filename(dir, "user-data", NULL);
    g_autofree char *md = g_build_filename(dir, "meta-data", NULL);
    g_autofree char *nc = g_build_filename(dir, "network-config", NULL);
    gboolean ok;
    if (ci->user_data) {
        ok = copy_verbatim(ci->user_data, ud, error);
    } else {
        g_autofree char *key = public_key(p, error);
        if (!key)
            return FALSE;
        g_autofree char *user = cloudinit_user(p);
        g_autofree char *text = cloudinit_user_data(p, user, key);
        ok = write_private(ud, text, error);
    }
    g_autofree char *iid = g_strdup_printf("qlaunch-%s", p->name);
    g_autofree char *qiid = cloudinit_yaml_quote(iid);
    g_autofree char *qhost = cloudinit_yaml_quote(ci->hostname ? ci->hostname : p->name);
    g_autofree char *meta = g_strdup_printf("instance-id: %s\nlocal-hostname: %s\n", qiid, qhost);
    ok = ok && write_private(md, meta, error);
    if (ok && ci->network_config)
        ok = copy_verbatim(ci->network_config, nc, error);
    else if (ok)
        unlink(nc);
    if (!ok) {
        g_prefix_error(error, "the cloud-init seed of VM %s: ", p->name);
        return FALSE;
    }
    g_autofree char *part = g_strconcat(ci->seed, ".part", NULL);
    unlink(part);
    const char *argv[] = { "xorriso", "-as",    "mkisofs", "-quiet", "-output", part,
                           "-volid",  "cidata", "-joliet", "-rock",  dir,       NULL };
    g_autofree char *out = NULL;
    int status = 0;
    if (!proc_run_all(argv, XORRISO_TIMEOUT_MS, &out, &status, error))
        return FALSE;
    if (status != 0 || rename(part, ci->seed) != 0) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "xorriso (the cloud-init seed %s of VM %s) failed: %s", ci->seed, p->name,
                    status ? (out ? g_strstrip(out) : "") : g_strerror(errno));
        unlink(part);
        return FALSE;
    }
    chmod(ci->seed, 0600);
    return TRUE;
}
