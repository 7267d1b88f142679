"""The exit gate's decisions, pure: which way a tag is moving, and whether that alarms.

A gate is one LLRP reader whose antennas are listed inside → outside. ``Crossings`` follows
each EPC's reads: each time a tag's reads move from the inner half of the antennas to the
outer half it is walking **out**; from outer to inner, walking **in**. The direction is the
passage's latest, not its first: carried outer → inner → outer (back and forth past the
antennas), an item still walks out. A passage gives at most one crossing each way; a tag quiet
for ``window_s`` starts a new passage. A tag seen only on one side says nothing about its
direction (it is standing near the door, or passing in the street). Reads weaker than
``min_rssi`` say nothing at all: they are strays (a shelf by the door, the next checkout, the
street), which a store's RF reads now and then on either antenna.

``judge`` decides one crossing: only an item of this store (its GTIN is in the catalogue, or
its company prefix is the store's) that walks out unpaid — or whose chip is not the one its EPC
was issued with — alarms. Sold items, other stores' items and anything walking in are silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

Direction = Literal["out", "in"]
UNPAID: Final = "UNPAID"
CLONED: Final = "CLONED_TAG"


@dataclass(frozen=True, slots=True)
class Crossing:
    epc: str
    direction: Direction
    #: when the tag was first read at the gate in this passage, and when its direction was known
    first_read_at: float
    at: float
    tid: bytes | None = None


@dataclass(slots=True)
class _Passage:
    first_at: float
    last_at: float
    inner: bool | None = None  # the side of the tag's latest read (None: no read on a gate antenna yet)
    went_out: bool = False  # a crossing each way at most, per passage
    went_in: bool = False
    tid: bytes | None = None


@dataclass
class Crossings:
    """Direction of travel per EPC from reads on antennas ordered inside → outside."""

    antennas: Sequence[int]
    window_s: float = 3.0
    #: reads weaker than this (dBm) are strays and never move a tag; None: every read counts
    min_rssi: int | None = None
    strays: int = 0  # reads ignored as too weak
    _passages: dict[str, _Passage] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.antennas) < 2:
            raise ValueError("a gate needs at least two antennas, inside → outside")
        half = len(self.antennas) // 2
        self._inner, self._outer = frozenset(self.antennas[:half]), frozenset(self.antennas[half:])

    def read(
        self, epc: str, antenna: int, at: float, *, tid: bytes | None = None, rssi: int | None = None
    ) -> Crossing | None:
        """One read; the crossing it completes, if any (once per passage)."""
        if antenna not in self._inner and antenna not in self._outer:
            return None  # an antenna that is not part of this gate
        if self.min_rssi is not None and rssi is not None and rssi < self.min_rssi:
            self.strays += 1
            return None
        p = self._passages.get(epc)
        if p is None or at - p.last_at > self.window_s:
            p = self._passages[epc] = _Passage(at, at)
        p.last_at = max(p.last_at, at)
        p.tid = tid or p.tid
        inner, side = antenna in self._inner, p.inner
        p.inner = inner
        if side is None or side == inner:
            return None  # first seen, or still on the same side
        direction: Direction = "in" if inner else "out"
        if p.went_in if inner else p.went_out:
            return None  # that way once already in this passage
        p.went_in, p.went_out = p.went_in or inner, p.went_out or not inner
        return Crossing(epc, direction, p.first_at, at, p.tid)

    def passing(self, epc: str, now: float) -> bool:
        """The tag is still in a passage: its next reads belong to this one, not a new one."""
        p = self._passages.get(epc)
        return p is not None and now - p.last_at <= self.window_s

    def expire(self, now: float) -> None:
        """Forget passages quiet for longer than the window (memory stays bounded)."""
        for epc in [e for e, p in self._passages.items() if now - p.last_at > self.window_s]:
            del self._passages[epc]

    def __len__(self) -> int:
        return len(self._passages)


@dataclass(frozen=True, slots=True)
class Item:
    """What the store knows of the item behind a crossing."""

    ours: bool
    sold: bool
    cloned: bool = False


def judge(crossing: Crossing, item: Item | None) -> str | None:
    """The alarm's reason (``UNPAID`` or ``CLONED_TAG``), or None for silence."""
    if crossing.direction != "out" or item is None or not item.ours:
        return None
    if item.cloned:
        return CLONED
    return None if item.sold else UNPAID


def tid_matches(bound: bytes, read: bytes) -> bool:
    """A TID read agrees with the one the EPC is bound to: equal over the words both hold (a
    reader may read fewer words than were recorded, or more)."""
    n = min(len(bound), len(read))
    return n > 0 and bound[:n] == read[:n]


def ours(gtin: str, catalogue_has: bool, company_prefixes: Sequence[str]) -> bool:
    """This store's item: in its catalogue, or under one of its GS1 company prefixes (the GTIN's
    digits after the indicator)."""
    return catalogue_has or any(gtin[1:].startswith(p) for p in company_prefixes)
