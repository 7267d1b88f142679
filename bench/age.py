"""An 18+ basket made payable by the digital ID vs by staff, side by side in one demo store:
the time from the age problem showing on the kiosk to the basket being payable (checkout
accepted), for

- ``digital_id``: the shopper shows the QR to the lane's scanner (a pty the real serial driver
  reads), the lane checks it against the issuer's simulator over HTTP and resolves the problem;
- ``staff_system``: an attendant who taps "approve" the instant the intervention reaches the
  handheld's queue (polled as the staff page polls it, over HTTPS with a staff token): the
  system's part of the staff path, its lower bound;
- and, as the physical limit of the staff path, how long the attendant may take to walk over and
  look, which no software removes: ``attendant_s`` per basket (default 30 s, an assumption
  stated in docs/benchmarks.md, not a measurement).

Run: ``make bench`` or ``.venv/bin/python bench/age.py [--quick] [--attendant-s S]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.scenarios import PRODUCTS, STAFF_PIN, Item  # noqa: E402
from tests.e2e.demo_store import RunningStore  # noqa: E402

ENERGY = PRODUCTS[4]
POLL_S = 0.01


def until(check: Any, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(POLL_S)
    raise TimeoutError("the kiosk never showed it")


def one_basket(shop: RunningStore, http: Any, n: int, *, staff: dict[str, str] | None) -> float:
    """Seconds from the age problem on the kiosk to checkout accepted, for one shopper."""
    assert shop.store is not None
    drink = Item(ENERGY, f"BENCH{n:06d}")
    shop.place("lane-1", drink.epc)
    problem = until(
        lambda: next(
            (p for p in shop.basket(http, "lane-1")["problems"] if p["code"] == "AGE_RESTRICTED" and p["open"]), None
        )
    )
    started = time.perf_counter()
    if staff is None:
        scanner = shop.store.scanners["lane-1"]
        qr = shop.store.max_id.issue(age_over=18)
        shop.call(lambda: scanner.scan(qr))
    else:
        until(
            lambda: any(
                i["problem"] == problem["id"]
                for i in http.get("/api/staff/queue", headers=staff).json()["interventions"]
            )
        )
        http.post(f"/api/staff/lanes/lane-1/problems/{problem['id']}/approve", headers=staff).raise_for_status()
    until(lambda: http.post("/api/kiosk/lane-1/checkout").status_code == 200)
    took = time.perf_counter() - started
    http.post("/api/kiosk/lane-1/cancel").raise_for_status()  # the next shopper
    shop.remove("lane-1", drink.epc)
    until(lambda: not shop.call(lambda: shop.daemon.lanes["lane-1"].lines))
    return took


def resolve_age(baskets: int, attendant_s: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as d:
        shop = RunningStore(Path(d) / "var").start()
        try:
            assert shop.store is not None
            with shop.store.client(timeout=10) as http:
                token = http.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN}).json()["token"]
                staff = {"authorization": f"Bearer {token}"}
                digital, system = [], []
                for n in range(baskets):  # interleaved: both paths see the same store and load
                    digital.append(one_basket(shop, http, 2 * n, staff=None))
                    system.append(one_basket(shop, http, 2 * n + 1, staff=staff))
        finally:
            shop.stop()
    d50, s50 = statistics.median(digital), statistics.median(system)
    with_person = s50 + attendant_s
    return {
        "figure": "age_problem_to_payable",
        "unit": "ms",
        "digital_id_p50": round(d50 * 1000, 1),
        "digital_id_max": round(max(digital) * 1000, 1),
        "staff_system_p50": round(s50 * 1000, 1),
        "staff_system_max": round(max(system) * 1000, 1),
        "ratio_to_staff_system": round(d50 / s50, 2),
        "attendant_s_assumed": attendant_s,
        "ratio_to_staff_with_attendant": round(d50 / with_person, 4),
        "n": baskets,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--attendant-s", type=float, default=30.0, help="the attendant's walk and look (assumed)")
    args = ap.parse_args()
    print(json.dumps(resolve_age(3 if args.quick else 30, args.attendant_s)), flush=True)


if __name__ == "__main__":
    main()
