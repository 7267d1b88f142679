"""What an NFC tap gives, whatever reads it (PC/SC, nfcpy): the tag's first URI or Text
record as a ``TagRead``, else its UID. Pure."""

from __future__ import annotations

import logging
import time

from edge_agent.codes.ndef import NdefError, parse_message
from edge_agent.reads import TagRead

log = logging.getLogger(__name__)


def nfc_tag_read(reader_id: str, uid: bytes, ndef_message: bytes | None, now: float | None = None) -> TagRead:
    """A tap: the first URI or Text record of the NDEF message, else the tag's UID (hex)."""
    at = time.time() if now is None else now
    if ndef_message:
        try:
            for record in parse_message(ndef_message):
                if record.uri is not None:
                    return TagRead(reader_id, 0, "ndef_uri", record.uri, None, at, tid=uid)
                if record.text is not None:
                    return TagRead(reader_id, 0, "ndef_text", record.text, None, at, tid=uid)
        except NdefError as e:
            log.info("%s: tag %s has bad NDEF: %s", reader_id, uid.hex(), e.message)
    return TagRead(reader_id, 0, "uid", uid.hex().upper(), None, at, tid=uid)
