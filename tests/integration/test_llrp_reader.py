"""Our LLRP driver and sllurp against the simulated reader, over real TCP on loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable
from typing import Any

from drivers.base import Backoff, HealthState, TagRead
from drivers.llrp import LLRPReader, LLRPSettings
from edge_agent.llrp.inventory import InventoryConfig
from edge_agent.readqueue import ReadQueue
from sim.llrp_reader import LLRPReaderSim
from tests.conftest import until

EPC_A = "3034257BF7194E4000003039"
EPC_B = "3034257BF7194E400000303A"
STRAY = "3034257BF7194E40000030FF"
FAST = Backoff(initial=0.05, maximum=0.2)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


async def collect(reader: LLRPReader, seconds: float) -> list[TagRead]:
    reads: list[TagRead] = []

    async def pump() -> None:
        async for r in reader.reads():
            reads.append(r)

    task = asyncio.create_task(pump())
    await asyncio.sleep(seconds)
    task.cancel()
    return reads


def test_driver_inventories_the_tags_in_the_box_with_antenna_and_rssi() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(reads_per_s=400, seed=1) as sim:
            sim.place(EPC_A, antenna=1, rssi=(-50, -45))
            sim.place(EPC_B, antenna=2, rssi=(-60, -55))
            reader = LLRPReader("box-1", "127.0.0.1", sim.port, backoff=FAST)
            await reader.start()
            await until(lambda: reader.health.state is HealthState.ONLINE)
            reads = await collect(reader, 0.6)
            await reader.stop()
            assert {r.raw for r in reads} == {EPC_A, EPC_B}
            assert all(r.kind == "epc" and r.reader_id == "box-1" for r in reads)
            by_epc = {r.raw: r for r in reads}
            assert by_epc[EPC_A].antenna == 1 and -50 <= (by_epc[EPC_A].rssi or 0) <= -45
            assert by_epc[EPC_B].antenna == 2 and -60 <= (by_epc[EPC_B].rssi or 0) <= -55
            assert abs(by_epc[EPC_A].timestamp - time.time()) < 5
            assert reader.health.state is HealthState.OFFLINE and reader.health.reason == "stopped"

    run(scenario())


def test_reader_killed_mid_inventory_goes_offline_with_reason_then_recovers() -> None:
    async def scenario() -> None:
        sim = LLRPReaderSim(reads_per_s=300, seed=2)
        await sim.start()
        sim.place(EPC_A)
        reader = LLRPReader("box-1", "127.0.0.1", sim.port, backoff=FAST)
        states: list[HealthState] = []
        reader.on_health(lambda h: states.append(h.state))
        await reader.start()
        await until(lambda: reader.health.state is HealthState.ONLINE)
        await sim.stop()  # power cut
        await until(lambda: reader.health.state is HealthState.OFFLINE)
        assert reader.health.reason  # says why
        await asyncio.sleep(0.3)  # it keeps trying, and fails, while the reader is down
        assert reader.health.state in (HealthState.OFFLINE, HealthState.CONNECTING)
        await sim.start()  # the reader boots again on the same address
        await until(lambda: reader.health.state is HealthState.ONLINE)
        reads = await collect(reader, 0.4)
        await reader.stop()
        await sim.stop()
        assert reads and {r.raw for r in reads} == {EPC_A}  # nothing invented
        assert states.count(HealthState.ONLINE) >= 2

    run(scenario())


def test_network_drop_and_silence_are_detected_and_recovered() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(reads_per_s=200, seed=3, disconnect_after_s=0.3) as sim:
            sim.place(EPC_A)
            reader = LLRPReader("box-1", "127.0.0.1", sim.port, config=InventoryConfig(keepalive_ms=300), backoff=FAST)
            await reader.start()
            await until(lambda: reader.health.state is HealthState.ONLINE)
            await until(lambda: reader.health.state is not HealthState.ONLINE)  # the scripted drop
            await until(lambda: reader.health.state is HealthState.ONLINE)  # and back
            assert sim.connections >= 2
            await reader.stop()

    run(scenario())


def test_second_client_is_refused_and_says_so() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(seed=4) as sim:
            first = LLRPReader("box-1", "127.0.0.1", sim.port, backoff=FAST)
            await first.start()
            await until(lambda: first.health.state is HealthState.ONLINE)
            second = LLRPReader("intruder", "127.0.0.1", sim.port, backoff=Backoff(initial=5, maximum=5))
            await second.start()
            await until(lambda: second.health.state is HealthState.OFFLINE and "refused" in second.health.reason)
            assert first.health.state is HealthState.ONLINE
            await second.stop()
            await first.stop()

    run(scenario())


def test_a_lost_reader_never_stops_the_others() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(seed=5, reads_per_s=200) as good, LLRPReaderSim(seed=6, reads_per_s=200) as bad:
            good.place(EPC_A)
            bad.place(EPC_B)
            readers = [
                LLRPReader("good", "127.0.0.1", good.port, backoff=FAST),
                LLRPReader("bad", "127.0.0.1", bad.port, backoff=FAST),
            ]
            queue = ReadQueue()  # the daemon's one queue, fed by both
            for r in readers:
                r.attach(queue)
                await r.start()
            await until(lambda: all(r.health.state is HealthState.ONLINE for r in readers))
            await bad.stop()
            seen: list[TagRead] = []

            async def pump() -> None:
                while True:
                    seen.extend(await queue.get_batch())

            task = asyncio.create_task(pump())
            await asyncio.sleep(0.2)
            seen.clear()
            await asyncio.sleep(0.5)
            task.cancel()
            assert seen and {r.reader_id for r in seen} == {"good"}
            assert readers[1].health.state is not HealthState.ONLINE
            for r in readers:
                await r.stop()

    run(scenario())


def test_strays_from_the_next_lane_arrive_weak_for_the_pipeline_to_reject() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(seed=7, reads_per_s=500) as sim:
            sim.place(EPC_A, rssi=(-50, -45))
            sim.stray(STRAY, rssi=(-80, -72))
            reader = LLRPReader("box-1", "127.0.0.1", sim.port, backoff=FAST)
            await reader.start()
            await until(lambda: reader.health.state is HealthState.ONLINE)
            reads = await collect(reader, 0.5)
            await reader.stop()
            strays = [r for r in reads if r.raw == STRAY]
            assert strays and all((r.rssi or 0) <= -72 for r in strays)

    run(scenario())


def test_sllurp_inventories_the_simulated_reader() -> None:
    """sllurp (GPL-3.0) is a test-only peer: a real third-party LLRP client."""
    from sllurp.llrp import LLRPReaderClient, LLRPReaderConfig

    loop = asyncio.new_event_loop()
    sim = LLRPReaderSim(reads_per_s=300, seed=8)
    sim.place(EPC_A, antenna=1)
    sim.place(EPC_B, antenna=1)
    loop.run_until_complete(sim.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    seen: set[str] = set()

    def on_tags(_reader: object, reports: list[dict[str, Any]]) -> None:
        for report in reports:
            epc = report.get("EPC") or report.get("EPC-96")
            seen.add(epc.decode().upper() if isinstance(epc, bytes) else str(epc).upper())

    client = LLRPReaderClient("127.0.0.1", sim.port, LLRPReaderConfig({"antennas": [1], "report_every_n_tags": 1}))
    client.add_tag_report_callback(on_tags)
    try:
        client.connect()
        deadline = time.monotonic() + 10
        while seen != {EPC_A, EPC_B} and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.join(5)
        asyncio.run_coroutine_threadsafe(sim.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    assert seen == {EPC_A, EPC_B}


def test_access_spec_reads_tid_and_user_memory_with_each_epc() -> None:
    from edge_agent.codes import parse

    tid = bytes.fromhex("E2801130200020A1B2C3D4E5")  # 96-bit TID
    mark_code = b"0104653820923088215GoNfWgdcBeVZ\x1d93dGVz"
    user = mark_code + b"\x00" * (-len(mark_code) % 2)

    async def scenario() -> None:
        async with LLRPReaderSim(reads_per_s=300, seed=9) as sim:
            sim.place(EPC_A, tid=tid, user=user)
            sim.place(EPC_B, tid=tid[:4])  # a tag whose TID is shorter than asked: no TID in the read
            config = InventoryConfig(read_tid_words=6, read_user_words=len(user) // 2)
            reader = LLRPReader("box-1", "127.0.0.1", sim.port, config=config, backoff=FAST)
            await reader.start()
            await until(lambda: reader.health.state is HealthState.ONLINE)
            reads = await collect(reader, 0.5)
            await reader.stop()
        a = [r for r in reads if r.raw == EPC_A]
        b = [r for r in reads if r.raw == EPC_B]
        assert a and all(r.tid == tid and r.user_memory == user for r in a)
        assert parse((a[0].user_memory or b"").rstrip(b"\x00").decode("latin-1")).ki == parse(mark_code.decode()).ki
        assert b and all(r.tid is None and r.user_memory is None for r in b)

    run(scenario())


def test_a_reader_silent_on_an_open_connection_is_offline_within_three_keepalive_periods() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(seed=8, reads_per_s=200) as sim:
            sim.place(EPC_A)
            settings = LLRPSettings(id="box", driver="llrp", port=sim.port)  # the default keepalive period
            reader = settings.build()
            await reader.start()
            await until(lambda: reader.health.state is HealthState.ONLINE)
            sim.freeze(truncated=True)  # half a frame, then nothing, the TCP connection still open
            frozen_at = time.monotonic()
            bound = 3 * settings.keepalive_s + 1.0  # three periods, and a second to notice
            await until(lambda: reader.health.state is not HealthState.ONLINE, bound)
            assert time.monotonic() - frozen_at <= bound
            assert "no message" in reader.health.reason
            await reader.stop()

    run(scenario())


def test_messages_and_parameters_the_agent_does_not_know_keep_the_inventory_running() -> None:
    import struct

    async def scenario() -> None:
        async with LLRPReaderSim(seed=9, reads_per_s=200) as sim:
            sim.place(EPC_A)
            reader = LLRPReader("box", "127.0.0.1", sim.port, backoff=FAST)
            await reader.start()
            await until(lambda: reader.health.state is HealthState.ONLINE)
            connections = sim.connections
            # an event carrying an RF survey report this agent does not use, and a vendor message type
            utc = struct.pack(">HHQ", 128, 12, 1)
            survey = struct.pack(">HH", 242, 8) + b"\x00\x01\x02\x03"
            data = struct.pack(">HH", 246, 4 + len(utc) + len(survey)) + utc + survey
            sim.send_raw(struct.pack(">HII", 1 << 10 | 63, 10 + len(data), 900) + data)
            sim.send_raw(struct.pack(">HII", 1 << 10 | 999, 10 + 3, 901) + b"\x01\x02\x03")
            await until(lambda: reader.skipped >= 2)
            before = reader.reads_total
            await until(lambda: reader.reads_total > before + 20)  # tags keep coming on the same session
            assert reader.health.state is HealthState.ONLINE and sim.connections == connections
            await reader.stop()

    run(scenario())


class SllurpOnTheSim:
    """sllurp's client (unmodified) connected to a simulator running on its own thread."""

    def __init__(self, sim: LLRPReaderSim, wait: bool = True, **config: Any) -> None:
        from sllurp.llrp import LLRPReaderClient, LLRPReaderConfig

        # sllurp registers a request's completion callback after sending it, from the caller's
        # thread: a reader answering within microseconds races it (and the callback is lost).
        # A real reader takes milliseconds; so does this one here.
        sim.answer_delay_s = 0.01
        self.sim, self.loop = sim, asyncio.new_event_loop()
        self.loop.run_until_complete(sim.start())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.reports: list[dict[str, Any]] = []
        self.messages: list[tuple[float, list[dict[str, Any]]]] = []  # (when, the reports of one message)

        def received(_reader: object, reports: list[dict[str, Any]]) -> None:
            self.reports.extend(reports)
            self.messages.append((time.monotonic(), list(reports)))

        settings = {"antennas": [1], "report_every_n_tags": 1, **config}
        self.client = LLRPReaderClient("127.0.0.1", sim.port, LLRPReaderConfig(settings))
        self.client.add_tag_report_callback(received)
        self.events: list[dict[str, Any]] = []
        self.client.add_event_callback(lambda _reader, data: self.events.append(dict(data)))
        self.connected_at = time.monotonic()
        self.client.connect()
        from sllurp.llrp import LLRPReaderState

        deadline = time.monotonic() + 10
        while wait and time.monotonic() < deadline:  # its start-up done: it inventories
            if self.reports and self.client.llrp and self.client.llrp.state == LLRPReaderState.STATE_INVENTORYING:
                break
            time.sleep(0.02)

    def results(self, name: str, count: int, timeout_s: float = 20) -> list[dict[str, Any]]:
        """Wait for ``count`` reports carrying OpSpecResult ``name``, and a little longer for more."""
        deadline = time.monotonic() + timeout_s
        while len([r for r in self.reports if name in r]) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        seen = len(self.reports)
        while len(self.reports) < seen + 50 and time.monotonic() < deadline:  # 50 more reads: any extra?
            time.sleep(0.02)
        found = [r[name] for r in self.reports if name in r]
        return found

    def close(self) -> None:
        self.client.disconnect()
        self.client.join(5)
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_sllurp_reads_the_epc_bank_the_gen2_way_once_for_an_operation_count_of_one() -> None:
    """Bank 1 is StoredCRC, PC, then the EPC: a Gen2 client reads the EPC at word 2. An
    AccessSpec with an operation count of 1 runs once, then the reader deletes it."""
    from sllurp.llrp import C1G2Read

    sim = LLRPReaderSim(reads_per_s=300, seed=10)
    sim.place(EPC_A, antenna=1)
    peer = SllurpOnTheSim(sim)
    try:
        peer.client.start_access_spec(C1G2Read(OpSpecID=1, MB=1, WordPtr=2, WordCount=6), stop_after_count=1)
        results = peer.results("C1G2ReadOpSpecResult", 1)
        pc_and_crc = peer.sim.tags[0].memory(1)[:4]
    finally:
        peer.close()
    assert [(r["Result"], r["ReadData"].hex().upper()) for r in results] == [(0, EPC_A)]
    assert pc_and_crc[2:] == bytes.fromhex("3000")  # PC: 6 words of EPC
    assert not sim.session.accessspecs  # deleted after its one run


