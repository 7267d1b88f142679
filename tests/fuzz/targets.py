"""Fuzz targets: every parser the outside world can reach, fed what the outside world could send.

Each target takes raw bytes and runs them through the same code the daemon runs on that input;
it may end in the parser's own typed error (the answer a user gets), never in anything else.
``tests/fuzz/run.py`` runs them under atheris (coverage-guided libFuzzer); the regression test
replays the seeds and every input ever found in ``tests/fuzz/regressions/``.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from drivers.scanner_lines import LineFramer, Scan
from drivers.tap import nfc_tag_read
from edge_agent.age import token as age_token
from edge_agent.api.kiosk import Identify, Pay, Redeem
from edge_agent.api.staff import PinLogin
from edge_agent.codes import ParseError, parse
from edge_agent.codes.ndef import NdefError, parse_message
from edge_agent.config import Config
from edge_agent.egais import cheque as egais_cheque
from edge_agent.egais import stamp as egais_stamp
from edge_agent.fiscal.atol import read_results
from edge_agent.fiscal.marks import CheckAnswerError, read_status
from edge_agent.fiscal.register import RegisterError
from edge_agent.llrp import Framer, LLRPError, decode_message, decode_tag_reports
from edge_agent.llrp.inventory import InventoryConfig
from edge_agent.llrp.session import ClientSession
from edge_agent.repositories import open_repositories
from edge_agent.security import pins
from edge_agent.security.pins import PinHashError
from edge_agent.sync.agent import Sync
from edge_agent.wire import envelope
from edge_agent.wire.topics import TopicError, parse_cmd


def mark_codes(data: bytes) -> None:
    """A scanned or typed code, a tag's text, a Digital Link: ParseError or an identity."""
    text = data.decode("utf-8", "surrogateescape")
    try:
        identity = parse(text)
    except ParseError:
        return
    assert identity.ki.startswith("01") and len(identity.gtin) == 14


def ndef(data: bytes) -> None:
    """An NFC tag's NDEF message, as both NFC drivers hand it on."""
    with contextlib.suppress(NdefError):
        parse_message(data)
    read = nfc_tag_read("pad", b"\x04\x01\x02\x03\x04\x05\x06", data, now=0.0)  # never raises
    assert read.kind in ("ndef_uri", "ndef_text", "uid")


_client = ClientSession(InventoryConfig(read_tid_words=2))


def llrp(data: bytes) -> None:
    """Bytes from a reader's TCP stream: framed, then what the agent's session does with them. A
    frame length that cannot be (the stream lost its framing) is the Framer's LLRPError: the
    driver drops the connection and reconnects, as it must."""
    framer = Framer()
    framer.feed(data)
    with contextlib.suppress(LLRPError):
        for frame in framer.frames():
            _client.receive_frame(frame)  # tolerant: skips what it cannot use, never raises
            with contextlib.suppress(LLRPError):
                decode_message(frame)
    with contextlib.suppress(LLRPError):
        decode_tag_reports(data)


def scanner(data: bytes) -> None:
    """A serial scanner's bytes in chunks and pauses: scans or junk, and each scan parses or not."""
    framer = LineFramer(max_scan=256)
    now = 0.0
    for i in range(0, len(data), 7):
        now += 0.2 if data[i] & 1 else 0.001
        for frame in framer.feed(data[i : i + 7], now):
            if isinstance(frame, Scan):
                mark_codes(frame.code.encode("latin-1"))


_BODIES = (Identify, Redeem, Pay, PinLogin)


def http_bodies(data: bytes) -> None:
    """A request body for each route that takes one: a model or a 422, nothing else."""
    for model in _BODIES:
        with contextlib.suppress(ValidationError):
            model.model_validate_json(data)


_tmp = Path(tempfile.mkdtemp(prefix="edge-fuzz-"))
_store = open_repositories(_tmp / "fuzz.db", tz=ZoneInfo("UTC"))
_sync = Sync(Config(), outbox=_store.outbox, requests=_store.requests, catalogue=_store.catalogue)
_TOPICS = (
    _sync.resp_topic,
    "sco/v1/store-001/catalog/other",
    *(f"sco/v1/store-001/{s}/{k}" for s in ("catalog", "codes") for k in ("snapshot", "delta")),
)


def mqtt(data: bytes) -> None:
    """A message on any topic the agent subscribes to, through the agent's own handler."""
    if not data:
        return
    topic = _TOPICS[data[0] % len(_TOPICS)]
    _sync._on_message(topic, data[1:])
    with contextlib.suppress(envelope.EnvelopeError):
        envelope.decode(data[1:])


