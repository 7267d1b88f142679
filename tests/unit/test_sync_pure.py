"""The pure parts of sync and loyalty: the CloudEvents envelope, the topic layout, ordered
stream application, and the redemption allocation, with properties over generated input."""

from __future__ import annotations

import base64
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.loyalty import ALWAYS_EXCLUDED, allocate, redeemable_points
from edge_agent.sync.acl import acl
from edge_agent.sync.streams import StreamState
from edge_agent.wire import envelope
from edge_agent.wire.batches import pack
from edge_agent.wire.topics import (
    StoreTopics,
    TopicError,
    batch_topic,
    cmd,
    parse_cmd,
    parse_lane_event,
    shared_cmd,
    source_of,
)
from sim.central.programs import PRESETS
from tests.conftest import examples

text = st.text(min_size=1, max_size=30)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=examples(3_000))
@given(text, text, text, json_values, st.none() | text, st.none() | st.integers(0, 2**40), st.none() | text)
def test_an_event_survives_the_wire(
    source: str, type_: str, subject: str, data: object, corr: str | None, seq: int | None, key: str | None
) -> None:
    ev = envelope.event(source, type_, data, subject=subject, correlationid=corr, seq=seq, idempotencykey=key)
    back = envelope.decode(envelope.encode(ev))
    assert back == ev and back.key == (source, ev.id)


@settings(max_examples=examples(5_000))
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_payload_decodes_or_says_why(payload: bytes) -> None:
    try:
        ev = envelope.decode(payload)
    except envelope.EnvelopeError as e:
        assert e.code and e.message
    else:
        assert ev.id and ev.source and ev.type


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"not json", "not_json"),
        (b"[]", "not_object"),
        (b'{"specversion": "1.0"}', "missing_attribute"),
        (b'{"specversion": "0.3", "id": "1", "source": "s", "type": "t"}', "specversion"),
        (b'{"specversion": "1.0", "id": "1", "source": "s", "type": "t", "seq": -1}', "seq"),
        (b'{"specversion": "1.0", "id": "1", "source": "s", "type": "t", "seq": 9007199254740992}', "seq"),
        (b'{"specversion": "1.0", "id": "1", "source": "s", "type": "t", "datacontenttype": ""}', "content_type"),
        (
            b'{"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": 1, "data_base64": "AA=="}',
            "data_and_data_base64",
        ),
        (b'{"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data_base64": "not base64!"}', "data_base64"),
    ],
)
def test_bad_envelopes_are_named(payload: bytes, code: str) -> None:
    with pytest.raises(envelope.EnvelopeError) as e:
        envelope.decode(payload)
    assert e.value.code == code


_names = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8)
_events = st.fixed_dictionaries(
    {"specversion": st.just("1.0"), "id": _names, "source": _names, "type": _names},
    optional={
        "time": st.just("2026-12-01T09:16:16Z"),
        "datacontenttype": st.sampled_from(["application/json", "application/octet-stream", "text/xml"]),
        "subject": _names,
        "correlationid": _names,
        "replyto": _names,
        "idempotencykey": _names,
        "seq": st.integers(0, 10**6),
        "traceparent": _names,
    },
).flatmap(
    lambda ev: st.one_of(
        st.just(ev),
        json_values.map(lambda d: {**ev, "data": d}),
        st.binary(max_size=40).map(lambda b: {**ev, "data_base64": base64.b64encode(b).decode()}),
    )
)


@given(_events)
def test_every_valid_cloudevent_round_trips_unchanged(obj: dict[str, object]) -> None:
    """encode(decode(x)) == x: absent attributes stay absent (no "time": "", no datacontenttype
    added), data stays data, data_base64 stays data_base64, extensions are kept."""
    assert json.loads(envelope.encode(envelope.decode(json.dumps(obj)))) == obj


_lanes = st.sampled_from(
    [
        "sco/v1/s1/lane-1/evt/basket.opened",
        "sco/v1/s1/lane-1/evt/item.added",
        "sco/v1/s1/lane-2/evt/item.added",
        "sco/v1/s1/trace/epcis",
    ]
)


@settings(max_examples=examples(2_000))
@given(st.lists(st.tuples(_lanes, json_values), max_size=60), st.integers(1, 12), st.integers(200, 4000))
def test_waiting_rows_pack_into_batches_that_carry_each_event_once_in_its_lanes_order(
    rows: list[tuple[str, object]], max_events: int, max_bytes: int
) -> None:
    outbox = [
        (n + 1, topic, envelope.encode(envelope.event("sco://s1/" + topic.split("/")[3], "t", data, seq=n)))
        for n, (topic, data) in enumerate(rows)
    ]
    messages = pack(outbox, max_events, max_bytes)
    carried: list[tuple[int, str, envelope.Event]] = []
    for m in messages:
        if m.topic.endswith("/evt/batch"):
            events = envelope.decode_batch(m.payload)
            assert 2 <= len(events) <= max_events and len(m.payload) <= max(max_bytes, 0)
            assert all(isinstance(e, envelope.Event) for e in events)
            topics = {t for r, t, _ in outbox if r in m.rows}
            assert {batch_topic(t) for t in topics} == {m.topic}  # one lane's events only
        else:
            events = [envelope.decode(m.payload)]
            assert [t for r, t, _ in outbox if r == m.rows[0]] == [m.topic]
        carried += [(r, m.topic, e) for r, e in zip(m.rows, events, strict=True) if isinstance(e, envelope.Event)]
    assert sorted(r for r, _, _ in carried) == [r for r, _, _ in outbox]  # each row once
    for r, _, e in carried:  # the row's own event, whatever message carried it
        assert e == envelope.decode(outbox[r - 1][2])
    for lane in {t.split("/")[3] for t, _ in rows}:  # within a lane, in the outbox's order
        sent = [r for m in messages for r in m.rows if outbox[r - 1][1].split("/")[3] == lane]
        assert sent == sorted(sent)
    assert [m.rows[0] for m in messages] == sorted(m.rows[0] for m in messages)


