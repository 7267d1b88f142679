"""The shape of an LLRP layout (a field, a sub-parameter slot, a parameter or message) and the
tables they are registered in; the layouts themselves are data in ``params.py``,
``params_c1g2.py``, ``vendors.py`` and ``messages.py``, and ``schema.py`` is where the codec
reads them.

Type numbers, field widths and sub-parameter order from the EPCglobal Low Level Reader
Protocol standard (LLRP 1.0.1 §16 and LLRP 1.1 for the C1G2 capability/XPC bits). Names
are the ones the EdgeX device-rfid-llrp-go recordings use (the golden vectors), which
mostly follow the standard.

A field kind is one of: ``u8 u16 u32 u64 s8 s16 s32`` (integers), ``flag`` (1 bit, bool),
``bits:N`` (N-bit unsigned), ``rsv:N`` (N reserved bits, written as zero), ``u8v``
(u16 count + bytes), ``u16v``/``u32v`` (u16 count + integers), ``utf8v`` (u16 count + UTF-8),
``u1v`` (u16 bit count + bytes; the count is kept as ``<name>NumBits``), ``bytes:N``
(fixed bytes) and ``rest`` (bytes to the end of the parameter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Sub:
    """A sub-parameter slot: the key it is stored under, its type, and whether it repeats."""

    name: str
    type: int
    many: bool = False


@dataclass(frozen=True, slots=True)
class Def:
    type: int
    name: str
    fields: tuple[Field, ...] = ()
    subs: tuple[Sub, ...] = ()
    #: a parameter whose only content is one field is stored as that field's value
    flat: bool = False
    #: TV-encoded (types 1-127): 1-byte header, fixed length, no sub-parameters
    tv: bool = False
    #: accepts trailing vendor Custom parameters (stored as a list under "Custom")
    custom: bool = False
    by_type: dict[int, Sub] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_type.update({s.type: s for s in self.subs})


def F(spec: str) -> tuple[Field, ...]:
    """``"Name:kind Name:kind ..."`` -> fields."""
    return tuple(Field(*item.split(":", 1)) for item in spec.split())


CUSTOM: Final = 1023

PARAMS: Final[dict[int, Def]] = {}
MESSAGES: Final[dict[int, Def]] = {}
MESSAGE_TYPES: Final[dict[str, int]] = {}


def _param(d: Def) -> None:
    PARAMS[d.type] = d


def _message(d: Def) -> None:
    MESSAGES[d.type] = d
    MESSAGE_TYPES[d.name] = d.type


#: A Custom parameter whose (VendorID, Subtype) is here is decoded by its layout (vendors.py)
VENDOR_PARAMS: Final[dict[tuple[int, int], Def]] = {}


def _vendor(pen: int, subtype: int, d: Def) -> None:
    VENDOR_PARAMS[pen, subtype] = d
