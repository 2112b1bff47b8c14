#!/usr/bin/env python3
"""pngcheck.py FILE.png: exit 0 if FILE is a valid PNG (signature, every
chunk's CRC, IHDR, a zlib stream that inflates to the size IHDR implies,
known row filters) whose pixels are not all one colour; prints WxH and the
number of distinct colours. Exit 1 with the reason otherwise."""
import struct
import sys
import zlib


def fail(msg):
    print(f"pngcheck: {sys.argv[1]}: {msg}")
    sys.exit(1)


def main():
    data = open(sys.argv[1], "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("no PNG signature")
    at, idat, ihdr, end = 8, b"", None, False
    while at < len(data):
        if at + 8 > len(data):
            fail("truncated chunk header")
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        crc = struct.unpack(">I", data[at + 8 + n:at + 12 + n])[0]
        if zlib.crc32(kind + body) & 0xffffffff != crc:
            fail(f"bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            end = True
            break
        at += 12 + n
    if not ihdr or not end:
        fail("no IHDR or IEND")
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        fail(f"unexpected format depth={depth} colour type={ctype} interlace={interlace}")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        fail(f"{len(raw)} bytes of pixels, {h * (stride + 1)} expected")
    prev = bytearray(stride)
    colours = set()
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
            elif f != 0:
                fail(f"unknown filter {f} in row {y}")
        for x in range(0, stride, bpp):
            colours.add(bytes(line[x:x + bpp]))
        prev = line
    print(f"{w}x{h}, {len(colours)} colours")
    if len(colours) < 2:
        fail("the picture is one colour")


main()
