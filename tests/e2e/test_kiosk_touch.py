"""A first-time shopper at the kiosk, screen by screen (welcome → items → review → loyalty →
pay → receipt → thank you → welcome), by touch in Russian and English on a 1024×768 screen
either way round, by keyboard alone, and at 200 % zoom; the idle shopper is asked "still
there?" and their basket cancelled. A screenshot of each step goes to test-artifacts/; axe-core
finds no serious or critical violation and no touch target is under 48 px at any step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from edge_agent.config import Config, KioskSettings
from edge_agent.security.devices import COOKIE
from sim.scenarios import PRODUCTS, Item
from tests.e2e.axe import violations
from tests.e2e.browser import ARTIFACTS, lost_content, wait_for_js
from tests.e2e.demo_store import RunningStore

MILK, BREAD, CHOC = PRODUCTS[0], PRODUCTS[2], PRODUCTS[3]
PHONES = {"ru": "+79990000002", "en": "+79990000001"}
BALANCES = {"ru": "12000", "en": "500"}
IDLE = KioskSettings(idle_s=6, idle_prompt_s=3, receipt_s=30, thanks_s=2)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    store = RunningStore(tmp_path_factory.mktemp("touch") / "var", Config(kiosk=IDLE)).start()
    yield store
    store.stop()


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


def on_screen(page: Any, name: str, timeout: float = 15_000) -> None:
    from playwright.sync_api import TimeoutError as Timeout

    try:
        page.wait_for_selector(f"main[data-screen='{name}']", timeout=timeout)
    except Timeout:
        now = page.evaluate("[document.querySelector('main').dataset.screen, window.lastUpdate?.basket]")
        raise AssertionError(f"not on the {name} screen: on {now[0]}, basket {now[1]}") from None


def open_kiosk(shop: RunningStore, browser: Any, lane: str, lang: str, **context: Any) -> Any:
    assert shop.store is not None
    browsing = browser.new_context(locale="ru-RU" if lang == "ru" else "en-GB", **context)
    # the lane's kiosk credential, as its one-time enrolment link left it in the kiosk's browser
    browsing.add_cookies(
        [
            {
                "name": COOKIE,
                "value": shop.store.tokens[f"kiosk-{lane}"],
                "url": shop.url,
                "secure": True,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    page = browsing.new_page()
    page.goto(f"{shop.url}/kiosk/{lane}")
    page.evaluate(f"localStorage.setItem('lang', '{lang}')")
    page.reload()
    on_screen(page, "welcome")
    return page


def identify_by_phone(shop: RunningStore, page: Any, phone: str) -> None:
    """From the review screen: the loyalty step, the phone typed, the texted code, back to review."""
    page.tap("#to_loyalty")
    on_screen(page, "loyalty")
    page.fill("#ref", phone)
    page.tap("#identify")
    page.wait_for_selector("#otpbox:not([hidden])")
    page.fill("#otp", shop.sms_code(phone))
    page.tap("#verify")
    on_screen(page, "review")


def finish(shop: RunningStore, page: Any, lane: str, items: list[Item]) -> None:
    """The shopper takes their items out, and the lane's basket is over (closed or cancelled)."""
    for it in items:
        shop.remove(lane, it.epc)
    wait_for_js(page, "['CLOSED', 'CANCELLED'].includes(window.lastUpdate?.basket?.state)")
    wait_for_js(page, "(window.lastUpdate?.basket?.left_in_box || 0) === 0")  # the box empty for the next one
    page.context.close()


