"""The agent's LLRP session as a pure state machine: frames in, events out."""

from __future__ import annotations

from typing import Any

from drivers.base import Backoff
from edge_agent.llrp import Message, TagReport, decode_message, encode_message, encode_tag_reports
from edge_agent.llrp.codec import HEADER
from edge_agent.llrp.session import (
    AntennaChanged,
    ClientSession,
    Closed,
    Failed,
    InventoryRunning,
    Send,
    Tags,
)


def frame(type_: str, body: dict[str, Any] | None = None, msg_id: int = 99) -> bytes:
    return encode_message(Message(type_, msg_id, body or {}))


def ok(type_: str) -> bytes:
    return frame(type_, {"LLRPStatus": {"Status": 0, "ErrorDescription": ""}})


def event(**data: Any) -> bytes:
    return frame("READER_EVENT_NOTIFICATION", {"ReaderEventNotificationData": {"UTCTimestamp": 1, **data}})


def sent(events: list[Any]) -> list[str]:
    return [decode_message(e.frame).type for e in events if isinstance(e, Send)]


def started() -> ClientSession:
    s = ClientSession()
    assert sent(s.receive_frame(event(ConnectionAttemptEvent=0))) == ["GET_READER_CAPABILITIES"]
    for response, request in [
        ("GET_READER_CAPABILITIES_RESPONSE", "SET_READER_CONFIG"),
        ("SET_READER_CONFIG_RESPONSE", "DELETE_ACCESSSPEC"),
        ("DELETE_ACCESSSPEC_RESPONSE", "DELETE_ROSPEC"),
        ("DELETE_ROSPEC_RESPONSE", "ADD_ROSPEC"),
        ("ADD_ROSPEC_RESPONSE", "ENABLE_ROSPEC"),
        ("ENABLE_ROSPEC_RESPONSE", "START_ROSPEC"),
    ]:
        assert sent(s.receive_frame(ok(response))) == [request]
    assert any(isinstance(e, InventoryRunning) for e in s.receive_frame(ok("START_ROSPEC_RESPONSE")))
    return s


def test_start_up_walks_the_standard_sequence_and_reports_running() -> None:
    assert started().state == "inventory"


def test_tag_reports_become_tag_events() -> None:
    s = started()
    body = encode_tag_reports([TagReport(bytes(12), 2, -60, 5, seen_count=3)])
    events = s.receive_frame(HEADER.pack(1 << 10 | 61, 10 + len(body), 7) + body)
    assert events == [Tags([TagReport(bytes(12), 2, -60, 5, seen_count=3)])]


def test_keepalive_is_acknowledged() -> None:
    assert sent(started().receive_frame(frame("KEEPALIVE"))) == ["KEEPALIVE_ACK"]


def test_refused_connection_fails_with_the_status() -> None:
    (failed,) = ClientSession().receive_frame(event(ConnectionAttemptEvent=4))
    assert isinstance(failed, Failed) and "status 4" in failed.reason


def test_error_status_in_a_response_fails_with_the_readers_words() -> None:
    s = ClientSession()
    s.receive_frame(event(ConnectionAttemptEvent=0))
    bad = frame("GET_READER_CAPABILITIES_RESPONSE", {"LLRPStatus": {"Status": 101, "ErrorDescription": "no"}})
    (failed,) = s.receive_frame(bad)
    assert isinstance(failed, Failed) and "101" in failed.reason and "no" in failed.reason


def test_antenna_events_and_reader_close_are_reported() -> None:
    s = started()
    assert s.receive_frame(event(AntennaEvent={"Trigger": 0, "AntennaID": 3})) == [AntennaChanged(3, False)]
    assert isinstance(s.receive_frame(event(ConnectionCloseEvent={}))[0], Closed)


def test_close_stops_deletes_and_closes_then_waits_for_the_answer() -> None:
    s = started()
    assert sent(s.close()) == ["STOP_ROSPEC", "DELETE_ROSPEC", "CLOSE_CONNECTION"]
    assert s.receive_frame(ok("STOP_ROSPEC_RESPONSE")) == []
    assert isinstance(s.receive_frame(ok("CLOSE_CONNECTION_RESPONSE"))[0], Closed)
    assert s.close() == []


def test_backoff_grows_with_jitter_up_to_the_cap_and_resets() -> None:
    b = Backoff(initial=1, maximum=8)
    delays = [b.next_delay() for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({round(d, 6) for d in delays}) > 1
    b.reset()
    assert 0.5 <= b.next_delay() <= 1


def test_memory_reads_add_and_enable_an_access_spec_before_starting() -> None:
    from edge_agent.llrp.inventory import InventoryConfig

    s = ClientSession(InventoryConfig(read_tid_words=6, read_user_words=8))
    s.receive_frame(event(ConnectionAttemptEvent=0))
    requests = []
    for response in [
        "GET_READER_CAPABILITIES_RESPONSE",
        "SET_READER_CONFIG_RESPONSE",
        "DELETE_ACCESSSPEC_RESPONSE",
        "DELETE_ROSPEC_RESPONSE",
        "ADD_ROSPEC_RESPONSE",
        "ADD_ACCESSSPEC_RESPONSE",
        "ENABLE_ACCESSSPEC_RESPONSE",
        "ENABLE_ROSPEC_RESPONSE",
    ]:
        requests += sent(s.receive_frame(ok(response)))
    assert requests[4:7] == ["ADD_ACCESSSPEC", "ENABLE_ACCESSSPEC", "ENABLE_ROSPEC"]
    reads = s.access_spec()["AccessCommand"]["C1G2Read"]
    assert [(r["MB"], r["WordCount"]) for r in reads] == [(2, 6), (3, 8)]
    # the AccessSpec survives the codec byte for byte
    frame_ = frame("ADD_ACCESSSPEC", {"AccessSpec": s.access_spec()})
    assert encode_message(decode_message(frame_)) == frame_


def test_an_event_with_a_parameter_we_do_not_know_is_skipped_and_the_session_stays_up() -> None:
    import struct

    from edge_agent.llrp.session import Skipped

    client = ClientSession()
    # READER_EVENT_NOTIFICATION whose ReaderEventNotificationData holds UTCTimestamp and a
    # parameter of a type this agent has never heard of (type 999), then an unknown message type
    utc = struct.pack(">HHQ", 128, 12, 1)
    odd = struct.pack(">HH", 999, 8) + b"\x01\x02\x03\x04"
    data = struct.pack(">HH", 246, 4 + len(utc) + len(odd)) + utc + odd
    frame = struct.pack(">HII", 1 << 10 | 63, 10 + len(data), 5) + data
    events = client.receive_frame(frame)
    assert [e for e in events if isinstance(e, Skipped)] == [
        Skipped("READER_EVENT_NOTIFICATION: unknown parameter 999")
    ]
    strange = struct.pack(">HII", 1 << 10 | 900, 10, 6)
    (skipped,) = client.receive_frame(strange)
    assert isinstance(skipped, Skipped) and "900" in skipped.what
    assert client.state == "await_connection"  # neither message ended or failed the session
