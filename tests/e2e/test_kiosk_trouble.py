"""The kiosk when things go wrong, as a shopper meets it in Debian's Chromium (Russian and
English; 1024×768 and a portrait 1080×1920): the payment service killed mid-payment, the
receipt printer out of paper before and during printing, the kiosk's own network cut and
restored, and two shoppers in a row with nothing of the first left for the second. Each case
is judged by what the page says and lets the shopper do, and by what staff are told; a
screenshot of each state goes to test-artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from edge_agent.config import CheckoutSettings, Config, FiscalSettings, KioskSettings
from sim.scenarios import PRODUCTS, STAFF_PIN, Item
from tests.conftest import ROOT
from tests.e2e.browser import ARTIFACTS, wait_for_js
from tests.e2e.demo_store import RunningStore, until
from tests.e2e.netcut import CuttableLink
from tests.e2e.test_kiosk_touch import finish, identify_by_phone, on_screen, open_kiosk

MILK, BREAD, CHOC = PRODUCTS[0], PRODUCTS[2], PRODUCTS[3]
TEXTS = json.loads((ROOT / "edge_agent" / "web" / "texts.json").read_text(encoding="utf-8"))
LANDSCAPE, PORTRAIT = {"width": 1024, "height": 768}, {"width": 1080, "height": 1920}
#: short deadlines, so the test sees each one pass
CONFIG = Config(
    checkout=CheckoutSettings(
        answer_s=3.0, request_timeout_s=0.5, request_attempts=2, customer_timeout_s=60, poll_s=0.05
    ),
    fiscal=FiscalSettings(receipt_deadline_s=4.0),
    kiosk=KioskSettings(idle_s=600, idle_prompt_s=60, receipt_s=60, thanks_s=1),
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    store = RunningStore(tmp_path_factory.mktemp("trouble") / "var", CONFIG).start()
    yield store
    store.stop()


@pytest.fixture
def staff(shop: RunningStore) -> Iterator[httpx.Client]:
    """The attendant's handheld, signed in: what it is told, through the staff API."""
    assert shop.store is not None
    with shop.store.client() as http:
        token = http.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN}).json()["token"]
        http.headers["authorization"] = f"Bearer {token}"
        yield http


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"trouble-{name}.png"), full_page=True)


def alerts(staff: httpx.Client, lane: str) -> set[str]:
    return {i["code"] for i in staff.get("/api/staff/queue").json()["interventions"] if i["lane"] == lane}


def to_pay(shop: RunningStore, kiosk: Any, lane: str, items: list[Item]) -> None:
    """A shopper starts, puts ``items`` in the box and goes to the payment screen."""
    kiosk.tap("#start")
    on_screen(kiosk, "items")
    for it in items:
        shop.place(lane, it.epc)
    kiosk.wait_for_selector("#checkout:not([disabled])")
    kiosk.tap("#checkout")
    on_screen(kiosk, "review")
    kiosk.wait_for_selector("#to_pay:not([disabled])")
    kiosk.tap("#to_pay")
    on_screen(kiosk, "pay")


