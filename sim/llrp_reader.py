"""A simulated UHF RFID reader speaking LLRP over TCP (port 5084 by default).

It has antennas, a tag population (each tag visible on some antennas within an RSSI
range), and a store's RF (``sim/rf.py``): inventory rounds at up to 1,500 reads/s, misses that
grow with the number of tags, missed rounds, strays from a neighbouring lane or a shelf (weak
reads of tags that are not in this box, in some rounds), tags in foil bags; and scripted
disconnects. It implements the reader side of the LLRP start-up any client uses
(capabilities, config, ROSpec and AccessSpec lifecycle, keepalives, events, close), so our
driver and sllurp both run their inventory against it.

Run alone: ``edge-agent sim llrp --port 5084 --tags 20``. In tests: ``async with
LLRPReaderSim(...) as sim:`` then ``sim.port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any, Final

from edge_agent.llrp import Framer, LLRPError, TagReport
from edge_agent.llrp.schema import PEN_IMPINJ, PEN_ZEBRA
from sim.gen2 import selected, targets
from sim.llrp_inventory import InventoryRun
from sim.llrp_session import (
    Action,
    Close,
    Gpo,
    Keepalives,
    ReaderSession,
    Send,
    StartInventory,
    StopInventory,
)
from sim.rf import InventoryModel, SimTag

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 5084
TICK_S: Final = 0.01


class LLRPReaderSim:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        antennas: int = 4,
        reads_per_s: float = 500,
        miss_rate: float = 0.05,
        seed: int | None = None,
        disconnect_after_s: float | None = None,
        capped: bool = True,
        gpos: int = 0,
        profile: str = "generic",
        connected: tuple[int, ...] | None = None,
        clock_offset_s: float = 0.0,
    ) -> None:
        self.host, self._port = host, port
        #: the reader's real-time clock against this machine's (a reader whose RTC lags, or jumps
        #: when the test changes it): its reports' timestamps carry it
        self.clock_offset_s = clock_offset_s
        self.antennas, self.gpos = antennas, gpos
        #: ``generic``, ``impinj`` (Octane extensions) or ``zebra`` (FX: connected antennas only)
        self.profile = profile
        self.connected = tuple(range(1, antennas + 1)) if connected is None else connected
        self.rng = random.Random(seed)
        #: each general-purpose output's state, and every change (wall-clock time, port, on)
        self.gpo: dict[int, bool] = dict.fromkeys(range(1, gpos + 1), False)
        #: each general-purpose input's state (a reader has as many inputs as outputs here)
        self.gpi_state: dict[int, bool] = dict.fromkeys(range(1, gpos + 1), False)
        self.gpo_log: list[tuple[float, int, bool]] = []
        #: the RF (sim/rf.py): density, missed rounds and strays are set on it
        self.model = InventoryModel(random.Random(seed), reads_per_s, miss_rate, capped)
        self.disconnect_after_s = disconnect_after_s
        self.tags: list[SimTag] = []
        self.reports_sent = 0
        self.first_report_at: float | None = None  # monotonic time of the first tag report
        #: EPCs to watch -> when a report of each was first sent (monotonic), for benchmarks
        self.watch: dict[bytes, float | None] = {}
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._client: asyncio.StreamWriter | None = None
        self._inventory: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        #: the protocol state, sans-I/O; it lives as long as the reader is powered (as ROSpecs do)
        self.session = ReaderSession(self._capabilities(), self._config(), profile)
        self.frozen = False
        #: how long the reader takes to answer a request (a real one: milliseconds)
        self.answer_delay_s = 0.0

    def _now_us(self) -> int:
        """The reader's clock, in microseconds since the epoch (LLRP's timestamps)."""
        return time.time_ns() // 1000 + round(self.clock_offset_s * 1e6)

    # -- the store's side: what is in the box -------------------------------------------
    def place(
        self,
        epc: str | bytes,
        antenna: int = 1,
        *,
        rssi: tuple[int, int] = (-55, -45),
        tid: bytes = b"",
        user: bytes = b"",
    ) -> SimTag:
        raw = bytes.fromhex(epc) if isinstance(epc, str) else epc
        tag = next((t for t in self.tags if t.epc == raw), None)
        if tag is None:
            tag = SimTag(raw, {}, tid=tid, user=user)
            self.tags.append(tag)
        tag.antennas[antenna] = rssi
        return tag

    def stray(
        self, epc: str | bytes, antenna: int = 1, rssi: tuple[int, int] = (-80, -70), read_chance: float | None = None
    ) -> SimTag:
        """A tag near but outside the zone (the next lane, a shelf by the door): read weakly, in
        some rounds only (``read_chance``; sim/rf.py)."""
        tag = self.place(epc, antenna, rssi=rssi)
        tag.stray, tag.read_chance = True, read_chance
        return tag

    def shield(self, epc: str | bytes, shielded: bool = True) -> None:
        """The tag goes into a foil-lined bag (never read), or comes out of it."""
        raw = bytes.fromhex(epc) if isinstance(epc, str) else epc
        for tag in self.tags:
            if tag.epc == raw:
                tag.shielded = shielded

    async def walk(
        self, epc: str | bytes, antennas: tuple[int, ...] = (1, 2), step_s: float = 0.25, tid: bytes = b""
    ) -> None:
        """A person carries the tag past the antennas in this order, ``step_s`` at each (an exit
        gate's inside → outside is walking out), then out of range."""
        for antenna in antennas:
            self.remove(epc)
            self.place(epc, antenna, rssi=(-50, -40), tid=tid)
            await asyncio.sleep(step_s)
        self.remove(epc)

    def remove(self, epc: str | bytes) -> None:
        raw = bytes.fromhex(epc) if isinstance(epc, str) else epc
        for tag in self.tags:
            if tag.epc == raw:
                tag.gone = True  # a round under way that listed it does not read it any more
        self.tags = [t for t in self.tags if t.epc != raw]

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self._port)
        self._port = self.port  # keep the port across stop()/start(): a reader that reboots

    async def stop(self) -> None:
        """Power off: the server goes away and the client's connection drops."""
        await self.drop_client()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def gpi(self, port: int, on: bool) -> None:
        """A general-purpose input changes (a light barrier, a door contact): ROSpecs with a GPI
        start or stop trigger on it start or stop."""
        if port not in self.gpi_state:
            raise ValueError(f"no GPI {port}: this reader has {len(self.gpi_state)}")
        self.gpi_state[port] = on
        if self._client is not None:
            self._act(self.session.gpi(self._now_us(), port, on), self._client)

    def send_raw(self, frame: bytes) -> None:
        """Bytes as they are to the client (a newer firmware's message, a vendor's oddity)."""
        if self._client is not None:
            self._client.write(frame)

    def freeze(self, truncated: bool = False) -> None:
        """The reader hangs with the connection open: nothing more is sent, not even keepalives
        (``truncated``: the last frame stops half-way first, as a cable cut mid-write leaves it)."""
        if truncated and self._client is not None:
            self._client.write(self.session.keepalive()[:5])
        self.frozen = True

    async def drop_client(self) -> None:
        """The network cable is pulled: the connection ends without a goodbye."""
        self._stop_tasks()
        if self._client is not None:
            self._client.transport.abort()
            self._client = None

    async def __aenter__(self) -> LLRPReaderSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the connection ----------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._client is not None:  # LLRP: one client at a time
            writer.write(self.session.busy(self._now_us()))
            await writer.drain()
            writer.close()
            return
        self._client = writer
        writer.write(self.session.greeting(self._now_us()))
        framer = Framer()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                framer.feed(data)
                for frame in framer.frames():
                    if self.answer_delay_s:
                        await asyncio.sleep(self.answer_delay_s)
                    closing = self._act(self.session.receive_frame(frame), writer)
                    await writer.drain()
                    if closing:
                        return
        except (ConnectionError, LLRPError) as e:
            log.info("llrp sim: connection ended: %s", e)
        finally:
            if self._client is writer:
                self._stop_tasks()
                self._client = None
            writer.close()

    def _act(self, actions: list[Action], writer: asyncio.StreamWriter) -> bool:
        """Carry out what the session says; True when the connection is to close."""
        for action in actions:
            if isinstance(action, Send):
                writer.write(action.frame)
            elif isinstance(action, StartInventory):
                if self._inventory is None or self._inventory.done():
                    self._inventory = asyncio.create_task(self._run_inventory(action))
            elif isinstance(action, StopInventory):
                self._stop_tasks(keepalive=False)
            elif isinstance(action, Keepalives):
                if self._keepalive is not None:
                    self._keepalive.cancel()
                    self._keepalive = None
                if action.every_s is not None:
                    self._keepalive = asyncio.create_task(self._send_keepalives(action.every_s))
            elif isinstance(action, Gpo):
                self.gpo[action.port] = action.on
                self.gpo_log.append((time.time(), action.port, action.on))
            elif isinstance(action, Close):
                self._stop_tasks()
                return True
        return False

    # -- inventory ---------------------------------------------------------------------
    async def _run_inventory(self, spec: StartInventory) -> None:
        if spec.period_s is None:
            await self._inventory_once(spec)
            return
        await asyncio.sleep(spec.offset_s)  # a periodic start trigger: on time, while enabled
        while self._client is not None and self.session.begin(spec.rospec_id):
            began = time.monotonic()
            await self._inventory_once(spec)
            await asyncio.sleep(max(0.0, spec.period_s - (time.monotonic() - began)))

    async def _inventory_once(self, spec: StartInventory) -> None:
        started = last = time.monotonic()
        report_spec = spec.report or {"Trigger": 2, "N": spec.every_n}
        run = InventoryRun(spec.rospec, started, report_spec, rounds=self.model.rounds)
        filters, channel = run.filters(), run.channel()
        self._event(self.session.rospec_event(self._now_us(), spec.rospec_id, started=True))
        while self._client is not None:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            dt, last = min(now - last, 10 * TICK_S), now  # the rate is per wall-clock second
            if self.disconnect_after_s is not None and time.monotonic() - started > self.disconnect_after_s:
                log.info("llrp sim: scripted disconnect")
                self.disconnect_after_s = None
                await self.drop_client()
                return
            field_ = [t for t in self.tags if selected(t, filters)] if filters else self.tags
            reads = self.model.step(field_, spec.antennas, dt, self._now_us())
            if self.watch:
                for r in reads:
                    if r.epc in self.watch and self.watch[r.epc] is None:
                        self.watch[r.epc] = time.monotonic()
            access = self.session.access_for(spec.rospec_id)
            for r, tag in zip(reads, self.model.last_tags, strict=True):
                r.channel = channel
                self._vendor(self._access(r, tag, access), r, tag, spec)
            ends = run.aispecs_ended
            stopped = run.stop() if spec.rospec_id in self.session.stopping else []
            due = run.reads(reads, now) + run.tick(now, self.model.rounds) + stopped
            for batch in due:  # one RO_ACCESS_REPORT each
                self._send_report([_select(r, spec.selector, spec.rospec_id, run) for r in batch])
            for _ in range(run.aispecs_ended - ends):
                self._event(self.session.aispec_event(self._now_us(), spec.rospec_id))
            if run.ended:  # by its own stop trigger: the reader goes quiet until started again
                self.session.ended(spec.rospec_id)
                self._event(self.session.rospec_event(self._now_us(), spec.rospec_id, started=False))
                return

    def _access(self, report: TagReport, tag: SimTag, specs: list[dict[str, Any]]) -> TagReport:
        """Run the first enabled AccessSpec whose C1G2TagSpec targets this tag (sim/gen2.py)."""
        for spec in specs:
            if self.session.accessspecs.get(spec["AccessSpecID"]) is not spec:
                continue  # deleted since this step began (its operation count was reached)
            command = spec.get("AccessCommand", {})
            if targets(tag.epc, tag.gen2(), command.get("C1G2TagSpec")):
                outcome = tag.access(command)
                self.session.executed(spec["AccessSpecID"])
                report.access_spec_id = spec["AccessSpecID"]
                report.reads, report.results = tuple(outcome.reads), tuple(outcome.results)
                break
        return report

    def _vendor(self, report: TagReport, read: TagReport, tag: SimTag, spec: StartInventory) -> TagReport:
        """Impinj's report contents when the ROReportSpec asked for them: the peak RSSI in
        hundredths of a dBm, the serialized TID (FastID: no AccessSpec needed)."""
        extensions: list[tuple[str, object]] = []
        if "peak_rssi" in spec.vendor and read.peak_rssi is not None:
            extensions.append(("ImpinjPeakRSSI", read.peak_rssi * 100 + self.rng.randint(-99, 0)))
        if "phase_angle" in spec.vendor:  # radians 0-2π in 4096 steps, as Impinj reports it
            extensions.append(("ImpinjRFPhaseAngle", self.rng.randrange(4096)))
        if "doppler" in spec.vendor:  # a tag at rest: a few Hz either way, in 1/16 Hz
            extensions.append(("ImpinjRFDopplerFrequency", self.rng.randint(-80, 80)))
        if "serialized_tid" in spec.vendor and tag.tid:
            words = [int.from_bytes(tag.tid[i : i + 2], "big") for i in range(0, len(tag.tid) - 1, 2)]
            extensions.append(("ImpinjSerializedTID", {"TID": words}))
        if extensions:
            report.extensions = tuple(extensions)
        return report

    def _event(self, frame: bytes | None) -> None:
        if frame is not None and self._client is not None and not self.frozen:
            self._client.write(frame)

    def _send_report(self, batch: list[TagReport]) -> None:
        if self._client is None or self.frozen:
            return
        self._client.write(self.session.report(batch))
        if not self.reports_sent:
            self.first_report_at = time.monotonic()
        self.reports_sent += len(batch)

    async def _send_keepalives(self, every: float) -> None:
        while self._client is not None:
            await asyncio.sleep(every)
            if self._client is not None and not self.frozen:
                self._client.write(self.session.keepalive())

    def _stop_tasks(self, keepalive: bool = True) -> None:
        tasks = [self._inventory, self._keepalive] if keepalive else [self._inventory]
        for task in tasks:
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._inventory = None
        if keepalive:
            self._keepalive = None

    # -- what the reader says about itself -----------------------------------------------
    def _capabilities(self) -> dict[str, Any]:
        return {
            "GeneralDeviceCapabilities": {
                "MaxSupportedAntennas": self.antennas,
                "CanSetAntennaProperties": False,
                "HasUTCClock": True,
                "DeviceManufacturer": {"impinj": PEN_IMPINJ, "zebra": PEN_ZEBRA}.get(self.profile, 0),
                "Model": {"impinj": 2001, "zebra": 7500}.get(self.profile, 1),
                "FirmwareVersion": f"edge-agent-sim 1 ({self.profile})",
                "ReceiveSensitivities": [{"Index": 1, "ReceiveSensitivity": 0}],
                "GPIOCapabilities": {"NumGPIs": self.gpos, "NumGPOs": self.gpos},
                "PerAntennaAirProtocols": [
                    {"AntennaID": a, "AirProtocolIDs": b"\x01"} for a in range(1, self.antennas + 1)
                ],
            },
            "LLRPCapabilities": {
                "CanReportBufferFillWarning": False,
                "SupportsEventsAndReportHolding": False,
                "MaxPriorityLevelSupported": 1,
                "MaxROSpecs": 1,
                "MaxSpecsPerROSpec": 1,
                "MaxInventoryParameterSpecsPerAISpec": 1,
                "MaxAccessSpecs": 8,
                "MaxOpSpecsPerAccessSpec": 2,
            },
            "RegulatoryCapabilities": {
                "CountryCode": 643,
                "CommunicationsStandard": 2,  # Russia, ETSI 302 208
                "UHFBandCapabilities": {
                    "TransmitPowerLevels": [{"Index": i + 1, "TransmitPowerValue": 1000 + 25 * i} for i in range(81)],
                    "FrequencyInformation": {
                        "Hopping": False,
                        "FixedFrequencyTable": {"Frequencies": [865700, 866300, 866900, 867500]},
                    },
                    "C1G2RFModes": {
                        "UHFC1G2RFModeTableEntries": [
                            {
                                "ModeID": 1,
                                "DivideRatio": 1,
                                "IsEPCHagConformant": False,
                                "Modulation": 2,
                                "ForwardLinkModulation": 2,
                                "SpectralMask": 2,
                                "BackscatterDataRate": 160000,
                                "PIERatio": 2000,
                                "MinTariTime": 25000,
                                "MaxTariTime": 25000,
                                "StepTariTime": 0,
                            }
                        ]
                    },
                },
            },
            "C1G2LLRPCapabilities": {"SupportsBlockWrite": True, "MaxSelectFiltersPerQuery": 2},
        }

    def _config(self) -> dict[str, Any]:
        return {
            "Identification": {"IDType": 0, "ReaderID": b"\x00\x16\x25\xff\xff\x11\x25\xd6"},
            "AntennaProperties": [
                {"AntennaConnected": a in self.connected, "AntennaID": a, "AntennaGain": 0}
                for a in range(1, self.antennas + 1)
            ],
            "AntennaConfigurations": [
                {
                    "AntennaID": a,
                    "RFReceiver": 1,
                    "RFTransmitter": {"HopTableID": 1, "ChannelIndex": 1, "TransmitPowerIndex": 81},
                }
                for a in range(1, self.antennas + 1)
            ],
            "EventsAndReports": False,
        }


