"""How a POS frames a serial scanner's bytes into scans, pure (no port, no clock).

``LineFramer.feed(data, now)`` takes bytes as they arrive; ``idle(now)`` is called when none
came. A scan ends at its line terminator (CR, LF or CRLF; or TAB when the scanner is set so),
or when the line has been quiet for ``gap_s`` (the inter-character timeout: a scanner sends a
code in one burst, so a pause ends it even without a terminator). A line longer than
``max_scan`` is dropped whole, and so is the rest of it up to its end; a line with bytes no
mark code has (controls other than GS, DEL, Latin-1 beyond FNC1's 0xE8 stand-in) is dropped as
junk. Either way the next good scan gets through whole: it is never glued to junk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

GS: Final = 0x1D
FNC1: Final = 0xE8  # some scanners render FNC1 as this byte
GAP_S: Final = 0.1
MAX_SCAN: Final = 4096
_GOOD: Final = frozenset({GS, FNC1, *range(0x20, 0x7F)})


@dataclass(frozen=True, slots=True)
class Scan:
    code: str  # Latin-1, one character per byte (GS and 0xE8 kept for the identity layer)


@dataclass(frozen=True, slots=True)
class Junk:
    reason: str  # too_long, not_a_code
    size: int


Frame = Scan | Junk


class LineFramer:
    def __init__(self, terminator: bytes = b"\r", gap_s: float = GAP_S, max_scan: int = MAX_SCAN) -> None:
        self.tab = terminator == b"\t"
        self.gap_s, self.max_scan = gap_s, max_scan
        self._line = bytearray()
        self._overflow = 0  # bytes of a too-long line dropped so far (0: not in one)
        self._last: float | None = None

    def feed(self, data: bytes, now: float) -> list[Frame]:
        out = self.idle(now)
        self._last = now
        for byte in data:
            if byte == 0x09 if self.tab else byte in (0x0A, 0x0D):
                out.extend(self._end())
            elif self._overflow:
                self._overflow += 1
            else:
                self._line.append(byte)
                if len(self._line) > self.max_scan:
                    self._overflow = len(self._line)
                    self._line.clear()
        return out

    def idle(self, now: float) -> list[Frame]:
        """The inter-character timeout: a line quiet for ``gap_s`` has ended."""
        if self._last is not None and now - self._last >= self.gap_s and (self._line or self._overflow):
            return self._end()
        return []

    def _end(self) -> list[Frame]:
        if self._overflow:
            size, self._overflow = self._overflow, 0
            return [Junk("too_long", size)]
        if not self._line:
            return []  # the LF of a CRLF, or an empty line
        line = bytes(self._line)
        self._line.clear()
        if not set(line) <= _GOOD:
            return [Junk("not_a_code", len(line))]
        return [Scan(line.decode("latin-1"))]
