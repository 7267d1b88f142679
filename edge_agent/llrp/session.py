"""The agent's side of an LLRP connection, sans-I/O.

``ClientSession`` is fed whole frames from the reader and answers with events: frames to
send, "inventory running", tag reports, antenna changes, failure or close. It walks the
standard start-up (LLRP §17 / the order real readers expect):

    ConnectionAttemptEvent → GET_READER_CAPABILITIES → SET_READER_CONFIG (keepalive, report
    contents) → DELETE_ACCESSSPEC(all) → DELETE_ROSPEC(all) → ADD_ROSPEC → ENABLE_ROSPEC →
    START_ROSPEC → inventory

and shuts down with STOP_ROSPEC, DELETE_ROSPEC, CLOSE_CONNECTION. It answers KEEPALIVE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from edge_agent.llrp import inventory
from edge_agent.llrp.codec import (
    HEADER_SIZE,
    LLRPError,
    Message,
    decode_header,
    decode_message,
    encode_body,
    encode_message,
    unknown_parameters,
)
from edge_agent.llrp.inventory import (
    ACCESS_SPEC_ID,
    InventoryConfig,
)
from edge_agent.llrp.reports import TagReport, decode_tag_reports
from edge_agent.llrp.schema import (
    IMPINJ_ENABLE_EXTENSIONS,
    IMPINJ_ENABLE_EXTENSIONS_RESPONSE,
    MESSAGE_TYPES,
    PEN_IMPINJ,
)

RO_ACCESS_REPORT: Final = MESSAGE_TYPES["RO_ACCESS_REPORT"]


@dataclass(frozen=True, slots=True)
class Send:
    frame: bytes


@dataclass(frozen=True, slots=True)
class InventoryRunning:
    capabilities: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Tags:
    reports: list[TagReport]


@dataclass(frozen=True, slots=True)
class AntennaChanged:
    antenna: int
    connected: bool


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str


@dataclass(frozen=True, slots=True)
class Closed:
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something in a reader's message we do not know or cannot read: skipped, never fatal."""

    what: str


Event = Send | InventoryRunning | Tags | AntennaChanged | Failed | Closed | Skipped

# start-up step -> the response that completes it, in order
_STEPS: Final = {
    "extensions": "CUSTOM_MESSAGE",  # Impinj: IMPINJ_ENABLE_EXTENSIONS -> its response
    "capabilities": "GET_READER_CAPABILITIES_RESPONSE",
    "antennas": "GET_READER_CONFIG_RESPONSE",  # Zebra: which antennas are connected
    "config": "SET_READER_CONFIG_RESPONSE",
    "delete_access": "DELETE_ACCESSSPEC_RESPONSE",
    "delete_rospec": "DELETE_ROSPEC_RESPONSE",
    "add": "ADD_ROSPEC_RESPONSE",
    "add_access": "ADD_ACCESSSPEC_RESPONSE",
    "enable_access": "ENABLE_ACCESSSPEC_RESPONSE",
    "enable": "ENABLE_ROSPEC_RESPONSE",
    "start": "START_ROSPEC_RESPONSE",
}


