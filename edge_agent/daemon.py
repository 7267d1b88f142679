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
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from drivers.base import Reader, merge
from edge_agent.basket import AlcoholHours, Basket, BasketError, Product, Rules, State
from edge_agent.codes import Identity, ParseError, parse
from edge_agent.config import Config, LaneSettings, ReaderConfig
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
    def __init__(self, settings: LaneSettings, store: Store, verifier: Verifier | None, topic: str) -> None:
        self.settings, self.store, self.verifier, self.topic = settings, store, verifier, topic
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

    def identity_of(self, read: TagRead) -> Identity | None:
        try:
            identity = parse(read.raw)
        except ParseError as e:
            self.parse_errors += 1
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
        try:
            line = self.store.apply(basket, "add", args, self.topic)
        except BasketError as e:
            log.info("lane %s: item not added: %s", self.settings.id, e.message)
            return None
        if line is None:
            return None
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
        verdicts = await self.verifier.verify([self.identities[i] for i in ids])
        for line_id, verdict in zip(ids, verdicts, strict=True):
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
        self.ready = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

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
        verifier = await verifier_from_config(cfg.verify, cfg.store.timezone)
        for lane in cfg.lanes:
            self.lanes[lane.id] = LaneController(lane, store, verifier, topics.lane_prefix(lane.id))
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
            await self.sync.start()
        for reader in self.readers:
            await reader.start()
        tasks = [asyncio.create_task(self._consume(), name="reads"), asyncio.create_task(self._tick(), name="tick")]
        if self.sync is not None:
            tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))
        self.ready.set()
        try:
            await stop.wait()
        finally:
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
