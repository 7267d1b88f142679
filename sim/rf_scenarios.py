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