class ClientSession:
    def __init__(self, config: InventoryConfig | None = None) -> None:
        self.config = config or InventoryConfig()
        self.state = "await_connection"
        c = self.config
        skip = (
            ({"add_access", "enable_access"} if not c.reads_memory else set())
            | ({"extensions"} if c.profile != "impinj" else set())
            | ({"antennas"} if c.profile != "zebra" else set())
        )
        self._steps = [s for s in _STEPS if s not in skip]
        self.capabilities: dict[str, Any] = {}
        #: the antennas the reader reported connected (the ``zebra`` profile asks)
        self.connected: tuple[int, ...] = ()
        self._next_id = 1

    # -- outgoing -----------------------------------------------------------------------
    def _send(self, type_: str, body: dict[str, Any] | None = None) -> Send:
        msg = Message(type_, self._next_id, body or {})
        self._next_id += 1
        return Send(encode_message(msg))

    def _request(self, state: str) -> Send:
        self.state = state
        c = self.config
        if state == "extensions":
            return self._send(
                "CUSTOM_MESSAGE",
                {"VendorID": PEN_IMPINJ, "Subtype": IMPINJ_ENABLE_EXTENSIONS, "Data": b"\x00\x00\x00\x00"},
            )
        if state == "capabilities":
            return self._send("GET_READER_CAPABILITIES", {"RequestedData": 0})
        if state == "antennas":  # RequestedData 2: AntennaProperties (which are connected)
            return self._send(
                "GET_READER_CONFIG", {"AntennaID": 0, "RequestedData": 2, "GPIPortNum": 0, "GPOPortNum": 0}
            )
        if state == "config":
            return self._send("SET_READER_CONFIG", inventory.reader_config(self.config))
        if state == "delete_access":
            return self._send("DELETE_ACCESSSPEC", {"AccessSpecID": 0})
        if state == "delete_rospec":
            return self._send("DELETE_ROSPEC", {"ROSpecID": 0})
        if state == "add":
            return self._send("ADD_ROSPEC", {"ROSpec": self.rospec()})
        if state == "add_access":
            return self._send("ADD_ACCESSSPEC", {"AccessSpec": self.access_spec()})
        if state == "enable_access":
            return self._send("ENABLE_ACCESSSPEC", {"AccessSpecID": ACCESS_SPEC_ID})
        if state == "enable":
            return self._send("ENABLE_ROSPEC", {"ROSpecID": c.rospec_id})
        return self._send("START_ROSPEC", {"ROSpecID": c.rospec_id})

    def rospec(self) -> dict[str, Any]:
        return inventory.rospec(self.config, self.connected)

    def access_spec(self) -> dict[str, Any]:
        return inventory.access_spec(self.config)

    def gpo(self, port: int, on: bool) -> Send:
        """Drive one general-purpose output (a gate's light or sounder): SET_READER_CONFIG with
        only GPOWriteData, so nothing else of the reader's configuration changes."""
        return self._send(
            "SET_READER_CONFIG", {"ResetToFactoryDefaults": False, "GPOWriteData": [{"Port": port, "Data": on}]}
        )

    def close(self) -> list[Event]:
        """Stop the inventory and close the connection politely."""
        if self.state in ("closing", "closed", "failed"):
            return []
        events: list[Event] = []
        if self.state == "inventory":
            events.append(self._send("STOP_ROSPEC", {"ROSpecID": self.config.rospec_id}))
            events.append(self._send("DELETE_ROSPEC", {"ROSpecID": self.config.rospec_id}))
        events.append(self._send("CLOSE_CONNECTION"))
        self.state = "closing"
        return events

    # -- incoming -----------------------------------------------------------------------
    def receive_frame(self, frame: bytes) -> list[Event]:
        """React to one whole frame from the reader. A message we cannot read, of a type we do
        not know, or with parameters we do not know, is skipped (``Skipped``), never fatal."""
        _, type_, _, _ = decode_header(frame)
        try:
            if type_ == RO_ACCESS_REPORT:  # the hot path: no generic decoding
                reports = decode_tag_reports(frame[HEADER_SIZE:])
                return [Tags(reports)] if reports else []
            msg = decode_message(frame)
        except LLRPError as e:
            return [Skipped(f"message type {type_}: {e.code} at byte {e.position}: {e.message}")]
        unknown = unknown_parameters(msg.body)
        events: list[Event] = [Skipped(f"{msg.type}: unknown parameter {t}") for t in unknown]
        return events + self.receive(msg)

    def receive(self, msg: Message) -> list[Event]:
        body = msg.body
        if msg.type == "KEEPALIVE":
            return [self._send("KEEPALIVE_ACK")]
        if msg.type == "READER_EVENT_NOTIFICATION":
            return self._event(body.get("ReaderEventNotificationData", {}))
        if msg.type == "ERROR_MESSAGE":
            self.state = "failed"
            return [Failed(f"reader error: {_status_text(body)}")]
        if msg.type == "RO_ACCESS_REPORT":
            return [Tags(decode_tag_reports(encode_body(RO_ACCESS_REPORT, body)))]
        if self.state == "closing" and msg.type == "CLOSE_CONNECTION_RESPONSE":
            self.state = "closed"
            return [Closed("closed by us")]
        expected = _STEPS.get(self.state)
        if expected is None or msg.type != expected:
            return []  # e.g. the responses to STOP/DELETE while closing
        if msg.type == "CUSTOM_MESSAGE":
            if (body.get("VendorID"), body.get("Subtype")) != (PEN_IMPINJ, IMPINJ_ENABLE_EXTENSIONS_RESPONSE):
                return []
            body = {"LLRPStatus": _custom_status(body.get("Data", b""))}
        status = body.get("LLRPStatus", {})
        if status.get("Status", 0) != 0:
            self.state = "failed"
            return [Failed(f"{msg.type}: {_status_text(body)}")]
        if self.state == "capabilities":
            self.capabilities = body
        if self.state == "antennas":
            self.connected = tuple(a["AntennaID"] for a in body.get("AntennaProperties", []) if a["AntennaConnected"])
            if not self.connected:
                self.state = "failed"
                return [Failed("the reader reports no antenna connected")]
        if self.state == "start":
            self.state = "inventory"
            return [InventoryRunning(self.capabilities)]
        return [self._request(self._steps[self._steps.index(self.state) + 1])]

    def _event(self, data: dict[str, Any]) -> list[Event]:
        if "ConnectionAttemptEvent" in data:
            status = data["ConnectionAttemptEvent"]
            if self.state != "await_connection":
                return []
            if status != 0:
                self.state = "failed"
                return [Failed(f"reader refused the connection (ConnectionAttemptEvent status {status})")]
            return [self._request(self._steps[0])]
        if "ConnectionCloseEvent" in data:
            self.state = "closed"
            return [Closed("the reader closed the connection")]
        if "AntennaEvent" in data:
            ev = data["AntennaEvent"]
            return [AntennaChanged(ev["AntennaID"], ev["Trigger"] == 1)]
        if "ReaderExceptionEvent" in data:
            return [Failed(f"reader exception: {data['ReaderExceptionEvent'].get('Message', '')}")]
        return []


def _custom_status(data: bytes) -> dict[str, Any]:
    """The LLRPStatus parameter (type 287) a vendor's custom response carries in its Data."""
    if len(data) >= 6 and int.from_bytes(data[:2], "big") & 0x3FF == 287:
        text = data[8 : 8 + int.from_bytes(data[6:8], "big")].decode("utf-8", "replace") if len(data) >= 8 else ""
        return {"Status": int.from_bytes(data[4:6], "big"), "ErrorDescription": text}
    return {"Status": 0, "ErrorDescription": ""}  # a response with no status: the reader said nothing against it


def _status_text(body: dict[str, Any]) -> str:
    status = body.get("LLRPStatus", {})
    return f"status {status.get('Status')} {status.get('ErrorDescription', '')}".strip()