@pytest.mark.parametrize(
    ("lang", "lane", "viewport"),
    [("ru", "lane-1", {"width": 1024, "height": 768}), ("en", "lane-2", {"width": 768, "height": 1024})],
)
def test_a_first_time_shopper_goes_through_every_screen_by_touch(
    shop: RunningStore, browser: Any, lang: str, lane: str, viewport: dict[str, int]
) -> None:
    kiosk = open_kiosk(shop, browser, lane, lang, viewport=viewport, has_touch=True)
    shot = 0

    def step(name: str) -> None:
        nonlocal shot
        shot += 1
        kiosk.screenshot(path=str(ARTIFACTS / f"kiosk-{lang}-{shot:02d}-{name}.png"), full_page=True)
        assert violations(kiosk) == [], name
        assert small_targets(kiosk) == [], name

    step("welcome")
    kiosk.tap("#start")
    on_screen(kiosk, "items")
    assert kiosk.is_visible("#empty")
    items = [Item(CHOC, f"{lang}C1"), Item(CHOC, f"{lang}C2"), Item(MILK, f"{lang}M1")]
    shop.call(lambda: shop.store.crpt.registry.add(items[2].mark_code))  # type: ignore[union-attr]
    shop.call(lambda: shop.services.records.catalogue.receive_codes([(items[2].ki, items[2].mark_code)]))
    for it in items:
        shop.place(lane, it.epc)
    kiosk.wait_for_selector(f"tr[data-group='{CHOC.name}'][data-qty='2']")  # two bars: one row, ×2
    kiosk.wait_for_selector(f"tr[data-group='{MILK.name}'] .badge.ALLOWED")  # the milk's mark: verified
    assert kiosk.eval_on_selector_all("tr[data-group]", "els => els.length") == 2
    # each row its product's picture (the chocolate and the milk have one) or its pictogram
    assert kiosk.eval_on_selector_all("tr[data-group] td.art :is(svg.pictogram, img.photo)", "els => els.length") == 2
    assert kiosk.get_attribute("#steps li[aria-current]", "data-step") == "items"
    step("items")

    kiosk.tap("#checkout")
    on_screen(kiosk, "review")
    kiosk.wait_for_selector("#to_pay:not([disabled])")
    assert kiosk.get_attribute("#steps li[aria-current]", "data-step") == "review"
    step("review")

    kiosk.tap("#to_loyalty")
    on_screen(kiosk, "loyalty")
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
    on_screen(kiosk, "review")  # back to the review, with the balance the code unlocked
    wait_for_js(kiosk, f"document.querySelector('#loyalty').textContent.includes('{BALANCES[lang]}')")
    step("loyalty")

    kiosk.tap("#to_pay")
    on_screen(kiosk, "pay")
    step("pay")
    shop.call(lambda: setattr(shop.store.central.settings, "customer_delay_s", 2.0))  # type: ignore[union-attr]
    try:
        kiosk.tap("#sbp")
        kiosk.wait_for_selector("#qr img")
        wait_for_js(kiosk, "Number(document.querySelector('#countdown')?.dataset.left) > 0")
        size = kiosk.eval_on_selector("#qr img", "e => e.getBoundingClientRect().width")
        assert size >= 300  # the QR large enough to scan from a phone at arm's length
        step("sbp")
    finally:
        shop.call(lambda: setattr(shop.store.central.settings, "customer_delay_s", 0.05))  # type: ignore[union-attr]
    on_screen(kiosk, "receipt", timeout=20_000)
    kiosk.wait_for_selector("#fiscal")
    step("receipt")
    kiosk.tap("#done")
    on_screen(kiosk, "thanks")
    step("thanks")
    on_screen(kiosk, "welcome")  # after the thank-you, the next shopper's welcome
    finish(shop, kiosk, lane, items)


def test_an_idle_shopper_is_asked_then_the_basket_is_cancelled(shop: RunningStore, browser: Any) -> None:
    lane = "lane-1"
    kiosk = open_kiosk(shop, browser, lane, "en", viewport={"width": 1024, "height": 768}, has_touch=True)
    item = Item(BREAD, "IDLE0001")
    shop.place(lane, item.epc)
    on_screen(kiosk, "items")  # the first item starts the purchase: no tap needed
    kiosk.wait_for_selector("#idle:not([hidden])", timeout=(IDLE.idle_s + 5) * 1000)  # nobody touched it
    kiosk.screenshot(path=str(ARTIFACTS / "kiosk-en-idle.png"), full_page=True)
    assert violations(kiosk) == []
    assert "cancelled" in kiosk.inner_text("#idle")
    kiosk.tap("#still_here")  # the shopper was only reading: everything stays
    kiosk.wait_for_selector("#idle", state="hidden")
    assert kiosk.eval_on_selector_all("tr[data-group]", "els => els.length") == 1
    basket = kiosk.evaluate("window.lastUpdate.basket.id")

    kiosk.wait_for_selector("#idle:not([hidden])", timeout=(IDLE.idle_s + 5) * 1000)  # and now they left
    on_screen(kiosk, "welcome", timeout=(IDLE.idle_prompt_s + 5) * 1000)
    assert shop.store is not None
    with shop.store.client() as http:
        state = http.get(f"/api/kiosk/{lane}/basket").json()
    assert (state["id"], state["state"]) == (basket, "CANCELLED")
    finish(shop, kiosk, lane, [item])


