"""The adaptive settle rule over the store's RF model: a settled box holds what is in it."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.pipeline import rounds_needed
from sim.rf_scenarios import play_box
from tests.conftest import examples


def test_more_tags_or_worse_rf_need_more_rounds() -> None:
    assert rounds_needed(2, 0.05, 0.001) < rounds_needed(50, 0.05, 0.001) < rounds_needed(180, 0.05, 0.001)
    assert rounds_needed(50, 0.05, 0.001) < rounds_needed(50, 0.15, 0.001)
    assert rounds_needed(1, 0.001, 0.5) == 2  # never fewer than two rounds
    # the bound holds: 50 tags · 5 %^rounds ≤ 0.1 %
    assert 50 * 0.05 ** rounds_needed(50, 0.05, 0.001) <= 0.001


def test_fifty_item_boxes_settle_with_what_is_in_them() -> None:
    """400 boxes of 50 items at 5 % misses per round (plus the density's), tipped in at once
    or dropped one by one in random order: the first settled basket after the last item's
    first read is the box's contents in at least 99.75 % (bench/rf.py runs 4,000 boxes)."""
    rng = random.Random(31)
    outcomes = [play_box(rng, 50, arrival=arrival) for arrival in ("tipped", "one_by_one") for _ in range(200)]
    wrong = sum(not o.right for o in outcomes)
    assert wrong <= 1, f"{wrong} of {len(outcomes)} settled boxes lacked an item"
    assert all(o.right_in_the_end for o in outcomes)
    assert max(o.settle_s for o in outcomes) <= 1.0  # settle_s bounds it


def test_a_small_box_settles_in_rounds_not_in_the_quiet_period() -> None:
    """Two items: a few rounds of a few milliseconds each, against 0.3 s of fixed quiet."""
    rng = random.Random(5)
    adaptive = [play_box(rng, 2) for _ in range(50)]
    fixed = [play_box(rng, 2, settle="fixed", settle_s=0.3) for _ in range(50)]
    assert all(o.right for o in adaptive + fixed)
    assert max(o.settle_s for o in adaptive) < 0.1
    assert min(o.settle_s for o in fixed) > 0.29


@settings(max_examples=examples(40), deadline=None)
@given(
    items=st.integers(1, 80),
    miss=st.floats(0.0, 0.3),
    missed_rounds=st.floats(0.0, 0.1),
    arrival=st.sampled_from(["tipped", "one_by_one"]),
    seed=st.integers(0, 2**32),
)
def test_no_box_stays_wrong_once_the_reader_reads_on(
    items: int, miss: float, missed_rounds: float, arrival: str, seed: int
) -> None:
    outcome = play_box(
        random.Random(seed),
        items,
        arrival=arrival,  # type: ignore[arg-type]
        miss_rate=miss,
        missed_rounds=missed_rounds,
    )
    assert outcome.right_in_the_end
