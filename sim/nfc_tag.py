"""NFC tags and phones over nfcpy's UDP frontend (``udp:host:port``).

``NfcTagSim`` is an item's tag coming into a reader's field (``place``) and leaving it
(``lift``), on the UDP port the reader polls. It can be an NFC Forum Type 3 tag (nfcpy's
own card emulation), a Type 2 tag (NTAG215, answering READ and GET_VERSION frames) or a
Type 4 tag (ISO-DEP, answering the NDEF application's SELECT and READ BINARY APDUs); the
last two are emulated frame by frame on nfcpy's ``listen``/``exchange``.
``phone_tap`` is a customer's phone reading whatever tag the kiosk presents on a port.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import nfc
import nfc.clf

from drivers.kiosk_tag import emulate_type3
from edge_agent.codes.ndef import build_message, text_record, uri_record
from sim.pcsc_card import VirtualNtag

NTAG215_VERSION: Final = bytes.fromhex("0004040201001103")
ACK, NAK = b"\x0a", b"\x00"  # a Type 2 tag's 4-bit answers to a WRITE
#: a FeliCa Lite-S (RC-S966): IC code 0xF1 in the PMm's second byte, as Sony lists it; the
#: bytes after it are the response times a reader allows, here a slow tag's (up to ~0.3 s a
#: read), since this one answers over UDP from Python on a loaded machine
LITE_S_PMM: Final = bytes.fromhex("00F14B024FFFFFFF")
LITE_S_USER_BLOCKS: Final = 14
T4T_APP: Final = bytes.fromhex("D2760000850101")
T4T_CC_FILE, T4T_NDEF_FILE = b"\xe1\x03", b"\xe1\x04"
ATS: Final = bytes.fromhex("0578807002")  # FSCI 8 (256 bytes), TA/TB/TC present
SW_OK, SW_NOT_FOUND, SW_BAD_INS = b"\x90\x00", b"\x6a\x82", b"\x6d\x00"


class Type4Card:
    """The NDEF application of an NFC Forum Type 4 tag (T4T 2.0), answering APDUs."""

    def __init__(self, message: bytes) -> None:
        self.ndef_file = len(message).to_bytes(2, "big") + message
        # CC: length 15, mapping 2.0, MLe/MLc 255, NDEF file control TLV (E104, 2 KiB, read-only)
        self.cc_file = bytes.fromhex("000F2000FF00FF0406E1040800" + "00FF")
        self.selected: bytes | None = None

    def apdu(self, cmd: bytes) -> bytes:
        if len(cmd) < 4:
            return SW_BAD_INS
        ins, p1, p2 = cmd[1], cmd[2], cmd[3]
        if ins == 0xA4:  # SELECT
            data = cmd[5 : 5 + cmd[4]] if len(cmd) > 5 else b""
            if p1 == 0x04 and data == T4T_APP:
                self.selected = b"app"
                return SW_OK
            if p1 == 0x00 and data in (T4T_CC_FILE, T4T_NDEF_FILE) and self.selected is not None:
                self.selected = data
                return SW_OK
            return SW_NOT_FOUND
        if ins == 0xB0:  # READ BINARY
            files = {T4T_CC_FILE: self.cc_file, T4T_NDEF_FILE: self.ndef_file}
            file = files.get(self.selected or b"")
            if file is None:
                return SW_NOT_FOUND
            offset, length = p1 << 8 | p2, cmd[4] if len(cmd) > 4 else 0
            return file[offset : offset + (length or 256)] + SW_OK
        return SW_BAD_INS


def _type2_answer(tag: VirtualNtag) -> Callable[[bytes], bytes | None]:
    def answer(cmd: bytes) -> bytes | None:
        if cmd[0] == 0x30 and len(cmd) >= 2:  # READ: 4 pages
            memory = tag.memory + tag.memory  # READ wraps around at the end of memory
            return memory[4 * cmd[1] : 4 * cmd[1] + 16]
        if cmd[0] == 0xA2 and len(cmd) == 6:  # WRITE: one page, as the tag allows (sim/pcsc_card.py)
            return ACK if tag.write_page(cmd[1], cmd[2:6]) else NAK
        if cmd[0] == 0x60:  # GET_VERSION
            return NTAG215_VERSION
        return NAK

    return answer


def _type4_answer(card: Type4Card) -> Callable[[bytes], bytes | None]:
    def answer(frame: bytes) -> bytes | None:
        if frame[0] == 0xE0:  # RATS
            return ATS
        if frame[0] & 0xE2 == 0x02:  # I-block: echo PCB, carry the APDU
            return frame[:1] + card.apdu(frame[1:])
        if frame[0] & 0xF7 == 0xC2:  # S(DESELECT)
            return frame[:1]
        if frame[0] & 0xE6 == 0xA2:  # R(ACK/NAK): nothing pending, acknowledge
            return bytes([0xA2 | (frame[0] & 1)])
        return None

    return answer


def _emulate_type_a(
    path: str, uid: bytes, *, sel_res: int, answer: Callable[[bytes], bytes | None], halt: threading.Event
) -> None:
    clf = nfc.ContactlessFrontend(path)
    try:
        while not halt.is_set():
            target = nfc.clf.LocalTarget("106A")
            target.sens_res = bytearray.fromhex("4400")
            target.sdd_res = bytearray(uid)
            target.sel_res = bytearray([sel_res])
            activated = clf.listen(target, 0.5)
            if activated is None:
                continue
            cmd = activated.tt4_cmd if sel_res & 0x20 else activated.tt2_cmd
            while cmd is not None and not halt.is_set():
                rsp = answer(bytes(cmd))
                if rsp is None:
                    break
                try:
                    cmd = clf.exchange(bytearray(rsp), 1.0)
                except nfc.clf.CommunicationError:
                    break
    finally:
        clf.close()


class NfcTagSim:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.path = f"udp:{host}:{port}"
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0

    def place(self, *, uri: str | None = None, text: str | None = None, tag_type: int = 3) -> bytes:
        """Bring a tag into the field; returns its UID/IDm (each tag has its own)."""
        self.lift()
        self._count += 1
        message = build_message([uri_record(uri) if uri is not None else text_record(text or "")])
        self._halt = threading.Event()
        target: Callable[..., None]
        args: tuple[Any, ...]
        if tag_type == 3:
            uid = bytes.fromhex("02FE") + self._count.to_bytes(6, "big")
            if len(message) > 16 * (LITE_S_USER_BLOCKS - 1):
                raise ValueError("an NDEF message this long does not fit a FeliCa Lite-S")
            system = functools.partial(_lite_s_system_block, uid)
            target = functools.partial(emulate_type3, pmm=LITE_S_PMM, system=system)
            args = (self.path, lambda: message, self._halt, uid)
        elif tag_type == 2:
            uid = bytes.fromhex("04") + self._count.to_bytes(6, "big")
            answer = _type2_answer(VirtualNtag(uid, message))
            target = functools.partial(_emulate_type_a, self.path, uid, sel_res=0x00, answer=answer, halt=self._halt)
            args = ()
        elif tag_type == 4:
            uid = bytes.fromhex("08") + self._count.to_bytes(3, "big")
            answer = _type4_answer(Type4Card(message))
            target = functools.partial(_emulate_type_a, self.path, uid, sel_res=0x20, answer=answer, halt=self._halt)
            args = ()
        else:
            raise ValueError("tag_type is 2, 3 or 4")
        self._thread = threading.Thread(target=target, args=args, daemon=True)
        self._thread.start()
        return uid

    def lift(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


def _lite_s_system_block(idm: bytes, block: int) -> bytes | None:
    """A FeliCa Lite-S's blocks past the NDEF data, as a reader reads them (service 0x000B):
    the unused user blocks and the registers (zeros), the ID with its data format code, the IDm
    and PMm, the service and system codes, the memory configuration (NDEF supported), the write
    counter and state; the write-only challenge, MAC and card key read as zeros."""
    if block <= LITE_S_USER_BLOCKS:  # user blocks 0-13, REG 14
        return bytes(16)
    blocks = {
        0x80: bytes(16),  # RC: write-only
        0x81: bytes(16),  # MAC
        0x82: idm + bytes(8),  # ID: IDd and DFC
        0x83: idm + LITE_S_PMM,  # D_ID
        0x84: b"\x0b\x00" + bytes(14),  # SER_C: 0x000B, little endian
        0x85: b"\xfc\x12" + bytes(14),  # SYS_C: 0x12FC (NDEF)
        0x86: bytes(16),  # CKV
        0x87: bytes(16),  # CK: write-only
        0x88: bytes([0xFF, 0xFF, 0xFF, 0x01]) + bytes(12),  # MC: MC_SP, MC_SYS_OP = 1 (NDEF)
        0x90: bytes(16),  # WCNT
        0x91: bytes(16),  # MAC_A
        0x92: bytes(16),  # STATE
    }
    return blocks.get(block)


def phone_tap(path: str, timeout: float = 5.0) -> bytes | None:
    """What a phone reads from the tag presented on ``path``: NDEF bytes, b"" for a tag with no
    NDEF message, or None for no tag. A read that comes back without the message (the exchange
    cut short, as on a loaded machine) is tapped again until ``timeout``, as a phone does."""
    clf = nfc.ContactlessFrontend(path)
    found: list[bytes] = []
    empty: list[bool] = []

    def on_connect(tag: Any) -> bool:
        if tag.ndef is not None and tag.ndef.octets:
            found.append(bytes(tag.ndef.octets))
        else:
            empty.append(True)
        return False

    deadline = time.monotonic() + timeout
    try:
        while not found and time.monotonic() < deadline:
            clf.connect(
                rdwr={"on-connect": on_connect, "targets": ["212F"]}, terminate=lambda: time.monotonic() > deadline
            )
    finally:
        clf.close()
    return found[0] if found else (b"" if empty else None)
