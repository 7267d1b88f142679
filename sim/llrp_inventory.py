"""A running ROSpec on the simulated reader, pure: its stop triggers, its AISpec's, its report
trigger and N, and its Select filters (LLRP 1.0.1 §10.2, §13.2; sans-I/O, no clock of its own).

``InventoryRun.reads(reports, now)`` takes what the RF read in a time step and returns the
reports to send now, one list per RO_ACCESS_REPORT; ``tick(now)`` says when the AISpec or the
ROSpec ends by its stop trigger, and hands over what was held for the end. Reports are accumulated per tag (and per
antenna when the selector asks for it) with their TagSeenCount, first and last seen and peak
RSSI, and sent every N tags, at the end of the AISpec (trigger 1) or of the ROSpec (trigger 2);
N = 0 means only at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge_agent.llrp import TagReport

# ROSpecStopTrigger / AISpecStopTrigger types
NULL, DURATION, GPI_WITH_TIMEOUT, TAG_OBSERVATION = 0, 1, 2, 3
GPI = GPI_WITH_TIMEOUT
# TagObservationTrigger types
UPON_N_TAGS, UPON_NO_NEW_TAGS, N_ATTEMPTS, UPON_N_UNIQUE, UPON_NO_NEW_UNIQUE = 0, 1, 2, 3, 4
# ROReportTrigger types
REPORT_NONE, END_OF_AISPEC, END_OF_ROSPEC = 0, 1, 2


@dataclass
class _Seen:
    report: TagReport
    count: int = 1


@dataclass
class InventoryRun:
    """One ROSpec from its start; times in seconds on the caller's monotonic clock."""

    rospec: dict[str, Any]
    started: float
    report_spec: dict[str, Any]
    ai_started: float = 0.0
    ai_new_at: float = 0.0  # when the AISpec last saw a tag it had not seen
    ai_tags: set[bytes] = field(default_factory=set)
    held: dict[tuple[bytes, int | None], _Seen] = field(default_factory=dict)
    ended: bool = False
    aispecs_ended: int = 0  # how many times the AISpec ran to its stop trigger
    rounds: int = 0  # inventory rounds the RF has run (the reader's attempts): at the start, then as told
    ai_rounds: int = 0  # ... when the AISpec (re)started

    def __post_init__(self) -> None:
        self.ai_started = self.ai_new_at = self.started
        self.ai_rounds = self.rounds

    # -- what the spec says -------------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.report_spec.get("N", 1))

    @property
    def trigger(self) -> int:
        return int(self.report_spec.get("Trigger", END_OF_AISPEC))

    @property
    def by_antenna(self) -> bool:
        selector = self.report_spec.get("TagReportContentSelector") or {}
        return bool(selector.get("EnableAntennaID", True))

    def _aispec(self) -> dict[str, Any]:
        specs = self.rospec.get("AISpecs") or [{}]
        return dict(specs[0])

    def filters(self) -> list[dict[str, Any]]:
        """The C1G2Filter TagInventoryMasks of the AISpec's antenna configurations."""
        out = []
        for ips in self._aispec().get("InventoryParameterSpecs", []):
            for conf in ips.get("AntennaConfigurations", []):
                for f in (conf.get("C1G2InventoryCommand") or {}).get("Filters", []):
                    if f.get("TagInventoryMask"):
                        out.append(dict(f["TagInventoryMask"]))
        return out

    def channel(self) -> int:
        for ips in self._aispec().get("InventoryParameterSpecs", []):
            for conf in ips.get("AntennaConfigurations", []):
                index = (conf.get("RFTransmitter") or {}).get("ChannelIndex")
                if index:
                    return int(index)
        return 1

    def inventory_spec_id(self) -> int:
        specs = self._aispec().get("InventoryParameterSpecs") or [{}]
        return int(specs[0].get("InventoryParameterSpecID", 1))

    # -- time passing -------------------------------------------------------------------------
    def reads(self, reports: list[TagReport], now: float) -> list[list[TagReport]]:
        """Accumulate what was read; the reports due now (every N tags, or an AISpec that ended
        on observing its N tags: the reads after that one belong to the next AISpec)."""
        out: list[list[TagReport]] = []
        for r in reports:
            if r.epc not in self.ai_tags:
                self.ai_tags.add(r.epc)
                self.ai_new_at = now
            key = (r.epc, r.antenna if self.by_antenna else None)
            seen = self.held.get(key)
            if seen is None:
                self.held[key] = _Seen(r)
            else:
                seen.count += 1
                seen.report.last_seen_us = r.first_seen_us
                if r.peak_rssi is not None and (seen.report.peak_rssi is None or r.peak_rssi > seen.report.peak_rssi):
                    seen.report.peak_rssi = r.peak_rssi
            if self.n > 0 and len(self.held) >= self.n and self.trigger != REPORT_NONE:
                out.append(self.flush())
            elif self._n_tags_observed():
                out.append(self._next_aispec(now))
        return [batch for batch in out if batch]

    def _next_aispec(self, now: float) -> list[TagReport]:
        out = self.flush() if self.trigger == END_OF_AISPEC else []
        self.aispecs_ended += 1
        self.ai_rounds = self.rounds
        self.ai_started = self.ai_new_at = now  # the ROSpec goes on: its AISpec runs again
        self.ai_tags.clear()
        return out

    def _n_tags_observed(self) -> bool:
        stop = self._aispec().get("StopTrigger") or {}
        t = stop.get("TagObservationTrigger") or {}
        if stop.get("Trigger") != TAG_OBSERVATION or t.get("Trigger", UPON_N_TAGS) not in (UPON_N_TAGS, UPON_N_UNIQUE):
            return False
        return 0 < int(t.get("NumberOfTags", 0)) <= len(self.ai_tags)

    def stop(self) -> list[list[TagReport]]:
        """Stopped from outside (a GPI event): the end's report, as for any stop trigger."""
        self.ended = True
        out = self.flush() if self.trigger != REPORT_NONE else []
        return [out] if out else []

    def flush(self) -> list[TagReport]:
        out = []
        for seen in self.held.values():
            seen.report.seen_count = seen.count
            if seen.report.last_seen_us is None:
                seen.report.last_seen_us = seen.report.first_seen_us
            out.append(seen.report)
        self.held.clear()
        return out

    def tick(self, now: float, rounds: int = 0) -> list[list[TagReport]]:
        """The report due because an AISpec or the ROSpec ended by its stop trigger; ``rounds``:
        the inventory rounds run so far (an AISpec may stop after N attempts)."""
        self.rounds = rounds
        out: list[TagReport] = []
        stop = (self.rospec.get("ROBoundarySpec") or {}).get("StopTrigger") or {}
        timeout = int((stop.get("GPITriggerValue") or {}).get("Timeout", 0)) if stop.get("Trigger") == GPI else 0
        ran = now - self.started
        if (stop.get("Trigger") == DURATION and ran >= stop.get("DurationTriggerValue", 0) / 1000) or (
            timeout and ran >= timeout / 1000
        ):
            self.ended = True
            out = self.flush() if self.trigger != REPORT_NONE else []
        elif self._aispec_done(now):
            out = self._next_aispec(now)
        return [out] if out else []

    def _aispec_done(self, now: float) -> bool:
        stop = self._aispec().get("StopTrigger") or {}
        kind, ran = stop.get("Trigger", NULL), now - self.ai_started
        if kind == DURATION:
            return ran >= int(stop.get("DurationTriggerValue", 0)) / 1000
        if kind != TAG_OBSERVATION:
            return False
        t = stop.get("TagObservationTrigger") or {}
        timeout = t.get("Timeout", 0)
        if timeout and ran >= timeout / 1000:
            return True
        observed = t.get("Trigger", UPON_N_TAGS)
        if observed == N_ATTEMPTS:
            return 0 < int(t.get("NumberOfAttempts", 0)) <= self.rounds - self.ai_rounds
        if observed in (UPON_NO_NEW_TAGS, UPON_NO_NEW_UNIQUE):
            return bool(self.ai_tags) and now - self.ai_new_at >= int(t.get("T", 0)) / 1000
        return False