def _select(r: TagReport, selector: dict[str, Any], rospec_id: int, run: InventoryRun) -> TagReport:
    """Keep only what the client's TagReportContentSelector asked for, and all of it."""
    if not selector:
        return r
    report = TagReport(
        r.epc,
        antenna=r.antenna if selector.get("EnableAntennaID") else None,
        peak_rssi=r.peak_rssi if selector.get("EnablePeakRSSI") else None,
        first_seen_us=r.first_seen_us if selector.get("EnableFirstSeenTimestamp") else None,
        last_seen_us=(r.last_seen_us or r.first_seen_us) if selector.get("EnableLastSeenTimestamp") else None,
        seen_count=r.seen_count if selector.get("EnableTagSeenCount") else None,
        rospec_id=rospec_id if selector.get("EnableROSpecID") else None,
        channel=r.channel if selector.get("EnableChannelIndex") else None,
        access_spec_id=r.access_spec_id if selector.get("EnableAccessSpecID") else None,
        reads=r.reads,
        extensions=r.extensions,
        results=r.results,
    )
    report.spec_index = 1 if selector.get("EnableSpecIndex") else None
    report.inventory_spec_id = run.inventory_spec_id() if selector.get("EnableInventoryParamSpecID") else None
    return report


async def serve_forever(sim: LLRPReaderSim, on_ready: Callable[[LLRPReaderSim], None] | None = None) -> None:
    async with sim:
        if on_ready is not None:
            on_ready(sim)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