def test_sllurp_writes_user_memory_and_a_permalocked_tid_refuses_its_write() -> None:
    from sllurp.llrp import C1G2Write

    sim = LLRPReaderSim(reads_per_s=300, seed=11)
    sim.place(EPC_A, antenna=1, tid=bytes.fromhex("E2801130200020A1B2C3D4E5"), user=bytes(16))
    peer = SllurpOnTheSim(sim)
    try:
        write = C1G2Write(OpSpecID=2, MB=3, WordPtr=1, WriteDataWordCount=2, WriteData=b"\xca\xfe\xba\xbe")
        peer.client.start_access_spec(write, stop_after_count=1)
        wrote = peer.results("C1G2WriteOpSpecResult", 1)
        tid = C1G2Write(OpSpecID=3, MB=2, WordPtr=0, WriteDataWordCount=1, WriteData=b"\x00\x00")
        peer.client.llrp.nextAccess(tid, stopAfterCount=1)
        refused = peer.results("C1G2WriteOpSpecResult", 2)[1:]
        user = sim.tags[0].user
    finally:
        peer.close()
    assert [(w["Result"], w["OpSpecID"], w["NumWordsWritten"]) for w in wrote] == [(0, 2, 2)]
    assert user == bytes(2) + b"\xca\xfe\xba\xbe" + bytes(10)
    assert [(w["Result"], w["OpSpecID"]) for w in refused] == [(2, 3)]  # tag memory locked


