"""What the store tells central, as data: the event type of each basket command, the posted
transaction and the EPCIS 2.0 sale and return documents (docs/mqtt.md). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from edge_agent.basket import Basket, Line
from edge_agent.wire import envelope

#: journal op -> the event type announcing it on ``sco/v1/{store}/{lane}/evt/{type}``
EVENT_TYPES: Final[dict[str, str]] = {
    "add": "basket.line_added",
    "remove": "basket.line_voided",
    "verdict": "basket.line_verified",
    "register_checked": "basket.line_register_checked",
    "resolve": "basket.problem_resolved",
    "checkout": "basket.checkout",
    "identify": "basket.customer_identified",
    "discount": "basket.discount_applied",
    "drop_discount": "basket.discount_dropped",
    "start_payment": "basket.payment_started",
    "payment_result": "basket.payment_result",
    "close": "basket.closed",
    "cancel": "basket.cancelled",
    "call_staff": "basket.help_requested",
    "age_checked": "basket.age_checked",  # an age document's decision (no personal data)
    "set_part": "basket.line_part_set",  # the shopper takes part of a pack (tag 1291)
    "bind_stamp": "basket.stamp_scanned",  # a bottle's excise stamp, on its line
    "egais_answered": "basket.egais_answered",  # the УТМ accepted (url, sign) or refused the bottles
}
OPENED: Final = "basket.opened"
POSTED: Final = "transaction.posted"
RETURNED: Final = "transaction.returned"
EPCIS: Final = "epcis.document"
GATE_ALARM: Final = "gate.alarm"  # an unpaid or copied item of this store walked out of an exit gate


def basket_event(basket: Basket, args: dict[str, Any]) -> dict[str, Any]:
    """The data of a basket command's event: the basket's state after it, and the command."""
    return {"basket": basket.id, "state": basket.state.value, "args": args, "total": basket.total}


def posted_transaction(basket: Basket, tender: dict[str, Any] | None, paid_at: str | None) -> dict[str, Any]:
    """The sale as central records it (POSLog-inspired names, docs/mqtt.md): lines with their
    discounts and mark codes, the tender, the loyalty customer and hold."""
    lines = [
        {
            "lineSeq": line.id,
            "gtin": line.gtin,
            "ki": line.key if line.serialized else None,
            "name": line.name,
            "category": line.category,
            "unitPriceKop": line.price,
            "cardDiscountKop": line.card_discount,  # the loyalty card's price
            "discountKop": line.discount,  # points spent on the line
            "extendedKop": line.amount,
            "markingCode": line.mark_code,
            "fiscal1265": line.fiscal_1265,
        }
        for line in basket.lines.values()
    ]
    return {
        "transactionId": basket.id,
        "lane": basket.lane,
        "lines": lines,
        "totalKop": basket.total,
        "cardDiscountKop": basket.card_discount,
        "discountKop": basket.discount,
        "tender": tender,
        "customer": basket.customer,
        "loyaltyHold": basket.hold_id,
        "paidAt": paid_at,
    }


def epcis_sold(basket: Basket, tz: ZoneInfo, read_point: str, now: datetime | None = None) -> dict[str, Any]:
    """An EPCIS 2.0 document with one ObjectEvent: the basket's serialized items are retail_sold.
    Items are named by GS1 Digital Link URIs, which EPCIS 2.0 accepts."""
    return _epcis(
        basket.lines.values(),
        basket,
        tz=tz,
        read_point=read_point,
        biz_step="retail_selling",
        disposition="retail_sold",
        kind="sale",
        now=now,
    )


def epcis_returned(
    lines: Iterable[Line], basket: Basket, *, tz: ZoneInfo, read_point: str, return_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """The items a customer brought back (CBV ``returned``), named as they were sold."""
    return _epcis(
        lines,
        basket,
        tz=tz,
        read_point=read_point,
        biz_step="receiving",
        disposition="returned",
        kind=f"return:{return_id}",
        now=now,
        urn=f"urn:edge-agent:return:{return_id}",
    )


def _epcis(
    lines: Iterable[Line],
    basket: Basket,
    *,
    tz: ZoneInfo,
    read_point: str,
    biz_step: str,
    disposition: str,
    kind: str,
    now: datetime | None,
    urn: str | None = None,
) -> dict[str, Any]:
    stamp = (now or datetime.now(tz)).astimezone(tz).isoformat(timespec="milliseconds")
    epcs = [
        f"https://id.gs1.org/01/{line.gtin}/21/{quote(line.key[18:], safe='')}" for line in lines if line.serialized
    ]
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{envelope.new_id()}",
        "eventTime": stamp,
        "eventTimeZoneOffset": stamp[-6:],
        "action": "OBSERVE",
        "bizStep": biz_step,
        "disposition": disposition,
        "epcList": epcs,
        "bizTransactionList": [
            {
                "type": f"urn:edge-agent:btt:{kind.split(':', maxsplit=1)[0]}",
                "bizTransaction": urn or f"urn:edge-agent:sale:{basket.id}",
            }
        ],
    }
    if read_point:
        event["readPoint"] = {"id": f"{read_point}.{basket.lane}"}
        event["bizLocation"] = {"id": read_point}
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": stamp,
        "epcisBody": {"eventList": [event]},
    }
