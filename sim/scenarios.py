"""The demo store's catalogue, items and shoppers (``edge-agent demo``).

Every shopper goes through the real protocol paths: items are tags placed in a simulated LLRP
reader's field, their mark codes are checked by the simulated Chestny Znak services over
HTTP, problems are resolved through the staff API, payment goes through the kiosk API to the
central payment simulator over MQTT. Some shoppers carry trouble: a counterfeit, an item
already sold here, an expired one, an age-restricted one that staff approve, a declined card,
an outage of the online check.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from edge_agent.basket import Product
from edge_agent.codes import encode_sgtin198

CPL: Final = 7  # company prefix length of the demo GTINs
PRODUCTS: Final = (
    Product(
        "04610053149777",
        "Молоко 3,2 % 1 л",
        8_990,
        10,
        "dairy",
        "milk",
        marked=True,
        loyalty_price=8_490,
        image="milk.png",
    ),
    Product("04653820923088", "Вода питьевая 0,5 л", 4_900, 20, "water", "water", marked=True),
    Product("04607001234562", "Хлеб бородинский", 5_500, 10, "bakery"),
    Product("04600000000015", "Шоколад тёмный", 12_900, 20, "sweets", loyalty_price=9_900, image="chocolate.png"),
    Product("04600000000022", "Энергетический напиток 0,45 л", 11_900, 20, "drinks", min_age=18),
    Product("04600000000039", "Кроссовки беговые", 549_000, 20, "shoes", "shoes", marked=True),
    Product("04600000000046", "Сигареты (блок)", 229_000, 20, "tobacco", min_age=18),
    # by weight: 1 290,00 ₽ a kilogram, each piece's weight in its mark code (AI 3103)
    Product("04600000000053", "Сыр Российский весовой", 129_000, 10, "dairy", "milk", marked=True, sold_by="weight"),
    # a marked pack of ten, sold in part (tag 1291)
    Product("04600000000060", "Йогурт питьевой, 10 шт.", 50_000, 10, "dairy", "milk", marked=True, pack_units=10),
    # stamped strong alcohol: its excise stamp is scanned and the sale goes through ЕГАИС
    Product(
        "04600000000077", "Водка 0,5 л", 49_900, 20, "alcohol", min_age=18, alcohol=True, egais=True, volume_ml=500
    ),
)
CHEESE, YOGURT, VODKA = PRODUCTS[7], PRODUCTS[8], PRODUCTS[9]
STAFF_PIN: Final = "1234"
LANE_PHONES: Final = {"lane-1": "+79990000002", "lane-2": "+79990000001"}
STAFF_BADGE: Final = "E28011700000020F1A2B3C4D"  # a UHF staff card: put it in any box
TROUBLE: Final = ("counterfeit", "already_sold", "expired", "age", "declined_card", "outage")


@dataclass
class Item:
    product: Product
    serial: str
    grams: int = 0  # a weighed item's weight, in its mark code

    @property
    def ki(self) -> str:
        return f"01{self.product.gtin}21{self.serial}"

    @property
    def mark_code(self) -> str:
        weight = f"\x1d3103{self.grams:06d}" if self.grams else ""
        return f"{self.ki}\x1d93{self.serial[-4:]}{weight}"

    @property
    def stamp(self) -> str:
        """A bottle's excise stamp (150 characters), its own by its serial."""
        return ("22N" + self.serial.upper().encode().hex().upper()).ljust(150, "0")[:150]

    @property
    def epc(self) -> str:
        return encode_sgtin198(self.product.gtin, self.serial, CPL)


#: unpaid chocolate on the shelf by the exit: the gate's reader reads it weakly now and then
DOOR_SHELF: Final = (Item(PRODUCTS[3], "SHELF0001"), Item(PRODUCTS[3], "SHELF0002"))


@dataclass
class Outcome:
    shopper: int
    lane: str
    trouble: str | None
    paid: bool = False
    cancelled: bool = False
    problems: dict[str, int] = field(default_factory=dict)
    pay_ms: float | None = None
    basket: str | None = None
    error: str = ""


