/* qlaunch profiles: every profile on the search path, where it came from,
 * the VM it defines and whether that VM runs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "proc.h"

/* "running", "stale" or "shut off", from the pidfile alone: no QMP round
 * trip per profile */
static const char *quick_state(const char *name)
{
    g_autoptr(VmPaths) v = vm_paths_new(name);
    if (!vm_dir_check(v, NULL))
        return "refused";
    pid_t pid = vm_read_pid(v);
    if (pid > 0 && proc_alive(pid))
        return "running";
    return vm_pidfile_stale(v) ? "stale" : "shut off";
}

int cmd_profiles(int argc, char **argv, GError **error)
{
    (void)error; /* reports its own output; no failure to hand back */
    gboolean json = FALSE, names_only = FALSE;
    GOptionEntry entries[] = { { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
                               { "names", 0, 0, G_OPTION_ARG_NONE, &names_only,
                                 "Only the names a verb takes (for completion)", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_autoptr(GPtrArray) from = NULL;
    g_autoptr(GPtrArray) files = cli_profile_files(&from);
    json_auto_t *all = json_array();
    for (guint i = 0; i < files->len; i++) {
        const char *path = files->pdata[i];
        g_autofree char *stem = ini_file_stem(path);
        if (names_only) {
            printf("%s\n", stem);
            continue;
        }
        g_autoptr(GError) err = NULL;
        g_autoptr(Profile) p = cli_load_profile(path, &err);
        json_t *o = json_pack("{s:s, s:s, s:s}", "profile", stem, "file", path, "from",
                              (const char *)from->pdata[i]);
        if (p) {
            json_object_set_new(o, "vm", json_string(p->name));
            json_object_set_new(o, "state", json_string(quick_state(p->name)));
        } else {
            json_object_set_new(o, "state", json_string("invalid"));
            json_object_set_new(o, "error", json_string(err->message));
        }
        json_array_append_new(all, o);
    }
    if (names_only)
        return EXIT_OK;
    if (json) {
        cli_print_json(all);
        return EXIT_OK;
    }
    if (!files->len) {
        g_autoptr(GPtrArray) dirs = cli_profile_dirs(NULL);
        g_ptr_array_add(dirs, NULL);
        g_autofree char *list = g_strjoinv(", ", (char **)dirs->pdata);
        fprintf(stderr, "no profiles: no NAME.ini in %s\n", list);
        return EXIT_OK;
    }
    printf("%-16s %-16s %-9s %-28s %s\n", "PROFILE", "VM", "STATE", "FROM", "FILE");
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        const char *vm = json_string_value(json_object_get(o, "vm"));
        printf("%-16s %-16s %-9s %-28s %s\n", json_string_value(json_object_get(o, "profile")),
               vm ? vm : "-", json_string_value(json_object_get(o, "state")),
               json_string_value(json_object_get(o, "from")),
               json_string_value(json_object_get(o, "file")));
        if (json_object_get(o, "error"))
            printf("  %s\n", json_string_value(json_object_get(o, "error")));
    }
    return EXIT_OK;
}
