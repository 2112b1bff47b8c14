/* Shared by the argv tests and the argv fuzzer. */
#pragma once

#include <glib.h>
#include <string.h>

/* QEMU's option parser: split at single commas, ",," is a literal comma. */
static GHashTable *qemu_opts_parse(const char *opt, guint *dups)
{
    GHashTable *kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GString *cur = g_string_new(NULL);
    *dups = 0;
    for (const char *c = opt;; c++) {
        if (*c == ',' && c[1] == ',') {
            g_string_append_c(cur, ',');
            c++;
            continue;
        }
        if (*c == ',' || *c == '\0') {
            char *eq = strchr(cur->str, '=');
            char *k = eq ? g_strndup(cur->str, (gsize)(eq - cur->str)) : g_strdup(cur->str);
            if (g_hash_table_contains(kv, k))
                (*dups)++;
            g_hash_table_insert(kv, k, g_strdup(eq ? eq + 1 : ""));
            g_string_truncate(cur, 0);
            if (!*c)
                break;
            continue;
        }
        g_string_append_c(cur, *c);
    }
    g_string_free(cur, TRUE);
    return kv;
}
