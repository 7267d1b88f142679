"""The composition root: build the store's parts from the configuration, start them, stop them
(docs/architecture.md, docs/adr/0008-composition-root.md).

``Daemon.run(stop)`` opens the store (restoring every open basket from its journal), loads the
catalogue, builds the verifier, the lanes and the readers (from the driver registry, all
feeding one read queue), sync with central and the checkout when MQTT is on, the HTTP API,
and runs until ``stop`` is set (SIGTERM in ``edge-agent run``); then it stops them in reverse.
The next start carries on with the same baskets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from drivers.base import Reader
from drivers.registry import build_reader
from edge_agent import __version__, health
from edge_agent.age.registry import age_backend
from edge_agent.attendant import AttendantQueue
from edge_agent.basket import AlcoholHours, Basket, Rules
from edge_agent.catalog.seed import seed_catalog
from edge_agent.clock import ClockWatch
from edge_agent.config import Config
from edge_agent.dashboard import health_changes
from edge_agent.fiscal.desk import fiscal_from_config, foundation_of
from edge_agent.gate.gates import GateFacts, Gates
from edge_agent.hub import Hub
from edge_agent.lane_faults import LaneFaults
from edge_agent.lanes import Lanes
from edge_agent.logthrottle import ThrottledLog
from edge_agent.metrics import Metrics
from edge_agent.readqueue import ReadQueue
from edge_agent.repositories import open_repositories
from edge_agent.security.badges import Badges
from edge_agent.security.devices import Devices
from edge_agent.security.staff import StaffMember, Tokens
from edge_agent.services import Limits, Services
from edge_agent.verify.checks import CodeChecks
from edge_agent.verify.registry import verifier_from_config
from edge_agent.wire.topics import StoreTopics

if TYPE_CHECKING:  # with MQTT off, paho is never loaded
    from edge_agent.sync.agent import Sync

log = logging.getLogger("edge_agent.daemon")
HOUSEKEEPING_S, STATUS_EVERY_S = 1.0, 30.0  # payments resumed, retained status refreshed this often
HEALTH_EVERY_S, HEALTH_KEEP_S = 1.0, 90 * 86400.0  # components sampled this often, changes kept this long
HEALTH_GRACE_S = 15.0  # a component not up yet this soon after start is connecting, not down


def rules_of(config: Config) -> Rules:
    start, end = (datetime.strptime(t, "%H:%M").time() for t in config.store.alcohol_forbidden.split("-"))
    return Rules(ZoneInfo(config.store.timezone), AlcoholHours(start, end))


def staff_tokens(config: Config) -> Tokens:
    return Tokens({s.id: StaffMember(s.id, s.name, s.pin_hash, s.badge) for s in config.staff}, config.security)


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.read_queue = ReadQueue()
        self.readers: list[Reader] = []
        self.services: Services | None = None  # once running
        self.http_port: int | None = None  # the port the HTTP server listens on, once it does
        self.http: Any = None  # the HTTP server, once it runs
        self.ready = asyncio.Event()

    @property
    def lanes(self) -> Lanes:
        assert self.services is not None, "the daemon is not running"
        return self.services.lanes

    async def run(self, stop: asyncio.Event) -> None:
        cfg, metrics, q = self.config, self.metrics, self.read_queue
        records = open_repositories(
            cfg.agent.data_dir / "edge-agent.db",
            tz=ZoneInfo(cfg.store.timezone),
            topics=StoreTopics(cfg.store.id),
            rules=rules_of(cfg),
            learn_tids=cfg.tags.learn_tid_at_sale,
        )
        seed_catalog(records.catalogue, cfg.agent.catalog_file)
        verifier = await verifier_from_config(cfg.verify, cfg.store.timezone)
        self.readers = [build_reader(r, q) for r in cfg.readers]
        tokens = staff_tokens(cfg)
        badges = Badges(
            tokens,
            roles={r.id: r.role for r in cfg.readers},
            badges=[s.badge for s in cfg.staff if s.badge],
            metrics=metrics,
        )
        facts = GateFacts(catalogue=records.catalogue, sold=records.sold, tids=records.tids, alarms=records.gate_alarms)
        gates = Gates(cfg.gates, facts=facts, metrics=metrics, readers={r.reader_id: r for r in self.readers})
        lanes = Lanes(
            cfg.lanes,
            records,
            verifier,
            metrics=metrics,
            intercept=lambda read: badges.take(read) or gates.take(read),  # neither is an item
            foundation=foundation_of(cfg),
            age=age_backend(cfg.age),
        )
        lanes.restore(records.journal.restore())
        lanes.watch(self.readers)
        checks = CodeChecks(verifier, records.catalogue.mark_code_for)
        fiscal = fiscal_from_config(
            cfg,
            records.journal,
            lambda lane: lanes[lane].basket,
            live=lanes.basket,
            volume_of=lambda gtin: p.volume_ml if (p := records.catalogue.product(gtin)) else 0,
        )
        readers_health, registers = health.Readers(self.readers), health.Registers(fiscal)
        sync = checkout = returns = None
        if cfg.mqtt.enabled:
            from edge_agent.payment.flow import CheckoutFlow
            from edge_agent.payment.returns import Returns
            from edge_agent.sync.agent import Sync

            sync = Sync(
                cfg,
                outbox=records.outbox,
                requests=records.requests,
                catalogue=records.catalogue,
                readers=readers_health.detail,
                fiscal=registers.detail,
                verification=checks.last_health,
            )
            checkout = CheckoutFlow(records, sync.requester, settings=cfg.checkout, lookup=lanes.basket, fiscal=fiscal)
            returns = Returns(records, sync.requester, cfg.checkout, fiscal)
        hub, limits = Hub(), Limits.of(cfg)
        faults = LaneFaults(
            lambda: list(lanes),
            desk=fiscal.desks.get,
            central_silent_since=lambda: checkout.central_silent_since if checkout is not None else None,
            kiosks=hub.clients,
            paused=lambda lane: (c := lanes.get(lane)) is not None and c.paused is not None,
            changed=hub.notify,
        )
        svc = self.services = Services(
            config=cfg,
            records=records,
            lanes=lanes,
            checks=checks,
            metrics=metrics,
            hub=hub,
            health=health.StoreHealth(
                readers=readers_health,
                broker=health.Broker(sync),
                verification=health.Verification(checks),
                reads=health.Reads(q),
                storage=health.Storage(records.db, records.journal, lanes.waiting_events),
                registers=registers,
                delivery=health.Delivery(sync, cfg.mqtt.unconfirmed_warn_s),
                clock=health.Clock(ClockWatch()),
                http=health.Http(limits.connections) if cfg.http.enabled else None,
                outbox_depth=records.outbox.depth,
            ),
            attendant=AttendantQueue(lanes.live_baskets, records.gate_alarms, faults.open),
            tokens=tokens,
            devices=Devices(records.devices),
            limits=limits,
            fiscal=fiscal,
            gates=gates,
            sync=sync,
            checkout=checkout,
            returns=returns,
            faults=faults,
            public_base_url=cfg.http.public_base_url,
        )
        self._listen(svc)
        metrics.bind_reads(q)
        metrics.bind_fiscal(fiscal.desks)
        metrics.bind_readers(self.readers)
        metrics.bind_verification(checks.last_health)
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(records.db.close)
            stack.push_async_callback(verifier.aclose)
            if lanes.age is not None:
                stack.push_async_callback(lanes.age.aclose)
            if sync is not None:
                await self._start_sync(sync, stack)
            for reader in self.readers:
                await reader.start()
                stack.push_async_callback(reader.stop)
            tasks = [asyncio.create_task(lanes.run(q), name="lanes")]
            for lane, desk in fiscal.desks.items():
                stack.push_async_callback(desk.register.aclose)
                tasks.append(asyncio.create_task(desk.run(), name=f"fiscal-{lane}"))
            if fiscal.egais is not None:
                stack.push_async_callback(fiscal.egais.aclose)
            tasks.append(asyncio.create_task(_health_log(svc), name="health-log"))
            tasks.append(asyncio.create_task(faults.run(), name="lane-faults"))
            if sync is not None:
                tasks.append(asyncio.create_task(self._housekeeping(svc), name="housekeeping"))
            stack.push_async_callback(_cancel, tasks)
            if cfg.http.enabled:
                from edge_agent.api.app import create_app
                from edge_agent.api.server import HttpServer

                http = HttpServer(create_app(svc, tls=cfg.http.tls_cert is not None), cfg.http, limits.connections)
                await http.start()
                stack.push_async_callback(http.stop)
                self.http_port, self.http = http.port, http
            self.ready.set()
            await _until(stop, tasks)

    def _listen(self, svc: Services) -> None:
        """Who hears what: kiosks and the attendant's clocks of every committed basket change,
        the store's reactions to its database's faults, the metrics of kiosks' payments."""
        records, lanes, hub, metrics = svc.records, svc.lanes, svc.hub, self.metrics

        def changed(basket: Basket) -> None:
            lane = lanes.get(basket.lane)
            hub.notify(basket.lane, lane.read_at if lane is not None else None)
            svc.attendant.changed(basket)

        records.journal.listeners.append(changed)
        lanes.settling_listeners.append(hub.notify)  # the kiosk shows its total once the box settled
        watch = health.StorageWatch(
            metrics,
            notify_lanes=lambda: hub.notify_all(lanes),
            reseed=lambda: seed_catalog(records.catalogue, self.config.agent.catalog_file),
        )
        records.db.fault_listeners.append(watch)
        if records.db.fault is not None:  # it could not write from the start (a full disk)
            watch(records.db.fault)
        if svc.checkout is not None:

            def paid(lane: str, result: str, seconds: float) -> None:  # a kiosk's payment is over
                metrics.payments.labels(result).inc()
                metrics.pay.observe(seconds)
                hub.notify(lane)

            svc.checkout.finished.append(paid)
            svc.checkout.moved.append(hub.notify)
            if svc.sync is not None:
                svc.sync.on_notification = svc.checkout.notified

    async def _start_sync(self, sync: Sync, stack: contextlib.AsyncExitStack) -> None:
        cfg, outbox = self.config, sync.outbox
        if cfg.mqtt.broker == "embedded":
            from edge_agent.sync.embedded import EmbeddedBroker

            embedded = await EmbeddedBroker(cfg.mqtt.host, cfg.mqtt.port).start()
            stack.push_async_callback(embedded.stop)
        await sync.start()
        stack.push_async_callback(sync.stop)
        self.metrics.bind(lambda: float(outbox.depth()), lambda: float(sync.link.connects), sync.unconfirmed)

    async def _housekeeping(self, svc: Services) -> None:
        """Resume unfinished payments (after a restart, or waiting on central), and refresh the
        retained status with the readers' health."""
        assert svc.checkout is not None and svc.sync is not None and svc.returns is not None
        last_status, noise = 0.0, ThrottledLog(log)
        while True:
            try:
                await svc.checkout.resume()
                await svc.checkout.probe_central()  # silent before: is it back? (kiosks wait on it)
                await svc.returns.resume()
                if svc.fiscal.egais is not None:  # cheques a crash or a timeout left unsettled
                    await svc.fiscal.egais.settle()
            except Exception as e:  # one failed round never stops the next
                noise.warning(type(e).__name__, "resuming payments failed: %s", e)
            if time.monotonic() - last_status > STATUS_EVERY_S:
                with contextlib.suppress(Exception):  # the status goes out with what is known
                    await svc.checks.health()
                svc.sync.publish_status()
                last_status = time.monotonic()
            await asyncio.sleep(HOUSEKEEPING_S)


