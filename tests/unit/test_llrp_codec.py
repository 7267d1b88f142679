"""The LLRP codec against recordings of a real reader (EdgeX golden data), and fuzzed."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.llrp import (
    Framer,
    LLRPError,
    Message,
    TagReport,
    decode_body,
    decode_message,
    decode_tag_reports,
    encode_body,
    encode_message,
    encode_tag_reports,
)
from edge_agent.llrp.schema import MESSAGE_TYPES
from tests.conftest import VECTORS, examples

# file prefix -> LLRP message type name
_TYPES = {
    "CloseConnectionResponse": "CLOSE_CONNECTION_RESPONSE",
    "GetAccessSpecsResponse": "GET_ACCESSSPECS_RESPONSE",
    "GetROSpecsResponse": "GET_ROSPECS_RESPONSE",
    "GetReaderCapabilitiesResponse": "GET_READER_CAPABILITIES_RESPONSE",
    "GetReaderConfigResponse": "GET_READER_CONFIG_RESPONSE",
    "ROAccessReport": "RO_ACCESS_REPORT",
    "ReaderEventNotification": "READER_EVENT_NOTIFICATION",
}
GOLDEN = sorted((VECTORS / "llrp").glob("*.bytes"))
_MISSING = object()


def _type_of(path: Path) -> int:
    return MESSAGE_TYPES[_TYPES[path.name.split("-")[0]]]


def _as_edgex(value: Any) -> Any:
    """Our decoding in the recordings' JSON conventions (Go: []byte as Base64)."""
    if isinstance(value, dict):
        return {k: _as_edgex(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_edgex(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _go_zero(value: Any) -> bool:
    """Go marshals an absent non-pointer parameter as its zero value (0, false, "", {0...})."""
    if value in (0, False, ""):
        return True
    return isinstance(value, dict) and bool(value) and all(v is None or _go_zero(v) for v in value.values())


def _differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    if isinstance(theirs, dict) and isinstance(ours, dict):
        out = []
        for key in sorted(set(ours) | set(theirs)):
            mine, want = ours.get(key, _MISSING), theirs.get(key)
            if want is None:
                if mine is not _MISSING:
                    out.append(f"{path}.{key}: we decoded {mine!r}, the recording has none")
            elif mine is _MISSING:
                if not _go_zero(want):
                    out.append(f"{path}.{key}: missing (recording: {want!r})")
            else:
                out += _differences(mine, want, f"{path}.{key}")
        return out
    if isinstance(theirs, list) and isinstance(ours, list):
        out = [f"{path}: {len(ours)} items, recording {len(theirs)}"] if len(ours) != len(theirs) else []
        for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
            out += _differences(a, b, f"{path}[{i}]")
        return out
    return [] if ours == theirs else [f"{path}: {ours!r} != {theirs!r}"]


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_recorded_message_decodes_to_its_json(path: Path) -> None:
    body = decode_body(_type_of(path), path.read_bytes())
    expected = json.loads(path.with_suffix(".json").read_text())
    assert _differences(_as_edgex(body), expected) == []


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_recorded_message_encodes_back_to_the_same_bytes(path: Path) -> None:
    raw = path.read_bytes()
    assert encode_body(_type_of(path), decode_body(_type_of(path), raw)) == raw


def test_golden_set_covers_every_recording() -> None:
    assert len(GOLDEN) == 15


def test_capabilities_of_the_recorded_reader_read_as_a_person_would() -> None:
    path = VECTORS / "llrp" / "GetReaderCapabilitiesResponse-000.bytes"
    caps = decode_body(_type_of(path), path.read_bytes())
    general = caps["GeneralDeviceCapabilities"]
    assert (general["MaxSupportedAntennas"], general["FirmwareVersion"]) == (4, "5.14.0.240")
    assert caps["RegulatoryCapabilities"]["CountryCode"] == 840
    assert len(caps["RegulatoryCapabilities"]["UHFBandCapabilities"]["TransmitPowerLevels"]) == 81


def test_fast_tag_report_decoder_agrees_with_the_recordings() -> None:
    for path in sorted((VECTORS / "llrp").glob("ROAccessReport-*.bytes")):
        generic = decode_body(61, path.read_bytes())["TagReportData"][0]
        (fast,) = decode_tag_reports(path.read_bytes())
        assert fast.epc == generic["EPC96"]["EPC"]
        assert (fast.antenna, fast.peak_rssi, fast.first_seen_us) == (
            generic["AntennaID"],
            generic["PeakRSSI"],
            generic["FirstSeenUTC"],
        )


def test_message_header_round_trip_and_framing_across_arbitrary_splits() -> None:
    messages = [
        Message("KEEPALIVE", 1),
        Message("START_ROSPEC", 2, {"ROSpecID": 7}),
        Message("RO_ACCESS_REPORT", 3, decode_body(61, (VECTORS / "llrp" / "ROAccessReport-004.bytes").read_bytes())),
        Message("CLOSE_CONNECTION_RESPONSE", 4, {"LLRPStatus": {"Status": 0, "ErrorDescription": "bye"}}),
    ]
    stream = b"".join(encode_message(m) for m in messages)
    rng = random.Random(5)
    for _ in range(50):
        framer, got, pos = Framer(), [], 0
        while pos < len(stream):
            step = rng.randint(1, 40)
            framer.feed(stream[pos : pos + step])
            pos += step
            got += [decode_message(f) for f in framer.frames()]
        assert got == messages
        assert framer.pending == 0


def test_impossible_length_in_stream_is_an_error_not_a_hang() -> None:
    framer = Framer()
    framer.feed(bytes.fromhex("043e00000003000000010000"))
    with pytest.raises(LLRPError) as info:
        list(framer.frames())
    assert info.value.code == "bad_length"


@pytest.mark.parametrize(
    ("hexbody", "type_", "code"),
    [
        ("00f0001f8d", 61, "bad_length"),  # TagReportData longer than the message
        ("00f000058d", 61, "truncated"),  # EPC-96 cut short
        ("00f00005ff", 61, "unknown_parameter"),  # TV type 127 does not exist
        ("011f000800000000011f000800000000", 4, "duplicate_parameter"),
        ("011f0008000a4142", 4, "truncated"),  # ErrorDescription says 10 bytes, 2 follow
    ],
)
def test_malformed_bodies_give_typed_errors(hexbody: str, type_: int, code: str) -> None:
    with pytest.raises(LLRPError) as info:
        if type_ == 61 and code != "unexpected_parameter":
            decode_tag_reports(bytes.fromhex(hexbody))
        else:
            decode_body(type_, bytes.fromhex(hexbody))
    assert info.value.code == code


reports = st.builds(
    TagReport,
    epc=st.binary(min_size=12, max_size=12) | st.binary(min_size=2, max_size=62).filter(lambda b: len(b) % 2 == 0),
    antenna=st.none() | st.integers(1, 64),
    peak_rssi=st.none() | st.integers(-128, 127),
    first_seen_us=st.none() | st.integers(0, 2**64 - 1),
    last_seen_us=st.none() | st.integers(0, 2**64 - 1),
    seen_count=st.none() | st.integers(0, 65535),
    rospec_id=st.none() | st.integers(0, 2**32 - 1),
    channel=st.none() | st.integers(0, 65535),
    pc=st.none() | st.integers(0, 65535),
    crc=st.none() | st.integers(0, 65535),
    access_spec_id=st.none() | st.integers(0, 2**32 - 1),
    reads=st.lists(
        st.tuples(st.integers(0, 65535), st.integers(0, 255), st.binary(max_size=64).filter(lambda b: len(b) % 2 == 0)),
        max_size=2,
    ).map(tuple),
)


@settings(max_examples=examples(3_000))
@given(st.lists(reports, max_size=5))
def test_tag_reports_round_trip_and_agree_with_the_generic_codec(batch: list[TagReport]) -> None:
    body = encode_tag_reports(batch)
    assert decode_tag_reports(body) == batch
    generic = decode_body(61, body)
    assert encode_body(61, generic) == body  # the generic codec reads and writes the same bytes
    assert len(generic.get("TagReportData", [])) == len(batch)


@settings(max_examples=examples(10_000))
@given(st.binary(max_size=300), st.sampled_from(sorted(MESSAGE_TYPES.values())))
def test_any_bytes_decode_or_raise_llrp_error(data: bytes, type_: int) -> None:
    for decode in (lambda: decode_body(type_, data), lambda: decode_tag_reports(data)):
        try:
            decode()
        except LLRPError as e:
            assert e.code and 0 <= e.position <= len(data) + 10


def test_a_known_vendor_parameter_decodes_in_both_paths_and_round_trips_byte_for_byte() -> None:
    from edge_agent.llrp import TagReport, decode_tag_reports, encode_tag_reports
    from edge_agent.llrp.codec import decode_body, encode_body
    from edge_agent.llrp.schema import MESSAGE_TYPES, PEN_IMPINJ

    report = TagReport(
        bytes.fromhex("3034257BF7194E4000001A85"), antenna=2, peak_rssi=-68, extensions=(("ImpinjPeakRSSI", -6850),)
    )
    body = encode_tag_reports([report])
    (hot,) = decode_tag_reports(body)
    assert hot == report and dict(hot.extensions) == {"ImpinjPeakRSSI": -6850}
    generic = decode_body(MESSAGE_TYPES["RO_ACCESS_REPORT"], body)
    (custom,) = generic["TagReportData"][0]["Custom"]
    assert (custom["VendorID"], custom["Subtype"], custom["ImpinjPeakRSSI"]) == (PEN_IMPINJ, 57, -6850)
    assert encode_body(MESSAGE_TYPES["RO_ACCESS_REPORT"], generic) == body


def test_an_unknown_vendor_parameter_stays_opaque_and_a_new_one_is_a_table_entry(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import struct

    from edge_agent.llrp import decode_tag_reports
    from edge_agent.llrp.codec import decode_body
    from edge_agent.llrp.schema import CUSTOM, MESSAGE_TYPES, PEN_ZEBRA, VENDOR_PARAMS, Def, F

    data = struct.pack(">Hh", 7, -3)
    custom = struct.pack(">HHII", CUSTOM, 12 + len(data), PEN_ZEBRA, 99) + data
    epc = b"\x8d" + bytes(12)
    body = struct.pack(">HH", 240, 4 + len(epc) + len(custom)) + epc + custom
    ro = MESSAGE_TYPES["RO_ACCESS_REPORT"]
    assert decode_body(ro, body)["TagReportData"][0]["Custom"] == [{"VendorID": PEN_ZEBRA, "Subtype": 99, "Data": data}]
    assert decode_tag_reports(body)[0].extensions == ()
    # the whole extension: one line of layout
    monkeypatch.setitem(VENDOR_PARAMS, (PEN_ZEBRA, 99), Def(CUSTOM, "ZebraPhase", F("Channel:u16 Phase:s16")))
    assert decode_body(ro, body)["TagReportData"][0]["Custom"][0]["ZebraPhase"] == {"Channel": 7, "Phase": -3}
    assert dict(decode_tag_reports(body)[0].extensions) == {"ZebraPhase": {"Channel": 7, "Phase": -3}}


def test_a_parameter_not_allowed_where_it_stands_is_kept_as_it_came_not_fatal() -> None:
    from edge_agent.llrp.codec import decode_body, encode_body, unknown_parameters

    body = bytes.fromhex("0101000400f00004")  # ConnectionCloseEvent where TagReportData belongs
    decoded = decode_body(61, body)
    assert decoded["Unknown"] == [{"Type": 257, "Data": b""}] and unknown_parameters(decoded) == [257]
    assert decoded["TagReportData"] == [{}]
    again = encode_body(61, decoded)  # written back as it came (after the known parameters)
    assert len(again) == len(body) and decode_body(61, again) == decoded


def test_an_rf_survey_event_in_a_reader_event_notification_decodes_and_encodes_byte_exactly() -> None:
    """LLRP 1.0.1 §16.2.7.6.7 RFSurveyEvent (type 253) inside ReaderEventNotificationData."""
    import struct

    from edge_agent.llrp.codec import decode_message, encode_message

    event = struct.pack(">HHBIH", 253, 11, 1, 7, 2)  # EventType 1 (end), ROSpecID 7, SpecIndex 2
    stamp = struct.pack(">HHQ", 128, 12, 1_700_000_000_000_000)
    data = struct.pack(">HH", 246, 4 + len(stamp) + len(event)) + stamp + event
    frame = struct.pack(">HII", (1 << 10) | 63, 10 + len(data), 5) + data
    message = decode_message(frame)
    survey = message.body["ReaderEventNotificationData"]["RFSurveyEvent"]
    assert survey == {"EventType": 1, "ROSpecID": 7, "SpecIndex": 2}
    assert encode_message(message) == frame
