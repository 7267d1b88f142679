"""An excise stamp's PDF417 text, read and checked: pure.

A stamp (акцизная или федеральная специальная марка) carries a PDF417 code: 68 characters on
the older stamps, 150 on the current ones, uppercase Latin letters and digits only
(law-2026.md §4: the exact inner layout is not confirmed by a public source, so nothing here
depends on it beyond the length and alphabet; the current stamp's first 3 characters are its
type and the next 8 its number, shown to staff [inferred]). The whole text is what ЕГАИС's
cheque carries as ``barcode``. A scan that is not a stamp gets a ``StampError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from edge_agent.errors import EdgeError

LENGTHS: Final = {68: "old", 150: "new"}
ALPHABET: Final = re.compile(r"^[0-9A-Z]+$")


class StampError(EdgeError):
    """Not an excise stamp: ``bad_length`` or ``bad_chars``."""


@dataclass(frozen=True, slots=True)
class Stamp:
    text: str
    kind: Literal["old", "new"]

    @property
    def short(self) -> str:
        """What staff and the shopper see of it: the type and number of a current stamp, else
        the first and last characters."""
        if self.kind == "new":
            return f"{self.text[:3]}-{self.text[3:11]}"
        return f"{self.text[:6]}…{self.text[-4:]}"


def looks_like(text: str) -> bool:
    """The scan may be a stamp (and is no item's code): the length and alphabet of one."""
    return len(text) in LENGTHS and ALPHABET.match(text) is not None


def parse(text: str) -> Stamp:
    """The stamp in a scan, or ``StampError`` saying what is wrong with it."""
    text = text.strip()
    if len(text) not in LENGTHS:
        raise StampError("bad_length", f"an excise stamp has 68 or 150 characters, not {len(text)}")
    if ALPHABET.match(text) is None:
        raise StampError("bad_chars", "an excise stamp has only uppercase Latin letters and digits")
    kind: Literal["old", "new"] = "new" if len(text) == 150 else "old"
    return Stamp(text, kind)
