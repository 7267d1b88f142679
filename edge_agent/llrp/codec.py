"""LLRP binary codec, sans-I/O: bytes in, typed messages out, and back.

``decode_message``/``encode_message`` handle any message in :mod:`schema`; ``Framer``
splits a TCP byte stream into messages. Decoded bodies are plain dicts keyed by parameter
and field names (bytes fields stay ``bytes``); encoding a decoded body gives back the same
bytes. Malformed input raises :class:`LLRPError` with a stable ``code`` and the byte
``position`` where decoding stopped.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from edge_agent.errors import EdgeError
from edge_agent.llrp.schema import CUSTOM, MESSAGE_TYPES, MESSAGES, PARAMS, VENDOR_PARAMS, Def, Field

HEADER: Final = struct.Struct(">HII")  # rsv(3) version(3) type(10), length, message id
HEADER_SIZE: Final = 10
#: where parameters the schema does not allow at a place are kept (type and raw bytes)
UNKNOWN: Final = "Unknown"
#: sub-parameters that came interleaved (not in the schema's order) keep their order here, so
#: they are written back byte for byte (an AccessCommand's operations run in that order)
ORDER: Final = "_order"
MAX_MESSAGE: Final = 16 * 1024 * 1024
VERSION_1_0_1: Final = 1
VERSION_1_1: Final = 2

_INT: Final = {
    "u8": (1, False),
    "u16": (2, False),
    "u32": (4, False),
    "u64": (8, False),
    "s8": (1, True),
    "s16": (2, True),
    "s32": (4, True),
}
_VEC_ITEM: Final = {"u16v": 2, "u32v": 4}


class LLRPError(EdgeError, ValueError):
    """Bytes that are not valid LLRP: ``code`` (stable), ``message``, byte ``position``."""

    def __init__(self, code: str, message: str, position: int = 0) -> None:
        super().__init__(code, message)
        self.position = position

    def __str__(self) -> str:
        return f"{self.code} at byte {self.position}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "position": self.position}


@dataclass(frozen=True, slots=True)
class Message:
    """One LLRP message: its type name, id and decoded body."""

    type: str
    id: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    version: int = VERSION_1_0_1


@cache
def _kind(kind: str) -> tuple[str, int]:
    """(category, width) of a field kind: bits -> ('bits', n), ints -> ('int', bytes), ..."""
    if kind == "flag":
        return "flag", 1
    if kind.startswith(("bits:", "rsv:")):
        return kind[:4].rstrip(":"), int(kind.split(":")[1])
    if kind in _INT:
        return "int", _INT[kind][0]
    if kind.startswith("bytes:"):
        return "bytes", int(kind[6:])
    return kind, 0


@cache
def tv_size(type_: int) -> int:
    """Body size of a TV parameter."""
    size = 0
    for f in PARAMS[type_].fields:
        cat, width = _kind(f.kind)
        size += width if cat in ("int", "bytes") else width // 8 if cat in ("bits", "rsv", "flag") else 0
    return size


# -- decoding --------------------------------------------------------------------------
def _decode_fields(fields: tuple[Field, ...], buf: bytes, pos: int, end: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    acc = nbits = 0
    for f in fields:
        cat, width = _kind(f.kind)
        if cat in ("flag", "bits", "rsv"):
            while nbits < width:
                if pos >= end:
                    raise LLRPError("truncated", f"field {f.name} runs past its parameter", pos)
                acc = acc << 8 | buf[pos]
                pos += 1
                nbits += 8
            nbits -= width
            value = acc >> nbits
            acc &= (1 << nbits) - 1
            if cat == "flag":
                out[f.name] = bool(value)
            elif cat == "bits":
                out[f.name] = value
            continue
        if cat == "int":
            signed = _INT[f.kind][1]
            if pos + width > end:
                raise LLRPError("truncated", f"field {f.name} runs past its parameter", pos)
            out[f.name] = int.from_bytes(buf[pos : pos + width], "big", signed=signed)
            pos += width
        elif cat == "bytes":
            if pos + width > end:
                raise LLRPError("truncated", f"field {f.name} runs past its parameter", pos)
            out[f.name] = bytes(buf[pos : pos + width])
            pos += width
        elif cat == "rest":
            out[f.name] = bytes(buf[pos:end])
            pos = end
        else:
            if pos + 2 > end:
                raise LLRPError("truncated", f"length of {f.name} runs past its parameter", pos)
            count = int.from_bytes(buf[pos : pos + 2], "big")
            pos += 2
            size = (count + 7) // 8 if cat == "u1v" else count * _VEC_ITEM.get(cat, 1)
            if pos + size > end:
                raise LLRPError("truncated", f"{f.name} ({count} items) runs past its parameter", pos)
            raw = buf[pos : pos + size]
            pos += size
            if cat == "u8v":
                out[f.name] = bytes(raw)
            elif cat == "utf8v":
                try:
                    out[f.name] = bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    raise LLRPError("bad_utf8", f"{f.name} is not UTF-8", pos - size) from None
            elif cat == "u1v":
                out[f.name + "NumBits"] = count
                out[f.name] = bytes(raw)
            else:
                item = _VEC_ITEM[cat]
                out[f.name] = [int.from_bytes(raw[i : i + item], "big") for i in range(0, size, item)]
    return out, pos


def _decode_children(defn: Def, out: dict[str, Any], buf: bytes, pos: int, end: int) -> None:  # noqa: PLR0917  (the codec's recursion, per parameter)
    seen: list[str] = []  # the key of each sub-parameter in the order it came
    _decode_each(defn, out, buf, pos, end, seen)
    if len(seen) > 1:
        rank = _slots(defn)
        if any(rank[a] > rank[b] for a, b in itertools.pairwise(seen)):
            out[ORDER] = seen  # interleaved (an AccessCommand's reads and writes, a vendor's Custom in between)


@cache
def _slots(defn: Def) -> dict[str, int]:
    """Where each sub-parameter key stands in the schema's order (Custom, then unknown, last)."""
    return {s.name: i for i, s in enumerate(defn.subs)} | {"Custom": len(defn.subs), UNKNOWN: len(defn.subs) + 1}


