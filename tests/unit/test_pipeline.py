"""The read pipeline: one line per item however often it is read, in its own lane only."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.pipeline import Arrived, Departed, LaneConfig, Pipeline, Settled, Zone
from edge_agent.reads import TagRead
from tests.conftest import examples

ZONES = [
    Zone("box-1", "lane-1", frozenset({1, 2}), min_rssi=-70),
    Zone("box-2", "lane-2", frozenset({1, 2}), min_rssi=-70),
    Zone("pad-1", "lane-1"),
]
LANES = [LaneConfig("lane-1"), LaneConfig("lane-2"), LaneConfig("pad", mode="tap", depart_after_s=0.5)]


def read(reader: str, epc: str, t: float, rssi: int = -50, antenna: int = 1, kind: str = "epc") -> TagRead:
    return TagRead(reader, antenna, kind, epc, rssi, received=t)  # type: ignore[arg-type]


def arrivals(events: list[object]) -> list[tuple[str, str]]:
    return [(e.lane, e.key[1]) for e in events if isinstance(e, Arrived)]


def test_an_rfid_item_read_many_times_gives_one_arrival() -> None:
    p = Pipeline(ZONES, LANES)
    events = [e for i in range(100) for e in p.feed(read("box-1", "A", i * 0.01))]
    assert arrivals(events) == [("lane-1", "A")]
    assert p.counters.reads == 100


def test_weak_reads_from_the_next_lane_are_rejected() -> None:
    p = Pipeline(ZONES, LANES)
    assert p.feed(read("box-2", "A", 0.0, rssi=-78)) == ()
    assert p.counters.too_weak == 1


def test_a_tag_held_by_one_lane_is_not_stolen_by_a_neighbour_unless_clearly_stronger() -> None:
    p = Pipeline(ZONES, LANES)
    p.feed(read("box-1", "A", 0.0, rssi=-50))
    assert p.feed(read("box-2", "A", 0.1, rssi=-55)) == ()  # weaker next door: stays
    moved = p.feed(read("box-2", "A", 0.2, rssi=-40))  # the customer moved it to the other box
    assert [type(e) for e in moved] == [Departed, Arrived]
    assert p.owner["epc", "A"] == "lane-2"


def test_reads_of_an_unknown_reader_or_antenna_are_counted_not_used() -> None:
    p = Pipeline(ZONES, LANES)
    assert p.feed(read("box-9", "A", 0.0)) == () and p.feed(read("box-1", "A", 0.0, antenna=4)) == ()
    assert p.counters.no_zone == 2


def test_box_departure_and_settling_after_the_quiet_period() -> None:
    p = Pipeline(ZONES, LANES)
    p.feed(read("box-1", "A", 0.0))
    p.feed(read("box-1", "B", 0.1))
    assert p.tick(0.3) == []  # still settling
    (settled,) = p.tick(0.7)
    assert isinstance(settled, Settled) and settled.present == {("epc", "A"), ("epc", "B")}
    p.feed(read("box-1", "A", 1.0))
    events = p.tick(1.2)  # B unread since 0.1: gone
    assert [(type(e), e.key[1]) for e in events if isinstance(e, Departed)] == [(Departed, "B")]
    (settled,) = p.tick(1.8)
    assert isinstance(settled, Settled) and settled.present == {("epc", "A")}
    assert [type(e) for e in p.tick(3.0)] == [Departed]
    assert p.tick(3.6) == [Settled("lane-1", frozenset(), 3.6)]


def test_tap_lane_adds_once_per_tap_and_never_reports_departures() -> None:
    p = Pipeline([Zone("nfc", "pad")], LANES)
    uri = "https://x/01/04610053149777/21/abc"
    first = p.feed(read("nfc", uri, 0.0, kind="ndef_uri"))
    again = p.feed(read("nfc", uri, 0.2, kind="ndef_uri"))  # still on the pad
    assert arrivals(list(first)) == [("pad", uri)] and again == ()
    assert p.tick(1.0) == []  # left the pad: no event in tap mode
    assert arrivals(list(p.feed(read("nfc", uri, 1.1, kind="ndef_uri")))) == [("pad", uri)]  # a second tap


# -- property: any interleaving ----------------------------------------------------------
@st.composite
def shopping(draw: st.DrawFn) -> tuple[dict[str, set[str]], list[TagRead]]:
    """Two boxes side by side; each item is read strongly in its own box, maybe weakly next door."""
    items = {"lane-1": set(), "lane-2": set()}  # type: ignore[var-annotated]
    reads = []
    for i in range(draw(st.integers(1, 30))):
        lane = draw(st.sampled_from(["lane-1", "lane-2"]))
        epc = f"{i:024X}"
        items[lane].add(epc)
        own, other = ("box-1", "box-2") if lane == "lane-1" else ("box-2", "box-1")
        for _ in range(draw(st.integers(1, 8))):  # at least one read survives the misses
            reads.append((own, epc, draw(st.integers(-60, -40)), draw(st.sampled_from([1, 2]))))
        for _ in range(draw(st.integers(0, 5))):  # strays: weaker than any read in its own box
            reads.append((other, epc, draw(st.integers(-90, -61)), 1))
    order = draw(st.permutations(range(len(reads))))
    stream = [
        TagRead(reads[j][0], reads[j][3], "epc", reads[j][1], reads[j][2], received=k * 0.001)
        for k, j in enumerate(order)
    ]
    return items, stream


@settings(max_examples=examples(1_000))
@given(shopping())
def test_each_item_arrives_exactly_once_in_its_own_lane(case: tuple[dict[str, set[str]], list[TagRead]]) -> None:
    items, stream = case
    p = Pipeline(ZONES, LANES)
    events = [e for r in stream for e in p.feed(r)]
    events += p.tick(stream[-1].received + 0.6)
    final = {s.lane: {k[1] for k in s.present} for s in events if isinstance(s, Settled)}  # each lane's last
    for lane, epcs in items.items():
        assert final.get(lane, set()) == epcs
    # a stray may have been seen first next door and carried over, but then it departed there
    net: dict[tuple[str, str], int] = {}
    for e in events:
        if isinstance(e, Arrived | Departed):
            net[e.lane, e.key[1]] = net.get((e.lane, e.key[1]), 0) + (1 if isinstance(e, Arrived) else -1)
    assert {k for k, v in net.items() if v} == {(lane, epc) for lane, epcs in items.items() for epc in epcs}
    assert all(v in (0, 1) for v in net.values())


def test_a_zone_covers_every_slot_of_a_multi_slot_reader() -> None:
    """PC/SC names its reads by slot ("pad:Virtual PCD 00 01"); the configured reader id is "pad"."""
    from edge_agent.pipeline import LaneConfig, Pipeline, Zone

    p = Pipeline([Zone("pad", "lane-4"), Zone("box", "lane-1")], [LaneConfig("lane-4", "tap"), LaneConfig("lane-1")])
    assert p.zone_of("pad:Virtual PCD 00 01", 0) == Zone("pad", "lane-4")
    assert p.zone_of("box", 1) == Zone("box", "lane-1") and p.zone_of("other:slot", 0) is None


def test_a_reader_that_went_quiet_takes_nothing_out_until_it_is_heard_reading_again() -> None:
    """A reader that speaks with nothing in its field (keepalives) falls silent at 0.2 s with its
    connection open: nothing departs, however long the silence, until it is heard again and a
    full departure time has passed without the tag."""
    p = Pipeline(ZONES, [LaneConfig("lane-1", depart_after_s=1.0), LaneConfig("lane-2")])
    p.hear("box-1", 0.0)
    p.feed(read("box-1", "A", 0.1))
    p.feed(read("box-1", "B", 0.2))
    p.hear("box-1", 0.2)  # then silence
    assert [e for t in (1.5, 2.5, 5.0) for e in p.tick(t) if isinstance(e, Departed)] == []
    p.hear("box-1", 5.1)  # a keepalive: the reader is back, reading, and reads neither tag
    departed = [e.key[1] for e in p.tick(5.2) if isinstance(e, Departed)]
    assert departed == ["A", "B"]  # read nothing for a second while demonstrably reading


def test_nothing_departs_while_its_reader_is_offline_and_present_items_stay_when_it_is_back() -> None:
    p = Pipeline(ZONES, [LaneConfig("lane-1", depart_after_s=1.0), LaneConfig("lane-2")])
    p.feed(read("box-1", "A", 0.0))
    p.feed(read("box-1", "B", 0.0))
    p.reader_down("box-1")  # the reader's connection is lost at 0.1 s
    assert [e for t in (2.0, 4.0, 5.0) for e in p.tick(t) if isinstance(e, Departed)] == []
    p.reader_up("box-1", 5.1)  # back after 5 s: A is still in the box and read again; B was taken
    departed = []
    for t in (5.3, 5.8, 6.3):  # A is read again, as a reader does what is in its field
        p.feed(read("box-1", "A", t))
        departed += [e.key[1] for e in p.tick(t + 0.1) if isinstance(e, Departed)]
    assert departed == ["B"]  # only the item really gone, a full depart_after_s after the return
    assert {k for _, k in p.present("lane-1")} == {"A"}
