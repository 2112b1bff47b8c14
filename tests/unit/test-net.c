/* Networking pure parts: QEMU's "info usernet", forward rules, lan addresses. */
#include <string.h>

#include "../../launcher/cmdline.h"
#include "../../launcher/netfwd.h"

/* QEMU 7.2's HMP output, as human-monitor-command returns it. */
static const char usernet[] =
    "Hub -1 (net-0):\r\n"
    "  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n"
    "  TCP[HOST_FORWARD]  18       127.0.0.1  8080       10.0.2.15    80     0     0\r\n"
    "  TCP[ESTABLISHED]   21       10.0.2.15 41234    192.168.1.1   443     0     0\r\n"
    "Hub -1 (net-wan):\r\n"
    "  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n"
    "  UDP[HOST_FORWARD]  19         0.0.0.0  5353        10.0.2.9    53     0     0\r\n";

static void test_usernet(void)
{
    json_auto_t *l = fwd_parse_usernet(usernet);
    g_assert_cmpuint(json_array_size(l), ==, 2); /* the ESTABLISHED row is not a forward */
    json_t *a = json_array_get(l, 0), *b = json_array_get(l, 1);
    g_assert_cmpstr(json_string_value(json_object_get(a, "netdev")), ==, "net-0");
    g_assert_cmpstr(json_string_value(json_object_get(a, "proto")), ==, "tcp");
    g_assert_cmpint(json_integer_value(json_object_get(a, "host_port")), ==, 8080);
    g_assert_cmpstr(json_string_value(json_object_get(a, "guest_addr")), ==, "10.0.2.15");
    g_assert_cmpint(json_integer_value(json_object_get(a, "guest_port")), ==, 80);
    g_assert_cmpstr(json_string_value(json_object_get(b, "netdev")), ==, "net-wan");
    g_assert_cmpstr(json_string_value(json_object_get(b, "proto")), ==, "udp");
    g_assert_cmpstr(json_string_value(json_object_get(b, "host_addr")), ==, "0.0.0.0");
    json_auto_t *none = fwd_parse_usernet("Hub -1 (net-0):\r\n  Protocol[State] FD\r\n");
    g_assert_cmpuint(json_array_size(none), ==, 0);
    json_auto_t *junk = fwd_parse_usernet("TCP[HOST_FORWARD] 1 2\n\x01\xff garbage");
    g_assert_cmpuint(json_array_size(junk), ==, 0);
}

static void test_split(void)
{
    g_autofree char *proto = NULL, *addr = NULL;
    guint port = 0;
    g_assert_true(fwd_split("tcp:127.0.0.1:2222-:22", &proto, &addr, &port));
    g_assert_cmpstr(proto, ==, "tcp");
    g_assert_cmpstr(addr, ==, "127.0.0.1");
    g_assert_cmpuint(port, ==, 2222);
    g_autofree char *p2 = NULL, *a2 = NULL;
    g_assert_true(fwd_split("udp::53", &p2, &a2, &port)); /* remove's short form */
    g_assert_cmpstr(a2, ==, "127.0.0.1");
    g_assert_cmpuint(port, ==, 53);
    char *p3 = NULL, *a3 = NULL;
    g_assert_false(fwd_split("sctp:1.2.3.4:5-:6", &p3, &a3, &port));
    g_assert_false(fwd_split("tcp:1.2.3.4:70000-:6", &p3, &a3, &port));
    g_assert_false(fwd_split("tcp:1.2.3.4:x-:6", &p3, &a3, &port));
    g_assert_false(fwd_split("tcp", &p3, &a3, &port));
}

static void test_lan_address(void)
{
    g_autofree char *g1 = NULL, *g1b = NULL, *g2 = NULL;
    guint p1 = cmdline_lan_address("lab", &g1);
    guint p1b = cmdline_lan_address("lab", &g1b);
    guint p2 = cmdline_lan_address("lab2", &g2);
    g_assert_cmpstr(g1, ==, g1b); /* the same lan meets on the same group and port */
    g_assert_cmpuint(p1, ==, p1b);
    g_assert_true(strcmp(g1, g2) != 0 || p1 != p2);
    g_assert_true(g_str_has_prefix(g1, "239.255.")); /* organisation-local scope */
    g_assert_cmpuint(p1, >=, 20000);
    g_assert_cmpuint(p1, <, 60000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/usernet", test_usernet);
    g_test_add_func("/net/split", test_split);
    g_test_add_func("/net/lan-address", test_lan_address);
    return g_test_run();
}
