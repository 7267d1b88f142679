"""The store network is hostile (docs/security.md): each attack it names, run as the
attacker would, over HTTPS against the demo store, from a second loopback address
(127.0.0.2: "another device") where that matters. The store keeps its own limits (strict)."""

from __future__ import annotations

import json
import socket
import sqlite3
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus, WebSocketException

from edge_agent.config import Config, Http, Security
from sim.scenarios import PRODUCTS, STAFF_BADGE, STAFF_PIN, Item
from tests.e2e.demo_store import RunningStore

MILK, WATER = PRODUCTS[0], PRODUCTS[1]
ATTACKER = "127.0.0.2"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    config = Config(
        security=Security(pin_max_failures=5, pin_lockout_s=300, sign_in_per_min=20, identify_per_min=6),
        # the header deadline is short to keep the test quick, but not so short that a loaded
        # 2-core machine (another worker brute-forcing PINs) misses it on an honest connection:
        # at 1 s, CI once saw the kiosk's own WebSocket cut before its upgrade was read
        http=Http(header_timeout_s=3.0, public_rate_per_s=0.5, public_burst=3, public_checks_per_s=1.0),
    )
    store = RunningStore(tmp_path_factory.mktemp("sec") / "var", config, strict=True).start()
    yield store
    store.stop()


def tls(shop: RunningStore) -> ssl.SSLContext:
    assert shop.store is not None
    return ssl.create_default_context(cafile=str(shop.store.ca))


@pytest.fixture
def attacker(shop: RunningStore) -> Iterator[httpx.Client]:
    """Another device on the store's network: its own address, no credential of the store's."""
    transport = httpx.HTTPTransport(local_address=ATTACKER, verify=tls(shop))
    with httpx.Client(base_url=shop.url, transport=transport, timeout=30) as client:
        yield client


@pytest.fixture
def kiosk(shop: RunningStore) -> Iterator[httpx.Client]:
    assert shop.store is not None
    with shop.store.client(timeout=30) as client:
        yield client


SERIAL = iter(range(1, 10**6))


def until_true(check: Any, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.02)


