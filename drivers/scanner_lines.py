"""How a POS frames a serial scanner's bytes into scans, pure (no port, no clock).

``LineFramer.feed(data, now)`` takes bytes as they arrive; ``idle(now)`` is called when none
came. A scan ends at its line terminator (CR, LF or CRLF; or TAB when the scanner is set so),
or when the line has been quiet for ``gap_s`` (the inter-character timeout: a scanner sends a
code in one burst, so a pause ends it even without a terminator). A line longer than
``max_scan`` is dropped, and so is the rest of it up to its end; a line with bytes no mark
code has (controls other than GS, DEL, Latin-1 beyond FNC1's 0xE8 stand-in) is dropped as
junk. Either way the next good scan gets through whole, even when it follows the junk at once,
with no terminator or pause between them: the end of a junk line is searched for a code that
the identity layer parses (a GS1 element string with its check digit, a symbology identifier,
FNC1, a Digital Link), and that code is the scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from edge_agent.codes import ParseError, parse

GS: Final = 0x1D
FNC1: Final = 0xE8  # some scanners render FNC1 as this byte
GAP_S: Final = 0.1
MAX_SCAN: Final = 4096
_GOOD: Final = frozenset({GS, FNC1, *range(0x20, 0x7F)})
#: how much of a junk line's end is searched for a scan glued to it (a mark code is < 200 bytes)
SALVAGE: Final = 512
#: where a scan can begin: a symbology identifier, FNC1, GS1's AI 01, a Digital Link
_STARTS: Final = (b"]d2", b"]C1", b"]Q3", b"]e0", bytes([FNC1]), b"01", b"http")
_LINE_END: Final = re.compile(rb"[\r\n]")
_TAB: Final = re.compile(rb"\t")


@dataclass(frozen=True, slots=True)
class Scan:
    code: str  # Latin-1, one character per byte (GS and 0xE8 kept for the identity layer)


@dataclass(frozen=True, slots=True)
class Junk:
    reason: str  # too_long, not_a_code
    size: int


Frame = Scan | Junk


def salvage(junk: bytes) -> int | None:
    """Where a scan begins at the end of ``junk`` (the longest run of code bytes it ends with,
    searched from the left for a start that parses to its end), or None."""
    start = len(junk)
    while start > 0 and junk[start - 1] in _GOOD and len(junk) - start < SALVAGE:
        start -= 1
    for p in range(start, len(junk)):
        if junk.startswith(_STARTS, p):
            try:
                parse(junk[p:].decode("latin-1"))
            except ParseError:
                continue
            return p
    return None


class LineFramer:
    def __init__(self, terminator: bytes = b"\r", gap_s: float = GAP_S, max_scan: int = MAX_SCAN) -> None:
        self._ends = _TAB if terminator == b"\t" else _LINE_END
        self.gap_s, self.max_scan = gap_s, max_scan
        self._line = bytearray()
        self._overflow = 0  # bytes of a too-long line dropped so far (0: not in one)
        self._tail = b""  # the last SALVAGE bytes of that line
        self._last: float | None = None

    def feed(self, data: bytes, now: float) -> list[Frame]:
        out = self.idle(now)
        self._last = now
        i = 0
        while i < len(data):
            end = self._ends.search(data, i)
            self._take(data[i : end.start() if end else len(data)])
            if end is None:
                break
            out.extend(self._end())
            i = end.end()
        return out

    def _take(self, piece: bytes) -> None:
        if self._overflow:
            self._overflow += len(piece)
            self._tail = (self._tail + piece[-SALVAGE:])[-SALVAGE:]
            return
        self._line += piece
        if len(self._line) > self.max_scan:
            self._overflow, self._tail = len(self._line), bytes(self._line[-SALVAGE:])
            self._line.clear()

    def idle(self, now: float) -> list[Frame]:
        """The inter-character timeout: a line quiet for ``gap_s`` has ended."""
        if self._last is not None and now - self._last >= self.gap_s and (self._line or self._overflow):
            return self._end()
        return []

    def _end(self) -> list[Frame]:
        if self._overflow:
            size, tail = self._overflow, self._tail
            self._overflow, self._tail = 0, b""
            return _junk("too_long", tail, size)
        if not self._line:
            return []  # the LF of a CRLF, or an empty line
        line = bytes(self._line)
        self._line.clear()
        if not set(line) <= _GOOD:
            return _junk("not_a_code", line, len(line))
        return [Scan(line.decode("latin-1"))]


def _junk(reason: str, end: bytes, size: int) -> list[Frame]:
    """A junk line of ``size`` bytes ending with ``end``: dropped, but for a scan glued to its end."""
    p = salvage(end)
    if p is None:
        return [Junk(reason, size)]
    return [Junk(reason, size - (len(end) - p)), Scan(end[p:].decode("latin-1"))]
