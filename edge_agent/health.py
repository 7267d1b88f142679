"""How the store is: every component says it through one small protocol, and ``/healthz``, the
retained status and the dashboard's health log read them the same way (docs/operations.md).

A ``Component`` answers ``health()`` with its part of ``/healthz`` (a JSON object) and whether
it is ok; ``StoreHealth`` rolls them up: ``degraded`` as soon as one is not. ``states()`` is the
dashboard's view of the same: each reader, register, the check services and the broker, up or
not and why (sampled by the daemon, written when one changes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from drivers.base import Reader
from edge_agent import __version__
from edge_agent.clock import ClockWatch
from edge_agent.db import Database
from edge_agent.fiscal.desk import Fiscal
from edge_agent.metrics import Metrics
from edge_agent.readqueue import ReadQueue
from edge_agent.security.connections import ConnectionLimits
from edge_agent.verify.checks import CodeChecks

if TYPE_CHECKING:  # with MQTT off, paho is never loaded
    from edge_agent.basket.journal import Journal
    from edge_agent.sync.agent import Sync

log = logging.getLogger("edge_agent")


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    detail: Mapping[str, Any]  # its part of /healthz (JSON)


class Component(Protocol):
    async def health(self) -> Health: ...


@dataclass(frozen=True, slots=True)
class Readers:
    readers: Sequence[Reader]

    def detail(self) -> dict[str, object]:
        return {r.reader_id: r.health.to_dict() for r in self.readers}

    async def health(self) -> Health:
        online = all(r.health.state.value == "online" for r in self.readers)
        return Health(online, self.detail())


@dataclass(frozen=True, slots=True)
class Broker:
    sync: Sync | None

    async def health(self) -> Health:
        if self.sync is None:
            return Health(True, {"enabled": False})
        link = self.sync.link
        up = link.connected.is_set()
        return Health(
            up, {"enabled": True, "connected": up, "connects": link.connects, "disconnects": link.disconnects}
        )


@dataclass(frozen=True, slots=True)
class Verification:
    checks: CodeChecks

    async def health(self) -> Health:
        detail = await self.checks.health()
        return Health(bool(detail.get("ok", True)), detail)


@dataclass(frozen=True, slots=True)
class Reads:
    queue: ReadQueue

    async def health(self) -> Health:
        stats = self.queue.stats()
        return Health(not stats["dropped_recently"], stats)


@dataclass(frozen=True, slots=True)
class Storage:
    """Can the store write, since when not, what waits for it, which baskets are quarantined."""

    db: Database
    journal: Journal
    waiting: Callable[[], dict[str, int]]  # lane -> presence events held for the store

    def detail(self) -> dict[str, object]:
        quarantined = [
            {"basket": q.basket_id, "lane": q.lane, "reason": q.reason, "since": q.since}
            for q in self.journal.quarantined
        ]
        return {
            "ok": self.db.fault is None and not quarantined,
            "fault": self.db.fault,
            "fault_since": self.db.fault_since,
            "waiting_events": self.waiting(),
            "quarantined": quarantined,
        }

    async def health(self) -> Health:
        detail = self.detail()
        return Health(bool(detail["ok"]), detail)


@dataclass(frozen=True, slots=True)
class Registers:
    """Each lane's register: shift, ФН, ОФД queue, the error that stops its payments."""

    fiscal: Fiscal

    def detail(self) -> dict[str, object]:
        return {lane: desk.health() for lane, desk in self.fiscal.desks.items()}

    async def health(self) -> Health:
        statuses = {lane: desk.status() for lane, desk in self.fiscal.desks.items()}
        return Health(all(s.ok for s in statuses.values()), {lane: s.to_dict() for lane, s in statuses.items()})


@dataclass(frozen=True, slots=True)
class Delivery:
    """Events central has not confirmed: how many, how old."""

    sync: Sync | None
    warn_s: float

    async def health(self) -> Health:
        if self.sync is None:
            return Health(True, {"ok": True})
        detail = self.sync.delivery_health(self.warn_s)
        return Health(bool(detail["ok"]), detail)


@dataclass(frozen=True, slots=True)
class Clock:
    """The wall clock's jumps against the monotonic one (``ClockWatch``): shown, never a fault."""

    watch: ClockWatch

    async def health(self) -> Health:
        self.watch.check()
        return Health(True, self.watch.detail())


