"""Every LLRP 1.0.1/1.1 message and parameter in the schema round-trips byte for byte, from
values built out of the schema itself (fields of every kind, optional and repeated
sub-parameters, vendor Custom parameters where the standard allows them). A golden frame of each
message type (tests/data/vectors/llrp/every-type.json, generated with a fixed seed) keeps the
encoding from drifting; ``python -m tests.unit.test_llrp_every_type --write`` writes it again after a
deliberate schema change."""

from __future__ import annotations

import json
import random
import sys
from typing import Any

import pytest

from edge_agent.llrp.codec import Message, decode_message, encode_message
from edge_agent.llrp.decode import _decode_param
from edge_agent.llrp.encode import _encode_param
from edge_agent.llrp.fields import _kind
from edge_agent.llrp.schema import CUSTOM, MESSAGES, PARAMS, VENDOR_PARAMS, Def
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "data" / "vectors" / "llrp" / "every-type.json"


def field_value(kind: str, rng: random.Random) -> tuple[Any, dict[str, Any]]:
    """A valid value of one field kind, and any companion field (a bit count)."""
    cat, width = _kind(kind)
    if cat == "flag":
        return rng.random() < 0.5, {}
    if cat == "bits":
        return rng.randrange(1 << width), {}
    if cat == "int":
        signed = kind.startswith("s")
        bits = 8 * width
        return (rng.randrange(-(1 << (bits - 1)), 1 << (bits - 1)) if signed else rng.randrange(1 << bits)), {}
    if cat == "bytes":
        return rng.randbytes(width), {}
    if cat in ("u8v", "rest"):
        return rng.randbytes(rng.randint(0, 8)), {}
    if cat == "utf8v":
        return rng.choice(["", "ok", "Antenna 4 disconnected", "ошибка"]), {}
    if cat == "u1v":
        data = rng.randbytes(rng.randint(0, 4))
        return data, {"NumBits": len(data) * 8}
    items = rng.randint(0, 4)
    return [rng.randrange(1 << (8 * {"u16v": 2, "u32v": 4}[cat])) for _ in range(items)], {}


def value_of(defn: Def, rng: random.Random, depth: int = 0) -> Any:
    out: dict[str, Any] = {}
    for f in defn.fields:
        if f.kind.startswith("rsv"):
            continue
        value, extra = field_value(f.kind, rng)
        out[f.name] = value
        out.update({f.name + k: v for k, v in extra.items()})
    if not defn.tv:
        for sub in defn.subs:
            if depth > 5 or rng.random() < 0.45:
                continue
            pdef = PARAMS[sub.type]
            items = [value_of(pdef, rng, depth + 1) for _ in range(rng.randint(1, 2) if sub.many else 1)]
            out[sub.name] = items if sub.many else items[0]
        if defn.custom and rng.random() < 0.5:  # a vendor's parameter we do not know: carried opaque
            out["Custom"] = [
                {
                    "VendorID": 4_000_000 + rng.randrange(1000),
                    "Subtype": rng.randrange(100),
                    "Data": rng.randbytes(rng.randint(0, 6)),
                }
            ]
    return out[defn.fields[0].name] if defn.flat else out


def message_of(type_: int, seed: int) -> bytes:
    mdef = MESSAGES[type_]
    return encode_message(Message(mdef.name, seed, value_of(mdef, random.Random(seed * 7919 + type_))))


@pytest.mark.parametrize("type_", sorted(MESSAGES))
def test_every_message_type_round_trips_byte_for_byte(type_: int) -> None:
    for seed in range(25):
        frame = message_of(type_, seed)
        msg = decode_message(frame)
        assert msg.type == MESSAGES[type_].name
        assert encode_message(msg) == frame, (MESSAGES[type_].name, seed, frame.hex())
        assert decode_message(encode_message(msg)) == msg


@pytest.mark.parametrize("type_", sorted(t for t in PARAMS if t != CUSTOM))
def test_every_parameter_round_trips_byte_for_byte(type_: int) -> None:
    pdef = PARAMS[type_]
    for seed in range(25):
        value = value_of(pdef, random.Random(seed * 104729 + type_))
        out = bytearray()
        _encode_param(pdef, value, out)
        start = 1 if pdef.tv else 4
        decoded = _decode_param(pdef, bytes(out), start, len(out))
        again = bytearray()
        _encode_param(pdef, decoded, again)
        assert again == out, (pdef.name, seed, bytes(out).hex())


@pytest.mark.parametrize("key", sorted(VENDOR_PARAMS))
def test_every_vendor_parameter_we_know_round_trips_inside_a_custom(key: tuple[int, int]) -> None:
    vdef = VENDOR_PARAMS[key]
    for seed in range(10):
        value = value_of(vdef, random.Random(seed))
        out = bytearray()
        _encode_param(PARAMS[CUSTOM], {"VendorID": key[0], "Subtype": key[1], vdef.name: value}, out)
        decoded = _decode_param(PARAMS[CUSTOM], bytes(out), 4, len(out))
        again = bytearray()
        _encode_param(PARAMS[CUSTOM], decoded, again)
        assert again == out


def test_interleaved_sub_parameters_keep_their_order_an_access_commands_operations_run_in() -> None:
    """Write, read, write again, with a vendor's Custom between: written back as they came."""
    write = {"OpSpecID": 1, "AccessPassword": 0, "MB": 3, "WordPointer": 0, "WriteData": [0x1234]}
    read = {"OpSpecID": 2, "AccessPassword": 0, "MB": 3, "WordPtr": 0, "WordCount": 1}
    parts = [PARAMS[338], PARAMS[342], PARAMS[CUSTOM], PARAMS[341], PARAMS[342]]
    values: list[Any] = [
        {"TargetTags": []},
        write,
        {"VendorID": 4_000_001, "Subtype": 7, "Data": b"\x01"},
        read,
        {**write, "OpSpecID": 3},
    ]
    body = bytearray()
    for pdef, value in zip(parts, values, strict=True):
        _encode_param(pdef, value, body)
    command = bytearray(b"\x00\xd1\x00\x00") + body  # AccessCommand (209) around them
    command[2:4] = len(command).to_bytes(2, "big")
    decoded = _decode_param(PARAMS[209], bytes(command), 4, len(command))
    assert decoded["_order"] == ["C1G2TagSpec", "C1G2Write", "Custom", "C1G2Read", "C1G2Write"]
    again = bytearray()
    _encode_param(PARAMS[209], decoded, again)
    assert bytes(again) == bytes(command)


def golden() -> dict[str, str]:
    """Each type's richest frame of 30 seeds (the most sub-parameters filled in)."""
    return {MESSAGES[t].name: max((message_of(t, seed) for seed in range(30)), key=len).hex() for t in sorted(MESSAGES)}


def test_a_golden_frame_of_every_message_type_decodes_and_is_what_the_encoder_writes() -> None:
    frames = json.loads(GOLDEN.read_text())
    assert set(frames) == {d.name for d in MESSAGES.values()}  # every type has one
    for name, hexframe in frames.items():
        frame = bytes.fromhex(hexframe)
        assert decode_message(frame).type == name and encode_message(decode_message(frame)) == frame
    assert frames == golden()  # the schema's encoding did not drift


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.write_text(json.dumps(golden(), indent=1) + "\n")
