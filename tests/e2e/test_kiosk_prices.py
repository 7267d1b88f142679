"""Prices as the loyalty program says, in Debian's Chromium: the card price offered before the
shopper identifies, applied when they do (a "card discount" line on the kiosk and the receipt),
the points they choose to spend, and the fiscal receipt's lines carrying the prices paid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from edge_agent.config import Config, KioskSettings
from sim.scenarios import PRODUCTS, Item
from tests.conftest import ROOT
from tests.e2e.browser import ARTIFACTS, wait_for_js
from tests.e2e.demo_store import RunningStore
from tests.e2e.test_kiosk_touch import finish, identify_by_phone, on_screen, open_kiosk

BREAD, CHOC = PRODUCTS[2], PRODUCTS[3]
TEXTS = json.loads((ROOT / "edge_agent" / "web" / "texts.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    kiosk = KioskSettings(idle_s=600, idle_prompt_s=60, receipt_s=60, thanks_s=1)
    store = RunningStore(tmp_path_factory.mktemp("prices") / "var", Config(kiosk=kiosk)).start()
    yield store
    store.stop()


def text(page: Any, selector: str) -> str:
    return str(page.text_content(selector) or "")


@pytest.mark.parametrize(
    ("lang", "viewport"), [("ru", {"width": 1024, "height": 768}), ("en", {"width": 1080, "height": 1920})]
)
def test_the_card_price_is_applied_when_the_customer_identifies_and_points_are_chosen(
    shop: RunningStore, browser: Any, lang: str, viewport: dict[str, int]
) -> None:
    assert shop.store is not None and CHOC.loyalty_price is not None
    lane, t = "lane-1", TEXTS[lang]
    rub = (lambda k: f"{k // 100},{k % 100:02d}") if lang == "ru" else (lambda k: f"{k // 100}.{k % 100:02d}")
    kiosk = open_kiosk(shop, browser, lane, lang, viewport=viewport, has_touch=True)
    items = [Item(CHOC, f"{lang}CARD01"), Item(BREAD, f"{lang}CARD02")]
    kiosk.tap("#start")
    on_screen(kiosk, "items")
    for it in items:
        shop.place(lane, it.epc)
    kiosk.wait_for_selector("#checkout:not([disabled])")
    saving = CHOC.price - CHOC.loyalty_price
    # before: the card price is offered, the full price charged
    assert t["card_would_save"] in text(kiosk, "#card_line") and rub(saving) in text(kiosk, "#card_line")
    assert rub(CHOC.price + BREAD.price) in text(kiosk, "#total")
    kiosk.tap("#checkout")
    on_screen(kiosk, "review")
    identify_by_phone(shop, kiosk, "+79990000002")
    # identified: the card's price, as a discount line and on the item's row
    wait_for_js(kiosk, "document.querySelector('#card_line').dataset.applied === 'true'")
    line = text(kiosk, "#card_line")
    assert line.startswith(f"{t['card_discount']}: −") and rub(saving) in line
    assert rub(saving) in text(kiosk, f"tr[data-group='{CHOC.name}'] [data-card]")
    wait_for_js(
        kiosk, f"document.querySelector('#total').textContent.includes('{rub(CHOC.loyalty_price + BREAD.price)}')"
    )
    # points: the shopper chooses how many (half of what is offered)
    kiosk.wait_for_selector("#redeem:not([disabled])")
    kiosk.tap("#redeem")
    kiosk.wait_for_selector("#redeembox:not([hidden])")
    kiosk.tap("#spend_half")
    wanted = int(kiosk.input_value("#points"))
    assert wanted > 0
    kiosk.tap("#spend")
    kiosk.wait_for_selector("#points_line:not([hidden])")
    basket = kiosk.evaluate("window.lastUpdate.basket")
    assert basket["discount"] > 0 and basket["card_discount"] == saving
    assert basket["total"] == CHOC.loyalty_price + BREAD.price - basket["discount"]
    kiosk.screenshot(path=str(ARTIFACTS / f"prices-{lang}-review.png"), full_page=True)
    kiosk.tap("#to_pay")
    on_screen(kiosk, "pay")
    shop.store.script_customer(lane, "ok")
    kiosk.tap("#card")
    on_screen(kiosk, "receipt", timeout=20_000)
    kiosk.wait_for_selector("#fiscal")
    receipt = text(kiosk, "#receipt")
    assert f"{t['card_discount']}: −" in receipt and rub(saving) in receipt and t["points_discount"] in receipt
    assert f"{t['paid_by']}: {t['paid_card']}" in receipt
    # once central has booked the points, the receipt says what the sale earned (the program
    # gives none when points were spent: 0)
    kiosk.wait_for_selector("#earned")
    assert text(kiosk, "#earned") == f"{t['points_earned']}: 0"
    kiosk.screenshot(path=str(ARTIFACTS / f"prices-{lang}-receipt.png"), full_page=True)
    # the fiscal receipt's lines carry what was paid: card price less the points on each line
    printed = shop.call(lambda: shop.store.kkt.receipts()[-1])  # type: ignore[union-attr]
    amounts = sorted(round(float(i["amount"]) * 100) for i in printed["items"] if i.get("type") == "position")
    assert sum(amounts) == basket["total"] and sorted(ln["amount"] for ln in basket["lines"]) == amounts
    kiosk.tap("#done")
    on_screen(kiosk, "welcome", timeout=10_000)
    finish(shop, kiosk, lane, items)


def test_a_product_with_a_picture_shows_it_and_one_without_its_pictogram(shop: RunningStore, browser: Any) -> None:
    """The catalogue names the chocolate's picture (the demo draws it): the kiosk shows it; the
    bread has none: its pictogram. The pictures' route serves plain raster files and nothing else."""
    assert shop.store is not None
    lane = "lane-2"
    kiosk = open_kiosk(shop, browser, lane, "ru", viewport={"width": 1024, "height": 768}, has_touch=True)
    errors: list[str] = []
    kiosk.on("pageerror", lambda e: errors.append(str(e)))
    items = [Item(CHOC, "PIC00001"), Item(BREAD, "PIC00002")]
    kiosk.tap("#start")
    for it in items:
        shop.place(lane, it.epc)
    kiosk.wait_for_selector(f"tr[data-group='{CHOC.name}'] img.photo")
    wait_for_js(kiosk, f"document.querySelector(\"tr[data-group='{CHOC.name}'] img.photo\").naturalWidth === 96")
    assert kiosk.locator(f"tr[data-group='{BREAD.name}'] td.art svg").count() == 1
    assert kiosk.locator(f"tr[data-group='{BREAD.name}'] img").count() == 0
    with shop.store.client() as http:
        picture = http.get("/images/chocolate.png")
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
        assert picture.content.startswith(b"\x89PNG")
        for bad in ("chocolate.svg", "..%2Fcatalog.json", "%2Fetc%2Fpasswd", ".hidden.png", "none.png"):
            assert http.get(f"/images/{bad}").status_code == 404, bad
    kiosk.tap("#cancel")
    kiosk.tap("#confirm_yes")
    on_screen(kiosk, "welcome")
    assert errors == []  # the page never failed
    finish(shop, kiosk, lane, items)
