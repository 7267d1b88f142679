"""NFC over nfcpy: read NDEF from Type 2/3/4 tags, and be the tag a customer's phone taps.

``NfcReader`` works on any nfcpy device path (``usb:…``, ``tty:…``, ``udp:host:port``): each
tag brought into the field gives one ``TagRead`` (``ndef_uri``, ``ndef_text`` or ``uid``);
a tag that stays on the pad is not read again until it has left. nfcpy blocks, so the
loop runs in a worker thread; a device that fails or disappears ends the session and the
supervisor reopens it with backoff.

``KioskTag`` is the other direction: card emulation of an NFC Forum Type 3 tag (the type
nfcpy can emulate) that hands a phone an NDEF URI, e.g. the basket's payment page.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable
from typing import Any, Final

import nfc
import nfc.clf

from drivers.base import Backoff, HealthState, ReaderGone, ThreadedReader, nfc_tag_read
from edge_agent.codes.ndef import build_message, uri_record

log = logging.getLogger(__name__)

TARGETS: Final = ("106A", "106B", "212F")
BLOCK: Final = 16
# Type 3 Tag: service codes for NDEF read (without / with write permission)
NDEF_SERVICES: Final = (0x0009, 0x000B)
# an IDm with the NFC Forum prefix 02FE..., PMm and the NDEF system code 12FC
_IDM: Final = bytes.fromhex("02FE0123456789AB")
_PMM: Final = bytes.fromhex("03014B024F4993FF")
_SYS: Final = bytes.fromhex("12FC")


def type3_blocks(message: bytes) -> list[bytes]:
    """The blocks of a read-only Type 3 tag holding ``message`` (attribute block first)."""
    data = message + b"\x00" * (-len(message) % BLOCK)
    attr = bytearray(BLOCK)
    attr[0] = 0x10  # NDEF mapping version 1.0
    attr[1], attr[2] = 4, 1  # Nbr, Nbw: blocks per read / write command
    struct.pack_into(">H", attr, 3, max(1, len(data) // BLOCK))  # Nmaxb
    attr[9], attr[10] = 0x00, 0x00  # WriteF: done; RWFlag: read only
    attr[11:14] = len(message).to_bytes(3, "big")
    struct.pack_into(">H", attr, 14, sum(attr[:14]))
    return [bytes(attr)] + [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)]


def emulate_type3(path: str, message: Callable[[], bytes], halt: threading.Event, idm: bytes = _IDM) -> None:
    """Present a Type 3 tag with the NDEF ``message()`` on ``path`` until ``halt`` is set.

    ``message`` is called at each activation, so the content can change between taps."""
    if len(idm) != 8:
        raise ValueError("a Type 3 tag's IDm is 8 bytes")
    clf = nfc.ContactlessFrontend(path)
    try:

        def on_startup(target: Any) -> Any:
            target.brty = "212F"
            target.sensf_res = bytearray(b"\x01" + idm + _PMM + _SYS)
            return target

        def on_connect(tag: Any) -> bool:
            blocks = type3_blocks(message())

            def read(block: int, _rb: int, _re: int) -> bytes | None:
                return blocks[block] if block < len(blocks) else None

            for service in NDEF_SERVICES:
                tag.add_service(service, read, lambda *_: False)
            return True

        while not halt.is_set():
            clf.connect(card={"on-startup": on_startup, "on-connect": on_connect}, terminate=halt.is_set)
    finally:
        clf.close()


class KioskTag:
    """The kiosk's NFC pad as a tag: a phone that taps it reads ``uri``."""

    def __init__(self, path: str, uri: str) -> None:
        self.path = path
        self.uri = uri
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def _message(self) -> bytes:
        return build_message([uri_record(self.uri)])

    def start(self) -> None:
        self._halt.clear()
        self._thread = threading.Thread(
            target=emulate_type3, args=(self.path, self._message, self._halt), name="kiosk nfc tag", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


class NfcReader(ThreadedReader):
    def __init__(self, reader_id: str, path: str, backoff: Backoff | None = None) -> None:
        super().__init__(reader_id, backoff)
        self.path = path

    def _run(self) -> None:
        try:
            clf = nfc.ContactlessFrontend(self.path)
        except (OSError, ValueError) as e:
            raise ReaderGone(f"cannot open NFC device {self.path}: {e}") from None
        self._health_threadsafe(HealthState.ONLINE, f"nfcpy {clf.device}")
        try:
            while not self._halt.is_set():
                options = {"on-connect": self._on_tag, "targets": TARGETS,
                           "beep-on-connect": False}  # fmt: skip
                try:
                    clf.connect(rdwr=options, terminate=self._halt.is_set)
                except OSError as e:
                    raise ReaderGone(f"NFC device {self.path} failed: {e}") from None
        finally:
            clf.close()

    def _on_tag(self, tag: Any) -> bool:
        octets = bytes(tag.ndef.octets) if tag.ndef is not None else None
        self._emit_threadsafe(nfc_tag_read(self.reader_id, bytes(tag.identifier), octets))
        return True  # hold the tag: read again only after it has left the field
