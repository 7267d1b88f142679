"""LLRP parameters, continued: configuration, RF survey results, events, and the EPC Class 1
Gen 2 air protocol's inventory, filter and access operations (LLRP 1.0.1 §15-16). Data."""

from __future__ import annotations

from edge_agent.llrp.layouts import CUSTOM, Def, F, Sub, _param

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
