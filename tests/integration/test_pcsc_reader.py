"""pyscard → pcscd → vpcd → simulated NTAG: taps, lifts, pcscd restarts, reader unplugged."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest
from smartcard import scard

from drivers.base import Backoff, HealthState, TagRead
from drivers.pcsc import PCSCReader
from edge_agent.codes import parse
from sim.pcsc_card import PcscCardSim, VirtualNtag
from tests.conftest import until
from tests.integration.pcscd import Pcscd

LINK = "https://shop.example/01/04610053149777/21/5d%2FwuU?93=dGVz"
MARK_CODE = "0104653820923088215GoNfWgdcBeVZ\x1d93dGVz"
UID = bytes.fromhex("04A1B2C3D4E5F6")
FAST = Backoff(initial=0.1, maximum=0.5)


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcscd]:
    with Pcscd(tmp_path_factory.mktemp("pcscd")) as daemon:
        yield daemon


@pytest.fixture
def slots(pcscd: Pcscd) -> Iterator[tuple[PcscCardSim, PcscCardSim]]:
    if pcscd.proc is None or pcscd.proc.poll() is not None:
        pcscd.restart()
    pair = (PcscCardSim(pcscd.port), PcscCardSim(pcscd.port + 1))
    wait_until_empty()
    yield pair
    for slot in pair:
        slot.lift()
    wait_until_empty()


def wait_until_empty(timeout: float = 5.0) -> None:
    """Until pcscd has noticed that no tag is left on any reader (it polls vpcd)."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, names = scard.SCardListReaders(context, [])
            _, states = scard.SCardGetStatusChange(context, 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names or []])
            if all(not event & scard.SCARD_STATE_PRESENT for _, event, _ in states or []):
                return
            time.sleep(0.1)
    finally:
        scard.SCardReleaseContext(context)


