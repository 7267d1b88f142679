"""The interactive demo's shoppers over what would be 30 minutes of a newcomer's session (450
ticks of 4 s, here 0.1 s each), headless: every box lane serves shopper after shopper. A bot
plays the person at the kiosks and the attendant (check out, pay, approve an age, void what
may not be sold) over HTTP, as their pages do; no lane may get stuck."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from edge_agent.config import Config
from sim.demo_play import _feed
from sim.scenarios import STAFF_PIN
from tests.e2e.demo_store import RunningStore

TICKS, TICK_S = 450, 0.1


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    store = RunningStore(tmp_path_factory.mktemp("feeder") / "var", Config()).start()
    yield store
    store.stop()


def serve(http: httpx.Client, staff: dict[str, str], lane: str, paid: Counter[str]) -> None:
    """What the person at ``lane``'s kiosk (and the attendant) does next, if anything."""
    b = http.get(f"/api/kiosk/{lane}/basket").json()
    if b["state"] == "READY_TO_PAY":
        if http.post(f"/api/kiosk/{lane}/pay", json={"method": "sbp"}).status_code == 200:
            paid[lane] += 1
        return
    if b["state"] not in ("SCANNING", "NEEDS_ASSISTANCE") or b["settling"] or len(b["lines"]) < 2:
        return
    for p in b["problems"]:
        if not p["open"] or p["code"] in ("STAMP_NEEDED", "HELP_REQUESTED"):
            continue  # the shopper scans the stamp themselves
        if p["level"] == "MEDIUM":
            http.post(f"/api/staff/lanes/{lane}/problems/{p['id']}/approve", headers=staff)
        elif p["line_id"]:
            http.post(f"/api/staff/lanes/{lane}/lines/{p['line_id']}/void", headers=staff)
    if all(ln["verdict"] for ln in b["lines"] if ln["marked"]):
        http.post(f"/api/kiosk/{lane}/checkout")


def test_every_box_lane_serves_shopper_after_shopper_for_half_an_hour(shop: RunningStore) -> None:
    assert shop.store is not None
    lanes = shop.store.box_lanes
    paid: Counter[str] = Counter()
    done = threading.Event()
    feeding = threading.Thread(
        target=lambda: (shop.wait(_feed(shop.store, io.StringIO(), tick_s=TICK_S, ticks=TICKS), 600), done.set()),
        daemon=True,
    )
    with shop.store.client() as http:
        token = http.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN}).json()["token"]
        staff = {"authorization": f"Bearer {token}"}
        feeding.start()
        while not done.is_set():
            for lane in lanes:
                serve(http, staff, lane, paid)
            time.sleep(0.05)
    feeding.join(5)
    closed = shop.call(
        lambda: Counter(
            lane
            for lane, state in shop.services.records.db.reads.execute("SELECT lane, state FROM baskets").fetchall()
            if state == "CLOSED"
        )
    )
    assert all(closed[lane] >= 20 for lane in lanes), closed  # one purchase after another, on every lane
    assert all(paid[lane] >= closed[lane] for lane in lanes), (paid, closed)
