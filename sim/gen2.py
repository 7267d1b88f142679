"""A Gen2 tag's memory and the access operations an LLRP AccessSpec runs on it, pure.

The memory map is EPC Gen2's: bank 0 (reserved) the kill and access passwords, bank 1 the
StoredCRC, the PC word and the EPC (so the EPC starts at word 2, where a Gen2 client reads
it), bank 2 the TID (permalocked, as chips ship), bank 3 the User memory. An AccessSpec's
operations (C1G2Read, Write, BlockWrite, Lock, Kill) run in the order their types are listed
on a tag its C1G2TagSpec targets, and each gives the OpSpecResult code LLRP 1.0.1 defines
(§16.3.1.5). The simulated reader reports them with the tag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

RESERVED, EPC_BANK, TID_BANK, USER_BANK = 0, 1, 2, 3
# OpSpecResult parameter types
READ, WRITE, KILL, LOCK, BLOCK_WRITE = 349, 350, 351, 352, 354
# C1G2ReadOpSpecResult codes
READ_OK, READ_OVERRUN, READ_LOCKED = 0, 4, 5
# C1G2WriteOpSpecResult / C1G2BlockWriteOpSpecResult codes
WRITE_OK, WRITE_OVERRUN, WRITE_LOCKED, WRITE_TAG_ERROR = 0, 1, 2, 4
# C1G2KillOpSpecResult codes
KILL_OK, KILL_ZERO_PASSWORD, KILL_WRONG_PASSWORD = 0, 1, 6
# C1G2LockOpSpecResult codes
LOCK_OK, LOCK_WRONG_PASSWORD, LOCK_LOCKED = 0, 5, 7
# C1G2LockPayload Privilege: lock (writes need the access password), permalock, permaunlock, unlock
LOCKED, PERMALOCKED, PERMAUNLOCKED, UNLOCKED = 0, 1, 2, 3
#: C1G2LockPayload DataField -> the bank it locks (0, 1: the passwords in bank 0)
LOCK_FIELDS: Final = {0: RESERVED, 1: RESERVED, 2: EPC_BANK, 3: TID_BANK, 4: USER_BANK}


def crc16(data: bytes) -> int:
    """The Gen2 CRC-16 (ISO/IEC 13239: polynomial 0x1021, preset 0xFFFF, ones' complement)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc ^ 0xFFFF


def pc_word(epc: bytes) -> int:
    """The Protocol-Control word: the EPC's length in words, in its top five bits."""
    return (len(epc) // 2) << 11


def epc_bank(epc: bytes) -> bytes:
    body = pc_word(epc).to_bytes(2, "big") + epc
    return crc16(body).to_bytes(2, "big") + body


@dataclass
class Memory:
    """What a tag holds besides its RF: passwords, TID, User memory, locks, and whether it was killed."""

    tid: bytes = b""
    user: bytes = b""
    kill_password: int = 0
    access_password: int = 0
    #: locked banks: 0 writable only with the access password (with a zero password, as any
    #: Gen2 tag, it is in the secured state at once), 1 permalocked (never); the TID ships permalocked
    locked: dict[int, int] = field(default_factory=lambda: {TID_BANK: PERMALOCKED})
    killed: bool = False

    def bank(self, epc: bytes, number: int) -> bytes:
        if number == RESERVED:
            return self.kill_password.to_bytes(4, "big") + self.access_password.to_bytes(4, "big")
        if number == EPC_BANK:
            return epc_bank(epc)
        return self.tid if number == TID_BANK else self.user


def _bits(data: bytes, start: int, count: int) -> int:
    value = int.from_bytes(data, "big") if data else 0
    total = 8 * len(data)
    if start + count > total:
        return -1
    return (value >> (total - start - count)) & ((1 << count) - 1)


def targets(epc: bytes, memory: Memory, tag_spec: Mapping[str, Any] | None) -> bool:
    """The C1G2TagSpec's target tags all match this tag (no TagSpec: any tag)."""
    for target in (tag_spec or {}).get("TargetTags", []):
        count = int(target.get("TagMaskNumBits", 8 * len(target.get("TagMask", b""))))
        if not count:
            continue
        bank = memory.bank(epc, int(target.get("MB", 0)))
        have = _bits(bank, int(target.get("Pointer", 0)), count)
        mask = _bits(bytes(target.get("TagMask", b"")), 0, count)
        want = _bits(bytes(target.get("TagData", b"")), 0, count)
        equal = have >= 0 and (have & mask) == (want & mask)
        if equal != bool(target.get("Match", True)):
            return False
    return True


@dataclass
class Outcome:
    """What one AccessSpec did to one tag: read results, other results, and the EPC after it."""

    reads: list[tuple[int, int, bytes]] = field(default_factory=list)
    results: list[tuple[int, int, int, int | None]] = field(default_factory=list)
    epc: bytes = b""


def _words(data: Any) -> bytes:
    """WriteData as the codec gives it (a list of 16-bit words, or bytes)."""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    return b"".join(int(w).to_bytes(2, "big") for w in data)


def _write(epc: bytes, memory: Memory, op: Mapping[str, Any]) -> tuple[int, int, bytes]:
    """(result, words written, the EPC after it) of one Write or BlockWrite."""
    number, data = int(op["MB"]), _words(op.get("WriteData", b""))
    pointer = int(op.get("WordPointer", op.get("WordPtr", 0)))
    lock = memory.locked.get(number)
    if lock == PERMALOCKED or (lock == LOCKED and op.get("AccessPassword", 0) != memory.access_password):
        return WRITE_LOCKED, 0, epc
    if number == EPC_BANK:  # StoredCRC is the tag's to compute; the EPC's length stays the chip's
        if pointer < 2 or 2 * (pointer - 2) + len(data) > len(epc):
            return WRITE_OVERRUN, 0, epc
        start = 2 * (pointer - 2)
        return WRITE_OK, len(data) // 2, epc[:start] + data + epc[start + len(data) :]
    current = memory.bank(epc, number)
    start = 2 * pointer
    if start + len(data) > len(current):
        return WRITE_OVERRUN, 0, epc
    new = current[:start] + data + current[start + len(data) :]
    if number == RESERVED:
        memory.kill_password, memory.access_password = int.from_bytes(new[:4], "big"), int.from_bytes(new[4:], "big")
    elif number == USER_BANK:
        memory.user = new
    else:
        memory.tid = new
    return WRITE_OK, len(data) // 2, epc


def run(epc: bytes, memory: Memory, command: Mapping[str, Any]) -> Outcome:
    """Run an AccessCommand's operations on a tag it targets."""
    out = Outcome(epc=epc)
    for op in command.get("C1G2Read", []):
        bank = memory.bank(out.epc, int(op["MB"]))
        start, count = 2 * int(op["WordPtr"]), 2 * int(op["WordCount"])
        if count == 0:  # LLRP: a WordCount of 0 reads the whole bank from WordPtr
            count = max(0, len(bank) - start)
        data = bank[start : start + count]
        ok = len(data) == count and count > 0
        out.reads.append((int(op["OpSpecID"]), READ_OK if ok else READ_OVERRUN, data if ok else b""))
    for kind, ptype in (("C1G2Write", WRITE), ("C1G2BlockWrite", BLOCK_WRITE)):
        for op in command.get(kind, []):
            result, written, out.epc = _write(out.epc, memory, op)
            out.results.append((ptype, result, int(op["OpSpecID"]), written))
    for op in command.get("C1G2Lock", []):
        if memory.access_password and op.get("AccessPassword") != memory.access_password:
            out.results.append((LOCK, LOCK_WRONG_PASSWORD, int(op["OpSpecID"]), None))
            continue
        result = LOCK_OK
        for payload in _payloads(op):
            field_bank = LOCK_FIELDS.get(int(payload.get("DataField", -1)))
            if field_bank is None:
                continue
            if memory.locked.get(field_bank) == PERMALOCKED:
                result = LOCK_LOCKED  # a permalock is for ever
                continue
            privilege = int(payload.get("Privilege", LOCKED))
            if privilege in (PERMAUNLOCKED, UNLOCKED):
                memory.locked.pop(field_bank, None)
            else:
                memory.locked[field_bank] = privilege
        out.results.append((LOCK, result, int(op["OpSpecID"]), None))
    for op in command.get("C1G2Kill", []):
        if not memory.kill_password:
            result = KILL_ZERO_PASSWORD  # Gen2: a tag with a zero kill password cannot be killed
        elif op.get("KillPassword") != memory.kill_password:
            result = KILL_WRONG_PASSWORD
        else:
            result, memory.killed = KILL_OK, True
        out.results.append((KILL, result, int(op["OpSpecID"]), None))
    return out


def _payloads(op: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    payloads = op.get("LockPayloads", op.get("C1G2LockPayload", []))
    return payloads if isinstance(payloads, list) else [payloads]


def selected(tag: Any, filters: Sequence[Mapping[str, Any]]) -> bool:
    """The tag takes part in an inventory with these C1G2Filter TagInventoryMasks: each mask's
    bits equal the tag's memory at its bank and bit pointer (the Select command's default action:
    matching tags in, the others out)."""
    for mask in filters:
        count = int(mask.get("TagMaskNumBits", 8 * len(mask.get("TagMask", b""))))
        if not count:
            continue
        bank = tag.memory(int(mask.get("MB", 1)))
        if _bits(bank, int(mask.get("Pointer", 0)), count) != _bits(bytes(mask.get("TagMask", b"")), 0, count):
            return False
    return True
