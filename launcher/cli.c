/* Helpers shared by the verb handlers: lookup, messages, JSON output. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

gboolean cli_quiet = FALSE;

int cli_fail(GError **error, GError **src)
{
    if (src && *src)
        g_propagate_error(error, g_steal_pointer(src));
    else
        g_set_error_literal(error, VM_ERROR, VM_ERROR_FAILED, "failed");
    return EXIT_FAIL;
}

int cli_failf(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, VM_ERROR, VM_ERROR_FAILED, msg);
    return EXIT_FAIL;
}

int cli_usagef(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "qlaunch: %s (see qlaunch %s --help)\n", msg, verb);
    return EXIT_USAGE;
}

const char *cli_closest(const char *word, const char *const *choices)
{
    /* the start of a choice (stat: stats), else one edit away (strat:
     * start), else the longest common prefix of at least 2 */
    const char *start = NULL; /* the shortest that word starts */
    for (gsize i = 0; choices[i] && strlen(word) > 1; i++)
        if (g_str_has_prefix(choices[i], word) && (!start || strlen(choices[i]) < strlen(start)))
            start = choices[i];
    if (start)
        return start;
    for (gsize i = 0; choices[i] && strlen(word) > 1; i++)
        if (ini_edit_distance(word, choices[i]) <= 1)
            return choices[i];
    const char *best = NULL;
    gsize best_score = 0;
    for (gsize i = 0; choices[i]; i++) {
        gsize n = 0;
        while (word[n] && word[n] == choices[i][n])
            n++;
        if (n > best_score || (n == best_score && n > 0 && strstr(choices[i], word))) {
            best_score = n;
            best = choices[i];
        }
    }
    return best_score >= 2 ? best : NULL;
}

char *cli_did_you_mean(const char *word, const char *const *choices)
{
    const char *hint = cli_closest(word, choices);
    return hint ? g_strdup_printf(" (did you mean '%s'?)", hint) : g_strdup("");
}

gboolean cli_subverb(const char *verb, const char *op)
{
    const Verb *v = cli_find_verb(verb);
    const char *const *choices = v ? v->subverbs : NULL;
    g_return_val_if_fail(choices, FALSE);
    for (gsize i = 0; choices[i]; i++)
        if (!strcmp(op, choices[i]))
            return TRUE;
    g_autofree char *hint = cli_did_you_mean(op, choices);
    g_autofree char *all = g_strjoinv(", ", (char **)choices);
    cli_usagef(verb, "%s: '%s' is not one of %s%s", verb, op, all, hint);
    return FALSE;
}

void cli_info(const char *fmt, ...)
{
    if (cli_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

gboolean cli_parse(int *argc, char ***argv, const GOptionEntry *entries)
{
    const Verb *verb = cli_find_verb((*argv)[0]);
    g_return_val_if_fail(verb, FALSE);
    const char *args = verb->args, *summary = verb->description;
    int min_pos = verb->min_pos, max_pos = verb->max_pos;
    g_autofree char *usage =
        *args ? g_strdup_printf("%s %s", (*argv)[0], args) : g_strdup((*argv)[0]);
    /* --help prints "Usage: qlaunch VERB [OPTION…] ARGS" */
    g_autofree char *prg = g_strdup_printf("qlaunch %s", (*argv)[0]);
    g_set_prgname(prg);
    g_autoptr(GOptionContext) ctx = g_option_context_new(args);
    g_option_context_set_summary(ctx, summary);
    /* Options may follow the arguments (virsh style). A verb that passes a
     * command on (exec VM -- CMD) takes its options up to the "--" (exec VM
     * -t 5 -- ls); without one, the first word after the VM starts the
     * command, so "exec VM ls -l" keeps its -l. */
    gboolean has_dashdash = FALSE;
    for (int i = 1; i < *argc; i++)
        has_dashdash |= strcmp((*argv)[i], "--") == 0;
    g_option_context_set_strict_posix(ctx, strstr(args, " -- ") != NULL && !has_dashdash);
    gboolean verbose = FALSE;
    GOptionEntry common[] = { { "quiet", 'q', 0, G_OPTION_ARG_NONE, &cli_quiet,
                                "Print only errors and results", NULL },
                              { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
                                "Show QMP and guest-agent traffic on stderr (debug level)", NULL },
                              G_OPTION_ENTRY_NULL };
    g_option_context_add_main_entries(ctx, common, NULL);
    if (entries)
        g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) err = NULL;
    /* g_option_context_parse wants the program name first: the verb is it. */
    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        fprintf(stderr, "qlaunch %s: %s\nusage: qlaunch %s (see qlaunch %s --help)\n", (*argv)[0],
                err->message, usage, (*argv)[0]);
        return FALSE;
    }
    if (verbose)
        g_log_set_debug_enabled(TRUE);
    int pos = *argc - 1;
    if (pos > 0 && strcmp((*argv)[1], "--") == 0) {
        (*argv)++;
        (*argc)--;
        (*argv)[0] = (*argv)[-1];
        pos--;
    } else if (!strstr(args, " -- ")) {
        /* GLib keeps a "--" that follows an argument ("snapshot save tiny --
         * -x"); it only ends the options, so it is not an argument itself. */
        for (int i = 2; i < *argc; i++) {
            if (strcmp((*argv)[i], "--") == 0) {
                memmove(&(*argv)[i], &(*argv)[i + 1], sizeof(char *) * (size_t)(*argc - i));
                (*argc)--;
                pos--;
                break;
            }
        }
    }
    if (pos < min_pos || (max_pos >= 0 && pos > max_pos)) {
        if (max_pos == 0)
            fprintf(stderr, "qlaunch %s: takes no arguments, got '%s'\n", (*argv)[0], (*argv)[1]);
        else if (max_pos >= 0 && pos > max_pos)
            fprintf(stderr, "qlaunch %s: too many arguments (%d given, at most %d): expected %s\n",
                    (*argv)[0], pos, max_pos, args);
        else
            fprintf(stderr, "qlaunch %s: missing argument%s: expected %s\n", (*argv)[0],
                    min_pos - pos > 1 ? "s" : "", args);
        fprintf(stderr, "usage: qlaunch %s (see qlaunch %s --help)\n", usage, (*argv)[0]);
        return FALSE;
    }
    return TRUE;
}

