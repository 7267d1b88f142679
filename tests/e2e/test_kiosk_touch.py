"""A first-time shopper at the kiosk by touch, in Russian and in English, on a 1024×768 screen
either way round: items grouped by product with each item's status, the on-screen keypad for
the phone and the SMS code, large touch targets, the SBP QR with its countdown, a screenshot of
each step in test-artifacts/ and no serious or critical accessibility violation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sim.scenarios import PRODUCTS, Item
from tests.e2e.axe import violations
from tests.e2e.browser import ARTIFACTS, demo_store
from tests.e2e.demo_store import RunningStore

MILK, CHOC = PRODUCTS[0], PRODUCTS[3]
PHONES = {"ru": "+79990000002", "en": "+79990000001"}
BALANCES = {"ru": "12000", "en": "500"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    yield from demo_store(tmp_path_factory, "touch")


def small_targets(page: Any) -> list[str]:
    """Visible buttons and inputs smaller than 48 × 48 CSS pixels (WCAG 2.5.5's target size)."""
    return list(
        page.eval_on_selector_all(
            "button, input",
            """els => els
        .filter(e => e.offsetParent !== null && !e.closest('[hidden]'))
        .filter(e => { const r = e.getBoundingClientRect(); return r.width < 48 || r.height < 48; })
        .map(e => e.id || e.dataset.key || e.outerHTML.slice(0, 40))""",
        )
    )


@pytest.mark.parametrize(("lang", "lane", "viewport"), [("ru", "lane-1", {"width": 1024, "height": 768}),
                                                        ("en", "lane-2", {"width": 768, "height": 1024})])  # fmt: skip
def test_a_first_time_shopper_pays_by_touch(shop: RunningStore, browser: Any, lang: str, lane: str,
                                            viewport: dict[str, int]) -> None:  # fmt: skip
    assert shop.store is not None
    context = browser.new_context(locale="ru-RU" if lang == "ru" else "en-GB", viewport=viewport, has_touch=True)
    kiosk = context.new_page()
    kiosk.goto(shop.store.enrol[f"kiosk-{lane}"])
    kiosk.evaluate(f"localStorage.setItem('lang', '{lang}')")
    kiosk.reload()
    shot = 0

    def step(name: str) -> None:
        nonlocal shot
        shot += 1
        kiosk.screenshot(path=str(ARTIFACTS / f"kiosk-{lang}-{shot:02d}-{name}.png"), full_page=True)
        assert violations(kiosk) == [], name
        assert small_targets(kiosk) == [], name

    step("welcome")
    items = [Item(CHOC, f"{lang}C1"), Item(CHOC, f"{lang}C2"), Item(MILK, f"{lang}M1")]
    shop.call(lambda: shop.store.crpt.registry.add(items[2].mark_code))  # type: ignore[union-attr]
    shop.call(lambda: shop.services.store.receive_codes([(items[2].ki, items[2].mark_code)]))
    for it in items:
        shop.place(lane, it.epc)
    kiosk.wait_for_selector(f"tr[data-group='{CHOC.name}'][data-qty='2']")  # two bars: one row, ×2
    kiosk.wait_for_selector(f"tr[data-group='{MILK.name}'] .badge.ALLOWED")  # the milk's mark: verified
    assert kiosk.eval_on_selector_all("tr[data-group]", "els => els.length") == 2
    step("items")

    kiosk.tap("#ref")
    kiosk.tap("#keypad [data-key='+7']")  # the on-screen keypad: "+7", then each digit
    for digit in PHONES[lang][2:]:
        kiosk.tap(f"#keypad [data-key='{digit}']")
    assert kiosk.input_value("#ref") == PHONES[lang]
    kiosk.tap("#identify")
    kiosk.wait_for_selector("#otpbox:not([hidden])")
    step("code")
    for digit in shop.sms_code(PHONES[lang]):
        kiosk.tap(f"#keypad [data-key='{digit}']")
    kiosk.tap("#verify")
    kiosk.wait_for_function(
        f"document.querySelector('#loyalty').textContent.includes('{BALANCES[lang]}')"  # the balance, once verified
    )
    step("loyalty")

    kiosk.tap("#checkout")
    kiosk.wait_for_selector("#card:not([disabled])")
    step("review")
    shop.call(lambda: setattr(shop.store.central.settings, "customer_delay_s", 2.0))  # type: ignore[union-attr]
    try:
        kiosk.tap("#sbp")
        kiosk.wait_for_selector("#qr img")
        kiosk.wait_for_function("Number(document.querySelector('#countdown')?.dataset.left) > 0")
        size = kiosk.eval_on_selector("#qr img", "e => e.getBoundingClientRect().width")
        assert size >= 300  # the QR large enough to scan from a phone at arm's length
        step("sbp")
    finally:
        shop.call(lambda: setattr(shop.store.central.settings, "customer_delay_s", 0.05))  # type: ignore[union-attr]
    kiosk.wait_for_selector("#receipt:not([hidden])", timeout=20_000)
    step("receipt")
    for it in items:
        shop.remove(lane, it.epc)
    time.sleep(shop.store.depart_s + 0.3)
    context.close()
