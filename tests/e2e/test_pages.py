"""The kiosk, staff and phone pages in a real headless Chromium (Debian's, driven by
Playwright with an explicit executable path). Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import segno

from edge_agent.config import Config, KioskSettings
from sim.scenarios import PRODUCTS, STAFF_PIN, Item
from tests.e2e.axe import violations
from tests.e2e.browser import ARTIFACTS, wait_for_js
from tests.e2e.demo_store import RunningStore

MILK, BREAD = PRODUCTS[0], PRODUCTS[2]
PIXELS_PER_MM = 7.9


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    # a dense kiosk screen (200 dpi: 7.9 CSS px a millimetre): the receipt QR must still be 20 mm
    dense = Config().model_copy(update={"kiosk": KioskSettings(pixels_per_mm=PIXELS_PER_MM)})
    store = RunningStore(tmp_path_factory.mktemp("pages") / "var", dense).start()
    yield store
    store.stop()


def test_kiosk_and_staff_pages_take_a_customer_from_a_blocked_item_to_a_receipt(
    shop: RunningStore, browser: Any
) -> None:
    lane = "lane-2"
    milk, fake = Item(MILK, "P0000001"), Item(MILK, "P0000002")
    shop.call(lambda: shop.store.crpt.registry.add(milk.mark_code))  # type: ignore[union-attr]
    shop.call(
        lambda: shop.services.records.catalogue.receive_codes([(milk.ki, milk.mark_code), (fake.ki, fake.mark_code)])
    )
    kiosk = browser.new_page(locale="en-US", viewport={"width": 1024, "height": 900})
    refused: list[str] = []  # anything the page's Content-Security-Policy blocked
    kiosk.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    assert shop.store is not None
    kiosk.goto(shop.store.enrol[f"kiosk-{lane}"])  # the kiosk's one-time enrolment link: its cookie, its page
    assert kiosk.url.endswith(f"/kiosk/{lane}")
    kiosk.wait_for_selector("text=Welcome!")
    assert violations(kiosk) == []  # axe-core: no serious or critical WCAG 2.1 AA violation, in every state
    shop.place(lane, milk.epc)
    shop.place(lane, fake.epc)
    kiosk.wait_for_selector("[data-problem=MARKING_BLOCKED]")
    assert "Chestny ZNAK does not allow this item to be sold" in kiosk.inner_text("#problems")
    # the counterfeit does not hide behind its genuine twin: a row of its own saying what to do,
    # and out of the total until it is resolved
    rows = kiosk.eval_on_selector_all("#lines tr[data-group]", "rs => rs.map(r => r.dataset.qty)")
    assert rows == ["1", "1"] and kiosk.query_selector("b.qty") is None
    aside = kiosk.wait_for_selector("[data-setaside]")
    assert "Set this item aside" in aside.inner_text()
    wait_for_js(kiosk, "document.querySelector('#total').textContent.includes('89.90')")
    assert kiosk.inner_text("#aside_note") == "Without the items set aside"
    assert kiosk.is_disabled("#checkout") and kiosk.is_disabled("#card")  # not while staff are needed
    kiosk.screenshot(path=str(ARTIFACTS / "kiosk-blocked.png"), full_page=True)
    assert violations(kiosk) == []
    assert refused == []

    staff = browser.new_page(locale="ru-RU", viewport={"width": 420, "height": 900})
    staff.goto(shop.store.enrol["handheld-1"])  # the handheld enrols once, then its page opens
    staff.fill("#staff_id", "s-1")
    staff.fill("#pin", STAFF_PIN)
    staff.click("#pinbtn")
    staff.wait_for_selector(f"section[data-lane={lane}] [data-problem=MARKING_BLOCKED]")
    staff.screenshot(path=str(ARTIFACTS / "staff-problem.png"), full_page=True)
    assert violations(staff) == []
    shop.remove(lane, fake.epc)  # staff take the item away
    staff.click(f"section[data-lane={lane}] [data-problem=MARKING_BLOCKED] button[data-void]")

    kiosk.wait_for_selector("[data-problem]", state="detached")
    assert kiosk.inner_text("#aside_note") == "" and "89.90" in kiosk.inner_text("#total")
    kiosk.click("#checkout")
    kiosk.wait_for_selector("main[data-screen=review] #to_pay:not([disabled])")  # ready to pay
    # loyalty by phone: no balance until the shopper types the code the SMS brought
    kiosk.click("#to_loyalty")
    kiosk.fill("#ref", "+79990000001")
    kiosk.click("#identify")
    kiosk.wait_for_selector("#otpbox:not([hidden])")
    assert violations(kiosk) == []
    assert "500" not in kiosk.inner_text("#loyalty")
    kiosk.fill("#otp", shop.sms_code("+79990000001"))
    kiosk.click("#verify")
    kiosk.wait_for_selector("text=Points: 500")
    kiosk.click("#to_pay")
    shop.call(lambda: setattr(shop.store.central.settings, "customer_delay_s", 1.5))  # type: ignore[union-attr]
    try:
        kiosk.click("#sbp")
        kiosk.wait_for_selector("#qr img")
        kiosk.screenshot(path=str(ARTIFACTS / "kiosk-sbp-qr.png"), full_page=True)
        assert violations(kiosk) == []
    finally:
        shop.call(lambda: setattr(shop.store.central.settings, "customer_delay_s", 0.05))  # type: ignore[union-attr]
    kiosk.wait_for_selector("text=Thank you!", timeout=20_000)
    # the kiosk never navigates away: each item's page is a QR for the shopper's phone, shown in place
    assert kiosk.eval_on_selector_all("#receipt a[href]", "els => els.length") == 0
    here = kiosk.url
    kiosk.click("#receipt details[data-qr] summary")
    qr = kiosk.wait_for_selector("#receipt details[open] img")
    wait_for_js(kiosk, "(i => i.complete && i.naturalWidth > 0)(document.querySelector('#receipt details[open] img'))")
    assert kiosk.url == here
    with shop.store.client() as http:
        line = next(ln for ln in shop.basket(http, lane)["lines"] if ln["link"])
        links = [line["link"]]
        svg = http.get(qr.get_attribute("src") or "")
        expected = io.BytesIO()
        segno.make(line["link"], error="m").save(expected, kind="svg", scale=4, border=2)
        assert svg.status_code == 200 and svg.content == expected.getvalue()  # the link, in the QR
    assert links[0].endswith(f"/01/{MILK.gtin}/21/{milk.serial}")
    fiscal = kiosk.inner_text("#fiscal")  # the register's receipt: its numbers and its QR
    assert "Fiscal receipt" in fiscal and "ФН 9999078900012345" in fiscal and "ФП" in fiscal
    wait_for_js(kiosk, "document.querySelector('#fiscal img').naturalWidth > 0")
    # the QR of the receipt at least 20 x 20 mm on this screen, its quiet zone aside (the 2025 rules):
    # the SVG is 4 px a module with 2 modules of quiet zone each side
    natural, shown = kiosk.eval_on_selector("#fiscal img", "e => [e.naturalWidth, e.getBoundingClientRect().width]")
    modules = natural / 4 - 4
    assert shown * modules / (modules + 4) >= 20 * PIXELS_PER_MM
    kiosk.screenshot(path=str(ARTIFACTS / "kiosk-receipt.png"), full_page=True)
    assert violations(kiosk) == []
    shop.remove(lane, milk.epc)

    phone = browser.new_page(
        locale="ru-RU",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        extra_http_headers={"accept-language": "ru-RU"},
    )
    phone.goto(links[0])
    assert MILK.name in phone.inner_text("h1")
    assert phone.get_attribute(".badge", "data-outcome") == "ALLOWED"
    assert "Подлинный" in phone.inner_text("main") and "Продан в этом магазине" in phone.inner_text("main")
    phone.screenshot(path=str(ARTIFACTS / "phone-product.png"), full_page=True)
    assert violations(phone) == []

    # the customer brings the milk back: staff tap it, tick it, and the return receipt prints
    staff.wait_for_selector(f"section[data-lane={lane}] [data-register=ok]")
    staff.fill("#retcode", links[0])
    staff.click("#findsale")
    assert "Кассовый чек №" in staff.inner_text("#salehead")  # the sale's header: its receipt and date
    staff.check("[data-return]")
    staff.click("#giveback")
    staff.wait_for_selector("#retconfirm:not([hidden])")  # asked first: what and how much
    assert "Вернуть товаров: 1" in staff.inner_text("#retquestion")
    staff.click("#retyes")
    staff.wait_for_selector("text=Возврат оформлен")
    assert "возвращён" in staff.inner_text("#sale")
    staff.screenshot(path=str(ARTIFACTS / "staff-return.png"), full_page=True)
    assert violations(staff) == []
    returns = shop.call(lambda: [r["kind"] for r in shop.store.kkt.receipts()])  # type: ignore[union-attr]
    assert returns.count("sellReturn") == 1

    # the next shopper at this kiosk sees nothing of the last one: no points, no phone, no code
    if kiosk.is_visible("#done"):  # the last shopper taps Done on their receipt
        kiosk.click("#done")
    kiosk.wait_for_selector("text=Welcome!", timeout=20_000)
    bread = Item(BREAD, "P0000003")
    shop.place(lane, bread.epc)
    kiosk.wait_for_selector(f"text={BREAD.name}")
    page = kiosk.inner_text("body")
    assert "500" not in page and "+79990000001" not in page
    assert kiosk.input_value("#ref") == "" and kiosk.input_value("#otp") == ""
    assert kiosk.inner_text("#loyalty") == "" and kiosk.inner_text("#loyaltymsg") == ""
    shop.remove(lane, bread.epc)
