"""Chestny Znak mark codes: GS1 DataMatrix element strings and the 29-character tobacco pack.

Parsed by structure, AI by AI, never by searching for "91"/"93" (they occur inside serials).
Input here is already normalised by :mod:`edge_agent.codes.parser`: separators are real GS
characters and symbology prefixes are gone. Positions in errors index that text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from edge_agent.codes.errors import ParseError
from edge_agent.codes.gs1 import (
    CRYPTO_LENGTHS,
    FIXED_AIS,
    GS,
    VARIABLE_AIS,
    ai_at,
    check_gtin,
    first_non_cset82,
)
from edge_agent.codes.identity import Identity, Kind

TOBACCO_PACK_LENGTH: Final = 29
# Serial lengths Chestny Znak issues, most common first: 13 most groups, 6 milk, 7 beer and
# tobacco, 20 cameras. Used only to place missing separators.
_SERIAL_LENGTHS: Final = (13, 6, 7, 20)
_GROUPS_91_92: Final = ("lp", "shoes", "perfumery", "tires", "bicycle", "wheelchairs", "pharma", "bio", "antiseptic")


@lru_cache(maxsize=256)
def candidate_groups(serial_length: int, layout: str, extra_ais: tuple[str, ...]) -> tuple[str, ...]:
    """Product groups (short names, reference §1.2) a code of this shape can belong to."""
    if "8005" in extra_ais or layout == "cz-tobacco-pack":
        return ("tobacco", "ncp")
    if "240" in extra_ais or layout == "cz-91-92-88":
        return ("shoes",)
    if any(ai.startswith("310") for ai in extra_ais):
        return ("milk",)
    if any(ai.startswith("335") for ai in extra_ais):
        return ("beer", "nabeer")
    if layout == "cz-91-92-44":
        return ("electronics",) if serial_length == 20 else _GROUPS_91_92
    if serial_length == 6:
        return ("milk",)
    if serial_length == 7:
        return ("beer", "nabeer", "tobacco", "ncp")
    if layout == "cz-93":
        return ("water", "softdrinks", "bio", "antiseptic")
    return ()


def _layout(crypto: dict[str, str] | None) -> str:
    if crypto is None:
        return "cz-ki-only"
    if "93" in crypto:
        return "cz-93"
    return "cz-91-92-88" if len(crypto["92"]) == 88 else "cz-91-92-44"


def identity_from_elements(
    kind: Kind,
    gtin: str,
    serial: str,
    *,
    elements: list[tuple[str, str]],
    end: int,
    inferred: bool = False,
    raw: str = "",
) -> Identity:
    """The Identity of ``01 gtin 21 serial`` followed by ``elements``; checks the verification part."""
    crypto: dict[str, str] | None = None
    extra: dict[str, str] = {}
    for ai, value in elements:
        if ai in CRYPTO_LENGTHS:
            if crypto is None:
                crypto = {}
            crypto[ai] = value
        else:
            extra[ai] = value
    if crypto is not None:
        if "93" in crypto and len(crypto) > 1:
            raise ParseError("unknown_layout", "a code carries either 93 or 91+92, not both", end)
        if "93" not in crypto and len(crypto) == 1:
            missing = "92" if "91" in crypto else "91"
            raise ParseError("truncated", f"verification part incomplete: AI {missing} missing", end)
        if "92" in crypto:  # canonical order 91, 92 whatever the code had
            crypto = {"91": crypto["91"], "92": crypto["92"]}
    layout = _layout(crypto)
    groups = candidate_groups(len(serial), layout, tuple(extra) if extra else ())
    return Identity(kind, gtin, serial, layout, groups, tuple(elements), crypto, extra, None, None, inferred, raw)


def check_value(ai: str, value: str, position: int) -> None:
    allowed = CRYPTO_LENGTHS.get(ai)
    if allowed is not None:
        if len(value) not in allowed:
            want = " or ".join(map(str, allowed))
            raise ParseError("bad_length", f"AI {ai} must be {want} characters, found {len(value)}", position)
    elif not value:
        raise ParseError("bad_length", f"AI {ai} is empty", position)
    elif len(value) > VARIABLE_AIS[ai]:
        raise ParseError(
            "bad_length", f"AI {ai} is at most {VARIABLE_AIS[ai]} characters, found {len(value)}", position
        )


def _fixed_value(text: str, ai: str, start: int) -> str:
    length = FIXED_AIS[ai]
    value = text[start : start + length]
    if len(value) < length:
        raise ParseError("truncated", f"AI {ai} needs {length} digits, the code ends first", len(text))
    if not value.isdigit():
        bad = next(i for i, c in enumerate(value) if not c.isdigit())
        raise ParseError("invalid_character", f"AI {ai} takes digits only, found {value[bad]!r}", start + bad)
    return value


def parse_gs1(text: str) -> Identity:
    """Parse a GS1 element string ``01 GTIN 21 serial [GS AI value]...``."""
    n = len(text)
    if text[0] == GS:
        raise ParseError("bad_separator", "the code starts with a GS separator", 0)
    bad = first_non_cset82(text, allow_gs=True)
    if bad >= 0:
        raise ParseError("invalid_character", f"{text[bad]!r} is not in GS1 character set 82", bad)
    if text[:2] != "01":
        raise ParseError("unknown_layout", "a mark code starts with AI 01 (GTIN)", 0)
    gtin = text[2:16]
    check_gtin(gtin, 2)
    if text[16:18] != "21":
        if n <= 18:
            raise ParseError("truncated", "the code ends after the GTIN; AI 21 (serial) expected", n)
        raise ParseError("unknown_layout", "AI 21 (serial) must follow the GTIN", 16)
    pos = text.find(GS, 18)
    if pos < 0:
        return _parse_without_separators(text, gtin)
    serial = text[18:pos]
    if not 0 < len(serial) <= 20:
        check_value("21", serial, 18)

    elements: list[tuple[str, str]] = []
    seen = ["01", "21"]
    while pos < n:
        if text[pos] == GS:
            pos += 1
            if pos == n:
                break  # one trailing GS: some scanners append it
            if text[pos] == GS:
                raise ParseError("bad_separator", "two GS separators in a row", pos)
        ai = ai_at(text, pos)
        if ai is None:
            raise ParseError("unknown_ai", f"unknown application identifier at {text[pos : pos + 4]!r}", pos)
        if ai in seen:
            raise ParseError("duplicate_ai", f"AI {ai} appears twice", pos)
        seen.append(ai)
        start = pos + len(ai)
        if ai in FIXED_AIS:
            value = _fixed_value(text, ai, start)
            pos = start + len(value)
        else:
            pos = text.find(GS, start)
            if pos < 0:
                pos = n
            value = text[start:pos]
            check_value(ai, value, start)
        elements.append((ai, value))
    return identity_from_elements("datamatrix", gtin, serial, elements=elements, end=n, inferred=False, raw=text)


def _tail_without_separators(text: str, pos: int) -> list[tuple[str, str]] | None:
    """AIs after the serial in a code whose scanner dropped every GS, or None if they don't fit."""
    n = len(text)
    elements: list[tuple[str, str]] = []
    seen: set[str] = set()
    while pos < n:
        ai = ai_at(text, pos)
        if ai is None or ai in seen or ai in ("01", "21"):
            return None
        seen.add(ai)
        start = pos + len(ai)
        if ai in FIXED_AIS:
            length = FIXED_AIS[ai]
        elif ai == "92":  # the crypto code is always last
            length = n - start
            if length not in CRYPTO_LENGTHS["92"]:
                return None
        elif ai == "240":
            length = 4  # Chestny Znak puts a 4-digit ТН ВЭД group code here
        else:
            length = CRYPTO_LENGTHS[ai][0]
        value = text[start : start + length]
        if len(value) < length or ((ai in FIXED_AIS or ai == "240") and not value.isdigit()):
            return None
        elements.append((ai, value))
        pos = start + length
    return elements


