"""The exit gate's rules: which way a tag moves, and that only an unpaid (or copied) item of
this store walking out alarms, over random baskets and walks; and the gate's shell against a
real store: the alarm row, its event for central, the queue entry and the GPO pulse."""

from __future__ import annotations

import json
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.basket import Product
from edge_agent.basket.interventions import gate_alarms
from edge_agent.codes.epc import encode_sgtin96
from edge_agent.config import GateSettings
from edge_agent.gate import CLONED, UNPAID, Crossing, Crossings, Item, judge, ours, tid_matches
from edge_agent.gate.gates import Gate, GateFacts
from edge_agent.metrics import Metrics
from edge_agent.reads import TagRead
from edge_agent.repositories import Repositories, open_repositories
from edge_agent.wire.topics import StoreTopics

T0 = 1_800_000_000.0


def _facts(r: Repositories) -> GateFacts:
    return GateFacts(catalogue=r.catalogue, sold=r.sold, tids=r.tids, alarms=r.gate_alarms)


def test_inside_then_outside_is_out_and_the_reverse_is_in_once_each_way_per_passage() -> None:
    c = Crossings([1, 2])
    assert c.read("A", 1, T0) is None
    out = c.read("A", 2, T0 + 0.3)
    assert out is not None and (out.direction, out.first_read_at, out.at) == ("out", T0, T0 + 0.3)
    assert c.read("A", 2, T0 + 0.4) is None  # still outside
    back_in = c.read("A", 1, T0 + 0.5)
    assert back_in is not None and back_in.direction == "in"  # carried back in
    assert c.read("A", 2, T0 + 0.6) is None  # out again in the same passage: it was out once already
    assert c.read("B", 2, T0) is None
    back = c.read("B", 1, T0 + 0.2)
    assert back is not None and back.direction == "in"
    assert c.read("A", 1, T0 + 10) is None  # quiet for longer than the window: a new passage
    again = c.read("A", 2, T0 + 10.2)
    assert again is not None and again.direction == "out"


def test_one_side_only_says_nothing_and_other_antennas_are_not_the_gate() -> None:
    c = Crossings([3, 4])
    assert [c.read("A", 3, T0 + i / 10) for i in range(20)] == [None] * 20  # standing inside the door
    assert c.read("A", 1, T0 + 2.5) is None  # antenna 1 is not this gate's
    c.expire(T0 + 100)
    assert len(c) == 0
    with pytest.raises(ValueError, match="two antennas"):
        Crossings([1])


def test_four_antennas_split_in_two_halves() -> None:
    c = Crossings([1, 2, 3, 4])  # inside: 1, 2; outside: 3, 4
    assert c.read("A", 2, T0) is None and c.read("A", 1, T0 + 0.1) is None
    crossing = c.read("A", 3, T0 + 0.2)
    assert crossing is not None and crossing.direction == "out"


@pytest.mark.parametrize(
    ("direction", "item", "reason"),
    [
        ("out", Item(True, False), UNPAID),
        ("out", Item(True, True), None),
        ("out", Item(False, False), None),
        ("in", Item(True, False), None),
        ("out", Item(True, True, cloned=True), CLONED),
        ("out", None, None),
        ("in", Item(True, True, cloned=True), None),
    ],
)
def test_only_an_unpaid_or_copied_item_of_this_store_walking_out_alarms(
    direction: str, item: Item | None, reason: str | None
) -> None:
    assert judge(Crossing("A", direction, T0, T0), item) == reason  # type: ignore[arg-type]


def test_tid_matches_over_the_words_both_hold_and_prefixes_are_the_stores() -> None:
    bound = bytes.fromhex("E2801190200060A1B2C3D4E5")
    assert tid_matches(bound, bound[:8]) and tid_matches(bound[:8], bound)
    assert not tid_matches(bound, bytes.fromhex("E2801190200060A1B2C3D4E6")) and not tid_matches(bound, b"")
    assert ours("04600000000015", False, ["4600000"]) and not ours("04610000000015", False, ["4600000"])
    assert ours("04610000000015", True, [])


