"""The phone's product page tells the truth about where its verdict came from (issue 30, point
11), over HTTPS as a phone opens it, in Russian and English: checked online, allowed by the
store's copy of the registry when Chestny ZNAK is out of reach (never "checked with Chestny
ZNAK" then), "code not found" for a code the registry never issued, "sold in this store"
neutrally, every reason translated with advice, and an HTML page for a link that is no
product's."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from sim.scenarios import PRODUCTS, Item
from tests.e2e.browser import ARTIFACTS, chromium, demo_store
from tests.e2e.demo_store import RunningStore

MILK = PRODUCTS[0]
#: what the check services say in English: never on the Russian page
ENGLISH_REASONS = ("national system", "sale blocked", "not authentic", "already been sold", "no answer")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    yield from demo_store(tmp_path_factory, "phone")


@pytest.fixture(scope="module")
def phone(shop: RunningStore) -> Iterator[httpx.Client]:
    assert shop.store is not None
    with httpx.Client(base_url=shop.url, verify=shop.store.tls_context(), timeout=30) as client:
        yield client  # a phone: no device credential, only the link


def link(shop: RunningStore, item: Item) -> str:
    """The item's Digital Link as its NFC tag carries it, with the code's verification part (93)."""
    return f"/01/{item.product.gtin}/21/{item.serial}?93={item.serial[-4:]}"


def page(phone: httpx.Client, path: str, lang: str = "ru-RU") -> tuple[int, str]:
    r = phone.get(path, headers={"accept-language": lang})
    return r.status_code, r.text


def verdict_of(html: str) -> str:
    found = re.search(r'data-verdict="([a-z_]+)"', html)
    assert found is not None, html
    return found.group(1)


def test_online_genuine_and_a_never_issued_code_online_and_offline(shop: RunningStore, phone: httpx.Client) -> None:
    assert shop.store is not None
    crpt = shop.store.crpt
    genuine, never, never_offline = Item(MILK, "PHONE0001"), Item(MILK, "PHONE0002"), Item(MILK, "PHONE0003")
    shop.call(lambda: crpt.registry.add(genuine.mark_code))

    status, html = page(phone, link(shop, genuine))
    assert status == 200 and verdict_of(html) == "genuine"
    assert "Подлинный: проверен онлайн в Честном ЗНАКе" in html and "онлайн, через ТС ПИоТ" in html

    status, html = page(phone, link(shop, never))  # the registry never issued it: online, it says so
    assert status == 200 and verdict_of(html) == "not_found"
    assert "Код не найден в Честном ЗНАКе" in html and "может быть подделкой" in html
    assert not any(words in html for words in ENGLISH_REASONS)
    status, html = page(phone, link(shop, never), "en-GB")
    assert "Code not found in Chestny ZNAK" in html and "may be counterfeit" in html

    shop.call(lambda: setattr(crpt.ts_piot, "hang", True))  # Chestny ZNAK out of reach: the Local Module answers
    try:
        status, html = page(phone, link(shop, never_offline))
    finally:
        shop.call(lambda: setattr(crpt.ts_piot, "hang", False))
    assert status == 200 and verdict_of(html) == "allowed_offline"
    assert "Подлинный" not in html and "проверен онлайн" not in html and "копии реестра в магазине" in html
    assert "без связи: копия реестра в магазине" in html


def test_a_sold_item_is_sold_here_neutrally_and_a_bad_link_gets_a_page(shop: RunningStore, phone: httpx.Client) -> None:
    assert shop.store is not None
    sold = Item(MILK, "PHONE0004")
    shop.call(lambda: shop.store.crpt.registry.add(sold.mark_code))  # type: ignore[union-attr]
    shop.call(lambda: shop.services.records.catalogue.receive_codes([(sold.ki, sold.mark_code)]))
    with shop.store.client(timeout=30) as http:
        shop.sell(http, "lane-1", [sold])
    status, html = page(phone, link(shop, sold))
    assert status == 200 and 'class="badge neutral" data-sold="here"' in html and "Продан в этом магазине" in html
    assert "уже продан" not in html

    status, html = page(phone, "/01/123/21/x")  # not an item's link
    assert status == 404 and html.lstrip().startswith("<!doctype html>")
    assert "Эта ссылка не ведёт к товару" in html and "Поднесите телефон" in html
    r = phone.get("/01/123/21/x", headers={"accept": "application/json"})
    assert r.status_code == 404 and r.json()["detail"]["code"]


def test_the_phone_page_reads_in_a_browser(shop: RunningStore) -> None:
    assert shop.store is not None
    never = Item(MILK, "PHONE0005")
    with chromium(shop) as browser:
        tab = browser.new_page(locale="ru-RU", viewport={"width": 390, "height": 844}, is_mobile=True)
        tab.goto(shop.url + link(shop, never))
        assert tab.get_attribute("[data-verdict]", "data-verdict") == "not_found"
        tab.screenshot(path=str(ARTIFACTS / "phone-code-not-found.png"), full_page=True)
        tab.goto(shop.url + "/01/123/21/x")
        assert "Эта ссылка не ведёт к товару" in tab.inner_text("h1")
        tab.screenshot(path=str(ARTIFACTS / "phone-bad-link.png"), full_page=True)
