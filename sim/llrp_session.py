"""The simulated reader's side of LLRP, sans-I/O: frames in, actions out.

``ReaderSession`` is what ``sim/llrp_reader.py`` puts on TCP, the counterpart of the agent's
``edge_agent/llrp/session.py``: it answers capabilities and config requests, keeps the ROSpec
and AccessSpec lifecycle, and says when an inventory starts or stops, when keepalives are
due and when the connection ends. Every frame it writes goes through the codec's encoders
(``encode_message``, ``encode_report_message``). No sockets, no clock, no tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Final

from edge_agent.llrp import LLRPError, Message, TagReport, decode_message, encode_message
from edge_agent.llrp.codec import HEADER_SIZE, decode_header, encode_parameter
from edge_agent.llrp.reports import encode_report_message
from edge_agent.llrp.schema import IMPINJ_ENABLE_EXTENSIONS, IMPINJ_ENABLE_EXTENSIONS_RESPONSE, PEN_IMPINJ

# LLRP status codes (LLRP 1.0.1 §16.2.8.1.1, the same numbers in 1.1)
OK: Final = 0
M_UNKNOWN_FIELD: Final = 108  # a message that does not decode
M_UNSUPPORTED_MESSAGE: Final = 109  # a message this reader does not implement
M_UNSUPPORTED_VERSION: Final = 110  # a message of a protocol version this reader does not speak
M_UNSUPPORTED_PARAMETER: Final = 111
P_FIELD_ERROR: Final = 201  # a field of a parameter (a ROSpecID of 0 or in use, a GPO port)
A_INVALID: Final = 300  # "Invalid": a spec id that does not exist, a state it cannot go to
DEFAULT_CONTENT: Final = {
    "EnableROSpecID": False,
    "EnableSpecIndex": False,
    "EnableInventoryParamSpecID": False,
    "EnableAntennaID": True,
    "EnableChannelIndex": False,
    "EnablePeakRSSI": True,
    "EnableFirstSeenTimestamp": True,
    "EnableLastSeenTimestamp": False,
    "EnableTagSeenCount": True,
    "EnableAccessSpecID": False,
    "C1G2EPCMemorySelector": {"CRCEnabled": False, "PCBitsEnabled": False, "XPCBitsEnabled": False},
}
READER_VERSION: Final = 1  # LLRP 1.0.1 (a 1.1 client's GET_SUPPORTED_VERSION is answered 110)
ROSPEC_EVENT, AISPEC_EVENT = 2, 6  # ReaderEventTypes (LLRP 1.0.1 §13.2.6.2)
IMMEDIATE, PERIODIC, GPI = 1, 2, 3  # ROSpecStartTrigger types (0 null: by START_ROSPEC)
GPI_STOP = 2  # ROSpecStopTrigger: a GPI event, or its timeout
GPI_EVENT = 1  # ReaderEventType
TRUNCATE = 2  # C1G2Filter T: truncate the reply
_ROSPEC_COMMANDS: Final = ("DELETE_ROSPEC", "ENABLE_ROSPEC", "START_ROSPEC", "STOP_ROSPEC", "DISABLE_ROSPEC")
_ACCESS_COMMANDS: Final = ("DELETE_ACCESSSPEC", "ENABLE_ACCESSSPEC", "DISABLE_ACCESSSPEC")


@dataclass(frozen=True, slots=True)
class Send:
    frame: bytes


@dataclass(frozen=True, slots=True)
class StartInventory:
    """Run this ROSpec: its antennas (empty: all), reports every ``every_n`` tags, with ``selector``."""

    rospec_id: int
    antennas: tuple[int, ...]
    every_n: int
    selector: dict[str, Any] = field(default_factory=dict)
    #: vendor report contents asked for (Impinj: ``peak_rssi``, ``serialized_tid``, ``phase_angle``)
    vendor: frozenset[str] = frozenset()
    #: the whole ROSpec (its triggers and filters) and the ROReportSpec in force
    rospec: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    #: a periodic start trigger: first after ``offset_s``, then every ``period_s`` (None: once, now)
    period_s: float | None = None
    offset_s: float = 0.0


@dataclass(frozen=True, slots=True)
class StopInventory:
    pass


@dataclass(frozen=True, slots=True)
class Keepalives:
    """Send a KEEPALIVE every ``every_s`` (None: stop sending them)."""

    every_s: float | None


@dataclass(frozen=True, slots=True)
class Close:
    pass


@dataclass(frozen=True, slots=True)
class Gpo:
    """Set general-purpose output ``port`` (1-based) on or off."""

    port: int
    on: bool


Action = Send | StartInventory | StopInventory | Keepalives | Close | Gpo


def _ok() -> dict[str, Any]:
    return {"LLRPStatus": {"Status": OK, "ErrorDescription": ""}}


def _error(status: int, text: str) -> dict[str, Any]:
    return {"LLRPStatus": {"Status": status, "ErrorDescription": text}}


def _filter_refusal(spec: dict[str, Any]) -> str | None:
    """Why this reader refuses the ROSpec's Select filters: it applies masks with the default
    state-unaware action (matching tags in), and neither truncates replies nor keeps the
    state-aware inventory flags; it says so rather than ignoring them."""
    for ai in spec.get("AISpecs", []):
        for ips in ai.get("InventoryParameterSpecs", []):
            for conf in ips.get("AntennaConfigurations", []):
                command = conf.get("C1G2InventoryCommand") or {}
                if command.get("TagInventoryStateAware"):
                    return "state-aware filtering (TagInventoryStateAware) is not supported by this reader"
                for f in command.get("Filters", []):
                    if f.get("T") == TRUNCATE:
                        return "truncated replies (C1G2Filter T = 2) are not supported by this reader"
                    if f.get("StateAwareAction") or (f.get("StateUnawareAction") or {}) not in ({}, 0):
                        return "only the default filter action (select matching tags) is supported"
    return None


def _gpi_matches(trigger: dict[str, Any], port: int, on: bool) -> bool:
    gpi = trigger.get("GPITriggerValue") or {}
    return int(gpi.get("Port", 0)) == port and bool(gpi.get("Event")) == on


def _customs(value: Any) -> list[dict[str, Any]]:
    """Every vendor Custom parameter anywhere in a decoded body."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        found += [c for c in value.get("Custom", ()) if isinstance(c, dict)]
        for item in value.values():
            found += _customs(item)
    elif isinstance(value, list):
        for item in value:
            found += _customs(item)
    return found


