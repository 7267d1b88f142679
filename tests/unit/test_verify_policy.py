"""The sale verdict: every deny rule in its order, the offline rules, expiry in the store's
zone, the tobacco price range, partial sales, and the receipt's fiscal data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.verify import CheckContext, CodeAnswer, Outcome, Source, decide, unavailable
from tests.conftest import examples

MSK = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MILK = "0104610053149777215d/wuU\x1d93dGVz"
PACK = "04603731175212JEIjNYDAAAAtFwS"
ONLINE = CheckContext(Source("ts_piot"), "f7b51a1b-0000-4000-8000-000000000001", 1795431671995)
OFFLINE = CheckContext(Source("local_module"), "a1", 1795431671000, offline=True, inst="lm-1", version="1.4.1")
GOOD = CodeAnswer(
    cis=MILK, valid=True, found=True, utilised=True, verified=True, realizable=True, sold=False, group_ids=(8,)
)


def codes(answer: CodeAnswer, **kw: object) -> list[str]:
    verdict = decide(MILK, answer, kw.pop("context", ONLINE), kw.pop("now", NOW), tz=kw.pop("tz", MSK), **kw)  # type: ignore[arg-type]
    return [r.code for r in verdict.reasons]


def test_a_good_answer_allows_the_sale() -> None:
    verdict = decide(MILK, GOOD, ONLINE, NOW, tz=MSK)
    assert verdict.outcome is Outcome.ALLOWED and verdict.reasons == ()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"valid": False}, "NOT_VALID"),
        ({"found": False}, "NOT_FOUND"),
        ({"utilised": False}, "NOT_UTILISED"),
        ({"verified": False}, "NOT_VERIFIED"),
        ({"is_blocked": True, "ogvs": ("RAR", "FNS")}, "BLOCKED"),
        ({"sold": True}, "SOLD"),
        ({"realizable": False}, "NOT_REALIZABLE"),
        ({"expire_date": datetime(2026, 11, 22, tzinfo=UTC)}, "EXPIRED"),
    ],
)
def test_each_deny_rule_blocks_on_its_own(change: dict[str, object], code: str) -> None:
    verdict = decide(MILK, replace(GOOD, **change), ONLINE, NOW, tz=MSK)  # type: ignore[arg-type]
    assert verdict.outcome is Outcome.BLOCKED
    assert [r.code for r in verdict.reasons] == [code]


def test_first_hit_wins_and_every_hit_is_kept_in_the_legal_order() -> None:
    answer = replace(GOOD, realizable=False, sold=True, is_blocked=True, verified=False, found=False, ogvs=("MVD",))
    assert codes(answer) == ["NOT_FOUND", "NOT_VERIFIED", "BLOCKED", "SOLD", "NOT_REALIZABLE"]
    verdict = decide(MILK, answer, ONLINE, NOW, tz=MSK)
    assert verdict.ogvs == ("MVD",) and "MVD" in verdict.reasons[2].message


def test_tobacco_in_the_grey_zone_may_be_sold_though_not_realizable() -> None:
    grey = replace(GOOD, realizable=False, gray_zone=True, group_ids=(3,))
    assert codes(grey) == []
    assert codes(replace(grey, group_ids=(8,))) == ["NOT_REALIZABLE"]  # milk has no grey zone


@pytest.mark.parametrize(
    ("price", "expected"),
    [(14_999, ["PRICE_BELOW_MIN"]), (15_000, []), (21_000, []), (21_001, ["PRICE_ABOVE_MAX"])],
)
def test_tobacco_price_must_lie_between_smp_and_mrp(price: int, expected: list[str]) -> None:
    pack = replace(GOOD, group_ids=(3,), smp=15_000, mrp=21_000)
    assert codes(pack, unit_price=price) == expected
    assert codes(replace(pack, group_ids=(8,)), unit_price=price) == []  # milk: no price control


def test_expiry_is_judged_on_the_store_calendar_day() -> None:
    # the services send a date as midnight UTC; the item is sellable through that day, locally
    expires_nov_23 = replace(GOOD, expire_date=datetime(2026, 11, 23, tzinfo=UTC))
    late_evening_msk = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 23:30 in Moscow, 07:30 Nov 24 in Vladivostok
    assert codes(expires_nov_23, now=late_evening_msk, tz=MSK) == []
    assert codes(expires_nov_23, now=late_evening_msk, tz=VLADIVOSTOK) == ["EXPIRED"]
    # an exact moment is an exact moment
    exact = replace(GOOD, expire_date=datetime(2026, 11, 23, 11, 59, tzinfo=UTC))
    assert codes(exact) == ["EXPIRED"]


def test_partial_sale_counts_the_units_left_in_the_pack() -> None:
    pack = replace(GOOD, inner_unit_count=20, sold_unit_count=18)
    assert codes(pack, units=2) == []
    assert codes(pack, units=3) == ["SOLD"]
    assert codes(replace(pack, sold_unit_count=20)) == ["SOLD"]


def test_withdrawal_that_still_allows_sale_is_not_a_repeat_sale() -> None:
    assert codes(replace(GOOD, sold=True, elimination_state=1)) == []
    assert codes(replace(GOOD, sold=True, elimination_state=7)) == ["SOLD"]


def test_offline_answers_deny_only_on_blocked_and_sold() -> None:
    offline = CodeAnswer(cis=MILK, valid=False, found=False, verified=False, realizable=False, utilised=False)
    assert codes(offline, context=OFFLINE) == []
    assert codes(replace(offline, is_blocked=True), context=OFFLINE) == ["BLOCKED"]
    assert codes(replace(offline, sold=True), context=OFFLINE) == ["SOLD"]


def test_receipt_data_online_and_offline() -> None:
    online = decide(MILK, GOOD, ONLINE, NOW, tz=MSK).fiscal()
    assert online == {
        "2000": MILK,
        "1260": {
            "1262": "030",  # checked 23.11.2026: ПП №1944 of 21.11.2023 (fiscal/requisites.py)
            "1263": "21.11.2023",
            "1264": "1944",
            "1265": "UUID=f7b51a1b-0000-4000-8000-000000000001&Time=1795431671995",
        },
    }
    offline = decide(MILK, GOOD, OFFLINE, NOW, tz=MSK).fiscal()
    assert offline["1260"]["1265"] == "UUID=a1&Time=1795431671000&Inst=lm-1&Ver=1.4.1"


def test_unavailable_is_neither_allowed_nor_fiscalised() -> None:
    verdict = unavailable(PACK, "online timed out after 1.5 s; Local Module in sync_error")
    assert verdict.outcome is Outcome.UNAVAILABLE and not verdict.allowed
    assert verdict.reasons[0].code == "MARKING_CHECK_UNAVAILABLE"
    assert verdict.fiscal() == {"2000": PACK, "1260": None}


def test_answers_are_read_tolerantly_from_json() -> None:
    answer = CodeAnswer.from_json(
        {
            "cis": MILK,
            "valid": True,
            "found": True,
            "utilised": True,
            "verified": True,
            "realizable": True,
            "isBlocked": True,
            "ogvs": ["RPN"],
            "sold": False,
            "expireDate": "2026-12-01T00:00:00.000Z",
            "groupIds": [8, "x"],
            "mrp": None,
            "somethingNew": {"a": 1},
            "errorCode": 0,
        }
    )
    assert (answer.is_blocked, answer.ogvs, answer.group_ids, answer.mrp) == (True, ("RPN",), (8,), None)
    assert answer.expire_date == datetime(2026, 12, 1, tzinfo=UTC)
    assert CodeAnswer.from_json({"expireDate": "not a date", "valid": "yes"}) == CodeAnswer(valid=None)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        decide(MILK, GOOD, ONLINE, datetime(2026, 11, 23), tz=MSK)


_flags = st.none() | st.booleans()


@settings(max_examples=examples(5_000))
@given(
    st.builds(
        CodeAnswer,
        valid=_flags,
        found=_flags,
        utilised=_flags,
        verified=_flags,
        realizable=_flags,
        is_blocked=st.booleans(),
        sold=_flags,
        gray_zone=st.booleans(),
        group_ids=st.sampled_from([(), (3,), (8,), (16,)]),
        mrp=st.none() | st.integers(0, 10**6),
        smp=st.none() | st.integers(0, 10**6),
        inner_unit_count=st.none() | st.integers(0, 50),
        sold_unit_count=st.none() | st.integers(0, 50),
    ),
    st.booleans(),
    st.none() | st.integers(0, 10**6),
)
def test_a_verdict_is_allowed_exactly_when_no_rule_hits(answer: CodeAnswer, offline: bool, price: int | None) -> None:
    verdict = decide(MILK, answer, OFFLINE if offline else ONLINE, NOW, tz=MSK, unit_price=price)
    assert verdict.allowed == (verdict.reasons == ())
    assert verdict.outcome in (Outcome.ALLOWED, Outcome.BLOCKED)
    if offline:
        assert {r.code for r in verdict.reasons} <= {"BLOCKED", "SOLD"}
    assert verdict.fiscal()["1260"] is not None
