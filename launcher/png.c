/* PPM -> PNG for QEMUs whose screendump has no PNG format. */
#include "png.h"

#include <string.h>

#include "vm.h"

static guint32 crc32_update(guint32 crc, const guint8 *p, gsize n)
{
    static guint32 table[256];
    if (!table[1])
        for (guint32 i = 0; i < 256; i++) {
            guint32 c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    for (gsize i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

static void put32(GByteArray *a, guint32 v)
{
    guint8 b[4] = { (guint8)(v >> 24), (guint8)(v >> 16), (guint8)(v >> 8), (guint8)v };
    g_byte_array_append(a, b, 4);
}

static void chunk(GByteArray *out, const char *type, const guint8 *data, gsize n)
{
    put32(out, (guint32)n);
    gsize at = out->len;
    g_byte_array_append(out, (const guint8 *)type, 4);
    if (n)
        g_byte_array_append(out, data, (guint)n);
    put32(out, crc32_update(0xffffffffu, out->data + at, n + 4) ^ 0xffffffffu);
}

/* "P6 W H 255\n": the next number, skipping whitespace and # comments */
static gboolean ppm_number(const guint8 *p, gsize len, gsize *at, guint *out)
{
    while (*at < len && (g_ascii_isspace(p[*at]) || p[*at] == '#')) {
        if (p[*at] == '#')
            while (*at < len && p[*at] != '\n')
                (*at)++;
        else
            (*at)++;
    }
    guint64 v = 0;
    gsize start = *at;
    while (*at < len && g_ascii_isdigit(p[*at]) && v < 100000)
        v = v * 10 + (guint64)(p[(*at)++] - '0');
    *out = (guint)v;
    return *at > start && v > 0 && v < 100000;
}

GByteArray *png_from_ppm(const guint8 *ppm, gsize len, GError **error)
{
    gsize at = 2;
    guint w = 0, h = 0, max = 0;
    if (len < 2 || memcmp(ppm, "P6", 2) || !ppm_number(ppm, len, &at, &w) ||
        !ppm_number(ppm, len, &at, &h) || !ppm_number(ppm, len, &at, &max) || max != 255 ||
        at >= len || len - at - 1 < (gsize)w * h * 3) {
        g_set_error(error, VM_ERROR, VM_ERROR_FAILED, "the screen dump is not an 8-bit P6 PPM");
        return NULL;
    }
    const guint8 *pix = ppm + at + 1;
    /* the raw image: each row a filter byte (0) and its RGB bytes */
    gsize row = (gsize)w * 3 + 1, raw_len = row * h;
    g_autofree guint8 *raw = g_malloc(raw_len);
    for (guint y = 0; y < h; y++) {
        raw[y * row] = 0;
        memcpy(raw + y * row + 1, pix + (gsize)y * w * 3, (gsize)w * 3);
    }
    /* zlib stream: header, stored blocks of up to 65535 bytes, Adler-32 */
    GByteArray *z = g_byte_array_new();
    const guint8 hdr[2] = { 0x78, 0x01 };
    g_byte_array_append(z, hdr, 2);
    guint32 a = 1, b = 0;
    for (gsize off = 0; off < raw_len || raw_len == 0;) {
        gsize n = MIN(raw_len - off, 65535);
        guint8 bh[5] = { off + n == raw_len, (guint8)n, (guint8)(n >> 8), (guint8)~n,
                         (guint8)(~n >> 8) };
        g_byte_array_append(z, bh, 5);
        g_byte_array_append(z, raw + off, (guint)n);
        for (gsize i = off; i < off + n; i++) {
            a = (a + raw[i]) % 65521;
            b = (b + a) % 65521;
        }
        off += n;
        if (raw_len == 0)
            break;
    }
    put32(z, (b << 16) | a);
    GByteArray *out = g_byte_array_new();
    const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    g_byte_array_append(out, sig, 8);
    guint8 ihdr[13] = { (guint8)(w >> 24),
                        (guint8)(w >> 16),
                        (guint8)(w >> 8),
                        (guint8)w,
                        (guint8)(h >> 24),
                        (guint8)(h >> 16),
                        (guint8)(h >> 8),
                        (guint8)h,
                        8,
                        2,
                        0,
                        0,
                        0 }; /* 8 bits, RGB, deflate, no filter, no interlace */
    chunk(out, "IHDR", ihdr, sizeof ihdr);
    chunk(out, "IDAT", z->data, z->len);
    chunk(out, "IEND", NULL, 0);
    g_byte_array_unref(z);
    return out;
}
