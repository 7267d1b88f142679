"""Central's services and event sink take whatever an agent sends (the network is hostile): any
command data, any event data on a lane's topic, alone or in a batch, any retained status. No
message makes a handler fail (``handler_errors`` stays 0), and none raises out of ``handle``,
which would stop paho's network thread or make RabbitMQ redeliver it for ever."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.wire import envelope
from sim.central import db
from sim.central.node import MAX_GAP, CentralNode
from tests.conftest import examples

KEYS = [
    "customer",
    "transaction_id",
    "lines",
    "price",
    "category",
    "points",
    "basket",
    "ttl_s",
    "id",
    "amount",
    "method",
    "instrument",
    "payment_id",
    "kind",
    "ref",
    "code",
    "qty",
    "transactionId",
    "totalKop",
    "lane",
    "state",
    "readers",
    "delivery",
]
scalars = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False) | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=10,
)
COMMANDS = [("loyalty", op) for op in ("identify", "verify", "quote", "hold", "commit", "release", "accrue", "reverse")]
COMMANDS += [("payment", op) for op in ("create", "get", "capture", "cancel", "refund")]
EVENTS = ["transaction.posted", "transaction.returned", "basket.opened", "gate.alarm"]
RESP = "sco/v1/s1/agent-1/resp"


@pytest.fixture(scope="module")
def central() -> Iterator[CentralNode]:
    with tempfile.TemporaryDirectory() as d:
        node = CentralNode(Path(d) / "central.db")
        yield node
        node.conn.close()


def errors(central: CentralNode) -> int:
    return db.counter(central.conn, "handler_errors")


@settings(max_examples=examples(1_500), suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.sampled_from(COMMANDS), values)
def test_any_command_data_is_answered_or_refused(central: CentralNode, command: tuple[str, str], data: object) -> None:
    service, op = command
    ev = envelope.event(
        "sco://s1/agent-1", f"{service}.{op}", data, correlationid="c", replyto=RESP, idempotencykey=envelope.new_id()
    )
    central.handle(f"svc/v1/{service}/cmd/s1/agent-1/{op}", envelope.encode(ev))
    assert errors(central) == 0


@settings(max_examples=examples(1_500), suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    st.sampled_from(EVENTS),
    st.lists(values, min_size=1, max_size=3),
    st.none() | st.integers(0, 40) | st.integers(0, 2**64),
    st.none() | st.text(max_size=6),
    values,
)
def test_any_event_data_alone_or_batched_and_any_status_is_taken_in(
    central: CentralNode, type_: str, data: list[object], seq: int | None, subject: str | None, status: object
) -> None:
    events = [envelope.event("sco://s1/lane-1", type_, d, seq=seq, subject=subject, replyto=RESP) for d in data]
    gaps_before = central.conn.execute("SELECT COUNT(*) FROM gaps").fetchone()[0]
    central.handle(f"sco/v1/s1/lane-1/evt/{type_}", envelope.encode(events[0]))
    central.handle("sco/v1/s1/lane-1/evt/batch", envelope.encode_batch([envelope.encode(e) for e in events]))
    agent_status = envelope.event("sco://s1/agent-1", "agent.status", status)
    central.handle("sco/v1/s1/agent-1/status", envelope.encode(agent_status))
    assert errors(central) == 0
    ids = [e.id for e in events]
    stored = central.conn.execute(f"SELECT COUNT(*) FROM events WHERE id IN ({','.join('?' * len(ids))})", ids)
    valid = seq is None or seq <= envelope.MAX_SEQ  # a seq past 2^53 - 1 is a bad envelope (counted, dropped)
    assert stored.fetchone()[0] == (len(events) if valid else 0)  # every event of the lane kept, whatever its data
    gaps = central.conn.execute("SELECT COUNT(*) FROM gaps").fetchone()[0] - gaps_before
    assert gaps <= MAX_GAP * len(events)  # a seq far ahead is a jump, not a flood of gaps


def test_a_basket_stream_in_order_opens_no_gap_and_a_jump_opens_only_what_is_missing(central: CentralNode) -> None:
    def send(seq: int, subject: str = "basket/b-order") -> None:
        ev = envelope.event("sco://s1/lane-2", "basket.line_added", {}, seq=seq, subject=subject, replyto=RESP)
        central.handle("sco/v1/s1/lane-2/evt/basket.line_added", envelope.encode(ev))

    def gaps(subject: str = "basket/b-order") -> list[int]:
        return [r[0] for r in central.conn.execute("SELECT seq FROM gaps WHERE subject = ? ORDER BY seq", (subject,))]

    for seq in range(1, 2_001):
        send(seq)
    assert gaps() == []
    send(2_005)  # 2,001-2,004 lost on the way
    send(2_003)  # one of them late: it closes its gap (the next check drops it)
    assert gaps() == [2_001, 2_002, 2_003, 2_004]
    central._ask_for_gaps(grace_s=0.0)
    assert gaps() == [2_001, 2_002, 2_004]
    send(10**15, "basket/b-jump")  # a seq no basket reaches: noted as a jump, not a billion gaps
    assert gaps("basket/b-jump") == [] and db.counter(central.conn, "events.seq_jumps") >= 1
