"""The demo catalogue's product pictures: small PNGs drawn here (a coloured disc on a tile), so
the kiosk shows a picture where the catalogue names one and a pictogram elsewhere. Pure Python:
PNG is a signature, an IHDR, zlib-compressed rows and an IEND, each chunk with its CRC."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def disc_png(size: int, tile: tuple[int, int, int], disc: tuple[int, int, int]) -> bytes:
    """A ``size``-pixel square tile with a disc in its middle, as PNG (8-bit RGB)."""
    c, r2 = (size - 1) / 2, (size * 0.36) ** 2
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter: none
        for x in range(size):
            rows += bytes(disc if (x - c) ** 2 + (y - c) ** 2 <= r2 else tile)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows)))
        + _chunk(b"IEND", b"")
    )


#: the demo's pictures by file name (the catalogue in sim/scenarios.py names them)
PICTURES = {
    "milk.png": ((227, 240, 251), (255, 255, 255)),
    "chocolate.png": ((247, 236, 223), (107, 61, 0)),
}


def write_pictures(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (tile, disc) in PICTURES.items():
        (folder / name).write_bytes(disc_png(96, tile, disc))
    return folder