GPtrArray *cli_profile_dirs(GPtrArray **origins)
{
    GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *from = g_ptr_array_new_with_free_func(g_free);
    const char *env = g_getenv("QLAUNCH_PROFILE_PATH");
    if (env && *env) {
        g_auto(GStrv) parts = g_strsplit(env, ":", -1);
        for (gsize i = 0; parts[i]; i++)
            if (*parts[i]) {
                g_ptr_array_add(dirs, g_strdup(parts[i]));
                g_ptr_array_add(from, g_strdup("$QLAUNCH_PROFILE_PATH"));
            }
    }
    g_ptr_array_add(dirs, g_strdup("profiles"));
    g_ptr_array_add(from, g_strdup("./profiles"));
    g_ptr_array_add(dirs, g_build_filename(g_get_user_config_dir(), "qlaunch", "profiles", NULL));
    g_ptr_array_add(from, g_strdup("user config"));
    g_autofree char *exe_dir = vm_exe_dir();
    g_ptr_array_add(dirs, g_build_filename(exe_dir, "profiles", NULL));
    g_ptr_array_add(from, g_strdup("beside the qlaunch binary"));
    g_autofree char *prefix = g_path_get_dirname(exe_dir);
    g_ptr_array_add(dirs, g_build_filename(prefix, "share", "qlaunch", "profiles", NULL));
    g_ptr_array_add(from, g_strdup("installed"));
    if (origins)
        *origins = from;
    else
        g_ptr_array_unref(from);
    return dirs;
}

static GPtrArray *profile_search_dirs(void)
{
    return cli_profile_dirs(NULL);
}

static int compare_strp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *cli_profile_files(GPtrArray **origins)
{
    g_autoptr(GPtrArray) from = NULL;
    g_autoptr(GPtrArray) dirs = cli_profile_dirs(&from);
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *where = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < dirs->len; i++) {
        g_autoptr(GDir) d = g_dir_open(dirs->pdata[i], 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        for (const char *n; d && (n = g_dir_read_name(d));)
            if (g_str_has_suffix(n, ".ini") && !g_hash_table_contains(seen, n))
                g_ptr_array_add(names, g_strdup(n));
        g_ptr_array_sort(names, compare_strp);
        for (guint k = 0; k < names->len; k++) {
            g_autofree char *path = g_build_filename(dirs->pdata[i], names->pdata[k], NULL);
            if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
                continue;
            g_hash_table_add(seen, g_strdup(names->pdata[k])); /* the first dir wins */
            g_ptr_array_add(files, g_steal_pointer(&path));
            g_ptr_array_add(where, g_strdup(from->pdata[i]));
        }
    }
    if (origins)
        *origins = where;
    else
        g_ptr_array_unref(where);
    return files;
}

void cli_note_name(const Profile *p)
{
    g_autofree char *stem = ini_file_stem(p->path);
    if (strcmp(stem, p->name))
        cli_info("note: profile %s names its VM '%s' ([vm] name=), not '%s' after its file",
                 p->path, p->name, stem);
}

