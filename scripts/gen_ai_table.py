"""Generate ``edge_agent/codes/data/ai_table.json`` (read by ``codes/ai_table.py``) from the
GS1 Barcode Syntax Dictionary.

The dictionary (``edge_agent/codes/data/gs1-syntax-dictionary.txt``, GS1 AISBL, Apache-2.0,
its licence beside it) says for each AI whether it is one of the predefined-length AIs that
need no FNC1 separator after them (``*``), its components (type N/X/Y/Z, fixed or ``..max``
length, optional ``[...]``) and its Digital Link key qualifiers. The parser and the mark-code
builder read the generated table; ``tests/unit/test_ai_table.py`` checks it is up to date.

Run: ``.venv/bin/python scripts/gen_ai_table.py`` (``--check``: fail if the file would change).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "edge_agent" / "codes" / "data" / "gs1-syntax-dictionary.txt"
TARGET = ROOT / "edge_agent" / "codes" / "data" / "ai_table.json"
COMPONENT = re.compile(r"^(\[)?([NXYZ])(\.\.)?(\d+)((?:,[a-z0-9]+)*)(\])?$")


def entries(text: str) -> list[tuple[str, bool, int, int, str, tuple[tuple[str, ...], ...], str]]:
    """(ai, fnc1 needed, min length, max length, character sets, DL qualifier sequences, title)."""
    out = []
    for raw in text.splitlines():
        spec, _, title = raw.partition("#")
        words = spec.split()
        if not words:
            continue
        ais, rest = words[0], words[1:]
        predefined = bool(rest) and rest[0] == "*"
        if predefined:
            rest = rest[1:]
        low = high = 0
        sets: list[str] = []
        qualifiers: tuple[tuple[str, ...], ...] = ()
        for word in rest:
            m = COMPONENT.match(word)
            if m:
                optional, kind, variable, n = (
                    m.group(1) is not None,
                    m.group(2),
                    m.group(3) is not None,
                    int(m.group(4)),
                )
                high += n
                low += 0 if optional else (1 if variable else n)
                if kind not in sets:
                    sets.append(kind)
            elif word.startswith("dlpkey="):
                qualifiers = tuple(tuple(alt.split(",")) for alt in word.removeprefix("dlpkey=").split("|"))
        first, _, last = ais.partition("-")
        for ai in range(int(first), int(last or first) + 1) if last else [int(first)]:
            code = str(ai).zfill(len(first))
            out.append((code, not predefined, low, high, "".join(sets), qualifiers, title.strip()))
    return out


def render(text: str) -> str:
    """One JSON object, an AI a line: the table as data, not code (the formatter leaves it alone)."""
    rows = [
        f"  {json.dumps(ai)}: {json.dumps([fnc1, low, high, sets, qualifiers, title], ensure_ascii=False)}"
        for ai, fnc1, low, high, sets, qualifiers, title in entries(text)
    ]
    return "{\n" + ",\n".join(rows) + "\n}\n"


def main() -> int:
    wanted = render(SOURCE.read_text(encoding="utf-8"))
    if "--check" in sys.argv[1:]:
        same = TARGET.exists() and TARGET.read_text(encoding="utf-8") == wanted
        print("up to date" if same else f"{TARGET} is stale: run scripts/gen_ai_table.py")
        return 0 if same else 1
    TARGET.write_text(wanted, encoding="utf-8")
    print(f"{TARGET}: {wanted.count(chr(10)) - 2} AIs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
