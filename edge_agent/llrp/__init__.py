"""LLRP (Low Level Reader Protocol), sans-I/O: codec, tag reports, and the client session.

Nothing here touches a socket: ``drivers/llrp.py`` (the agent's reader driver) and
``sim/llrp_reader.py`` (the simulated reader) put it on TCP.
"""

from edge_agent.llrp.codec import (
    HEADER_SIZE,
    Framer,
    LLRPError,
    Message,
    decode_body,
    decode_message,
    encode_body,
    encode_message,
)
from edge_agent.llrp.reports import TagReport, decode_tag_reports, encode_tag_reports

__all__ = [
    "HEADER_SIZE",
    "Framer",
    "LLRPError",
    "Message",
    "TagReport",
    "decode_body",
    "decode_message",
    "decode_tag_reports",
    "encode_body",
    "encode_message",
    "encode_tag_reports",
]
