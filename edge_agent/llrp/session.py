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
from edge_agent.llrp.reports import TagReport, decode_tag_reports
from edge_agent.llrp.schema import (
    IMPINJ_ENABLE_EXTENSIONS,
    IMPINJ_ENABLE_EXTENSIONS_RESPONSE,
    MESSAGE_TYPES,
    PEN_IMPINJ,
    SEARCH_MODES,
)

RO_ACCESS_REPORT: Final = MESSAGE_TYPES["RO_ACCESS_REPORT"]
AIR_PROTOCOL_C1G2: Final = 1
# ROSpec triggers (LLRP §16.2.4.1): start 0 = null (START_ROSPEC), stop 0 = null (STOP_ROSPEC)
# ROReportTrigger 2: upon N TagReportData parameters or end of ROSpec
REPORT_UPON_N_TAGS: Final = 2
KEEPALIVE_PERIODIC: Final = 1


@dataclass(frozen=True, slots=True)
class InventoryConfig:
    rospec_id: int = 1
    #: antenna numbers to read on; 0 alone means every antenna (the ``zebra`` profile: every
    #: antenna the reader says is connected, listed one by one)
    antennas: tuple[int, ...] = (0,)
    #: what the reader is: ``generic`` LLRP 1.0.1; ``impinj`` (Octane extensions: search mode,
    #: peak RSSI in 0.01 dBm, the serialized TID with every read); ``zebra`` (FX7500/FX9600
    #: class: only connected antennas configured, explicitly)
    profile: str = "generic"
    #: the Gen2 session (0-3; None: the reader's default) and, on Impinj, the search mode
    #: (``tagfocus`` needs session 1)
    session: int | None = None
    search_mode: str = "reader_selected"
    #: a report per N tag reads (1 = lowest latency)
    report_every_n_tags: int = 1
    keepalive_ms: int = 5000
    #: with every EPC, also read this many 16-bit words of TID / User memory (an AccessSpec)
    read_tid_words: int = 0
    read_user_words: int = 0

    @property
    def reads_memory(self) -> bool:
        """An AccessSpec reads memory with every tag (on Impinj the TID comes without one)."""
        return (self.read_tid_words > 0 and self.profile != "impinj") or self.read_user_words > 0

    @property
    def fast_tid(self) -> bool:
        """Impinj FastID: the serialized TID in the inventory round itself."""
        return self.profile == "impinj" and self.read_tid_words > 0


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
ACCESS_SPEC_ID: Final = 1
OP_READ_TID, OP_READ_USER = 1, 2
MB_TID, MB_USER = 2, 3


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
            return self._send("SET_READER_CONFIG", self._reader_config())
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

    def _reader_config(self) -> dict[str, Any]:
        events = [{"ReaderEventType": t, "NotificationEnabled": True} for t in (2, 5, 6, 7, 8)]
        return {
            "ResetToFactoryDefaults": False,
            "ReaderEventNotificationSpec": {"EventNotificationStates": events},
            "ROReportSpec": self._report_spec(),
            "KeepAliveSpec": {"Trigger": KEEPALIVE_PERIODIC, "Interval": self.config.keepalive_ms},
            "EventsAndReports": False,
        }

    def _report_spec(self) -> dict[str, Any]:
        selector = dict.fromkeys(
            (
                "EnableROSpecID",
                "EnableSpecIndex",
                "EnableInventoryParamSpecID",
                "EnableChannelIndex",
                "EnableLastSeenTimestamp",
                "EnableAccessSpecID",
            ),
            False,
        )
        selector.update(
            EnableAntennaID=True,
            EnablePeakRSSI=True,
            EnableFirstSeenTimestamp=True,
            EnableTagSeenCount=True,
            EnableAccessSpecID=self.config.reads_memory,
        )
        spec: dict[str, Any] = {
            "Trigger": REPORT_UPON_N_TAGS,
            "N": self.config.report_every_n_tags,
            "TagReportContentSelector": selector,
        }
        if self.config.profile == "impinj":  # peak RSSI in 0.01 dBm; the serialized TID (FastID) when wanted
            wanted = [
                _impinj(53, "ImpinjEnablePeakRSSI", 1),
                _impinj(51, "ImpinjEnableSerializedTID", int(self.config.fast_tid)),
            ]
            spec["Custom"] = [_impinj(50, "ImpinjTagReportContentSelector", {"Custom": wanted})]
        return spec

    def _antennas(self) -> list[int]:
        c = self.config
        if c.profile != "zebra":
            return list(c.antennas)
        # Zebra FX readers: name each connected antenna (0 "all" or an unconnected one fails)
        wanted = self.connected if c.antennas == (0,) else tuple(a for a in c.antennas if a in self.connected)
        return list(wanted)

    def _antenna_configurations(self) -> list[dict[str, Any]]:
        c = self.config
        if c.profile == "generic" and c.session is None:
            return []
        command: dict[str, Any] = {"TagInventoryStateAware": False}
        session = 1 if c.search_mode == "tagfocus" and c.session is None else c.session
        if session is not None:
            command["SingulationControl"] = {"Session": session, "TagPopulation": 32, "TagTransitTime": 0}
        if c.profile == "impinj":
            command["Custom"] = [_impinj(23, "ImpinjInventorySearchMode", SEARCH_MODES[c.search_mode])]
        ids = self._antennas() if c.profile == "zebra" else [0]
        return [{"AntennaID": a, "C1G2InventoryCommand": command} for a in ids]

    def rospec(self) -> dict[str, Any]:
        c = self.config
        return {
            "ROSpecID": c.rospec_id,
            "Priority": 0,
            "CurrentState": 0,
            "ROBoundarySpec": {
                "StartTrigger": {"Trigger": 0},
                "StopTrigger": {"Trigger": 0, "DurationTriggerValue": 0},
            },
            "AISpecs": [
                {
                    "AntennaIDs": self._antennas(),
                    "StopTrigger": {"Trigger": 0, "DurationTriggerValue": 0},
                    "InventoryParameterSpecs": [
                        {
                            "InventoryParameterSpecID": 1,
                            "AirProtocolID": AIR_PROTOCOL_C1G2,
                            "AntennaConfigurations": self._antenna_configurations(),
                        }
                    ],
                }
            ],
            "ROReportSpec": self._report_spec(),
        }

    def access_spec(self) -> dict[str, Any]:
        """Read TID and/or User memory of every tag the ROSpec sees (any EPC matches)."""
        c = self.config
        reads = [
            {"OpSpecID": op, "AccessPassword": 0, "MB": bank, "WordPtr": 0, "WordCount": words}
            for op, bank, words in ((OP_READ_TID, MB_TID, c.read_tid_words), (OP_READ_USER, MB_USER, c.read_user_words))
            if words > 0
        ]
        match_any = {
            "MB": 1,
            "Match": True,
            "Pointer": 32,
            "TagMaskNumBits": 0,
            "TagMask": b"",
            "TagDataNumBits": 0,
            "TagData": b"",
        }
        return {
            "AccessSpecID": ACCESS_SPEC_ID,
            "AntennaID": 0,
            "AirProtocolID": AIR_PROTOCOL_C1G2,
            "IsActive": False,
            "ROSpecID": c.rospec_id,
            "StopTrigger": {"Trigger": 0, "OperationCountValue": 0},
            "AccessCommand": {"C1G2TagSpec": {"TargetTags": [match_any]}, "C1G2Read": reads},
            "AccessReportSpec": 0,  # results ride in the RO reports
        }

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


def _impinj(subtype: int, name: str, value: Any) -> dict[str, Any]:
    return {"VendorID": PEN_IMPINJ, "Subtype": subtype, name: value}


def _custom_status(data: bytes) -> dict[str, Any]:
    """The LLRPStatus parameter (type 287) a vendor's custom response carries in its Data."""
    if len(data) >= 6 and int.from_bytes(data[:2], "big") & 0x3FF == 287:
        text = data[8 : 8 + int.from_bytes(data[6:8], "big")].decode("utf-8", "replace") if len(data) >= 8 else ""
        return {"Status": int.from_bytes(data[4:6], "big"), "ErrorDescription": text}
    return {"Status": 0, "ErrorDescription": ""}  # a response with no status: the reader said nothing against it


def _status_text(body: dict[str, Any]) -> str:
    status = body.get("LLRPStatus", {})
    return f"status {status.get('Status')} {status.get('ErrorDescription', '')}".strip()