def _parse_without_separators(text: str, gtin: str) -> Identity:
    """A code whose scanner dropped every GS: try the serial lengths Chestny Znak issues first,
    then any other, and take the first split whose tail is a complete verification part."""
    rest = len(text) - 18
    candidates = [*_SERIAL_LENGTHS, *(n for n in range(20, 0, -1) if n not in _SERIAL_LENGTHS)]
    for length in candidates:
        if length >= rest:
            continue
        elements = _tail_without_separators(text, 18 + length)
        if elements is None or not any(ai in CRYPTO_LENGTHS for ai, _ in elements):
            continue
        try:
            return identity_from_elements(
                "datamatrix", gtin, text[18 : 18 + length], elements=elements, end=len(text), inferred=True, raw=text
            )
        except ParseError:
            continue
    if 0 < rest <= VARIABLE_AIS["21"]:
        return identity_from_elements(
            "datamatrix", gtin, text[18:], elements=[], end=len(text), inferred=False, raw=text
        )
    raise ParseError(
        "bad_separator",
        "no GS separators, and the serial's end cannot be told from the code's structure",
        18,
    )


def parse_tobacco_pack(text: str) -> Identity:
    """The 29-character tobacco pack code: GTIN14 + serial7 + price4 + check4, no AIs."""
    check_gtin(text[:14], 0)
    bad = first_non_cset82(text[14:])
    if bad >= 0:
        raise ParseError("invalid_character", f"{text[14 + bad]!r} is not in GS1 character set 82", 14 + bad)
    serial = text[14:21]
    layout = "cz-tobacco-pack"
    return Identity(
        "tobacco_pack",
        text[:14],
        serial,
        layout,
        candidate_groups(7, layout, ()),
        pack_tail=text[21:],
        raw=text,
    )