def epc_of(report: dict[str, Any]) -> str:
    return str(report.get("EPC", b"").decode()).upper()


def test_sllurp_duration_n0_and_a_filter_give_one_report_per_tag_at_the_end() -> None:
    """An ROSpec that stops after 1 s, reporting at its end (N = 0), selecting one EPC with a
    C1G2TagInventoryMask, with the channel asked for: one report, of that tag only, about 1 s
    after the start, its TagSeenCount the reads of that second, its ChannelIndex there."""
    sim = LLRPReaderSim(reads_per_s=300, seed=12)
    epcs = [f"3034257BF7194E40000030{i:02X}" for i in range(6)]
    for epc in epcs:
        sim.place(epc, antenna=1)
    events = {"ROSpecEvent": True, "AISpecEvent": True}
    peer = SllurpOnTheSim(
        sim, wait=False, duration=1.0, report_every_n_tags=None, tag_filter_mask=[epcs[1]], event_selector=events
    )
    try:
        deadline = time.monotonic() + 5
        while not peer.messages and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)  # and nothing after it: the ROSpec is over
        messages, state = list(peer.messages), dict(sim.session.rospec_state)
        told = [e["ROSpecEvent"] for e in peer.events if "ROSpecEvent" in e]
    finally:
        peer.close()
    assert [e["EventType"] for e in told] == ["Start_of_ROSpec", "End_of_ROSpec"], told  # asked for, told
    [(at, reports)] = messages
    [report] = reports
    assert epc_of(report) == epcs[1] and report["TagSeenCount"] > 10 and report["ChannelIndex"] == 1
    assert 0.9 <= at - peer.connected_at <= 1.6
    assert set(state.values()) == {"inactive"}