def test_one_event_waiting_goes_as_it_is_and_max_events_1_never_batches() -> None:
    row = (7, "sco/v1/s1/lane-1/evt/item.added", '{"specversion":"1.0","id":"1","source":"sco://s1/lane-1","type":"t"}')
    [m] = pack([row])
    assert (m.topic, m.payload, m.rows) == (row[1], row[2].encode(), [7])
    assert [m.topic for m in pack([row, (8, *row[1:])], max_events=1)] == [row[1], row[1]]
    assert [m.topic for m in pack([row, (8, *row[1:])])] == ["sco/v1/s1/lane-1/evt/batch"]


def test_a_batch_is_its_events_each_standing_or_falling_alone() -> None:
    good = envelope.encode(envelope.event("sco://s1/lane-1", "item.added", {"n": 1}))
    [ok, bad] = envelope.decode_batch(envelope.encode_batch([good, b'{"specversion": "1.0"}']))
    assert isinstance(ok, envelope.Event) and ok == envelope.decode(good)
    assert isinstance(bad, envelope.EnvelopeError) and bad.code == "missing_attribute"
    too_many = envelope.encode_batch([good] * 501)
    for payload, code in ((b"{}", "not_batch"), (b"[]", "batch_size"), (too_many, "batch_size"), (b"[1", "not_json")):
        with pytest.raises(envelope.EnvelopeError) as e:
            envelope.decode_batch(payload)
        assert e.value.code == code
    with pytest.raises(TopicError):
        StoreTopics("s1").lane_event("lane-1", "batch")  # reserved for batches


def test_deduper_drops_repeats_and_forgets_the_oldest() -> None:
    d = envelope.Deduper(capacity=2)
    a, b, c = (envelope.event("s", "t", None) for _ in range(3))
    assert [d.seen(a), d.seen(a), d.seen(b), d.seen(c), d.seen(a)] == [False, True, False, False, False]
    assert d.duplicates == 1


def test_topic_layout_of_the_design() -> None:
    t = StoreTopics("store-001")
    assert t.lane_prefix("lane-1") == "sco/v1/store-001/lane-1/evt" and t.epcis == "sco/v1/store-001/trace/epcis"
    assert t.status("agent-1") == "sco/v1/store-001/agent-1/status" and t.resp("a") == "sco/v1/store-001/a/resp"
    assert cmd("payment", "s1", "a1", "create") == "svc/v1/payment/cmd/s1/a1/create"
    command = parse_cmd(cmd("loyalty", "s1", "a1", "hold"))
    assert (command.service, command.store, command.agent, command.op, command.source) == (
        "loyalty",
        "s1",
        "a1",
        "hold",
        "sco://s1/a1",
    )
    assert shared_cmd("loyalty") == "$share/loyalty/svc/v1/loyalty/cmd/#"
    for bad in ("svc/v1/loyalty/cmd/hold", "svc/v1/loyalty/cmd/s1/+/hold", "svc/v1/loyalty/x/s1/a1/hold"):
        with pytest.raises(TopicError):
            parse_cmd(bad)
    assert parse_lane_event("sco/v1/s/l/evt/basket.opened") == ("s", "l", "basket.opened")
    assert source_of(t.lane_prefix("lane-1")) == "sco://store-001/lane-1"
    for bad in ("a/b", "+", "#", "", "trace"):
        with pytest.raises(TopicError):
            t.lane_prefix(bad)
    with pytest.raises(TopicError):
        parse_cmd("sco/v1/x")


def test_acl_names_each_agents_lanes_only() -> None:
    text_ = acl({"s1": {"a1": ["l1", "l2"], "a2": ["l3"]}})
    a1 = text_.split("user s1.a1\n")[1].split("\n\n")[0]
    assert "topic write sco/v1/s1/l1/evt/#" in a1 and "topic write sco/v1/s1/l2/evt/#" in a1 and "l3" not in a1
    assert "topic read sco/v1/s1/a1/resp" in a1 and "a2" not in a1 and "user central" in text_
    # commands: under its own name only, the operations it needs, no wildcard
    assert "topic write svc/v1/loyalty/cmd/s1/a1/accrue" in a1 and "topic write svc/v1/payment/cmd/s1/a1/get" in a1
    assert not [
        line for line in a1.splitlines() if line.startswith("topic write svc/") and ("+" in line or "#" in line)
    ]


