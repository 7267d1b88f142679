"""What the agent asks an LLRP reader for, as data: the inventory's settings
(``InventoryConfig``, per reader profile) and the reader configuration, ROSpec and AccessSpec
built from them. Pure; ``session.py`` sends them in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from edge_agent.llrp.schema import PEN_IMPINJ, SEARCH_MODES

AIR_PROTOCOL_C1G2: Final = 1
# ROSpec triggers (LLRP §16.2.4.1): start 0 = null (START_ROSPEC), stop 0 = null (STOP_ROSPEC)
# ROReportTrigger 2: upon N TagReportData parameters or end of ROSpec
REPORT_UPON_N_TAGS: Final = 2
KEEPALIVE_PERIODIC: Final = 1
ACCESS_SPEC_ID: Final = 1
OP_READ_TID, OP_READ_USER = 1, 2
MB_TID, MB_USER = 2, 3


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


def reader_config(c: InventoryConfig) -> dict[str, Any]:
    """SET_READER_CONFIG's body: reader events, the report spec, the keepalive."""
    events = [{"ReaderEventType": t, "NotificationEnabled": True} for t in (2, 5, 6, 7, 8)]
    return {
        "ResetToFactoryDefaults": False,
        "ReaderEventNotificationSpec": {"EventNotificationStates": events},
        "ROReportSpec": report_spec(c),
        "KeepAliveSpec": {"Trigger": KEEPALIVE_PERIODIC, "Interval": c.keepalive_ms},
        "EventsAndReports": False,
    }


def report_spec(c: InventoryConfig) -> dict[str, Any]:
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
        EnableAccessSpecID=c.reads_memory,
    )
    spec: dict[str, Any] = {
        "Trigger": REPORT_UPON_N_TAGS,
        "N": c.report_every_n_tags,
        "TagReportContentSelector": selector,
    }
    if c.profile == "impinj":  # peak RSSI in 0.01 dBm; the serialized TID (FastID) when wanted
        wanted = [
            _impinj(53, "ImpinjEnablePeakRSSI", 1),
            _impinj(51, "ImpinjEnableSerializedTID", int(c.fast_tid)),
        ]
        spec["Custom"] = [_impinj(50, "ImpinjTagReportContentSelector", {"Custom": wanted})]
    return spec


def antennas(c: InventoryConfig, connected: tuple[int, ...]) -> list[int]:
    if c.profile != "zebra":
        return list(c.antennas)
    # Zebra FX readers: name each connected antenna (0 "all" or an unconnected one fails)
    wanted = connected if c.antennas == (0,) else tuple(a for a in c.antennas if a in connected)
    return list(wanted)


def antenna_configurations(c: InventoryConfig, connected: tuple[int, ...]) -> list[dict[str, Any]]:
    if c.profile == "generic" and c.session is None:
        return []
    command: dict[str, Any] = {"TagInventoryStateAware": False}
    session = 1 if c.search_mode == "tagfocus" and c.session is None else c.session
    if session is not None:
        command["SingulationControl"] = {"Session": session, "TagPopulation": 32, "TagTransitTime": 0}
    if c.profile == "impinj":
        command["Custom"] = [_impinj(23, "ImpinjInventorySearchMode", SEARCH_MODES[c.search_mode])]
    ids = antennas(c, connected) if c.profile == "zebra" else [0]
    return [{"AntennaID": a, "C1G2InventoryCommand": command} for a in ids]


def rospec(c: InventoryConfig, connected: tuple[int, ...] = ()) -> dict[str, Any]:
    """ADD_ROSPEC's ROSpec: inventory until stopped, reports as ``c`` asks."""
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
                "AntennaIDs": antennas(c, connected),
                "StopTrigger": {"Trigger": 0, "DurationTriggerValue": 0},
                "InventoryParameterSpecs": [
                    {
                        "InventoryParameterSpecID": 1,
                        "AirProtocolID": AIR_PROTOCOL_C1G2,
                        "AntennaConfigurations": antenna_configurations(c, connected),
                    }
                ],
            }
        ],
        "ROReportSpec": report_spec(c),
    }


def access_spec(c: InventoryConfig) -> dict[str, Any]:
    """Read TID and/or User memory of every tag the ROSpec sees (any EPC matches)."""
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


def _impinj(subtype: int, name: str, value: Any) -> dict[str, Any]:
    return {"VendorID": PEN_IMPINJ, "Subtype": subtype, name: value}
