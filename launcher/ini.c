/* What profiles, network files and the command line share: the INI files'
 * error domain, names, inline comments and "did you mean". */
#include "ini.h"

#include <string.h>

G_DEFINE_QUARK(qlaunch_profile_error, profile_error)

gboolean profile_name_valid(const char *name)
{
    if (!name || !g_ascii_isalnum(name[0]) || strlen(name) > 64)
        return FALSE;
    for (const char *s = name; *s; s++) {
        if (!g_ascii_isalnum(*s) && *s != '.' && *s != '_' && *s != '-')
            return FALSE;
    }
    return TRUE;
}

gboolean netdef_name_valid(const char *name)
{
    if (!name || !g_ascii_isalnum(*name) || strlen(name) > 32)
        return FALSE;
    for (const char *s = name; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '_' && *s != '-')
            return FALSE;
    return TRUE;
}

gboolean netdef_ifname_valid(const char *name)
{
    gsize n = name ? strlen(name) : 0;
    if (n == 0 || n > 15 || !strcmp(name, ".") || !strcmp(name, ".."))
        return FALSE;
    for (const char *s = name; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '_' && *s != '-' && *s != '.')
            return FALSE;
    return TRUE;
}

/* Cuts an inline comment: whitespace followed by '#' (as DESIGN.md's
 * examples write them; GKeyFile itself only knows whole-line comments). */
char *profile_strip_comment(char *v)
{
    for (char *s = v; *s; s++) {
        if (*s == '#' && s > v && g_ascii_isspace(s[-1])) {
            *s = '\0';
            break;
        }
    }
    return g_strstrip(v);
}

guint ini_edit_distance(const char *a, const char *b)
{
    gsize la = strlen(a), lb = strlen(b);
    g_autofree guint *row = g_new(guint, lb + 1);
    for (gsize j = 0; j <= lb; j++)
        row[j] = (guint)j;
    for (gsize i = 1; i <= la; i++) {
        guint diag = row[0];
        row[0] = (guint)i;
        for (gsize j = 1; j <= lb; j++) {
            guint up = row[j];
            guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
            diag = up;
        }
    }
    return row[lb];
}

const char *ini_closest(const char *word, const char *const *choices, guint max_distance)
{
    const char *best = NULL;
    guint best_d = max_distance + 1;
    for (gsize i = 0; choices[i]; i++) {
        guint d = ini_edit_distance(word, choices[i]);
        if (d < best_d) {
            best_d = d;
            best = choices[i];
        }
    }
    return best;
}

char *ini_file_stem(const char *path)
{
    char *base = g_path_get_basename(path);
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = '\0';
    return base;
}