GStrv cli_known_vm_names(void)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_auto(GStrv) running = vm_list_names();
    g_strv_builder_addv(b, (const char **)running);
    g_autoptr(GPtrArray) files = cli_profile_files(NULL);
    for (guint i = 0; i < files->len; i++) {
        g_autofree char *stem = ini_file_stem(files->pdata[i]);
        g_strv_builder_add(b, stem);
    }
    return g_strv_builder_end(b);
}

Profile *cli_load_profile(const char *arg, GError **error)
{
    return cli_load_profile_as(arg, NULL, error);
}

static Profile *load_with_media(const char *path, const ProfileEnv *env, GError **error)
{
    Profile *p = profile_load(path, env, error);
    if (p)
        platform_apply_media(p); /* the disc qlaunch media left in the drive */
    return p;
}

Profile *cli_load_profile_as(const char *arg, const char *name, GError **error)
{
    g_autofree char *guest = NULL, *state = NULL;
    ProfileEnv env = vm_profile_env(&guest, &state);
    env.name_override = name;
    if (strchr(arg, '/') || g_str_has_suffix(arg, ".ini") ||
        g_file_test(arg, G_FILE_TEST_IS_REGULAR))
        return load_with_media(arg, &env, error);
    g_autoptr(GPtrArray) dirs = profile_search_dirs();
    g_autofree char *file = g_strdup_printf("%s.ini", arg);
    for (guint i = 0; i < dirs->len; i++) {
        g_autofree char *path = g_build_filename(dirs->pdata[i], file, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            return load_with_media(path, &env, error);
    }
    g_auto(GStrv) names = cli_known_vm_names();
    g_autofree char *hint = cli_did_you_mean(arg, (const char *const *)names);
    g_ptr_array_add(dirs, NULL);
    g_autofree char *where = g_strjoinv(", ", (char **)dirs->pdata);
    g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ,
                "no profile named '%s'%s (looked for %s in %s; qlaunch profiles lists them); give "
                "a path to an .ini file",
                arg, hint, file, where);
    return NULL;
}

NetDef *cli_load_network(const char *arg, GError **error)
{
    if (strchr(arg, '/') || g_str_has_suffix(arg, ".ini"))
        return netdef_load(arg, error);
    if (!netdef_name_valid(arg)) {
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ,
                    "'%s' is not a network name (letters, digits, '_' and '-'); give a name or a "
                    "path to an .ini file",
                    arg);
        return NULL;
    }
    g_autoptr(GPtrArray) dirs = profile_search_dirs();
    g_autofree char *file = g_strdup_printf("%s.ini", arg);
    for (guint i = 0; i < dirs->len; i++) {
        g_autofree char *path = g_build_filename(dirs->pdata[i], "networks", file, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            return netdef_load(path, error);
    }
    g_ptr_array_add(dirs, NULL);
    g_autofree char *where = g_strjoinv(", ", (char **)dirs->pdata);
    g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ,
                "no network named '%s' (looked for networks/%s under %s); give a path to an .ini "
                "file",
                arg, file, where);
    return NULL;
}

GStrv cli_network_files(void)
{
    g_autoptr(GPtrArray) dirs = profile_search_dirs();
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < dirs->len; i++) {
        g_autofree char *dir = g_build_filename(dirs->pdata[i], "networks", NULL);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        for (const char *n; d && (n = g_dir_read_name(d));) {
            if (!g_str_has_suffix(n, ".ini") || g_hash_table_contains(seen, n))
                continue; /* the first directory wins, as for lookups */
            g_hash_table_add(seen, g_strdup(n));
            g_autofree char *path = g_build_filename(dir, n, NULL);
            g_strv_builder_add(b, path);
        }
    }
    return g_strv_builder_end(b);
}

VmPaths *cli_vm(const char *name, GError **error)
{
    if (!profile_name_valid(name) && (strchr(name, '/') || g_str_has_suffix(name, ".ini"))) {
        /* stop profiles/tiny.ini: say which VM that profile is */
        g_autoptr(Profile) p =
            g_file_test(name, G_FILE_TEST_IS_REGULAR) ? cli_load_profile(name, NULL) : NULL;
        if (p) {
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "'%s' is a profile, not a VM name: its VM is '%s' (give that name)", name,
                        p->name);
            return NULL;
        }
    }
    if (!profile_name_valid(name)) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                    "'%s' is not a valid VM name (letters, digits, "
                    "'.', '_', '-', starting with a letter or digit)",
                    name);
        return NULL;
    }
    return vm_paths_new(name);
}

VmPaths *cli_running_vm(const char *name, pid_t *pid, GError **error)
{
    g_autoptr(VmPaths) v = cli_vm(name, error);
    pid_t p = v ? vm_running_pid(v, error) : 0;
    if (!p)
        return NULL;
    if (pid)
        *pid = p;
    return g_steal_pointer(&v);
}

void cli_print_json(json_t *value)
{
    g_autofree char *text = json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    printf("%s\n", text ? text : "null");
}
