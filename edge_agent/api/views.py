"""What the screens see: JSON views of baskets, problems, payments and products. Pure.

Texts for customers live in the pages (Russian and English); the views carry stable codes.
The product view for phones carries no basket, customer or payment data at all."""

from __future__ import annotations

import functools
from typing import Any, Final
from urllib.parse import quote

import segno

from edge_agent.basket import Basket, Product
from edge_agent.fiscal.document import FiscalDocument
from edge_agent.payment.records import PaymentRecord
from edge_agent.payment.steps import reason_code


def digital_link(base: str, gtin: str, serial: str) -> str:
    return f"{base.rstrip('/')}/01/{gtin}/21/{quote(serial, safe='')}"


def basket_view(
    basket: Basket | None, lane: str, base_url: str, payment: PaymentRecord | None = None
) -> dict[str, Any]:
    if basket is None:
        return {
            "lane": lane,
            "id": None,
            "state": "EMPTY",
            "lines": [],
            "problems": [],
            "total": 0,
            "total_payable": 0,
            "discount": 0,
            "card_discount": 0,
            "customer": None,
            "loyalty_verified": False,
            "age": None,
            "payment": None,
        }
    lines = []
    for line in basket.lines.values():
        link = digital_link(base_url, line.gtin, line.key[18:]) if line.serialized else None
        lines.append(
            {
                "id": line.id,
                "gtin": line.gtin,
                "name": line.name,
                "price": line.price,
                #: off with the loyalty card (its card price, once the customer identified)
                "card_discount": line.card_discount,
                #: the card's price for this line, shown before the customer identifies, or null
                "card_price": line.card_price,
                "discount": line.discount,
                "amount": line.amount,
                "marked": line.marked,
                "verdict": line.verdict,
                "category": line.category,
                #: the product's picture (``GET /images/{name}``), or null: the kiosk draws its pictogram
                "image": f"/images/{line.image}" if line.image else None,
                "link": link,
                #: a weighed item's weight and price per kilogram; a pack's part and its size
                "grams": line.grams,
                "unit_price": line.unit_price,
                "part": list(line.part) if line.part else None,
                "pack_units": line.pack_units or None,
                #: stamped alcohol: the bottle's excise stamp once scanned (its short form), else null
                "egais": line.egais,
                "stamp": line.stamp[:3] + "…" + line.stamp[-4:] if line.stamp else None,
                "register_check": None
                if line.kkt is None
                else (
                    "refused"
                    if any(
                        p.code == "MARKING_REFUSED_BY_REGISTER" and p.line_id == line.id
                        for p in basket.problems.values()
                    )
                    else "ok"
                ),
            }
        )
    problems = [
        {
            "id": p.id,
            "code": p.code,
            "level": p.level,
            "line_id": p.line_id,
            "message": p.message,
            "open": p.open,
            "resolution": None
            if p.resolution is None
            else {
                "by": p.resolution.by,
                "device": p.resolution.device,
                "at": p.resolution.at.isoformat(),
                "action": p.resolution.action,
            },
        }
        for p in basket.problems.values()
    ]
    aside = {p.line_id for p in basket.problems.values() if p.open and p.level == "CRITICAL" and p.line_id}
    return {
        "lane": lane,
        "id": basket.id,
        "state": basket.state.value,
        "lines": lines,
        "problems": problems,
        "total": basket.total,
        #: what would be paid without the items to set aside (a CRITICAL problem: blocked, refused)
        "total_payable": basket.total - sum(ln.amount for i, ln in basket.lines.items() if i in aside),
        "discount": basket.discount,
        "card_discount": basket.card_discount,
        #: the points the closed sale earned (central's accrual), or null
        "points_earned": basket.points_earned,
        "customer": basket.customer is not None,
        "loyalty_verified": basket.verified,
        #: the last age document shown, its decision only (accepted / refused / unavailable, why)
        "age": None
        if basket.age_proof is None
        else {"outcome": basket.age_proof.outcome, "reason": basket.age_proof.reason},
        #: ЕГАИС accepted the stamped bottles: the url its QR on the receipt carries
        "egais": None if basket.egais is None else {"url": basket.egais.url},
        "payment": payment_view(payment),
    }


def payment_view(row: PaymentRecord | None) -> dict[str, Any] | None:
    """A payment attempt for the kiosk: step, method, amount, QR for SBP; no card data."""
    if row is None:
        return None
    receipt = row.receipt.fiscal if row.receipt else None
    return {
        "id": row.id,
        "method": row.method,
        "amount": row.amount,
        "step": row.step,
        "status": row.status,
        "qr": row.payment.qr if row.payment else None,
        "message": row.message,
        #: why it did not pay, as a code the kiosk translates (payment/steps.py reason_code)
        "reason": reason_code(row.message),
        "started": row.started,
        "receipt": receipt_view(receipt, row.amount),
    }


#: modules of quiet zone on each side of the receipt QR's SVG (api/kiosk.py renders it so)
RECEIPT_QR_BORDER: Final = 2


@functools.lru_cache(maxsize=64)
def _qr_modules(text: str) -> int:
    """The receipt QR's modules across (built once per receipt, not at every push of the view)."""
    return int(segno.make(text, error="m").symbol_size(border=0)[0])


def receipt_view(fiscal: FiscalDocument | None, total: int, kind: int = 1) -> dict[str, Any] | None:
    """A printed receipt's fiscal data for the customer: numbers, date and the receipt's QR text."""
    if fiscal is None:
        return None
    qr = fiscal.qr(total, kind)
    return {
        "fd": fiscal.number,
        "fp": fiscal.sign,
        "fn": fiscal.fn,
        "at": fiscal.at,
        "shift": fiscal.shift,
        "number": fiscal.receipt_number,
        "qr": qr,
        # the QR's modules across, and the quiet zone its SVG adds on each side: the kiosk sizes
        # the image so the code itself is at least kiosk.receipt_qr_mm wide (docs/compliance.md)
        "qr_modules": _qr_modules(qr),
        "qr_border": RECEIPT_QR_BORDER,
    }


def product_view(
    product: Product | None,
    gtin: str,
    serial: str,
    *,
    verdict: dict[str, Any] | None,
    sold_here: bool,
    loyalty_price: int | None,
) -> dict[str, Any]:
    """The phone's product page: name, price, loyalty price, authenticity with time, source
    and reasons. Nothing about any basket or customer."""
    return {
        "gtin": gtin,
        "serial": serial,
        "known": product is not None,
        "name": product.name if product else None,
        "price": product.price if product else None,
        "loyalty_price": loyalty_price,
        "marked": product.marked if product else None,
        "authenticity": verdict,
        "sold_here": sold_here,
    }
