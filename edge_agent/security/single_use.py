"""Codes good for one use, where they were first shown (the app's signed loyalty QR), store-wide
and for their lifetime (docs/security.md). Pure: the clock is passed in.

A photo of a customer's QR must not spend their points on another lane: the first basket a code
is shown on holds it; the same basket may show it again (a retry), any other is refused. Only a
digest of the code is kept, and only for ``keep_s`` (longer than any code lives).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass
class SingleUse:
    keep_s: float = 20 * 60.0
    max_codes: int = 100_000
    _held: dict[str, tuple[str, float]] = field(default_factory=dict)

    def claim(self, code: str, holder: str, now: float) -> bool:
        """True when ``holder`` may use ``code``: the first to show it, or the one that did."""
        if len(self._held) >= self.max_codes:
            self._held = {d: (h, at) for d, (h, at) in self._held.items() if at > now - self.keep_s}
        digest = hashlib.sha256(code.encode()).hexdigest()
        held = self._held.get(digest)
        if held is not None and held[1] > now - self.keep_s:
            return held[0] == holder
        self._held[digest] = (holder, now)
        return True