def test_sllurp_tag_observation_ends_each_aispec_after_n_tags() -> None:
    """report_every_n_tags = 3: the AISpec stops on observing 3 tags and reports them, again
    and again (sllurp's way of asking for batches)."""
    sim = LLRPReaderSim(reads_per_s=300, seed=13)
    for i in range(6):
        sim.place(f"3034257BF7194E40000031{i:02X}", antenna=1)
    peer = SllurpOnTheSim(sim, report_every_n_tags=3)
    try:
        deadline = time.monotonic() + 5
        while len(peer.messages) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        messages = [reports for _, reports in peer.messages[1:5]]
    finally:
        peer.close()
    assert len(messages) == 4 and all(len({epc_of(r) for r in reports}) == 3 for reports in messages)


def test_sllurp_gets_impinj_peak_rssi_phase_angle_and_doppler_when_it_asks() -> None:
    sim = LLRPReaderSim(reads_per_s=300, seed=14, profile="impinj")
    sim.place(EPC_A, antenna=1)
    selector = {"EnableRFPhaseAngle": True, "EnablePeakRSSI": True, "EnableRFDopplerFrequency": True}
    peer = SllurpOnTheSim(sim, impinj_tag_content_selector=selector)
    try:
        reports = peer.results("ImpinjRFPhaseAngle", 20)
        report = next(r for r in peer.reports if "ImpinjRFPhaseAngle" in r)
    finally:
        peer.close()
    assert len(reports) >= 20 and all(0 <= phase < 4096 for phase in reports)
    assert -8000 <= report["ImpinjPeakRSSI"] <= -3000  # hundredths of a dBm
    assert isinstance(report["ImpinjRFDopplerFrequency"], int)