_KEYS = (
    "version",
    "codes",
    "products",
    "delete",
    "gtin",
    "name",
    "price",
    "vat",
    "marked",
    "qty_limit",
    "loyalty_price",
    "min_age",
    "alcohol",
    "result",
    "error",
    "status",
    "id",
    "04600000000015",
    "ready",
    "onlineValidation",
    "itemInfoCheckResult",
    "markOperatorItemStatus",
    "results",
    "inProgress",
    "imcCheckFlag",
    "imcCheckResult",
    "imcStatusInfo",
    "imcEstimatedStatusCorrect",
    "ecrStandAloneFlag",
)


class _Bytes:
    """Bytes read as a little program that builds a JSON value: the fuzzer's bytes become
    structures with the contract's own keys, so it gets past "is it a dict" quickly."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1] if self.pos <= len(self.data) else 0

    def value(self, depth: int = 0) -> object:
        op = self.byte() % (8 if depth < 4 else 5)
        if op == 0:
            return int.from_bytes(bytes(self.byte() for _ in range(4)), "big", signed=True)
        if op == 1:
            return bytes(self.byte() for _ in range(self.byte() % 40)).decode("utf-8", "replace")
        if op == 2:
            return [None, True, False, 0, -1, 1.5, 10**20][self.byte() % 7]
        if op == 3:
            return _KEYS[self.byte() % len(_KEYS)]
        if op == 4:
            return "0104600000000015215" + str(self.byte())
        if op in (5, 6):
            return {_KEYS[self.byte() % len(_KEYS)]: self.value(depth + 1) for _ in range(self.byte() % 5)}
        return [self.value(depth + 1) for _ in range(self.byte() % 5)]


def register_answers(data: bytes) -> None:
    """What a fiscal register answers (ATOL's Web-server): a request's results and a mark-code
    check's status, read as the driver reads them: a typed error or a value."""
    if not data:
        return
    body = _Bytes(data[1:]).value()
    with contextlib.suppress(RegisterError):
        read_results({"results": body} if data[0] & 1 else body)
    with contextlib.suppress(CheckAnswerError):
        check = read_status(body)  # type: ignore[arg-type]
        if check is not None:
            check.refusal()


def mqtt_json(data: bytes) -> None:
    """A well-formed CloudEvent whose ``data`` is any JSON on any subscribed topic: the payload
    checks (not the envelope's) must hold."""
    if not data:
        return
    source = _Bytes(data[1:])
    event = {
        "specversion": "1.0",
        "id": str(source.byte()),
        "source": "central://catalog",
        "type": "catalog.delta",
        "data": source.value(),
    }
    if data[0] & 0x80:
        event["correlationid"] = "c-1"
    _sync._on_message(_TOPICS[data[0] % len(_TOPICS)], json.dumps(event).encode())


def credentials(data: bytes) -> None:
    """What an attacker controls about sign-in and commands: a stored PIN hash read from a
    config file, a command topic on the broker. PinHashError / TopicError, or a valid value."""
    text = data.decode("utf-8", "surrogateescape")
    try:
        n, _r, _p, salt, digest = pins.parse(text)
        assert n >= 4096 and len(digest) == 32 and len(salt) >= 8
    except PinHashError:
        pass
    try:
        command = parse_cmd(text)
        assert command.source == f"sco://{command.store}/{command.agent}" and "/" not in command.op
    except TopicError:
        pass


def event_batches(data: bytes) -> None:
    """A lane's batch of events, as central's sink reads it: EnvelopeError for the batch, or
    each event decoded or refused on its own; a batch of the events decoded is those events."""
    try:
        items = envelope.decode_batch(data)
    except envelope.EnvelopeError as e:
        assert e.code in ("not_json", "not_batch", "batch_size")
        return
    assert 1 <= len(items) <= envelope.MAX_BATCH
    good = [i for i in items if isinstance(i, envelope.Event)]
    if good:
        again = envelope.decode_batch(envelope.encode_batch([envelope.encode(e) for e in good]))
        assert again == good


_AGE_KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))
_AGE_KEYS = {"k": _AGE_KEY.public_key()}


