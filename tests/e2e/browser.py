"""The browser tests' shared parts: Debian's Chromium trusting a demo store's certificate, a
store per test module, and where the screenshots go (test-artifacts/). The ``browser``
fixture (tests/e2e/conftest.py) launches Chromium for the module's own ``shop``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.demo_store import RunningStore

ARTIFACTS = ROOT / "test-artifacts"


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Debian's chromium is not installed: `make test` installs it (scripts/setup.sh)")
    return path


@contextmanager
def chromium(shop: RunningStore) -> Iterator[Any]:
    """Debian's Chromium, trusting the demo store's throw-away certificate (its key, pinned)."""
    from playwright.sync_api import sync_playwright

    from edge_agent.security.tls import spki_sha256

    ARTIFACTS.mkdir(exist_ok=True)
    assert shop.store is not None
    pin = spki_sha256(shop.store.ca.parent / "server.crt")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-gpu", f"--ignore-certificate-errors-spki-list={pin}"],
        )
        try:
            yield b
        finally:
            b.close()


def demo_store(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[RunningStore]:
    store = RunningStore(tmp_path_factory.mktemp(name) / "var").start()
    yield store
    store.stop()


def handheld(browser: Any, shop: RunningStore, locale: str = "en-GB", device: str = "handheld-1") -> Any:
    """A phone-sized staff handheld, enrolled by its one-time link (``handheld-1`` is the demo's;
    another name is provisioned now), signed in as the demo's staff member."""
    from edge_agent.security.devices import Device
    from sim.scenarios import STAFF_PIN

    assert shop.store is not None
    page = browser.new_page(locale=locale, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    link = (
        shop.store.enrol[device]
        if device == "handheld-1"
        else (shop.url + shop.services.devices.provision(Device(device, "handheld"), enrol=True).enrol_path())
    )
    page.goto(link)
    page.fill("#staff_id", "s-1")
    page.fill("#pin", STAFF_PIN)
    page.tap("#pinbtn")
    page.wait_for_selector("#queue")
    return page


def lost_content(page: Any) -> list[str]:
    """What 200 % text loses: a page wider than the screen, or text cut off inside its box."""
    return list(
        page.evaluate(
            """width => {  // the emulated screen's CSS width: a mobile layout viewport grows to fit overflow
        const out = [];
        const page = document.documentElement.scrollWidth;
        if (page > width + 1) out.push(`page ${page}px wide`);
        for (const e of document.querySelectorAll('main *, header *, #idle *')) {
          // .sr: text for screen readers only, clipped on purpose
          if (e.offsetParent === null || !e.textContent.trim() || e.closest('.sr')) continue;
          const s = getComputedStyle(e);
          if (s.overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 1) out.push(e.id || e.tagName);
          const r = e.getBoundingClientRect();
          if (r.right > width + 1) out.push(`${e.id || e.tagName} beyond the edge`);
        }
        return out;
      }""",
            page.viewport_size["width"],
        )
    )


def wait_for_js(page: Any, expression: str, timeout_s: float = 30) -> None:
    """Until ``expression`` is true on the page. Playwright's ``wait_for_function`` polls by
    ``eval`` inside the page, which the pages' Content-Security-Policy (script-src 'self')
    refuses as soon as the first check is false; each check here is a DevTools evaluation,
    which the policy does not govern."""
    import time

    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if page.evaluate(expression):
                return
        except Error as e:  # the page is navigating (a language switch reloads it): ask the new one
            # (mid-load the document may not have its root yet: "Cannot read properties of null")
            mid_load = "context was destroyed" in str(e) or "navigat" in str(e) or "of null" in str(e)
            if not mid_load:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout_s} s: {expression}")
        time.sleep(0.05)