def _decode_each(defn: Def, out: dict[str, Any], buf: bytes, pos: int, end: int, seen: list[str]) -> None:  # noqa: PLR0917  (the codec's recursion, per parameter)
    while pos < end:
        first = buf[pos]
        if first & 0x80:
            type_ = first & 0x7F
            pdef = PARAMS.get(type_)
            if pdef is None or not pdef.tv:
                raise LLRPError("unknown_parameter", f"unknown TV parameter type {type_}", pos)
            nxt = pos + 1 + tv_size(type_)
            if nxt > end:
                raise LLRPError("truncated", f"{pdef.name} runs past {defn.name}", pos)
            value = _decode_param(pdef, buf, pos + 1, nxt)
        else:
            if pos + 4 > end:
                raise LLRPError("truncated", f"parameter header runs past {defn.name}", pos)
            type_ = (first & 0x03) << 8 | buf[pos + 1]
            length = buf[pos + 2] << 8 | buf[pos + 3]
            nxt = pos + length
            if length < 4 or nxt > end:
                raise LLRPError("bad_length", f"parameter type {type_} has length {length}", pos)
            pdef = PARAMS.get(type_)
            allowed = type_ in defn.by_type or (type_ == CUSTOM and defn.custom)
            if pdef is None or pdef.tv or not allowed:
                # a parameter we do not know here (a newer reader, an event we do not use): its
                # length is known, so it is kept as it came and the rest of the message is read
                out.setdefault(UNKNOWN, []).append({"Type": type_, "Data": bytes(buf[pos + 4 : nxt])})
                seen.append(UNKNOWN)
                pos = nxt
                continue
            value = _decode_param(pdef, buf, pos + 4, nxt)
        sub = defn.by_type.get(type_)
        if sub is None:
            if type_ != CUSTOM or not defn.custom:
                raise LLRPError("unexpected_parameter", f"{pdef.name} is not allowed in {defn.name}", pos)
            out.setdefault("Custom", []).append(decode_vendor(value, pos))
            seen.append("Custom")
        elif sub.many:
            out.setdefault(sub.name, []).append(value)
            seen.append(sub.name)
        elif sub.name in out:
            raise LLRPError("duplicate_parameter", f"{pdef.name} twice in {defn.name}", pos)
        else:
            out[sub.name] = value
            seen.append(sub.name)
        pos = nxt


def _decode_param(pdef: Def, buf: bytes, pos: int, end: int) -> Any:
    out, pos = _decode_fields(pdef.fields, buf, pos, end)
    if pdef.tv:
        return next(iter(out.values())) if pdef.flat else out
    _decode_children(pdef, out, buf, pos, end)
    if pdef.flat:
        return out[pdef.fields[0].name]
    return out


