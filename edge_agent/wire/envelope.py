"""CloudEvents 1.0 in structured JSON mode: the envelope of every MQTT payload (docs/mqtt.md).

Pure. ``Event`` is the envelope; ``encode``/``decode`` turn it into bytes and back, and
``decode`` refuses a malformed payload with an ``EnvelopeError`` (stable ``code``, human
``message``) instead of raising anything else. ``encode_batch``/``decode_batch``: several
events in one message, in the CloudEvents JSON batch format (a JSON array; each event stands
or falls on its own). Extensions: ``correlationid`` and ``replyto``
on requests and responses (MQTT 3.1.1 has no properties for them), ``seq`` (per basket) on
basket events and ``idempotencykey`` on requests that move money or points. ``Deduper``
remembers the last N ``(source, id)`` pairs: consumers drop what they have seen.

``encode(decode(x))`` is ``x`` (as JSON) for every valid event of the CloudEvents JSON format:
optional attributes stay absent when they were absent (``time``, ``datacontenttype``), ``data``
and ``data_base64`` (binary data, Base64) are kept as they came — never both, which is invalid.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from edge_agent.errors import EdgeError

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
BATCH_CONTENT_TYPE: Final = "application/cloudevents-batch+json"
#: events in one batch, at most
MAX_BATCH: Final = 500
#: the largest ``seq``: exact as a JSON number everywhere (2^53 - 1) and within SQLite's INTEGER
MAX_SEQ: Final = 2**53 - 1
_REQUIRED: Final = ("specversion", "id", "source", "type")
_EXTENSIONS: Final = ("subject", "correlationid", "replyto", "seq", "idempotencykey")


class EnvelopeError(EdgeError, ValueError):
    """A payload that is not a CloudEvent we can use (``code`` stable, ``message`` human)."""


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    source: str
    type: str
    time: str | None
    data: Any = None
    subject: str | None = None
    correlationid: str | None = None
    replyto: str | None = None
    seq: int | None = None
    idempotencykey: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    datacontenttype: str | None = CONTENT_TYPE
    #: binary data, Base64 (``data`` is then None); and whether the event had ``data`` at all
    data_base64: str | None = None
    has_data: bool = True

    @property
    def key(self) -> tuple[str, str]:
        """What consumers de-duplicate on."""
        return (self.source, self.id)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"specversion": SPECVERSION, "id": self.id, "source": self.source, "type": self.type}
        for name in ("time", "datacontenttype", *_EXTENSIONS):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.extra)
        if self.data_base64 is not None:
            out["data_base64"] = self.data_base64
        elif self.has_data:
            out["data"] = self.data
        return out


def new_id() -> str:
    return str(uuid.uuid4())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(
    source: str,
    type_: str,
    data: Any,
    *,
    id_: str | None = None,
    time: str | None = None,
    subject: str | None = None,
    correlationid: str | None = None,
    replyto: str | None = None,
    seq: int | None = None,
    idempotencykey: str | None = None,
) -> Event:
    """A new event; ``id`` and ``time`` are made up unless given (replays pass them)."""
    return Event(
        id_ or new_id(), source, type_, time or now_iso(), data, subject, correlationid, replyto, seq, idempotencykey
    )


def encode(ev: Event) -> bytes:
    return json.dumps(ev.as_dict(), ensure_ascii=False, separators=(",", ":")).encode()


def encode_batch(events: Sequence[bytes]) -> bytes:
    """Encoded events → one message in the CloudEvents JSON batch format (a JSON array of
    events, ``application/cloudevents-batch+json``): the events' bytes as they are."""
    return b"[" + b",".join(events) + b"]"


def decode(payload: bytes | str) -> Event:
    """Bytes from the wire → ``Event``, or ``EnvelopeError`` saying what is wrong."""
    return _event(_json(payload))


def decode_batch(payload: bytes | str) -> list[Event | EnvelopeError]:
    """A JSON batch → each of its events, or what is wrong with that one (the others stand);
    ``EnvelopeError`` if the payload is not a batch of at most ``MAX_BATCH`` events."""
    obj = _json(payload)
    if not isinstance(obj, list):
        raise EnvelopeError("not_batch", "a batch of CloudEvents is a JSON array")
    if not obj or len(obj) > MAX_BATCH:
        raise EnvelopeError("batch_size", f"a batch holds 1 to {MAX_BATCH} events, not {len(obj)}")
    out: list[Event | EnvelopeError] = []
    for item in obj:
        try:
            out.append(_event(item))
        except EnvelopeError as e:
            out.append(e)
    return out


def _json(payload: bytes | str) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EnvelopeError("not_json", f"payload is not JSON: {e}") from None


def _event(obj: Any) -> Event:
    if not isinstance(obj, dict):
        raise EnvelopeError("not_object", "a CloudEvent is a JSON object")
    for name in _REQUIRED:
        value = obj.get(name)
        if not isinstance(value, str) or not value:
            raise EnvelopeError("missing_attribute", f"attribute {name!r} must be a non-empty string")
    if obj["specversion"] != SPECVERSION:
        raise EnvelopeError("specversion", f"specversion {obj['specversion']!r} is not {SPECVERSION}")
    ctype = obj.get("datacontenttype")
    if ctype is not None and (not isinstance(ctype, str) or not ctype):
        raise EnvelopeError("content_type", "datacontenttype must be a non-empty string")
    binary = obj.get("data_base64")
    if binary is not None:
        if "data" in obj:
            raise EnvelopeError("data_and_data_base64", "an event carries data or data_base64, not both")
        if not isinstance(binary, str):
            raise EnvelopeError("data_base64", "data_base64 must be a Base64 string")
        try:
            base64.b64decode(binary, validate=True)
        except (binascii.Error, ValueError):
            raise EnvelopeError("data_base64", "data_base64 is not Base64") from None
    seq = obj.get("seq")
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ):
        raise EnvelopeError("seq", f"seq must be an integer from 0 to {MAX_SEQ}")
    for name in ("subject", "correlationid", "replyto", "idempotencykey", "time"):
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise EnvelopeError("attribute_type", f"attribute {name!r} must be a string")
    known = {*_REQUIRED, *_EXTENSIONS, "time", "datacontenttype", "data", "data_base64"}
    extra = {k: v for k, v in obj.items() if k not in known}
    return Event(
        obj["id"],
        obj["source"],
        obj["type"],
        obj.get("time"),
        obj.get("data"),
        obj.get("subject"),
        obj.get("correlationid"),
        obj.get("replyto"),
        seq,
        obj.get("idempotencykey"),
        extra,
        ctype,
        binary,
        "data" in obj,
    )


class Deduper:
    """The last ``capacity`` (source, id) pairs seen; ``seen(ev)`` is True for a repeat."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.duplicates = 0

    def seen(self, ev: Event) -> bool:
        key = ev.key
        if key in self._seen:
            self._seen.move_to_end(key)
            self.duplicates += 1
            return True
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return False
