"""NFC tags and phones over nfcpy's UDP frontend (``udp:host:port``).

``NfcTagSim`` is an item's tag coming into a reader's field (``place``) and leaving it
(``lift``): a Type 3 tag emulated with nfcpy on the UDP port the reader polls. ``phone_tap``
is a customer's phone reading whatever tag the kiosk presents on a port.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import nfc

from drivers.nfc import emulate_type3
from edge_agent.codes.ndef import build_message, text_record, uri_record


class NfcTagSim:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.path = f"udp:{host}:{port}"
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0

    def place(self, *, uri: str | None = None, text: str | None = None, idm: bytes | None = None) -> None:
        """Bring a tag into the field; each tag has its own IDm unless one is given."""
        self.lift()
        self._count += 1
        idm = idm or bytes.fromhex("02FE") + self._count.to_bytes(6, "big")
        record = uri_record(uri) if uri is not None else text_record(text or "")
        message = build_message([record])
        self._halt = threading.Event()
        self._thread = threading.Thread(
            target=emulate_type3, args=(self.path, lambda: message, self._halt, idm), daemon=True
        )
        self._thread.start()

    def lift(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


def phone_tap(path: str, timeout: float = 5.0) -> bytes | None:
    """What a phone reads from the tag presented on ``path``: NDEF bytes, or None."""
    clf = nfc.ContactlessFrontend(path)
    found: list[bytes] = []

    def on_connect(tag: Any) -> bool:
        found.append(bytes(tag.ndef.octets) if tag.ndef is not None else b"")
        return False

    deadline = time.monotonic() + timeout
    try:
        while not found and time.monotonic() < deadline:
            clf.connect(rdwr={"on-connect": on_connect, "targets": ["212F"]},
                        terminate=lambda: time.monotonic() > deadline)  # fmt: skip
    finally:
        clf.close()
    return found[0] if found else None
