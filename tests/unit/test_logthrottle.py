"""A flood of the same trouble is one log line per interval, saying how many were held back."""

from __future__ import annotations

import logging

import pytest

from edge_agent.logthrottle import ThrottledLog


def test_repeats_within_the_interval_are_held_back_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    noise = ThrottledLog(logging.getLogger("t"), every_s=60, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, "t"):
        assert noise.info("junk", "dropped %d", 1)
        assert not any(noise.info("junk", "dropped %d", n) for n in range(2, 8280))
        assert noise.info("other", "another kind")  # a different trouble is its own line
        now[0] = 61.0
        assert noise.info("junk", "dropped %d", 8280)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["dropped 1", "another kind", "dropped 8280 (8278 more like it since the last line)"]