walks = st.lists(
    st.tuples(st.sampled_from(["paid", "unpaid", "foreign", "cloned"]), st.sampled_from(["out", "in", "lingers"])),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(walks, st.integers(0, 2**32 - 1))
def test_random_baskets_and_walk_outs_alarm_for_exactly_the_unpaid_items_of_this_store(
    people: list[tuple[str, str]], seed: int
) -> None:
    """Each person carries one item past the gate (out, in, or standing at the inner antenna),
    with missed reads and repeats; the reads of everyone interleave as a reader reports them."""
    rng = random.Random(seed)
    gate = Crossings([1, 2], window_s=3.0)
    reads: list[tuple[float, str, int]] = []
    for n, (_, walk) in enumerate(people):
        start = T0 + rng.uniform(0, 2)
        order = {"out": (1, 2), "in": (2, 1), "lingers": (1,)}[walk]
        t = start
        for antenna in order:
            for _ in range(rng.randint(1, 6)):  # the tag read a few times per antenna, reads jittered
                reads.append((t, f"E{n}", antenna))
                t += rng.uniform(0.005, 0.08)
            t += rng.uniform(0.05, 0.4)
    facts = {
        f"E{n}": Item(kind != "foreign", kind in ("paid", "cloned"), kind == "cloned")
        for n, (kind, _) in enumerate(people)
    }
    alarms: dict[str, str] = {}
    for at, epc, antenna in sorted(reads):
        crossing = gate.read(epc, antenna, at)
        if crossing is not None and (reason := judge(crossing, facts[epc])) is not None:
            alarms[epc] = reason
    expected = {
        f"E{n}": UNPAID if kind == "unpaid" else CLONED
        for n, (kind, walk) in enumerate(people)
        if walk == "out" and kind in ("unpaid", "cloned")
    }
    assert alarms == expected


class Lights:
    def __init__(self) -> None:
        self.writes: list[tuple[int, bool]] = []

    def set_gpo(self, port: int, on: bool) -> bool:
        self.writes.append((port, on))
        return True


MILK = Product("04610053149777", "Milk 1 l", 8_990, 10, "dairy", "milk", marked=True)


def epc_of(gtin: str, serial: int) -> str:
    return encode_sgtin96(gtin, str(serial), 7).upper()


def test_the_gate_records_announces_queues_and_lights_an_alarm(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "db.sqlite", tz=ZoneInfo("UTC"), topics=StoreTopics("s1"))
    store.catalogue.upsert_products([MILK])
    lights = Lights()
    gate = Gate(
        GateSettings(id="exit", reader="gate-1", gpo_port=2, alarm_s=4),
        facts=_facts(store),
        metrics=Metrics(),
        outputs=lights,
        listeners=[],
    )
    unpaid = epc_of(MILK.gtin, 1001)
    assert gate.read(TagRead("gate-1", 1, "epc", unpaid, timestamp=T0)) is None
    alarm = gate.read(TagRead("gate-1", 2, "epc", unpaid, timestamp=T0 + 0.25))
    assert alarm is not None and (alarm.reason, alarm.name, alarm.first_read_at) == (UNPAID, MILK.name, T0)
    assert lights.writes == [(2, True)]  # the light on (switched off by a timer on the daemon's loop)
    [row] = store.gate_alarms.list()
    assert (row.gate, row.ki, row.epc) == ("exit", f"01{MILK.gtin}21" + (row.ki or "")[18:], unpaid)
    topic, payload = store.db.conn.execute("SELECT topic, payload FROM outbox ORDER BY id DESC LIMIT 1").fetchone()
    event = json.loads(payload)
    assert topic == "sco/v1/s1/exit/evt/gate.alarm" and event["type"] == "gate.alarm"
    assert event["data"]["ki"] == row.ki and event["source"] == "sco://s1/exit"
    [entry] = gate_alarms([a.to_dict() for a in store.gate_alarms.list()], T0 + 10)
    assert (entry.code, entry.level, entry.line_name, entry.actions) == (
        "GATE_ALARM",
        "CRITICAL",
        MILK.name,
        ("resolve",),
    )
    assert store.gate_alarms.resolve(row.id, "s-1") and store.gate_alarms.list() == []
    assert not store.gate_alarms.resolve(row.id, "s-1")  # once


def test_a_sold_item_is_silent_and_its_copy_on_another_chip_alarms(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "db.sqlite", tz=ZoneInfo("UTC"), topics=StoreTopics("s1"))
    store.catalogue.upsert_products([MILK])
    gate = Gate(
        GateSettings(id="exit", reader="gate-1", gpo_port=0),
        facts=_facts(store),
        metrics=Metrics(),
        outputs=None,
        listeners=[],
    )
    epc = epc_of(MILK.gtin, 2002)
    ki = f"01{MILK.gtin}212002"
    store.db.conn.execute("INSERT INTO sold (ki, basket_id, sold_at) VALUES (?, 'b1', ?)", (ki, T0))
    genuine, copy = bytes.fromhex("E2801190200060A1B2C3D4E5"), bytes.fromhex("E2801190200060FFFFFFFFFF")
    store.tids.bind({ki: genuine.hex()}, "central")
    for tid, at in ((genuine, T0), (copy, T0 + 10)):
        gate.read(TagRead("gate-1", 1, "epc", epc, timestamp=at, tid=tid))
        gate.read(TagRead("gate-1", 2, "epc", epc, timestamp=at + 0.2, tid=tid))
    assert [a.reason for a in store.gate_alarms.list()] == [CLONED]  # the genuine one paid: silent; its copy not


def test_carried_outer_inner_outer_the_item_walks_out_and_alarms() -> None:
    """The walk around the first-pair rule: brought to the outer antenna first, back past the
    inner one, then out. The latest direction is out: the unpaid item alarms."""
    c = Crossings([1, 2, 3, 4])  # 1, 2 inside; 3, 4 outside
    reads = [(4, 0.0), (3, 0.1), (2, 0.3), (1, 0.4), (2, 0.6), (3, 0.8), (4, 0.9)]
    crossings = [x for a, t in reads if (x := c.read("E", a, T0 + t)) is not None]
    assert [x.direction for x in crossings] == ["in", "out"]
    assert judge(crossings[-1], Item(ours=True, sold=False)) == UNPAID


@given(st.lists(st.tuples(st.sampled_from([1, 2, 3, 4]), st.floats(0.0, 0.5)), min_size=1, max_size=40))
def test_whatever_the_path_an_item_last_seen_outside_after_being_inside_walked_out(
    path: list[tuple[int, float]],
) -> None:
    """Over any path within one passage: an "out" crossing happened exactly when some inner read
    was later followed by an outer read; at most one crossing each way."""
    c, at, seen_inner, went_out, crossings = Crossings([1, 2, 3, 4]), T0, False, False, []
    for antenna, gap in path:
        at += gap
        if (x := c.read("P", antenna, at)) is not None:
            crossings.append(x.direction)
        seen_inner = seen_inner or antenna in (1, 2)
        went_out = went_out or (seen_inner and antenna in (3, 4))
    assert ("out" in crossings) == went_out
    assert crossings.count("out") <= 1 and crossings.count("in") <= 1