def basket_with(shop: RunningStore, kiosk: httpx.Client, lane: str, product: Any = WATER) -> dict[str, Any]:
    """A new basket on ``lane`` with one genuine item, verified (the last customer's items gone)."""
    assert shop.store is not None
    reader = shop.store.readers[lane]
    shop.call(reader.tags.clear)  # the last customer took their items
    kiosk.post(f"/api/kiosk/{lane}/cancel")
    old = kiosk.get(f"/api/kiosk/{lane}/basket").json()["id"]
    time.sleep(shop.store.depart_s + 0.4)  # the items depart (as tests/e2e/test_api.py's clear)
    it = Item(product, f"S{next(SERIAL):08d}")
    if product.marked:
        shop.call(lambda: shop.store.crpt.registry.add(it.mark_code, "sellable"))  # type: ignore[union-attr]
        shop.call(lambda: shop.services.records.catalogue.receive_codes([(it.ki, it.mark_code)]))
    shop.place(lane, it.epc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        b = kiosk.get(f"/api/kiosk/{lane}/basket").json()
        if (
            b["id"] != old
            and b["state"] == "SCANNING"
            and not b["settling"]
            and b["lines"]
            and all(ln["verdict"] for ln in b["lines"] if ln["marked"])
        ):
            return dict(b)
        time.sleep(0.05)
    raise AssertionError(f"no basket: {b}")


def test_another_device_can_neither_read_nor_change_a_lane(
    shop: RunningStore, attacker: httpx.Client, kiosk: httpx.Client
) -> None:
    before = basket_with(shop, kiosk, "lane-1")
    for method, path, body in (
        ("GET", "/api/kiosk/lane-1/basket", None),
        ("POST", "/api/kiosk/lane-1/cancel", None),
        ("POST", "/api/kiosk/lane-1/identify", {"kind": "phone", "ref": "+79990000002"}),
        ("POST", "/api/kiosk/lane-1/pay", {"method": "sbp"}),
        ("GET", "/api/kiosk/lane-1/payment/qr.svg", None),
        ("GET", "/kiosk/lane-1", None),
    ):
        r = attacker.request(method, path, json=body)
        assert r.status_code in (401, 403), (path, r.status_code)
    # lane-2's own kiosk is not lane-1's
    assert shop.store is not None
    other = shop.store.device_headers("/api/kiosk/lane-2/basket")
    r = attacker.post("/api/kiosk/lane-1/cancel", headers=other)
    assert r.status_code == 403 and r.json()["detail"]["code"] == "not_this_lane"
    # the kiosk's cookie in a cross-site form / text/plain POST: refused by Origin, the basket unchanged
    cookie = {"cookie": f"edge_device={shop.store.tokens['kiosk-lane-1']}"}
    for headers in ({"origin": "https://evil.example", "content-type": "text/plain"}, {"content-type": "text/plain"}):
        r = attacker.post("/api/kiosk/lane-1/cancel", headers=cookie | headers, content=b"x")
        assert r.status_code == 403 and r.json()["detail"]["code"] in ("bad_origin", "no_origin")
    # a forged Host
    assert attacker.get("/api/kiosk/lane-1/basket", headers={"host": "evil.example"}).status_code == 421
    after = kiosk.get("/api/kiosk/lane-1/basket").json()
    assert after["id"] == before["id"] and after["state"] == "SCANNING" and after["customer"] is False
    assert after["payment"] is None
    # the WebSocket: without the credential, and with it from another Origin
    url = f"wss://{shop.url.removeprefix('https://')}/api/kiosk/lane-1/ws"
    from websockets.sync.client import connect

    refused = (InvalidStatus, WebSocketException, OSError)
    with pytest.raises(refused), connect(url, ssl=tls(shop), source_address=(ATTACKER, 0)) as ws:
        ws.recv(5)
    with pytest.raises(refused), shop.ws("lane-1", origin="https://evil.example") as ws:
        ws.recv(5)
    with shop.ws("lane-1") as ws:  # the kiosk itself still gets its pushes
        assert json.loads(ws.recv(5))["basket"]["id"] == before["id"]
    kiosk.post("/api/kiosk/lane-1/cancel")


def test_pin_brute_force_gets_no_token_and_the_real_pin_is_refused_while_locked(
    shop: RunningStore, attacker: httpx.Client
) -> None:
    # no handheld credential: 10,000 tries, not one token
    pins = [f"{n:04d}" for n in range(10_000)]
    got = [attacker.post("/api/staff/token", json={"staff_id": "s-1", "pin": p}) for p in pins]
    assert {r.status_code for r in got} == {401} and not any("token" in r.json() for r in got)
    # an enrolled handheld in the wrong hands: five wrong PINs lock s-1, the rest is throttled
    assert shop.store is not None
    stolen = shop.store.device_headers("/api/staff/token")
    codes = [
        attacker.post("/api/staff/token", json={"staff_id": "s-1", "pin": p}, headers=stolen).status_code
        for p in pins
        if p != STAFF_PIN
    ]
    assert 200 not in codes and codes.count(429) > 9_900 and 423 in codes
    real = attacker.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN}, headers=stolen)
    assert real.status_code in (423, 429) and "token" not in real.json()
    audit = (
        sqlite3.connect(shop.services.records.db.path)
        .execute("SELECT detail FROM audit WHERE action = 'locked_out' AND staff = 's-1'")
        .fetchall()
    )
    assert audit and json.loads(audit[0][0])["address"] == ATTACKER
    metrics = httpx.get(f"{shop.url}/metrics", headers=shop.store.device_headers("/metrics"), verify=tls(shop)).text
    assert "edge_agent_staff_lockouts_total 1.0" in metrics
    # locked on the stolen handheld only: the staff member signs in on another, honest one
    from edge_agent.security.devices import Device

    honest = shop.services.devices.provision(Device("hh-honest", "handheld")).token
    with shop.store.client(headers={"x-device-token": honest}) as handheld:
        r = handheld.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN})
        assert r.status_code == 200 and "token" in r.json()
    again = attacker.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN}, headers=stolen)
    assert again.status_code in (423, 429)  # still locked where the guesses came from
    shop.services.tokens.lockout.succeeded("s-1@handheld-1")  # the timed unlock, now (other tests use it)


