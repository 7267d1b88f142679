"""A process that runs checkouts through the store as fast as it can, until it is killed.

Used by the kill -9 test: whatever instant the kill lands on, the store must reopen with
every basket replayable, every journal row announced exactly once, no line doubled."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from edge_agent.basket import Basket, BasketError, Product, State
from edge_agent.basket.commands import Add, Cancel, Checkout, Close, Command, PaymentResult, StartPayment, Verdict
from edge_agent.repositories import Repositories, open_repositories

MILK = Product("04610053149777", "Milk 1 l", 8_990, 10, "dairy", "milk", marked=True)
BREAD = Product("04600000000017", "Bread", 5_500, 10, "bakery")


def main(path: str, seed: int) -> None:
    rng = random.Random(seed)
    store = open_repositories(path, tz=ZoneInfo("Europe/Moscow"))
    store.catalogue.upsert_products([MILK, BREAD])
    baskets = store.journal.restore()  # a restart carries on with the open baskets
    n = 0
    while True:
        n += 1
        basket = baskets.pop() if baskets else store.journal.open_basket(f"b-{seed}-{n}", "lane-1")
        at = datetime.now(UTC)
        for _ in range(rng.randint(1, 6)):
            serial = rng.randrange(8)  # the same item is often read again: it must stay one line
            try:
                if rng.random() < 0.7:
                    ki = f"01{MILK.gtin}21S{seed}-{n}-{serial}"
                    line = store.journal.apply(basket, Add(product=MILK, gtin=MILK.gtin, at=at, ki=ki))
                    if line is not None:
                        store.journal.apply(basket, Verdict(line_id=line.id, outcome="ALLOWED"))
                else:
                    store.journal.apply(basket, Add(product=BREAD, gtin=BREAD.gtin, at=at))
            except BasketError:
                pass
        finish(store, basket, f"p-{seed}-{n}", at)


def finish(store: Repositories, basket: Basket, payment_id: str, at: datetime) -> None:
    """Carry a basket on from whatever state it is in (a restored one may be mid-payment)."""
    steps: dict[State, Command] = {
        State.SCANNING: Checkout(),
        State.READY_TO_PAY: StartPayment(payment_id),
        # the payment's outcome is known by its id (the payment flow queries it); here: approved
        State.PAYMENT_PENDING: PaymentResult(approved=True, at=at),
        State.PAID: Close(),
    }
    while basket.state not in (State.CLOSED, State.CANCELLED):
        try:
            store.journal.apply(basket, steps.get(basket.state, Cancel()))
        except BasketError:
            store.journal.apply(basket, Cancel())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
