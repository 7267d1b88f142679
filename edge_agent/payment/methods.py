"""How a customer can pay at the kiosk: one line each.

A method is a file of its own (``card.py``, ``sbp.py``) with its ``PaymentMethod``: its id (what
the kiosk sends and central's payment service receives), how the kiosk asks for it (the
terminal, or a QR on screen). The payment steps do not depend on it:
they follow the provider's status (docs/adr/0013-payment-flow-pure-state-machine.md). The kiosk
draws a button per method, labelled by its strings ``method_<id>`` and ``wait_<id>``
(``web/i18n.js``); central's simulated payment service (``sim/central/payment.py``) has its
rules.

To add a method: ``edge_agent/payment/<method>.py``, its rules in the simulator, its line in
``METHODS`` below, and its two strings in each language.
"""

from __future__ import annotations

from typing import Final

from edge_agent.basket import BasketError
from edge_agent.payment import card, sbp
from edge_agent.payment.method import PaymentMethod


def _by_id(*methods: PaymentMethod) -> dict[str, PaymentMethod]:
    return {m.id: m for m in methods}


#: id -> method, in the order the kiosk shows them
METHODS: Final[dict[str, PaymentMethod]] = _by_id(
    card.METHOD,
    sbp.METHOD,
)


def method_of(method_id: str) -> PaymentMethod:
    """The registered method, or BasketError ``unknown_method``."""
    method = METHODS.get(method_id)
    if method is None:
        raise BasketError("unknown_method", f"no payment method {method_id!r} (known: {', '.join(METHODS)})")
    return method
