"""Reader profiles over real TCP: our driver against the simulator as an Impinj and as a Zebra
reader (docs/readers.md). Impinj: the extensions enabled per connection, TagFocus (search mode 3,
session 1), the peak RSSI in hundredths of a dBm and the serialized TID (FastID, no AccessSpec)
reach ``TagRead``. Zebra: only connected antennas, named one by one (antennas 1 and 4 here),
where a client asking for 1..4 is refused. The wrong profile fails visibly, never silently."""

from __future__ import annotations

from drivers.base import HealthState
from drivers.llrp import LLRPReader, LLRPSettings
from sim.llrp_reader import LLRPReaderSim
from tests.conftest import until
from tests.integration.test_llrp_reader import FAST, collect, run

EPC_A = "3034257BF7194E4000003039"
EPC_B = "3034257BF7194E400000303A"
TID_A = bytes.fromhex("E2801190200060A1B2C3D4E5")


def reader_for(sim: LLRPReaderSim, **settings: object) -> LLRPReader:
    reader = LLRPSettings(id="r1", driver="llrp", port=sim.port, **settings).build()  # type: ignore[arg-type]
    reader._backoff = FAST  # reconnect quickly: the failures are the point here
    return reader


def test_impinj_tagfocus_with_peak_rssi_in_hundredths_and_the_serialized_tid() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(reads_per_s=400, seed=3, profile="impinj") as sim:
            sim.place(EPC_A, antenna=1, rssi=(-52, -48), tid=TID_A)
            reader = reader_for(sim, profile="impinj", search_mode="tagfocus", read_tid_words=6)
            await reader.start()
            await until(lambda: reader.health.state is HealthState.ONLINE)
            reads = await collect(reader, 0.5)
            await reader.stop()
            assert reads and {r.raw for r in reads} == {EPC_A}
            assert all(r.tid == TID_A for r in reads)  # FastID: in the inventory round itself
            assert sim.session.accessspecs == {}  # ... without an AccessSpec
            centi = [r.rssi_centi for r in reads]
            assert all(c is not None and -5299 <= c <= -4800 for c in centi)  # signed, 0.01 dBm
            assert any(c % 100 for c in centi if c is not None)  # finer than whole dBm
            assert (sim.session.search_mode, sim.session.session) == (3, 1)  # TagFocus, session 1
            assert reader.capabilities["manufacturer"] == "Impinj" and reader.capabilities["gpos"] == 0

    run(scenario())


def test_zebra_reads_on_its_connected_antennas_named_one_by_one() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(reads_per_s=400, seed=4, profile="zebra", connected=(1, 4)) as sim:
            sim.place(EPC_A, antenna=1)
            sim.place(EPC_B, antenna=4)
            reader = reader_for(sim, profile="zebra")
            await reader.start()
            await until(lambda: reader.health.state is HealthState.ONLINE)
            reads = await collect(reader, 0.5)
            await reader.stop()
            assert {(r.raw, r.antenna) for r in reads} == {(EPC_A, 1), (EPC_B, 4)}
            assert reader.capabilities["connected"] == [1, 4] and reader.capabilities["manufacturer"] == "Zebra"

    run(scenario())


def test_a_client_configuring_antennas_1_to_4_on_a_zebra_with_1_and_4_is_refused_visibly() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(reads_per_s=400, seed=4, profile="zebra", connected=(1, 4)) as sim:
            reader = reader_for(sim, antennas=(1, 2, 3, 4))  # generic LLRP: every antenna by number
            await reader.start()
            await until(lambda: "not a connected antenna" in reader.health.reason)
            assert reader.health.state is not HealthState.ONLINE
            await reader.stop()

    run(scenario())


def test_the_impinj_profile_on_a_reader_without_extensions_fails_and_says_why() -> None:
    async def scenario() -> None:
        async with LLRPReaderSim(reads_per_s=400, seed=5) as sim:  # a generic reader
            reader = reader_for(sim, profile="impinj")
            await reader.start()
            await until(lambda: "no such custom message" in reader.health.reason)
            await reader.stop()
        async with LLRPReaderSim(reads_per_s=400, seed=5, profile="impinj") as impinj:  # generic client: fine
            impinj.place(EPC_A, antenna=2)
            reader = reader_for(impinj)
            await reader.start()
            await until(lambda: reader.health.state is HealthState.ONLINE)
            reads = await collect(reader, 0.3)
            await reader.stop()
            assert {r.raw for r in reads} == {EPC_A} and all(r.rssi_centi is None for r in reads)

    run(scenario())