def test_the_payment_service_killed_mid_payment_frees_the_shopper_and_calls_staff(
    shop: RunningStore, browser: Any, staff: httpx.Client
) -> None:
    assert shop.store is not None
    lane, ru = "lane-1", TEXTS["ru"]
    kiosk = open_kiosk(shop, browser, lane, "ru", viewport=LANDSCAPE, has_touch=True)
    items = [Item(BREAD, "DOWN0001")]
    shop.store.script_customer(lane, "timeout")  # the card is not tapped before the outage
    to_pay(shop, kiosk, lane, items)
    kiosk.tap("#card")
    wait_for_js(kiosk, f"document.querySelector('#payment').textContent === {json.dumps(ru['wait_card'])}")
    assert kiosk.inner_text("#pay_back") == ru["cancel_payment"] and not kiosk.is_disabled("#cancel")
    shop.store.central_down()
    try:
        # past checkout.answer_s the shopper is told, in their words, and may go on
        kiosk.wait_for_selector("[data-fault=payments_down]", timeout=20_000)
        expected = f"{ru['declined']}: {ru['pay_reasons']['no_answer']}"
        wait_for_js(kiosk, f"document.querySelector('#payment').textContent === {json.dumps(expected)}")
        assert kiosk.is_disabled("#card") and kiosk.is_disabled("#sbp")  # no payment while it is down
        assert not kiosk.is_disabled("#pay_back") and not kiosk.is_disabled("#cancel")
        assert kiosk.inner_text("#pay_back") == ru["back"]
        shot(kiosk, "ru-payments-down")
        until("the attendant told payments are down", lambda: "PAYMENTS_DOWN" in alerts(staff, lane))
    finally:
        shop.store.central_up()
    # central back: the fault goes by itself (the abandoned attempt's resend is answered) and
    # the shopper pays another way
    kiosk.wait_for_selector("[data-fault=payments_down]", state="detached", timeout=20_000)
    until("the alert gone", lambda: "PAYMENTS_DOWN" not in alerts(staff, lane))
    shop.store.script_customer(lane, "ok")
    kiosk.wait_for_selector("#sbp:not([disabled])")
    kiosk.tap("#sbp")
    on_screen(kiosk, "receipt", timeout=20_000)
    finish(shop, kiosk, lane, items)


def test_a_shopper_cancels_the_payment_the_terminal_waits_for_then_the_purchase(
    shop: RunningStore, browser: Any
) -> None:
    assert shop.store is not None
    lane, en = "lane-2", TEXTS["en"]
    kiosk = open_kiosk(shop, browser, lane, "en", viewport=PORTRAIT, has_touch=True)
    items = [Item(CHOC, "CANCEL01")]
    shop.store.script_customer(lane, "timeout")  # the shopper changes their mind at the terminal
    to_pay(shop, kiosk, lane, items)
    kiosk.tap("#card")
    wait_for_js(kiosk, "window.lastUpdate.basket.payment?.step === 'pending'")
    kiosk.tap("#cancel")  # cancel asks first, and says what becomes of the payment
    kiosk.wait_for_selector("#confirm:not([hidden])")
    assert en["confirm_cancel_text"] in kiosk.inner_text("#confirm")
    shot(kiosk, "en-portrait-cancel-confirm")
    kiosk.tap("#confirm_yes")
    on_screen(kiosk, "welcome", timeout=10_000)  # the payment cancelled, then the purchase
    kiosk.wait_for_selector("#empty_box:not([hidden])")
    assert f"{en['left_in_box']}: 1" in kiosk.inner_text("#empty_box")
    shot(kiosk, "en-portrait-empty-the-box")
    assert shop.store is not None
    with shop.store.client() as http:
        basket = http.get(f"/api/kiosk/{lane}/basket").json()
    assert basket["state"] == "CANCELLED" and basket["payment"]["reason"] == "cancelled"
    finish(shop, kiosk, lane, items)


