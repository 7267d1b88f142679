"""A process that runs checkouts through the store as fast as it can, until it is killed.

Used by the kill -9 test: whatever instant the kill lands on, the store must reopen with
every basket replayable, every journal row announced exactly once, no line doubled."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from edge_agent.basket import Basket, BasketError, Product, State
from edge_agent.store import Store

MILK = Product("04610053149777", "Milk 1 l", 8_990, 10, "dairy", "milk", marked=True)
BREAD = Product("04600000000017", "Bread", 5_500, 10, "bakery")


def main(path: str, seed: int) -> None:
    rng = random.Random(seed)
    store = Store(path, ZoneInfo("Europe/Moscow"))
    store.upsert_products([MILK, BREAD])
    baskets = store.restore()  # a restart carries on with the open baskets
    n = 0
    while True:
        n += 1
        basket = baskets.pop() if baskets else store.open_basket(f"b-{seed}-{n}", "lane-1", "sco/v1/s/lane-1/evt")
        at = datetime.now(UTC).isoformat()
        for _ in range(rng.randint(1, 6)):
            serial = rng.randrange(8)  # the same item is often read again: it must stay one line
            try:
                if rng.random() < 0.7:
                    ki = f"01{MILK.gtin}21S{seed}-{n}-{serial}"
                    args = {"product": _p(MILK), "gtin": MILK.gtin, "ki": ki, "at": at}
                    line = store.apply(basket, "add", args, "t")
                    if line is not None:
                        store.apply(basket, "verdict", {"line_id": line.id, "outcome": "ALLOWED"}, "t")
                else:
                    store.apply(basket, "add", {"product": _p(BREAD), "gtin": BREAD.gtin, "at": at}, "t")
            except BasketError:
                pass
        finish(store, basket, f"p-{seed}-{n}", at)


def finish(store: Store, basket: Basket, payment_id: str, at: str) -> None:
    """Carry a basket on from whatever state it is in (a restored one may be mid-payment)."""
    steps = {
        State.SCANNING: ("checkout", {}),
        State.READY_TO_PAY: ("start_payment", {"payment_id": payment_id}),
        # the payment's outcome is known by its id (the payment issue queries it); here: approved
        State.PAYMENT_PENDING: ("payment_result", {"approved": True, "at": at}),
        State.PAID: ("close", {}),
    }
    while basket.state not in (State.CLOSED, State.CANCELLED):
        op, args = steps.get(basket.state, ("cancel", {}))
        try:
            store.apply(basket, op, args, "t")
        except BasketError:
            store.apply(basket, "cancel", {}, "t")


def _p(product: Product) -> dict[str, object]:
    return {f: getattr(product, f) for f in product.__dataclass_fields__}


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
