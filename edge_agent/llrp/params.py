"""LLRP parameters: TV (LLRP 1.0.1 §16.2.1, §16.2.7.3) and the TLV parameters of reader
operations, reports and configuration (§16.2). Data: one ``_param`` line each."""

from __future__ import annotations

from edge_agent.llrp.layouts import Def, F, Field, Sub, _param

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