def test_a_badge_tap_gives_one_session_to_the_handheld_that_asked_and_a_race_gives_nobody_anything(
    shop: RunningStore, kiosk: httpx.Client
) -> None:
    assert shop.store is not None
    desk = shop.store.staff_desk
    devices = shop.services.devices
    from edge_agent.security.devices import Device

    rogue = devices.provision(Device("rogue", "handheld", reader="staff-desk")).token  # a second handheld there
    with shop.store.client() as handheld:
        mine = handheld.post("/api/staff/badge", json={"pin": STAFF_PIN}).json()["challenge"]
        theirs = [
            httpx.post(
                f"{shop.url}/api/staff/badge", json={"pin": "0000"}, verify=tls(shop), headers={"x-device-token": rogue}
            ).json()["challenge"]
            for _ in range(200)
        ]
        shop.call(lambda: desk.place(STAFF_BADGE, antenna=1))
        time.sleep(1.0)  # the tap is read many times a second: time enough for any of them to land
        shop.call(lambda: desk.remove(STAFF_BADGE))
        for code in theirs:  # only the rogue's last challenge is alive, and two were waiting: no one got it
            r = httpx.get(f"{shop.url}/api/staff/badge/{code}", headers={"x-device-token": rogue}, verify=tls(shop))
            assert r.status_code in (401, 404) and "token" not in r.json()
        r = handheld.get(f"/api/staff/badge/{mine}")  # the race ended every waiting sign-in on that reader
        assert r.status_code in (401, 404) and "token" not in r.json()
        devices.revoke("rogue")
        # alone on its reader, the handheld gets one session from one tap, never two
        mine = handheld.post("/api/staff/badge", json={"pin": STAFF_PIN}).json()["challenge"]
        shop.call(lambda: desk.place(STAFF_BADGE, antenna=1))
        deadline = time.monotonic() + 10
        while (r := handheld.get(f"/api/staff/badge/{mine}")).status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.05)
        shop.call(lambda: desk.remove(STAFF_BADGE))
        assert r.status_code == 200 and r.json()["token"]
        assert handheld.get(f"/api/staff/badge/{mine}").status_code == 401  # spent
        # the badge in a customer's box: never a sign-in, never an item
        waiting = handheld.post("/api/staff/badge", json={"pin": STAFF_PIN}).json()["challenge"]
        shop.place("lane-2", STAFF_BADGE)
        time.sleep(1.0)
        assert handheld.get(f"/api/staff/badge/{waiting}").status_code == 404
        shop.remove("lane-2", STAFF_BADGE)
    assert not kiosk.get("/api/kiosk/lane-2/basket").json()["lines"]
    # a kiosk is not a handheld
    assert (
        kiosk.post(
            "/api/staff/badge", json={"pin": STAFF_PIN}, headers=shop.store.device_headers("/api/kiosk/lane-2/")
        ).status_code
        == 403
    )


