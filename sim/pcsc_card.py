"""Virtual NFC tags on a virtual PC/SC reader, through vsmartcard's vpcd.

pcscd loads the vpcd driver, which waits for a virtual card on a TCP port (one port per
reader slot). Connecting to that port is placing a tag on the reader; closing it is
lifting the tag. vpcd then relays the APDUs pyscard sends, length-prefixed (2 bytes, big
endian); one-byte messages are power off (0), on (1), reset (2) and "get ATR" (4).

``VirtualNtag`` answers like an NTAG215 behind a PC/SC contactless reader (PC/SC part 3):
GET DATA for the UID, READ BINARY for memory pages, with the NDEF message in page 4 onwards,
and UPDATE BINARY for writes of whole pages, as the tag allows them: the user pages while the
capability container says read/write, the CC and the static lock bytes one-time-programmable
(bits are only ever set), the serial number never. Writing 0x0F to the CC's access byte
makes the NDEF read-only, which is how a tag is locked. Run alone: ``edge-agent sim pcsc --port 35963 --uri https://...``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from typing import Final

from edge_agent.codes.ndef import build_message, ndef_tlv, text_record, uri_record

log = logging.getLogger(__name__)

# ATR of a PC/SC storage card, card name 0x0003 (MIFARE Ultralight family, NTAG21x) (PC/SC part 3)
NTAG_ATR: Final = bytes.fromhex("3B8F8001804F0CA0000003060300030000000068")
SW_OK: Final = b"\x90\x00"
SW_WRONG_P1P2: Final = b"\x6b\x00"
SW_NOT_SUPPORTED: Final = b"\x6a\x81"
SW_INS: Final = b"\x6d\x00"
SW_FAILED: Final = b"\x63\x00"  # PC/SC part 3: the storage card refused the operation
SW_WRONG_LENGTH: Final = b"\x67\x00"
USER_PAGES: Final = range(4, 130)  # NTAG215: 504 bytes of user memory
NTAG215_PAGES: Final = 135
NTAG215_CC: Final = bytes([0xE1, 0x10, 0x3E, 0x00])  # NDEF 1.0, 496 data bytes, read/write


class VirtualNtag:
    """An NTAG215's memory and the APDUs a PC/SC reader turns tag commands into."""

    def __init__(self, uid: bytes, ndef_message: bytes) -> None:
        if len(uid) != 7:
            raise ValueError("an NTAG UID is 7 bytes")
        data = ndef_tlv(ndef_message)
        if len(data) > 4 * (NTAG215_PAGES - 4):
            raise ValueError("NDEF message too large for an NTAG215")
        bcc0 = 0x88 ^ uid[0] ^ uid[1] ^ uid[2]
        bcc1 = uid[3] ^ uid[4] ^ uid[5] ^ uid[6]
        head = uid[:3] + bytes([bcc0]) + uid[3:7] + bytes([bcc1, 0x48, 0, 0]) + NTAG215_CC
        self.uid = uid
        self.memory = (head + data).ljust(4 * NTAG215_PAGES, b"\x00")

    @classmethod
    def with_uri(cls, uid: bytes, uri: str) -> VirtualNtag:
        return cls(uid, build_message([uri_record(uri)]))

    @classmethod
    def with_text(cls, uid: bytes, text: str) -> VirtualNtag:
        return cls(uid, build_message([text_record(text)]))

    def apdu(self, cmd: bytes) -> bytes:
        if len(cmd) < 4 or cmd[0] != 0xFF:
            return SW_INS
        ins, p1, p2 = cmd[1], cmd[2], cmd[3]
        if ins == 0xCA and p1 == 0x00:  # GET DATA: UID
            return self.uid + SW_OK
        if ins == 0xB0:  # READ BINARY: P2 = page, Le bytes (default 16)
            length = cmd[4] if len(cmd) > 4 and cmd[4] else 16
            start = 4 * (p1 << 8 | p2)
            if start >= len(self.memory):
                return SW_WRONG_P1P2
            return self.memory[start : start + length].ljust(length, b"\x00") + SW_OK
        if ins == 0xD6:  # UPDATE BINARY: P2 = page, Lc bytes, whole pages
            return self._update(p1 << 8 | p2, cmd[5 : 5 + cmd[4]] if len(cmd) > 4 else b"")
        return SW_NOT_SUPPORTED

    @property
    def read_only(self) -> bool:
        """The capability container's write-access byte says no writes (0x0F)."""
        return self.memory[15] != 0x00

    def write_page(self, page: int, data: bytes) -> bool:
        """A Type 2 WRITE of one page (the frame nfcpy sends): True when the tag took it."""
        return self._update(page, data) == SW_OK

    def _update(self, page: int, data: bytes) -> bytes:
        if not data or len(data) % 4 or len(data) > 16:
            return SW_WRONG_LENGTH
        for n in range(len(data) // 4):
            at, chunk = page + n, data[4 * n : 4 * n + 4]
            if at in (2, 3):  # static lock bytes and CC: one-time programmable, bits only set
                old = self.memory[4 * at : 4 * at + 4]
                keep = 2 if at == 2 else 0  # page 2's first two bytes are the serial's end and internal
                new = old[:keep] + bytes(a | b for a, b in zip(old[keep:], chunk[keep:], strict=True))
            elif at in USER_PAGES and not self.read_only:
                new = chunk
            else:
                return SW_FAILED  # the serial number, configuration pages, or a locked tag
            self.memory = self.memory[: 4 * at] + new + self.memory[4 * at + 4 :]
        return SW_OK


class PcscCardSim:
    """One reader slot of vpcd: ``place(tag)`` puts a tag on it, ``lift()`` takes it off."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.apdus = 0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        #: lift the tag by itself after this many APDUs (a customer pulling the item away mid-read)
        self.lift_after_apdus: int | None = None

    def place(self, tag: VirtualNtag, timeout: float = 5.0) -> None:
        self.lift()
        sock = socket.create_connection((self.host, self.port), timeout)
        sock.settimeout(None)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock, tag), daemon=True)
        self._thread.start()

    def lift(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)
        self._thread = None

    @property
    def present(self) -> bool:
        return self._sock is not None

    def _serve(self, sock: socket.socket, tag: VirtualNtag) -> None:
        try:
            while True:
                head = _recv_exact(sock, 2)
                if head is None:
                    return
                (length,) = struct.unpack(">H", head)
                msg = _recv_exact(sock, length)
                if msg is None:
                    return
                if length == 1:
                    if msg[0] == 4:  # get ATR
                        sock.sendall(struct.pack(">H", len(NTAG_ATR)) + NTAG_ATR)
                    continue  # power on/off/reset: no answer
                self.apdus += 1
                if self.lift_after_apdus is not None and self.apdus >= self.lift_after_apdus:
                    self.lift_after_apdus = None
                    self._sock = None
                    sock.close()
                    return
                reply = tag.apdu(msg)
                sock.sendall(struct.pack(">H", len(reply)) + reply)
        except OSError as e:
            log.debug("pcsc sim: %s", e)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf
