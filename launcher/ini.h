/* What profiles, network files and the command line share: the INI files'
 * error domain, names, inline comments and "did you mean". Below
 * profile.c, network.c and cli.c; includes none of them. */
#pragma once

#include <glib.h>

#define PROFILE_ERROR (profile_error_quark())
GQuark profile_error_quark(void);

typedef enum {
    PROFILE_ERROR_READ,    /* the file cannot be read or is not INI */
    PROFILE_ERROR_INVALID, /* a group, key or value is wrong */
} ProfileErrorCode;

/* VM names: [A-Za-z0-9][A-Za-z0-9._-]* (at most 64 chars). */
gboolean profile_name_valid(const char *name);
/* Network names: [A-Za-z0-9][A-Za-z0-9_-]*, at most 32. */
gboolean netdef_name_valid(const char *name);
/* Interface names: 1..15 of [A-Za-z0-9_.-], not "." or "..". */
gboolean netdef_ifname_valid(const char *name);
/* Cuts an inline comment (whitespace then '#') and strips; returns v. */
char *profile_strip_comment(char *v);
/* A file's name without its directory and last extension ("a/tiny.ini":
 * "tiny"): the default name of what the file defines (transfer full). */
char *ini_file_stem(const char *path);
/* Levenshtein distance */
guint ini_edit_distance(const char *a, const char *b);
/* The choice (NULL-terminated) nearest to word, within max_distance
 * edits, or NULL. */
const char *ini_closest(const char *word, const char *const *choices, guint max_distance);
