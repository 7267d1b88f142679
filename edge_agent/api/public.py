"""The page a customer's phone opens after tapping a product's NFC tag: GS1 Digital Link
``/01/{gtin}[/22/{cpv}][/10/{lot}]/21/{serial}`` → a mobile HTML page, or JSON with
``Accept: application/json``.
Rate-limited per client; it shows the product and its authenticity verdict, nothing else."""

from __future__ import annotations

import html
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from edge_agent.api.deps import Svc
from edge_agent.api.errors import ApiError, body_of
from edge_agent.api.locale import Lang, local_time, money
from edge_agent.api.views import product_view
from edge_agent.codes import ParseError, parse
from edge_agent.services import Services

router = APIRouter(tags=["public"])


async def product(svc: Services, request: Request) -> dict[str, Any]:
    # the path as it came (percent-encoding kept), key qualifiers and all: the Digital Link parser
    # reads it as GS1 defines it
    raw = request.scope.get("raw_path") or request.url.path.encode()
    link = "https://id.gs1.org" + raw.decode("latin-1")
    if request.url.query:
        link += "?" + request.url.query
    try:
        identity = parse(link)
    except ParseError as e:  # not an item's link: for a phone, no such page
        raise ApiError(404, e.code, e.message) from None
    item = svc.records.catalogue.product(identity.gtin)
    verdict = None
    if item is not None and item.marked:
        verdict = svc.checks.remembered(identity)
        if verdict is None:  # a live check: every phone together has a ceiling (Chestny Znak is not ours to flood)
            if not svc.limits.public_checks.allow("all"):
                raise ApiError(429, "busy", "too many checks right now: try again in a moment", {"Retry-After": "1"})
            verdict = await svc.checks.authenticity(identity)
    loyalty = item.loyalty_price if item is not None else None
    return product_view(
        item,
        identity.gtin,
        identity.serial,
        verdict=verdict,
        sold_here=svc.records.sold.sold_here(identity.ki),
        loyalty_price=loyalty,
    )


@router.get(
    "/01/{gtin}/21/{serial}",
    summary="GS1 Digital Link: the product page (HTML, or JSON on request)",
    response_model=None,
)
@router.get("/01/{gtin}/10/{lot}/21/{serial}", summary="… with the batch/lot (10)", response_model=None)
@router.get("/01/{gtin}/22/{cpv}/21/{serial}", summary="… with the consumer product variant (22)", response_model=None)
@router.get(
    "/01/{gtin}/22/{cpv}/10/{lot}/21/{serial}", summary="… with both qualifiers, in GS1's order", response_model=None
)
# a value with an encoded "/" (%2F, allowed in a serial) arrives decoded into more path segments:
# the parser reads the path as it came, so anything else under /01/ is its to accept or refuse
@router.get("/01/{rest:path}", include_in_schema=False, response_model=None)
async def digital_link(request: Request, svc: Svc) -> Response:
    client = request.client.host if request.client else "?"
    if not svc.limits.public.allow(client):
        return JSONResponse(body_of(ApiError(429, "rate_limited", "too many requests")), 429, {"Retry-After": "1"})
    data = await product(svc, request)
    headers = {"Cache-Control": "no-store", "Vary": "Accept"}
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(data, headers=headers)
    tz = ZoneInfo(svc.config.store.timezone)  # times in the store's zone, not UTC
    return HTMLResponse(render(data, request.headers.get("accept-language", ""), tz), headers=headers)


TEXTS = {
    "ru": {
        "title": "Товар",
        "price": "Цена",
        "loyalty": "С картой",
        "genuine": "Подлинный: проверен в Честном ЗНАКе",
        "blocked": "Продажа запрещена",
        "unavailable": "Проверка сейчас недоступна",
        "unknown": "Товар не найден",
        "sold": "Этот экземпляр уже продан",
        "checked": "Проверено",
        "source": "Источник",
        "not_marked": "Товар не маркируется",
    },
    "en": {
        "title": "Product",
        "price": "Price",
        "loyalty": "With card",
        "genuine": "Genuine: checked with Chestny ZNAK",
        "blocked": "Sale not allowed",
        "unavailable": "Check not available right now",
        "unknown": "Unknown product",
        "sold": "This item was already sold",
        "checked": "Checked",
        "source": "Source",
        "not_marked": "Not a marked product",
    },
}


def rub(kop: int | None, lang: Lang) -> str:
    return "" if kop is None else money(kop, lang)


def render(data: dict[str, Any], accept_language: str, tz: ZoneInfo) -> str:
    lang: Lang = "en" if accept_language.lower().startswith("en") else "ru"
    t = TEXTS[lang]
    e = html.escape
    if not data["known"]:
        body = f"<h1>{e(t['unknown'])}</h1><p class=muted>GTIN {e(data['gtin'])}</p>"
    else:
        verdict = data["authenticity"]
        if verdict is None:
            badge = f"<p class='badge muted'>{e(t['not_marked'])}</p>"
        else:
            key = {"ALLOWED": "genuine", "BLOCKED": "blocked"}.get(verdict["outcome"], "unavailable")
            reasons = "".join(f"<li>{e(r['message'])}</li>" for r in verdict.get("reasons", []))
            checked = local_time(str(verdict.get("checked_at") or ""), tz, lang)
            badge = (
                f"<p class='badge {key}' data-outcome='{e(verdict['outcome'])}'>{e(t[key])}</p>"
                f"<p class=muted>{e(t['checked'])}: {e(checked)} · {e(t['source'])}: "
                f"{e(str(verdict.get('source') or ''))}</p><ul>{reasons}</ul>"
            )
        sold = f"<p class='badge blocked'>{e(t['sold'])}</p>" if data["sold_here"] else ""
        loyalty = ""
        if data["loyalty_price"] is not None and data["loyalty_price"] != data["price"]:
            loyalty = f"<p>{e(t['loyalty'])}: <b>{e(rub(data['loyalty_price'], lang))}</b></p>"
        body = (
            f"<h1>{e(data['name'])}</h1><p class=price>{e(t['price'])}: <b>{e(rub(data['price'], lang))}</b>"
            f"</p>{loyalty}{badge}{sold}"
            f"<p class=muted>GTIN {e(data['gtin'])} · {e(data['serial'])}</p>"
        )
    return (
        f"<!doctype html><html lang={lang}><head><meta charset=utf-8><meta name=viewport "
        f"content='width=device-width,initial-scale=1'><title>{e(t['title'])}</title>"
        "<link rel=stylesheet href=/static/app.css></head>"
        f"<body class=product><main>{body}</main></body></html>"
    )
