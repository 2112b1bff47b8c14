/* PPM -> PNG (the screenshot fallback): the file is read back here with a
 * CRC-32 of its own and an inflate of stored blocks, and must give the
 * PPM's pixels. */
#include <string.h>

#include "../../launcher/png.h"

static guint32 be32(const guint8 *p)
{
    return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

/* bit by bit, not the table the encoder uses */
static guint32 slow_crc(const guint8 *p, gsize n)
{
    guint32 c = 0xffffffffu;
    for (gsize i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static void test_roundtrip(void)
{
    /* 3x2: red green blue / white black grey, after a comment */
    const guint8 pix[] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128 };
    g_autoptr(GByteArray) ppm = g_byte_array_new();
    const char *hdr = "P6\n# from QEMU\n3 2\n255\n";
    g_byte_array_append(ppm, (const guint8 *)hdr, (guint)strlen(hdr));
    g_byte_array_append(ppm, pix, sizeof pix);
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) png = png_from_ppm(ppm->data, ppm->len, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(png->data, 8, "\x89PNG\r\n\x1a\n", 8);
    gsize at = 8;
    g_autoptr(GByteArray) idat = g_byte_array_new();
    gboolean ihdr = FALSE, iend = FALSE;
    while (at + 12 <= png->len) {
        guint32 n = be32(png->data + at);
        const guint8 *type = png->data + at + 4;
        g_assert_cmpuint(at + 12 + n, <=, png->len);
        g_assert_cmpuint(be32(png->data + at + 8 + n), ==, slow_crc(type, n + 4));
        if (!memcmp(type, "IHDR", 4)) {
            g_assert_cmpuint(be32(type + 4), ==, 3);
            g_assert_cmpuint(be32(type + 8), ==, 2);
            g_assert_cmpuint(type[12], ==, 8); /* bits */
            g_assert_cmpuint(type[13], ==, 2); /* RGB */
            ihdr = TRUE;
        } else if (!memcmp(type, "IDAT", 4)) {
            g_byte_array_append(idat, type + 4, n);
        } else if (!memcmp(type, "IEND", 4)) {
            iend = TRUE;
        }
        at += 12 + n;
    }
    g_assert_true(ihdr && iend);
    g_assert_cmpuint(at, ==, png->len);
    /* zlib: header, one final stored block, Adler-32 */
    const guint8 *z = idat->data;
    g_assert_cmpuint((z[0] << 8 | z[1]) % 31, ==, 0);
    g_assert_cmpuint(z[2] & 1, ==, 1);
    guint len = z[3] | z[4] << 8, nlen = z[5] | z[6] << 8;
    g_assert_cmpuint(len, ==, 2 * (1 + 9));
    g_assert_cmpuint(len ^ nlen, ==, 0xffff);
    const guint8 *raw = z + 7;
    g_assert_cmpuint(raw[0], ==, 0);
    g_assert_cmpmem(raw + 1, 9, pix, 9);
    g_assert_cmpuint(raw[10], ==, 0);
    g_assert_cmpmem(raw + 11, 9, pix + 9, 9);
    guint32 a = 1, b = 0;
    for (guint i = 0; i < len; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    g_assert_cmpuint(be32(raw + len), ==, b << 16 | a);
}

static void test_large_rows(void)
{
    /* more than one stored block: 200x200 RGB is 120200 bytes of rows */
    g_autoptr(GByteArray) ppm = g_byte_array_new();
    const char *hdr = "P6 200 200 255\n";
    g_byte_array_append(ppm, (const guint8 *)hdr, (guint)strlen(hdr));
    for (guint i = 0; i < 200 * 200 * 3; i++) {
        guint8 v = (guint8)(i * 7);
        g_byte_array_append(ppm, &v, 1);
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) png = png_from_ppm(ppm->data, ppm->len, &err);
    g_assert_no_error(err);
    /* two blocks of 65535 bytes at most: 5 bytes of header each */
    g_assert_cmpuint(png->len, ==, 8 + 25 + (12 + 2 + 5 * 2 + 200 * 601 + 4) + 12);
}

static void test_refused(void)
{
    const char *bad[] = { "P5 1 1 255\nx", "P6 2 2 255\nabc", "P6 1 1 65535\nxxxxxx", "", "P6" };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        GByteArray *png = png_from_ppm((const guint8 *)bad[i], strlen(bad[i]), &err);
        g_assert_null(png);
        g_assert_nonnull(err);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/png/roundtrip", test_roundtrip);
    g_test_add_func("/png/large-rows", test_large_rows);
    g_test_add_func("/png/refused", test_refused);
    return g_test_run();
}