class Shoppers:
    """Runs shoppers on the box lanes of a running demo store."""

    def __init__(self, store: Any, seed: int) -> None:
        self.store = store  # sim.demo.DemoStore
        self.rng = random.Random(seed)
        self.sold: list[Item] = []
        self.serial = 0
        self.pay_ms: list[float] = []

    def new_item(self, product: Product) -> Item:
        self.serial += 1
        return Item(product, f"D{self.rng.randrange(10**6):06d}{self.serial:04d}")

    def register(self, item: Item, state: str = "sellable") -> None:
        if item.product.marked:
            self.store.crpt.registry.add(item.mark_code, state)
            self.store.services.records.catalogue.receive_codes([(item.ki, item.mark_code)])

    async def run(self, n: int) -> list[Outcome]:
        lanes = self.store.box_lanes
        queues: dict[str, list[int]] = {lane: [] for lane in lanes}
        for i in range(n):
            queues[lanes[i % len(lanes)]].append(i)
        staff = await self.staff_token()
        results = await asyncio.gather(*(self.lane_loop(lane, ids, staff) for lane, ids in queues.items()))
        return sorted((o for r in results for o in r), key=lambda o: o.shopper)

    async def bring_back(self) -> dict[str, Any] | None:
        """The first item sold comes back: staff tap it on the handheld and take it back."""
        if not self.sold:
            return None
        item = self.sold.pop(0)
        token = await self.staff_token()
        async with self.store.async_client(timeout=30) as http:
            link = f"{self.store.services.public_base_url}/01/{item.product.gtin}/21/{item.serial}"
            r = await http.post(
                "/api/staff/returns", json={"codes": [link]}, headers={"authorization": f"Bearer {token}"}
            )
            r.raise_for_status()
            return dict(r.json())

    async def staff_token(self) -> str:
        async with self.store.async_client() as http:
            r = await http.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN})
            r.raise_for_status()
            return str(r.json()["token"])

    def sms_since(self, after: int, phone: str | None = None) -> list[tuple[int, str, str]]:
        """The simulated SMS gateway's messages (central's ``sms`` table) after id ``after``."""
        conn = sqlite3.connect(self.store.data_dir / "central.db", timeout=5)
        try:
            rows = conn.execute(
                "SELECT id, phone, text FROM sms WHERE id > ? AND (? IS NULL OR phone = ?) ORDER BY id",
                (after, phone, phone),
            ).fetchall()
        except sqlite3.OperationalError:  # central has not made its tables yet
            rows = []
        finally:
            conn.close()
        return [(int(i), str(p), str(t)) for i, p, t in rows]

    def last_code(self, phone: str) -> str:
        """The one-time code in the last SMS to ``phone``."""
        found = self.sms_since(0, phone)
        if not found:
            raise LookupError(f"no SMS to {phone}")
        return str(re.findall(r"\d{6}", found[-1][2])[0])

    async def lane_loop(self, lane: str, ids: list[int], staff: str) -> list[Outcome]:
        out = []
        async with self.store.async_client(timeout=30) as http:
            for i in ids:
                trouble = TROUBLE[(i // 3) % len(TROUBLE)] if i % 3 == 1 else None
                try:
                    out.append(await self.shop(http, lane, i, trouble=trouble, staff=staff))
                except httpx.HTTPStatusError as e:
                    out.append(Outcome(i, lane, trouble, error=f"{e.request.url.path}: {e.response.text}"))
                except Exception as e:
                    out.append(Outcome(i, lane, trouble, error=f"{type(e).__name__}: {e}"))
        return out

    async def shop(self, http: httpx.AsyncClient, lane: str, i: int, *, trouble: str | None, staff: str) -> Outcome:
        outcome = Outcome(i, lane, trouble)
        reader = self.store.readers[lane]
        items = [self.new_item(p) for p in self.rng.sample(PRODUCTS[:4], self.rng.randint(2, 4))]
        if i % 4 == 0:  # a piece of cheese, weighed at the counter: its weight is in its code
            items.append(self.new_item(CHEESE))
            items[-1].grams = self.rng.randint(150, 900)
        pack = self.new_item(YOGURT) if i % 5 == 2 else None  # a pack of ten, of which the shopper takes three
        items += [pack] if pack else []
        if i % 8 == 5:  # a bottle of vodka: its stamp scanned, sold through ЕГАИС (by day: the law's hours)
            items.append(self.new_item(VODKA))
        digital_id = i % 8 == 3  # an energy drink, and the shopper proves their age with the digital ID
        items += [self.new_item(PRODUCTS[4])] if digital_id else []
        for item in items:
            self.register(item)
        if trouble == "counterfeit":
            items.append(self.new_item(PRODUCTS[0]))  # a mark code the national system never issued
            self.store.services.records.catalogue.receive_codes([(items[-1].ki, items[-1].mark_code)])
        elif trouble == "already_sold" and self.sold:
            items.append(self.sold[self.rng.randrange(len(self.sold))])
        elif trouble == "expired":
            items.append(self.new_item(PRODUCTS[0]))
            self.register(items[-1], "expired")
        elif trouble == "age":
            items.append(self.new_item(PRODUCTS[4]))
        if trouble == "outage":
            self.store.crpt.ts_piot.hang = True  # the online check hangs: the Local Module decides
        try:
            for item in items:
                reader.place(item.epc, antenna=1)
            basket = await self.settled(http, lane, len(items))
        finally:
            self.store.crpt.ts_piot.hang = False
        basket = await self.shopper_steps(http, lane, basket=basket, items=items, pack=pack, digital_id=digital_id)
        outcome.basket = basket["id"]
        for p in basket["problems"]:
            outcome.problems[p["code"]] = outcome.problems.get(p["code"], 0) + 1
        headers = {"authorization": f"Bearer {staff}"}
        voided: set[int] = set()  # lines staff took away: their other problems went with them
        for p in sorted((p for p in basket["problems"] if p["open"]), key=lambda p: p["level"] != "CRITICAL"):
            if p["line_id"] in voided:
                continue
            if p["level"] == "MEDIUM":
                r = await http.post(f"/api/staff/lanes/{lane}/problems/{p['id']}/approve", headers=headers)
            else:  # staff take the item away
                voided.add(p["line_id"])
                line = next(ln for ln in basket["lines"] if ln["id"] == p["line_id"])
                item = next(it for it in items if (line["link"] or "").endswith(f"/21/{it.serial}"))
                reader.remove(item.epc)
                items.remove(item)
                r = await http.post(f"/api/staff/lanes/{lane}/lines/{p['line_id']}/void", headers=headers)
            r.raise_for_status()
        if not items:
            (await http.post(f"/api/kiosk/{lane}/cancel")).raise_for_status()
            outcome.cancelled = True
            return outcome
        if self.rng.random() < 0.5:
            phone = LANE_PHONES.get(lane, "+79990000002")  # one customer per lane: each reads their own SMS
            r = await http.post(f"/api/kiosk/{lane}/identify", json={"kind": "phone", "ref": phone})
            if r.status_code == 200 and r.json()["code_sent"] and self.rng.random() < 0.6:
                # the customer reads the one-time code off the phone and types it on the kiosk
                await http.post(f"/api/kiosk/{lane}/verify", json={"code": self.last_code(phone)})
        r = await http.post(f"/api/kiosk/{lane}/checkout")
        r.raise_for_status()
        if self.rng.random() < 0.3 and r.json()["loyalty_verified"]:
            await http.post(f"/api/kiosk/{lane}/redeem", json={})
        started = time.perf_counter()
        if trouble == "declined_card":
            self.store.script_customer(lane, "decline:insufficient_funds")
            await http.post(f"/api/kiosk/{lane}/pay", json={"method": "card"})
            await self.wait_state(http, lane, {"READY_TO_PAY"}, attempts=1)
        method = "sbp" if self.rng.random() < 0.4 else "card"
        (await http.post(f"/api/kiosk/{lane}/pay", json={"method": method})).raise_for_status()
        final = await self.wait_state(
            http, lane, {"CLOSED", "READY_TO_PAY"}, attempts=2 if trouble == "declined_card" else 1
        )
        outcome.pay_ms = (time.perf_counter() - started) * 1000
        outcome.paid = final["state"] == "CLOSED"
        for item in items:
            reader.remove(item.epc)
        if outcome.paid:
            self.sold.extend(items)
        await self.box_empty(lane, items)  # the customer leaves; the box empties
        return outcome

    async def shopper_steps(
        self,
        http: httpx.AsyncClient,
        lane: str,
        *,
        basket: dict[str, Any],
        items: list[Item],
        pack: Item | None,
        digital_id: bool,
    ) -> dict[str, Any]:
        """What the shopper does on the kiosk before staff are needed: scan a bottle's stamp,
        prove their age with the digital ID, take three of a pack."""
        scanner = self.store.scanners.get(lane)  # none on a machine without pseudo-terminals: staff step in
        for item in items:
            if item.product.egais and scanner is not None:
                scanner.scan(item.stamp)
                await self.until(http, lane, lambda b: all(ln["stamp"] for ln in b["lines"] if ln["egais"]))
        needs_age = any(p["code"] == "AGE_RESTRICTED" and p["open"] for p in basket["problems"])
        if needs_age and digital_id and scanner is not None:
            scanner.scan(self.store.max_id.issue(age_over=18))
            await self.until(http, lane, lambda b: b["age"] is not None)
        if pack is not None:
            line = next(ln for ln in basket["lines"] if (ln["link"] or "").endswith(f"/21/{pack.serial}"))
            (await http.post(f"/api/kiosk/{lane}/lines/{line['id']}/part", json={"units": 3})).raise_for_status()
        return await self.settled(http, lane, len(items))

    async def until(self, http: httpx.AsyncClient, lane: str, check: Any, timeout_s: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            b = (await http.get(f"/api/kiosk/{lane}/basket")).json()
            if check(b):
                return dict(b)
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{lane}: the kiosk never showed what the shopper waited for: {b}")

    async def box_empty(self, lane: str, items: list[Item], timeout_s: float = 20) -> None:
        """Until the lane holds none of ``items`` (they departed: the reader read on without them),
        so that one placed again is a new arrival."""
        gone = {("epc", item.epc.upper()) for item in items}
        pipeline = self.store.services.lanes.pipeline
        deadline = time.monotonic() + timeout_s
        while gone & set(pipeline.present(lane)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{lane}: the items taken out never departed")
            await asyncio.sleep(0.05)

    async def settled(self, http: httpx.AsyncClient, lane: str, n: int, timeout_s: float = 20) -> dict[str, Any]:
        """The new basket once every item is a line and every marked line has its verdict."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            b = (await http.get(f"/api/kiosk/{lane}/basket")).json()
            fresh = b["state"] not in ("CLOSED", "CANCELLED", "EMPTY") and not b.get("settling")
            if fresh and len(b["lines"]) >= n and all(ln["verdict"] for ln in b["lines"] if ln["marked"]):
                return dict(b)
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{lane}: the basket did not settle: {b}")

    async def wait_state(
        self, http: httpx.AsyncClient, lane: str, states: set[str], timeout_s: float = 30, *, attempts: int = 0
    ) -> Any:
        """The basket in one of ``states`` with no payment under way; ``attempts``: once its
        ``attempts``-th payment exists (the kiosk's "pay" may answer before it does)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            b = (await http.get(f"/api/kiosk/{lane}/basket")).json()
            payment = b["payment"]
            begun = not attempts or (payment is not None and payment["id"].endswith(f":pay:{attempts}"))
            if b["state"] in states and begun and (payment is None or payment["step"] not in ("creating", "pending")):
                return b
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{lane}: basket stuck in {b['state']}")
