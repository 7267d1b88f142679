"""The daemon: readers → pipeline → one basket per lane → store, on one asyncio loop.

``Daemon.run(stop)`` opens the store (restoring every open basket from its journal), loads
the catalogue, starts the readers of the configuration, and feeds their reads through the
pure pipeline. Per lane a ``LaneController`` turns presence events into basket commands,
journaled with their outbox rows: an arrival adds a line (an EPC's full mark code comes from
the tag's User memory or the store's received codes), a departure from a box removes it,
and marked lines are verified (batched when a box settles, at once on a tap). On ``stop``
(SIGTERM in ``edge-agent run``) readers stop and the store closes; the next start carries on
with the same baskets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from drivers.base import Reader, merge
from edge_agent.api.auth import RateLimiter, StaffMember, Tokens
from edge_agent.api.hub import Hub
from edge_agent.basket import AlcoholHours, Basket, BasketError, Product, Rules, State
from edge_agent.codes import Identity, ParseError, parse
from edge_agent.config import Config, LaneSettings, ReaderConfig
from edge_agent.metrics import Metrics
from edge_agent.pipeline import Arrived, Departed, Key, LaneConfig, Pipeline, Settled, Zone
from edge_agent.reads import TagRead
from edge_agent.store import Store
from edge_agent.sync.topics import StoreTopics
from edge_agent.verify.chain import Verifier
from edge_agent.verify.service import verifier_from_config

log = logging.getLogger("edge_agent.daemon")
TICK_S = 0.02  # how often time passes for the pipeline: bounds how late a box is seen settled


def build_reader(cfg: ReaderConfig) -> Reader:
    if cfg.driver == "llrp":
        from drivers.llrp import LLRPReader
        from edge_agent.llrp.session import InventoryConfig

        inventory = InventoryConfig(read_tid_words=cfg.read_tid_words, read_user_words=cfg.read_user_words)
        return LLRPReader(cfg.id, cfg.host, cfg.port, inventory)
    if cfg.driver == "pcsc":
        from drivers.pcsc import PCSCReader

        return PCSCReader(cfg.id, cfg.path)
    if cfg.driver == "nfc":
        from drivers.nfc import NfcReader

        return NfcReader(cfg.id, cfg.path)
    from drivers.scanner import ScannerReader

    return ScannerReader(cfg.id, cfg.path)


def pipeline_for(config: Config) -> Pipeline:
    zones = [
        Zone(z.reader, lane.id, frozenset(z.antennas) if z.antennas is not None else None, z.min_rssi)
        for lane in config.lanes
        for z in lane.zones
    ]
    lanes = [LaneConfig(lane.id, lane.mode, lane.depart_after_s, lane.settle_s) for lane in config.lanes]
    return Pipeline(zones, lanes)


def _product_args(product: Product | None) -> dict[str, Any] | None:
    return None if product is None else {f.name: getattr(product, f.name) for f in fields(product)}


def load_catalog(store: Store, path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    store.upsert_products(Product(**p) for p in data.get("products", []))
    store.receive_codes((ki, km) for ki, km in data.get("received_codes", {}).items())


class LaneController:
    def __init__(self, settings: LaneSettings, store: Store, verifier: Verifier | None, topic: str,
                 metrics: Metrics | None = None) -> None:  # fmt: skip
        self.settings, self.store, self.verifier, self.topic = settings, store, verifier, topic
        self.metrics = metrics or Metrics()
        self.read_at: float | None = None  # the read behind the change being committed (screens)
        self.basket: Basket | None = None
        self.lines: dict[Key, int] = {}  # pipeline key -> line id
        self.identities: dict[int, Identity] = {}
        self.unverified: set[int] = set()
        self.parse_errors = 0

    def current(self) -> Basket:
        if self.basket is None or self.basket.state in (State.CLOSED, State.CANCELLED):
            self.basket = self.store.open_basket(f"{self.settings.id}-{uuid.uuid4().hex[:12]}", self.settings.id,
                                                 self.topic)  # fmt: skip
            self.lines.clear()
            self.identities.clear()
            self.unverified.clear()
        return self.basket

    def adopt(self, basket: Basket) -> None:
        """A basket restored from the journal: its serialized lines are matched to reads again."""
        self.basket = basket
        self.unverified = {line.id for line in basket.lines.values() if line.marked and line.verdict is None}

    def forget(self, line_id: int) -> None:
        """Staff voided a line: its reads no longer map to it."""
        self.lines = {k: v for k, v in self.lines.items() if v != line_id}
        self.unverified.discard(line_id)

    def identity_of(self, read: TagRead) -> Identity | None:
        try:
            identity = parse(read.raw)
        except ParseError as e:
            self.parse_errors += 1
            self.metrics.parse_errors.inc()
            log.info("lane %s: %s read %r is not an item: %s", self.settings.id, read.kind, read.raw[:60], e.message)
            return None
        if identity.mark_code is None and read.user_memory:  # the КМ written in the tag's User memory
            with contextlib.suppress(ParseError):
                stored = parse(read.user_memory.rstrip(b"\x00").decode("latin-1"))
                if stored.ki == identity.ki and stored.mark_code is not None:
                    return stored
        return identity

    def arrived(self, event: Arrived) -> int | None:
        identity = self.identity_of(event.read)
        if identity is None:
            return None
        basket = self.current()
        mark_code = identity.mark_code or self.store.mark_code_for(identity.ki)
        args = {"product": _product_args(self.store.product(identity.gtin)), "gtin": identity.gtin,
                "ki": identity.ki, "mark_code": mark_code, "sold_here": self.store.sold_here(identity.ki),
                "at": datetime.fromtimestamp(event.read.timestamp, UTC).isoformat()}  # fmt: skip
        existing = basket.line_by_key(identity.ki)
        if existing is not None:  # restored basket, or the same item through another carrier
            self.lines[event.key] = existing.id
            return None
        self.read_at = event.read.timestamp
        try:
            line = self.store.apply(basket, "add", args, self.topic)
        except BasketError as e:
            log.info("lane %s: item not added: %s", self.settings.id, e.message)
            return None
        finally:
            self.read_at = None
        if line is None:
            return None
        self.metrics.latency("tag_to_basket", max(0.0, time.time() - event.read.timestamp))
        self.lines[event.key] = line.id
        if line.marked:
            # the tag or scan may have carried the КМ already; else it came from received codes
            self.identities[line.id] = parse(mark_code) if mark_code and identity.mark_code is None else identity
            self.unverified.add(line.id)
        return int(line.id)

    def departed(self, event: Departed) -> None:
        line_id = self.lines.pop(event.key, None)
        if line_id is None or self.basket is None or line_id not in self.basket.lines:
            return
        with contextlib.suppress(BasketError):
            self.store.apply(self.basket, "remove", {"line_id": line_id, "by": "customer", "device": self.settings.id,
                                                     "at": datetime.now(UTC).isoformat()}, self.topic)  # fmt: skip
        self.unverified.discard(line_id)

    async def verify_pending(self) -> None:
        if self.basket is None or not self.unverified or self.verifier is None:
            return
        basket = self.basket
        ids = [i for i in sorted(self.unverified) if i in basket.lines and i in self.identities]
        self.unverified.clear()
        if not ids:
            return
        started = time.perf_counter()
        verdicts = await self.verifier.verify([self.identities[i] for i in ids])
        self.metrics.latency("check", time.perf_counter() - started)
        for line_id, verdict in zip(ids, verdicts, strict=True):
            self.metrics.verdicts.labels(verdict.outcome.value).inc()
            if basket is not self.basket or line_id not in basket.lines:
                continue  # the item left while it was being checked
            reason = verdict.reasons[0].message if verdict.reasons else ""
            ctx = verdict.context
            args = {"line_id": line_id, "outcome": verdict.outcome.value, "reason": reason,
                    "fiscal_1265": verdict.tag_1265, "fiscal": verdict.fiscal(),
                    "source": ctx.source.value if ctx else None, "req_id": ctx.req_id if ctx else None,
                    "req_timestamp": ctx.req_timestamp if ctx else None}  # fmt: skip
            self.store.apply(basket, "verdict", args, self.topic)


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.readers: list[Reader] = []
        self.lanes: dict[str, LaneController] = {}
        self.pipeline = pipeline_for(config)
        self.store: Store | None = None
        self.sync: Any = None  # edge_agent.sync.agent.Sync when MQTT is enabled
        self.checkout: Any = None  # edge_agent.payment.Checkout, with sync
        self.verifier: Verifier | None = None
        self.metrics = Metrics()
        self.hub = Hub()
        self.tokens = Tokens({s.id: StaffMember(s.id, s.name, s.pin_sha256, s.badge) for s in config.staff})
        self.badges = {s.badge.upper() for s in config.staff if s.badge}
        self.public_limiter = RateLimiter(config.http.public_rate_per_s, config.http.public_burst)
        self.http_port: int | None = None  # the port the HTTP server listens on, once it does
        self.log = log
        self.ready = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._checks: dict[str, tuple[float, dict[str, Any]]] = {}
        self._verification: tuple[float, dict[str, Any]] = (0.0, {})

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _changed(self, basket: Basket) -> None:
        lane = self.lanes.get(basket.lane)
        self.hub.notify(basket.lane, lane.read_at if lane is not None else None)

    async def check_code(self, identity: Identity) -> dict[str, Any]:
        """A live check of one code (staff lookup, product page), never stored as a sale verdict."""
        if self.verifier is None:
            return {"outcome": "UNAVAILABLE", "reasons": [{"code": "no_verifier", "message": "no check service"}]}
        if identity.mark_code is None and self.store is not None:
            full = self.store.mark_code_for(identity.ki)
            if full is not None:
                identity = parse(full)
        verdict = (await self.verifier.verify([identity]))[0]
        out = verdict.to_dict()
        out["checked_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        return out

    async def authenticity(self, identity: Identity, max_age_s: float = 60.0) -> dict[str, Any]:
        """The verdict a phone sees: a live check, remembered for ``max_age_s`` per item."""
        cached = self._checks.get(identity.ki)
        if cached is not None and time.monotonic() - cached[0] < max_age_s:
            return cached[1]
        result = await self.check_code(identity)
        view = {k: result.get(k) for k in ("outcome", "source", "offline", "checked_at")}
        view["reasons"] = result.get("reasons", [])
        if len(self._checks) > 50_000:
            self._checks.clear()
        self._checks[identity.ki] = (time.monotonic(), view)
        return view

    async def verification_health(self) -> dict[str, Any]:
        """The check services as /healthz shows them (the Local Module's status, with its 48 h
        sync alarm), asked at most every 10 s."""
        at, cached = self._verification
        if time.monotonic() - at < 10 and cached:
            return cached
        out: dict[str, Any] = {"ok": self.verifier is not None, "online": None, "local_module": None}
        if self.verifier is not None:
            online = self.verifier.online
            out["online"] = type(online).__name__ if online is not None else None
            local = self.verifier.local
            status = getattr(local, "status", None)
            if status is not None:
                try:
                    lm = await asyncio.wait_for(status(), 1.0)
                    out["local_module"] = {"status": lm.get("status"), "sync_age_s": lm.get("sync_age_s"),
                                           "sync_alarm": lm.get("sync_alarm")}  # fmt: skip
                    out["ok"] = lm.get("status") == "ready" and not lm.get("sync_alarm")
                except Exception as e:
                    out["local_module"] = {"status": "unreachable", "error": type(e).__name__}
                    out["ok"] = False
        self._verification = (time.monotonic(), out)
        return out

    def lookup(self, basket_id: str) -> tuple[Basket, str] | None:
        """A live basket by id, with its lane's topic prefix (the checkout flow resumes with it)."""
        for lane in self.lanes.values():
            if lane.basket is not None and lane.basket.id == basket_id:
                return lane.basket, lane.topic
        return None

    def readers_health(self) -> dict[str, Any]:
        return {r.reader_id: r.health.to_dict() for r in self.readers}

    async def run(self, stop: asyncio.Event) -> None:
        cfg = self.config
        tz = ZoneInfo(cfg.store.timezone)
        start, end = (datetime.strptime(t, "%H:%M").time() for t in cfg.store.alcohol_forbidden.split("-"))
        rules = Rules(tz, AlcoholHours(start, end))
        topics = StoreTopics(cfg.store.id)
        store = self.store = Store(cfg.agent.data_dir / "edge-agent.db", tz, rules, epcis_topic=topics.epcis)
        if cfg.agent.catalog_file is not None and store.stream_version("catalog") < 0:
            load_catalog(store, cfg.agent.catalog_file)  # until central has sent a catalogue
        verifier = self.verifier = await verifier_from_config(cfg.verify, cfg.store.timezone)
        store.basket_listeners.append(self._changed)
        for lane in cfg.lanes:
            self.lanes[lane.id] = LaneController(lane, store, verifier, topics.lane_prefix(lane.id), self.metrics)
        for basket in store.restore():
            if basket.lane in self.lanes:
                self.lanes[basket.lane].adopt(basket)
                log.info("restored basket %s on %s: %d lines, %s", basket.id, basket.lane, len(basket.lines),
                         basket.state.value)  # fmt: skip
        self.readers = [build_reader(r) for r in cfg.readers]
        embedded = None
        if cfg.mqtt.enabled and cfg.mqtt.broker == "embedded":
            from edge_agent.sync.embedded import EmbeddedBroker

            embedded = await EmbeddedBroker(cfg.mqtt.host, cfg.mqtt.port).start()
        if cfg.mqtt.enabled:
            from edge_agent.payment import Checkout
            from edge_agent.sync.agent import Sync

            self.sync = Sync(cfg, store, self.readers_health)
            self.checkout = Checkout(store, self.sync.requester, cfg.checkout, self.lookup)
            self.sync.on_notification = self.checkout.notified
            await self.sync.start()
        for reader in self.readers:
            await reader.start()
        tasks = [asyncio.create_task(self._consume(), name="reads"), asyncio.create_task(self._tick(), name="tick")]
        if self.sync is not None:
            tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))
            self.metrics.bind(lambda: float(store.outbox_depth()), lambda: float(self.sync.link.connects))
        server = None
        if cfg.http.enabled:
            server, serving = await self._serve_http()
            tasks.append(serving)
        self.ready.set()
        try:
            await stop.wait()
        finally:
            if server is not None:
                server.should_exit = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for reader in self.readers:
                await reader.stop()
            if self.sync is not None:
                await self.sync.stop()
            if embedded is not None:
                await embedded.stop()
            await verifier.aclose()
            store.db.conn.close()

    async def _serve_http(self) -> tuple[Any, asyncio.Task[None]]:
        import uvicorn

        from edge_agent.api import create_app

        cfg = self.config.http
        config = uvicorn.Config(create_app(self), host=cfg.host, port=cfg.port, log_level="warning", lifespan="off",
                                access_log=False, ws_ping_interval=20)  # fmt: skip
        server = _QuietServer(config)
        task = asyncio.create_task(server.serve(), name="http")
        while not server.started:
            if task.done():
                task.result()  # the port is taken, say: fail loudly
                raise RuntimeError("the HTTP server stopped at start")
            await asyncio.sleep(0.02)
        self.http_port = server.servers[0].sockets[0].getsockname()[1]
        log.info("HTTP on http://%s:%d (kiosk, staff, product pages, /healthz, /metrics)", cfg.host, self.http_port)
        return server, task

    async def _housekeeping(self) -> None:
        """Resume unfinished payments (after a restart, or waiting on central), and refresh the
        retained status with the readers' health."""
        last_status = 0.0
        while True:
            try:
                await self.checkout.resume()
            except Exception:
                log.exception("resuming payments failed")
            if time.monotonic() - last_status > 30:
                self.sync.publish_status()
                last_status = time.monotonic()
            await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        async for read in merge(self.readers):
            self.metrics.reads.labels(read.reader_id).inc()
            if self.badges and read.raw.upper() in self.badges:
                staff = self.tokens.badge_read(read.raw, read.reader_id)
                log.info("staff badge of %s tapped on %s", staff, read.reader_id)
                continue  # a badge is never an item
            for event in self.pipeline.feed(read):
                await self._handle(event)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            for event in self.pipeline.tick(time.time()):
                await self._handle(event)

    async def _handle(self, event: Arrived | Departed | Settled) -> None:
        lane = self.lanes[event.lane]
        if isinstance(event, Arrived):
            line_id = lane.arrived(event)
            if line_id is not None and lane.settings.mode == "tap":
                task = asyncio.create_task(lane.verify_pending())
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        elif isinstance(event, Departed):
            lane.departed(event)
        else:
            await lane.verify_pending()  # the box settled: one batched check for its new items


def _QuietServer(config: Any) -> Any:
    """uvicorn's server without its signal handlers: ``edge-agent run`` owns SIGTERM/SIGINT."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
                 "msg": record.getMessage()}  # fmt: skip
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def run_forever(config: Config) -> None:
    """``edge-agent run``: JSON logs on stderr; SIGTERM or SIGINT stop it gracefully."""
    import signal

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=config.agent.log_level, handlers=[handler], force=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("edge-agent %s starting: %d readers, %d lanes", config.agent.id, len(config.readers),
                 len(config.lanes))  # fmt: skip
        await Daemon(config).run(stop)
        log.info("edge-agent stopped")

    asyncio.run(main())
