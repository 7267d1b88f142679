"""GS1 building blocks: the GTIN check digit, GS1 CSET 82 and the AIs Chestny Znak uses.

Facts from the GS1 General Specifications and the GS1 Barcode Syntax Dictionary: the AI
formats, lengths and which AIs need a separator after them come from ``ai_table.py``, generated
from the dictionary itself (``scripts/gen_ai_table.py``); the Chestny Znak verification lengths
from the operator's published layouts, as collected in docs/sources.md §1.
"""

from __future__ import annotations

import re
from typing import Final

from edge_agent.codes.ai_table import AI_TABLE
from edge_agent.codes.errors import ParseError

GS: Final = "\x1d"

#: GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1).
CSET82: Final = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
_CSET82_SET: Final = frozenset(CSET82)
# Anything that is neither CSET 82 nor the GS separator.
_NOT_CSET82_OR_GS: Final = re.compile(r"[^!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z\x1d]")
_NOT_CSET82: Final = re.compile(r"[^!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]")

#: Fixed-length numeric AIs used in Chestny Znak codes: AI -> value length, from the dictionary.
#: Fixed length is not "no separator": of these only 01, 17, 310n and 335n are predefined-length
#: AIs; after 7003 and 8005 a GS follows when another AI does (``needs_separator``).
FIXED_AIS: Final[dict[str, int]] = {
    ai: AI_TABLE[ai][2]
    for ai in ("01", "17", "7003", "8005", *(f"310{d}" for d in "012345"), *(f"335{d}" for d in "012345"))
}
#: Variable-length AIs (GS-terminated): AI -> maximum length per GS1.
VARIABLE_AIS: Final[dict[str, int]] = {ai: AI_TABLE[ai][2] for ai in ("21", "240", "91", "92", "93")}
#: The predefined-length AIs (GS1 General Specifications table 7.8.8-1; the dictionary's ``*``):
#: the only ones a separator never follows
PREDEFINED: Final = frozenset(ai for ai, spec in AI_TABLE.items() if not spec[0])


def needs_separator(ai: str) -> bool:
    """Whether a GS must follow this AI's value when another element comes after it."""
    return ai not in PREDEFINED


#: Verification-part lengths Chestny Znak issues (91 key, 92 crypto, 93 short code).
CRYPTO_LENGTHS: Final[dict[str, tuple[int, ...]]] = {"91": (4,), "92": (44, 88), "93": (4,)}

_TWO_DIGIT: Final = frozenset({"01", "17", "21", "91", "92", "93"})
_FOUR_DIGIT: Final = frozenset(ai for ai in FIXED_AIS if len(ai) == 4)


def ai_at(text: str, pos: int) -> str | None:
    """The known AI that starts at ``pos``, or None."""
    two = text[pos : pos + 2]
    if two in _TWO_DIGIT:
        return two
    if two == "24":
        return "240" if text[pos + 2 : pos + 3] == "0" else None
    four = text[pos : pos + 4]
    return four if four in _FOUR_DIGIT else None


def check_digit(body: str) -> int:
    """GS1 mod-10 check digit of ``body`` (ASCII digits, without the check digit)."""
    b = body.encode("ascii")
    n = len(b)
    total = 3 * sum(b[-1::-2]) + sum(b[-2::-2]) - 48 * (3 * ((n + 1) // 2) + n // 2)
    return -total % 10


def gtin_is_valid(gtin: str) -> bool:
    """True for 14 ASCII digits whose last digit is the GS1 check digit."""
    if len(gtin) != 14 or not gtin.isascii() or not gtin.isdigit():
        return False
    b = gtin.encode("ascii")
    return (3 * sum(b[-2::-2]) + sum(b[-1::-2]) - 48 * 28) % 10 == 0


_GTIN_CACHE_SIZE: Final = 1 << 16
_valid_gtins: set[str] = set()  # a store sells a bounded catalogue: remember what passed


def check_gtin(gtin: str, position: int) -> None:
    """Raise the right ParseError when ``gtin`` (14 chars) is not a valid GTIN-14."""
    if gtin in _valid_gtins:
        return
    if len(gtin) != 14:
        raise ParseError("truncated", "the GTIN has 14 digits, the code ends first", position + len(gtin))
    if not (gtin.isascii() and gtin.isdigit()):
        bad = next(i for i, c in enumerate(gtin) if not ("0" <= c <= "9"))
        raise ParseError("invalid_character", f"GTIN must be 14 digits, found {gtin[bad]!r}", position + bad)
    if not gtin_is_valid(gtin):
        want = check_digit(gtin[:13])
        raise ParseError(
            "gtin_check_digit",
            f"GTIN {gtin} has check digit {gtin[13]}, expected {want}",
            position + 13,
        )
    if len(_valid_gtins) >= _GTIN_CACHE_SIZE:
        _valid_gtins.clear()
    _valid_gtins.add(gtin)


def first_non_cset82(text: str, allow_gs: bool = False) -> int:
    """Index of the first character outside CSET 82 (and GS when allowed), or -1."""
    m = (_NOT_CSET82_OR_GS if allow_gs else _NOT_CSET82).search(text)
    return -1 if m is None else m.start()


def is_cset82(text: str) -> bool:
    return _NOT_CSET82.search(text) is None