def unknown_parameters(value: Any) -> list[int]:
    """The types of every parameter kept as unknown anywhere in a decoded body."""
    found: list[int] = []
    if isinstance(value, dict):
        found += [int(p["Type"]) for p in value.get(UNKNOWN, ())]
        for key, item in value.items():
            if key != UNKNOWN:
                found += unknown_parameters(item)
    elif isinstance(value, list):
        for item in value:
            found += unknown_parameters(item)
    return found


def decode_vendor(custom: dict[str, Any], pos: int = 0) -> dict[str, Any]:
    """A Custom parameter's Data decoded by its vendor's layout, when the schema knows it."""
    vdef = VENDOR_PARAMS.get((custom["VendorID"], custom["Subtype"]))
    if vdef is None:
        return custom
    data = custom["Data"]
    try:
        return {**custom, vdef.name: _decode_param(vdef, data, 0, len(data))}
    except LLRPError as e:
        raise LLRPError(e.code, f"{vdef.name}: {e.message}", pos + 12 + e.position) from None


def decode_body(type_: int, body: bytes) -> dict[str, Any]:
    """The parameters of a message body (no header)."""
    mdef = MESSAGES.get(type_)
    if mdef is None:
        raise LLRPError("unknown_message", f"unknown message type {type_}", 0)
    out, pos = _decode_fields(mdef.fields, body, 0, len(body))
    _decode_children(mdef, out, body, pos, len(body))
    return out


def decode_header(data: bytes) -> tuple[int, int, int, int]:
    """(version, type, length, message id) of the 10-byte header at the start of ``data``."""
    word, length, msg_id = HEADER.unpack_from(data)
    return (word >> 10) & 7, word & 0x3FF, length, msg_id


def decode_message(frame: bytes) -> Message:
    """One whole message (header + body)."""
    if len(frame) < HEADER_SIZE:
        raise LLRPError("truncated", "shorter than the 10-byte message header", len(frame))
    version, type_, length, msg_id = decode_header(frame)
    if length != len(frame):
        raise LLRPError("bad_length", f"header says {length} bytes, frame has {len(frame)}", 2)
    mdef = MESSAGES.get(type_)
    if mdef is None:
        raise LLRPError("unknown_message", f"unknown message type {type_}", 0)
    try:
        body = decode_body(type_, frame[HEADER_SIZE:])
    except LLRPError as e:
        e.position += HEADER_SIZE
        raise
    return Message(mdef.name, msg_id, body, version)