async def _health_log(svc: Services) -> None:
    """Sample every component's state and write the changes: the dashboard's health over time.
    Once, ``HEALTH_GRACE_S`` after start, the start check: did this version come up (an upgrade
    that did not is in the retained status and ``edge_agent_start_ok``, and a rollout stops)."""
    written: dict[str, bool] = {}
    noise, started, checked = ThrottledLog(log), time.monotonic(), False
    while True:
        if not checked and time.monotonic() - started >= HEALTH_GRACE_S:
            checked = True
            verdict = health.start_check(svc.health.states())
            svc.metrics.start_ok.set(bool(verdict["ok"]))
            if svc.sync is not None:
                svc.sync.start_verdict = verdict
                svc.sync.publish_status()
            if verdict["ok"]:
                log.info("edge-agent %s started: readers, registers, store and broker up", __version__)
            else:
                log.error("edge-agent %s did not start healthy: %s", __version__, verdict["failing"])
        svc.health.clock.watch.check()  # a wall-clock jump is logged when it happens, not at the next /healthz
        now = svc.health.states()
        changes = health_changes(written, now)
        if time.monotonic() - started < HEALTH_GRACE_S:  # still connecting at start: unknown, not down
            changes = [(c, ok, detail) for c, ok, detail in changes if ok or c in written]
        if changes:
            try:
                svc.records.health.record(changes, time.time(), HEALTH_KEEP_S)
                written.update((c, ok) for c, ok, _ in changes)
            except Exception as e:  # a full disk: the next sample writes what changed since
                noise.warning(type(e).__name__, "health log not written: %s", e)
        await asyncio.sleep(HEALTH_EVERY_S)


async def _until(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Until ``stop``; a part that dies on its own stops the daemon with its error."""
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({stopping, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    for task in done - {stopping}:
        task.result()


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