def test_a_kept_basket_waits_behind_the_welcome_screen(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> None:
    """``idle_action = "keep"``: the shopper left, the box still holds their items; the kiosk
    goes back to welcome and offers to continue, with the basket as it was."""
    lane = "lane-2"
    keep = IDLE.model_copy(update={"idle_action": "keep"})
    shop = RunningStore(tmp_path_factory.mktemp("keep") / "var", Config(kiosk=keep)).start()
    try:
        # this store's own throw-away CA, which the module's browser was not started to trust
        viewport = {"width": 1024, "height": 768}
        kiosk = open_kiosk(shop, browser, lane, "en", viewport=viewport, has_touch=True, ignore_https_errors=True)
        item = Item(BREAD, "KEEP0001")
        shop.place(lane, item.epc)
        on_screen(kiosk, "items")
        kiosk.wait_for_selector("#idle:not([hidden])", timeout=(IDLE.idle_s + 5) * 1000)
        assert "goes back to the start" in kiosk.inner_text("#idle")
        on_screen(kiosk, "welcome", timeout=(IDLE.idle_prompt_s + 5) * 1000)
        assert kiosk.inner_text("#resume").endswith("(1)")
        assert shop.store is not None
        with shop.store.client() as http:
            assert http.get(f"/api/kiosk/{lane}/basket").json()["state"] == "SCANNING"  # kept, not cancelled
        kiosk.tap("#resume")
        on_screen(kiosk, "items")
        assert kiosk.eval_on_selector_all("tr[data-group]", "els => els.length") == 1
        kiosk.tap("#cancel")
        kiosk.wait_for_selector("#confirm:not([hidden])")
        kiosk.tap("#confirm_no")  # cancel asks first: "no" keeps the purchase
        assert kiosk.is_hidden("#confirm") and window_state(kiosk) == "SCANNING"
        kiosk.tap("#cancel")
        kiosk.tap("#confirm_yes")
        on_screen(kiosk, "welcome")
        # the box still holds the item: the kiosk asks for it to be taken out, Start waits
        kiosk.wait_for_selector("#empty_box:not([hidden])")
        assert "Still in the box: 1" in kiosk.inner_text("#empty_box") and kiosk.is_disabled("#start")
        shop.remove(lane, item.epc)
        kiosk.wait_for_selector("#empty_box[hidden]", state="attached")
        assert not kiosk.is_disabled("#start")
    finally:
        shop.stop()


def window_state(page: Any) -> str:
    return str(page.evaluate("window.lastUpdate.basket.state"))


def tab_to(page: Any, element: str, limit: int = 60) -> None:
    """Press Tab until ``element`` has the focus, and check the focus is visible there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element:
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline not in ("", "none"), f"#{element} has the focus but shows no outline"
            return
    raise AssertionError(f"#{element} cannot be reached with Tab")


def test_the_kiosk_works_by_keyboard_alone(shop: RunningStore, browser: Any) -> None:
    lane = "lane-2"
    kiosk = open_kiosk(shop, browser, lane, "ru", viewport={"width": 1024, "height": 768})
    tab_to(kiosk, "start")
    kiosk.keyboard.press("Enter")
    on_screen(kiosk, "items")
    item = Item(BREAD, "KEYS0001")
    shop.place(lane, item.epc)
    kiosk.wait_for_selector(f"tr[data-group='{BREAD.name}']")
    tab_to(kiosk, "checkout")
    kiosk.keyboard.press("Enter")
    on_screen(kiosk, "review")
    kiosk.wait_for_selector("#to_pay:not([disabled])")
    tab_to(kiosk, "to_loyalty")
    kiosk.keyboard.press("Enter")
    on_screen(kiosk, "loyalty")
    tab_to(kiosk, "ref")
    kiosk.keyboard.type(PHONES["en"])  # a physical keyboard types; Enter sends
    kiosk.keyboard.press("Enter")
    kiosk.wait_for_selector("#otpbox:not([hidden])")
    assert kiosk.evaluate("document.activeElement.id") == "otp"  # the focus moves to the code
    kiosk.keyboard.type(shop.sms_code(PHONES["en"]))
    kiosk.keyboard.press("Enter")
    on_screen(kiosk, "review")
    tab_to(kiosk, "to_pay")
    kiosk.keyboard.press("Enter")
    on_screen(kiosk, "pay")
    tab_to(kiosk, "card")
    kiosk.keyboard.press("Enter")
    on_screen(kiosk, "receipt", timeout=20_000)
    tab_to(kiosk, "done")
    kiosk.keyboard.press("Enter")
    on_screen(kiosk, "thanks")
    finish(shop, kiosk, lane, [item])


def test_text_at_200_percent_loses_nothing(shop: RunningStore, browser: Any) -> None:
    """Browser zoom at 200 % on a 1024×768 kiosk: 512×384 CSS pixels, each drawn twice as large."""
    lane = "lane-1"
    kiosk = open_kiosk(
        shop, browser, lane, "ru", viewport={"width": 512, "height": 384}, device_scale_factor=2, has_touch=True
    )
    assert lost_content(kiosk) == [], "welcome"
    items = [Item(CHOC, "ZOOM0001"), Item(BREAD, "ZOOM0002")]
    for it in items:
        shop.place(lane, it.epc)
    kiosk.wait_for_selector(f"tr[data-group='{BREAD.name}']")
    kiosk.screenshot(path=str(ARTIFACTS / "kiosk-ru-zoom200-items.png"), full_page=True)
    assert lost_content(kiosk) == [], "items"
    kiosk.tap("#checkout")
    on_screen(kiosk, "review")
    kiosk.tap("#to_loyalty")
    on_screen(kiosk, "loyalty")
    kiosk.screenshot(path=str(ARTIFACTS / "kiosk-ru-zoom200-loyalty.png"), full_page=True)
    assert lost_content(kiosk) == [], "loyalty"
    kiosk.tap("#loyalty_back")
    kiosk.tap("#to_pay")
    on_screen(kiosk, "pay")
    assert lost_content(kiosk) == [], "pay"
    kiosk.tap("#cancel")
    kiosk.wait_for_selector("#confirm:not([hidden])")
    assert lost_content(kiosk) == [], "cancel?"
    kiosk.tap("#confirm_yes")
    on_screen(kiosk, "welcome")
    finish(shop, kiosk, lane, items)


#: text a shopper reads smaller than 18 CSS px, as "tag#id: text (size)"
SMALL_TEXT = """() => [...document.querySelectorAll('main *, header *')]
  .filter(e => e.offsetParent !== null && !e.closest('[hidden]') && e.childNodes.length)
  .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .filter(e => parseFloat(getComputedStyle(e).fontSize) < 18)
  .map(e => `${e.tagName.toLowerCase()}#${e.id}: ${e.textContent.trim().slice(0, 30)}`
    + ` (${getComputedStyle(e).fontSize})`)"""


@pytest.mark.parametrize(
    ("name", "viewport", "scale"),
    [
        ("1024x768", {"width": 1024, "height": 768}, 1),
        ("portrait", {"width": 1080, "height": 1920}, 1),
        ("zoom200", {"width": 512, "height": 384}, 2),
    ],
)
def test_the_total_and_the_next_step_stay_on_screen_with_a_long_basket(
    shop: RunningStore, browser: Any, name: str, viewport: dict[str, int], scale: int
) -> None:
    """Fourteen different items: the list scrolls, the total and the next step (and Cancel) stay
    in view at the bottom of the screen; the header speaks the shopper's words, every text is
    at least 18 px, and a portrait kiosk uses its width."""
    lane = "lane-2"
    kiosk = open_kiosk(shop, browser, lane, "ru", viewport=viewport, device_scale_factor=scale, has_touch=True)
    assert "lane-2" not in kiosk.inner_text("header") and "касса 2" in kiosk.inner_text("header")
    items = [Item(p, f"{name[:4].upper()}{n:04d}") for n, p in enumerate([BREAD, CHOC] * 7)]
    for it in items:
        shop.place(lane, it.epc)
    wait_for_js(kiosk, "(window.lastUpdate?.basket?.lines?.length || 0) === 14")
    kiosk.wait_for_selector("#checkout:not([disabled])")

    def in_view(selector: str) -> bool:
        box = kiosk.locator(selector).bounding_box()
        return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 1

    kiosk.evaluate("window.scrollTo(0, 0)")
    assert in_view("#total") and in_view("#checkout") and in_view("#cancel"), name
    kiosk.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert in_view("#total") and in_view("#checkout"), name
    assert kiosk.evaluate(SMALL_TEXT) == [], name
    if name == "portrait":
        width = kiosk.eval_on_selector("#basket", "e => e.getBoundingClientRect().width")
        assert width >= 0.9 * viewport["width"]
    kiosk.screenshot(path=str(ARTIFACTS / f"kiosk-ru-{name}-long-basket.png"))
    kiosk.tap("#cancel")
    kiosk.tap("#confirm_yes")
    on_screen(kiosk, "welcome")
    finish(shop, kiosk, lane, items)
