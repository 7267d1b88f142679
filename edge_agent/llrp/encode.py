"""LLRP encoding, sans-I/O: a body (as ``decode.py`` gives it) back to its bytes, byte for byte."""

from __future__ import annotations

import struct
from typing import Any

from edge_agent.llrp.fields import (
    _INT,
    _VEC_ITEM,
    HEADER,
    HEADER_SIZE,
    ORDER,
    UNKNOWN,
    Message,
    _kind,
)
from edge_agent.llrp.schema import CUSTOM, MESSAGE_TYPES, MESSAGES, PARAMS, VENDOR_PARAMS, Def, Field


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
