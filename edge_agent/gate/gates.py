"""The daemon's exit gates: reads of a gate's reader in, alarms out (docs/readers.md).

Each read of a gate's reader goes through its ``Crossings`` (``rules.py``) at once, on the read
path: nothing here waits on the network. A crossing is judged against the store (catalogue,
sold set, EPC ↔ TID bindings); an alarm is written with its ``gate.alarm`` event for central in
one transaction, counted, logged, put in the attendant's queue, and drives the reader's GPO
(light, sounder) on for ``alarm_s``. A store that cannot write still sounds the alarm.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, cast

from edge_agent.catalog.records import Catalogue
from edge_agent.codes import ParseError, parse
from edge_agent.config import GateSettings
from edge_agent.db import StoreError
from edge_agent.gate.records import GateAlarm, GateAlarms, SoldSet, TidBindings
from edge_agent.gate.rules import Crossing, Crossings, Item, judge, ours, tid_matches
from edge_agent.metrics import Metrics
from edge_agent.reads import TagRead

log = logging.getLogger("edge_agent.gate")


class Outputs(Protocol):
    """A reader with general-purpose outputs (the LLRP driver)."""

    def set_gpo(self, port: int, on: bool) -> bool: ...


@dataclass(frozen=True, slots=True)
class GateFacts:
    """What a gate judges against and writes to."""

    catalogue: Catalogue
    sold: SoldSet
    tids: TidBindings
    alarms: GateAlarms


class Gate:
    def __init__(
        self,
        settings: GateSettings,
        *,
        facts: GateFacts,
        metrics: Metrics,
        outputs: Outputs | None,
        listeners: list[Callable[[GateAlarm], None]],
    ) -> None:
        self.settings, self.facts, self.metrics, self.outputs = settings, facts, metrics, outputs
        self.crossings = Crossings(settings.antennas, settings.window_s, settings.min_rssi)
        self.listeners = listeners
        for reason in ("UNPAID", "CLONED_TAG"):  # exported at 0 from the start (alerts use increase())
            metrics.gate_alarms.labels(settings.id, reason)
        for direction in ("out", "in"):
            metrics.gate_crossings.labels(settings.id, direction)
        metrics.cloned_tags.labels(settings.id)
        self._off: asyncio.TimerHandle | None = None
        self._expired_at = 0.0

    @property
    def id(self) -> str:
        return self.settings.id

    def read(self, read: TagRead) -> GateAlarm | None:
        """One read of this gate's reader; the alarm it raised, if any."""
        if read.timestamp - self._expired_at > self.settings.window_s:
            self.crossings.expire(read.timestamp)
            self._expired_at = read.timestamp
        if read.kind != "epc":
            return None
        crossing = self.crossings.read(read.raw, read.antenna, read.timestamp, tid=read.tid, rssi=read.rssi)
        if crossing is None:
            return None
        self.metrics.gate_crossings.labels(self.id, crossing.direction).inc()
        facts = self._item(crossing)
        reason = judge(crossing, facts[0] if facts else None)
        if reason is None or facts is None:
            return None
        _, ki, gtin, name = facts
        return self._alarm(crossing, reason, ki=ki, gtin=gtin, name=name)

    def _item(self, crossing: Crossing) -> tuple[Item, str, str, str] | None:
        """The store's facts about the item behind a crossing, and its КИ, GTIN and name."""
        try:
            identity = parse(crossing.epc)
        except ParseError:
            return None  # not a GS1 item (another system's tag, a badge): never ours
        product = self.facts.catalogue.product(identity.gtin)
        bound = self.facts.tids.tid_of(identity.ki) if crossing.tid else None
        cloned = bound is not None and crossing.tid is not None and not tid_matches(bytes.fromhex(bound), crossing.tid)
        item = Item(
            ours(identity.gtin, product is not None, self.settings.company_prefixes),
            self.facts.sold.sold_here(identity.ki),
            cloned,
        )
        return item, identity.ki, identity.gtin, product.name if product else identity.gtin

    def _alarm(self, crossing: Crossing, reason: str, *, ki: str, gtin: str, name: str) -> GateAlarm:
        self.metrics.gate_alarms.labels(self.id, reason).inc()
        if reason == "CLONED_TAG":
            self.metrics.cloned_tags.labels(self.id).inc()
        self.pulse()  # the light first: the person is walking away
        alarm = GateAlarm(
            gate=self.id,
            epc=crossing.epc,
            ki=ki,
            gtin=gtin,
            name=name,
            reason=reason,
            first_read_at=crossing.first_read_at,
            crossed_at=crossing.at,
            at=time.time(),
        )
        try:
            alarm = self.facts.alarms.record(alarm)
        except StoreError as e:
            log.error("gate %s: alarm for %s not recorded (%s): the light and sounder still went on", self.id, ki, e)
        log.warning(
            "gate %s: %s walked out %s (%s)", self.id, name, "unpaid" if reason == "UNPAID" else "on a copied tag", ki
        )
        for listener in self.listeners:
            listener(alarm)
        return alarm

    def pulse(self) -> None:
        """The GPO on for ``alarm_s`` from now (a new alarm extends it)."""
        port = self.settings.gpo_port
        if not port or self.outputs is None:
            return
        if not self.outputs.set_gpo(port, True):
            log.warning("gate %s: its reader is not connected: no light or sounder", self.id)
        if self._off is not None:
            self._off.cancel()
        try:
            self._off = asyncio.get_running_loop().call_later(self.settings.alarm_s, self._gpo_off)
        except RuntimeError:  # no loop (a pure test): nothing switches it off
            self._off = None

    def _gpo_off(self) -> None:
        self._off = None
        if self.outputs is not None:
            self.outputs.set_gpo(self.settings.gpo_port, False)


class Gates:
    """Every exit gate, by its reader: ``take(read)`` keeps a gate reader's reads from the lanes."""

    def __init__(
        self, settings: Iterable[GateSettings], *, facts: GateFacts, metrics: Metrics, readers: Mapping[str, object]
    ) -> None:
        self.listeners: list[Callable[[GateAlarm], None]] = []
        self.by_reader: dict[str, Gate] = {}
        for s in settings:
            reader = readers.get(s.reader)
            outputs = cast(Outputs, reader) if hasattr(reader, "set_gpo") else None
            self.by_reader[s.reader] = Gate(s, facts=facts, metrics=metrics, outputs=outputs, listeners=self.listeners)

    def take(self, read: TagRead) -> bool:
        gate = self.by_reader.get(read.reader_id)
        if gate is None:
            return False
        gate.read(read)
        return True
