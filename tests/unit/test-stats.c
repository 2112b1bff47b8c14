/* stats: parsing of the guest's /proc/meminfo, query-blockstats and
 * guest-network-get-interfaces, and the derived percentages and rates. */
#include <string.h>

#include "../../launcher/stats.h"

static void test_meminfo(void)
{
    json_auto_t *m = stats_parse_meminfo("MemTotal:         493856 kB\n"
                                         "MemFree:          380000 kB\n"
                                         "MemAvailable:     420000 kB\n"
                                         "Buffers:            1000 kB\n");
    g_assert_nonnull(m);
    g_assert_cmpint(json_integer_value(json_object_get(m, "total_bytes")), ==, 493856LL * 1024);
    g_assert_cmpint(json_integer_value(json_object_get(m, "available_bytes")), ==, 420000LL * 1024);
    g_assert_cmpint(json_integer_value(json_object_get(m, "free_bytes")), ==, 380000LL * 1024);
    json_auto_t *none = stats_parse_meminfo("MemTotal: 1 kB\n"); /* no MemAvailable */
    g_assert_null(none);
    json_auto_t *junk = stats_parse_meminfo("\x01\xff garbage\n:::\n");
    g_assert_null(junk);
}

static void test_blockstats(void)
{
    json_auto_t *r =
        json_loads("[{\"device\": \"drive-data\", \"qdev\": "
                   "\"/machine/peripheral/disk-dev-data/virtio-backend\","
                   "  \"stats\": {\"rd_bytes\": 4096, \"wr_bytes\": 8192, \"rd_operations\": 2,"
                   "  \"wr_operations\": 4, \"flush_operations\": 1, \"rd_total_time_ns\": 3000000,"
                   "  \"wr_total_time_ns\": 8000000}},"
                   " {\"device\": \"\", \"qdev\": \"x\", \"stats\": {}},"
                   " {\"device\": \"drive-bad\"}]",
                   0, NULL);
    json_auto_t *d = stats_parse_blockstats(r);
    g_assert_cmpuint(json_array_size(d), ==, 1);
    json_t *x = json_array_get(d, 0);
    g_assert_cmpstr(json_string_value(json_object_get(x, "name")), ==, "data");
    g_assert_cmpint(json_integer_value(json_object_get(x, "wr_ops")), ==, 4);
    json_auto_t *cur = json_pack("{s:f, s:I, s:f, s:O}", "t", 100.0, "uptime_s", (json_int_t)50,
                                 "cpu_s", 10.0, "disks", d);
    stats_derive(cur, NULL);
    json_t *cd = json_array_get(json_object_get(cur, "disks"), 0);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(cd, "rd_latency_ms")), 1.5,
                                   1e-9);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(cd, "wr_latency_ms")), 2.0,
                                   1e-9);
    /* since start: 10 s of CPU in 50 s of uptime */
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(cur, "cpu_pct")), 20.0, 1e-9);
    g_assert_cmpstr(json_string_value(json_object_get(cur, "window")), ==, "since start");
    json_auto_t *empty = stats_parse_blockstats(NULL);
    g_assert_cmpuint(json_array_size(empty), ==, 0);
}

static void test_guest_nics(void)
{
    json_auto_t *r = json_loads(
        "[{\"name\": \"lo\", \"hardware-address\": \"00:00:00:00:00:00\", \"statistics\":"
        "  {\"rx-bytes\": 1, \"rx-packets\": 1, \"tx-bytes\": 1, \"tx-packets\": 1}},"
        " {\"name\": \"eth0\", \"hardware-address\": \"52:54:00:AB:cd:01\", \"statistics\":"
        "  {\"rx-bytes\": 1000, \"rx-packets\": 10, \"tx-bytes\": 2000, \"tx-packets\": 20}},"
        " {\"name\": \"sit0\"}]",
        0, NULL);
    json_auto_t *n = stats_parse_guest_nics(r);
    json_t *e = json_object_get(n, "52:54:00:ab:cd:01");
    g_assert_nonnull(e);
    g_assert_cmpint(json_integer_value(json_object_get(e, "tx_bytes")), ==, 2000);
    g_assert_cmpuint(json_object_size(n), ==, 2);
}

static void test_rates(void)
{
    json_auto_t *prev =
        json_loads("{\"t\": 10.0, \"uptime_s\": 5, \"cpu_s\": 1.0,"
                   " \"vcpus\": [{\"index\": 0, \"cpu_s\": 1.0}, {\"index\": 1, \"cpu_s\": 0.5}],"
                   " \"disks\": [{\"device\": \"drive-d\", \"rd_bytes\": 0, \"wr_bytes\": 1000,"
                   "   \"rd_ops\": 0, \"wr_ops\": 1}],"
                   " \"nics\": [{\"name\": \"0\", \"rx_bytes\": 100, \"tx_bytes\": 100,"
                   "   \"rx_packets\": 1, \"tx_packets\": 1}]}",
                   0, NULL);
    json_auto_t *cur = json_loads(
        "{\"t\": 12.0, \"uptime_s\": 7, \"cpu_s\": 2.0,"
        " \"vcpus\": [{\"index\": 0, \"cpu_s\": 2.0}, {\"index\": 1, \"cpu_s\": 0.5}],"
        " \"disks\": [{\"device\": \"drive-d\", \"rd_bytes\": 4096, \"wr_bytes\": 1000,"
        "   \"rd_ops\": 1, \"wr_ops\": 1}],"
        " \"nics\": [{\"name\": \"0\", \"rx_bytes\": 2148, \"tx_bytes\": 100,"
        "   \"rx_packets\": 3, \"tx_packets\": 1}, {\"name\": \"new\", \"rx_bytes\": 5}]}",
        0, NULL);
    stats_derive(cur, prev);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(cur, "window_s")), 2.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(cur, "cpu_pct")), 50.0, 1e-9);
    json_t *v0 = json_array_get(json_object_get(cur, "vcpus"), 0);
    json_t *v1 = json_array_get(json_object_get(cur, "vcpus"), 1);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(v0, "cpu_pct")), 50.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(v1, "cpu_pct")), 0.0, 1e-9);
    json_t *d = json_array_get(json_object_get(cur, "disks"), 0);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(d, "rd_bytes_per_s")), 2048.0,
                                   1e-9);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(d, "wr_bytes_per_s")), 0.0,
                                   1e-9);
    json_t *n0 = json_array_get(json_object_get(cur, "nics"), 0);
    json_t *n1 = json_array_get(json_object_get(cur, "nics"), 1);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(n0, "rx_bytes_per_s")), 1024.0,
                                   1e-9);
    g_assert_null(json_object_get(n1, "rx_bytes_per_s")); /* nothing to compare with */
    /* a counter that went backwards (a VM restarted) is not a negative rate */
    json_auto_t *later = json_deep_copy(prev);
    json_object_set_new(later, "t", json_real(14.0));
    stats_derive(later, cur);
    json_t *dl = json_array_get(json_object_get(later, "disks"), 0);
    g_assert_cmpfloat(json_real_value(json_object_get(dl, "rd_bytes_per_s")), ==, 0.0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/stats/meminfo", test_meminfo);
    g_test_add_func("/stats/blockstats", test_blockstats);
    g_test_add_func("/stats/guest-nics", test_guest_nics);
    g_test_add_func("/stats/rates", test_rates);
    return g_test_run();
}
