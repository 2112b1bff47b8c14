/* Templates: a running VM's RAM, device state and disks saved once
 * (STATE/templates/NAME), and clones started from them, each with its own
 * name, MAC, runtime dir and disk overlays on the template's read-only
 * bases. A clone maps the template's RAM file privately: the pages it does
 * not write stay shared with every other clone (the page cache). */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "../qmp/qmp.h"
#include "profile.h"
#include "vm.h"

typedef struct {
    char *name;
    char *dir;    /* STATE/templates/NAME, 0700 */
    char *ram;    /* the guest RAM as it was (sparse) */
    char *state;  /* the device state: a migration stream without RAM */
    json_t *info; /* template.json */
} Template;

void template_free(Template *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Template, template_free)

/* STATE/templates (transfer full). */
char *template_base(void);
/* The template named name, or an error that says how to list them. */
Template *template_open(const char *name, GError **error);
/* Every template (transfer full, Template*), by name. */
GPtrArray *template_list(GError **error);

/* Saves the VM (running or paused; profile p as it was started) as
 * template name: a running VM is first given up to settle_ms to go idle
 * (0: not waited for), then paused while its state, RAM and disks are
 * copied, then goes on as it was. *report gets the figures. */
gboolean template_save(VmPaths *v, const Profile *p, QmpConn *qmp, const char *name,
                       gint64 settle_ms, json_t **report, GError **error);

/* Clone clone of t: its profile (STATE/clone/clone.ini, made from the
 * template's: its own name and MACs, no host forwards) and new overlays
 * on the template's disks. Refused, with nothing changed, when any overlay
 * exists (an earlier clone's holds its writes: qlaunch delete it first). */
Profile *template_clone_profile(const Template *t, const char *clone, GError **error);

/* The clones of template name: running VMs started from it and stopped
 * ones whose overlays are still there (transfer full, char*). */
GPtrArray *template_clones(const char *name);
/* Refused while clones use it (naming them). */
gboolean template_delete(const char *name, GError **error);

/* In a clone started from t (QEMU waiting with -incoming defer, RAM
 * mapped from t->ram): loads the device state from fd state_fd (inherited
 * by QEMU under the same number), and runs the VM. */
gboolean template_load_state(QmpConn *qmp, const Template *t, int state_fd, gint64 timeout_ms,
                             GError **error);
/* After the load, through the agent: the guest's NICs take the clone's
 * MACs (the state carried the template's) and its clock the host's.
 * Failures are notes. HELD: vm_qga_attach's connection (taken), or NULL. */
void template_settle_guest(VmPaths *v, const Profile *p, const Template *t, gint64 timeout_ms,
                           QmpConn *held);

/* The fingerprint keys a clone must match the template in (CPU model,
 * memory, ...): the diff, or NULL when it matches. transfer full */
char *template_mismatch(const Template *t, json_t *clone_fingerprint);
