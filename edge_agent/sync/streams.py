"""Central → edge streams (catalog and prices, received КИ→КМ codes), applied in order. Pure.

Each stream has a retained ``snapshot`` (the whole state at version v) and ``delta`` messages
(the change from v-1 to v). Delivery is at least once and a reconnect may replay the retained
snapshot, so ``StreamState.offer`` decides what to do with each message: a snapshot newer than
what we have replaces it; a delta for the next version applies; an old or repeated message is
ignored; a delta from the future is held until the gap closes (or a newer snapshot covers it).
Whatever the order and repetition of deliveries, the result equals in-order application.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

STREAMS: Final = ("catalog", "codes")


@dataclass(frozen=True, slots=True)
class Apply:
    version: int
    snapshot: bool
    data: dict[str, Any]


@dataclass
class StreamState:
    version: int = -1  # nothing applied yet
    held: dict[int, dict[str, Any]] = field(default_factory=dict)
    ignored: int = 0
    #: a message more than this many versions ahead of what is applied is refused: one forged
    #: "version 999999999" would otherwise make every real update after it look old
    max_jump: int = 100_000
    refused: int = 0

    def offer(self, kind: Literal["snapshot", "delta"], version: int, data: dict[str, Any]) -> list[Apply]:
        """What to apply now, in order (possibly several held deltas after this one)."""
        out: list[Apply] = []
        if self.version >= 0 and version > self.version + self.max_jump:
            self.refused += 1
            return out
        if kind == "snapshot":
            if version <= self.version:
                self.ignored += 1
                return out
            out.append(Apply(version, True, data))
            self.version = version
            self.held = {v: d for v, d in self.held.items() if v > version}
        elif version <= self.version or version in self.held:
            self.ignored += 1
            return out
        elif version == self.version + 1:
            out.append(Apply(version, False, data))
            self.version = version
        else:
            self.held[version] = data
            return out
        while self.version + 1 in self.held:
            self.version += 1
            out.append(Apply(self.version, False, self.held.pop(self.version)))
        return out