def test_paper_out_before_payment_and_during_printing(shop: RunningStore, browser: Any, staff: httpx.Client) -> None:
    assert shop.store is not None
    lane, en = "lane-2", TEXTS["en"]
    desk = shop.services.fiscal.desks[lane]
    device = shop.call(lambda: shop.store.kkt.device(lane))  # type: ignore[union-attr]
    kiosk = open_kiosk(shop, browser, lane, "en", viewport=LANDSCAPE, has_touch=True)
    items = [Item(BREAD, "PAPER001")]
    to_pay(shop, kiosk, lane, items)
    shop.call(lambda: setattr(device, "paper", False))
    try:  # before: pushed as the register reports it (read here at once, as it is every 10 s)
        shop.wait(desk.housekeeping())
        kiosk.wait_for_selector("[data-fault=paper_out]")
        assert kiosk.inner_text("[data-fault=paper_out]") == en["faults"]["paper_out"]
        assert kiosk.is_disabled("#card") and kiosk.is_disabled("#sbp")
        until("the attendant told the paper is out", lambda: "PAPER_OUT" in alerts(staff, lane))
        shot(kiosk, "en-paper-out")
    finally:
        shop.call(lambda: setattr(device, "paper", True))
        shop.wait(desk.housekeeping())
    kiosk.wait_for_selector("[data-fault=paper_out]", state="detached")
    # during: the card is authorised, then the paper runs out before the receipt
    shop.store.script_customer(lane, "late:1.0")
    kiosk.wait_for_selector("#card:not([disabled])")
    kiosk.tap("#card")
    wait_for_js(kiosk, "window.lastUpdate.basket.payment?.step === 'pending'")
    shop.call(lambda: setattr(device, "paper", False))
    try:
        # paid: "printing", and "stuck" as soon as the register's refusal is known (the failed
        # print itself may tell it before the status poll does)
        said = f"[{json.dumps(en['printing'])}, {json.dumps(en['printing_stuck'])}]"
        wait_for_js(kiosk, f"{said}.includes(document.querySelector('#payment').textContent)")
        shop.wait(desk.housekeeping())
        wait_for_js(kiosk, f"document.querySelector('#payment').textContent === {json.dumps(en['printing_stuck'])}")
        shot(kiosk, "en-paper-out-while-printing")
        # past the receipt's deadline the authorisation is cancelled, and the shopper told so
        expected = f"{en['declined']}: {en['pay_reasons']['no_receipt']}"
        wait_for_js(kiosk, f"document.querySelector('#payment').textContent === {json.dumps(expected)}", timeout_s=20)
    finally:
        shop.call(lambda: setattr(device, "paper", True))
        shop.wait(desk.housekeeping())
    kiosk.tap("#cancel")
    kiosk.tap("#confirm_yes")
    on_screen(kiosk, "welcome")
    finish(shop, kiosk, lane, items)


def test_the_kiosk_network_cut_and_restored(shop: RunningStore, browser: Any, staff: httpx.Client) -> None:
    lane, ru = "lane-1", TEXTS["ru"]
    kiosk = open_kiosk(shop, browser, lane, "ru", viewport=PORTRAIT, has_touch=True)
    items = [Item(BREAD, "NET00001")]
    with CuttableLink(int(shop.url.rsplit(":", 1)[1])) as network:
        kiosk.goto(f"https://127.0.0.1:{network.port}/kiosk/{lane}")  # the kiosk's network: the link
        on_screen(kiosk, "welcome")
        kiosk.tap("#start")
        on_screen(kiosk, "items")
        shop.place(lane, items[0].epc)
        kiosk.wait_for_selector("#checkout:not([disabled])")
        network.cut()
        try:
            kiosk.wait_for_selector("#offline:not([hidden])", timeout=10_000)
            assert kiosk.inner_text("#offline") == ru["offline"]
            kiosk.tap("#checkout")  # a tap with no network: said in words, not "Failed to fetch"
            network_error = json.dumps(ru["errors"]["network"])
            wait_for_js(kiosk, f"document.querySelector('#payment').textContent === {network_error}")
            shot(kiosk, "ru-portrait-offline")
            until("the attendant told the kiosk is offline", lambda: "KIOSK_OFFLINE" in alerts(staff, lane), 30)
        finally:
            network.restore()
        kiosk.wait_for_selector("#offline", state="hidden", timeout=15_000)
        assert kiosk.text_content("#payment") == ""  # the stale "no connection" is gone
        until("the alert gone", lambda: "KIOSK_OFFLINE" not in alerts(staff, lane), 30)
        kiosk.tap("#checkout")
        on_screen(kiosk, "review")
        kiosk.tap("#cancel")
        kiosk.tap("#confirm_yes")
        on_screen(kiosk, "welcome")
        finish(shop, kiosk, lane, items)


