/* A PPM (P6, as QEMU's screendump writes it) as a PNG, with no library:
 * stored (uncompressed) deflate blocks, CRC-32 and Adler-32 by hand. */
#pragma once

#include <glib.h>

/* transfer full; NULL with the error set when ppm is not a P6 of 8 bits */
GByteArray *png_from_ppm(const guint8 *ppm, gsize len, GError **error);