class ReaderSession:
    def __init__(self, capabilities: dict[str, Any], config: dict[str, Any], profile: str = "generic") -> None:
        self.capabilities, self.config = capabilities, config
        #: ``impinj``: Octane extensions once enabled; ``zebra``: ROSpecs must name connected antennas
        self.profile = profile
        self.extensions = False  # Impinj: IMPINJ_ENABLE_EXTENSIONS received on this connection
        self.search_mode: int | None = None  # the last ROSpec's Impinj search mode
        self.session: int | None = None  # and its Gen2 session
        self.rospecs: dict[int, dict[str, Any]] = {}
        self.rospec_state: dict[int, str] = {}
        self.accessspecs: dict[int, dict[str, Any]] = {}
        #: the reader's default: a report per tag, with what a report holds (LLRP requires the
        #: TagReportContentSelector inside ROReportSpec: a strict decoder refuses it missing)
        self.report_spec: dict[str, Any] = {"Trigger": 2, "N": 1, "TagReportContentSelector": DEFAULT_CONTENT}
        self.keepalive_spec: dict[str, Any] = {"Trigger": 0, "Interval": 0}
        #: the ReaderEventTypes the client asked to be told of (1: GPI, 2: ROSpec, 6: AISpec end)
        self.events: set[int] = set()
        #: running ROSpecs whose GPI stop trigger fired: they end, and report, at their next step
        self.stopping: set[int] = set()
        self._next_id = 1

    # -- frames the reader sends on its own ------------------------------------------------
    def _id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _frame(self, type_: str, body: dict[str, Any] | None = None, msg_id: int | None = None) -> bytes:
        return encode_message(Message(type_, self._id() if msg_id is None else msg_id, body or {}))

    def event(self, now_us: int, **data: Any) -> bytes:
        return self._frame(
            "READER_EVENT_NOTIFICATION", {"ReaderEventNotificationData": {"UTCTimestamp": now_us, **data}}
        )

    def greeting(self, now_us: int) -> bytes:
        """ConnectionAttemptEvent "success": the first frame of a connection."""
        return self.event(now_us, ConnectionAttemptEvent=0)

    def busy(self, now_us: int) -> bytes:
        """ConnectionAttemptEvent "another connection attempted": LLRP is one client at a time."""
        return self.event(now_us, ConnectionAttemptEvent=4)

    def rospec_event(self, now_us: int, rospec_id: int, started: bool) -> bytes | None:
        """ROSpecEvent start (0) or end (1), when the client enabled ROSpec events."""
        if ROSPEC_EVENT not in self.events:
            return None
        event = {"Trigger": 0 if started else 1, "ROSpecID": rospec_id, "PreemptingROSpecID": 0}
        return self.event(now_us, ROSpecEvent=event)

    def aispec_event(self, now_us: int, rospec_id: int) -> bytes | None:
        """AISpecEvent end of AISpec (0), when the client enabled AISpec events."""
        if AISPEC_EVENT not in self.events:
            return None
        return self.event(now_us, AISpecEvent={"Trigger": 0, "ROSpecID": rospec_id, "SpecIndex": 1})

    def keepalive(self) -> bytes:
        return self._frame("KEEPALIVE")

    def report(self, reports: list[TagReport]) -> bytes:
        return encode_report_message(self._id(), reports)

    def access_for(self, rospec_id: int) -> list[dict[str, Any]]:
        """The enabled AccessSpecs that apply to this ROSpec's tags, in the order they were added."""
        return [a for a in self.accessspecs.values() if a["IsActive"] and a.get("ROSpecID") in (0, rospec_id)]

    def executed(self, access_spec_id: int) -> None:
        """An AccessSpec ran on a tag: one with an operation-count stop trigger is deleted once it
        has run that many times (LLRP 1.0.1 §12.2.1.2)."""
        spec = self.accessspecs.get(access_spec_id)
        if spec is None:
            return
        spec["_runs"] = spec.get("_runs", 0) + 1
        trigger = spec.get("StopTrigger") or {}
        if trigger.get("Trigger") == 1 and spec["_runs"] >= int(trigger.get("OperationCountValue", 0)) > 0:
            del self.accessspecs[access_spec_id]

    # -- frames from the client -----------------------------------------------------------
    def receive_frame(self, frame: bytes) -> list[Action]:
        if len(frame) >= HEADER_SIZE and (version := decode_header(frame)[0]) != READER_VERSION:
            # the spec's answer to a version it does not speak: the client falls back to 1.0.1
            why = f"LLRP version {version} is not supported: this reader speaks {READER_VERSION} (1.0.1)"
            return [Send(self._frame("ERROR_MESSAGE", _error(M_UNSUPPORTED_VERSION, why), decode_header(frame)[3]))]
        try:
            msg = decode_message(frame)
        except LLRPError as e:
            msg_id = decode_header(frame)[3] if len(frame) >= HEADER_SIZE else 0
            code = M_UNSUPPORTED_MESSAGE if e.code == "unknown_message" else M_UNKNOWN_FIELD
            return [Send(self._frame("ERROR_MESSAGE", _error(code, e.message), msg_id))]
        if msg.type == "CUSTOM_MESSAGE":
            if self.profile == "impinj" and (msg.body.get("VendorID"), msg.body.get("Subtype")) == (
                PEN_IMPINJ,
                IMPINJ_ENABLE_EXTENSIONS,
            ):
                self.extensions = True
                status = encode_parameter("LLRPStatus", {"Status": OK, "ErrorDescription": ""})
                body = {"VendorID": PEN_IMPINJ, "Subtype": IMPINJ_ENABLE_EXTENSIONS_RESPONSE, "Data": status}
                return [Send(self._frame("CUSTOM_MESSAGE", body, msg.id))]
            return [Send(self._frame("ERROR_MESSAGE", _error(M_UNSUPPORTED_MESSAGE, "no such custom message"), msg.id))]
        refused = self._vendor_refusal(msg.body)
        if refused is not None:
            return [Send(self._frame(f"{msg.type}_RESPONSE", _error(M_UNSUPPORTED_PARAMETER, refused), msg.id))]
        if msg.type == "CLOSE_CONNECTION":
            return [
                StopInventory(),
                Keepalives(None),
                Send(self._frame("CLOSE_CONNECTION_RESPONSE", _ok(), msg.id)),
                Close(),
            ]
        actions: list[Action] = []
        reply = self._respond(msg, actions)
        if reply is not None:
            actions.insert(0, Send(self._frame(reply[0], reply[1], msg.id)))
        return actions

    def _vendor_refusal(self, body: dict[str, Any]) -> str | None:
        """Why a request's vendor parameters are refused: Impinj's before its extensions are
        enabled, anyone's on a reader of another make."""
        for custom in _customs(body):
            if custom.get("VendorID") != PEN_IMPINJ or self.profile != "impinj":
                return f"vendor parameter {custom.get('VendorID')}/{custom.get('Subtype')} not supported"
            if not self.extensions:
                return "Impinj extensions are not enabled on this connection (IMPINJ_ENABLE_EXTENSIONS)"
        return None

    def _zebra_refusal(self, spec: dict[str, Any]) -> str | None:
        """Zebra FX readers accept only antennas that are connected, named one by one."""
        connected = {a["AntennaID"] for a in self.config.get("AntennaProperties", []) if a["AntennaConnected"]}
        for ai in spec.get("AISpecs", []):
            for a in ai.get("AntennaIDs", []) or [0]:
                if a not in connected:
                    return f"AISpec antenna {a} is not a connected antenna ({sorted(connected)})"
            for ips in ai.get("InventoryParameterSpecs", []):
                for conf in ips.get("AntennaConfigurations", []):
                    if conf["AntennaID"] not in connected:
                        return f"AntennaConfiguration for antenna {conf['AntennaID']}, which is not connected"
        return None

    def _respond(self, msg: Message, actions: list[Action]) -> tuple[str, dict[str, Any]] | None:
        body, t = msg.body, msg.type
        if t == "GET_READER_CAPABILITIES":
            return "GET_READER_CAPABILITIES_RESPONSE", {**_ok(), **self.capabilities}
        if t == "GET_READER_CONFIG":
            return "GET_READER_CONFIG_RESPONSE", {
                **_ok(),
                **self.config,
                "ROReportSpec": self.report_spec,
                "KeepAliveSpec": self.keepalive_spec,
            }
        if t == "SET_READER_CONFIG":
            gpos = self.capabilities.get("GeneralDeviceCapabilities", {}).get("GPIOCapabilities", {}).get("NumGPOs", 0)
            for write in body.get("GPOWriteData") or ():
                if not 1 <= write["Port"] <= gpos:
                    return "SET_READER_CONFIG_RESPONSE", _error(P_FIELD_ERROR, f"no GPO port {write['Port']}")
                actions.append(Gpo(write["Port"], bool(write["Data"])))
            if body.get("ROReportSpec"):
                self.report_spec = body["ROReportSpec"]
            for state in (body.get("ReaderEventNotificationSpec") or {}).get("EventNotificationStates", []):
                kind = int(state.get("ReaderEventType", -1))
                (self.events.add if state.get("NotificationEnabled") else self.events.discard)(kind)
            if body.get("KeepAliveSpec"):
                self.keepalive_spec = body["KeepAliveSpec"]
                interval = self.keepalive_spec.get("Interval", 0)
                on = self.keepalive_spec.get("Trigger") == 1 and interval > 0
                actions.append(Keepalives(interval / 1000 if on else None))
            return "SET_READER_CONFIG_RESPONSE", _ok()
        if t == "ADD_ROSPEC":
            spec = body.get("ROSpec", {})
            rid = spec.get("ROSpecID", 0)
            if rid == 0 or rid in self.rospecs:
                return "ADD_ROSPEC_RESPONSE", _error(P_FIELD_ERROR, f"ROSpecID {rid} is 0 or in use")
            if self.profile == "zebra" and (why := self._zebra_refusal(spec)) is not None:
                return "ADD_ROSPEC_RESPONSE", _error(P_FIELD_ERROR, why)
            if (why := _filter_refusal(spec)) is not None:
                return "ADD_ROSPEC_RESPONSE", _error(M_UNSUPPORTED_PARAMETER, why)
            for ai in spec.get("AISpecs", []):
                for ips in ai.get("InventoryParameterSpecs", []):
                    for conf in ips.get("AntennaConfigurations", []):
                        command = conf.get("C1G2InventoryCommand") or {}
                        self.session = (command.get("SingulationControl") or {}).get("Session", self.session)
                        for c in command.get("Custom", []):
                            self.search_mode = c.get("ImpinjInventorySearchMode", self.search_mode)
            self.rospecs[rid] = spec
            self.rospec_state[rid] = "disabled"
            return "ADD_ROSPEC_RESPONSE", _ok()
        if t in _ROSPEC_COMMANDS:
            return t + "_RESPONSE", self._rospec_command(t, body.get("ROSpecID", 0), actions)
        if t == "GET_ROSPECS":
            specs = [
                {**s, "CurrentState": {"disabled": 0, "inactive": 1, "active": 2}[self.rospec_state[i]]}
                for i, s in self.rospecs.items()
            ]
            return "GET_ROSPECS_RESPONSE", {**_ok(), "ROSpecs": specs}
        if t == "ADD_ACCESSSPEC":
            spec = body.get("AccessSpec", {})
            aid = spec.get("AccessSpecID", 0)
            if aid == 0 or aid in self.accessspecs:
                return "ADD_ACCESSSPEC_RESPONSE", _error(P_FIELD_ERROR, f"AccessSpecID {aid} is 0 or in use")
            self.accessspecs[aid] = {**spec, "IsActive": False}
            return "ADD_ACCESSSPEC_RESPONSE", _ok()
        if t in _ACCESS_COMMANDS:
            aid = body.get("AccessSpecID", 0)
            if aid != 0 and aid not in self.accessspecs:
                return t + "_RESPONSE", _error(A_INVALID, f"no AccessSpec {aid}")
            for i in list(self.accessspecs) if aid == 0 else [aid]:
                if t == "DELETE_ACCESSSPEC":
                    del self.accessspecs[i]
                else:
                    self.accessspecs[i]["IsActive"] = t == "ENABLE_ACCESSSPEC"
            return t + "_RESPONSE", _ok()
        if t == "GET_ACCESSSPECS":
            specs = [{k: v for k, v in a.items() if not k.startswith("_")} for a in self.accessspecs.values()]
            return "GET_ACCESSSPECS_RESPONSE", {**_ok(), "AccessSpecs": specs}
        if t in ("KEEPALIVE_ACK", "ENABLE_EVENTS_AND_REPORTS", "GET_REPORT"):
            return None
        return "ERROR_MESSAGE", _error(M_UNSUPPORTED_MESSAGE, f"{t} is not supported by this reader")

    def _rospec_command(self, t: str, rid: int, actions: list[Action]) -> dict[str, Any]:
        ids = list(self.rospecs) if rid == 0 and t in ("DELETE_ROSPEC", "DISABLE_ROSPEC") else [rid]
        if any(i not in self.rospecs for i in ids):
            return _error(A_INVALID, f"no ROSpec {rid}")
        for i in ids:
            state = self.rospec_state[i]
            if t == "START_ROSPEC":
                if state != "inactive":
                    return _error(A_INVALID, f"ROSpec {i} is {state}")
                self.rospec_state[i] = "active"
                actions.append(self._start(i))
            elif t == "ENABLE_ROSPEC":
                if state == "disabled":
                    self.rospec_state[i] = "inactive"
                    start = self.rospecs[i].get("ROBoundarySpec", {}).get("StartTrigger", {})
                    if start.get("Trigger") == IMMEDIATE:
                        self.rospec_state[i] = "active"
                        actions.append(self._start(i))
                    elif start.get("Trigger") == PERIODIC:  # the reader starts it on time, again and again
                        periodic = start.get("PeriodicTriggerValue") or {}
                        actions.append(
                            replace(
                                self._start(i),
                                period_s=max(int(periodic.get("Period", 0)), 1) / 1000,
                                offset_s=int(periodic.get("Offset", 0)) / 1000,
                            )
                        )
            else:
                if state == "active":
                    actions.append(StopInventory())
                if t == "DELETE_ROSPEC":
                    del self.rospecs[i], self.rospec_state[i]
                else:
                    self.rospec_state[i] = "inactive" if t == "STOP_ROSPEC" else "disabled"
        return _ok()

    def _start(self, rid: int) -> StartInventory:
        spec = self.rospecs[rid]
        antennas = tuple(a for ai in spec.get("AISpecs", []) for a in ai.get("AntennaIDs", []))
        report = spec.get("ROReportSpec") or self.report_spec
        vendor = set()
        for custom in _customs(report):
            if custom.get("ImpinjEnablePeakRSSI"):
                vendor.add("peak_rssi")
            if custom.get("ImpinjEnableSerializedTID"):
                vendor.add("serialized_tid")
            if custom.get("ImpinjEnableRFPhaseAngle"):
                vendor.add("phase_angle")
            if custom.get("ImpinjEnableRFDopplerFrequency"):
                vendor.add("doppler")
        return StartInventory(
            rid,
            antennas,
            max(1, int(report.get("N", 1))),
            report.get("TagReportContentSelector", {}),
            frozenset(vendor),
            spec,
            report,
        )

    def gpi(self, now_us: int, port: int, on: bool) -> list[Action]:
        """A general-purpose input changed: ROSpecs waiting for it start, running ones whose stop
        trigger it is stop (at the end of their current step), and the client is told if it asked."""
        actions: list[Action] = []
        for rid, spec in self.rospecs.items():
            bounds = spec.get("ROBoundarySpec") or {}
            start, stop = bounds.get("StartTrigger") or {}, bounds.get("StopTrigger") or {}
            state = self.rospec_state[rid]
            if state == "inactive" and start.get("Trigger") == GPI and _gpi_matches(start, port, on):
                self.rospec_state[rid] = "active"
                actions.append(self._start(rid))
            elif state == "active" and stop.get("Trigger") == GPI_STOP and _gpi_matches(stop, port, on):
                self.stopping.add(rid)
        if GPI_EVENT in self.events:
            actions.append(Send(self.event(now_us, GPIEvent={"Port": port, "Event": on})))
        return actions

    def begin(self, rid: int) -> bool:
        """A periodic ROSpec's time came: it starts if it is still enabled and not running."""
        if self.rospec_state.get(rid) != "inactive":
            return False
        self.rospec_state[rid] = "active"
        return True

    def ended(self, rid: int) -> None:
        """The ROSpec stopped by its own stop trigger: inactive (enabled, waiting to start again)."""
        self.stopping.discard(rid)
        if self.rospec_state.get(rid) == "active":
            self.rospec_state[rid] = "inactive"
