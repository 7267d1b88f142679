"""LLRP 1.0.1/1.1 message and parameter layouts, as data: where the codec and the sessions
read them (the layouts are registered by the modules imported here).

What a layout is, where its numbers come from and the field kinds: ``layouts.py``.

Where things go: a parameter in ``params.py`` or ``params_c1g2.py``, a message in
``messages.py``, a vendor's parameter in ``vendors.py`` (docs/adr/0004).
"""

from __future__ import annotations

from edge_agent.llrp import messages, params, params_c1g2
from edge_agent.llrp.layouts import CUSTOM, MESSAGE_TYPES, MESSAGES, PARAMS, VENDOR_PARAMS, Def, F, Field, Sub
from edge_agent.llrp.vendors import (
    IMPINJ_ENABLE_EXTENSIONS,
    IMPINJ_ENABLE_EXTENSIONS_RESPONSE,
    PEN_ALIEN,
    PEN_IMPINJ,
    PEN_ZEBRA,
    SEARCH_MODES,
)

#: the tables are complete once these modules ran
LOADED = (params, params_c1g2, messages)

__all__ = [
    "CUSTOM",
    "IMPINJ_ENABLE_EXTENSIONS",
    "IMPINJ_ENABLE_EXTENSIONS_RESPONSE",
    "MESSAGES",
    "MESSAGE_TYPES",
    "PARAMS",
    "PEN_ALIEN",
    "PEN_IMPINJ",
    "PEN_ZEBRA",
    "SEARCH_MODES",
    "VENDOR_PARAMS",
    "Def",
    "F",
    "Field",
    "Sub",
]
