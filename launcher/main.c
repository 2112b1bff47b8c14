/* qlaunch: the verb table and dispatch; only here do errors become exit codes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: qlaunch [-q|-v] VERB [OPTIONS] ARGS   (qlaunch help VERB, or qlaunch VERB "
               "--help, for a verb's options)\n\n");
    for (const Verb *v = cli_verbs; v->name; v++) {
        g_autofree char *head = g_strdup_printf("%s %s", v->name, v->args);
        if (strlen(head) > 28) /* a long argument list gets a line of its own */
            fprintf(f, "  %s\n  %-28s %s\n", head, "", v->summary);
        else
            fprintf(f, "  %-28s %s\n", head, v->summary);
    }
    fprintf(f, "\nexit codes: 0 ok, 1 failure, 2 usage error; exec exits with the guest command's "
               "code;\nstatus: 0 running or paused, 1 unresponsive or refused, 3 not running, 4 no "
               "such VM\n");
}

static int unknown_verb(const char *word)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    for (const Verb *v = cli_verbs; v->name; v++)
        g_ptr_array_add(names, (gpointer)v->name);
    g_ptr_array_add(names, NULL);
    g_autofree char *hint = cli_did_you_mean(word, (const char *const *)names->pdata);
    fprintf(stderr, "qlaunch: unknown verb '%s'%s; see qlaunch --help\n", word, hint);
    return EXIT_USAGE;
}

static gboolean is_global_option(const char *a)
{
    return !strcmp(a, "-q") || !strcmp(a, "--quiet") || !strcmp(a, "-v") || !strcmp(a, "--verbose");
}

/* The lifecycle's notes (g_message in the "qlaunch" domain), as cli_info */
static void show_note(const gchar *domain, GLogLevelFlags level, const gchar *message,
                      gpointer data)
{
    (void)domain, (void)level, (void)data;
    cli_info("%s", message);
}

int main(int argc, char **argv)
{
    g_log_set_handler("qlaunch", G_LOG_LEVEL_MESSAGE, show_note, NULL);
    /* global options before the verb (qlaunch -v list) go after it, where
     * every verb's parser takes them */
    int first = 1;
    while (first < argc && is_global_option(argv[first]))
        first++;
    if (first >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *word = argv[first];
    if (!strcmp(word, "--help") || !strcmp(word, "-h") || !strcmp(word, "help")) {
        if (!strcmp(word, "help") && first + 1 < argc) { /* qlaunch help VERB */
            const Verb *v = cli_find_verb(argv[first + 1]);
            if (!v)
                return unknown_verb(argv[first + 1]);
            char *help[] = { argv[first + 1], "--help", NULL };
            return v->run(2, help, NULL);
        }
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(word, "--version")) {
        printf("qlaunch %s\n", QLAUNCH_VERSION);
        return EXIT_OK;
    }
    const Verb *v = cli_find_verb(word);
    if (!v)
        return unknown_verb(word);
    /* argv for the verb: VERB, the global options, the rest */
    g_autofree char **vargv = g_new0(char *, (gsize)argc + 1);
    int n = 0;
    vargv[n++] = argv[first];
    for (int i = 1; i < first; i++)
        vargv[n++] = argv[i];
    for (int i = first + 1; i < argc; i++)
        vargv[n++] = argv[i];
    g_autoptr(GError) err = NULL;
    int rc = v->run(n, vargv, &err);
    if (err) /* every verb's failure is printed here, once */
        fprintf(stderr, "qlaunch: %s\n", err->message);
    return rc;
}
