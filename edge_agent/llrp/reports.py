"""RO_ACCESS_REPORT tag reports: the hot path, decoded and encoded without the generic codec.

A reader sends hundreds of these a second; this module walks TagReportData parameters
directly (same results as :func:`edge_agent.llrp.codec.decode_body`, property-tested) and
builds them for the simulated reader.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Final

from edge_agent.llrp.codec import LLRPError, decode_vendor, encode_frame, encode_vendor, tv_size
from edge_agent.llrp.schema import CUSTOM, MESSAGE_TYPES, VENDOR_PARAMS

RO_ACCESS_REPORT: Final = MESSAGE_TYPES["RO_ACCESS_REPORT"]
TAG_REPORT_DATA: Final = 240
EPC_DATA: Final = 241
READ_RESULT: Final = 349
#: the other C1G2 OpSpecResults: Write 350, Kill 351, Lock 352, BlockErase 353, BlockWrite 354
#: (Write and BlockWrite also carry NumWordsWritten)
OP_RESULTS: Final = frozenset({350, 351, 352, 353, 354})
_WORDS_WRITTEN: Final = frozenset({350, 354})
_U64: Final = struct.Struct(">Q")
_U32: Final = struct.Struct(">I")


class TagReport:
    """One TagReportData: the EPC and whatever the report selector enabled."""

    __slots__ = (
        "access_spec_id",
        "antenna",
        "channel",
        "crc",
        "epc",
        "extensions",
        "first_seen_us",
        "inventory_spec_id",
        "last_seen_us",
        "pc",
        "peak_rssi",
        "reads",
        "results",
        "rospec_id",
        "seen_count",
        "spec_index",
    )

    def __init__(  # noqa: PLR0913, PLR0917  (built per tag on the report hot path)
        self,
        epc: bytes,
        antenna: int | None = None,
        peak_rssi: int | None = None,
        first_seen_us: int | None = None,
        last_seen_us: int | None = None,
        seen_count: int | None = None,
        rospec_id: int | None = None,
        channel: int | None = None,
        pc: int | None = None,
        crc: int | None = None,
        access_spec_id: int | None = None,
        reads: tuple[tuple[int, int, bytes], ...] = (),
        extensions: tuple[tuple[str, object], ...] = (),
        results: tuple[tuple[int, int, int, int | None], ...] = (),
    ) -> None:
        self.epc = epc
        self.antenna = antenna
        self.peak_rssi = peak_rssi
        self.first_seen_us = first_seen_us
        self.last_seen_us = last_seen_us
        self.seen_count = seen_count
        self.rospec_id = rospec_id
        self.channel = channel
        self.pc = pc
        self.crc = crc
        self.access_spec_id = access_spec_id
        #: C1G2 read results: (OpSpecID, result code, data bytes); result 0 = success
        self.reads = reads
        #: vendor parameters the schema knows (``VENDOR_PARAMS``): (name, value), e.g. ImpinjPeakRSSI
        self.extensions = extensions
        #: other C1G2 OpSpecResults: (parameter type, result code, OpSpecID, words written or None)
        self.results = results
        #: the AISpec's index in its ROSpec and the InventoryParameterSpecID, when selected
        self.spec_index: int | None = None
        self.inventory_spec_id: int | None = None

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, s) for s in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TagReport) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"TagReport(epc={self.epc.hex()}, antenna={self.antenna}, peak_rssi={self.peak_rssi})"

    def to_dict(self) -> dict[str, object]:
        """The CLI/JSON shape: hex EPC and the fields a field engineer looks at."""
        out: dict[str, object] = {
            "epc": self.epc.hex().upper(),
            "antenna": self.antenna,
            "peak_rssi": self.peak_rssi,
            "first_seen_us": self.first_seen_us,
            "seen_count": self.seen_count,
        }
        if self.last_seen_us is not None:
            out["last_seen_us"] = self.last_seen_us
        if self.reads:
            out["reads"] = [{"op_spec_id": o, "result": r, "data": d.hex().upper()} for o, r, d in self.reads]
        if self.results:
            out["results"] = [
                {"type": t, "result": r, "op_spec_id": o, "words_written": w} for t, r, o, w in self.results
            ]
        if self.extensions:
            out["extensions"] = dict(self.extensions)
        return out


def decode_tag_reports(body: bytes) -> list[TagReport]:
    """The tag reports of an RO_ACCESS_REPORT body (message header excluded)."""
    out: list[TagReport] = []
    pos, n = 0, len(body)
    while pos < n:
        if pos + 4 > n or body[pos] & 0x80:
            raise LLRPError("truncated" if pos + 4 > n else "unexpected_parameter", "expected TagReportData", pos)
        ptype = (body[pos] & 3) << 8 | body[pos + 1]
        end = pos + (body[pos + 2] << 8 | body[pos + 3])
        if end > n or end < pos + 4:
            raise LLRPError("bad_length", f"parameter {ptype} runs past the message", pos)
        if ptype != TAG_REPORT_DATA:  # RFSurveyReportData, Custom, anything newer: not ours, skipped whole
            pos = end
            continue
        out.append(_tag_report(body, pos + 4, end))
        pos = end
    return out


def _tv_sizes() -> tuple[int, ...]:
    sizes = []
    for t in range(128):
        try:
            sizes.append(tv_size(t))
        except KeyError:
            sizes.append(-1)
    return tuple(sizes)


_TV_SIZE: Final = _tv_sizes()


def _tag_report(b: bytes, p: int, end: int) -> TagReport:
    epc = b""
    antenna = rssi = first = last = count = rospec = channel = pc = crc = access = None
    reads: list[tuple[int, int, bytes]] = []
    results: list[tuple[int, int, int, int | None]] = []
    extensions: list[tuple[str, object]] = []
    while p < end:
        t = b[p]
        if t & 0x80:
            size = _TV_SIZE[t & 0x7F]
            if size < 0:
                raise LLRPError("unknown_parameter", f"unknown TV parameter type {t & 0x7F}", p)
            if p + 1 + size > end:
                raise LLRPError("truncated", "a TV parameter runs past TagReportData", p)
        if t == 0x8D:  # EPC-96
            epc = b[p + 1 : p + 13]
            p += 13
        elif t == 0x81:  # AntennaID
            antenna = b[p + 1] << 8 | b[p + 2]
            p += 3
        elif t == 0x86:  # PeakRSSI, signed
            rssi = b[p + 1] - 256 if b[p + 1] > 127 else b[p + 1]
            p += 2
        elif t == 0x82:  # FirstSeenTimestampUTC
            first = _U64.unpack_from(b, p + 1)[0]
            p += 9
        elif t == 0x88:  # TagSeenCount
            count = b[p + 1] << 8 | b[p + 2]
            p += 3
        elif t == 0x84:
            last = _U64.unpack_from(b, p + 1)[0]
            p += 9
        elif t == 0x89:
            rospec = _U32.unpack_from(b, p + 1)[0]
            p += 5
        elif t == 0x87:
            channel = b[p + 1] << 8 | b[p + 2]
            p += 3
        elif t == 0x8C:
            pc = b[p + 1] << 8 | b[p + 2]
            p += 3
        elif t == 0x8B:
            crc = b[p + 1] << 8 | b[p + 2]
            p += 3
        elif t == 0x90:
            access = _U32.unpack_from(b, p + 1)[0]
            p += 5
        elif t & 0x80:  # another TV parameter: known size, not kept
            p += 1 + _TV_SIZE[t & 0x7F]
        else:
            if p + 4 > end:
                raise LLRPError("truncated", "parameter header runs past TagReportData", p)
            ptype = (t & 3) << 8 | b[p + 1]
            nxt = p + (b[p + 2] << 8 | b[p + 3])
            if nxt > end or nxt < p + 4:
                raise LLRPError("bad_length", f"parameter {ptype} runs past TagReportData", p)
            if ptype == EPC_DATA:
                bits = b[p + 4] << 8 | b[p + 5] if nxt >= p + 6 else -1
                if bits < 0 or p + 6 + (bits + 7) // 8 > nxt:
                    raise LLRPError("truncated", "EPCData shorter than its bit count", p)
                epc = b[p + 6 : p + 6 + (bits + 7) // 8]
            elif ptype == READ_RESULT:
                words = b[p + 7] << 8 | b[p + 8] if nxt >= p + 9 else -1
                if words < 0 or p + 9 + 2 * words > nxt:
                    raise LLRPError("truncated", "C1G2ReadOpSpecResult shorter than its word count", p)
                reads.append((b[p + 5] << 8 | b[p + 6], b[p + 4], b[p + 9 : p + 9 + 2 * words]))
            elif ptype in OP_RESULTS:
                if nxt < p + (9 if ptype in _WORDS_WRITTEN else 7):
                    raise LLRPError("truncated", f"OpSpecResult {ptype} shorter than its fields", p)
                written = b[p + 7] << 8 | b[p + 8] if ptype in _WORDS_WRITTEN else None
                results.append((ptype, b[p + 4], b[p + 5] << 8 | b[p + 6], written))
            elif ptype == CUSTOM and nxt >= p + 12:
                key = (_U32.unpack_from(b, p + 4)[0], _U32.unpack_from(b, p + 8)[0])
                vdef = VENDOR_PARAMS.get(key)
                if vdef is not None:  # a vendor parameter we know; others are kept by nobody
                    custom = {"VendorID": key[0], "Subtype": key[1], "Data": bytes(b[p + 12 : nxt])}
                    extensions.append((vdef.name, decode_vendor(custom, p)[vdef.name]))
            p = nxt
    return TagReport(
        epc,
        antenna,
        rssi,
        first,
        last,
        count,
        rospec,
        channel,
        pc,
        crc,
        access,
        tuple(reads),
        tuple(extensions),
        tuple(results),
    )


def encode_tag_reports(reports: Iterable[TagReport]) -> bytes:
    """RO_ACCESS_REPORT body for these reports (EPC-96 when the EPC is 12 bytes)."""
    out = bytearray()
    for r in reports:
        start = len(out)
        out += b"\x00\xf0\x00\x00"
        if len(r.epc) == 12:
            out += b"\x8d" + r.epc
        else:
            out += struct.pack(">HHH", EPC_DATA, 6 + len(r.epc), len(r.epc) * 8) + r.epc
        if r.rospec_id is not None:
            out += b"\x89" + _U32.pack(r.rospec_id)
        if r.spec_index is not None:
            out += struct.pack(">BH", 0x8E, r.spec_index)
        if r.inventory_spec_id is not None:
            out += struct.pack(">BH", 0x8A, r.inventory_spec_id)
        if r.antenna is not None:
            out += struct.pack(">BH", 0x81, r.antenna)
        if r.peak_rssi is not None:
            out += struct.pack(">Bb", 0x86, r.peak_rssi)
        if r.channel is not None:
            out += struct.pack(">BH", 0x87, r.channel)
        if r.first_seen_us is not None:
            out += b"\x82" + _U64.pack(r.first_seen_us)
        if r.last_seen_us is not None:
            out += b"\x84" + _U64.pack(r.last_seen_us)
        if r.seen_count is not None:
            out += struct.pack(">BH", 0x88, r.seen_count)
        if r.pc is not None:
            out += struct.pack(">BH", 0x8C, r.pc)
        if r.crc is not None:
            out += struct.pack(">BH", 0x8B, r.crc)
        if r.access_spec_id is not None:
            out += b"\x90" + _U32.pack(r.access_spec_id)
        for op_spec, result, data in r.reads:
            out += struct.pack(">HHBHH", READ_RESULT, 9 + len(data), result, op_spec, len(data) // 2) + data
        for ptype, result, op_spec, written in r.results:
            if ptype in _WORDS_WRITTEN:
                out += struct.pack(">HHBHH", ptype, 9, result, op_spec, written or 0)
            else:
                out += struct.pack(">HHBH", ptype, 7, result, op_spec)
        for name, value in r.extensions:
            out += encode_vendor(name, value)
        struct.pack_into(">H", out, start + 2, len(out) - start)
    return bytes(out)


def encode_report_message(msg_id: int, reports: Iterable[TagReport]) -> bytes:
    """A whole RO_ACCESS_REPORT message (header included) for these reports."""
    return encode_frame(RO_ACCESS_REPORT, msg_id, encode_tag_reports(reports))
