"""Health over time on the store dashboard: the changes the daemon writes, each component's
availability, outages and segments from them, and the store's rows for a window."""

from __future__ import annotations

import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from edge_agent.dashboard import availability, charts, health_changes
from edge_agent.repositories import open_repositories
from edge_agent.wire.topics import StoreTopics

T0 = 1_800_000_000.0


def test_only_changes_are_written() -> None:
    now = {"reader:box-1": (True, "online"), "register:lane-1": (False, "no paper")}
    assert health_changes({}, now) == [("reader:box-1", True, "online"), ("register:lane-1", False, "no paper")]
    assert health_changes({"reader:box-1": True, "register:lane-1": False}, now) == []
    assert health_changes({"reader:box-1": False, "register:lane-1": False}, now) == [("reader:box-1", True, "online")]


def test_an_outage_inside_the_window_counts_once_with_its_length() -> None:
    rows = [
        ("reader:box-1", T0 - 100, True, "online"),
        ("reader:box-1", T0 + 600, False, "connection refused"),
        ("reader:box-1", T0 + 900, True, "online"),
        ("register:lane-1", T0 + 1800, True, ""),
    ]
    h = availability(rows, T0, T0 + 3600)
    reader = h["reader:box-1"]
    assert (reader["availability"], reader["outages"], reader["down_s"]) == (round(3300 / 3600, 4), 1, 300.0)
    assert [(s["from"], s["to"], s["ok"]) for s in reader["segments"]] == [
        (T0, T0 + 600, True),
        (T0 + 600, T0 + 900, False),
        (T0 + 900, T0 + 3600, True),
    ]
    assert reader["segments"][1]["detail"] == "connection refused"
    register = h["register:lane-1"]  # first seen half-way: the time before is unknown, not down
    assert (register["availability"], register["outages"], register["segments"][0]["from"]) == (1.0, 0, T0 + 1800)


def test_down_since_before_the_window_is_an_outage_and_a_restart_writing_the_same_state_is_not() -> None:
    rows = [
        ("broker", T0 - 50, False, "disconnected"),
        ("broker", T0 + 100, False, "disconnected"),
        ("broker", T0 + 200, True, ""),
    ]
    broker = availability(rows, T0, T0 + 400)["broker"]
    assert (broker["outages"], broker["down_s"], len(broker["segments"])) == (1, 200.0, 2)


changes = st.lists(st.tuples(st.floats(0, 3600), st.booleans()), max_size=30)


@given(changes)
def test_segments_cover_the_known_time_alternating(points: list[tuple[float, bool]]) -> None:
    rows = [("c", T0 - 10 + at, ok, "") for at, ok in sorted(points)]
    h = availability(rows, T0, T0 + 3600).get("c")
    if h is None:
        assert not rows
        return
    segs = h["segments"]
    assert all(a["to"] == b["from"] and a["ok"] != b["ok"] for a, b in itertools.pairwise(segs))
    assert segs[-1]["to"] == T0 + 3600 and segs[0]["from"] == max(T0, rows[0][1])
    up = sum(s["to"] - s["from"] for s in segs if s["ok"])
    known = sum(s["to"] - s["from"] for s in segs)
    assert h["outages"] == sum(not s["ok"] for s in segs)
    assert h["availability"] is None if known == 0 else abs(h["availability"] - up / known) < 1e-4


def test_the_store_keeps_the_state_before_the_window_and_each_change_in_it(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "db.sqlite", tz=ZoneInfo("UTC"), topics=StoreTopics("s"))
    store.health.record([("reader:box-1", True, "online")], T0 - 7200, keep_s=86400)
    store.health.record([("reader:box-1", False, "timeout")], T0 - 3600, keep_s=86400)
    store.health.record([("reader:box-1", True, "online"), ("broker", True, "")], T0 + 60, keep_s=86400)
    assert store.health.rows(T0) == [
        ("reader:box-1", T0 - 3600, False, "timeout"),
        ("reader:box-1", T0 + 60, True, "online"),
        ("broker", T0 + 60, True, ""),
    ]
    empty = {"per_hour": {}, "interventions_per_100_baskets": {}, "verdicts": {}, "verdict_sources": {}}
    health = availability(store.health.rows(T0), T0, T0 + 3600)
    chart = charts(empty, health=health, since=T0, until=T0 + 3600, tz=ZoneInfo("UTC"))["health"]
    assert chart.count("<rect") == 3 and "reader:box-1" in chart and "down: timeout" in chart
    store.health.record([("broker", False, "disconnected")], T0 + 86400, keep_s=3600)  # old rows go ...
    assert [r[1] for r in store.health.rows(0) if r[0] == "reader:box-1"] == [T0 + 60]  # ... but not the last state
