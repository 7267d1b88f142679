"""The start check's verdict: what a new version must have up, and the retained status carrying it."""

from __future__ import annotations

from edge_agent import __version__
from edge_agent.health import start_check
from edge_agent.sync.status import status_payload
from edge_agent.wire import envelope


def test_a_lane_needs_its_reader_register_store_and_broker_but_not_the_check_services() -> None:
    states = {
        "reader:box-1": (True, ""),
        "reader:gate-exit": (False, "connection refused"),
        "register:lane-1": (False, "paper out"),
        "verification": (False, "unavailable"),  # the Local Module answers: not a failed start
        "broker": (True, ""),
        "store": (True, ""),
    }
    verdict = start_check(states)
    assert verdict == {
        "ok": False,
        "version": __version__,
        "failing": {"reader:gate-exit": "connection refused", "register:lane-1": "paper out"},
    }
    up = dict.fromkeys(states, (True, "")) | {"verification": (False, "unavailable")}
    assert start_check(up)["ok"] is True
    assert start_check(up | {"store": (False, "database or disk is full")})["failing"] == {
        "store": "database or disk is full"
    }


def test_the_retained_status_carries_the_verdict_and_the_version() -> None:
    verdict = start_check({"broker": (False, "disconnected")})
    data = envelope.decode(status_payload("sco://s/a", "online", start=verdict)).data
    assert data["version"] == __version__ and data["start"]["failing"] == {"broker": "disconnected"}
