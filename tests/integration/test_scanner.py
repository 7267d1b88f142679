"""pyserial → pseudo-terminal → simulated 2D scanner: scans, quirks, unplug and replug."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from drivers.base import Backoff, HealthState, TagRead
from drivers.scanner import ScannerReader
from edge_agent.codes import parse
from sim.scanner import ScannerSim
from tests.conftest import until

MILK = "0104610053149777215d/wuU\x1d93dGVz"
FAST = Backoff(initial=0.05, maximum=0.2)


async def take(reader: ScannerReader, n: int) -> list[TagRead]:
    stream = reader.reads()
    return [await asyncio.wait_for(anext(stream), 5) for _ in range(n)]


def run(tmp_path: Path, scenario: Callable[[ScannerSim, ScannerReader], Awaitable[None]]) -> None:
    """A plugged-in simulated scanner and an online driver on it; both cleaned up after."""

    async def main() -> None:
        sim = ScannerSim(tmp_path / "scanner")
        sim.plug()
        reader = ScannerReader("sco-1-scanner", str(sim.link), backoff=FAST)
        await reader.start()
        try:
            await until(lambda: reader.health.state is HealthState.ONLINE)
            await scenario(sim, reader)
        finally:
            await reader.stop()
            sim.unplug()

    asyncio.run(main())


def test_scans_with_gs_prefixes_and_fnc1_reach_the_identity_layer_intact(tmp_path: Path) -> None:
    async def scenario(sim: ScannerSim, reader: ScannerReader) -> None:
        sim.scan(MILK)
        sim.scan(MILK, prefix=b"]d2")
        sim.scan(MILK, prefix=b"\xe8", suffix=b"\r\n")
        sim.scan("04603731175212JEIjNYDAAAAtFwS")
        reads = await take(reader, 4)
        assert [r.kind for r in reads] == ["barcode"] * 4
        assert [parse(r.raw).ki for r in reads[:3]] == ["0104610053149777215d/wuU"] * 3
        assert parse(reads[0].raw).mark_code == MILK
        assert parse(reads[3].raw).kind == "tobacco_pack"

    run(tmp_path, scenario)


def test_unplugged_scanner_goes_offline_and_comes_back_on_the_same_path(tmp_path: Path) -> None:
    async def scenario(sim: ScannerSim, reader: ScannerReader) -> None:
        sim.unplug()
        await until(lambda: reader.health.state is HealthState.OFFLINE)
        assert str(sim.link) in reader.health.reason
        sim.plug()
        await until(lambda: reader.health.state is HealthState.ONLINE)
        sim.scan(MILK)
        (read,) = await take(reader, 1)
        assert read.raw == MILK

    run(tmp_path, scenario)


def test_after_a_10_mb_line_without_end_and_binary_junk_the_next_scan_arrives_whole(tmp_path: Path) -> None:
    async def scenario(sim: ScannerSim, reader: ScannerReader) -> None:
        await asyncio.to_thread(sim.scan, b"A" * 10_000_000, suffix=b"")  # a stuck trigger, no terminator
        await until(lambda: reader.discarded == 1, 30)  # ended by the inter-character timeout, dropped
        sim.scan(b"\x00\x01\xfe\xffnoise\x7f")  # binary junk with a terminator
        await until(lambda: reader.discarded == 2)
        sim.scan(b"0104610053149777", suffix=b"")  # a partial scan: the pause ends it
        sim_gap = reader.gap_s * 3
        await asyncio.sleep(sim_gap)  # the scanner's own pause between two codes
        sim.scan(MILK)
        reads = await take(reader, 2)
        assert [r.raw for r in reads] == ["0104610053149777", MILK]
        assert reader.discarded == 2

    run(tmp_path, scenario)


def test_a_scan_sent_at_once_after_a_10_mb_line_without_end_arrives_whole(tmp_path: Path) -> None:
    """No terminator and no pause between the junk and the scan: the scan is not glued to it."""

    async def scenario(sim: ScannerSim, reader: ScannerReader) -> None:
        await asyncio.to_thread(sim.scan, b"A" * 10_000_000 + MILK.encode("latin-1"))
        [read] = await take(reader, 1)
        assert read.raw == MILK and reader.discarded == 1

    run(tmp_path, scenario)
