"""How many connections the HTTP server holds, and from whom (docs/security.md). Pure: the
clock is passed in.

Three ceilings, checked when a connection is accepted (before TLS, before HTTP): ``per_address``
connections from one address; ``total`` connections in all, kept below the process's file
limit (read at start-up) so that accepting never runs out of descriptors; and, of that total,
``reserved`` that only addresses where an enrolled device (a kiosk, a handheld) was recently
seen may take, so a flood from unknown addresses cannot starve the lanes. An address is not an
identity: it only earns a place in the queue, never a right (the device still shows its
credential on every request).
"""

from __future__ import annotations

import resource
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

#: descriptors left to everything but HTTP (the database, MQTT, readers, registers, logs)
HEADROOM: Final = 128
KNOWN_FOR_S: Final = 3600.0


@dataclass
class ConnectionLimits:
    per_address: int
    total: int
    reserved: int
    known_for_s: float = KNOWN_FOR_S
    open_total: int = 0
    open: dict[str, int] = field(default_factory=dict)
    known: dict[str, float] = field(default_factory=dict)  # address -> when a device was last seen there
    refused: Counter[str] = field(default_factory=Counter)  # why: per_address, ceiling
    last_ceiling_at: float | None = None
    handshakes_timed_out: int = 0
    accept_errors: int = 0

    @classmethod
    def for_process(cls, per_address: int, max_total: int) -> ConnectionLimits:
        """The ceilings for this process: ``max_total`` at most, and the file limit less the headroom."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        total = max(16, min(max_total, soft - HEADROOM)) if soft != resource.RLIM_INFINITY else max_total
        return cls(per_address=per_address, total=total, reserved=max(4, total // 4))

    def admit(self, address: str, now: float) -> str | None:
        """Take a place for a connection from ``address``; why not, when refused."""
        if self.open.get(address, 0) >= self.per_address:
            why = "per_address"
        elif self.open_total >= self.total - (0 if self.is_known(address, now) else self.reserved):
            why, self.last_ceiling_at = "ceiling", now
        else:
            self.open[address] = self.open.get(address, 0) + 1
            self.open_total += 1
            return None
        self.refused[why] += 1
        return why

    def release(self, address: str) -> None:
        left = self.open.get(address, 1) - 1
        if left > 0:
            self.open[address] = left
        else:
            self.open.pop(address, None)
        self.open_total = max(0, self.open_total - 1)

    def saw_device(self, address: str, now: float) -> None:
        """An enrolled device's credential came from ``address``: it may use the reserved share."""
        if len(self.known) >= 10_000 and address not in self.known:
            self.known = {a: t for a, t in self.known.items() if now - t < self.known_for_s}
        self.known[address] = now

    def is_known(self, address: str, now: float) -> bool:
        seen = self.known.get(address)
        return seen is not None and now - seen < self.known_for_s

    def health(self, now: float, recent_s: float = 60.0) -> dict[str, object]:
        at_ceiling = self.last_ceiling_at is not None and now - self.last_ceiling_at < recent_s
        return {
            "ok": not at_ceiling,
            "open": self.open_total,
            "ceiling": self.total,
            "reserved_for_devices": self.reserved,
            "per_address": self.per_address,
            "refused": dict(self.refused),
            "handshakes_timed_out": self.handshakes_timed_out,
            "accept_errors": self.accept_errors,
            "at_ceiling": at_ceiling,
        }