def test_sllurp_sets_impinj_search_mode_and_session_and_cleans_up_at_disconnect() -> None:
    """sllurp's ROSpec life cycle on an Impinj reader: its search mode and Gen2 session are
    taken, tags are read, and on disconnect it stops and deletes its ROSpec."""
    sim = LLRPReaderSim(reads_per_s=300, seed=15, profile="impinj")
    sim.place(EPC_A, antenna=1)
    peer = SllurpOnTheSim(sim, impinj_search_mode=2, session=1)
    try:
        taken = (sim.session.search_mode, sim.session.session, set(sim.session.rospec_state.values()))
        read = {epc_of(r) for r in peer.reports}
    finally:
        peer.close()
    assert taken == (2, 1, {"active"}) and read == {EPC_A}
    assert not sim.session.rospecs  # stopped and deleted by the client on its way out


class RawLLRPClient:
    """A bare LLRP client over TCP: sends a ROSpec, and notes each tag report's arrival and
    TagSeenCount (what any client sees, without a session of our driver around it)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from edge_agent.llrp import Framer

        self.reader, self.writer, self.framer = reader, writer, Framer()
        self.started = time.monotonic()
        self.reports: list[tuple[float, int]] = []  # (seconds since the ROSpec was sent, TagSeenCount)

    @classmethod
    async def connect(cls, sim: LLRPReaderSim) -> RawLLRPClient:
        return cls(*await asyncio.open_connection("127.0.0.1", sim.port))

    def send(self, kind: str, msg_id: int, body: dict[str, Any]) -> None:
        from edge_agent.llrp import Message, encode_message

        self.writer.write(encode_message(Message(kind, msg_id, body)))

    def add_and_enable(self, spec: dict[str, Any]) -> None:
        self.send("ADD_ROSPEC", 1, {"ROSpec": spec})
        self.send("ENABLE_ROSPEC", 2, {"ROSpecID": spec["ROSpecID"]})
        self.started = time.monotonic()

    async def listen(self, seconds: float) -> None:
        from edge_agent.llrp import decode_message

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), 0.05)
            except TimeoutError:
                continue
            self.framer.feed(data)
            for frame in self.framer.frames():
                message = decode_message(frame)
                if message.type == "RO_ACCESS_REPORT":
                    at = time.monotonic() - self.started
                    self.reports += [(at, int(t.get("TagSeenCount", 0))) for t in message.body["TagReportData"]]


def reporting_at_the_end(**bounds: Any) -> dict[str, Any]:
    """Our driver's ROSpec with these start and stop triggers, reporting at its end (N = 0)."""
    from edge_agent.llrp.inventory import InventoryConfig, rospec

    spec = rospec(InventoryConfig())
    spec["ROBoundarySpec"] = bounds
    spec["ROReportSpec"]["N"] = 0
    return spec


