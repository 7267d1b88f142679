"""What stops a lane now, pushed to its kiosk and to the attendant as it happens: the lane's
receipt printer (paper, cover, fiscal drive, no answer), central's payment service silent, the
kiosk's own connection gone, a disk that takes no writes. Each fault has a stable code the
pages translate; ``since`` is wall-clock time, for people to read.

The rules are pure (``faults_of``); ``LaneFaults`` is the shell that looks every half second
and tells the hub which lanes' faults changed (kiosks re-render) and the attendant's queue
what is open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Protocol

#: the register's error kinds as lane faults (the rest of a refusal: ``register_error``)
REGISTER_FAULTS: Final = {
    "paper_out": "paper_out",
    "cover_open": "cover_open",
    "fn_full": "fn_blocked",
    "fn_blocked": "fn_blocked",
    "unavailable": "register_offline",
}
#: faults after which the lane takes no payment (the kiosk disables its pay buttons)
STOPS_PAYMENT: Final = frozenset(
    {"paper_out", "cover_open", "fn_blocked", "register_offline", "register_error", "payments_down"}
)


@dataclass(frozen=True, slots=True)
class LaneState:
    """What the shell read of one lane."""

    register: str | None = None  # the register's fault kind (REGISTER_FAULTS' keys), or None
    central_silent_s: float | None = None  # how long central has not answered, or None
    kiosk_gone_s: float | None = None  # how long its kiosk (once connected) has been away, or None
    paused: bool = False  # the disk takes no writes: the lane takes no items


def faults_of(s: LaneState, *, central_after_s: float, kiosk_after_s: float) -> tuple[str, ...]:
    """The lane's fault codes, most serious first. Central is "down" once it has been silent
    ``central_after_s`` (one lost answer is a retry, not a fault); a kiosk is "offline" once it
    has been away ``kiosk_after_s`` (a page reload is not)."""
    out = []
    if s.paused:
        out.append("storage")
    if s.register is not None:
        out.append(REGISTER_FAULTS.get(s.register, "register_error"))
    if s.central_silent_s is not None and s.central_silent_s >= central_after_s:
        out.append("payments_down")
    if s.kiosk_gone_s is not None and s.kiosk_gone_s >= kiosk_after_s:
        out.append("kiosk_offline")
    return tuple(out)


class _Desk(Protocol):
    def fault(self) -> str | None: ...


class LaneFaults:
    """``lanes``: the lane names; ``desk``: a lane's fiscal desk or None; ``central_silent_since``:
    since when central has not answered (monotonic) or None; ``kiosks``: a lane's connected
    kiosks; ``paused``: whether a lane takes no items; ``changed``: called with a lane whose
    faults changed."""

    def __init__(
        self,
        lanes: Callable[[], Iterable[str]],
        *,
        desk: Callable[[str], _Desk | None],
        central_silent_since: Callable[[], float | None],
        kiosks: Callable[[str], int],
        paused: Callable[[str], bool],
        changed: Callable[[str], None],
        central_after_s: float = 5.0,
        kiosk_after_s: float = 10.0,
    ) -> None:
        self.lanes, self.desk, self.central, self.kiosks = lanes, desk, central_silent_since, kiosks
        self.paused, self.changed = paused, changed
        self.central_after_s, self.kiosk_after_s = central_after_s, kiosk_after_s
        self._now: dict[str, tuple[str, ...]] = {}
        self._since: dict[tuple[str, str], float] = {}  # (lane, code) -> wall-clock start
        self._kiosk_seen: set[str] = set()  # lanes whose kiosk has connected since start
        self._kiosk_left: dict[str, float] = {}  # lane -> when its last kiosk left (monotonic)

    def of(self, lane: str) -> list[str]:
        return list(self._now.get(lane, ()))

    def open(self) -> list[tuple[str, str, float]]:
        """Every open fault as (lane, code, since), for the attendant."""
        return [
            (lane, code, self._since.get((lane, code), time.time()))
            for lane, codes in self._now.items()
            for code in codes
        ]

    def refresh(self) -> list[str]:
        """Look at every lane once; the lanes whose faults changed (each is told to ``changed``)."""
        mono, wall = time.monotonic(), time.time()
        silent_since = self.central()
        moved = []
        for lane in self.lanes():
            desk = self.desk(lane)
            state = LaneState(
                register=desk.fault() if desk is not None else None,
                central_silent_s=None if silent_since is None else mono - silent_since,
                kiosk_gone_s=self._kiosk_gone(lane, mono),
                paused=self.paused(lane),
            )
            codes = faults_of(state, central_after_s=self.central_after_s, kiosk_after_s=self.kiosk_after_s)
            if codes == self._now.get(lane, ()):
                continue
            for code in codes:
                self._since.setdefault((lane, code), wall)
            for code in set(self._now.get(lane, ())) - set(codes):
                self._since.pop((lane, code), None)
            self._now[lane] = codes
            moved.append(lane)
            self.changed(lane)
        return moved

    def _kiosk_gone(self, lane: str, mono: float) -> float | None:
        if self.kiosks(lane) > 0:
            self._kiosk_seen.add(lane)
            self._kiosk_left.pop(lane, None)
            return None
        if lane not in self._kiosk_seen:
            return None  # no kiosk here yet (a lane without one, or the store just started)
        return mono - self._kiosk_left.setdefault(lane, mono)

    async def run(self, every_s: float = 0.5) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(every_s)
