"""LLRP decoding, sans-I/O: a message's bytes to its body, a plain dict keyed by parameter and
field names (bytes fields stay ``bytes``). Malformed input raises ``LLRPError`` with the byte
position where decoding stopped."""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from edge_agent.llrp.fields import (
    _INT,
    _VEC_ITEM,
    HEADER,
    HEADER_SIZE,
    ORDER,
    UNKNOWN,
    LLRPError,
    Message,
    _kind,
    tv_size,
)
from edge_agent.llrp.schema import CUSTOM, MESSAGES, PARAMS, VENDOR_PARAMS, Def, Field


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
