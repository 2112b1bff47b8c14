/* qlaunch template save|list|delete, and qlaunch delete VM. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "proc.h"
#include "share.h"
#include "template.h"

#define SETTLE_DEFAULT_S 20

static int do_save(const char *vm, const char *name, gint settle_s, gboolean json, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VmPaths) v = cli_running_vm(vm, NULL, &err);
    g_autoptr(Profile) p = v ? vm_running_profile(v, &err) : NULL;
    g_autoptr(QmpConn) qmp =
        p && share_refuse(p, "save a template of", &err) ? vm_qmp_open(v, 10000, &err) : NULL;
    if (!qmp)
        return cli_fail(error, &err);
    json_auto_t *rep = NULL;
    proc_catch_interrupts(TRUE); /* the VM is paused meanwhile: never leave it so */
    gboolean ok = template_save(v, p, qmp, name, (gint64)settle_s * 1000, &rep, &err);
    proc_catch_interrupts(FALSE);
    if (!ok)
        return cli_fail(error, &err);
    if (json) {
        cli_print_json(rep);
        return EXIT_OK;
    }
    double waited = json_real_value(json_object_get(rep, "settle_s"));
    gboolean settled = json_is_true(json_object_get(rep, "settled"));
    if (!settled)
        g_message("VM %s was still busy after %.1f s (--settle): saved as it was, so every clone "
                  "goes on with that work at its start",
                  p->name, waited);
    g_autofree char *idle =
        waited > 0 && settled ? g_strdup_printf("guest idle after %.1f s, ", waited) : g_strdup("");
    printf("saved template '%s' of %s in %s: RAM %.1f MiB, device state %.2f MiB, %sVM paused "
           "%.2f s; start clones with 'qlaunch start %s --name NAME' or '--clones N'\n",
           name, p->name, json_string_value(json_object_get(rep, "dir")),
           (double)json_integer_value(json_object_get(rep, "ram_bytes")) / (1 << 20),
           (double)json_integer_value(json_object_get(rep, "state_bytes")) / (1 << 20), idle,
           json_real_value(json_object_get(rep, "vm_paused_s")), name);
    return EXIT_OK;
}

static json_t *clones_json(GPtrArray *clones)
{
    json_t *a = json_array();
    for (guint i = 0; i < clones->len; i++)
        json_array_append_new(a, json_string(clones->pdata[i]));
    return a;
}

static int do_list(gboolean json, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) list = template_list(&err);
    if (!list)
        return cli_fail(error, &err);
    if (json) {
        json_auto_t *arr = json_array();
        for (guint i = 0; i < list->len; i++) {
            Template *t = list->pdata[i];
            g_autoptr(GPtrArray) clones = template_clones(t->name);
            json_t *o = json_deep_copy(t->info);
            json_object_set_new(o, "dir", json_string(t->dir));
            json_object_set_new(o, "clones", clones_json(clones));
            json_array_append_new(arr, o);
        }
        cli_print_json(arr);
        return EXIT_OK;
    }
    if (!list->len) {
        printf("no templates (save one from a running VM: qlaunch template save VM NAME)\n");
        return EXIT_OK;
    }
    printf("%-20s %-16s %-20s %10s %s\n", "NAME", "FROM VM", "CREATED", "RAM", "CLONES");
    for (guint i = 0; i < list->len; i++) {
        Template *t = list->pdata[i];
        g_autoptr(GPtrArray) clones = template_clones(t->name);
        g_ptr_array_add(clones, NULL);
        g_autofree char *names = g_strjoinv(",", (char **)clones->pdata);
        time_t c = (time_t)json_integer_value(json_object_get(t->info, "created"));
        char date[32];
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime(&c));
        printf("%-20s %-16s %-20s %6.1f MiB %s\n", t->name,
               json_string_value(json_object_get(t->info, "vm")), date,
               (double)json_integer_value(json_object_get(t->info, "ram_bytes")) / (1 << 20),
               *names ? names : "-");
    }
    return EXIT_OK;
}

int cmd_template(int argc, char **argv, GError **error)
{
    gboolean json = FALSE;
    gint settle = SETTLE_DEFAULT_S;
    GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
        { "settle", 0, 0, G_OPTION_ARG_INT, &settle,
          "save: wait at most S seconds for a running guest to go idle first (0: at once; 20)",
          "S" },
        G_OPTION_ENTRY_NULL
    };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    if (settle < 0 || settle > 3600)
        return cli_usagef("template", "--settle %d: give seconds from 0 (save at once) to 3600",
                          settle);
    const char *op = argv[1];
    if (!cli_subverb("template", op))
        return EXIT_USAGE;
    if (!strcmp(op, "list")) {
        if (argc != 2)
            return cli_usagef("template", "template list takes nothing more");
        return do_list(json, error);
    }
    if (!strcmp(op, "save")) {
        if (argc != 4)
            return cli_usagef("template", "template save takes a running VM and a name: qlaunch "
                                          "template save VM NAME");
        return do_save(argv[2], argv[3], settle, json, error);
    }
    if (argc != 3)
        return cli_usagef("template", "template delete takes a name: qlaunch template delete NAME");
    g_autoptr(GError) err = NULL;
    if (!template_delete(argv[2], &err))
        return cli_fail(error, &err);
    if (!cli_quiet)
        printf("deleted template '%s'\n", argv[2]);
    return EXIT_OK;
}

int cmd_delete(int argc, char **argv, GError **error)
{
    if (!cli_parse(&argc, &argv, NULL))
        return EXIT_USAGE;
    const char *name = argv[1];
    g_autoptr(GError) err = NULL;
    g_autoptr(Profile) p = NULL;
    if (!profile_name_valid(name) || strchr(name, '/')) {
        p = cli_load_profile(name, &err);
        if (!p)
            return cli_fail(error, &err);
        name = p->name;
    }
    g_autoptr(VmPaths) v = vm_paths_new(name);
    if (vm_running_pid(v, NULL))
        return cli_failf(error, "VM %s is running; stop it first (qlaunch stop %s)", name, name);
    g_autofree char *state = vm_state_base();
    g_autofree char *dir = g_build_filename(state, name, NULL);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
        return cli_failf(error, "VM %s has no state to delete (no %s)", name, dir);
    if (g_file_test(dir, G_FILE_TEST_IS_SYMLINK))
        return cli_failf(error, "%s is a symlink; refusing to delete through it", dir);
    if (!proc_remove_tree(dir, &err))
        return cli_fail(error, &err);
    if (!cli_quiet)
        printf("deleted VM %s: removed %s (its disks made there, snapshot records and clone "
               "overlays; disks given with file= elsewhere and template bases are left)\n",
               name, dir);
    return EXIT_OK;
}
