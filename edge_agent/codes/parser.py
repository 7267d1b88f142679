"""``parse``: any text a scanner, a tag or a person hands the agent -> ``Identity``.

Accepts a Chestny Znak DataMatrix code (separators as the GS byte, written out as ``\\x1d``,
``\\u001d`` or ``<GS>``, or missing; a leading ``]d2`` symbology identifier or an FNC1
rendered as 0xE8), the 29-character tobacco pack, an SGTIN-96/198 EPC in hex and a GS1
Digital Link URI. Anything else raises :class:`ParseError`; no other exception escapes.
"""

from __future__ import annotations

import re
from typing import Final

from edge_agent.codes.digital_link import parse_digital_link
from edge_agent.codes.epc import decode_sgtin96, decode_sgtin198
from edge_agent.codes.errors import ParseError
from edge_agent.codes.gs1 import GS
from edge_agent.codes.identity import Identity
from edge_agent.codes.markcode import TOBACCO_PACK_LENGTH, parse_gs1, parse_tobacco_pack

_BLANK: Final = " \t\r\n"
_HEX: Final = "0123456789abcdefABCDEF"
# Symbology identifiers (ISO/IEC 15424) scanners put in front: GS1 DataMatrix, DataMatrix,
# GS1-128, GS1 QR, GS1 DataBar.
_SYMBOLOGY_IDS: Final = frozenset({"]d2", "]d1", "]C1", "]Q3", "]e0"})
# FNC1 as some scanners render it: 0xE8 read as Latin-1, or a raw 0xE8 byte that
# failed UTF-8 decoding (surrogateescape).
_FNC1: Final = ("\xe8", "\udce8")
_WRITTEN_SEPARATOR: Final = re.compile(r"\\x1[dD]|\\u001[dD]|<GS>|[\xe8\udce8]")


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """Replace written-out separators with GS; also the map back to input positions."""
    if "\\" not in text and "<GS>" not in text and "\xe8" not in text and "\udce8" not in text:
        return text, None  # the common case, decided by four substring searches
    out: list[str] = []
    origin: list[int] = []
    last = 0
    for m in _WRITTEN_SEPARATOR.finditer(text):
        out.append(text[last : m.start()])
        origin.extend(range(last, m.start()))
        out.append(GS)
        origin.append(m.start())
        last = m.end()
    out.append(text[last:])
    origin.extend(range(last, len(text) + 1))  # +1: an error "at the end" maps to the end
    return "".join(out), origin


def parse(text: str) -> Identity:
    """Parse one code. Raises :class:`ParseError` (``code``, ``message``, ``position``)."""
    if not isinstance(text, str):
        raise TypeError(f"parse() takes str, not {type(text).__name__}")
    code = text.strip(_BLANK)
    if not code:
        raise ParseError("empty_input", "no code given", 0)
    if len(code) == len(text):
        return _parse_stripped(code)
    offset = len(text) - len(text.lstrip(_BLANK))
    try:
        return _parse_stripped(code)
    except ParseError as e:
        e.position += offset
        raise


def _parse_stripped(code: str) -> Identity:
    n = len(code)
    if n in {24, 50, 52}:
        header = code[:2]
        if header == "30":
            return decode_sgtin96(code)
        if header == "36":
            return decode_sgtin198(code)
        # "01..." of this length is a mark code whose scanner dropped the separators
        if header != "01" and not code.strip(_HEX):
            raise ParseError("unsupported_epc", f"EPC header 0x{header.upper()} is neither SGTIN-96 nor SGTIN-198", 0)
    if (code[0] == "h" or code[0] == "H") and code[:4].lower() == "http":
        return parse_digital_link(code)

    skipped = 0
    if code[0] == "]":
        if code[:3] not in _SYMBOLOGY_IDS:
            raise ParseError("unknown_layout", f"unknown symbology identifier {code[:3]!r}", 0)
        skipped = 3
    if code[skipped : skipped + 1] in _FNC1:
        skipped += 1
    body = code[skipped:]
    if not body:
        raise ParseError("truncated", "nothing after the symbology identifier", skipped)
    body, origin = _normalise(body)
    try:
        if len(body) == TOBACCO_PACK_LENGTH and GS not in body and body[:14].isdigit():
            return parse_tobacco_pack(body)
        return parse_gs1(body)
    except ParseError as e:
        if origin is not None:
            e.position = origin[min(e.position, len(origin) - 1)]
        e.position += skipped
        raise
