"""A way to pay at the kiosk (the values a method's file declares; ``methods.py`` names them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    id: str
    #: the kiosk shows the provider's QR for the customer's phone (else: the card terminal)
    qr: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
