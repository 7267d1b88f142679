"""LLRP 1.0.1/1.1 message and parameter layouts, as data.

Type numbers, field widths and sub-parameter order from the EPCglobal Low Level Reader
Protocol standard (LLRP 1.0.1 §16 and LLRP 1.1 for the C1G2 capability/XPC bits). Names
are the ones the EdgeX device-rfid-llrp-go recordings use (the golden vectors), which
mostly follow the standard.

A field kind is one of: ``u8 u16 u32 u64 s8 s16 s32`` (integers), ``flag`` (1 bit, bool),
``bits:N`` (N-bit unsigned), ``rsv:N`` (N reserved bits, written as zero), ``u8v``
(u16 count + bytes), ``u16v``/``u32v`` (u16 count + integers), ``utf8v`` (u16 count + UTF-8),
``u1v`` (u16 bit count + bytes; the count is kept as ``<name>NumBits``), ``bytes:N``
(fixed bytes) and ``rest`` (bytes to the end of the parameter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Sub:
    """A sub-parameter slot: the key it is stored under, its type, and whether it repeats."""

    name: str
    type: int
    many: bool = False


@dataclass(frozen=True, slots=True)
class Def:
    type: int
    name: str
    fields: tuple[Field, ...] = ()
    subs: tuple[Sub, ...] = ()
    #: a parameter whose only content is one field is stored as that field's value
    flat: bool = False
    #: TV-encoded (types 1-127): 1-byte header, fixed length, no sub-parameters
    tv: bool = False
    #: accepts trailing vendor Custom parameters (stored as a list under "Custom")
    custom: bool = False
    by_type: dict[int, Sub] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_type.update({s.type: s for s in self.subs})


def F(spec: str) -> tuple[Field, ...]:
    """``"Name:kind Name:kind ..."`` -> fields."""
    return tuple(Field(*item.split(":", 1)) for item in spec.split())


CUSTOM: Final = 1023

PARAMS: Final[dict[int, Def]] = {}
MESSAGES: Final[dict[int, Def]] = {}
MESSAGE_TYPES: Final[dict[str, int]] = {}


def _param(d: Def) -> None:
    PARAMS[d.type] = d


def _message(d: Def) -> None:
    MESSAGES[d.type] = d
    MESSAGE_TYPES[d.name] = d.type


# -- TV parameters (LLRP §16.2.1, §16.2.7.3) -----------------------------------------------
for t, name, kind in (
    (1, "AntennaID", "u16"),
    (2, "FirstSeenUTC", "u64"),
    (3, "FirstSeenUptime", "u64"),
    (4, "LastSeenUTC", "u64"),
    (5, "LastSeenUptime", "u64"),
    (6, "PeakRSSI", "s8"),
    (7, "ChannelIndex", "u16"),
    (8, "TagSeenCount", "u16"),
    (9, "ROSpecID", "u32"),
    (10, "InventoryParameterSpecID", "u16"),
    (11, "C1G2CRC", "u16"),
    (12, "C1G2PC", "u16"),
    (14, "SpecIndex", "u16"),
    (15, "ClientRequestOpSpecResult", "u16"),
    (16, "AccessSpecID", "u32"),
    (17, "OpSpecID", "u16"),
    (19, "C1G2XPCW1", "u16"),
    (20, "C1G2XPCW2", "u16"),
):
    _param(Def(t, name, (Field(name, kind),), flat=True, tv=True))
_param(Def(13, "EPC96", F("EPC:bytes:12"), tv=True))
_param(Def(18, "C1G2SingulationDetails", F("NumCollisionSlots:u16 NumEmptySlots:u16"), tv=True))

# -- TLV parameters -------------------------------------------------------------------
_param(Def(128, "UTCTimestamp", F("Microseconds:u64"), flat=True))
_param(Def(129, "Uptime", F("Microseconds:u64"), flat=True))
_param(
    Def(
        137,
        "GeneralDeviceCapabilities",
        F(
            "MaxSupportedAntennas:u16 CanSetAntennaProperties:flag HasUTCClock:flag rsv:rsv:14 "
            "DeviceManufacturer:u32 Model:u32 FirmwareVersion:utf8v"
        ),
        (
            Sub("ReceiveSensitivities", 139, True),
            Sub("PerAntennaReceiveSensitivityRanges", 149, True),
            Sub("MaximumReceiveSensitivity", 363),
            Sub("GPIOCapabilities", 141),
            Sub("PerAntennaAirProtocols", 140, True),
        ),
    )
)
_param(Def(139, "ReceiveSensitivityTableEntry", F("Index:u16 ReceiveSensitivity:s16")))
_param(Def(140, "PerAntennaAirProtocol", F("AntennaID:u16 AirProtocolIDs:u8v")))
_param(Def(141, "GPIOCapabilities", F("NumGPIs:u16 NumGPOs:u16")))
_param(
    Def(
        142,
        "LLRPCapabilities",
        F(
            "CanDoRFSurvey:flag CanReportBufferFillWarning:flag SupportsClientRequestOpSpec:flag "
            "CanDoTagInventoryStateAwareSingulation:flag SupportsEventsAndReportHolding:flag rsv:rsv:3 "
            "MaxPriorityLevelSupported:u8 ClientRequestedOpSpecTimeout:u16 MaxROSpecs:u32 MaxSpecsPerROSpec:u32 "
            "MaxInventoryParameterSpecsPerAISpec:u32 MaxAccessSpecs:u32 MaxOpSpecsPerAccessSpec:u32"
        ),
    )
)
_param(
    Def(
        143,
        "RegulatoryCapabilities",
        F("CountryCode:u16 CommunicationsStandard:u16"),
        (Sub("UHFBandCapabilities", 144),),
        custom=True,
    )
)
_param(
    Def(
        144,
        "UHFBandCapabilities",
        (),
        (
            Sub("TransmitPowerLevels", 145, True),
            Sub("FrequencyInformation", 146),
            Sub("C1G2RFModes", 328),
            Sub("RFSurveyFrequencyCapabilities", 365),
        ),
    )
)
_param(Def(145, "TransmitPowerLevelTableEntry", F("Index:u16 TransmitPowerValue:s16")))
_param(
    Def(
        146,
        "FrequencyInformation",
        F("Hopping:flag rsv:rsv:7"),
        (Sub("FrequencyHopTables", 147, True), Sub("FixedFrequencyTable", 148)),
    )
)
_param(Def(147, "FrequencyHopTable", F("HopTableID:u8 rsv:rsv:8 Frequencies:u32v")))
_param(Def(148, "FixedFrequencyTable", F("Frequencies:u32v")))
_param(
    Def(
        149,
        "PerAntennaReceiveSensitivityRange",
        F("AntennaID:u16 ReceiveSensitivityIndexMin:u16 ReceiveSensitivityIndexMax:u16"),
    )
)
_param(Def(363, "MaximumReceiveSensitivity", F("MaximumSensitivityValue:s16"), flat=True))
_param(Def(365, "RFSurveyFrequencyCapabilities", F("MinimumFrequency:u32 MaximumFrequency:u32")))

_param(
    Def(
        177,
        "ROSpec",
        F("ROSpecID:u32 Priority:u8 CurrentState:u8"),
        (
            Sub("ROBoundarySpec", 178),
            Sub("AISpecs", 183, True),
            Sub("RFSurveySpecs", 187, True),
            Sub("LoopSpec", 355),
            Sub("ROReportSpec", 237),
        ),
        custom=True,
    )
)
# LLRP 1.0.1 §10.2.3: an RF survey of the band on one antenna, stopped by time or count
_param(
    Def(
        187,
        "RFSurveySpec",
        F("AntennaID:u16 StartFrequency:u32 EndFrequency:u32"),
        (Sub("StopTrigger", 188),),
        custom=True,
    )
)
_param(Def(188, "RFSurveySpecStopTrigger", F("StopTriggerType:u8 DurationPeriod:u32 N:u32")))
_param(Def(355, "LoopSpec", F("LoopCount:u32"), flat=True))  # LLRP 1.1: run the ROSpec's specs this many times
_param(Def(178, "ROBoundarySpec", (), (Sub("StartTrigger", 179), Sub("StopTrigger", 182))))
_param(
    Def(
        179,
        "ROSpecStartTrigger",
        F("Trigger:u8"),
        (Sub("PeriodicTriggerValue", 180), Sub("GPITriggerValue", 181)),
    )
)
_param(Def(180, "PeriodicTriggerValue", F("Offset:u32 Period:u32"), (Sub("UTCTimestamp", 128),)))
_param(Def(181, "GPITriggerValue", F("Port:u16 Event:flag rsv:rsv:7 Timeout:u32")))
_param(Def(182, "ROSpecStopTrigger", F("Trigger:u8 DurationTriggerValue:u32"), (Sub("GPITriggerValue", 181),)))
_param(
    Def(
        183,
        "AISpec",
        F("AntennaIDs:u16v"),
        (Sub("StopTrigger", 184), Sub("InventoryParameterSpecs", 186, True)),
        custom=True,
    )
)
_param(
    Def(
        184,
        "AISpecStopTrigger",
        F("Trigger:u8 DurationTriggerValue:u32"),
        (Sub("GPITriggerValue", 181), Sub("TagObservationTrigger", 185)),
    )
)
_param(
    Def(
        185,
        "TagObservationTrigger",
        F("Trigger:u8 rsv:rsv:8 NumberOfTags:u16 NumberOfAttempts:u16 T:u16 Timeout:u32"),
    )
)
_param(
    Def(
        186,
        "InventoryParameterSpec",
        F("InventoryParameterSpecID:u16 AirProtocolID:u8"),
        (Sub("AntennaConfigurations", 222, True),),
        custom=True,
    )
)
_param(
    Def(
        207,
        "AccessSpec",
        F("AccessSpecID:u32 AntennaID:u16 AirProtocolID:u8 IsActive:flag rsv:rsv:7 ROSpecID:u32"),
        (Sub("StopTrigger", 208), Sub("AccessCommand", 209), Sub("AccessReportSpec", 239)),
        custom=True,
    )
)
_param(Def(208, "AccessSpecStopTrigger", F("Trigger:u8 OperationCountValue:u16")))
_param(
    Def(
        209,
        "AccessCommand",
        (),
        (
            Sub("C1G2TagSpec", 338),
            Sub("C1G2Read", 341, True),
            Sub("C1G2Write", 342, True),
            Sub("C1G2Kill", 343, True),
            Sub("C1G2Lock", 344, True),
            Sub("C1G2BlockErase", 346, True),
            Sub("C1G2BlockWrite", 347, True),
            Sub("ClientRequestOpSpec", 210, True),
        ),
        custom=True,
    )
)
_param(Def(210, "ClientRequestOpSpec", F("OpSpecID:u16"), flat=True))
_param(
    Def(
        211,
        "ClientRequestResponse",
        F("AccessSpecID:u32"),
        (
            Sub("EPCData", 241),
            Sub("C1G2Read", 341, True),
            Sub("C1G2Write", 342, True),
            Sub("C1G2Kill", 343, True),
            Sub("C1G2Lock", 344, True),
            Sub("C1G2BlockErase", 346, True),
            Sub("C1G2BlockWrite", 347, True),
        ),
    )
)
_param(Def(217, "LLRPConfigurationStateValue", F("LLRPConfigurationStateValue:u32"), flat=True))
_param(Def(218, "Identification", F("IDType:u8 ReaderID:u8v")))
_param(Def(219, "GPOWriteData", F("Port:u16 Data:flag rsv:rsv:7")))
_param(Def(220, "KeepaliveSpec", F("Trigger:u8 Interval:u32")))
_param(Def(221, "AntennaProperties", F("AntennaConnected:flag rsv:rsv:7 AntennaID:u16 AntennaGain:s16")))
_param(
    Def(
        222,
        "AntennaConfiguration",
        F("AntennaID:u16"),
        (Sub("RFReceiver", 223), Sub("RFTransmitter", 224), Sub("C1G2InventoryCommand", 330)),
        custom=True,
    )
)
_param(Def(223, "RFReceiver", F("ReceiverSensitivity:u16"), flat=True))
_param(Def(224, "RFTransmitter", F("HopTableID:u16 ChannelIndex:u16 TransmitPowerIndex:u16")))
_param(Def(225, "GPIPortCurrentState", F("Port:u16 Enabled:flag rsv:rsv:7 State:u8")))
_param(Def(226, "EventsAndReports", F("HoldEventsAndReportsUponReconnect:flag rsv:rsv:7"), flat=True))
_param(
    Def(
        237,
        "ROReportSpec",
        F("Trigger:u8 N:u16"),
        (Sub("TagReportContentSelector", 238),),
        custom=True,
    )
)
_param(
    Def(
        238,
        "TagReportContentSelector",
        F(
            "EnableROSpecID:flag EnableSpecIndex:flag EnableInventoryParamSpecID:flag EnableAntennaID:flag "
            "EnableChannelIndex:flag EnablePeakRSSI:flag EnableFirstSeenTimestamp:flag "
            "EnableLastSeenTimestamp:flag EnableTagSeenCount:flag EnableAccessSpecID:flag rsv:rsv:6"
        ),
        (Sub("C1G2EPCMemorySelector", 348),),
        custom=True,
    )
)
_param(Def(239, "AccessReportSpec", F("AccessReportTrigger:u8"), flat=True))
_param(
    Def(
        240,
        "TagReportData",
        (),
        (
            Sub("EPCData", 241),
            Sub("EPC96", 13),
            Sub("ROSpecID", 9),
            Sub("SpecIndex", 14),
            Sub("InventoryParameterSpecID", 10),
            Sub("AntennaID", 1),
            Sub("PeakRSSI", 6),
            Sub("ChannelIndex", 7),
            Sub("FirstSeenUTC", 2),
            Sub("FirstSeenUptime", 3),
            Sub("LastSeenUTC", 4),
            Sub("LastSeenUptime", 5),
            Sub("TagSeenCount", 8),
            Sub("C1G2PC", 12),
            Sub("C1G2XPCW1", 19),
            Sub("C1G2XPCW2", 20),
            Sub("C1G2CRC", 11),
            Sub("AccessSpecID", 16),
            Sub("C1G2ReadOpSpecResult", 349, True),
            Sub("C1G2WriteOpSpecResult", 350, True),
            Sub("C1G2KillOpSpecResult", 351, True),
            Sub("C1G2LockOpSpecResult", 352, True),
            Sub("C1G2BlockEraseOpSpecResult", 353, True),
            Sub("C1G2BlockWriteOpSpecResult", 354, True),
            Sub("ClientRequestOpSpecResult", 15),
        ),
        custom=True,
    )
)
_param(Def(241, "EPCData", F("EPC:u1v")))
# an RF survey's result (LLRP 1.0.1 §13.2.4): the RSSI seen per frequency
_param(
    Def(
        242,
        "RFSurveyReportData",
        (),
        (Sub("ROSpecID", 9), Sub("SpecIndex", 14), Sub("FrequencyRSSILevelEntries", 243, True)),
        custom=True,
    )
)
_param(
    Def(
        243,
        "FrequencyRSSILevelEntry",
        F("Frequency:u32 Bandwidth:u32 AverageRSSI:s8 PeakRSSI:s8"),
        (Sub("UTCTimestamp", 128), Sub("Uptime", 129)),
    )
)
_param(Def(244, "ReaderEventNotificationSpec", (), (Sub("EventNotificationStates", 245, True),)))
_param(Def(245, "EventNotificationState", F("ReaderEventType:u16 NotificationEnabled:flag rsv:rsv:7")))
_param(
    Def(
        246,
        "ReaderEventNotificationData",
        (),
        (
            Sub("UTCTimestamp", 128),
            Sub("Uptime", 129),
            Sub("HoppingEvent", 247),
            Sub("GPIEvent", 248),
            Sub("ROSpecEvent", 249),
            Sub("ReportBufferLevelWarningEvent", 250),
            Sub("ReportBufferOverflowErrorEvent", 251),
            Sub("ReaderExceptionEvent", 252),
            Sub("RFSurveyEvent", 253),
            Sub("AISpecEvent", 254),
            Sub("AntennaEvent", 255),
            Sub("ConnectionAttemptEvent", 256),
            Sub("ConnectionCloseEvent", 257),
            Sub("SpecLoopEvent", 356),
        ),
        custom=True,
    )
)
_param(Def(247, "HoppingEvent", F("HopTableID:u16 NextChannelIndex:u16")))
_param(Def(248, "GPIEvent", F("Port:u16 Event:flag rsv:rsv:7")))
_param(Def(249, "ROSpecEvent", F("Trigger:u8 ROSpecID:u32 PreemptingROSpecID:u32")))
_param(Def(250, "ReportBufferLevelWarningEvent", F("ReportBufferPercentageFull:u8"), flat=True))
_param(Def(251, "ReportBufferOverflowErrorEvent"))
#: LLRP 1.0.1 §16.2.7.6.7: an RF survey spec started or ended (EventType 0 start, 1 end)
_param(Def(253, "RFSurveyEvent", F("EventType:u8 ROSpecID:u32 SpecIndex:u16")))
_param(
    Def(
        252,
        "ReaderExceptionEvent",
        F("Message:utf8v"),
        (
            Sub("ROSpecID", 9),
            Sub("SpecIndex", 14),
            Sub("InventoryParameterSpecID", 10),
            Sub("AntennaID", 1),
            Sub("AccessSpecID", 16),
            Sub("OpSpecID", 17),
        ),
        custom=True,
    )
)
_param(Def(254, "AISpecEvent", F("Trigger:u8 ROSpecID:u32 SpecIndex:u16"), (Sub("C1G2SingulationDetails", 18),)))
_param(Def(255, "AntennaEvent", F("Trigger:u8 AntennaID:u16")))
_param(Def(256, "ConnectionAttemptEvent", F("Status:u16"), flat=True))
_param(Def(257, "ConnectionCloseEvent"))
_param(Def(356, "SpecLoopEvent", F("ROSpecID:u32 LoopCount:u32")))
_param(
    Def(
        287,
        "LLRPStatus",
        F("Status:u16 ErrorDescription:utf8v"),
        (Sub("FieldError", 288), Sub("ParameterError", 289)),
    )
)
_param(Def(288, "FieldError", F("FieldIndex:u16 ErrorCode:u16")))
_param(
    Def(
        289,
        "ParameterError",
        F("ParameterType:u16 ErrorCode:u16"),
        (Sub("FieldError", 288), Sub("ParameterError", 289)),
    )
)
_param(
    Def(
        327,
        "C1G2LLRPCapabilities",
        F(
            "SupportsBlockErase:flag SupportsBlockWrite:flag SupportsBlockPermalock:flag "
            "SupportsTagRecommissioning:flag SupportsUMIMethod2:flag SupportsXPC:flag rsv:rsv:2 "
            "MaxSelectFiltersPerQuery:u16"
        ),
    )
)
_param(Def(328, "C1G2UHFRFModeTable", (), (Sub("UHFC1G2RFModeTableEntries", 329, True),)))
_param(
    Def(
        329,
        "C1G2UHFRFModeTableEntry",
        F(
            "ModeID:u32 DivideRatio:bits:1 IsEPCHagConformant:flag rsv:rsv:6 Modulation:u8 "
            "ForwardLinkModulation:u8 SpectralMask:u8 BackscatterDataRate:u32 PIERatio:u32 "
            "MinTariTime:u32 MaxTariTime:u32 StepTariTime:u32"
        ),
    )
)
_param(
    Def(
        330,
        "C1G2InventoryCommand",
        F("TagInventoryStateAware:flag rsv:rsv:7"),
        (Sub("Filters", 331, True), Sub("RFControl", 335), Sub("SingulationControl", 336)),
        custom=True,
    )
)
_param(Def(335, "C1G2RFControl", F("RFModeID:u16 Tari:u16")))
# the Select filters of an inventory (LLRP 1.0.1 §15.2.1.2.1.1): which tags take part
_param(
    Def(
        331,
        "C1G2Filter",
        F("T:bits:2 rsv:rsv:6"),
        (Sub("TagInventoryMask", 332), Sub("StateAwareAction", 333), Sub("StateUnawareAction", 334)),
    )
)
_param(Def(332, "C1G2TagInventoryMask", F("MB:bits:2 rsv:rsv:6 Pointer:u16 TagMask:u1v")))
_param(Def(333, "C1G2TagInventoryStateAwareFilterAction", F("Target:u8 Action:u8")))
_param(Def(334, "C1G2TagInventoryStateUnawareFilterAction", F("Action:u8"), flat=True))
_param(
    Def(
        336,
        "C1G2SingulationControl",
        F("Session:bits:2 rsv:rsv:6 TagPopulation:u16 TagTransitTime:u32"),
        (Sub("StateAwareAction", 337),),
    )
)
_param(Def(337, "C1G2TagInventoryStateAwareSingulationAction", F("I:flag S:flag A:flag rsv:rsv:5")))
_param(Def(338, "C1G2TagSpec", (), (Sub("TargetTags", 339, True),)))
_param(Def(339, "C1G2TargetTag", F("MB:bits:2 Match:flag rsv:rsv:5 Pointer:u16 TagMask:u1v TagData:u1v")))
_param(Def(341, "C1G2Read", F("OpSpecID:u16 AccessPassword:u32 MB:bits:2 rsv:rsv:6 WordPtr:u16 WordCount:u16")))
# access operations (LLRP 1.0.1 §15.2.1.3.2) and their results in a TagReportData
_param(Def(342, "C1G2Write", F("OpSpecID:u16 AccessPassword:u32 MB:bits:2 rsv:rsv:6 WordPointer:u16 WriteData:u16v")))
_param(Def(343, "C1G2Kill", F("OpSpecID:u16 KillPassword:u32")))
_param(Def(344, "C1G2Lock", F("OpSpecID:u16 AccessPassword:u32"), (Sub("LockPayloads", 345, True),)))
_param(Def(345, "C1G2LockPayload", F("Privilege:u8 DataField:u8")))
_ACCESS = "OpSpecID:u16 AccessPassword:u32 MB:bits:2 rsv:rsv:6 WordPointer:u16"
_param(Def(346, "C1G2BlockErase", F(f"{_ACCESS} WordCount:u16")))
_param(Def(347, "C1G2BlockWrite", F(f"{_ACCESS} WriteData:u16v")))
_param(Def(350, "C1G2WriteOpSpecResult", F("Result:u8 OpSpecID:u16 NumWordsWritten:u16")))
_param(Def(351, "C1G2KillOpSpecResult", F("Result:u8 OpSpecID:u16")))
_param(Def(352, "C1G2LockOpSpecResult", F("Result:u8 OpSpecID:u16")))
_param(Def(353, "C1G2BlockEraseOpSpecResult", F("Result:u8 OpSpecID:u16")))
_param(Def(354, "C1G2BlockWriteOpSpecResult", F("Result:u8 OpSpecID:u16 NumWordsWritten:u16")))
_param(Def(348, "C1G2EPCMemorySelector", F("CRCEnabled:flag PCBitsEnabled:flag XPCBitsEnabled:flag rsv:rsv:5")))
_param(Def(349, "C1G2ReadOpSpecResult", F("Result:u8 OpSpecID:u16 Data:u16v")))
_param(Def(CUSTOM, "Custom", F("VendorID:u32 Subtype:u32 Data:rest")))

# -- vendor extensions: Custom parameters by (IANA Private Enterprise Number, subtype) --------
#: A Custom parameter whose (VendorID, Subtype) is here is decoded by its layout and kept under
#: its name beside the raw ``Data`` (which is what is encoded back, so bytes round-trip); the
#: tag report hot path (``reports.py``) keeps it in ``TagReport.extensions``. Adding a vendor's
#: parameter is one line here (docs/adr/0004).
PEN_IMPINJ: Final = 25882
PEN_ZEBRA: Final = 10642
PEN_ALIEN: Final = 17996
VENDOR_PARAMS: Final[dict[tuple[int, int], Def]] = {}


def _vendor(pen: int, subtype: int, d: Def) -> None:
    VENDOR_PARAMS[pen, subtype] = d


# Impinj: peak RSSI in hundredths of a dBm, in TagReportData when the reader's Impinj report
# selector enables it (subtype as in EdgeX app-rfid-llrp-inventory's vendors.go, Apache-2.0)
_vendor(PEN_IMPINJ, 57, Def(CUSTOM, "ImpinjPeakRSSI", F("RSSI:s16"), flat=True))
# Impinj Octane extensions (subtypes as the Wireshark LLRP dissector lists them): the search
# mode in a C1G2InventoryCommand (3: single target with suppression, "TagFocus", session 1),
# the report content selector in an ROReportSpec enabling the serialized TID (FastID) and the
# peak RSSI, and the serialized TID itself in TagReportData (its words; an optional parity
# parameter may follow, kept as a vendor Custom)
_vendor(PEN_IMPINJ, 23, Def(CUSTOM, "ImpinjInventorySearchMode", F("InventorySearchMode:u16"), flat=True))
_vendor(PEN_IMPINJ, 50, Def(CUSTOM, "ImpinjTagReportContentSelector", custom=True))
_vendor(PEN_IMPINJ, 51, Def(CUSTOM, "ImpinjEnableSerializedTID", F("SerializedTIDMode:u16"), flat=True))
_vendor(PEN_IMPINJ, 52, Def(CUSTOM, "ImpinjEnableRFPhaseAngle", F("RFPhaseAngleMode:u16"), flat=True))
_vendor(PEN_IMPINJ, 53, Def(CUSTOM, "ImpinjEnablePeakRSSI", F("PeakRSSIMode:u16"), flat=True))
_vendor(PEN_IMPINJ, 55, Def(CUSTOM, "ImpinjSerializedTID", F("TID:u16v"), custom=True))
_vendor(PEN_IMPINJ, 56, Def(CUSTOM, "ImpinjRFPhaseAngle", F("PhaseAngle:u16"), flat=True))
#: Impinj's custom messages (CUSTOM_MESSAGE subtypes): enable the extensions above per connection
IMPINJ_ENABLE_EXTENSIONS, IMPINJ_ENABLE_EXTENSIONS_RESPONSE = 21, 22
SEARCH_MODES: Final = {"reader_selected": 0, "single_target": 1, "dual_target": 2, "tagfocus": 3}

# -- messages (LLRP §17.1) -------------------------------------------------------------
_STATUS = (Sub("LLRPStatus", 287),)
_message(Def(1, "GET_READER_CAPABILITIES", F("RequestedData:u8"), custom=True))
_message(
    Def(
        11,
        "GET_READER_CAPABILITIES_RESPONSE",
        (),
        (
            *_STATUS,
            Sub("GeneralDeviceCapabilities", 137),
            Sub("LLRPCapabilities", 142),
            Sub("RegulatoryCapabilities", 143),
            Sub("C1G2LLRPCapabilities", 327),
        ),
        custom=True,
    )
)
_message(Def(2, "GET_READER_CONFIG", F("AntennaID:u16 RequestedData:u8 GPIPortNum:u16 GPOPortNum:u16"), custom=True))
_CONFIG_SUBS = (
    Sub("Identification", 218),
    Sub("AntennaProperties", 221, True),
    Sub("AntennaConfigurations", 222, True),
    Sub("ReaderEventNotificationSpec", 244),
    Sub("ROReportSpec", 237),
    Sub("AccessReportSpec", 239),
    Sub("LLRPConfigurationStateValue", 217),
    Sub("KeepAliveSpec", 220),
    Sub("GPIPortCurrentStates", 225, True),
    Sub("GPOWriteData", 219, True),
    Sub("EventsAndReports", 226),
)
_message(Def(12, "GET_READER_CONFIG_RESPONSE", (), (*_STATUS, *_CONFIG_SUBS), custom=True))
_message(
    Def(
        3,
        "SET_READER_CONFIG",
        F("ResetToFactoryDefaults:flag rsv:rsv:7"),
        (
            Sub("ReaderEventNotificationSpec", 244),
            Sub("AntennaProperties", 221, True),
            Sub("AntennaConfigurations", 222, True),
            Sub("ROReportSpec", 237),
            Sub("AccessReportSpec", 239),
            Sub("KeepAliveSpec", 220),
            Sub("GPOWriteData", 219, True),
            Sub("GPIPortCurrentStates", 225, True),
            Sub("EventsAndReports", 226),
        ),
        custom=True,
    )
)
_message(Def(13, "SET_READER_CONFIG_RESPONSE", (), _STATUS))
_message(Def(14, "CLOSE_CONNECTION"))
_message(Def(4, "CLOSE_CONNECTION_RESPONSE", (), _STATUS))
_message(Def(20, "ADD_ROSPEC", (), (Sub("ROSpec", 177),)))
_message(Def(40, "ADD_ACCESSSPEC", (), (Sub("AccessSpec", 207),)))
for t, name in (
    (21, "DELETE_ROSPEC"),
    (22, "START_ROSPEC"),
    (23, "STOP_ROSPEC"),
    (24, "ENABLE_ROSPEC"),
    (25, "DISABLE_ROSPEC"),
):
    _message(Def(t, name, F("ROSpecID:u32")))
    _message(Def(t + 10, name + "_RESPONSE", (), _STATUS))
for t, name in ((41, "DELETE_ACCESSSPEC"), (42, "ENABLE_ACCESSSPEC"), (43, "DISABLE_ACCESSSPEC")):
    _message(Def(t, name, F("AccessSpecID:u32")))
    _message(Def(t + 10, name + "_RESPONSE", (), _STATUS))
_message(Def(30, "ADD_ROSPEC_RESPONSE", (), _STATUS))
_message(Def(50, "ADD_ACCESSSPEC_RESPONSE", (), _STATUS))
_message(Def(26, "GET_ROSPECS"))
_message(Def(36, "GET_ROSPECS_RESPONSE", (), (*_STATUS, Sub("ROSpecs", 177, True))))
_message(Def(44, "GET_ACCESSSPECS"))
_message(Def(54, "GET_ACCESSSPECS_RESPONSE", (), (*_STATUS, Sub("AccessSpecs", 207, True))))
_message(Def(60, "GET_REPORT"))
_message(
    Def(
        61, "RO_ACCESS_REPORT", (), (Sub("TagReportData", 240, True), Sub("RFSurveyReportData", 242, True)), custom=True
    )
)
_message(Def(62, "KEEPALIVE"))
_message(Def(72, "KEEPALIVE_ACK"))
_message(Def(63, "READER_EVENT_NOTIFICATION", (), (Sub("ReaderEventNotificationData", 246),)))
_message(Def(64, "ENABLE_EVENTS_AND_REPORTS"))
_message(Def(100, "ERROR_MESSAGE", (), _STATUS))
_message(Def(45, "CLIENT_REQUEST_OP", (), (Sub("TagReportData", 240),)))
_message(Def(55, "CLIENT_REQUEST_OP_RESPONSE", (), (Sub("ClientRequestResponse", 211),)))
# LLRP 1.1 §17.1.1-4: which protocol versions the reader speaks, and choosing one
_message(Def(46, "GET_SUPPORTED_VERSION"))
_message(Def(56, "GET_SUPPORTED_VERSION_RESPONSE", F("CurrentVersion:u8 SupportedVersion:u8"), _STATUS))
_message(Def(47, "SET_PROTOCOL_VERSION", F("ProtocolVersion:u8")))
_message(Def(57, "SET_PROTOCOL_VERSION_RESPONSE", (), _STATUS))
_message(Def(CUSTOM, "CUSTOM_MESSAGE", F("VendorID:u32 Subtype:u8 Data:rest")))