# -- encoding --------------------------------------------------------------------------
def _encode_fields(fields: tuple[Field, ...], value: dict[str, Any], out: bytearray) -> None:
    acc = nbits = 0
    for f in fields:
        cat, width = _kind(f.kind)
        if cat in ("flag", "bits", "rsv"):
            bits = 0 if cat == "rsv" else int(value.get(f.name, 0))
            acc = acc << width | (bits & ((1 << width) - 1))
            nbits += width
            if nbits % 8 == 0:
                out += acc.to_bytes(nbits // 8, "big")
                acc = nbits = 0
            continue
        v: Any = value.get(f.name)
        if cat == "int":
            out += int(v or 0).to_bytes(width, "big", signed=_INT[f.kind][1])
        elif cat == "bytes":
            raw = bytes(v or b"")
            if len(raw) != width:
                raise ValueError(f"{f.name} must be {width} bytes")
            out += raw
        elif cat == "rest":
            out += bytes(v or b"")
        elif cat == "u8v":
            raw = bytes(v or b"")
            out += len(raw).to_bytes(2, "big") + raw
        elif cat == "utf8v":
            raw = (v or "").encode("utf-8")
            out += len(raw).to_bytes(2, "big") + raw
        elif cat == "u1v":
            raw = bytes(v or b"")
            out += int(value.get(f.name + "NumBits", len(raw) * 8)).to_bytes(2, "big") + raw
        else:
            items: list[int] = list(v or [])
            out += len(items).to_bytes(2, "big")
            for item in items:
                out += int(item).to_bytes(_VEC_ITEM[cat], "big")


def _encode_children(defn: Def, value: dict[str, Any], out: bytearray) -> None:
    order = value.get(ORDER)
    if order is not None:  # written back in the order they came
        _encode_in_order(defn, value, order, out)
        return
    for sub in defn.subs:
        v = value.get(sub.name)
        if v is None:
            continue
        for item in v if sub.many else (v,):
            _encode_param(PARAMS[sub.type], item, out)
    if defn.custom:
        for item in value.get("Custom") or ():
            _encode_param(PARAMS[CUSTOM], _vendor_data(item), out)
    for item in value.get(UNKNOWN) or ():  # written back as they came
        out += struct.pack(">HH", item["Type"], 4 + len(item["Data"])) + item["Data"]


def _encode_in_order(defn: Def, value: dict[str, Any], order: list[str], out: bytearray) -> None:
    subs = {s.name: s for s in defn.subs}
    taken: dict[str, int] = {}
    for key in order:
        n = taken[key] = taken.get(key, -1) + 1
        if key == "Custom":
            _encode_param(PARAMS[CUSTOM], _vendor_data(value["Custom"][n]), out)
        elif key == UNKNOWN:
            item = value[UNKNOWN][n]
            out += struct.pack(">HH", item["Type"], 4 + len(item["Data"])) + item["Data"]
        else:
            sub = subs[key]
            _encode_param(PARAMS[sub.type], value[key][n] if sub.many else value[key], out)


def _vendor_data(custom: dict[str, Any]) -> dict[str, Any]:
    """A Custom parameter given by its vendor layout (no raw ``Data``) gets its Data encoded."""
    if "Data" in custom:
        return custom
    vdef = VENDOR_PARAMS[custom["VendorID"], custom["Subtype"]]
    data = bytearray()
    value = custom[vdef.name]
    _encode_fields(vdef.fields, {vdef.fields[0].name: value} if vdef.flat else value, data)
    if not vdef.flat:
        _encode_children(vdef, value, data)
    return {**custom, "Data": bytes(data)}


def encode_vendor(name: str, value: Any) -> bytes:
    """The Custom parameter (header included) of the vendor parameter ``name`` holding ``value``."""
    (pen, subtype), vdef = next((k, d) for k, d in VENDOR_PARAMS.items() if d.name == name)
    out = bytearray()
    _encode_param(PARAMS[CUSTOM], _vendor_data({"VendorID": pen, "Subtype": subtype, vdef.name: value}), out)
    return bytes(out)


def _encode_param(pdef: Def, value: Any, out: bytearray) -> None:
    if pdef.flat:
        value = {pdef.fields[0].name: value}
    if pdef.tv:
        out.append(0x80 | pdef.type)
        _encode_fields(pdef.fields, value, out)
        return
    start = len(out)
    out += b"\0\0\0\0"
    _encode_fields(pdef.fields, value, out)
    _encode_children(pdef, value, out)
    struct.pack_into(">HH", out, start, pdef.type, len(out) - start)


def encode_parameter(name: str, value: Any) -> bytes:
    """One standard parameter (header included) by its name, e.g. an LLRPStatus for a vendor's
    custom response."""
    pdef = next(d for d in PARAMS.values() if d.name == name)
    out = bytearray()
    _encode_param(pdef, value, out)
    return bytes(out)


def encode_body(type_: int, body: dict[str, Any]) -> bytes:
    mdef = MESSAGES[type_]
    out = bytearray()
    _encode_fields(mdef.fields, body, out)
    _encode_children(mdef, body, out)
    return bytes(out)


def encode_frame(type_: int, msg_id: int, body: bytes, version: int = 1) -> bytes:
    """Header + an already encoded body (the tag-report hot path encodes its own bodies)."""
    return HEADER.pack(version << 10 | type_, HEADER_SIZE + len(body), msg_id) + body


def encode_message(message: Message) -> bytes:
    """Header + body. Unknown type names raise KeyError (a programming error)."""
    type_ = MESSAGE_TYPES[message.type]
    body = encode_body(type_, message.body)
    header = HEADER.pack(message.version << 10 | type_, HEADER_SIZE + len(body), message.id)
    return header + body


# -- framing ---------------------------------------------------------------------------
class Framer:
    """Splits a byte stream into whole LLRP frames (header included)."""

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self._buf = bytearray()
        self._max = max_message

    def feed(self, data: bytes) -> None:
        self._buf += data

    def frames(self) -> Iterator[bytes]:
        buf = self._buf
        start = 0
        try:
            while len(buf) - start >= HEADER_SIZE:
                length = int.from_bytes(buf[start + 2 : start + 6], "big")
                if length < HEADER_SIZE or length > self._max:
                    raise LLRPError("bad_length", f"message length {length} is impossible", start + 2)
                if len(buf) - start < length:
                    break
                yield bytes(buf[start : start + length])
                start += length
        finally:
            del buf[:start]

    @property
    def pending(self) -> int:
        return len(self._buf)
