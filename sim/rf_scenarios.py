"""Boxes and gate passages in virtual time, over the RF model (``sim/rf.py``): the property tests
of the settle and gate rules and ``bench/rf.py`` play them through the pure pipeline and gate
rules, without sockets or sleeps."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from edge_agent.pipeline import Arrived, LaneConfig, Pipeline, Settle, Settled, Zone
from sim.rf import InventoryModel, SimTag, virtual_reads

STEP_S = 0.005
Arrival = Literal["tipped", "one_by_one"]


@dataclass(frozen=True, slots=True)
class BoxOutcome:
    #: the first settled basket after the last item's first read equals what is in the box
    right: bool
    #: after the reader went on reading, the lane holds exactly what is in the box
    right_in_the_end: bool
    #: from the last item's first read to the box settled, seconds
    settle_s: float


def epc_of(i: int) -> bytes:
    return b"\x30\x14" + i.to_bytes(10, "big")


def play_box(
    rng: random.Random,
    items: int,
    *,
    arrival: Arrival = "tipped",
    reads_per_s: float = 1500,
    miss_rate: float = 0.05,
    missed_rounds: float = 0.0,
    settle: Settle = "adaptive",
    settle_s: float = 1.0,
    after_s: float = 2.0,
) -> BoxOutcome:
    """``items`` tags go into a box (all at once, or one by one in random order over a second);
    the reader reads on for ``after_s`` after the last one."""
    lane = LaneConfig("lane", settle=settle, settle_s=settle_s, depart_after_s=5.0)
    pipeline = Pipeline([Zone("box", "lane")], [lane])
    model = InventoryModel(random.Random(rng.random()), reads_per_s, miss_rate, missed_rounds=missed_rounds)
    order = list(range(items))
    rng.shuffle(order)
    when = [0.0] * items if arrival == "tipped" else sorted(rng.uniform(0, 1.0) for _ in order)
    pending = [(t, SimTag(epc_of(i), {1: (-50, -40)})) for t, i in zip(when, order, strict=True)]
    contents = {tag.epc.hex().upper() for _, tag in pending}
    last_placed = pending[-1][1].epc.hex().upper()
    tags: list[SimTag] = []
    t, end = 0.0, pending[-1][0] + after_s
    last_first_read: float | None = None
    first_settled: Settled | None = None
    while t < end:
        while pending and pending[0][0] <= t:
            tags.append(pending.pop(0)[1])
        events = [
            e
            for r in virtual_reads(model, tags, "box", start=t, end=t + STEP_S, step_s=STEP_S)
            for e in pipeline.feed(r)
        ]
        t += STEP_S
        events += pipeline.tick(t)
        for e in events:
            if isinstance(e, Arrived) and e.key[1] == last_placed:
                last_first_read = e.read.received
            elif isinstance(e, Settled) and last_first_read is not None and first_settled is None:
                first_settled = e
    assert last_first_read is not None and first_settled is not None, "the box never settled"
    return BoxOutcome(
        right={k[1] for k in first_settled.present} == contents,
        right_in_the_end={k[1] for k in pipeline.present("lane")} == contents,
        settle_s=first_settled.at - last_first_read,
    )


# -- exit gates ------------------------------------------------------------------------------
GateWalk = Literal["out", "back_and_forth", "in", "linger"]
Owner = Literal["unpaid", "sold", "foreign", "returned", "foil"]
#: who passes the gate, and how often: (owner, walk, weight)
PASSERS: tuple[tuple[Owner, GateWalk, float], ...] = (
    ("unpaid", "out", 0.30),  # walking away with an item not paid (a walk-away, a thief)
    ("unpaid", "back_and_forth", 0.05),  # carried out, back in, and out again
    ("sold", "out", 0.30),
    ("foreign", "out", 0.10),  # another shop's tagged item
    ("returned", "in", 0.10),  # a sold item brought back to be returned
    ("unpaid", "in", 0.05),
    ("unpaid", "linger", 0.05),  # standing inside the door with it, then back into the store
    ("foil", "out", 0.05),  # an unpaid item in a foil-lined bag: never read
)


@dataclass(frozen=True, slots=True)
class GateOutcome:
    passages: int
    #: unpaid items that walked out readable (not in foil), and how many of them alarmed
    unpaid_out: int
    detected: int
    #: alarms for anything else (sold, returned, foreign, lingering, shelf tags)
    false_alarms: int
    foil: int
    #: from the item entering the outer antenna's field to its alarm, seconds, per alarm
    latencies: tuple[float, ...]
    shelf_reads: int


@dataclass
class _Walker:
    tag: SimTag
    owner: Owner
    walk: GateWalk
    legs: list[tuple[int, float]]  # (antenna, until) in order
    outer_since: float | None = None


def play_gate(
    rng: random.Random,
    passages: int,
    *,
    min_rssi: int | None = -70,
    shelf_tags: int = 12,
    reads_per_s: float = 1500,
    miss_rate: float = 0.05,
    arrivals_per_s: float = 3.0,
) -> GateOutcome:
    """``passages`` people pass a two-antenna gate (1 inside, 2 outside), arriving at random,
    several in the field at once, while ``shelf_tags`` tags on a shelf by the door are read
    weakly now and then on both antennas. Each read goes through the gate's pure rules."""
    from edge_agent.gate.rules import Crossings, Item, judge

    crossings = Crossings([1, 2], window_s=3.0, min_rssi=min_rssi)
    model = InventoryModel(random.Random(rng.random()), reads_per_s, miss_rate)
    tags: list[SimTag] = []
    for i in range(shelf_tags):
        shelf = SimTag(b"\x30\x99" + i.to_bytes(10, "big"), {1: (-82, -71), 2: (-84, -72)}, stray=True)
        shelf.read_chance = 0.1
        tags.append(shelf)
    facts: dict[str, Item] = {t.epc.hex().upper(): Item(ours=True, sold=False) for t in tags}
    owners: dict[str, Owner | Literal["shelf"]] = dict.fromkeys(facts, "shelf")
    walks: dict[str, GateWalk] = {}
    weights = [w for _, _, w in PASSERS]
    walkers: dict[str, _Walker] = {}
    alarmed: dict[str, float] = {}
    latencies: list[float] = []
    t, next_arrival, started = 0.0, 0.0, 0
    shelf_reads = 0
    while started < passages or walkers:
        if started < passages and t >= next_arrival:
            owner, walk, _ = rng.choices(PASSERS, weights)[0]
            epc = b"\x30\x14" + (started + 1).to_bytes(10, "big")
            key = epc.hex().upper()
            pace = rng.uniform(0.25, 0.7)  # seconds in each antenna's field
            path = {"out": (1, 2), "back_and_forth": (1, 2, 1, 2), "in": (2, 1), "linger": (1,)}[walk]
            legs, at = [], t
            for antenna in path:
                at += rng.uniform(3, 6) if walk == "linger" else pace
                legs.append((antenna, at))
            tag = SimTag(epc, {}, shielded=owner == "foil")
            tags.append(tag)
            walkers[key] = _Walker(tag, owner, walk, legs)
            facts[key] = Item(ours=owner != "foreign", sold=owner in ("sold", "returned"))
            owners[key], walks[key] = owner, walk
            started += 1
            next_arrival = t + rng.expovariate(arrivals_per_s)
        for key, w in list(walkers.items()):
            while w.legs and w.legs[0][1] <= t:
                w.legs.pop(0)
            if not w.legs:
                w.tag.gone = True
                tags.remove(w.tag)
                del walkers[key]
                continue
            antenna = w.legs[0][0]
            if antenna not in w.tag.antennas:
                w.tag.antennas = {antenna: (-55, -40)}
                if antenna == 2 and key not in alarmed:
                    w.outer_since = t
        for read in virtual_reads(model, tags, "gate", start=t, end=t + STEP_S, step_s=STEP_S):
            if owners.get(read.raw) == "shelf":
                shelf_reads += 1
            crossing = crossings.read(read.raw, read.antenna, read.received, rssi=read.rssi)
            if crossing is None or judge(crossing, facts[read.raw]) is None or read.raw in alarmed:
                continue
            alarmed[read.raw] = read.received
            walker = walkers.get(read.raw)
            if walker is not None and walker.outer_since is not None:
                latencies.append(read.received - walker.outer_since)
        t += STEP_S
        crossings.expire(t)
    out = {k for k, w in walks.items() if w in ("out", "back_and_forth")}
    unpaid_out = {k for k in out if owners[k] == "unpaid"}
    return GateOutcome(
        passages=passages,
        unpaid_out=len(unpaid_out),
        detected=len(unpaid_out & alarmed.keys()),
        false_alarms=len(alarmed.keys() - unpaid_out),
        foil=sum(1 for o in owners.values() if o == "foil"),
        latencies=tuple(latencies),
        shelf_reads=shelf_reads,
    )
