"""The wall clock jumping: noticed and shown, and nothing that counts time depends on it."""

from __future__ import annotations

import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.clock import ClockWatch, Mono, boot_id, wall_time
from edge_agent.repositories import open_repositories


def test_a_jump_of_the_wall_clock_either_way_is_counted_with_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    watch, real = ClockWatch(), time.time
    assert watch.check() is None  # the clocks agree
    monkeypatch.setattr(time, "time", lambda: real() + 7200)
    forward = watch.check()
    assert forward is not None and 7199 < forward < 7201
    monkeypatch.setattr(time, "time", real)
    back = watch.check()
    assert back is not None and -7201 < back < -7199
    assert watch.check() is None  # steady again
    detail = watch.detail()
    assert detail["ok"] is True and detail["jumps"] == 2 and detail["last_jump_s"] == pytest.approx(-7200, abs=1)


def test_a_moment_on_the_monotonic_clock_reads_as_the_wall_clock_of_now_less_the_time_since() -> None:
    then = time.monotonic() - 5.0
    assert wall_time(then) == pytest.approx(time.time() - 5.0, abs=0.05)


def test_an_event_acknowledged_before_the_wall_clock_stepped_back_is_sent_again_now(tmp_path: Path) -> None:
    """Acknowledged by the broker at 'now + 2 h' (the clock stepped back since), never confirmed:
    due for sending again at once, not in two hours."""
    records = open_repositories(tmp_path / "a.db", tz=ZoneInfo("Europe/Moscow"))
    records.outbox.confirm_to = "sco/v1/store-001/agent-1/resp"  # central confirms what it stores
    records.outbox.announce("lane-1", "test.event", {"n": 1}, basket_id="b-1")
    [(row, _, _)] = records.outbox.unsent()
    records.outbox.mark_sent([row])
    now = time.time()
    with records.db.transaction() as conn:
        conn.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", (now + 7200, row))
    assert records.outbox.requeue_unconfirmed(now - 30, now) == [row]
    records.outbox.mark_sent([row])  # sent again, at the clock's time now: not due before its timeout
    assert records.outbox.requeue_unconfirmed(time.time() - 30, time.time() + 1) == []


def test_a_monotonic_reading_ages_within_its_boot_and_says_nothing_after_a_reboot() -> None:
    here = Mono(time.monotonic() - 3.0, boot_id())
    age = here.age()
    assert age is not None and 2.9 < age < 3.5
    assert Mono(time.monotonic(), "another boot").age() is None
    assert Mono.from_json(here.to_json()) == here and Mono.from_json(None) is None