def test_points_are_neither_shown_nor_spent_without_the_one_time_code(shop: RunningStore, kiosk: httpx.Client) -> None:
    basket_with(shop, kiosk, "lane-2", MILK)
    r = kiosk.post("/api/kiosk/lane-2/identify", json={"kind": "phone", "ref": "+79990000002"})
    assert r.status_code == 200 and r.json()["balance"] is None and r.json()["verified"] is False
    assert kiosk.post("/api/kiosk/lane-2/checkout").json()["state"] == "READY_TO_PAY"
    r = kiosk.post("/api/kiosk/lane-2/redeem", json={})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "not_verified"
    for _ in range(3):  # three wrong codes spend the code
        wrong = kiosk.post("/api/kiosk/lane-2/verify", json={"code": "000000"})
        assert wrong.status_code == 422
    right = kiosk.post("/api/kiosk/lane-2/verify", json={"code": shop.sms_code("+79990000002")})
    assert right.status_code == 422 and right.json()["detail"]["code"] == "code_expired"
    # an unsigned "app QR" and a re-identification without the kiosk's confirmation
    r = kiosk.post("/api/kiosk/lane-2/identify", json={"kind": "qr", "ref": "LOY:C-0002", "replace": True})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "unsigned_qr"
    r = kiosk.post("/api/kiosk/lane-2/identify", json={"kind": "phone", "ref": "+79990000001"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "already_identified"
    # the app's signed QR is possession: points can be shown and spent
    from sim.central.loyalty import app_qr

    r = kiosk.post(
        "/api/kiosk/lane-2/identify", json={"kind": "qr", "ref": app_qr("LOY:C-0002", time.time()), "replace": True}
    )
    assert r.status_code == 200 and r.json()["verified"] is True and r.json()["balance"] == 12_000
    assert kiosk.post("/api/kiosk/lane-2/redeem", json={}).json()["points"] > 0
    # look-ups are throttled per lane
    look_up = {"kind": "phone", "replace": True}
    codes = [
        kiosk.post("/api/kiosk/lane-2/identify", json=look_up | {"ref": f"+7999000{n:04d}"}).status_code
        for n in range(8)
    ]
    assert 429 in codes
    kiosk.post("/api/kiosk/lane-2/cancel")


def test_a_forged_payment_notification_and_a_catalog_jump_change_nothing(
    shop: RunningStore, kiosk: httpx.Client
) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    from edge_agent.wire import envelope

    basket_with(shop, kiosk, "lane-1", MILK)
    assert kiosk.post("/api/kiosk/lane-1/checkout").json()["state"] == "READY_TO_PAY"
    assert shop.store is not None
    shop.store.script_customer("lane-1", "late:60")
    pay = kiosk.post("/api/kiosk/lane-1/pay", json={"method": "card"}).json()
    payment_id = shop.services.records.payments.of_basket(pay["id"])[-1].provider_id
    milk_price = shop.services.records.catalogue.product(MILK.gtin).price  # type: ignore[union-attr]
    sync = shop.services.sync
    assert sync is not None and shop.store is not None
    forger = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv311)
    forger.connect("127.0.0.1", shop.store.config.mqtt.port)
    forger.loop_start()
    try:
        forged = envelope.event(
            "central://payment",
            "payment.status_changed",
            {"id": payment_id, "status": "CAPTURED", "paid": True, "amount": 1},
        )
        before = shop.services.checkout.notifications  # type: ignore[union-attr]
        forger.publish(sync.resp_topic, envelope.encode(forged), qos=1).wait_for_publish(5)

        def catalog(kind: str, version: int, products: list[dict[str, Any]]) -> None:
            ev = envelope.event("central://catalog", f"catalog.{kind}", {"version": version, "products": products})
            forger.publish(
                sync.topics.inbound("catalog", kind), envelope.encode(ev), qos=1, retain=kind == "snapshot"
            ).wait_for_publish(5)

        until_true(lambda: sync.streams["catalog"].version == 1)  # central's snapshot, on the broker first
        bad = sync.bad_messages
        catalog("snapshot", 999_999_999, [{"gtin": MILK.gtin, "name": MILK.name, "price": 1, "vat": 10}])
        deadline = time.monotonic() + 10
        while (sync.bad_messages == bad or shop.services.checkout.notifications == before) and (  # type: ignore[union-attr]
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert shop.services.checkout.notifications > before  # type: ignore[union-attr]  # it was heard...
        time.sleep(0.3)  # ...and the agent asked central, which says the customer has not paid
        assert kiosk.get("/api/kiosk/lane-1/basket").json()["state"] == "PAYMENT_PENDING"
        assert sync.bad_messages > bad and shop.services.records.catalogue.product(MILK.gtin).price == milk_price  # type: ignore[union-attr]
        catalog("delta", 1, [])  # central's next real update is not "old" now
        until_true(lambda: sync.streams["catalog"].version == 1)
        forger.publish(sync.topics.inbound("catalog", "snapshot"), b"", qos=1, retain=True).wait_for_publish(5)
    finally:
        forger.loop_stop()
        forger.disconnect()


def test_oversized_bodies_are_refused_before_being_read(shop: RunningStore) -> None:
    host, port = "127.0.0.1", int(shop.url.rsplit(":", 1)[1])
    with socket.create_connection((host, port), source_address=(ATTACKER, 0)) as raw:
        s = tls(shop).wrap_socket(raw, server_hostname=host)
        s.sendall(
            b"POST /api/staff/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n{"
        )
        s.settimeout(5)
        answer = s.recv(4096)  # without the other 100 MB
    assert answer.startswith(b"HTTP/1.1 413")
    with httpx.Client(verify=tls(shop), transport=httpx.HTTPTransport(local_address=ATTACKER, verify=tls(shop))) as c:

        def chunks() -> Iterator[bytes]:
            for _ in range(1000):
                yield b"x" * 65536

        with pytest.raises(httpx.HTTPError):
            r = c.post(f"{shop.url}/api/kiosk/lane-1/identify", content=chunks())
            assert r.status_code >= 400
            raise httpx.RemoteProtocolError("refused")


def test_a_connection_flood_from_one_device_leaves_the_lanes_serving(shop: RunningStore, kiosk: httpx.Client) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    port = int(shop.url.rsplit(":", 1)[1])
    half_open = []
    try:
        for _ in range(1100):  # half-sent requests, never finished
            s = socket.create_connection(("127.0.0.1", port), source_address=(ATTACKER, 0))
            s.sendall(b"\x16\x03\x01")  # the first bytes of a TLS hello, and nothing more
            half_open.append(s)
        started = time.monotonic()
        r = kiosk.get("/api/kiosk/lane-1/basket")
        assert r.status_code == 200 and time.monotonic() - started < 5
        http = shop.store.daemon.http  # type: ignore[union-attr]
        cap = shop.services.config.http.max_connections_per_client
        deadline = time.monotonic() + 10
        while http.socket.refused < 1100 - cap and time.monotonic() < deadline:
            time.sleep(0.05)
        # the server held at most the cap for the attacker: the rest were closed at accept
        assert http.socket.refused >= 1100 - cap and http.socket.open.get(ATTACKER, 0) <= cap
    finally:
        for s in half_open:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_ops_routes_need_the_ops_token(shop: RunningStore, attacker: httpx.Client) -> None:
    for path in ("/metrics", "/docs", "/openapi.json", "/api/lanes"):
        assert attacker.get(path).status_code == 401, path
    assert set(attacker.get("/healthz").json()) == {"status"}  # a bare liveness answer
    assert shop.store is not None
    answer = attacker.get("/healthz", headers=shop.store.device_headers("/healthz"))
    assert "readers" in answer.json() and answer.headers["strict-transport-security"].startswith("max-age=")


def test_a_half_sent_request_is_closed_at_the_header_deadline_and_a_websocket_is_not(
    shop: RunningStore, kiosk: httpx.Client
) -> None:
    port = int(shop.url.rsplit(":", 1)[1])
    deadline_s = shop.services.config.http.header_timeout_s
    with socket.create_connection(("127.0.0.1", port), source_address=(ATTACKER, 0)) as raw:
        s = tls(shop).wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        s.settimeout(deadline_s + 5)
        started = time.monotonic()
        assert s.recv(1024) == b""  # the server closed it
        assert time.monotonic() - started < deadline_s + 2
    with shop.ws("lane-2") as ws:  # an open kiosk WebSocket outlives the header deadline
        ws.recv(5)
        shop.place("lane-2", Item(PRODUCTS[2], f"S{next(SERIAL):08d}").epc)
        time.sleep(deadline_s + 0.5)
        assert json.loads(ws.recv(5))["basket"]
        assert ws.ping().wait(5)  # still open past the deadline: the server answers the ping
    kiosk.post("/api/kiosk/lane-2/cancel")


def test_x_forwarded_for_is_not_believed_and_live_checks_have_a_store_wide_ceiling(
    shop: RunningStore, attacker: httpx.Client
) -> None:
    bread = f"/01/{PRODUCTS[2].gtin}/21/XF1"  # not marked: no live check, only the per-address limit
    codes = [
        attacker.get(bread, headers={"x-forwarded-for": f"10.0.0.{n}", "accept": "application/json"}).status_code
        for n in range(10)
    ]
    assert codes.count(429) >= 6  # one address, whatever it claims to forward for
    shop.services.limits.public._buckets.clear()
    answers = []
    for n in range(3, 13):  # ten phones, ten addresses, ten different items: each one a live check
        phone = httpx.HTTPTransport(local_address=f"127.0.0.{n}", verify=tls(shop))
        with httpx.Client(base_url=shop.url, transport=phone) as c:
            answers.append(c.get(f"/01/{MILK.gtin}/21/LIVE{n:04d}", headers={"accept": "application/json"}))
    busy = [a for a in answers if a.status_code == 429]
    assert busy and all(a.json()["detail"]["code"] == "busy" for a in busy)
    assert any(a.status_code == 200 for a in answers)


def test_an_enrolment_link_sets_a_strict_cookie_once(shop: RunningStore, attacker: httpx.Client) -> None:
    from edge_agent.security.devices import Device

    link = shop.services.devices.provision(Device("kiosk-lane-2b", "kiosk", lane="lane-2"), enrol=True).enrol_path()
    first = attacker.get(link)
    assert first.status_code == 303 and first.headers["location"] == "/kiosk/lane-2"
    cookie = first.headers["set-cookie"].lower()
    assert "edge_device=" in cookie and "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    token = first.cookies["edge_device"]
    assert attacker.get("/api/kiosk/lane-2/basket", headers={"x-device-token": token}).status_code == 200
    shop.services.devices.revoke("kiosk-lane-2b")
    assert attacker.get("/api/kiosk/lane-2/basket", headers={"x-device-token": token}).status_code == 401


def test_a_link_opened_first_by_someone_else_leaves_nobody_enrolled_and_alerts(
    shop: RunningStore, attacker: httpx.Client, kiosk: httpx.Client
) -> None:
    """The attacker opens a lane's enrolment link before the kiosk does: when the kiosk opens
    it, both are refused, staff are alerted, and provisioning the lane again cuts the attacker
    off for good."""
    from edge_agent.security.devices import Device

    devices, device = shop.services.devices, Device("kiosk-lane-2c", "kiosk", lane="lane-2")
    link = shop.call(lambda: devices.provision(device, enrol=True).enrol_path())  # on the store's own thread
    stolen = attacker.get(link)
    assert stolen.status_code == 303
    token = stolen.cookies["edge_device"]
    assert attacker.get("/api/kiosk/lane-2/basket", headers={"x-device-token": token}).status_code == 200
    with httpx.Client(base_url=shop.url, verify=tls(shop)) as real_kiosk:
        assert real_kiosk.get(link).status_code == 409  # the second opening, whoever it is
    assert attacker.get("/api/kiosk/lane-2/basket", headers={"x-device-token": token}).status_code == 401
    sql = "SELECT COUNT(*) FROM outbox WHERE json_extract(payload, '$.type') = 'alert.enrolment_reused'"
    assert shop.call(lambda: shop.services.records.db.reads.execute(sql).fetchone()[0]) == 1  # staff alerted
    # provisioning a device again revokes what it had: an attacker's earlier enrolment included
    again = attacker.get(shop.call(lambda: devices.provision(device, enrol=True).enrol_path()))
    assert again.status_code == 303
    program = shop.call(lambda: devices.provision(device).token)  # provisioned again: the browser's cookie is gone
    assert (
        attacker.get("/api/kiosk/lane-2/basket", headers={"x-device-token": again.cookies["edge_device"]}).status_code
        == 401
    )
    assert kiosk.get("/api/kiosk/lane-2/basket", headers={"x-device-token": program}).status_code == 200


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999999"])
def test_a_number_json_cannot_carry_is_a_clear_422_not_a_crash(
    shop: RunningStore, kiosk: httpx.Client, number: str
) -> None:
    headers = {"content-type": "application/json"}
    for path, body in (
        ("/api/kiosk/lane-1/redeem", f'{{"points": {number}}}'),
        ("/api/kiosk/lane-1/verify", f'{{"code": {number}}}'),
    ):
        r = kiosk.post(path, content=body, headers=headers)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.json()["detail"][0]["loc"][0] == "body"


def test_every_refusal_of_the_guard_and_of_a_device_is_counted(shop: RunningStore, attacker: httpx.Client) -> None:
    """421 (a wrong Host), 413 (too large), 403 (cross-site), 401 (no device): each counted by
    its code in edge_agent_security_refusals_total, as docs/security.md says."""
    assert shop.store is not None

    def counted() -> dict[str, float]:
        text = httpx.get(f"{shop.url}/metrics", headers=shop.store.device_headers("/metrics"), verify=tls(shop)).text  # type: ignore[union-attr]
        out = {}
        for line in text.splitlines():
            if line.startswith("edge_agent_security_refusals_total{"):
                reason = line.split('reason="', 1)[1].split('"', 1)[0]
                out[reason] = float(line.rsplit(" ", 1)[1])
        return out

    before = counted()
    attacker.get("/api/kiosk/lane-1/basket", headers={"host": "evil.example"})
    attacker.post("/api/kiosk/lane-1/cancel", content=b"x" * 2_000_000, headers={"content-type": "application/json"})
    attacker.post("/api/kiosk/lane-1/cancel", headers={"origin": "https://evil.example", "cookie": "edge_device=x"})
    attacker.get("/api/kiosk/lane-1/basket")
    after = counted()
    for reason in ("bad_host", "too_large", "bad_origin", "no_device"):
        assert after.get(reason, 0) > before.get(reason, 0), reason


def test_every_page_carries_a_content_security_policy(shop: RunningStore, kiosk: httpx.Client) -> None:
    """Only the page's own scripts, styles and data; never framed. (The browser tests load every
    page under it: a page that needed an inline script would break there.)"""
    for path in ("/", "/kiosk/lane-1", "/staff", f"/01/{MILK.gtin}/21/CSP0001", "/static/kiosk.js"):
        r = kiosk.get(path)
        policy = r.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, (path, r.status_code)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
