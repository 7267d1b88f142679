"""One attendant for the store's lanes, in a real Chromium on a phone-sized handheld: three
interventions at once, in order of urgency and waiting time, a cue for the CRITICAL one,
one-tap resolve with the audit trail; the kiosk's "call staff" button raises one."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from edge_agent.dashboard.records import baskets_since
from edge_agent.security.devices import Device
from sim.scenarios import PRODUCTS, STAFF_PIN, Item
from tests.e2e.axe import violations
from tests.e2e.browser import ARTIFACTS, demo_store, handheld, lost_content
from tests.e2e.demo_store import RunningStore, until

MILK, ENERGY = PRODUCTS[0], PRODUCTS[4]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    yield from demo_store(tmp_path_factory, "attendant")


def test_the_attendant_sees_three_interventions_most_urgent_first_and_resolves_one(
    shop: RunningStore, browser: Any
) -> None:
    assert shop.store is not None
    drink, fake = Item(ENERGY, "A0000001"), Item(MILK, "A0000002")
    shop.call(
        lambda: shop.services.records.catalogue.receive_codes([(drink.ki, drink.mark_code), (fake.ki, fake.mark_code)])
    )
    shop.call(lambda: shop.store.crpt.registry.add(drink.mark_code))  # type: ignore[union-attr]

    staff = handheld(browser, shop)

    shop.place("lane-1", drink.epc)  # 1st: an age check on lane-1 (MEDIUM)
    staff.wait_for_selector("[data-intervention=AGE_RESTRICTED]")
    shop.place("lane-2", fake.epc)  # 2nd: a blocked mark on lane-2 (CRITICAL)
    staff.wait_for_selector("[data-intervention=MARKING_BLOCKED]")
    kiosk = browser.new_page(locale="en-GB", viewport={"width": 1024, "height": 768}, has_touch=True)
    kiosk.goto(shop.store.enrol["kiosk-lane-1"])
    kiosk.wait_for_selector("#help")
    time.sleep(0.05)  # the third comes last, by a clock the queue can tell apart
    kiosk.tap("#help")  # 3rd: lane-1's customer calls staff (MEDIUM, waiting least)
    staff.wait_for_selector("[data-intervention=HELP_REQUESTED]")

    order = staff.eval_on_selector_all("#interventions li", "els => els.map(e => e.dataset.intervention)")
    assert order == ["MARKING_BLOCKED", "AGE_RESTRICTED", "HELP_REQUESTED"]
    assert staff.evaluate("window.cues") >= 1  # the CRITICAL one was signalled
    staff.screenshot(path=str(ARTIFACTS / "attendant-queue.png"), full_page=True)
    assert violations(staff) == []

    staff.tap("[data-intervention=AGE_RESTRICTED] button[data-approve]")  # one tap: age seen
    staff.wait_for_selector("[data-intervention=AGE_RESTRICTED]", state="detached")
    order = staff.eval_on_selector_all("#interventions li", "els => els.map(e => e.dataset.intervention)")
    assert order == ["MARKING_BLOCKED", "HELP_REQUESTED"]
    audit = (
        sqlite3.connect(shop.services.records.db.path)
        .execute("SELECT staff, device, action FROM audit WHERE action = 'approve_problem'")
        .fetchall()
    )
    assert audit == [("s-1", "handheld-1", "approve_problem")]
    for lane, it in (("lane-1", drink), ("lane-2", fake)):  # both customers give up: the lanes are free again
        shop.remove(lane, it.epc)
    with shop.store.client() as http:
        for lane in ("lane-1", "lane-2"):
            http.post(f"/api/kiosk/{lane}/cancel", json={}).raise_for_status()
    staff.wait_for_selector("#interventions li", state="detached")


def energy_drink(shop: RunningStore, lane: str, serial: str) -> Item:
    """A genuine energy drink (its mark code received and registered) put in ``lane``'s box: an age check."""
    drink = Item(ENERGY, serial)
    shop.call(lambda: shop.services.records.catalogue.receive_codes([(drink.ki, drink.mark_code)]))
    shop.call(lambda: shop.store.crpt.registry.add(drink.mark_code))  # type: ignore[union-attr]
    shop.place(lane, drink.epc)
    return drink


def test_staff_sign_in_and_resolve_by_keyboard(shop: RunningStore, browser: Any) -> None:
    """The handheld without touch: Tab to each field, type, Enter; Tab to a problem's button, Enter."""
    assert shop.store is not None
    from edge_agent.security.devices import Device

    staff = browser.new_page(locale="en-GB", viewport={"width": 390, "height": 844})
    staff.goto(shop.url + shop.services.devices.provision(Device("handheld-3", "handheld"), enrol=True).enrol_path())
    for field, text in (("staff_id", "s-1"), ("pin", STAFF_PIN)):
        for _ in range(10):
            staff.keyboard.press("Tab")
            if staff.evaluate("document.activeElement.id") == field:
                break
        staff.keyboard.type(text)
    staff.keyboard.press("Enter")
    staff.wait_for_selector("#queue")
    drink = energy_drink(shop, "lane-2", "K0000001")
    staff.wait_for_selector("[data-intervention=AGE_RESTRICTED] button[data-approve]")
    for _ in range(40):
        staff.keyboard.press("Tab")
        if staff.evaluate("document.activeElement.matches('[data-intervention=AGE_RESTRICTED] button[data-approve]')"):
            break
    else:
        raise AssertionError("the Approve button cannot be reached with Tab")
    staff.keyboard.press("Enter")
    staff.wait_for_selector("[data-intervention=AGE_RESTRICTED]", state="detached")
    shop.remove("lane-2", drink.epc)


