/* Helpers shared by the verb handlers: lookup, messages, JSON output. */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <signal.h>

#include "network.h"
#include "platform.h"
#include "proc.h"
#include "profile.h"
#include "vm.h"

#define QLAUNCH_VERSION "0.1.0"

/* Exit codes (documented in README): */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv, GError **error); /* error: what main prints */
    const char *args;                                  /* "VM", "PROFILE|NAME", ... */
    const char *summary;                               /* one line: qlaunch --help */
    const char *description;                           /* qlaunch VERB --help */
    int min_pos, max_pos;        /* positional arguments; max -1: any number */
    const char *const *subverbs; /* snapshot save|load|..., or NULL */
} Verb;

/* The verb table (verbs.c), ended by a NULL name. */
extern const Verb cli_verbs[];
const Verb *cli_find_verb(const char *name);

extern gboolean cli_quiet;

/* A verb's failure travels back to main, which prints "qlaunch: MESSAGE":
 * cli_fail moves *src into *error, cli_failf sets it; both return
 * EXIT_FAIL. */
int cli_fail(GError **error, GError **src);
int cli_failf(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Prints "qlaunch: MESSAGE" and a pointer to VERB --help; returns
 * EXIT_USAGE. For a command line that cannot be right whatever the host. */
int cli_usagef(const char *verb, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The choice (NULL-terminated) word most likely stands for, or NULL: one
 * it starts, else one edit away, else a shared prefix of 2 or more. */
const char *cli_closest(const char *word, const char *const *choices);
/* " (did you mean 'X'?)" for cli_closest, or "" (transfer full) */
char *cli_did_you_mean(const char *word, const char *const *choices);
/* Checks a sub-verb (snapshot save, net start, ...) against the verb
 * table; prints the error with a suggestion and returns FALSE when op is
 * none of them. */
gboolean cli_subverb(const char *verb, const char *op);
/* Prints a message unless --quiet. */
void cli_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Parses a verb's options; prints usage and returns FALSE on error. Leaves
 * the positional arguments in argc and argv (argv[0] is the verb). */
gboolean cli_parse(int *argc, char ***argv, const GOptionEntry *entries);
/* A file path, or a profile name looked up in QLAUNCH_PROFILE_PATH,
 * ./profiles and the installed profiles. */
Profile *cli_load_profile(const char *arg, GError **error);
/* The same, but the VM is called name (its disks without file= too). */
Profile *cli_load_profile_as(const char *arg, const char *name, GError **error);
/* A network file path, or NAME looked up as networks/NAME.ini in the
 * profile directories. */
NetDef *cli_load_network(const char *arg, GError **error);
/* Says (cli_info) when p's name= differs from its file's name. */
void cli_note_name(const Profile *p);
/* The profile directories in lookup order; *origins (may be NULL) says
 * where each comes from ("$QLAUNCH_PROFILE_PATH", "./profiles", ...). */
GPtrArray *cli_profile_dirs(GPtrArray **origins);
/* Every NAME.ini in the profile directories, the first of a name winning:
 * paths, and in *origins (may be NULL) where each was found. */
GPtrArray *cli_profile_files(GPtrArray **origins);
/* Names a VM verb may mean: VMs with a runtime dir, and profiles. */
GStrv cli_known_vm_names(void);
/* Every networks/NAME.ini in the profile directories (transfer full). */
GStrv cli_network_files(void);
/* Validates a VM name and returns its paths. */
VmPaths *cli_vm(const char *name, GError **error);
/* The paths of a VM that is running (its QEMU pid in *pid), or NULL with
 * the error: invalid name, or not running. */
VmPaths *cli_running_vm(const char *name, pid_t *pid, GError **error);
void cli_print_json(json_t *value);
