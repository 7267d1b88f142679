"""The read pipeline, pure: reads in, presence events out (docs/architecture.md).

``Pipeline.feed(read)`` assigns a read to a lane by its reader/antenna zone, rejects it when
it is too weak for that zone (a stray from the neighbouring lane) or when the tag is held
more strongly by another lane, and de-duplicates it per (lane, identity): a tag becomes
``Arrived`` once however many times it is read. ``Pipeline.tick(now)`` lets time pass: in a
**box** lane a tag not read for ``depart_after_s`` has ``Departed``. A box is ``Settled``
(with the set of tags in it) when the evidence says the reader has seen it all: enough of the
reader's inventory rounds went by with no new tag (see ``Rounds`` and ``rounds_needed``), or
at the latest ``settle_s`` after the last arrival or departure (a reader that does not repeat
tags each round, a ``fixed`` lane); in a **tap** lane every new tap (after the tag has been
away ``depart_after_s``) is an ``Arrived``, and removal is the basket's explicit action. A tag seen by a reader that
is offline (``reader_down``) never departs: not seeing it proves nothing; when the reader is
back (``reader_up``) the tag has ``depart_after_s`` to be read again. Nor does a tag depart
while its reader is merely quiet: for a reader that speaks with nothing in its field
(``hear``: LLRP's keepalives and reports), a tag departs only once the reader was heard
``depart_after_s`` after the tag was last seen; a reader gone silent on an open connection
holds its tags until it is found offline.

Identity here is the carrier's text (``kind`` + ``raw``): parsing costs time and happens
once per item, on arrival, above this layer. No I/O, no clock: times come with the reads
(``TagRead.received``, when the daemon got the read) and with ``tick``, both on the daemon's
monotonic clock; a reader's own timestamps are never compared with it, so a reader's clock
that lags or jumps, or the server's wall clock jumping, moves no tag.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from edge_agent.reads import TagRead

Mode = Literal["box", "tap"]
Settle = Literal["adaptive", "fixed"]
Key = tuple[str, str]  # (kind, raw)
NO_EVENTS: Final[tuple[()]] = ()
MIN_ROUNDS: Final = 2
MAX_MISS: Final = 0.9


@dataclass(frozen=True, slots=True)
class Zone:
    """Reads of ``reader_id`` on ``antennas`` (None: any antenna) belong to ``lane``. A driver
    that watches several slots names its reads ``{reader_id}:{slot}`` (PC/SC); the zone of
    ``reader_id`` covers all of them."""

    reader_id: str
    lane: str
    antennas: frozenset[int] | None = None
    #: reads weaker than this (dBm) are strays from elsewhere; None: no floor
    min_rssi: int | None = None


@dataclass(frozen=True, slots=True)
class LaneConfig:
    lane: str
    mode: Mode = "box"
    #: a box tag not read for this long has left; a tap tag must be away this long to tap again
    depart_after_s: float = 1.0
    #: ``adaptive``: a box is settled after enough inventory rounds with no new tag, and at the
    #: latest ``settle_s`` after its last change; ``fixed``: always ``settle_s`` after it
    settle_s: float = 0.5
    settle: Settle = "adaptive"
    #: the least chance a tag is missed in one round that the rule assumes (the lane measures
    #: the reader's and uses it when it is worse)
    miss_per_round: float = 0.05
    #: the chance, at most, that a settled box lacks an item that is in it
    settle_error: float = 0.001
    #: a tag held by another lane moves here when read stronger than its best there by more
    #: than this (0: any stronger read; each lane's best only grows, so it cannot flap forever)
    hysteresis_db: int = 0


@dataclass(frozen=True, slots=True)
class Arrived:
    lane: str
    key: Key
    read: TagRead


@dataclass(frozen=True, slots=True)
class Departed:
    lane: str
    key: Key
    last_seen: float


@dataclass(frozen=True, slots=True)
class Settled:
    lane: str
    present: frozenset[Key]
    at: float


Event = Arrived | Departed | Settled


def rounds_needed(tags: int, miss: float, error: float) -> int:
    """Rounds with no new tag after which a box of ``tags`` is taken as seen whole: an item
    still unseen was missed in each of them (the round the last new tag came in counts, once
    it ends), so the chance any is left is about ``tags · miss^rounds``; at most ``error``."""
    miss = min(max(miss, 1e-6), MAX_MISS)
    if error >= 1:
        return MIN_ROUNDS
    return max(MIN_ROUNDS, math.ceil(math.log(error / max(tags, 1)) / math.log(miss)))


class Rounds:
    """One antenna's inventory rounds, told from its reads: in a round (Gen2 session 0) a tag
    answers once, so a tag read again means the reader began a new round."""

    __slots__ = ("closed", "current", "last", "previous")

    def __init__(self, now: float) -> None:
        self.current: set[Key] = set()
        self.previous: set[Key] | None = None
        self.closed = 0  # rounds ended since the lane last changed
        self.last = now  # when this antenna last read a tag of the lane


class _Presence:
    __slots__ = ("best_rssi", "count", "first_seen", "last_seen", "reader")

    def __init__(self, now: float, rssi: int, reader: str) -> None:
        self.first_seen = self.last_seen = now
        self.best_rssi = rssi
        self.count = 1
        self.reader = reader  # the configured reader (zone) that sees it


class _Lane:
    __slots__ = ("adaptive", "changed_at", "config", "miss", "present", "rounds")

    def __init__(self, config: LaneConfig) -> None:
        self.config = config
        self.present: dict[Key, _Presence] = {}
        self.changed_at: float | None = None  # last arrival/departure not yet settled
        self.adaptive = config.mode == "box" and config.settle == "adaptive"
        #: while unsettled: each (reader, antenna)'s rounds since the lane changed
        self.rounds: dict[tuple[str, int], Rounds] = {}
        #: the reader's measured chance of missing a tag in a round (moving average)
        self.miss = config.miss_per_round

    def changed(self, now: float) -> None:
        self.changed_at = now
        for source in self.rounds.values():
            source.closed = 0

    def settle(self, now: float) -> Settled:
        """Settled after a change, even to the set it had before (emptied and filled again with
        the same items: they are new lines to check)."""
        self.changed_at = None
        self.rounds.clear()
        return Settled(self.config.lane, frozenset(self.present), now)

    def seen_whole(self) -> bool:
        """Every antenna that read the box since it changed has gone enough rounds without a new tag."""
        cfg, since = self.config, self.changed_at
        if since is None:
            return False
        needed = rounds_needed(len(self.present), max(cfg.miss_per_round, self.miss), cfg.settle_error)
        active = [s.closed for s in self.rounds.values() if s.last >= since]
        return bool(active) and min(active) >= needed


@dataclass
class Counters:
    reads: int = 0
    no_zone: int = 0
    too_weak: int = 0
    other_lane: int = 0


class Pipeline:
    def __init__(self, zones: Iterable[Zone], lanes: Iterable[LaneConfig]) -> None:
        self.lanes: dict[str, _Lane] = {c.lane: _Lane(c) for c in lanes}
        self._by_reader: dict[str, list[Zone]] = {}
        for z in zones:
            if z.lane not in self.lanes:
                raise ValueError(f"zone of {z.reader_id} names unknown lane {z.lane!r}")
            self._by_reader.setdefault(z.reader_id, []).append(z)
        self._zone_cache: dict[tuple[str, int], Zone | None] = {}
        #: which lane holds each tag, so that a neighbour's weaker reads do not steal it
        self.owner: dict[Key, str] = {}
        self.counters = Counters()
        #: readers that are not online: what they saw is not known to have left
        self.down: set[str] = set()
        #: when each reader that speaks without tags (``hear``) was last heard
        self.heard: dict[str, float] = {}

    def hear(self, reader_id: str, at: float) -> None:
        """The reader said something at ``at`` (a keepalive, a report): it was reading then."""
        self.heard[reader_id] = at

    def reader_down(self, reader_id: str) -> None:
        """The reader went offline: its tags do not depart while it cannot see them."""
        self.down.add(reader_id)

    def reader_up(self, reader_id: str, now: float) -> None:
        """The reader is back: its tags get a full ``depart_after_s`` from now to be read again."""
        if reader_id not in self.down:
            return
        self.down.discard(reader_id)
        for lane in self.lanes.values():
            for presence in lane.present.values():
                if presence.reader == reader_id:
                    presence.last_seen = max(presence.last_seen, now)

    def zone_of(self, reader_id: str, antenna: int) -> Zone | None:
        try:
            return self._zone_cache[reader_id, antenna]
        except KeyError:
            zones = self._by_reader.get(reader_id) or self._by_reader.get(reader_id.partition(":")[0], [])
            zone = next((z for z in zones if z.antennas is None or antenna in z.antennas), None)
            self._zone_cache[reader_id, antenna] = zone
            return zone

    def feed(self, read: TagRead) -> tuple[Event, ...]:
        """One read: usually no event (a duplicate), an ``Arrived``, or a move between lanes."""
        self.counters.reads += 1
        where = (read.reader_id, read.antenna)
        zone = self._zone_cache.get(where) or self.zone_of(read.reader_id, read.antenna)
        if zone is None:
            self.counters.no_zone += 1
            return NO_EVENTS
        rssi = read.rssi if read.rssi is not None else 0
        if zone.min_rssi is not None and rssi < zone.min_rssi:
            self.counters.too_weak += 1
            return NO_EVENTS
        key = (read.kind, read.raw)
        lane = self.lanes[zone.lane]
        now = read.received
        seen = lane.present.get(key)
        if seen is not None:
            seen.last_seen = now
            seen.count += 1
            if rssi > seen.best_rssi:  # noqa: PLR1730 (the hot path: a comparison costs less than a call)
                seen.best_rssi = rssi
            if lane.changed_at is None or not lane.adaptive:
                return NO_EVENTS
            source = lane.rounds.get(where)
            if source is not None and key not in source.current:  # inline: the usual case
                source.current.add(key)
                source.last = now
                return NO_EVENTS
            return self._round(lane, key, read)
        owner_name = self.owner.get(key)
        events: tuple[Event, ...] = NO_EVENTS
        if owner_name is not None and owner_name != zone.lane:
            owner = self.lanes[owner_name]
            held = owner.present.get(key)
            if held is not None:
                if rssi <= held.best_rssi + lane.config.hysteresis_db:
                    self.counters.other_lane += 1
                    return NO_EVENTS
                del owner.present[key]  # carried over to this lane
                owner.changed(now)
                events = (Departed(owner_name, key, held.last_seen),)
        lane.present[key] = _Presence(now, rssi, zone.reader_id)
        lane.changed(now)
        if lane.adaptive:
            self._round(lane, key, read)
        self.owner[key] = zone.lane
        return (*events, Arrived(zone.lane, key, read))

    def _round(self, lane: _Lane, key: Key, read: TagRead) -> tuple[Event, ...]:
        """Follow the rounds of the antenna that read ``key``; the box settles when it has gone
        enough of them with no new tag."""
        where = (read.reader_id, read.antenna)
        source = lane.rounds.get(where)
        if source is None:
            source = lane.rounds[where] = Rounds(read.received)
        source.last = read.received
        if key not in source.current:
            source.current.add(key)
            return NO_EVENTS
        source.closed += 1  # read again: a new round began
        if source.previous:
            missed = len(source.previous - source.current) / len(source.previous)
            lane.miss += (missed - lane.miss) * 0.2
        source.previous, source.current = source.current, {key}
        if lane.seen_whole():
            return (lane.settle(read.received),)
        return NO_EVENTS

    def tick(self, now: float) -> list[Event]:
        """Let time pass: departures from boxes, settled boxes, tap tags that left the pad."""
        events: list[Event] = []
        for name, lane in self.lanes.items():
            cfg = lane.config
            depart, down, heard = cfg.depart_after_s, self.down, self.heard
            gone = [  # not read for ``depart`` by a reader that is online and was heard reading since
                k
                for k, p in lane.present.items()
                if now - p.last_seen > depart
                and p.reader not in down
                and ((h := heard.get(p.reader)) is None or h - p.last_seen > depart)
            ]
            for key in gone:
                presence = lane.present.pop(key)
                if self.owner.get(key) == name:
                    del self.owner[key]
                if cfg.mode == "box":
                    lane.changed(now)
                    for source in lane.rounds.values():  # not a miss when it is read no more
                        source.current.discard(key)
                        if source.previous is not None:
                            source.previous.discard(key)
                    events.append(Departed(name, key, presence.last_seen))
            if cfg.mode == "box" and lane.changed_at is not None and now - lane.changed_at >= cfg.settle_s:
                events.append(lane.settle(now))
        return events

    def present(self, lane: str) -> Mapping[Key, float]:
        """The tags a lane holds now, with when each was first seen."""
        return {k: p.first_seen for k, p in self.lanes[lane].present.items()}
