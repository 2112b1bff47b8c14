/* Profile value helpers: errors that name the file, group and key;
 * booleans, enums, sizes, paths. */
#include "profile-read.h"
#include "ini.h"

#include <string.h>

gboolean prof_fail(Ctx *c, GError **error, const char *group, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_INVALID, "profile %s%s%s%s%s%s: %s", c->path,
                group ? " [" : "", group ? group : "", group ? "]" : "", key ? " " : "",
                key ? key : "", msg);
    return FALSE;
}

/* "did you mean 'x'?" for the closest valid word, or "valid: a, b, c". */
char *prof_suggest(const char *word, const char *const *valid)
{
    const char *best = ini_closest(word, valid, 2);
    g_autofree char *list = g_strjoinv(", ", (char **)valid);
    if (best)
        return g_strdup_printf("did you mean '%s'? (valid: %s)", best, list);
    return g_strdup_printf("valid keys: %s", list);
}

gboolean prof_check_keys(Ctx *c, const char *group, const char *const *valid, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(c->kf, group, NULL, NULL);
    for (gsize i = 0; keys && keys[i]; i++) {
        /* GKeyFile returns no value that is not UTF-8: do not take it for absent */
        g_autofree char *v = g_key_file_get_string(c->kf, group, keys[i], NULL);
        if (!v)
            return prof_fail(c, error, group, keys[i], "the value is not valid UTF-8 text");
        if (!g_strv_contains(valid, keys[i])) {
            g_autofree char *hint = prof_suggest(keys[i], valid);
            return prof_fail(c, error, group, keys[i], "unknown key; %s", hint);
        }
    }
    return TRUE;
}

char *prof_get_str(Ctx *c, const char *group, const char *key)
{
    char *v = g_key_file_get_string(c->kf, group, key, NULL);
    return v ? profile_strip_comment(v) : NULL;
}

gboolean prof_no_control_chars(Ctx *c, const char *group, const char *key, const char *v,
                               GError **error)
{
    for (const char *s = v; *s; s++) {
        if ((guchar)*s < 0x20 || *s == 0x7f)
            return prof_fail(c, error, group, key, "control characters are not allowed in values");
    }
    return TRUE;
}

gboolean prof_get_bool(Ctx *c, const char *group, const char *key, gboolean dflt, gboolean *out,
                       GError **error)
{
    g_autofree char *v = prof_get_str(c, group, key);
    if (!v) {
        *out = dflt;
        return TRUE;
    }
    if (!profile_parse_bool(v, out))
        return prof_fail(c, error, group, key, "\"%s\" is not a boolean (use true or false)", v);
    return TRUE;
}

gboolean profile_parse_bool(const char *v, gboolean *out)
{
    if (!g_ascii_strcasecmp(v, "true") || !g_ascii_strcasecmp(v, "yes") || !strcmp(v, "1") ||
        !g_ascii_strcasecmp(v, "on"))
        *out = TRUE;
    else if (!g_ascii_strcasecmp(v, "false") || !g_ascii_strcasecmp(v, "no") || !strcmp(v, "0") ||
             !g_ascii_strcasecmp(v, "off"))
        *out = FALSE;
    else
        return FALSE;
    return TRUE;
}

/* One of a fixed set of words. */
gboolean prof_get_enum(Ctx *c, const char *group, const char *key, const char *const *words,
                       const char *dflt, char **out, GError **error)
{
    g_autofree char *v = prof_get_str(c, group, key);
    if (!v) {
        *out = g_strdup(dflt);
        return TRUE;
    }
    if (!g_strv_contains(words, v)) {
        g_autofree char *list = g_strjoinv(", ", (char **)words);
        return prof_fail(c, error, group, key, "\"%s\" is not one of: %s", v, list);
    }
    *out = g_steal_pointer(&v);
    return TRUE;
}

gboolean profile_parse_size(const char *text, guint64 plain_unit, guint64 *out)
{
    if (!text || !g_ascii_isdigit(*text))
        return FALSE;
    errno = 0;
    char *end = NULL;
    guint64 n = g_ascii_strtoull(text, &end, 10);
    if (errno || n == 0)
        return FALSE;
    guint64 unit;
    switch (g_ascii_toupper(*end)) {
    case '\0': unit = plain_unit; break;
    case 'K':
        unit = 1ull << 10;
        end++;
        break;
    case 'M':
        unit = 1ull << 20;
        end++;
        break;
    case 'G':
        unit = 1ull << 30;
        end++;
        break;
    case 'T':
        unit = 1ull << 40;
        end++;
        break;
    default: return FALSE;
    }
    if (unit == 0)
        return FALSE;
    if (*end && g_ascii_strcasecmp(end, "B") && g_ascii_strcasecmp(end, "iB"))
        return FALSE;
    if (n > G_MAXUINT64 / unit)
        return FALSE;
    *out = n * unit;
    return TRUE;
}

/* A word safe as a QEMU option value without escaping (machine type, ids). */
gboolean prof_plain_word(const char *s, const char *extra)
{
    if (!s || !*s || *s == '-')
        return FALSE;
    for (; *s; s++) {
        if (!g_ascii_isalnum(*s) && !strchr("._-", *s) && !(extra && strchr(extra, *s)))
            return FALSE;
    }
    return TRUE;
}

/* Resolves a path value: @guest/X, absolute, or relative to the profile. */
gboolean prof_get_path(Ctx *c, const char *group, const char *key, char **out, GError **error)
{
    g_autofree char *v = prof_get_str(c, group, key);
    *out = NULL;
    if (!v)
        return TRUE;
    if (!*v)
        return prof_fail(c, error, group, key, "empty path");
    if (!prof_no_control_chars(c, group, key, v, error))
        return FALSE;
    if (g_str_has_prefix(v, "@guest/")) {
        const char *rest = v + strlen("@guest/");
        g_auto(GStrv) parts = g_strsplit(rest, "/", -1);
        if (!*rest || g_strv_contains((const char *const *)parts, ".."))
            return prof_fail(c, error, group, key,
                             "\"%s\": @guest/ takes a file name inside the guest "
                             "directory (e.g. @guest/vmlinuz)",
                             v);
        *out = g_build_filename(c->env->guest_dir, rest, NULL);
    } else if (g_path_is_absolute(v)) {
        *out = g_steal_pointer(&v);
    } else {
        *out = g_build_filename(c->p->dir, v, NULL);
    }
    return TRUE;
}
