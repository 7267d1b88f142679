"""HF/NFC readers over PC/SC (pyscard → pcscd): taps of NFC Forum Type 2 tags (NTAG21x).

One driver watches every PC/SC reader pcscd offers (or those whose name contains
``name_filter``). On a card's arrival it reads the UID (GET DATA) and the NDEF message
(READ BINARY of the capability container, then the data area) and emits one ``TagRead``:
``ndef_uri`` (a GS1 Digital Link), ``ndef_text`` (a mark code), or ``uid`` when the tag
carries no NDEF. A tag lifted mid-read gives no read at all: nothing is invented.

pyscard blocks, so the watch loop runs in a worker thread around SCardGetStatusChange with
a short timeout. When pcscd stops or restarts every call fails with "no service": the
session ends with that reason and the supervisor re-establishes the context with backoff
(pyscard's own CardMonitor does not). Readers that appear or vanish are picked up on every
round, so an unplugged and re-plugged reader comes back by itself.
"""

from __future__ import annotations

import logging
from typing import Any, Final, Literal

from smartcard import scard

from drivers.base import Backoff, HealthState, ReaderGone, ReaderSettings, ThreadedReader
from drivers.tap import nfc_tag_read
from edge_agent.codes.ndef import NdefError, find_ndef_tlv

log = logging.getLogger(__name__)

POLL_MS: Final = 300
GET_UID: Final = [0xFF, 0xCA, 0x00, 0x00, 0x00]
PAGE_BYTES: Final = 4
READ_CHUNK: Final = 16
_SERVICE_GONE: Final = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE}


class CardGone(Exception):
    """The card left the field during the read."""


def _check(hresult: int, what: str) -> None:
    if hresult != scard.SCARD_S_SUCCESS:
        text = scard.SCardGetErrorMessage(hresult)
        if hresult in (scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_RESET_CARD):
            raise CardGone(f"{what}: {text}")
        if hresult in _SERVICE_GONE:
            raise ReaderGone(f"pcscd: {text}")
        raise CardGone(f"{what}: {text} (0x{hresult & 0xFFFFFFFF:08X})")


def _transmit(card: Any, protocol: int, apdu: list[int]) -> bytes:
    hresult, response = scard.SCardTransmit(card, protocol, apdu)
    _check(hresult, "transmit")
    if len(response) < 2 or response[-2:] != [0x90, 0x00]:
        raise CardGone(f"the tag answered {bytes(response[-2:]).hex()} to {bytes(apdu[:4]).hex()}")
    return bytes(response[:-2])


def read_tag(card: Any, protocol: int) -> tuple[bytes, bytes | None]:
    """(UID, NDEF message or None) of a Type 2 tag behind a PC/SC reader."""
    uid = _transmit(card, protocol, GET_UID)
    head = _transmit(card, protocol, [0xFF, 0xB0, 0x00, 3, READ_CHUNK])  # CC + first 12 data bytes
    if len(head) < 4 or head[0] != 0xE1:
        return uid, None  # not NDEF formatted
    size = head[2] * 8
    data = bytearray(head[4:])
    while True:
        try:
            return uid, find_ndef_tlv(bytes(data))
        except NdefError as e:
            if e.code != "ndef_truncated" or len(data) >= size:
                return uid, None
        page = 4 + len(data) // PAGE_BYTES
        data += _transmit(card, protocol, [0xFF, 0xB0, page >> 8, page & 0xFF, READ_CHUNK])


class PCSCSettings(ReaderSettings):
    """``[[readers]] driver = "pcsc"``: every PC/SC reader pcscd offers whose name contains ``path``."""

    driver: Literal["pcsc"]
    #: a filter on the PC/SC reader names ("": every reader)
    path: str = ""

    def build(self) -> PCSCReader:
        return PCSCReader(self.id, self.path)


class PCSCReader(ThreadedReader):
    def __init__(self, reader_id: str, name_filter: str = "", backoff: Backoff | None = None) -> None:
        super().__init__(reader_id, backoff)
        self.name_filter = name_filter
        self.readers: list[str] = []
        self.failed_reads = 0

    def _run(self) -> None:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise ReaderGone(f"pcscd not available: {scard.SCardGetErrorMessage(hresult)}")
        try:
            self._watch(context)
        finally:
            scard.SCardReleaseContext(context)

    def _watch(self, context: Any) -> None:
        known: dict[str, int] = {}
        listed: list[str] | None = None  # None: nothing reported yet in this session
        while not self._halt.is_set():
            hresult, names = scard.SCardListReaders(context, [])
            if hresult in _SERVICE_GONE:
                raise ReaderGone(f"pcscd: {scard.SCardGetErrorMessage(hresult)}")
            names = [n for n in (names or []) if self.name_filter in n]
            if names != listed:
                self.readers = listed = names
                known = {n: known.get(n, scard.SCARD_STATE_UNAWARE) for n in names}
                if names:
                    self._health_threadsafe(HealthState.ONLINE, f"{len(names)} PC/SC reader(s): {', '.join(names)}")
                else:
                    self._health_threadsafe(HealthState.DEGRADED, "pcscd is up but no PC/SC reader is attached")
            if not names:
                if self._halt.wait(POLL_MS / 1000):
                    return
                continue
            hresult, states = scard.SCardGetStatusChange(context, POLL_MS, list(known.items()))
            if hresult == scard.SCARD_E_TIMEOUT:
                continue
            if hresult in _SERVICE_GONE:
                raise ReaderGone(f"pcscd: {scard.SCardGetErrorMessage(hresult)}")
            if hresult != scard.SCARD_S_SUCCESS:
                # a reader vanished between listing and waiting: list again next round
                listed = None
                continue
            for name, event, _atr in states:
                before = known.get(name, 0)
                known[name] = event & ~scard.SCARD_STATE_CHANGED
                # pcsc-lite counts card insertions in the high word: a new count is a new card
                # even when the removal in between was too quick to be seen
                new_card = not before & scard.SCARD_STATE_PRESENT or (before >> 16) != (event >> 16)
                if event & scard.SCARD_STATE_PRESENT and new_card:
                    self._on_card(context, name)

    def _on_card(self, context: Any, name: str) -> None:
        hresult, card, protocol = scard.SCardConnect(
            context, name, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        )
        try:
            _check(hresult, "connect")
            uid, message = read_tag(card, protocol)
        except CardGone as e:
            self.failed_reads += 1
            log.info("pcsc %s: tag read abandoned: %s", name, e)
            return
        finally:
            if hresult == scard.SCARD_S_SUCCESS:
                scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        self._emit_threadsafe(nfc_tag_read(f"{self.reader_id}:{name}", uid, message))