def test_a_periodic_rospec_runs_on_time_for_its_duration_and_reports_at_each_end() -> None:
    """A ROSpec with a periodic start trigger (every 500 ms) and a 200 ms duration stop trigger,
    reporting at its end (N = 0), as a client sends it over TCP: a report about every 500 ms,
    each holding the tag once with the reads of its 200 ms; disabling it stops the cycle."""
    from itertools import pairwise

    spec = reporting_at_the_end(
        StartTrigger={"Trigger": 2, "PeriodicTriggerValue": {"Offset": 0, "Period": 500}},
        StopTrigger={"Trigger": 1, "DurationTriggerValue": 200},
    )

    async def scenario() -> tuple[list[tuple[float, int]], int]:
        async with LLRPReaderSim(reads_per_s=300, seed=16) as sim:
            sim.place(EPC_A, antenna=1)
            client = await RawLLRPClient.connect(sim)
            client.add_and_enable(spec)
            await client.listen(1.35)
            client.send("DISABLE_ROSPEC", 3, {"ROSpecID": spec["ROSpecID"]})
            await client.listen(0.7)
            quiet = sim.reports_sent
            await client.listen(0.6)
            client.writer.close()
            return client.reports[:3], sim.reports_sent - quiet

    reports, after_disabling = run(scenario())
    assert len(reports) == 3, reports  # at ~0.2, ~0.7 and ~1.2 s
    assert all(count > 10 for _, count in reports) and after_disabling == 0  # disabled: no more periods
    gaps = [b - a for (a, _), (b, _) in pairwise(reports)]
    assert all(0.4 <= gap <= 0.6 for gap in gaps), gaps


