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


def test_the_demo_agents_first_catalogue_snapshot_is_centrals(shop: RunningStore) -> None:
    """The demo broker has no ACL: a local process publishes a catalogue snapshot with milk at
    one kopeck. Central's own snapshot was on the broker first, so the agent takes this one for
    what it is, old news, and the price stays."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from sim.central.node import publish_stream

    assert shop.store is not None
    catalogue, sync = shop.services.records.catalogue, shop.services.sync
    assert sync is not None
    until_true(lambda: catalogue.stream_version("catalog") == 1)  # central's, before anything else
    ignored = sync.streams["catalog"].ignored
    local = paho.Client(CallbackAPIVersion.VERSION2, client_id="a-local-process")
    local.connect("127.0.0.1", shop.store.config.mqtt.port)
    local.loop_start()
    cheap = {f: getattr(MILK, f) for f in MILK.__dataclass_fields__} | {"price": 1}
    publish_stream(local, shop.store.config.store.id, "catalog", kind="snapshot", version=1, data={"products": [cheap]})
    until_true(lambda: sync.streams["catalog"].ignored > ignored)
    local.loop_stop()
    local.disconnect()
    product = catalogue.product(MILK.gtin)
    assert product is not None and product.price == MILK.price
