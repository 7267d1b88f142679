"""What the HTTP API works with, in one typed object (docs/adr/0008-composition-root.md).

The daemon builds one ``Services`` from its parts; the API receives it through one FastAPI
dependency (``api/deps.py``). It holds the lanes, the store, the checkout (when sync with
central is on), the code checks, staff tokens and the public page's rate limiter, the
WebSocket hub, the metrics, the read queue and the readers, and answers ``/healthz``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drivers.base import Reader
from edge_agent.api.auth import RateLimiter, StaffMember, Tokens
from edge_agent.api.hub import Hub
from edge_agent.basket import Basket
from edge_agent.basket.interventions import Intervention, gate_alarms, ordered, queue
from edge_agent.catalog.seed import seed_catalog
from edge_agent.config import Config
from edge_agent.fiscal.desk import Fiscal
from edge_agent.gate.gates import Gates
from edge_agent.lanes import Lanes
from edge_agent.logthrottle import ThrottledLog
from edge_agent.metrics import Metrics
from edge_agent.readqueue import ReadQueue
from edge_agent.reads import TagRead
from edge_agent.repositories import Repositories
from edge_agent.security.devices import Devices
from edge_agent.security.throttle import Window
from edge_agent.verify.checks import CodeChecks

if TYPE_CHECKING:  # with MQTT off, paho is never loaded
    from edge_agent.payment.flow import Checkout
    from edge_agent.payment.returns import Returns
    from edge_agent.sync.agent import Sync

log = logging.getLogger("edge_agent")


def staff_tokens(config: Config) -> Tokens:
    return Tokens({s.id: StaffMember(s.id, s.name, s.pin_hash, s.badge) for s in config.staff}, config.security)


@dataclass
class Services:
    config: Config
    records: Repositories
    lanes: Lanes
    checks: CodeChecks
    metrics: Metrics
    read_queue: ReadQueue
    readers: Sequence[Reader] = ()
    hub: Hub = field(default_factory=Hub)
    #: staff sign-in, device credentials, and the limiters, from the configuration
    tokens: Tokens = field(init=False)
    devices: Devices = field(init=False)
    public_limiter: RateLimiter = field(init=False)
    #: live checks from the public page, all phones together; loyalty look-ups per lane
    public_checks: RateLimiter = field(init=False)
    identify_limiter: Window = field(init=False)
    sync: Sync | None = None
    checkout: Checkout | None = None
    returns: Returns | None = None
    #: the lanes' fiscal registers (none configured: no receipts printed here)
    fiscal: Fiscal = field(default_factory=lambda: Fiscal({}))
    gates: Gates | None = None
    #: the base of the Digital Link URIs on receipts and tags (the demo points it at itself)
    public_base_url: str = ""
    #: (basket, problem) -> when it was first seen open (the attendant queue's waiting time)
    first_seen: dict[tuple[str, int], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.public_base_url = self.public_base_url or self.config.http.public_base_url
        self.tokens = staff_tokens(self.config)
        self.devices = Devices(self.records.devices)
        http = self.config.http
        self.public_limiter = RateLimiter(http.public_rate_per_s, http.public_burst)
        self.public_checks = RateLimiter(http.public_checks_per_s, max(1, int(http.public_checks_per_s)))
        self.identify_limiter = Window(self.config.security.identify_per_min)
        self._badges = {s.badge.upper() for s in self.config.staff if s.badge}
        self._roles = {r.id: r.role for r in self.config.readers}
        self._noise = ThrottledLog(log)
        self.records.journal.listeners.append(self._changed)
        self.records.db.fault_listeners.append(self._store_changed)
        if self.records.db.fault is not None:  # it could not write from the start (a full disk)
            self._store_changed(self.records.db.fault)

    def _store_changed(self, fault: str | None) -> None:
        """One log line and one metric change per change of the store's state, never per write."""
        self.metrics.store_ok.set(fault is None)
        for lane in self.lanes:  # every kiosk says so at once
            self.hub.notify(lane)
        if fault is None:
            log.warning("the store can write again; waiting items are recorded now")
            seed_catalog(self.records.catalogue, self.config.agent.catalog_file)
        else:
            self.metrics.store_faults.inc()
            log.error("the store cannot write (%s): lanes take no items, sales are refused until it can", fault)

    def badge(self, read: TagRead) -> bool:
        """A read that is not an item: anything on a staff reader (a badge there signs in the
        handheld waiting on that reader), or a staff badge on a customer's reader, which is
        ignored: customers' readers never sign anyone in."""
        if self._roles.get(read.reader_id) == "staff":
            staff = self.tokens.badge_read(read.raw, read.reader_id)
            if staff is not None:
                log.info("staff badge of %s tapped on %s", staff, read.reader_id)
            elif self.tokens.member_of(read.raw) is not None:  # a badge, and no one sign-in waiting for it
                self.metrics.refusals.labels("badge_read_unclaimed").inc()
            return True
        if self._badges and read.raw.upper() in self._badges:
            self.metrics.refusals.labels("badge_on_customer_reader").inc()
            self._noise.warning(
                read.reader_id,
                "a staff badge on customer reader %s: ignored (staff sign in on their handheld's reader)",
                read.reader_id,
            )
            return True
        return False

    def _changed(self, basket: Basket) -> None:
        lane = self.lanes.get(basket.lane)
        self.hub.notify(basket.lane, lane.read_at if lane is not None else None)
        now = time.time()
        for p in basket.problems.values():  # when each problem was first seen open: the attendant's clock
            if p.open:
                self.first_seen.setdefault((basket.id, p.id), now)
            else:
                self.first_seen.pop((basket.id, p.id), None)

    def interventions(self) -> list[Intervention]:
        """Every lane's open problems, most urgent first (``basket/interventions.py``)."""
        baskets = [
            c.basket
            for c in self.lanes.by_id.values()  # a cancelled or closed basket needs no one
            if c.basket is not None and c.basket.state.value not in ("CLOSED", "CANCELLED")
        ]
        live = {(b.id, p.id) for b in baskets for p in b.problems.values() if p.open}
        for gone in set(self.first_seen) - live:  # baskets that closed or were cancelled
            del self.first_seen[gone]
        now = time.time()
        return ordered(
            queue(baskets, self.first_seen, now)
            + gate_alarms([a.to_dict() for a in self.records.gate_alarms.list()], now)
        )

    def readers_health(self) -> dict[str, Any]:
        return {r.reader_id: r.health.to_dict() for r in self.readers}

    async def health(self) -> dict[str, Any]:
        """``/healthz``: readers, broker, verification backends, read queue, outbox depth."""
        readers = self.readers_health()
        broker: dict[str, Any] = {"enabled": self.sync is not None}
        delivery: dict[str, Any] = {"ok": True}
        if self.sync is not None:
            link = self.sync.link
            broker.update(connected=link.connected.is_set(), connects=link.connects, disconnects=link.disconnects)
            delivery = self.sync.delivery_health(self.config.mqtt.unconfirmed_warn_s)
        verification = await self.checks.health()
        reads = self.read_queue.stats()
        store = self.store_health()
        fiscal = self.fiscal_health()
        checks = [
            all(r["state"] == "online" for r in readers.values()),
            broker.get("connected", True),
            verification.get("ok", True),
            not reads["dropped_recently"],
            store["ok"],
            all(f["ok"] for f in fiscal.values()),
            delivery["ok"],
        ]
        return {
            "status": "ok" if all(checks) else "degraded",
            "readers": readers,
            "broker": broker,
            "verification": verification,
            "reads": reads,
            "store": store,
            "fiscal": fiscal,
            "delivery": delivery,
            "outbox_depth": self.records.outbox.depth(),
        }

    def component_states(self) -> dict[str, tuple[bool, str]]:
        """Each reader, register, the check services and the broker: up or not, and why (the
        dashboard's health over time; sampled by the daemon, written when one changes)."""
        out: dict[str, tuple[bool, str]] = {}
        for reader in self.readers:
            h = reader.health.to_dict()
            out[f"reader:{reader.reader_id}"] = (h["state"] == "online", str(h["reason"] or h["state"]))
        for lane, desk in self.fiscal.desks.items():
            d = desk.health()
            out[f"register:{lane}"] = (bool(d["ok"]), str(d["refuses_payments"] or d["error"] or ""))
        checks = self.checks.last_health()
        if checks:
            out["verification"] = (bool(checks.get("ok", True)), "" if checks.get("ok", True) else "unavailable")
        if self.sync is not None:
            up = self.sync.link.connected.is_set()
            out["broker"] = (up, "" if up else "disconnected")
        return out

    def fiscal_health(self) -> dict[str, Any]:
        """Each lane's register: shift, ФН, ОФД queue, the error that stops its payments."""
        return {lane: desk.health() for lane, desk in self.fiscal.desks.items()}

    def store_health(self) -> dict[str, Any]:
        """Can the store write, since when not, what waits for it, which baskets are quarantined."""
        db, journal = self.records.db, self.records.journal
        waiting = {lane: len(self.lanes[lane].pending) for lane in self.lanes if self.lanes[lane].pending}
        quarantined = [
            {"basket": q.basket_id, "lane": q.lane, "reason": q.reason, "since": q.since} for q in journal.quarantined
        ]
        return {
            "ok": db.fault is None and not quarantined,
            "fault": db.fault,
            "fault_since": db.fault_since,
            "waiting_events": waiting,
            "quarantined": quarantined,
        }
