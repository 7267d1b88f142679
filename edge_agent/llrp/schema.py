"""LLRP 1.0.1/1.1 message and parameter layouts, as data: where the codec and the sessions
read them (the layouts are registered by the modules imported here).

Type numbers, field widths and sub-parameter order from the EPCglobal Low Level Reader
Protocol standard (LLRP 1.0.1 §16 and LLRP 1.1 for the C1G2 capability/XPC bits). Names
are the ones the EdgeX device-rfid-llrp-go recordings use (the golden vectors), which
mostly follow the standard.

A field kind is one of: ``u8 u16 u32 u64 s8 s16 s32`` (integers), ``flag`` (1 bit, bool),
``bits:N`` (N-bit unsigned), ``rsv:N`` (N reserved bits, written as zero), ``u8v``
(u16 count + bytes), ``u16v``/``u32v`` (u16 count + integers), ``utf8v`` (u16 count + UTF-8),
``u1v`` (u16 bit count + bytes; the count is kept as ``<name>NumBits``), ``bytes:N``
(fixed bytes) and ``rest`` (bytes to the end of the parameter).

Where things go: a parameter in ``params.py`` or ``params_c1g2.py``, a message in
``messages.py``, a vendor's parameter in ``vendors.py`` (docs/adr/0004).
"""

from __future__ import annotations

from edge_agent.llrp import messages, params, params_c1g2
from edge_agent.llrp.layouts import CUSTOM, MESSAGE_TYPES, MESSAGES, PARAMS, VENDOR_PARAMS, Def, F, Field, Sub
from edge_agent.llrp.vendors import (
    IMPINJ_ENABLE_EXTENSIONS,
    IMPINJ_ENABLE_EXTENSIONS_RESPONSE,
    PEN_ALIEN,
    PEN_IMPINJ,
    PEN_ZEBRA,
    SEARCH_MODES,
)

#: the tables are complete once these modules ran
LOADED = (params, params_c1g2, messages)

__all__ = [
    "CUSTOM",
    "IMPINJ_ENABLE_EXTENSIONS",
    "IMPINJ_ENABLE_EXTENSIONS_RESPONSE",
    "MESSAGES",
    "MESSAGE_TYPES",
    "PARAMS",
    "PEN_ALIEN",
    "PEN_IMPINJ",
    "PEN_ZEBRA",
    "SEARCH_MODES",
    "VENDOR_PARAMS",
    "Def",
    "F",
    "Field",
    "Sub",
]
