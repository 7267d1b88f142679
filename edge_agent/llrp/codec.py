"""LLRP binary codec, sans-I/O: bytes in, typed messages out, and back.

``decode_message``/``encode_message`` handle any message in :mod:`schema`; ``Framer``
splits a TCP byte stream into messages. Decoded bodies are plain dicts keyed by parameter
and field names (bytes fields stay ``bytes``); encoding a decoded body gives back the same
bytes. Malformed input raises :class:`LLRPError` with a stable ``code`` and the byte
``position`` where decoding stopped.
"""

from __future__ import annotations

from collections.abc import Iterator

from edge_agent.llrp.decode import (
    decode_body,
    decode_header,
    decode_message,
    decode_vendor,
    unknown_parameters,
)
from edge_agent.llrp.encode import (
    encode_body,
    encode_frame,
    encode_message,
    encode_parameter,
    encode_vendor,
)
from edge_agent.llrp.fields import (
    HEADER,
    HEADER_SIZE,
    MAX_MESSAGE,
    ORDER,
    UNKNOWN,
    VERSION_1_0_1,
    VERSION_1_1,
    LLRPError,
    Message,
    tv_size,
)

__all__ = [
    "HEADER",
    "HEADER_SIZE",
    "MAX_MESSAGE",
    "ORDER",
    "UNKNOWN",
    "VERSION_1_0_1",
    "VERSION_1_1",
    "Framer",
    "LLRPError",
    "Message",
    "decode_body",
    "decode_header",
    "decode_message",
    "decode_vendor",
    "encode_body",
    "encode_frame",
    "encode_message",
    "encode_parameter",
    "encode_vendor",
    "tv_size",
    "unknown_parameters",
]


# -- framing ---------------------------------------------------------------------------
class Framer:
    """Splits a byte stream into whole LLRP frames (header included)."""

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self._buf = bytearray()
        self._max = max_message

    def feed(self, data: bytes) -> None:
        self._buf += data

    def frames(self) -> Iterator[bytes]:
        buf = self._buf
        start = 0
        try:
            while len(buf) - start >= HEADER_SIZE:
                length = int.from_bytes(buf[start + 2 : start + 6], "big")
                if length < HEADER_SIZE or length > self._max:
                    raise LLRPError("bad_length", f"message length {length} is impossible", start + 2)
                if len(buf) - start < length:
                    break
                yield bytes(buf[start : start + length])
                start += length
        finally:
            del buf[:start]

    @property
    def pending(self) -> int:
        return len(self._buf)
