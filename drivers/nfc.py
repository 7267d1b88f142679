"""NFC over nfcpy: read NDEF from Type 2/3/4 tags.

``NfcReader`` works on any nfcpy device path (``usb:…``, ``tty:…``, ``udp:host:port``): each
tag brought into the field gives one ``TagRead`` (``ndef_uri``, ``ndef_text`` or ``uid``);
a tag that stays on the pad is not read again until it has left. nfcpy blocks, so the
loop runs in a worker thread; a device that fails or disappears ends the session and the
supervisor reopens it with backoff.

The other direction, the kiosk's pad acting as a tag for a phone, is ``drivers/kiosk_tag.py``.
"""

from __future__ import annotations

import logging
from typing import Any, Final, Literal

from drivers.base import Backoff, HealthState, ReaderGone, ReaderSettings, ThreadedReader
from drivers.tap import nfc_tag_read

log = logging.getLogger(__name__)

TARGETS: Final = ("106A", "106B", "212F")
#: times the NDEF is looked for on a tag that shows none before it is taken for a UID-only tag
NDEF_TRIES: Final = 3


class NfcSettings(ReaderSettings):
    """``[[readers]] driver = "nfc"``: an nfcpy device."""

    driver: Literal["nfc"]
    #: nfcpy device path: ``usb:…``, ``tty:…``, ``udp:host:port``
    path: str = ""

    def build(self) -> NfcReader:
        return NfcReader(self.id, self.path)


class NfcReader(ThreadedReader):
    def __init__(self, reader_id: str, path: str, backoff: Backoff | None = None) -> None:
        super().__init__(reader_id, backoff)
        self.path = path

    def _run(self) -> None:
        try:
            import nfc  # 7 MB of nfcpy: loaded by a daemon that has an NFC reader, not by every one

            clf = nfc.ContactlessFrontend(self.path)
        except (OSError, ValueError) as e:
            raise ReaderGone(f"cannot open NFC device {self.path}: {e}") from None
        self._health_threadsafe(HealthState.ONLINE, f"nfcpy {clf.device}")
        try:
            while not self._halt.is_set():
                options = {"on-connect": self._on_tag, "targets": TARGETS, "beep-on-connect": False}
                try:
                    clf.connect(rdwr=options, terminate=self._halt.is_set)
                except OSError as e:
                    raise ReaderGone(f"NFC device {self.path} failed: {e}") from None
        finally:
            clf.close()

    def _on_tag(self, tag: Any) -> bool:
        ndef = tag.ndef
        for _ in range(NDEF_TRIES - 1):  # a read lost at the edge of the field is read again
            if ndef is not None or not tag.is_present:
                break
            ndef = tag.ndef  # nfcpy looks for the NDEF again while it has found none
        octets = bytes(ndef.octets) if ndef is not None else None
        self._emit_threadsafe(nfc_tag_read(self.reader_id, bytes(tag.identifier), octets))
        return True  # hold the tag: read again only after it has left the field