@pytest.mark.parametrize(("lang", "viewport"), [("ru", LANDSCAPE), ("en", PORTRAIT)])
def test_nothing_of_one_shopper_is_left_for_the_next(
    shop: RunningStore, browser: Any, lang: str, viewport: dict[str, int]
) -> None:
    """The first shopper identifies (phone, code, balance), is declined once, then pays and gets
    a receipt; the second sees none of it anywhere in the page, hidden parts included."""
    assert shop.store is not None
    lane, t = "lane-1", TEXTS[lang]
    phone, balance = "+79990000002", "12000"
    kiosk = open_kiosk(shop, browser, lane, lang, viewport=viewport, has_touch=True)
    first = [Item(BREAD, f"{lang}ONE001")]
    to_pay(shop, kiosk, lane, first)
    kiosk.tap("#pay_back")
    identify_by_phone(shop, kiosk, phone)
    wait_for_js(kiosk, f"document.querySelector('#loyalty').textContent.includes('{balance}')")
    kiosk.tap("#to_pay")
    shop.store.script_customer(lane, "decline:insufficient_funds")
    kiosk.tap("#card")
    declined = t["pay_reasons"]["insufficient_funds"]
    wait_for_js(kiosk, f"document.querySelector('#payment').textContent.includes({json.dumps(declined)})")
    shop.store.script_customer(lane, "ok")
    kiosk.tap("#sbp")
    on_screen(kiosk, "receipt", timeout=20_000)
    kiosk.wait_for_selector("#fiscal")
    fd = kiosk.evaluate("String(window.lastUpdate.basket.payment.receipt.fd)")
    wait_for_js(kiosk, "window.lastUpdate.basket.state === 'CLOSED'")
    print(
        "DEBUG",
        kiosk.evaluate("JSON.stringify([window.lastUpdate.basket.points_earned, window.lastUpdate.basket.customer])"),
    )
    kiosk.wait_for_selector("#earned")  # the points the sale earned, once central booked them
    earned = f"{t['points_earned']}: {kiosk.evaluate('window.lastUpdate.basket.points_earned')}"
    assert kiosk.inner_text("#earned") == earned
    kiosk.tap("#done")
    on_screen(kiosk, "welcome", timeout=10_000)
    for it in first:
        shop.remove(lane, it.epc)
    # the next shopper
    kiosk.tap("#start")
    on_screen(kiosk, "items")
    second = Item(CHOC, f"{lang}TWO001")
    shop.place(lane, second.epc)
    kiosk.wait_for_selector(f"tr[data-group='{CHOC.name}']")
    page = kiosk.evaluate("document.body.textContent")
    fields = kiosk.evaluate("[...document.querySelectorAll('input')].map(e => e.value).join('|')")
    left = [
        said
        for said in (phone, phone[1:], balance, declined, f"ФД {fd}", t["balance"], BREAD.name, earned)
        if said in page or said in fields
    ]
    shot(kiosk, f"{lang}-second-shopper")
    assert left == []
    kiosk.tap("#cancel")
    kiosk.tap("#confirm_yes")
    on_screen(kiosk, "welcome")
    finish(shop, kiosk, lane, [second])


def test_a_kiosk_opened_after_a_purchase_starts_the_next_one_whatever_is_pushed(
    shop: RunningStore, browser: Any
) -> None:
    """The kiosk (re)loads after the last purchase closed (a reboot, the network back): Start gives
    the next shopper an empty list, and a push that comes then (a lane fault, a payment's step)
    never brings the last shopper's receipt back."""
    assert shop.store is not None
    lane = "lane-2"
    bread = Item(BREAD, "AFTER001")
    shop.store.script_customer(lane, "ok")
    with shop.store.client() as http:
        shop.place(lane, bread.epc)
        until("the bread on the bill", lambda: len(http.get(f"/api/kiosk/{lane}/basket").json()["lines"]) == 1)
        until("checked out", lambda: http.post(f"/api/kiosk/{lane}/checkout").status_code == 200)
        assert http.post(f"/api/kiosk/{lane}/pay", json={"method": "sbp"}).status_code == 200
        until("paid and closed", lambda: http.get(f"/api/kiosk/{lane}/basket").json()["state"] == "CLOSED")
    shop.remove(lane, bread.epc)
    kiosk = open_kiosk(shop, browser, lane, "ru", viewport=LANDSCAPE, has_touch=True)
    wait_for_js(kiosk, "window.lastUpdate?.basket?.state === 'CLOSED'")
    kiosk.tap("#start")
    on_screen(kiosk, "items")
    sent = kiosk.evaluate("window.lastUpdate.sent_at")
    shop.call(lambda: shop.services.hub.notify(lane))  # any push
    wait_for_js(kiosk, f"window.lastUpdate.sent_at > {sent}")
    assert kiosk.get_attribute("main", "data-screen") == "items" and kiosk.is_visible("#empty")
    kiosk.context.close()
