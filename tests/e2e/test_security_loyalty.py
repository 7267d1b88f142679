"""Abuse of what the store offers, played as the attacker would over HTTPS against the demo
store: a photo of a customer's app QR shown on another lane, one phone number bombed with
one-time codes by re-identifying basket after basket, and the phone page's live checks hammered
from a few addresses (docs/security.md)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest

from edge_agent.config import Config, Http, Security
from sim.central.loyalty import app_qr
from tests.e2e.demo_store import RunningStore
from tests.e2e.test_security import MILK, basket_with, until_true


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    config = Config(
        security=Security(identify_per_min=20),
        http=Http(public_rate_per_s=100.0, public_burst=100, public_checks_per_s=8.0),
    )
    store = RunningStore(tmp_path_factory.mktemp("loyalty") / "var", config, strict=True).start()
    yield store
    store.stop()


@pytest.fixture
def kiosk(shop: RunningStore) -> Iterator[httpx.Client]:
    assert shop.store is not None
    with shop.store.client(timeout=30) as client:
        yield client


def texts_to(shop: RunningStore, phone: str) -> int:
    assert shop.store is not None
    with sqlite3.connect(shop.store.data_dir / "central.db", timeout=5) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM sms WHERE phone = ?", (phone,)).fetchone()[0])


def test_a_photo_of_the_app_qr_verifies_nobody_on_another_lane_or_basket(
    shop: RunningStore, kiosk: httpx.Client
) -> None:
    qr = app_qr("LOY:C-0002", time.time())  # the victim shows it on lane-1; the attacker photographs it
    basket_with(shop, kiosk, "lane-1", MILK)
    victim = kiosk.post("/api/kiosk/lane-1/identify", json={"kind": "qr", "ref": qr})
    assert victim.status_code == 200 and victim.json()["verified"] is True
    again = kiosk.post("/api/kiosk/lane-1/identify", json={"kind": "qr", "ref": qr, "replace": True})
    assert again.status_code == 200  # the same basket showing it again (a retry) is the same use
    basket_with(shop, kiosk, "lane-2", MILK)
    stolen = kiosk.post("/api/kiosk/lane-2/identify", json={"kind": "qr", "ref": qr})
    assert stolen.status_code == 409 and stolen.json()["detail"]["code"] == "qr_used"
    assert kiosk.get("/api/kiosk/lane-2/basket").json()["customer"] is False  # nobody's points to spend
    kiosk.post("/api/kiosk/lane-2/cancel")


def test_one_phone_number_gets_a_handful_of_codes_however_many_baskets_ask(
    shop: RunningStore, kiosk: httpx.Client
) -> None:
    phone, answers = "+79990000003", []
    for _ in range(3):  # identify, re-identify, cancel, a new basket: again and again
        basket_with(shop, kiosk, "lane-1", MILK)
        for _ in range(3):
            r = kiosk.post("/api/kiosk/lane-1/identify", json={"kind": "phone", "ref": phone, "replace": True})
            answers.append(r.status_code if r.status_code != 429 else r.json()["detail"]["code"])
    assert answers.count(200) == 5 and answers[5:] == ["codes_capped"] * 4
    assert texts_to(shop, phone) <= 5  # per hour, whatever the lane or basket


def test_four_addresses_hammering_live_checks_leave_an_honest_phone_served(shop: RunningStore) -> None:
    """Four addresses ask for live checks as fast as they can; a customer's phone from a fifth
    taps six tags meanwhile: the store-wide ceiling holds, and the phone gets its fair share."""
    import threading

    assert shop.store is not None
    ctx = shop.store.tls_context()
    stop, refused = threading.Event(), []

    def hammer(address: str) -> None:
        transport = httpx.HTTPTransport(local_address=address, verify=ctx)
        with httpx.Client(base_url=shop.url, transport=transport, timeout=10) as c:
            n = 0
            while not stop.is_set():
                n += 1
                r = c.get(f"/01/{MILK.gtin}/21/H{address[-1]}{n:05d}", headers={"accept": "application/json"})
                refused.append(r.status_code == 429)

    threads = [threading.Thread(target=hammer, args=(f"127.0.0.{n}",)) for n in (21, 22, 23, 24)]
    for t in threads:
        t.start()
    try:
        until_true(lambda: sum(refused) > 20)  # the flood is at the ceiling
        phone = httpx.HTTPTransport(local_address="127.0.0.30", verify=ctx)
        served = 0
        with httpx.Client(base_url=shop.url, transport=phone, timeout=10) as c:
            for n in range(6):
                r = c.get(f"/01/{MILK.gtin}/21/HONEST{n:03d}", headers={"accept": "application/json"})
                served += r.status_code == 200
                time.sleep(1.1)  # a person tapping tags, not a script
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert served >= 5, served