def _deltas(n: int) -> list[tuple[str, int, dict[str, object]]]:
    return [("delta", v, {"v": v}) for v in range(1, n + 1)]


@settings(max_examples=examples(3_000))
@given(st.integers(1, 12), st.randoms(use_true_random=False), st.integers(0, 5), st.integers(0, 12))
def test_streams_apply_in_order_whatever_the_delivery(n: int, rnd: random.Random, repeats: int, snap_at: int) -> None:
    """Deltas 1..n (and a snapshot at some version) delivered shuffled and repeated end in the
    same state as in-order delivery: every version applied once, in increasing order."""
    messages = [("snapshot", 0, {"v": 0}), *_deltas(n)]
    snap = min(snap_at, n)
    messages.append(("snapshot", snap, {"v": snap}))
    messages += [rnd.choice(messages) for _ in range(repeats)]
    rnd.shuffle(messages)
    state = StreamState()
    applied: list[int] = []
    for kind, version, data in messages:
        for step in state.offer(kind, version, data):  # type: ignore[arg-type]
            assert not applied or step.version > applied[-1]  # strictly increasing
            if not step.snapshot:
                assert step.version == (applied[-1] if applied else -1) + 1  # a delta only on its predecessor
            applied.append(step.version)
    assert state.version == n and not state.held  # everything arrived: nothing is left waiting


lines_st = st.lists(
    st.tuples(
        st.integers(0, 500_000),
        st.sampled_from(["dairy", "bakery", "tobacco", "nicotine", "alcohol_mrp", "lottery", ""]),
    ),
    min_size=0,
    max_size=30,
)


@settings(max_examples=examples(10_000))
@given(
    lines_st,
    st.integers(0, 10**6),
    st.sampled_from([1, 10, 100]),
    st.integers(0, 100),
    st.frozensets(st.sampled_from(["alcohol_mrp", "lottery", "dairy"])),
)
def test_redemption_is_exact_capped_and_never_touches_excluded_lines(
    raw: list[tuple[int, str]], points: int, value: int, pct: int, excluded: frozenset[str]
) -> None:
    lines = [(i + 1, price, cat) for i, (price, cat) in enumerate(raw)]
    plan = allocate(lines, points, point_value_kop=value, max_redeem_pct=pct, excluded=excluded)
    assert sum(plan.lines.values()) == plan.kopecks == plan.points * value  # discounts add up exactly
    assert plan.points <= min(
        points, redeemable_points(lines, points, point_value_kop=value, max_redeem_pct=pct, excluded=excluded)
    )
    eligible = sum(p for _, p, c in lines if c not in excluded | ALWAYS_EXCLUDED)
    assert plan.kopecks <= eligible * pct // 100  # the program's cap
    prices = {i: (p, c) for i, p, c in lines}
    for line_id, kop in plan.lines.items():
        price, cat = prices[line_id]
        assert 0 < kop <= price and cat not in excluded | ALWAYS_EXCLUDED  # no tobacco, nothing below zero
    assert (
        allocate(list(reversed(lines)), points, point_value_kop=value, max_redeem_pct=pct, excluded=excluded) == plan
    )  # order does not matter


def test_program_presets_of_the_flows_reference() -> None:
    magnit, x5 = PRESETS["magnit_like"], PRESETS["x5_legacy"]
    assert magnit.accrual(100_000, 100_000, False) == 10 and magnit.accrual(100_000, 100_000, True) == 0
    assert x5.accrual(50_000, 50_000, False) == 25 and x5.accrual(60_000, 60_000, False) == 60  # 1/20 RUB, 1/10 RUB
    assert (
        allocate(
            [(1, 10_000, "dairy")],
            10_000,
            point_value_kop=x5.point_value_kop,
            max_redeem_pct=x5.max_redeem_pct,
            excluded=x5.excluded_categories,
        ).kopecks
        == 10_000
    )  # (x5: up to 100 %, 10 points = 1 RUB)


def test_stream_payloads_are_checked_whole_before_anything_is_applied() -> None:
    from edge_agent.wire.stream_payloads import PayloadError, stream_data

    good = stream_data(
        "catalog",
        {"version": 3, "products": [{"gtin": "04600000000015", "name": "Bread", "price": 5500, "extra": "ignored"}]},
    )
    assert good["products"][0]["price"] == 5500 and good["delete"] == []
    for stream, data, where in (
        ("codes", {"version": 1, "codes": []}, "codes"),  # a list where the map of КИ → КМ belongs
        ("catalog", {"version": 1, "products": [{"gtin": "04600000000015", "name": "B", "price": "x"}]}, "price"),
        ("catalog", {"version": 10**20}, "version"),  # beyond what the store can keep
        ("catalog", {"version": 1, "products": [{"gtin": "4600", "name": "B", "price": 1}]}, "gtin"),
        ("catalog", ["not", "an", "object"], "data"),
    ):
        with pytest.raises(PayloadError) as info:
            stream_data(stream, data)
        assert info.value.code == "bad_payload" and where in info.value.message
