"""The exit gate's rules over a store's RF (sim/rf.py): people passing in both directions,
several at once, missed reads, and shelf tags by the door read weakly on both antennas."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.rf_scenarios import play_gate
from tests.conftest import examples


def test_unpaid_items_walking_out_alarm_and_nothing_else_does() -> None:
    """2,000 passages: every readable unpaid item walking out (also carried out, back and out
    again) alarms within half a second of entering the outer field; sold, returned, foreign,
    lingering and shelf tags never alarm."""
    outcome = play_gate(random.Random(7), 2000)
    assert outcome.unpaid_out > 500 and outcome.shelf_reads > 10_000
    assert outcome.detected / outcome.unpaid_out >= 0.99
    assert outcome.false_alarms == 0
    assert max(outcome.latencies) < 0.5


def test_without_the_stray_floor_shelf_tags_by_the_door_would_alarm() -> None:
    """What the floor is for: a shelf tag read weakly now on the inner antenna, now on the outer
    one, looks like an item walking out."""
    outcome = play_gate(random.Random(7), 500, min_rssi=None)
    assert outcome.false_alarms > 0


@settings(max_examples=examples(15), deadline=None)
@given(seed=st.integers(0, 2**32), miss=st.floats(0.0, 0.2), shelf=st.integers(0, 30))
def test_no_false_alarm_whatever_the_rf(seed: int, miss: float, shelf: int) -> None:
    outcome = play_gate(random.Random(seed), 200, miss_rate=miss, shelf_tags=shelf)
    assert outcome.false_alarms == 0
    assert outcome.detected >= outcome.unpaid_out * 0.95
