/* qlaunch display, screenshot, sendkey and media: a VM's screen, keyboard
 * and CD-ROM drive, through QMP (query-vnc/query-spice, screendump,
 * send-key, eject and blockdev-change-medium). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli.h"
#include "commands.h"
#include "png.h"

#define QMP_TIMEOUT_MS 10000

/* A running VM, its profile as started and a QMP connection. */
typedef struct {
    VmPaths *v;
    Profile *p;
    QmpConn *qmp;
} Running;

static void running_clear(Running *r)
{
    g_clear_pointer(&r->qmp, qmp_conn_free);
    g_clear_pointer(&r->p, profile_free);
    g_clear_pointer(&r->v, vm_paths_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Running, running_clear)

static gboolean open_running(const char *vm, Running *r, GError **error)
{
    pid_t pid = 0;
    r->v = cli_running_vm(vm, &pid, error);
    r->p = r->v ? vm_running_profile(r->v, error) : NULL;
    r->qmp = r->p ? vm_qmp_open(r->v, QMP_TIMEOUT_MS, error) : NULL;
    return r->qmp != NULL;
}

/* ---- display ------------------------------------------------------------ */

static void print_how(const char *vm, const char *type, json_t *info, gboolean tcp,
                      const char *where, const char *host)
{
    gboolean vnc = !strcmp(type, "vnc");
    const char *auth = json_string_value(json_object_get(info, "auth"));
    if (!tcp) {
        printf("VM %s: %s on the unix socket %s (yours only)\n", vm, vnc ? "VNC" : "SPICE", where);
        printf("  view it here:  remote-viewer %s+unix://%s\n", vnc ? "vnc" : "spice", where);
        printf("  from another machine:  ssh -L 5900:%s %s@%s  then  remote-viewer "
               "%s://localhost:5900\n",
               where, g_get_user_name(), host, vnc ? "vnc" : "spice");
        return;
    }
    printf("VM %s: %s on %s%s\n", vm, vnc ? "VNC" : "SPICE", where,
           auth && strcmp(auth, "none") ? " (password: the profile's [display] password-file)"
                                        : "");
    printf("  view it:  remote-viewer %s://%s\n", vnc ? "vnc" : "spice", where);
}

int cmd_display(int argc, char **argv, GError **error)
{
    gboolean print_only = FALSE;
    GOptionEntry entries[] = { { "print", 0, 0, G_OPTION_ARG_NONE, &print_only,
                                 "Only print how to reach it (never run a viewer)", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    g_autoptr(GError) err = NULL;
    g_auto(Running) run = { 0 };
    if (!open_running(argv[1], &run, &err))
        return cli_fail(error, &err);
    VmPaths *v = run.v;
    Profile *p = run.p;
    QmpConn *qmp = run.qmp;
    const char *type = p->display.type;
    if (!strcmp(type, "none"))
        return cli_failf(error,
                         "VM %s serves no display (profile %s has no [display], or type=none): "
                         "add [display] type=vnc and restart it%s",
                         v->name, p->path,
                         strcmp(p->display.vga, "none") ? "; qlaunch screenshot works already"
                                                        : "");
    gboolean vnc = !strcmp(type, "vnc");
    json_auto_t *info =
        qmp_conn_execute(qmp, vnc ? "query-vnc" : "query-spice", NULL, QMP_TIMEOUT_MS, &err);
    if (!info)
        return cli_fail(error, &err);
    gboolean tcp = p->display.listen != NULL;
    g_autofree char *sock = g_build_filename(v->dir, vnc ? "vnc.sock" : "spice.sock", NULL);
    g_autofree char *where = NULL;
    if (tcp) {
        const char *host = json_string_value(json_object_get(info, "host"));
        json_t *svc = json_object_get(info, vnc ? "service" : "port");
        g_autofree char *port =
            json_is_string(svc) ? g_strdup(json_string_value(svc))
                                : g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(svc));
        host = host && *host ? host : p->display.listen;
        where = g_strdup_printf(strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    } else {
        where = g_strdup(sock);
    }
    print_how(v->name, type, info, tcp, where, g_get_host_name());
    g_autofree char *viewer = g_find_program_in_path("remote-viewer");
    if (print_only || !viewer || !g_getenv("DISPLAY"))
        return EXIT_OK;
    g_autofree char *uri =
        g_strdup_printf("%s%s://%s", vnc ? "vnc" : "spice", tcp ? "" : "+unix", where);
    fflush(stdout);
    char *args[] = { viewer, uri, NULL };
    execv(viewer, args);
    return cli_failf(error, "cannot run %s: %s", viewer, g_strerror(errno));
}

/* ---- screenshot --------------------------------------------------------- */

int cmd_screenshot(int argc, char **argv, GError **error)
{
    if (!cli_parse(&argc, &argv, NULL))
        return EXIT_USAGE;
    const char *out = argv[2];
    if (!g_str_has_suffix(out, ".png") && !g_str_has_suffix(out, ".ppm"))
        return cli_usagef("screenshot", "screenshot: %s: name the file .png or .ppm", out);
    gboolean want_png = g_str_has_suffix(out, ".png");
    g_autoptr(GError) err = NULL;
    g_auto(Running) run = { 0 };
    if (!open_running(argv[1], &run, &err))
        return cli_fail(error, &err);
    if (!strcmp(run.p->display.vga, "none"))
        return cli_failf(error,
                         "VM %s has no graphics card (profile %s: no [display], or vga=none): "
                         "give [display] vga=std (with type=none if nothing should be served) "
                         "and restart it",
                         run.v->name, run.p->path);
    /* QEMU writes it in our private runtime dir; we then put it in place */
    g_autofree char *tmp = g_build_filename(run.v->dir, "screendump.tmp", NULL);
    unlink(tmp);
    json_auto_t *args = json_pack("{s:s}", "filename", tmp);
    if (want_png)
        json_object_set_new(args, "format", json_string("png"));
    json_auto_t *r = qmp_conn_execute(run.qmp, "screendump", args, QMP_TIMEOUT_MS, &err);
    gboolean converted = FALSE;
    if (!r && want_png && err && strstr(err->message, "format")) {
        /* a QEMU before 7.1 (or without libpng): PPM, converted here */
        g_clear_error(&err);
        json_object_del(args, "format");
        r = qmp_conn_execute(run.qmp, "screendump", args, QMP_TIMEOUT_MS, &err);
        converted = TRUE;
    }
    if (!r) {
        unlink(tmp);
        return cli_failf(error, "screenshot %s: %s", run.v->name, err->message);
    }
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(tmp, &data, &len, &err)) {
        unlink(tmp);
        return cli_fail(error, &err);
    }
    unlink(tmp);
    if (converted) {
        GByteArray *png = png_from_ppm((const guint8 *)data, len, &err);
        if (!png)
            return cli_failf(error, "screenshot %s: %s", run.v->name, err->message);
        g_free(data);
        len = png->len;
        data = (char *)g_byte_array_free(png, FALSE);
    }
    if (!g_file_set_contents(out, data, (gssize)len, &err))
        return cli_fail(error, &err);
    if (!cli_quiet)
        printf("%s: screenshot of %s (%zu bytes)\n", out, run.v->name, len);
    return EXIT_OK;
}

/* ---- sendkey ------------------------------------------------------------ */

/* QEMU's QKeyCode names (qapi/ui.json, 7.2), split once */
static const char *const qcode_words =
    "shift shift_r alt alt_r ctrl ctrl_r menu esc 1 2 3 4 5 6 7 8 9 0 minus equal "
    "backspace tab q w e r t y u i o p bracket_left bracket_right ret a s d f g h j "
    "k l semicolon apostrophe grave_accent backslash z x c v b n m comma dot slash "
    "asterisk spc caps_lock f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 num_lock "
    "scroll_lock kp_divide kp_multiply kp_subtract kp_add kp_enter kp_decimal sysrq "
    "kp_0 kp_1 kp_2 kp_3 kp_4 kp_5 kp_6 kp_7 kp_8 kp_9 less home pgup pgdn end left "
    "up down right insert delete pause meta_l meta_r compose power sleep wake print";

static const char *const *qcodes(void)
{
    static char **v;
    if (!v)
        v = g_strsplit(qcode_words, " ", -1);
    return (const char *const *)v;
}

static const char *const aliases[][2] = {
    { "enter", "ret" },    { "return", "ret" },   { "space", "spc" },   { "del", "delete" },
    { "control", "ctrl" }, { "escape", "esc" },   { "pageup", "pgup" }, { "pagedown", "pgdn" },
    { "win", "meta_l" },   { "super", "meta_l" }, { "backtab", "tab" }, { "ins", "insert" },
};

static const char *key_name(const char *k)
{
    for (gsize i = 0; i < G_N_ELEMENTS(aliases); i++)
        if (!g_ascii_strcasecmp(k, aliases[i][0]))
            return aliases[i][1];
    const char *const *q = qcodes();
    for (gsize i = 0; q[i]; i++)
        if (!g_ascii_strcasecmp(k, q[i]))
            return q[i];
    return NULL;
}

/* "ctrl-alt-delete" -> [{"type":"qcode","data":"ctrl"}, ...]; NULL with a
 * message naming the bad key. */
static json_t *parse_combo(const char *combo, GError **error)
{
    json_t *keys = json_array();
    g_auto(GStrv) parts = g_strsplit(combo, "-", -1);
    for (gsize i = 0; parts[i]; i++) {
        /* "ctrl-minus" works; a bare "-" as the last key is the minus key */
        const char *k = *parts[i] ? key_name(parts[i]) : (!parts[i + 1] ? "minus" : NULL);
        if (!k) {
            g_autofree char *hint = cli_did_you_mean(parts[i], qcodes());
            g_set_error(error, VM_ERROR, VM_ERROR_FAILED,
                        "sendkey: \"%s\" in \"%s\" is not a key%s (keys are QEMU's names: a, 1, "
                        "ret, esc, tab, spc, up, f2, ctrl, alt, shift, delete, ...; join them with "
                        "'-': ctrl-alt-delete)",
                        parts[i], combo, hint);
            json_decref(keys);
            return NULL;
        }
        json_array_append_new(keys, json_pack("{s:s, s:s}", "type", "qcode", "data", k));
    }
    return keys;
}

/* One character of --type on a US keyboard: its key, and whether shift. */
static const char *char_key(char ch, gboolean *shift)
{
    static const char *const plain = "`1234567890-=[]\\;',./";
    static const char *const shifted = "~!@#$%^&*()_+{}|:\"<>?";
    /* the key of each character of plain (and of shifted) */
    static char **names;
    if (!names)
        names = g_strsplit("grave_accent 1 2 3 4 5 6 7 8 9 0 minus equal bracket_left "
                           "bracket_right backslash semicolon apostrophe comma dot slash",
                           " ", -1);
    static char letter[2];
    *shift = FALSE;
    if (g_ascii_islower(ch) || g_ascii_isupper(ch)) {
        *shift = g_ascii_isupper(ch);
        letter[0] = g_ascii_tolower(ch);
        letter[1] = '\0';
        return letter;
    }
    if (ch == ' ')
        return "spc";
    if (ch == '\n')
        return "ret";
    if (ch == '\t')
        return "tab";
    const char *at = ch ? strchr(plain, ch) : NULL;
    if (at)
        return names[at - plain];
    at = ch ? strchr(shifted, ch) : NULL;
    if (at) {
        *shift = TRUE;
        return names[at - shifted];
    }
    return NULL;
}

static gboolean send_keys(QmpConn *qmp, json_t *keys, int hold_ms, GError **error)
{
    json_auto_t *args = json_pack("{s:O}", "keys", keys);
    if (hold_ms > 0)
        json_object_set_new(args, "hold-time", json_integer(hold_ms));
    json_auto_t *r = qmp_conn_execute(qmp, "send-key", args, QMP_TIMEOUT_MS, error);
    return r != NULL;
}

int cmd_sendkey(int argc, char **argv, GError **error)
{
    g_autofree char *text = NULL;
    int hold_ms = 0;
    GOptionEntry entries[] = { { "type", 't', 0, G_OPTION_ARG_STRING, &text,
                                 "Type this text (US layout; \\n is Enter), after the KEYS",
                                 "TEXT" },
                               { "hold-ms", 0, 0, G_OPTION_ARG_INT, &hold_ms,
                                 "How long each key is held down (QEMU's default: 100 ms)", "MS" },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    if (argc < 3 && !text)
        return cli_usagef("sendkey", "sendkey: give keys (e.g. ret, ctrl-alt-delete) or --type "
                                     "TEXT");
    if (hold_ms < 0 || hold_ms > 10000)
        return cli_usagef("sendkey", "sendkey: --hold-ms takes 1 to 10000");
    g_autoptr(GError) err = NULL;
    /* every key is checked before any is sent */
    g_autoptr(GPtrArray) combos = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    for (int i = 2; i < argc; i++) {
        json_t *keys = parse_combo(argv[i], &err);
        if (!keys)
            return cli_fail(error, &err);
        g_ptr_array_add(combos, keys);
    }
    g_autofree char *expanded = text ? g_strcompress(text) : NULL;
    for (const char *c = expanded; c && *c; c++) {
        gboolean shift = FALSE;
        const char *k = char_key(*c, &shift);
        if (!k)
            return cli_failf(error,
                             "sendkey --type: character %u (0x%02x) at offset %zu cannot be "
                             "typed on a US keyboard",
                             (guint)(guchar)*c, (guint)(guchar)*c, (size_t)(c - expanded));
        json_t *keys = json_array();
        if (shift)
            json_array_append_new(keys, json_pack("{s:s, s:s}", "type", "qcode", "data", "shift"));
        json_array_append_new(keys, json_pack("{s:s, s:s}", "type", "qcode", "data", k));
        g_ptr_array_add(combos, keys);
    }
    g_auto(Running) run = { 0 };
    if (!open_running(argv[1], &run, &err))
        return cli_fail(error, &err);
    VmPaths *v = run.v;
    QmpConn *qmp = run.qmp;
    for (guint i = 0; i < combos->len; i++)
        if (!send_keys(qmp, combos->pdata[i], hold_ms, &err))
            return cli_failf(error, "sendkey %s: %s", v->name, err->message);
    if (!cli_quiet)
        printf("sent %u key press%s to %s\n", combos->len, combos->len == 1 ? "" : "es", v->name);
    return EXIT_OK;
}

/* ---- media -------------------------------------------------------------- */

static json_t *find_cdrom(json_t *blocks)
{
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b)
    {
        const char *dev = json_string_value(json_object_get(b, "device"));
        if (dev && !strcmp(dev, "drive-cdrom"))
            return b;
    }
    return NULL;
}

static void print_media(const char *vm, json_t *cd, gboolean running, const char *file)
{
    if (!running) {
        printf("%s (stopped): cdrom0: %s\n", vm, file ? file : "empty (ejected)");
        return;
    }
    json_t *ins = json_object_get(cd, "inserted");
    const char *f = json_string_value(json_object_get(ins, "file"));
    printf("%s: cdrom0: tray %s, %slocked, %s%s\n", vm,
           json_is_true(json_object_get(cd, "tray_open")) ? "open" : "closed",
           json_is_true(json_object_get(cd, "locked")) ? "" : "not ", f ? "disc " : "empty",
           f ? f : "");
}

int cmd_media(int argc, char **argv, GError **error)
{
    gboolean force = FALSE, json = FALSE;
    GOptionEntry entries[] = { { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
                                 "eject: even when the guest has locked the tray", NULL },
                               { "json", 0, 0, G_OPTION_ARG_NONE, &json, "list: print JSON", NULL },
                               G_OPTION_ENTRY_NULL };
    if (!cli_parse(&argc, &argv, entries))
        return EXIT_USAGE;
    const char *vm = argv[1], *op = argv[2], *file = argc > 3 ? argv[3] : NULL;
    static const char *const ops[] = { "list", "eject", "insert", NULL };
    if (!g_strv_contains(ops, op)) {
        g_autofree char *hint = cli_did_you_mean(op, ops);
        return cli_usagef("media", "media: '%s' is not list, eject or insert%s", op, hint);
    }
    gboolean insert = !strcmp(op, "insert"), eject = !strcmp(op, "eject");
    if (insert && !file)
        return cli_usagef("media", "media insert: give the ISO: qlaunch media %s insert FILE.iso",
                          vm);
    if (!insert && file)
        return cli_usagef("media", "media %s takes no file", op);
    g_autofree char *abs = file ? g_canonicalize_filename(file, NULL) : NULL;
    if (abs && !g_file_test(abs, G_FILE_TEST_IS_REGULAR))
        return cli_failf(error, "media insert: %s is not a file", abs);
    g_autoptr(GError) err = NULL;
    /* a profile's path names its VM (a stopped VM is known by its profile) */
    g_autoptr(Profile) given =
        strchr(vm, '/') || g_str_has_suffix(vm, ".ini") ? cli_load_profile(vm, &err) : NULL;
    if (err)
        return cli_fail(error, &err);
    if (given)
        vm = given->name;
    pid_t pid = 0;
    g_autoptr(VmPaths) v = cli_running_vm(vm, &pid, &err);
    if (!v && !g_error_matches(err, VM_ERROR, VM_ERROR_NOT_RUNNING))
        return cli_fail(error, &err);
    if (!v) { /* stopped: what the next start puts in the drive */
        g_clear_error(&err);
        g_autoptr(Profile) p = given ? g_steal_pointer(&given) : cli_load_profile(vm, &err);
        if (!p)
            return cli_failf(error,
                             "VM %s is not running, so its drive is known from its "
                             "profile: %s (give the profile's path)",
                             vm, err->message);
        if (!p->cdrom_drive)
            return cli_failf(error,
                             "VM %s has no CD-ROM drive: give its profile %s [boot] cdrom=FILE",
                             p->name, p->path);
        if (!strcmp(op, "list")) {
            print_media(p->name, NULL, FALSE, p->cdrom);
            return EXIT_OK;
        }
        if (!platform_record_media(p->name, abs, &err))
            return cli_fail(error, &err);
        printf("%s is stopped: its next start has %s%s in the CD-ROM drive\n", p->name,
               abs ? abs : "no disc", abs ? "" : " (the disk boots)");
        return EXIT_OK;
    }
    g_autoptr(Profile) p = vm_running_profile(v, &err);
    g_autoptr(QmpConn) qmp = p ? vm_qmp_open(v, QMP_TIMEOUT_MS, &err) : NULL;
    if (!qmp)
        return cli_fail(error, &err);
    json_auto_t *blocks = qmp_conn_execute(qmp, "query-block", NULL, QMP_TIMEOUT_MS, &err);
    if (!blocks)
        return cli_fail(error, &err);
    json_t *cd = find_cdrom(blocks);
    if (!cd)
        return cli_failf(error, "VM %s has no CD-ROM drive: give its profile %s [boot] cdrom=FILE",
                         v->name, p->path);
    if (!strcmp(op, "list")) {
        if (json)
            cli_print_json(cd);
        else
            print_media(v->name, cd, TRUE, NULL);
        return EXIT_OK;
    }
    json_auto_t *r = NULL;
    if (eject) {
        json_auto_t *args = json_pack("{s:s, s:b}", "id", "cdrom0", "force", force);
        r = qmp_conn_execute(qmp, "eject", args, QMP_TIMEOUT_MS, &err);
        if (!r && err && strstr(err->message, "locked"))
            return cli_failf(error,
                             "media eject %s: the guest has locked the tray (it has the disc "
                             "open or mounted; QEMU asked it to let go). Unmount it in the "
                             "guest (umount /dev/sr0) and eject again, or --force (QEMU: %s)",
                             v->name, err->message);
    } else {
        json_auto_t *args = json_pack("{s:s, s:s, s:s, s:s}", "id", "cdrom0", "filename", abs,
                                      "format", "raw", "read-only-mode", "read-only");
        r = qmp_conn_execute(qmp, "blockdev-change-medium", args, QMP_TIMEOUT_MS, &err);
    }
    if (!r)
        return cli_failf(error, "media %s %s: %s", op, v->name, err->message);
    /* the next start keeps what is in the drive now, as a real machine would */
    if (!platform_record_media(v->name, abs, &err))
        return cli_fail(error, &err);
    if (eject)
        printf("%s: ejected the disc (the next start boots without it)\n", v->name);
    else
        printf("%s: inserted %s\n", v->name, abs);
    return EXIT_OK;
}