def shopper(shop: RunningStore, http: Any, token: str, lane: str, items: list[Item], problem: str) -> None:
    """A customer whose basket needs staff once (an age check approved, a blocked item taken
    away), then pays by card and takes the items."""
    staff = {"authorization": f"Bearer {token}"}
    for it in items:
        shop.place(lane, it.epc)
    found = until(
        problem,
        lambda: next((p for p in shop.basket(http, lane)["problems"] if p["code"] == problem and p["open"]), None),
    )
    if problem == "AGE_RESTRICTED":
        http.post(f"/api/staff/lanes/{lane}/problems/{found['id']}/approve", headers=staff).raise_for_status()
    else:
        shop.remove(lane, items[0].epc)
        http.post(f"/api/staff/lanes/{lane}/lines/{found['line_id']}/void", headers=staff).raise_for_status()
    until("no open problem", lambda: not any(p["open"] for p in shop.basket(http, lane)["problems"]))
    until("the box counted", lambda: not shop.basket(http, lane)["settling"])  # else checkout is 409 settling
    http.post(f"/api/kiosk/{lane}/checkout", json={}).raise_for_status()
    http.post(f"/api/kiosk/{lane}/pay", json={"method": "card"}).raise_for_status()
    until("paid", lambda: shop.basket(http, lane)["state"] in ("PAID", "CLOSED"))  # closed once the receipt printed
    for it in items:
        shop.remove(lane, it.epc)
    until("closed", lambda: shop.basket(http, lane)["state"] == "CLOSED")


def test_the_dashboard_shows_the_days_figures_with_charts(shop: RunningStore, browser: Any) -> None:
    assert shop.store is not None
    staff = handheld(browser, shop, device="handheld-2")  # the manager's own handheld, enrolled now
    with shop.store.client() as http:  # the day so far: two sales, each after staff resolved something
        token = http.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN}).json()["token"]
        drink, fake, bread = Item(ENERGY, "D0000001"), Item(MILK, "D0000002"), Item(PRODUCTS[2], "D0000003")
        shop.call(
            lambda: shop.services.records.catalogue.receive_codes(
                [(drink.ki, drink.mark_code), (fake.ki, fake.mark_code)]
            )
        )
        shop.call(lambda: shop.store.crpt.registry.add(drink.mark_code))  # type: ignore[union-attr]
        shopper(shop, http, token, "lane-1", [drink], "AGE_RESTRICTED")
        shopper(shop, http, token, "lane-2", [fake, bread], "MARKING_BLOCKED")
    deadline = time.monotonic() + 20
    while shop.call(lambda: len(baskets_since(shop.services.records.db, 0)[0])) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    staff.tap("#dashbtn")
    staff.wait_for_selector("#charts svg")
    baskets = int(staff.inner_text("[data-figure=baskets]"))
    with shop.store.client() as device:
        token = device.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN}).json()["token"]
        api = device.get("/api/staff/dashboard", headers={"authorization": f"Bearer {token}"}).json()
    assert baskets == api["figures"]["baskets"] >= 2 and api["figures"]["baskets_paid"] >= 2
    assert {"AGE_RESTRICTED", "MARKING_BLOCKED"} <= set(api["figures"]["interventions"])
    assert api["figures"]["time_to_resolve_s"]["n"] >= 2
    assert staff.eval_on_selector_all("#charts svg", "els => els.length") == 6
    health = api["health"]  # every reader and register, up since the store started
    assert {"reader:box-lane-1", "reader:box-lane-2", "register:lane-1", "register:lane-2", "broker"} <= set(health)
    assert health["reader:box-lane-1"]["availability"] == 1.0 and health["register:lane-1"]["outages"] == 0
    assert "reader:box-lane-1" in staff.inner_text("#charts")
    staff.screenshot(path=str(ARTIFACTS / "staff-dashboard.png"), full_page=True)
    assert violations(staff) == []


