"""Age documents: the digital ID's QR read and signature-checked (pure, fuzzed), and what an
age decision does to a basket (it resolves age checks only, survives a restart, keeps no
personal data)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.age import AgeDecision, token
from edge_agent.age.registry import age_backend
from edge_agent.basket import AgeProof, Basket, Product, Rules, State
from edge_agent.basket.commands import Add
from edge_agent.basket.customer import AgeChecked
from edge_agent.config import Config
from edge_agent.lanes.age import judged, needed_age
from edge_agent.repositories import open_repositories
from tests.conftest import examples

MSK = ZoneInfo("Europe/Moscow")
NOON = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
NIGHT = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 00:30 in Moscow
ENERGY = Product("04600000000022", "Energy drink", 11_900, 20, "drinks", min_age=18)
VODKA = Product("04600000000024", "Vodka 0.5 l", 49_900, 20, "alcohol", "alcohol", min_age=18, alcohol=True)
BREAD = Product("04600000000017", "Bread", 5_500, 10, "bakery")
KEY = Ed25519PrivateKey.generate()
KID = "max-test"


def pub(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return token.b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def qr(age_over: int = 18, key: Ed25519PrivateKey = KEY, kid: str = KID) -> str:
    return token.sign(key, {"kid": kid, "jti": "j-1", "iat": 0, "exp": 30, "age_over": age_over})


def proof(outcome: str = "accepted", reason: str = "", age_over: int = 18) -> AgeProof:
    return AgeProof(outcome, reason, age_over, "digital_id", NOON)


# -- the token ------------------------------------------------------------------------------
def test_a_signed_token_is_read_and_verified() -> None:
    tok = token.parse(qr())
    assert (tok.kid, tok.jti, tok.age_over) == (KID, "j-1", 18)
    token.verify(tok, {KID: token.public_key(pub(KEY))})
    assert tok.ref and "j-1" not in tok.ref  # the audit's digest, not the id itself


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0104610053149777215d/wuU", "unreadable"),  # an item's code
        ("MAXID1.only-one-part", "unreadable"),
        ("MAXID1.!!!.sig", "unreadable"),
        ("MAXID1." + token.b64(b"[1,2]") + ".c2ln", "unreadable"),
        ("MAXID1." + token.b64(b'{"kid":"k","jti":"j"}') + ".c2ln", "unreadable"),  # no age claim
        ("MAXID1." + token.b64(b'{"kid":"k","jti":"j","age_over":true}') + ".c2ln", "unreadable"),
    ],
)
def test_what_is_not_a_token_is_unreadable(text: str, code: str) -> None:
    with pytest.raises(token.TokenError) as e:
        token.parse(text)
    assert e.value.code == code


def test_a_token_signed_by_another_key_or_tampered_with_is_forged() -> None:
    keys = {KID: token.public_key(pub(KEY))}
    with pytest.raises(token.TokenError, match="forged"):
        token.verify(token.parse(qr(key=Ed25519PrivateKey.generate())), keys)
    with pytest.raises(token.TokenError, match="unknown key"):
        token.verify(token.parse(qr(kid="other")), keys)
    body, sig = qr(age_over=16)[len(token.PREFIX) :].split(".")
    raised = token.b64(token.unb64(body).replace(b'"age_over":16', b'"age_over":18'))
    with pytest.raises(token.TokenError, match="forged"):
        token.verify(token.parse(f"{token.PREFIX}{raised}.{sig}"), keys)


@given(st.text(max_size=300) | st.builds(lambda s: token.PREFIX + s, st.text(max_size=300)))
@settings(max_examples=examples(500))
def test_parse_never_fails_but_with_a_token_error(text: str) -> None:
    try:
        token.parse(text)
    except token.TokenError as e:
        assert e.code == "unreadable"


def test_the_configuration_refuses_a_key_that_is_not_ed25519() -> None:
    with pytest.raises(ValueError, match="issuer key 'k'"):
        Config.model_validate({"age": {"backend": "max", "max_issuer_keys": {"k": "c2hvcnQ"}}})
    assert age_backend(Config().age) is None  # the default: staff check ages
    cfg = Config.model_validate({"age": {"backend": "max", "max_issuer_keys": {KID: pub(KEY)}}})
    backend = age_backend(cfg.age)
    assert backend is not None and backend.recognizes(qr()) and not backend.recognizes("0104610053149777")


# -- the basket -------------------------------------------------------------------------------
def test_a_valid_document_resolves_the_age_check_but_never_the_alcohol_hours() -> None:
    b = Basket("b-1", "lane-1", Rules(MSK))
    b.add(VODKA, VODKA.gtin, NIGHT)
    assert {p.code for p in b.open_problems()} == {"ALCOHOL_HOURS", "AGE_RESTRICTED"}
    assert b.age_checked(proof(), "lane-1") == 1
    assert [p.code for p in b.open_problems()] == ["ALCOHOL_HOURS"]  # the law's hours still apply
    assert b.state is State.NEEDS_ASSISTANCE


def test_a_refused_or_unchecked_document_leaves_the_age_check_to_staff() -> None:
    b = Basket("b-1", "lane-1", Rules(MSK))
    b.add(ENERGY, ENERGY.gtin, NOON)
    for outcome, reason in (("refused", "expired"), ("unavailable", "unavailable")):
        assert b.age_checked(proof(outcome, reason, 0), "lane-1") == 0
        assert [p.code for p in b.open_problems()] == ["AGE_RESTRICTED"]
        assert b.age_proof is not None and b.age_proof.reason == reason


def test_items_added_after_a_proof_need_no_second_one() -> None:
    b = Basket("b-1", "lane-1", Rules(MSK))
    b.add(ENERGY, ENERGY.gtin, NOON)
    b.age_checked(proof(), "lane-1")
    b.add(ENERGY, ENERGY.gtin, NOON)
    b.add(BREAD, BREAD.gtin, NOON)
    ages = [p for p in b.problems.values() if p.code == "AGE_RESTRICTED"]
    assert len(ages) == 2 and not any(p.open for p in ages)  # recorded, and resolved by the proof
    assert b.state is State.SCANNING


def test_a_valid_document_under_the_age_an_item_needs_is_refused_as_underage() -> None:
    b = Basket("b-1", "lane-1", Rules(MSK))
    b.add(ENERGY, ENERGY.gtin, NOON)
    assert needed_age(b) == 18
    decision = judged(AgeDecision("accepted", age_over=16, ref="r"), needed_age(b))
    assert (decision.outcome, decision.reason) == ("refused", "underage")
    assert judged(AgeDecision("accepted", age_over=18), 18).outcome == "accepted"


def test_a_restart_restores_the_proof_and_the_journal_keeps_no_personal_data(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    basket = store.journal.open_basket("b1", "lane-1")
    store.journal.apply(basket, Add(product=ENERGY, gtin=ENERGY.gtin, at=NOON))
    store.journal.apply(basket, AgeChecked(proof=proof(), device="lane-1", ref="0123456789abcdef"))
    (restored,) = open_repositories(tmp_path / "a.db", tz=MSK).journal.restore()
    assert restored.problems == basket.problems and restored.age_proof == basket.age_proof
    assert restored.state is State.SCANNING
    (args,) = store.db.conn.execute("SELECT args FROM journal WHERE op = 'age_checked'").fetchone()
    assert set(json.loads(args)) == {"outcome", "reason", "age_over", "method", "at", "device", "ref"}


def test_a_document_scanner_never_adds_an_item_and_says_what_it_read(tmp_path: Path) -> None:
    """On a lane whose kiosk takes no digital ID, its QR is told so (staff check the age); a
    scan that is no stamp is told so; neither becomes an item."""
    from edge_agent.config import LaneSettings, ZoneConfig
    from edge_agent.lanes import Lanes
    from edge_agent.metrics import Metrics
    from edge_agent.reads import TagRead

    records = open_repositories(tmp_path / "a.db", tz=MSK)
    settings = LaneSettings(id="lane-1", zones=[ZoneConfig(reader="box-1")], scanners=["scan-1"])
    lanes = Lanes([settings], records, None, metrics=Metrics())
    told: list[str] = []
    lanes.settling_listeners.append(told.append)
    lanes.feed([TagRead("scan-1", 0, "barcode", qr())])
    assert lanes["lane-1"].notice is not None and lanes["lane-1"].notice["code"] == "age_off"
    lanes.feed([TagRead("scan-1", 0, "barcode", "4600000000077")])  # the bottle's barcode, not its stamp
    assert lanes["lane-1"].notice is not None and lanes["lane-1"].notice["code"] == "stamp_bad_length"
    assert lanes["lane-1"].basket is None and told == ["lane-1", "lane-1"]  # the kiosk was told, twice
