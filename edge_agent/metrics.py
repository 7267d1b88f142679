"""Prometheus metrics of one daemon (``/metrics``): reads per reader, tag-to-basket and
check latencies, verdicts by outcome, payments, outbox depth, MQTT (re)connections, each
lane's fiscal register (can it print, receipts, mark checks, the ОФД queue), the readers'
and the check services' state, sign-ins and refusals. Counts are counters (``_total``), read
at scrape time where another part keeps the count (``CallbackCounters``); states are gauges.
``config/prometheus/alerts.yml`` and ``config/grafana/edge-agent.json`` are written over
these names (a test scrapes a running store and checks every name they use is here)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from edge_agent import __version__
from edge_agent.readqueue import ReadQueue

if TYPE_CHECKING:
    from drivers.base import Reader
    from edge_agent.fiscal.desk import FiscalDesk


class CallbackCounters(Collector):
    """Counters whose values another part keeps (the MQTT link's connects, the read queue's
    drops, a register's receipts): read at each scrape, exposed as ``<name>_total``."""

    def __init__(self, name: str, doc: str, labels: Sequence[str] = ()) -> None:
        self.name, self.doc, self.labels = name, doc, list(labels)
        self.sources: dict[tuple[str, ...], Callable[[], float]] = {}

    def bind(self, fn: Callable[[], float], *values: str) -> None:
        self.sources[values] = fn

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        for values, fn in self.sources.items():
            family.add_metric(list(values), fn())
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.doc, labels=self.labels)


_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0)