def test_the_handheld_reflows_at_320_css_pixels(shop: RunningStore, browser: Any) -> None:
    """WCAG 1.4.10: a 640 px handheld at 200 % is 320 CSS px wide; the queue, the lanes with their
    items and the dashboard fit it, nothing cut off, no sideways scrolling."""
    assert shop.store is not None
    staff = browser.new_page(
        locale="ru-RU", viewport={"width": 320, "height": 640}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    staff.goto(shop.url + shop.services.devices.provision(Device("handheld-4", "handheld"), enrol=True).enrol_path())
    assert lost_content(staff) == [], "sign-in"
    staff.fill("#staff_id", "s-1")
    staff.fill("#pin", STAFF_PIN)
    staff.tap("#pinbtn")
    drink = energy_drink(shop, "lane-1", "R0000001")
    staff.wait_for_selector("[data-intervention=AGE_RESTRICTED]")
    staff.wait_for_selector("section[data-lane=lane-1] td")
    staff.tap("#dashbtn")
    staff.wait_for_selector("#charts svg")
    staff.screenshot(path=str(ARTIFACTS / "staff-320px.png"), full_page=True)
    assert lost_content(staff) == [], "queue, lanes, dashboard"
    staff.tap("[data-intervention=AGE_RESTRICTED] button[data-approve]")
    shop.remove("lane-1", drink.epc)
    staff.close()


def test_a_gate_alarm_storm_is_one_row_and_the_tiles_hold_still_under_a_tap(shop: RunningStore, browser: Any) -> None:
    """Twelve alarms at the exit in a few seconds: one row with its count (the help request stays
    on screen), acknowledged in one tap; the lane tile's button under the attendant's finger is
    the same node throughout (no redraw every second), and its tap lands."""
    from edge_agent.gate.records import GateAlarm

    assert shop.store is not None
    staff = handheld(browser, shop, locale="ru-RU", device="handheld-5")
    drink = energy_drink(shop, "lane-2", "S0000001")  # an age check on lane-2: the button to tap
    kiosk = browser.new_page(locale="ru-RU", viewport={"width": 1024, "height": 768}, has_touch=True)
    storm_kiosk = Device("kiosk-lane-1-storm", "kiosk", lane="lane-1")  # lane-1's link may be spent already
    kiosk.goto(shop.url + shop.services.devices.provision(storm_kiosk, enrol=True).enrol_path())
    shop.place("lane-1", Item(PRODUCTS[2], "S0000002").epc)
    kiosk.wait_for_selector("#help")
    kiosk.tap("#help")
    approve = "section[data-lane=lane-2] [data-problem=AGE_RESTRICTED] button[data-approve]"
    staff.wait_for_selector(approve)
    with shop.store.client() as http:  # the drink checked online and on the register: its tile is still
        until(
            "lane-2's drink checked",
            lambda: any(
                ln["name"] == ENERGY.name and (not ln["marked"] or (ln["verdict"] and ln["register_check"]))
                for ln in http.get("/api/kiosk/lane-2/basket").json()["lines"]
            ),
        )
    staff.wait_for_selector("[data-intervention=HELP_REQUESTED]")
    now = time.time()

    def walk_out(n: int) -> None:  # an item walked out unpaid (the gate's pipeline has its own tests)
        alarm = GateAlarm("exit", f"E{n:04d}", None, PRODUCTS[3].gtin, PRODUCTS[3].name, "UNPAID", now, now + n * 0.1)
        shop.call(lambda: shop.services.records.gate_alarms.record(alarm))

    walk_out(0)  # the first alarms: a new row in the queue, then its count
    walk_out(1)
    until("two alarms, one row", lambda: staff.get_attribute("[data-intervention=GATE_ALARM]", "data-count") == "2")
    staff.eval_on_selector(approve, "e => { e.dataset.marked = 'before the storm' }")  # the node itself
    box = staff.locator(approve).bounding_box()
    for n in range(2, 12):  # the storm: ten more
        walk_out(n)
    until(
        "the storm on the handheld",
        lambda: staff.get_attribute("[data-intervention=GATE_ALARM]", "data-count") == "12",
    )
    time.sleep(2.5)  # two more refreshes: nothing moves, nothing is rebuilt
    assert staff.eval_on_selector_all("[data-intervention=GATE_ALARM]", "els => els.length") == 1
    assert "×12" in staff.inner_text("[data-intervention=GATE_ALARM]")
    assert staff.locator("[data-intervention=HELP_REQUESTED]").is_visible()
    assert staff.get_attribute(approve, "data-marked") == "before the storm"  # the same node, not a new one
    assert staff.locator(approve).bounding_box() == box
    staff.screenshot(path=str(ARTIFACTS / "attendant-alarm-storm.png"), full_page=True)
    assert violations(staff) == []
    staff.tap(approve)  # the tap lands on what was under the finger
    staff.wait_for_selector("[data-intervention=AGE_RESTRICTED]", state="detached")
    staff.tap("[data-intervention=GATE_ALARM] button[data-resolve-all]")  # one acknowledgement for the storm
    staff.wait_for_selector("[data-intervention=GATE_ALARM]", state="detached", timeout=15_000)
    assert shop.call(shop.services.records.gate_alarms.list) == []
    staff.tap("[data-intervention=HELP_REQUESTED] button[data-approve]")
    shop.remove("lane-2", drink.epc)
    staff.close()
    kiosk.close()
