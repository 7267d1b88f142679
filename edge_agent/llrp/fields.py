"""LLRP's header and limits, its error, a message, and field kinds: what the decoder and the
encoder share (``codec.py`` is where the rest of the product reads them)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from edge_agent.errors import EdgeError
from edge_agent.llrp.schema import PARAMS

HEADER: Final = struct.Struct(">HII")  # rsv(3) version(3) type(10), length, message id
HEADER_SIZE: Final = 10
#: where parameters the schema does not allow at a place are kept (type and raw bytes)
UNKNOWN: Final = "Unknown"
#: sub-parameters that came interleaved (not in the schema's order) keep their order here, so
#: they are written back byte for byte (an AccessCommand's operations run in that order)
ORDER: Final = "_order"
MAX_MESSAGE: Final = 16 * 1024 * 1024
VERSION_1_0_1: Final = 1
VERSION_1_1: Final = 2

_INT: Final = {
    "u8": (1, False),
    "u16": (2, False),
    "u32": (4, False),
    "u64": (8, False),
    "s8": (1, True),
    "s16": (2, True),
    "s32": (4, True),
}
_VEC_ITEM: Final = {"u16v": 2, "u32v": 4}


class LLRPError(EdgeError, ValueError):
    """Bytes that are not valid LLRP: ``code`` (stable), ``message``, byte ``position``."""

    def __init__(self, code: str, message: str, position: int = 0) -> None:
        super().__init__(code, message)
        self.position = position

    def __str__(self) -> str:
        return f"{self.code} at byte {self.position}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "position": self.position}


@dataclass(frozen=True, slots=True)
class Message:
    """One LLRP message: its type name, id and decoded body."""

    type: str
    id: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    version: int = VERSION_1_0_1


@cache
def _kind(kind: str) -> tuple[str, int]:
    """(category, width) of a field kind: bits -> ('bits', n), ints -> ('int', bytes), ..."""
    if kind == "flag":
        return "flag", 1
    if kind.startswith(("bits:", "rsv:")):
        return kind[:4].rstrip(":"), int(kind.split(":")[1])
    if kind in _INT:
        return "int", _INT[kind][0]
    if kind.startswith("bytes:"):
        return "bytes", int(kind[6:])
    return kind, 0


@cache
def tv_size(type_: int) -> int:
    """Body size of a TV parameter."""
    size = 0
    for f in PARAMS[type_].fields:
        cat, width = _kind(f.kind)
        size += width if cat in ("int", "bytes") else width // 8 if cat in ("bits", "rsv", "flag") else 0
    return size