def wait_until_present(name: str, timeout: float = 5.0) -> None:
    """Until pcscd sees a tag on reader ``name`` (it polls vpcd)."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, states = scard.SCardGetStatusChange(context, 0, [(name, scard.SCARD_STATE_UNAWARE)])
            if any(event & scard.SCARD_STATE_PRESENT for _, event, _ in states or []):
                return
            time.sleep(0.05)
        raise AssertionError(f"no tag on {name} after {timeout} s")
    finally:
        scard.SCardReleaseContext(context)


async def next_read(reader: PCSCReader, timeout: float = 10.0) -> TagRead:
    stream = reader.reads()
    return await asyncio.wait_for(anext(stream), timeout)


async def online(reader: PCSCReader) -> None:
    await reader.start()
    await until(lambda: reader.health.state is HealthState.ONLINE and len(reader.readers) == 2)


def run(scenario: Callable[[PCSCReader], Awaitable[None]]) -> None:
    """Run a scenario against a fresh driver, and always stop it (its worker thread too)."""

    async def main() -> None:
        reader = PCSCReader("nfc-pad", "Virtual PCD", backoff=FAST)
        try:
            await online(reader)
            await scenario(reader)
        finally:
            await reader.stop()

    asyncio.run(main())


def test_tap_of_a_digital_link_tag_gives_uri_and_uid(slots: tuple[PcscCardSim, PcscCardSim]) -> None:
    async def scenario(reader: PCSCReader) -> None:
        slots[0].place(VirtualNtag.with_uri(UID, LINK))
        read = await next_read(reader)
        assert (read.kind, read.raw, read.tid) == ("ndef_uri", LINK, UID)
        assert read.reader_id == "nfc-pad:Virtual PCD 00 00"
        assert parse(read.raw).ki == "0104610053149777215d/wuU"

    run(scenario)


def test_text_record_with_a_mark_code_on_the_second_reader(slots: tuple[PcscCardSim, PcscCardSim]) -> None:
    async def scenario(reader: PCSCReader) -> None:
        slots[1].place(VirtualNtag.with_text(UID, MARK_CODE))
        read = await next_read(reader)
        assert (read.kind, read.reader_id) == ("ndef_text", "nfc-pad:Virtual PCD 00 01")
        assert parse(read.raw).mark_code == MARK_CODE

    run(scenario)


def test_blank_tag_gives_its_uid(slots: tuple[PcscCardSim, PcscCardSim]) -> None:
    async def scenario(reader: PCSCReader) -> None:
        slots[0].place(VirtualNtag(UID, b""))
        read = await next_read(reader)
        assert (read.kind, read.raw) == ("uid", UID.hex().upper())

    run(scenario)


def test_tag_lifted_mid_read_gives_no_read_and_the_next_tap_works(slots: tuple[PcscCardSim, PcscCardSim]) -> None:
    async def scenario(reader: PCSCReader) -> None:
        slots[0].lift_after_apdus = 2  # UID answered, gone during the NDEF read
        slots[0].place(VirtualNtag.with_uri(UID, LINK))
        await until(lambda: reader.failed_reads == 1 and not slots[0].present)
        assert reader.queue.depth == 0  # nothing invented
        await asyncio.sleep(0.5)  # the customer taps again
        slots[0].place(VirtualNtag.with_uri(UID, LINK))
        read = await next_read(reader)
        assert read.raw == LINK

    run(scenario)


def test_pcscd_restart_is_reported_and_recovered_without_help(
    pcscd: Pcscd, slots: tuple[PcscCardSim, PcscCardSim]
) -> None:
    async def scenario(reader: PCSCReader) -> None:
        await asyncio.to_thread(pcscd.stop)
        await until(lambda: reader.health.state is HealthState.OFFLINE)
        assert "pcscd" in reader.health.reason
        await asyncio.to_thread(pcscd.start)
        await until(lambda: reader.health.state is HealthState.ONLINE)
        slots[0].place(VirtualNtag.with_uri(UID, LINK))
        read = await next_read(reader)
        assert read.raw == LINK

    run(scenario)


def test_reader_unplugged_then_plugged_back(pcscd: Pcscd, slots: tuple[PcscCardSim, PcscCardSim]) -> None:
    async def scenario(reader: PCSCReader) -> None:
        await asyncio.to_thread(pcscd.restart, False)  # pcscd comes back without the reader
        await until(lambda: reader.health.state is HealthState.DEGRADED)
        assert "no PC/SC reader" in reader.health.reason
        await asyncio.to_thread(pcscd.restart, True)  # plugged back in
        await until(lambda: reader.health.state is HealthState.ONLINE and len(reader.readers) == 2)
        slots[1].place(VirtualNtag.with_uri(UID, LINK))
        read = await next_read(reader)
        assert read.raw == LINK

    run(scenario)


def scriptor(reader: str, apdus: list[str]) -> list[str]:
    """pcsc-tools' scriptor (Debian), unmodified: sends each APDU through pcscd, returns each
    answer's status word."""
    import subprocess

    stdin = "\n".join(apdus) + "\n"
    command = ["scriptor", "-r", reader]
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    answers = [line[2:].split(":")[0].split() for line in done.stdout.splitlines() if line.startswith("< ")]
    assert len(answers) == len(apdus), done.stdout + done.stderr
    return ["".join(a[-2:]) for a in answers]


def test_pcsc_tools_writes_the_tag_our_driver_reads_and_locks_it(slots: tuple[PcscCardSim, PcscCardSim]) -> None:
    """A tag encoder's way: scriptor writes a new NDEF message page by page with UPDATE BINARY
    (the capability container says read/write), the driver reads the new link at the next tap;
    then scriptor locks the NDEF (CC access byte 0x0F) and the next write is refused."""
    from edge_agent.codes.ndef import build_message, ndef_tlv, uri_record

    tag = VirtualNtag.with_uri(UID, LINK)
    slots[0].place(tag)
    wait_until_present("Virtual PCD 00 00")
    new_link = "https://shop.example/01/04610053149777/21/NEW123?93=dGVz"
    data = ndef_tlv(build_message([uri_record(new_link)]))
    data += b"\x00" * (-len(data) % 4)
    writes = [f"FF D6 00 {4 + n:02X} 04 " + data[4 * n : 4 * n + 4].hex(" ") for n in range(len(data) // 4)]
    assert scriptor("Virtual PCD 00 00", ["FF B0 00 03 04", *writes]) == ["9000"] * (1 + len(writes))
    lock = ["FF D6 00 03 04 00 00 00 0F", "FF D6 00 04 04 03 00 FE 00", "FF D6 00 00 04 00 00 00 00"]
    assert scriptor("Virtual PCD 00 00", lock) == ["9000", "6300", "6300"]  # locked; the serial never writable
    slots[0].lift()
    wait_until_empty()

    async def scenario(reader: PCSCReader) -> None:
        slots[0].place(tag)  # the same tag, tapped again
        read = await next_read(reader)
        assert (read.kind, read.raw) == ("ndef_uri", new_link)

    run(scenario)