def test_a_gpi_starts_and_stops_the_rospec_that_waits_for_it() -> None:
    """A light barrier on GPI 1: the ROSpec starts when it closes and stops when it opens, and
    reports at its end (N = 0); nothing is read while the barrier is open."""
    gpi = {"Port": 1, "Timeout": 0}
    spec = reporting_at_the_end(
        StartTrigger={"Trigger": 3, "GPITriggerValue": gpi | {"Event": True}},
        StopTrigger={"Trigger": 2, "DurationTriggerValue": 0, "GPITriggerValue": gpi | {"Event": False}},
    )

    async def scenario() -> tuple[int, list[int], int]:
        async with LLRPReaderSim(reads_per_s=300, seed=17, gpos=1) as sim:
            sim.place(EPC_A, antenna=1)
            client = await RawLLRPClient.connect(sim)
            client.add_and_enable(spec)
            await client.listen(0.4)
            before = sim.reports_sent  # the barrier open: the ROSpec waits
            sim.gpi(1, True)
            await client.listen(0.4)
            sim.gpi(1, False)
            await client.listen(0.3)
            after = sim.reports_sent
            await client.listen(0.3)
            client.writer.close()
            return before, [count for _, count in client.reports], sim.reports_sent - after

    before, counts, later = run(scenario())
    assert before == 0 and later == 0
    assert len(counts) == 1 and counts[0] > 20  # one report at the end, of the 0.4 s it ran


def test_sllurp_block_writes_then_permalocks_user_memory_and_the_next_write_is_refused() -> None:
    from sllurp.llrp import C1G2BlockWrite, C1G2Lock, C1G2LockPayload, C1G2Write

    sim = LLRPReaderSim(reads_per_s=300, seed=18)
    sim.place(EPC_A, antenna=1, user=bytes(8))
    peer = SllurpOnTheSim(sim)
    try:
        block = C1G2BlockWrite(OpSpecID=4, MB=3, WordPtr=0, WriteDataWordCount=2, WriteData=b"\x12\x34\x56\x78")
        peer.client.start_access_spec(block, stop_after_count=1)
        wrote = peer.results("C1G2BlockWriteOpSpecResult", 1)
        lock = C1G2Lock(OpSpecID=5, LockPayload=[C1G2LockPayload(Privilege=1, DataField=4)])  # permalock User
        peer.client.llrp.nextAccess(lock, stopAfterCount=1)
        locked = peer.results("C1G2LockOpSpecResult", 1)
        again = C1G2Write(OpSpecID=6, MB=3, WordPtr=0, WriteDataWordCount=1, WriteData=b"\xff\xff")
        peer.client.llrp.nextAccess(again, stopAfterCount=1)
        refused = peer.results("C1G2WriteOpSpecResult", 1)
        user = sim.tags[0].user
    finally:
        peer.close()
    assert [(w["Result"], w["NumWordsWritten"]) for w in wrote] == [(0, 2)]
    assert [r["Result"] for r in locked] == [0]
    assert [r["Result"] for r in refused] == [2] and user == b"\x12\x34\x56\x78" + bytes(4)  # locked
