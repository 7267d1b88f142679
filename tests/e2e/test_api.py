"""The HTTP API as kiosks, handhelds and phones use it: every route and its errors, over real
HTTP and WebSocket against the demo store (LLRP readers, Chestny Znak and central simulators,
embedded MQTT), plus schemathesis over the published OpenAPI."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sim.scenarios import PRODUCTS, STAFF_BADGE, STAFF_PIN, Item
from tests.conftest import run_cli
from tests.e2e.demo_store import RunningStore

MILK, WATER, BREAD, CHOC, ENERGY = PRODUCTS[:5]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    store = RunningStore(tmp_path_factory.mktemp("demo") / "var").start()
    yield store
    store.stop()


@pytest.fixture
def http(shop: RunningStore) -> Iterator[httpx.Client]:
    assert shop.store is not None
    with shop.store.client(timeout=30) as client:  # as the store's own kiosks and handheld (their credentials)
        yield client


SERIAL = iter(range(1, 10**6))


def item(shop: RunningStore, product: Any, state: str = "sellable", register: bool = True) -> Item:
    it = Item(product, f"T{next(SERIAL):08d}")
    if register and product.marked:
        shop.call(lambda: shop.store.crpt.registry.add(it.mark_code, state))  # type: ignore[union-attr]
    if product.marked:
        # on the daemon's loop: the store's connection is the daemon's, one thread at a time
        shop.call(lambda: shop.services.records.catalogue.receive_codes([(it.ki, it.mark_code)]))
    return it


def wait_basket(http: httpx.Client, lane: str, check: Any, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        b = http.get(f"/api/kiosk/{lane}/basket").json()
        if check(b):
            return dict(b)
        time.sleep(0.05)
    raise AssertionError(f"basket never got there: {b}")


def settled(n: int) -> Any:
    return lambda b: (
        b["state"] not in ("EMPTY", "CLOSED", "CANCELLED")
        and not b["settling"]
        and len(b["lines"]) == n
        and all(ln["verdict"] for ln in b["lines"] if ln["marked"])
    )


def clear(shop: RunningStore, lane: str, items: list[Item], http: httpx.Client) -> None:
    """The customer leaves: the box empties and the next customer starts a new basket."""
    for it in items:
        shop.remove(lane, it.epc)
    time.sleep(shop.store.depart_s + 0.4)  # type: ignore[union-attr]


def staff_token(http: httpx.Client) -> dict[str, str]:
    r = http.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN})
    assert r.status_code == 200
    return {"authorization": f"Bearer {r.json()['token']}"}


def test_a_customer_pays_by_card_and_the_websocket_shows_every_step(shop: RunningStore, http: httpx.Client) -> None:
    lane = "lane-1"
    items = [item(shop, MILK), item(shop, BREAD)]
    with shop.ws(lane) as ws:
        first = json.loads(ws.recv(5))
        assert "basket" in first
        for it in items:
            shop.place(lane, it.epc)
        states = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv(10))
            states.append(msg["basket"]["state"])
            if settled(2)(msg["basket"]):
                break
        assert msg["basket"]["lines"][0]["name"] and "SCANNING" in states
        verdicts = {ln["name"]: ln["verdict"] for ln in msg["basket"]["lines"]}
        assert verdicts[MILK.name] == "ALLOWED" and verdicts[BREAD.name] is None
        r = http.post(f"/api/kiosk/{lane}/identify", json={"kind": "phone", "ref": "+79990000001"})
        assert r.status_code == 200 and r.json()["balance"] is None and r.json()["code_sent"] is True  # no balance yet
        r = http.post(f"/api/kiosk/{lane}/verify", json={"code": shop.sms_code("+79990000001")})
        assert r.status_code == 200 and r.json()["balance"] == 500 and r.json()["basket"]["loyalty_verified"]
        assert http.post(f"/api/kiosk/{lane}/checkout").json()["state"] == "READY_TO_PAY"
        r = http.post(f"/api/kiosk/{lane}/pay", json={"method": "card"})
        assert r.status_code == 200 and r.json()["payment"]["method"] == "card"
        while True:
            msg = json.loads(ws.recv(10))
            if msg["basket"]["state"] == "CLOSED":
                break
    receipt = msg["basket"]
    assert MILK.loyalty_price is not None  # the customer identified: the milk at its card price
    assert (
        receipt["total"] == MILK.loyalty_price + BREAD.price
        and receipt["card_discount"] == MILK.price - MILK.loyalty_price
    )
    link = next(ln["link"] for ln in receipt["lines"] if ln["name"] == MILK.name)
    assert link.startswith(shop.services.public_base_url + "/01/" + MILK.gtin + "/21/")
    clear(shop, lane, items, http)


def test_kiosk_errors_are_named(shop: RunningStore, http: httpx.Client) -> None:
    assert shop.store is not None
    own = shop.store.device_headers("/api/kiosk/lane-1/basket")  # lane-1's kiosk asks for a lane that is not here
    r = http.get("/api/kiosk/lane-9/basket", headers=own)
    assert r.status_code == 403 and r.json()["detail"]["code"] == "not_this_lane"
    r = http.post("/api/kiosk/lane-2/pay", json={"method": "bitcoin"})
    assert r.status_code == 422  # validation: card or sbp only
    r = http.post("/api/kiosk/lane-2/identify", json={"kind": "email", "ref": "x"})
    assert r.status_code == 422
    lane = "lane-2"
    it = item(shop, WATER)
    shop.place(lane, it.epc)
    wait_basket(http, lane, settled(1))
    r = http.post(f"/api/kiosk/{lane}/pay", json={"method": "card"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "wrong_state"  # checkout first
    r = http.post(f"/api/kiosk/{lane}/identify", json={"kind": "phone", "ref": "+70000000000"})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "unknown_customer"
    assert http.post(f"/api/kiosk/{lane}/redeem", json={}).status_code == 409  # nobody identified
    assert http.get(f"/api/kiosk/{lane}/payment/qr.svg").status_code == 404
    assert http.post(f"/api/kiosk/{lane}/cancel").json()["state"] == "CANCELLED"
    clear(shop, lane, [it], http)


def test_sbp_shows_a_qr_and_a_blocked_item_needs_staff(shop: RunningStore, http: httpx.Client) -> None:
    lane = "lane-2"
    good, fake = item(shop, MILK), item(shop, MILK, register=False)  # the national system never issued `fake`
    for it in (good, fake):
        shop.place(lane, it.epc)
    basket = wait_basket(http, lane, settled(2))
    problem = next(p for p in basket["problems"] if p["open"])
    assert problem["code"] == "MARKING_BLOCKED" and problem["level"] == "CRITICAL"
    r = http.post(f"/api/kiosk/{lane}/checkout")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "open_problems"
    headers = staff_token(http)
    r = http.post(f"/api/staff/lanes/{lane}/problems/{problem['id']}/approve", headers=headers)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "critical"  # only removing the item resolves it
    shop.remove(lane, fake.epc)
    r = http.post(f"/api/staff/lanes/{lane}/lines/{problem['line_id']}/void", headers=headers)
    assert r.status_code == 200 and len(r.json()["lines"]) == 1
    assert http.post(f"/api/kiosk/{lane}/checkout").json()["state"] == "READY_TO_PAY"
    shop.call(lambda: setattr(shop.store.central.settings, "customer_delay_s", 1.0))  # type: ignore[union-attr]
    try:
        paying = http.post(f"/api/kiosk/{lane}/pay", json={"method": "sbp"}).json()
        assert paying["state"] == "PAYMENT_PENDING" and paying["payment"]["qr"].startswith("https://qr.nspk.ru/")
        svg = http.get(f"/api/kiosk/{lane}/payment/qr.svg")
        assert (
            svg.status_code == 200
            and svg.headers["content-type"].startswith("image/svg+xml")
            and b"<svg" in svg.content
        )
    finally:
        shop.call(lambda: setattr(shop.store.central.settings, "customer_delay_s", 0.05))  # type: ignore[union-attr]
    assert wait_basket(http, lane, lambda b: b["state"] == "CLOSED")["total"] == MILK.price
    audit = sqlite3.connect(shop.services.records.db.path).execute("SELECT staff, action FROM audit").fetchall()
    assert ("s-1", "void_line") in audit and ("s-1", "sign_in") in audit
    clear(shop, lane, [good], http)


def test_staff_routes_refuse_without_a_valid_token(shop: RunningStore, http: httpx.Client) -> None:
    for method, path in (
        ("GET", "/api/staff/lanes"),
        ("POST", "/api/staff/lanes/lane-1/problems/1/approve"),
        ("POST", "/api/staff/lanes/lane-1/lines/1/void"),
        ("GET", "/api/staff/codes/x"),
    ):
        assert http.request(method, path).status_code == 401
        assert http.request(method, path, headers={"authorization": "Bearer forged"}).status_code == 401
    r = http.post("/api/staff/token", json={"staff_id": "s-1", "pin": "0000"})
    assert r.status_code == 401 and r.json()["detail"]["code"] == "bad_credentials"
    assert http.post("/api/staff/token", json={"staff_id": "nobody", "pin": "1234"}).status_code == 401


def test_staff_sign_in_with_a_badge_approve_age_and_look_up_a_code(shop: RunningStore, http: httpx.Client) -> None:
    challenge = http.post("/api/staff/badge", json={"pin": STAFF_PIN}).json()["challenge"]
    assert http.get(f"/api/staff/badge/{challenge}").status_code == 404  # nobody tapped yet
    assert shop.store is not None
    desk = shop.store.staff_desk
    shop.call(lambda: desk.place(STAFF_BADGE, antenna=1))  # tapped on the handheld's own reader
    deadline = time.monotonic() + 10
    while (r := http.get(f"/api/staff/badge/{challenge}")).status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.05)
    shop.call(lambda: desk.remove(STAFF_BADGE))
    assert r.status_code == 200
    headers = {"authorization": f"Bearer {r.json()['token']}"}
    lane = "lane-1"
    drink = item(shop, ENERGY)
    shop.place(lane, drink.epc)
    basket = wait_basket(http, lane, lambda b: any(p["code"] == "AGE_RESTRICTED" for p in b["problems"]))
    assert not any(ln for ln in basket["lines"] if ln["name"] == "badge")  # the badge never became an item
    overview = http.get("/api/staff/lanes", headers=headers).json()
    one = next(x for x in overview["lanes"] if x["lane"] == lane)
    assert one["basket"]["state"] == "NEEDS_ASSISTANCE" and one["readers"]["box-lane-1"]["state"] == "online"
    problem = next(p for p in basket["problems"] if p["code"] == "AGE_RESTRICTED")
    r = http.post(f"/api/staff/lanes/{lane}/problems/{problem['id']}/approve", headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "SCANNING"
    milk = item(shop, MILK)
    scanned = quote(milk.mark_code, safe="")  # the GS byte travels percent-encoded
    status = http.get(f"/api/staff/codes/{scanned}", params={"check": "true"}, headers=headers).json()
    assert status["ki"] == milk.ki and status["check"]["outcome"] == "ALLOWED" and status["sold_here"] is False
    r = http.get("/api/staff/codes/not-a-code", headers=headers)
    assert r.status_code == 422 and r.json()["detail"]["code"]
    assert http.post(f"/api/kiosk/{lane}/cancel").status_code == 200
    clear(shop, lane, [drink], http)


def test_the_phone_page_shows_product_price_and_authenticity_and_nothing_else(
    shop: RunningStore, http: httpx.Client
) -> None:
    milk = item(shop, MILK)
    path = f"/01/{MILK.gtin}/21/{milk.serial}"
    page = http.get(path, headers={"accept-language": "ru"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert MILK.name in page.text and "89,90\u00a0₽" in page.text and "84,90" in page.text and "Подлинный" in page.text
    data = http.get(path, headers={"accept": "application/json"}).json()
    # the check's time in the store's zone, in words, not raw UTC ISO (the JSON keeps ISO with its offset)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    checked = datetime.fromisoformat(data["authenticity"]["checked_at"]).astimezone(ZoneInfo("Europe/Moscow"))
    assert f"{checked:%H:%M}" in page.text and "+00:00" not in page.text and " 2026, " in page.text
    assert data["authenticity"]["outcome"] == "ALLOWED" and data["authenticity"]["source"] == "ts_piot"
    assert data["authenticity"]["checked_at"] and data["loyalty_price"] == MILK.loyalty_price
    assert set(data) == {
        "gtin",
        "serial",
        "known",
        "name",
        "price",
        "loyalty_price",
        "marked",
        "authenticity",
        "sold_here",
    }
    fake = item(shop, MILK, register=False)
    blocked = http.get(f"/01/{MILK.gtin}/21/{fake.serial}", headers={"accept": "application/json"}).json()
    assert blocked["authenticity"]["outcome"] == "BLOCKED" and blocked["authenticity"]["reasons"]
    english = http.get(f"/01/{MILK.gtin}/21/{fake.serial}", headers={"accept-language": "en"}).text
    assert "Code not found in Chestny ZNAK" in english and "89.90\u00a0₽" in english  # never issued
    assert http.get(f"/01/{BREAD.gtin}/21/X1", headers={"accept": "application/json"}).json()["authenticity"] is None
    unknown = http.get("/01/04699999999998/21/X1", headers={"accept": "application/json"})
    assert unknown.json().get("known") is False, unknown.text
    assert http.get("/01/04699999999990/21/X1").status_code == 404  # a bad check digit
    # the same item's link with GS1's key qualifiers (CPV, lot) before the serial: the same page
    for qualified in (f"/01/{MILK.gtin}/22/A%2D1/10/L-7/21/{milk.serial}", f"/01/{MILK.gtin}/10/L-7/21/{milk.serial}"):
        same = http.get(qualified, headers={"accept": "application/json"})
        assert same.status_code == 200 and same.json()["serial"] == milk.serial, qualified
    assert http.get(f"/01/{MILK.gtin}/10/L-7/22/A/21/{milk.serial}").status_code == 404  # out of GS1's order
    # a valid link with data attributes the lane does not use (best before, sell by): the same item
    dated = http.get(f"{path}?15=261231&16=261224", headers={"accept": "application/json"})
    assert dated.status_code == 200 and dated.json()["serial"] == milk.serial, dated.text
    slashed = http.get(f"/01/{MILK.gtin}/21/AB%2F12", headers={"accept": "application/json"})  # "/" in a serial
    assert slashed.status_code == 200 and slashed.json()["serial"] == "AB/12", slashed.text
    limiter = shop.services.limits.public
    rate, burst = limiter.rate, limiter.burst
    limiter.rate, limiter.burst = 0.01, 2
    try:
        codes = [http.get(path, headers={"accept": "application/json"}).status_code for _ in range(5)]
    finally:
        limiter.rate, limiter.burst = rate, burst
        limiter._buckets.clear()
    assert codes.count(429) >= 2


def test_health_metrics_and_openapi(shop: RunningStore, http: httpx.Client) -> None:
    health = http.get("/healthz").json()
    assert health["status"] == "ok" and health["broker"]["connected"] is True
    assert (
        set(health["readers"]) == {"box-lane-1", "box-lane-2", "scan-lane-1", "scan-lane-2", "staff-desk", "gate-exit"}
        and health["outbox_depth"] >= 0
    )
    assert health["verification"]["local_module"]["status"] == "ready"
    version = run_cli("--version").stdout.decode().split()[-1]  # one version: the CLI, /healthz, the metric
    assert health["version"] == version and version[0].isdigit()
    metrics = http.get("/metrics").text
    assert f'edge_agent_build_info{{version="{version}"}} 1.0' in metrics
    for name in (
        "edge_agent_reads_total",
        "edge_agent_tag_to_basket_seconds_bucket",
        "edge_agent_outbox_depth",
        "edge_agent_mqtt_connects_total",
    ):
        assert name in metrics
    spec = http.get("/openapi.json").json()
    assert {"/api/kiosk/{lane}/basket", "/api/staff/lanes", "/01/{gtin}/21/{serial}", "/healthz"} <= set(spec["paths"])
    from openapi_spec_validator import validate

    validate(spec)  # the reference validator, unmodified: every path parameter declared, and the rest
    link = spec["paths"]["/01/{gtin}/22/{cpv}/10/{lot}/21/{serial}"]["get"]
    assert [p["name"] for p in link["parameters"]] == ["gtin", "cpv", "lot", "serial"]
    assert {"200", "404", "429"} <= set(link["responses"])
    # every refusal a kiosk or staff route answers is documented, with its body
    checkout = spec["paths"]["/api/kiosk/{lane}/checkout"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409", "429", "503"} <= set(checkout)
    assert checkout["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert http.get("/").status_code == 200 and "kiosk" in http.get("/kiosk/lane-1").text.lower()


def test_schemathesis_finds_no_server_error(shop: RunningStore) -> None:
    import schemathesis
    from hypothesis import HealthCheck, settings
    from schemathesis.checks import not_a_server_error

    assert shop.store is not None
    demo = shop.store
    schema = schemathesis.openapi.from_url(
        f"{shop.url}/openapi.json", headers=demo.device_headers("/openapi.json"), verify=str(demo.ca)
    )
    failures: list[str] = []
    calls: dict[str, int] = {}
    from hypothesis import given

    def checker(op: Any) -> Any:
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(op.as_strategy())
        def check(case: Any) -> None:
            response = case.call(
                base_url=shop.url, timeout=10, verify=str(demo.ca), headers=demo.device_headers(case.formatted_path)
            )
            calls[op.path] = calls.get(op.path, 0) + 1
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except Exception as e:
                failures.append(f"{op.method.upper()} {op.path}: {e}")

        return check

    for operation in schema.get_all_operations():
        checker(operation.ok())()
    assert failures == []
    assert len(calls) >= 15 and sum(calls.values()) >= 200  # every route was exercised


def test_a_lane_whose_register_is_out_of_paper_takes_no_payment_and_every_screen_says_so(
    shop: RunningStore, http: httpx.Client
) -> None:
    lane = "lane-2"
    desk = shop.services.fiscal.desks[lane]
    device = shop.call(lambda: shop.store.kkt.device(lane))  # type: ignore[union-attr]
    bread = item(shop, BREAD)
    shop.place(lane, bread.epc)
    wait_basket(http, lane, settled(1))
    assert http.post(f"/api/kiosk/{lane}/checkout").status_code == 200
    shop.call(lambda: setattr(device, "paper", False))
    try:
        shop.wait(desk.housekeeping())  # the register's state, as read every 10 s
        basket = http.get(f"/api/kiosk/{lane}/basket").json()
        assert "out of paper" in basket["register"] and basket["state"] == "READY_TO_PAY"
        refused = http.post(f"/api/kiosk/{lane}/pay", json={"method": "card"})
        assert refused.status_code == 503 and refused.json()["detail"]["code"] == "register_unavailable"
        health = http.get("/healthz").json()
        assert health["status"] == "degraded" and health["fiscal"][lane]["refuses_payments"]
        assert health["fiscal"]["lane-1"]["ok"] and health["fiscal"]["lane-1"]["register"]["shift"] == "opened"
        assert f'edge_agent_fiscal_register_ok{{lane="{lane}"}} 0.0' in http.get("/metrics").text
        lanes = http.get("/api/staff/lanes", headers=staff_token(http)).json()["lanes"]
        assert next(x for x in lanes if x["lane"] == lane)["register"]["refuses_payments"]
    finally:
        shop.call(lambda: setattr(device, "paper", True))
        shop.wait(desk.housekeeping())
    assert http.get(f"/api/kiosk/{lane}/basket").json()["register"] is None  # a roll loaded: payments again
    assert http.post(f"/api/kiosk/{lane}/cancel").status_code == 200
    clear(shop, lane, [bread], http)


def test_checkout_waits_until_the_box_is_counted(shop: RunningStore, http: httpx.Client) -> None:
    """A shopper tips 40 loaves into the box and presses pay at once, again and again: until the
    reader has seen the whole box the kiosk answers 409 ``settling`` (and shows no total); the
    first checkout it takes has every loaf on the bill."""
    assert shop.store is not None
    lane, reader = "lane-1", shop.store.readers["lane-1"]
    loaves = [item(shop, BREAD) for _ in range(40)]
    shop.call(lambda: [reader.place(it.epc, antenna=1) for it in loaves])  # all at once
    answers: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = http.post(f"/api/kiosk/{lane}/checkout")
        if r.status_code == 200:
            basket = r.json()
            break
        answers.append(r.json()["detail"]["code"])
        time.sleep(0.005)
    # before the first loaf is read the lane has no open basket (the last shopper's is over)
    assert "settling" in answers and set(answers) <= {"settling", "empty", "wrong_state"}
    assert len(basket["lines"]) == 40 and basket["total"] == 40 * BREAD.price and not basket["settling"]
    http.post(f"/api/kiosk/{lane}/cancel").raise_for_status()
    clear(shop, lane, loaves, http)
