"""nfcpy → its UDP frontend → emulated tags and phones: taps in both directions."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

from drivers.base import Backoff, HealthState, TagRead
from drivers.kiosk_tag import KioskTag
from drivers.nfc import NfcReader
from edge_agent.codes import parse
from edge_agent.codes.ndef import parse_message
from sim.nfc_tag import NfcTagSim, phone_tap
from tests.conftest import until

LINK = "https://shop.example/01/04610053149777/21/5d%2FwuU?93=dGVz"
MARK_CODE = "0104653820923088215GoNfWgdcBeVZ\x1d93dGVz"
FAST = Backoff(initial=0.1, maximum=0.5)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(port: int, scenario: Callable[[NfcReader], Awaitable[None]]) -> None:
    async def main() -> None:
        reader = NfcReader("nfc-pad", f"udp:127.0.0.1:{port}", backoff=FAST)
        await reader.start()
        try:
            await until(lambda: reader.health.state is HealthState.ONLINE)
            await scenario(reader)
        finally:
            await reader.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


async def next_read(reader: NfcReader, timeout: float = 15.0) -> TagRead:
    return await asyncio.wait_for(anext(reader.reads()), timeout)


def test_tag_with_a_digital_link_is_read_once_while_it_stays() -> None:
    port = free_udp_port()
    tag = NfcTagSim(port)

    async def scenario(reader: NfcReader) -> None:
        tag.place(uri=LINK)
        try:
            read = await next_read(reader)
            assert (read.kind, read.raw, read.reader_id) == ("ndef_uri", LINK, "nfc-pad")
            assert read.tid and len(read.tid) == 8  # the Type 3 tag's IDm
            assert parse(read.raw).ki == "0104610053149777215d/wuU"
            await asyncio.sleep(2.0)  # still on the pad
            assert reader.queue.depth == 0
        finally:
            await asyncio.to_thread(tag.lift)

    run(port, scenario)


def test_text_record_with_mark_code_and_a_second_tap_after_lifting() -> None:
    port = free_udp_port()
    tag = NfcTagSim(port)

    async def scenario(reader: NfcReader) -> None:
        try:
            tag.place(text=MARK_CODE)
            first = await next_read(reader)
            assert first.kind == "ndef_text" and parse(first.raw).mark_code == MARK_CODE
            await asyncio.to_thread(tag.lift)
            await asyncio.sleep(1.0)  # the customer takes the item away, then taps the next
            tag.place(uri=LINK)
            second = await next_read(reader)
            assert second.raw == LINK
        finally:
            await asyncio.to_thread(tag.lift)

    run(port, scenario)


def test_a_phone_tapping_the_kiosk_reads_the_uri_it_is_given() -> None:
    path = f"udp:127.0.0.1:{free_udp_port()}"
    kiosk = KioskTag(path, "https://kiosk.example/pay/basket-1")
    kiosk.start()
    try:
        raw = phone_tap(path, timeout=10)
        assert raw is not None and parse_message(raw)[0].uri == "https://kiosk.example/pay/basket-1"
        kiosk.uri = "https://kiosk.example/pay/basket-2"
        time.sleep(0.5)
        raw = phone_tap(path, timeout=10)
        assert raw is not None and parse_message(raw)[0].uri == "https://kiosk.example/pay/basket-2"
    finally:
        kiosk.stop()


def test_a_device_that_is_not_there_is_offline_with_the_reason() -> None:
    async def main() -> None:
        reader = NfcReader("nfc-pad", "usb:072f:2200", backoff=Backoff(initial=5, maximum=5))
        await reader.start()
        try:
            await until(lambda: reader.health.state is HealthState.OFFLINE and "usb:072f:2200" in reader.health.reason)
        finally:
            await reader.stop()

    asyncio.run(main())


def test_type_2_and_type_4_tags_are_read_too() -> None:
    port = free_udp_port()
    tag = NfcTagSim(port)

    async def scenario(reader: NfcReader) -> None:
        try:
            for tag_type in (2, 4):
                uid = tag.place(uri=LINK, tag_type=tag_type)
                read = await next_read(reader)
                assert (read.kind, read.raw, read.tid) == ("ndef_uri", LINK, uid), tag_type
                await asyncio.to_thread(tag.lift)
                await asyncio.sleep(1.0)
        finally:
            await asyncio.to_thread(tag.lift)

    run(port, scenario)


def test_nfcpy_sees_a_felica_lite_s_and_dumps_it_as_its_tag_tool_does() -> None:
    """nfcpy's own tag API, as its tag tool's ``show`` uses it: the Type 3 tag is identified as a
    FeliCa Lite-S (not a FeliCa Standard it cannot answer for), its NDEF is read, and its dump
    (user blocks, then the system blocks) completes with the chip's IDm in block 0x83."""
    import nfc

    port = free_udp_port()
    tag_sim = NfcTagSim(port)
    idm = tag_sim.place(uri=LINK)
    found: dict[str, object] = {}

    def connected(tag: object) -> bool:
        found["product"] = getattr(tag, "product", "")
        found["uri"] = tag.ndef.records[0].iri if tag.ndef else None  # type: ignore[attr-defined]
        found["dump"] = tag.dump()  # type: ignore[attr-defined]
        return False

    clf = nfc.ContactlessFrontend(f"udp:127.0.0.1:{port}")
    try:
        started = time.monotonic()
        clf.connect(
            rdwr={"targets": ["212F"], "on-connect": connected}, terminate=lambda: time.monotonic() - started > 10
        )
    finally:
        clf.close()
        tag_sim.lift()
    assert found["product"] == "FeliCa Lite-S (RC-S966)" and found["uri"] == LINK
    dump = [str(line) for line in found["dump"]]  # type: ignore[attr-defined]
    d_id = next(line for line in dump if line.strip().startswith("131:"))
    assert idm.hex(" ") in d_id and not any("??" in line for line in dump[:3])


def test_nfcpy_writes_the_type_2_tag_and_reads_back_what_it_wrote() -> None:
    """The NTAG215's capability container says read/write: nfcpy's tag API writes a new NDEF
    message with Type 2 WRITE commands, and the next tap reads it."""
    import ndef
    import nfc

    port = free_udp_port()
    tag_sim = NfcTagSim(port)
    tag_sim.place(uri=LINK, tag_type=2)
    new_link = "https://shop.example/01/04610053149777/21/W1?93=dGVz"
    seen: list[str] = []

    def tap(on_connect: Callable[[object], bool]) -> None:
        clf = nfc.ContactlessFrontend(f"udp:127.0.0.1:{port}")
        try:
            started = time.monotonic()
            rdwr = {"targets": ["106A"], "on-connect": on_connect}
            clf.connect(rdwr=rdwr, terminate=lambda: time.monotonic() - started > 10)
        finally:
            clf.close()

    def write(tag: object) -> bool:
        assert tag.ndef is not None and tag.ndef.is_writeable  # type: ignore[attr-defined]
        tag.ndef.records = [ndef.UriRecord(new_link)]  # type: ignore[attr-defined]
        return False

    def read(tag: object) -> bool:
        seen.append(tag.ndef.records[0].iri)  # type: ignore[attr-defined]
        return False

    try:
        tap(write)
        tap(read)
    finally:
        tag_sim.lift()
    assert seen == [new_link]
