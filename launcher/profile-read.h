/* Private to profile*.c: the reading context and the value helpers that
 * the [vm]/[boot] reader (profile.c) and the [disk]/[net] readers
 * (profile-devices.c) share; the helpers live in profile-read.c. */
#pragma once

#include <glib.h>

#include "profile.h"

/* The reading context: file name for messages, the key file, the result. */
typedef struct {
    const char *path;
    GKeyFile *kf;
    const ProfileEnv *env;
    Profile *p;
    GHashTable *forwards; /* group -> GPtrArray of every forward= line */
} Ctx;

/* Sets "profile PATH [GROUP] KEY: MESSAGE"; returns FALSE. */
gboolean prof_fail(Ctx *c, GError **error, const char *group, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
/* "did you mean 'x'? (valid: ...)" or "valid keys: ..." (transfer full) */
char *prof_suggest(const char *word, const char *const *valid);
/* Every key of group is one of valid (and UTF-8). */
gboolean prof_check_keys(Ctx *c, const char *group, const char *const *valid, GError **error);
/* The value without its inline comment, or NULL (transfer full). */
char *prof_get_str(Ctx *c, const char *group, const char *key);
gboolean prof_no_control_chars(Ctx *c, const char *group, const char *key, const char *v,
                               GError **error);
gboolean prof_get_bool(Ctx *c, const char *group, const char *key, gboolean dflt, gboolean *out,
                       GError **error);
gboolean prof_get_enum(Ctx *c, const char *group, const char *key, const char *const *words,
                       const char *dflt, char **out, GError **error);
/* A word safe as a QEMU option value without escaping (machine type, ids). */
gboolean prof_plain_word(const char *s, const char *extra);
/* A file path, relative to the profile's dir, @guest/ expanded. */
gboolean prof_get_path(Ctx *c, const char *group, const char *key, char **out, GError **error);
/* [vm] numa= and numa-host= (profile-numa.c), after memory= and cpus= */
gboolean prof_read_numa(Ctx *c, GError **error);
/* [disk NAME] and [net NAME] (profile-devices.c) */
gboolean prof_read_disk(Ctx *c, const char *g, const char *name, GError **error);
gboolean prof_read_net(Ctx *c, const char *g, const char *name, GError **error);
/* [boot] firmware= and the ISO install keys, after kernel=, initrd=,
 * append= and cdrom=; [display] and [tpm] (profile-platform.c) */
gboolean prof_read_boot_platform(Ctx *c, GError **error);
gboolean prof_read_platform(Ctx *c, GError **error);
void prof_platform_free(Profile *p);
void prof_disk_free(gpointer data);
void prof_net_free(gpointer data);
gboolean prof_read_share(Ctx *c, const char *g, const char *name, GError **error);
/* Tags and mount points are each used once. */
gboolean prof_check_shares(Ctx *c, GError **error);
void prof_share_free(gpointer data);
