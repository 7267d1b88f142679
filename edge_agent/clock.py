"""Two clocks, each for its own job (docs/operations.md, "time").

Durations, deadlines and presence run on the monotonic clock: it never jumps, whatever NTP,
a bad RTC or a resumed VM do to the wall clock. The wall clock is only for what a person or
the law reads (receipts, journals, events), taken at the moment it is written. ``ClockWatch``
notices the wall clock jumping against the monotonic one, logs it and says so in health.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("edge_agent.clock")


@functools.cache
def boot_id() -> str:
    """This boot of the machine (the monotonic clock's readings compare only within one)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True, slots=True)
class Mono:
    """A monotonic reading kept beside a wall-clock time, with its boot: so a restarted daemon
    measures a wait begun before it restarted on the same clock (within one boot)."""

    at: float
    boot: str

    @classmethod
    def now(cls) -> Mono:
        return cls(time.monotonic(), boot_id())

    def age(self) -> float | None:
        """Seconds since this reading; None after a reboot (the caller falls back on its wall time)."""
        if not self.boot or self.boot != boot_id():
            return None
        return max(0.0, time.monotonic() - self.at)

    def to_json(self) -> dict[str, object]:
        return {"at": self.at, "boot": self.boot}

    @classmethod
    def from_json(cls, data: object) -> Mono | None:
        if not isinstance(data, Mapping):
            return None
        at, boot = data.get("at"), data.get("boot")
        return cls(float(at), boot) if isinstance(at, int | float) and isinstance(boot, str) else None


def wall_time(monotonic: float) -> float:
    """The wall-clock time (epoch s) of an earlier moment read on the monotonic clock."""
    return time.time() - max(0.0, time.monotonic() - monotonic)


@dataclass
class ClockWatch:
    """Each ``check`` compares how far the wall clock moved with how far the monotonic clock
    did; a difference past ``tolerance_s`` is a jump (an NTP step, a bad RTC, a VM resumed)."""

    tolerance_s: float = 1.0
    jumps: int = 0
    last_jump_s: float | None = None  # the last jump's size, + forward
    last_jump_at: float | None = None  # when (monotonic)
    _anchor: tuple[float, float] = field(default_factory=lambda: (time.time(), time.monotonic()))

    def check(self) -> float | None:
        """The jump since the last check (seconds, + forward), or None."""
        wall, mono = time.time(), time.monotonic()
        then_wall, then_mono = self._anchor
        self._anchor = (wall, mono)
        jump = (wall - then_wall) - (mono - then_mono)
        if abs(jump) <= self.tolerance_s:
            return None
        self.jumps += 1
        self.last_jump_s, self.last_jump_at = jump, mono
        log.warning("the wall clock jumped %+.1f s; durations, deadlines and presence are unaffected (monotonic)", jump)
        return jump

    def detail(self) -> dict[str, object]:
        ago = None if self.last_jump_at is None else round(time.monotonic() - self.last_jump_at, 1)
        return {
            "ok": True,  # a jump is worth knowing, not a fault: nothing depends on it
            "jumps": self.jumps,
            "last_jump_s": None if self.last_jump_s is None else round(self.last_jump_s, 1),
            "last_jump_ago_s": ago,
        }