def age_documents(data: bytes) -> None:
    """A scan on a kiosk's document scanner: a TokenError (unreadable or forged) or a token
    the issuer's key signed; a token's own text always reads back to the same token."""
    text = data.decode("latin-1")
    try:
        tok = age_token.parse(text)
        age_token.verify(tok, _AGE_KEYS)
    except age_token.TokenError as e:
        assert e.code in ("unreadable", "forged")
        return
    assert age_token.parse(text) == tok and 0 <= tok.age_over <= 150


def egais(data: bytes) -> None:
    """A scan on a document scanner as an excise stamp, and a УТМ's answer: a StampError, an
    answer, UtmRefused or UtmAnswerError; nothing else."""
    with contextlib.suppress(egais_stamp.StampError):
        parsed = egais_stamp.parse(data.decode("latin-1"))
        assert len(parsed.text) in (68, 150)
    with contextlib.suppress(egais_cheque.UtmRefused, egais_cheque.UtmAnswerError):
        answer = egais_cheque.read_answer(data)
        assert answer.url.startswith(("http://", "https://")) and answer.sign


TARGETS: dict[str, Callable[[bytes], None]] = {
    "mark_codes": mark_codes,
    "ndef": ndef,
    "llrp": llrp,
    "scanner": scanner,
    "http_bodies": http_bodies,
    "mqtt": mqtt,
    "mqtt_json": mqtt_json,
    "register_answers": register_answers,
    "credentials": credentials,
    "event_batches": event_batches,
    "age_documents": age_documents,
    "egais": egais,
}

#: a few valid inputs per target, so the fuzzer starts from the real shapes
SEEDS: dict[str, list[bytes]] = {
    "mark_codes": [
        b"0104610053149777215d/wuU\x1d93dGVz",
        b"04603731175212JEIjNYDAAAAtFwS",
        b"3034257BF7194E4000003039",
        b"https://id.gs1.org/01/04610053149777/21/5d%2FwuU?93=dGVz",
        b"]d20104610053149777215d/wuU<GS>93dGVz",
    ],
    "ndef": [bytes.fromhex("d1010f5501676f6f676c652e636f6d2f61"), bytes.fromhex("d101085402656e68656c6c6f")],
    "llrp": [bytes.fromhex("043f000000200000000100f600160080000c0005c4b4a2a8f4d0010000600000")],
    "scanner": [b"0104610053149777215d/wuU\x1d93dGVz\r", b"\xe80104610053149777215d/wuU\x1d93dGVz\r\n"],
    "http_bodies": [
        b'{"kind": "phone", "ref": "+79990000002"}',
        b'{"method": "sbp"}',
        b'{"staff_id": "s-1", "pin": "1234"}',
        b'{"points": 50}',
    ],
    "register_answers": [b"\x01\x07\x05\x03\x02\x01\x05ready", b"\x00\x05\x02\x1e\x02\x01"],
    "credentials": [
        b"scrypt$16384$8$1$ZXhhbXBsZS1zYWx0LTAx$tkZDqRVMde1dAreBT5UtPjM7ZnfSQXX2uDUaU2y1JRo",
        b"svc/v1/loyalty/cmd/store-001/agent-1/accrue",
        b"scrypt$1$1$1$$",
    ],
    "event_batches": [
        b'[{"specversion": "1.0", "id": "1", "source": "sco://s/l", "type": "item.added", '
        b'"data": {"n": 1}}, {"specversion": "1.0", "id": "2"}]'
    ],
    "egais": [
        b"<A><url>https://check.egais.ru?id=1</url><sign>ABCD</sign><ver>2</ver></A>",
        b"<A><error>bad</error></A>",
        b"22N" + b"0" * 147,
    ],
    "age_documents": [
        age_token.sign(_AGE_KEY, {"kid": "k", "jti": "j", "iat": 0, "exp": 30, "age_over": 18}).encode(),
        b"MAXID1.eyJraWQiOiJrIn0.c2ln",
    ],
    "mqtt_json": [b"\x02\x05\x05\x00\x00\x00\x00\x00\x01\x02\x07\x01\x05\x03\x04\x01\x00\x00\x00\x01"],
    "mqtt": [
        b"\x01"
        + json.dumps(
            {
                "specversion": "1.0",
                "id": "1",
                "source": "central://catalog",
                "type": "catalog.snapshot",
                "data": {"version": 1, "products": [{"gtin": "04600000000015", "name": "B", "price": 5500}]},
            }
        ).encode(),
        b"\x00"
        + json.dumps(
            {
                "specversion": "1.0",
                "id": "2",
                "source": "central",
                "type": "x",
                "correlationid": "c",
                "data": {"result": {}},
            }
        ).encode(),
    ],
}
