"""The fleet view's rule, as plain data: which agents need attention, and why, worst first."""

from __future__ import annotations

import json

from sim.central.fleet import attention

NOW = 10_000.0


def row(agent: str, state: str = "online", at: float = NOW - 5, **data: object) -> tuple[str, str, str, str, float]:
    return ("store-001", agent, state, json.dumps({"state": state, **data}), at)


def test_only_agents_that_need_someone_are_listed_with_every_reason_worst_first() -> None:
    rows = [
        row("fine", readers={"box": {"state": "online"}}, delivery={"ok": True}, outbox=3),
        row(
            "busy",
            readers={"box": {"state": "offline", "reason": "connection refused"}},
            delivery={"ok": False, "unconfirmed": 40, "oldest_unconfirmed_s": 300.0},
            fiscal={"lane-1": {"ok": False, "refuses_payments": "out of paper"}},
            outbox=5_000,
            verification={"local_module": {"status": "ready", "sync_age_s": 50 * 3600.0, "sync_alarm": True}},
        ),
        row("quiet", at=NOW - 600),
        row("dead", state="offline", reason="connection lost"),
    ]
    found = attention(rows, NOW, stale_s=90)
    assert [f["agent"] for f in found] == ["dead", "quiet", "busy"]
    assert found[0]["reasons"] == ["offline: connection lost"] and found[1]["reasons"] == ["silent for 600 s"]
    assert found[2]["reasons"] == [
        "reader box offline: connection refused",
        "40 events unconfirmed, oldest 300.0 s",
        "register of lane-1: out of paper",
        "Local Module ready, last synced 50 h ago",
        "outbox backlog 5000",
    ]
