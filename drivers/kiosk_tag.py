"""The kiosk's NFC pad as a tag: card emulation of an NFC Forum Type 3 tag (the type nfcpy can
emulate) that hands a phone an NDEF URI, e.g. the basket's payment page. ``emulate_type3`` is
also what ``sim/nfc_tag.py`` uses to play a product's tag over nfcpy's UDP frontend."""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from typing import Any, Final

import nfc
import nfc.clf

from edge_agent.codes.ndef import build_message, uri_record

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


def emulate_type3(
    path: str,
    message: Callable[[], bytes],
    halt: threading.Event,
    idm: bytes = _IDM,
    *,
    pmm: bytes = _PMM,
    system: Callable[[int], bytes | None] | None = None,
) -> None:
    """Present a Type 3 tag with the NDEF ``message()`` on ``path`` until ``halt`` is set.

    ``message`` is called at each activation, so the content can change between taps; ``pmm``
    says which chip it is (its second byte, the IC code) and ``system`` answers reads of the
    blocks past the NDEF data (the rest of the user blocks, the chip's own blocks)."""
    if len(idm) != 8:
        raise ValueError("a Type 3 tag's IDm is 8 bytes")
    clf = nfc.ContactlessFrontend(path)
    try:

        def on_startup(target: Any) -> Any:
            target.brty = "212F"
            target.sensf_res = bytearray(b"\x01" + idm + pmm + _SYS)
            return target

        def on_connect(tag: Any) -> bool:
            blocks = type3_blocks(message())

            def read(block: int, _rb: int, _re: int) -> bytes | None:
                if block < len(blocks):
                    return blocks[block]
                return system(block) if system is not None else None

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
