/* libFuzzer target: the profile parser and the network file parser on
 * arbitrary INI (and not-INI) text; a profile that loads is also turned
 * into an argv. */
#include <stdint.h>

#include "../../launcher/cmdline.h"
#include "../../launcher/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProfileEnv env = { .guest_dir = "/guest", .state_base = "/state" };
    GError *e = NULL;
    Profile *p = profile_load_data("/fuzz/vm.ini", (const char *)data, size, &env, &e);
    if (p) {
        CmdlineOpts o = { .qemu = "q", .runtime_dir = "/run/x", .accel = "tcg" };
        char **argv = cmdline_build(p, &o);
        g_strfreev(argv);
        profile_free(p);
    }
    g_clear_error(&e);
    NetDef *d = netdef_load_data("/fuzz/net.ini", (const char *)data, size, &e);
    if (d) {
        g_free(netdef_nft_rules(d));
        g_free(netdef_dnsmasq_conf(d, "/run/x"));
        netdef_free(d);
    }
    g_clear_error(&e);
    return 0;
}
