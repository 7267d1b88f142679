"""LLRP messages (LLRP 1.0.1 §17.1, 1.1 §17.1.1-4). Data: one ``_message`` line each."""

from __future__ import annotations

from edge_agent.llrp.layouts import CUSTOM, Def, F, Sub, _message

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