def _online(reader: Reader) -> Callable[[], float]:
    return lambda: float(reader.health.to_dict()["state"] == "online")


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        # edge_agent_build_info{version="..."} 1: the version a store runs, for the fleet's view
        Info("edge_agent_build", "The running edge-agent's version", registry=r).info({"version": __version__})
        self.start_ok = Gauge(
            "edge_agent_start_ok",
            "1 once this version came up with its readers, registers, store and broker; 0 if it did not",
            registry=r,
        )
        self.start_ok.set(1)
        self.reads = Counter("edge_agent_reads", "Tag reads received, per reader", ["reader"], registry=r)
        self.parse_errors = Counter("edge_agent_parse_errors", "Reads that are not an item", registry=r)
        self.store_ok = Gauge("edge_agent_store_ok", "1 when the store can write (0: a full disk, say)", registry=r)
        self.store_ok.set(1)
        self.store_faults = Counter(
            "edge_agent_store_faults", "Times the store stopped being able to write", registry=r
        )
        self.event_errors = Counter("edge_agent_event_errors", "Presence events that could not be handled", registry=r)
        self.reads_coalesced = self._counted("edge_agent_reads_coalesced", "Repeat reads folded into a queued one")
        self.reads_dropped = self._counted("edge_agent_reads_dropped", "Reads dropped: the read queue was full")
        self.read_queue_depth = Gauge(
            "edge_agent_read_queue_depth", "Distinct reads waiting for the pipeline", registry=r
        )
        self.tag_to_basket = Histogram(
            "edge_agent_tag_to_basket_seconds", "First read of an item to its basket line", buckets=_LATENCY, registry=r
        )
        self.check = Histogram("edge_agent_check_seconds", "Mark-code check of a batch", buckets=_LATENCY, registry=r)
        self.verdicts = Counter("edge_agent_verdicts", "Mark-code verdicts", ["outcome"], registry=r)
        self.age_documents = Counter(
            "edge_agent_age_documents",
            "Age documents shown at lanes, by outcome and reason",
            ["outcome", "reason"],
            registry=r,
        )
        self.cloned_tags = Counter(
            "edge_agent_cloned_tags",
            "Reads whose chip (TID) is not the one the item's EPC is bound to, per lane or gate",
            ["where"],
            registry=r,
        )
        self.gate_alarms = Counter(
            "edge_agent_gate_alarms", "Exit-gate alarms by gate and reason", ["gate", "reason"], registry=r
        )
        self.gate_crossings = Counter(
            "edge_agent_gate_crossings",
            "Tags that crossed an exit gate, by direction",
            ["gate", "direction"],
            registry=r,
        )
        self.payments = Counter("edge_agent_payments", "Payment attempts by result", ["result"], registry=r)
        self.sign_ins = Counter(
            "edge_agent_staff_sign_ins",
            "Staff sign-in attempts by method and outcome",
            ["method", "outcome"],
            registry=r,
        )
        self.lockouts = Counter("edge_agent_staff_lockouts", "Staff ids locked after failed PINs", registry=r)
        self.refusals = Counter(
            "edge_agent_security_refusals", "Requests and reads refused, by reason", ["reason"], registry=r
        )
        self.pay = Histogram(
            "edge_agent_pay_seconds", "Pay request to its outcome", buckets=(*_LATENCY, 10.0, 30.0, 60.0), registry=r
        )
        self.outbox = Gauge("edge_agent_outbox_depth", "Events not yet acknowledged by the broker", registry=r)
        self.unconfirmed = Gauge(
            "edge_agent_outbox_unconfirmed", "Events central has not confirmed storing", registry=r
        )
        self.unconfirmed_age = Gauge(
            "edge_agent_outbox_oldest_unconfirmed_seconds",
            "Age of the oldest event central has not confirmed (0: none)",
            registry=r,
        )
        self.connects = self._counted("edge_agent_mqtt_connects", "MQTT connections made (1 + reconnects)")
        self.readers_online = Gauge("edge_agent_reader_online", "1 when the reader is online", ["reader"], registry=r)
        self.verification_ok = Gauge(
            "edge_agent_verification_ok",
            "1 when the mark-code check services can answer (the Local Module ready and synced within 48 h)",
            registry=r,
        )
        self.lm_sync_age = Gauge(
            "edge_agent_local_module_sync_age_seconds",
            "Seconds since the Local Module last synced with Chestny Znak (-1: unknown)",
            registry=r,
        )
        self.fiscal_ok = Gauge(
            "edge_agent_fiscal_register_ok", "1 when the lane's fiscal register can print", ["lane"], registry=r
        )
        self.fiscal_receipts = self._counted(
            "edge_agent_fiscal_receipts", "Receipts printed on the lane's register", ["lane"]
        )
        self.fiscal_checks = self._counted(
            "edge_agent_fiscal_mark_checks", "Mark codes checked on the lane's register", ["lane"]
        )
        self.ofd_unsent = Gauge(
            "edge_agent_fiscal_ofd_unsent", "Fiscal documents not yet sent to the ОФД", ["lane"], registry=r
        )
        self.ofd_age = Gauge(
            "edge_agent_fiscal_ofd_oldest_unsent_seconds",
            "Age of the oldest document not sent to the ОФД (the ФН blocks at 30 days)",
            ["lane"],
            registry=r,
        )
        #: the last raw samples of the latencies (the demo's percentiles)
        self.samples: dict[str, deque[float]] = {"tag_to_basket": deque(maxlen=10_000), "check": deque(maxlen=10_000)}

    def _counted(self, name: str, doc: str, labels: Sequence[str] = ()) -> CallbackCounters:
        counters = CallbackCounters(name, doc, labels)
        self.registry.register(counters)
        return counters

    def latency(self, name: str, seconds: float) -> None:
        {"tag_to_basket": self.tag_to_basket, "check": self.check}[name].observe(seconds)
        self.samples[name].append(seconds)

    def bind(
        self,
        outbox: Callable[[], float],
        connects: Callable[[], float],
        unconfirmed: Callable[[], tuple[int, float | None]] | None = None,
    ) -> None:
        """``unconfirmed``: how many events central has not confirmed, and the oldest one's age in
        seconds (None: none), measured on the monotonic clock."""
        self.outbox.set_function(outbox)
        self.connects.bind(connects)
        if unconfirmed is not None:
            self.unconfirmed.set_function(lambda: float(unconfirmed()[0]))
            self.unconfirmed_age.set_function(lambda: unconfirmed()[1] or 0.0)

    def bind_reads(self, queue: ReadQueue) -> None:
        self.reads_coalesced.bind(lambda: float(queue.coalesced))
        self.reads_dropped.bind(lambda: float(queue.dropped))
        self.read_queue_depth.set_function(lambda: float(queue.depth))

    def bind_fiscal(self, desks: Mapping[str, FiscalDesk]) -> None:
        for lane, desk in desks.items():
            self._bind_desk(lane, desk)

    def _bind_desk(self, lane: str, desk: FiscalDesk) -> None:
        self.fiscal_ok.labels(lane).set_function(lambda: float(desk.status().ok))
        self.fiscal_receipts.bind(lambda: float(desk.receipts), lane)
        self.fiscal_checks.bind(lambda: float(desk.checks), lane)
        self.ofd_unsent.labels(lane).set_function(lambda: float(desk.state.unsent_documents if desk.state else 0))
        self.ofd_age.labels(lane).set_function(lambda: float(desk.status().ofd_oldest_age_s or 0.0))

    def bind_readers(self, readers: Sequence[Reader]) -> None:
        for reader in readers:
            self.readers_online.labels(reader.reader_id).set_function(_online(reader))

    def bind_verification(self, last_health: Callable[[], dict[str, object]]) -> None:
        """The check services as the last health probe found them (refreshed by /healthz and
        the status loop, never by a scrape)."""

        def ok() -> float:
            health = last_health()
            return float(bool(health.get("ok", True)))

        def age() -> float:
            lm = last_health().get("local_module")
            value = lm.get("sync_age_s") if isinstance(lm, dict) else None
            return float(value) if isinstance(value, (int, float)) else -1.0

        self.verification_ok.set_function(ok)
        self.lm_sync_age.set_function(age)

    def render(self) -> bytes:
        return generate_latest(self.registry)
