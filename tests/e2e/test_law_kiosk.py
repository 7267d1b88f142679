"""The 2026 goods at the kiosk, in Debian's Chromium, as a shopper meets them: a weighed cheese
shows its weight and price per kilogram, a pack of yogurt is taken in part (three of ten), a
bottle of vodka asks for its excise stamp (its RFID tag is not enough) and says so when the
scan is not a stamp; the shopper proves their age with the digital ID and pays; the register
prints the cheese in kilograms, the part as 3/10 and ЕГАИС's QR; the УТМ took one cheque."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from edge_agent.config import Config
from sim.scenarios import CHEESE, VODKA, YOGURT, Item
from tests.e2e.browser import ARTIFACTS, chromium, wait_for_js
from tests.e2e.demo_store import RunningStore, open_for_alcohol, until


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    config = Config.model_validate({"store": {"timezone": open_for_alcohol()}})  # the store's day: vodka may be sold
    store = RunningStore(tmp_path_factory.mktemp("law") / "var", config).start()
    yield store
    store.stop()


@pytest.fixture(scope="module")
def browser(shop: RunningStore) -> Iterator[Any]:
    with chromium(shop) as b:
        yield b


def test_weighed_part_and_stamped_goods_on_the_kiosk_from_box_to_receipt(shop: RunningStore, browser: Any) -> None:
    assert shop.store is not None
    store = shop.store
    cheese, pack, vodka = Item(CHEESE, "LAWC0001", grams=352), Item(YOGURT, "LAWY0001"), Item(VODKA, "LAWV0001")

    def register() -> None:
        for item in (cheese, pack):
            store.crpt.registry.add(item.mark_code)
            shop.services.records.catalogue.receive_codes([(item.ki, item.mark_code)])

    shop.call(register)
    kiosk = browser.new_page(locale="ru-RU", viewport={"width": 1024, "height": 768}, has_touch=True)
    kiosk.goto(store.enrol["kiosk-lane-1"])
    for item in (cheese, pack, vodka):
        shop.place("lane-1", item.epc)

    kiosk.wait_for_selector("select[data-part]")
    assert kiosk.locator("[data-weight='352']").inner_text() == "0,352 кг × 1\u00a0290,00\u00a0₽/кг"
    stamp_needed = kiosk.wait_for_selector("[data-problem=STAMP_NEEDED]")
    assert "Ваш шаг" in stamp_needed.inner_text() and "метка RFID её не заменяет" in stamp_needed.inner_text()

    # three of the ten yogurts
    part = kiosk.locator("select[data-part]")
    assert part.locator("option").count() == 10
    part.select_option("3")
    with store.client() as http:
        line = until(
            "three of ten, repriced",
            lambda: next(
                (ln for ln in shop.basket(http, "lane-1")["lines"] if ln["part"] == [3, 10] and ln["verdict"]), None
            ),
        )
        assert line["price"] == 15_000

        # the shopper scans the bottle's barcode instead of its stamp, then the stamp
        store.scanners["lane-1"].scan("4600000000077")
        notice = kiosk.wait_for_selector("[data-notice=stamp_bad_length]")
        assert "Это не акцизная марка" in notice.inner_text()
        kiosk.screenshot(path=str(ARTIFACTS / "kiosk-stamp-not-a-stamp.png"))
        store.scanners["lane-1"].scan(vodka.stamp)
        kiosk.wait_for_selector("[data-problem=STAMP_NEEDED]", state="detached")
        assert kiosk.query_selector("[data-notice]") is None

        # 18+: the digital ID instead of staff
        store.scanners["lane-1"].scan(store.max_id.issue(age_over=18))
        kiosk.wait_for_selector("[data-age=accepted]")
        kiosk.screenshot(path=str(ARTIFACTS / "kiosk-weighed-part-stamped.png"), full_page=True)
        kiosk.tap("#lang")
        wait_for_js(kiosk, "document.documentElement.lang === 'en'")
        assert "0.352 kg × ₽1,290.00/kg" in kiosk.inner_text("[data-weight='352']")
        until("a settled box", lambda: not shop.basket(http, "lane-1")["settling"])
        http.post("/api/kiosk/lane-1/checkout").raise_for_status()
        http.post("/api/kiosk/lane-1/pay", json={"method": "card"}).raise_for_status()
        until("paid and printed", lambda: shop.basket(http, "lane-1")["state"] == "CLOSED")

    [sale] = store.utm.sales()
    assert sale.stamps == (vodka.stamp,) and sale.prices == ("499.00",)
    receipts = [r for r in store.kkt.receipts() if r["kind"] == "sell"]
    items = {i.get("name"): i for i in receipts[-1]["items"]}
    assert (items[CHEESE.name]["measurementUnit"], items[CHEESE.name]["quantity"]) == ("kilogram", 0.352)
    assert base64.b64decode(items[CHEESE.name]["imcParams"]["imc"]).decode() == cheese.mark_code
    assert items[YOGURT.name]["imcParams"]["itemFractionalAmount"] == "3/10"
    qr = [i for i in receipts[-1]["items"] if i.get("type") == "barcode"]
    assert qr and qr[0]["barcode"] == sale.url
    kiosk.close()
