"""Vendor extensions: LLRP Custom parameters by (IANA Private Enterprise Number, subtype). Data."""

from __future__ import annotations

from typing import Final

from edge_agent.llrp.layouts import CUSTOM, Def, F, _vendor

# -- vendor extensions: Custom parameters by (IANA Private Enterprise Number, subtype) --------
#: A Custom parameter whose (VendorID, Subtype) is here is decoded by its layout and kept under
#: its name beside the raw ``Data`` (which is what is encoded back, so bytes round-trip); the
#: tag report hot path (``reports.py``) keeps it in ``TagReport.extensions``. Adding a vendor's
#: parameter is one line here (docs/adr/0004).
PEN_IMPINJ: Final = 25882
PEN_ZEBRA: Final = 10642
PEN_ALIEN: Final = 17996


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
# the Doppler shift of a tag's reply (Octane LTK: enable 67, value 68, signed, in 1/16 Hz)
_vendor(PEN_IMPINJ, 67, Def(CUSTOM, "ImpinjEnableRFDopplerFrequency", F("RFDopplerFrequencyMode:u16"), flat=True))
_vendor(PEN_IMPINJ, 68, Def(CUSTOM, "ImpinjRFDopplerFrequency", F("DopplerFrequency:s16"), flat=True))
#: Impinj's custom messages (CUSTOM_MESSAGE subtypes): enable the extensions above per connection
IMPINJ_ENABLE_EXTENSIONS, IMPINJ_ENABLE_EXTENSIONS_RESPONSE = 21, 22
SEARCH_MODES: Final = {"reader_selected": 0, "single_target": 1, "dual_target": 2, "tagfocus": 3}
