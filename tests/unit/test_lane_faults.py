"""A lane's faults as kiosks and the attendant are told them: the pure rules, and the shell
that pushes a change once and only once."""

from __future__ import annotations

from edge_agent.basket.interventions import lane_faults
from edge_agent.lane_faults import STOPS_PAYMENT, LaneFaults, LaneState, faults_of


def test_each_cause_is_a_fault_once_past_its_grace() -> None:
    quiet = {"central_after_s": 5.0, "kiosk_after_s": 10.0}
    assert faults_of(LaneState(), **quiet) == ()
    assert faults_of(LaneState(central_silent_s=4.9, kiosk_gone_s=9.9), **quiet) == ()  # a retry, a page reload
    every = LaneState(register="paper_out", central_silent_s=5.0, kiosk_gone_s=10.0, paused=True)
    assert faults_of(every, **quiet) == ("storage", "paper_out", "payments_down", "kiosk_offline")
    assert faults_of(LaneState(register="something_new"), **quiet) == ("register_error",)
    assert faults_of(LaneState(register="fn_full"), **quiet) == ("fn_blocked",)
    assert {"paper_out", "payments_down"} <= STOPS_PAYMENT and "kiosk_offline" not in STOPS_PAYMENT


class Desk:
    def __init__(self) -> None:
        self.kind: str | None = None

    def fault(self) -> str | None:
        return self.kind


def test_a_change_is_pushed_once_and_the_attendant_sees_one_alert_per_cause() -> None:
    desk, told, kiosks = Desk(), [], {"lane-1": 1, "lane-2": 0}
    silent: list[float | None] = [None]
    faults = LaneFaults(
        lambda: ["lane-1", "lane-2"],
        desk=lambda lane: desk if lane == "lane-1" else None,
        central_silent_since=lambda: silent[0],
        kiosks=kiosks.__getitem__,
        paused=lambda lane: False,
        changed=told.append,
        central_after_s=0.0,
        kiosk_after_s=0.0,
    )
    assert faults.refresh() == [] and told == []
    desk.kind = "paper_out"
    assert faults.refresh() == ["lane-1"] and faults.of("lane-1") == ["paper_out"]
    assert faults.refresh() == []  # nothing new: no push
    silent[0] = 0.0
    assert faults.refresh() == ["lane-1", "lane-2"] and faults.of("lane-2") == ["payments_down"]
    kiosks["lane-1"] = 0  # lane-1's kiosk, once connected, is gone; lane-2 never had one
    faults.refresh()
    assert faults.of("lane-1") == ["paper_out", "payments_down", "kiosk_offline"]
    assert faults.of("lane-2") == ["payments_down"]
    alerts = lane_faults(faults.open(), now=faults.open()[0][2] + 30)
    assert sorted((a.lane, a.code) for a in alerts) == [
        ("lane-1", "KIOSK_OFFLINE"),
        ("lane-1", "PAPER_OUT"),
        ("lane-1", "PAYMENTS_DOWN"),
        ("lane-2", "PAYMENTS_DOWN"),
    ]
    assert all(a.level == "CRITICAL" and a.actions == () for a in alerts)
    desk.kind, silent[0], kiosks["lane-1"] = None, None, 1
    assert faults.refresh() == ["lane-1", "lane-2"] and faults.open() == []