@dataclass(frozen=True, slots=True)
class Http:
    """The HTTP server's connections against their ceilings: degraded while it refuses at the
    ceiling (a flood of connections; enrolled devices keep their reserved share)."""

    limits: ConnectionLimits

    async def health(self) -> Health:
        detail = self.limits.health(time.monotonic())
        return Health(bool(detail["ok"]), detail)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreHealth:
    """Every component, by its key in /healthz, and what the dashboard samples."""

    readers: Readers
    broker: Broker
    verification: Verification
    reads: Reads
    storage: Storage
    registers: Registers
    delivery: Delivery
    clock: Clock
    outbox_depth: Callable[[], int]
    http: Http | None = None

    @property
    def components(self) -> dict[str, Component]:
        parts: dict[str, Component] = {
            "readers": self.readers,
            "broker": self.broker,
            "verification": self.verification,
            "reads": self.reads,
            "store": self.storage,
            "fiscal": self.registers,
            "delivery": self.delivery,
            "clock": self.clock,
        }
        if self.http is not None:
            parts["http"] = self.http
        return parts

    async def report(self) -> dict[str, object]:
        """``/healthz``: each component, ``degraded`` if any is not ok, and the outbox's depth."""
        parts = {name: await c.health() for name, c in self.components.items()}
        out: dict[str, object] = {"status": "ok" if all(h.ok for h in parts.values()) else "degraded"}
        out |= {name: h.detail for name, h in parts.items()}
        out["outbox_depth"] = self.outbox_depth()
        out["version"] = __version__
        out["start"] = start_check(self.states())
        return out

    def states(self) -> dict[str, tuple[bool, str]]:
        """Each reader, register, the check services and the broker: up or not, and why."""
        out: dict[str, tuple[bool, str]] = {}
        for reader in self.readers.readers:
            h = reader.health
            out[f"reader:{reader.reader_id}"] = (h.state.value == "online", str(h.reason or h.state.value))
        for lane, desk in self.registers.fiscal.desks.items():
            d = desk.status()
            out[f"register:{lane}"] = (d.ok, str(d.refuses_payments or d.error or ""))
        checks = self.verification.checks.last_health()
        if checks:
            out["verification"] = (bool(checks.get("ok", True)), "" if checks.get("ok", True) else "unavailable")
        if self.broker.sync is not None:
            up = self.broker.sync.link.connected.is_set()
            out["broker"] = (up, "" if up else "disconnected")
        fault = self.storage.db.fault
        out["store"] = (fault is None, fault or "")
        return out


#: what a new version must have up to count as started (the check services may be away: the
#: Local Module answers; a lane cannot sell without its reader, the store, the broker, its register)
START_GATES: Final = ("reader:", "register:", "broker", "store")


def start_check(states: Mapping[str, tuple[bool, str]]) -> dict[str, object]:
    """The start check's verdict from ``StoreHealth.states()``: ok, and what is down and why.
    Pure; the daemon makes it once, ``HEALTH_GRACE_S`` after start, into the retained status, a
    metric and the log; ``edge-agent health --wait`` asks the same of /healthz for the unit."""
    failing = {
        name: why or "down"
        for name, (ok, why) in sorted(states.items())
        if not ok and any(name == g or (g.endswith(":") and name.startswith(g)) for g in START_GATES)
    }
    return {"ok": not failing, "version": __version__, "failing": failing}


@dataclass(frozen=True, slots=True)
class StorageWatch:
    """What the store does when its database stops or starts taking writes: one log line and
    one metric change per change, never per write; every kiosk told at once; the catalogue
    file loaded once the store can write (it may not have been at start-up)."""

    metrics: Metrics
    notify_lanes: Callable[[], None]
    reseed: Callable[[], object]

    def __call__(self, fault: str | None) -> None:
        self.metrics.store_ok.set(fault is None)
        self.notify_lanes()
        if fault is None:
            log.warning("the store can write again; waiting items are recorded now")
            self.reseed()
        else:
            self.metrics.store_faults.inc()
            log.error("the store cannot write (%s): lanes take no items, sales are refused until it can", fault)
