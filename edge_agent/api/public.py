"""The page a customer's phone opens after tapping a product's NFC tag: GS1 Digital Link
``/01/{gtin}[/22/{cpv}][/10/{lot}]/21/{serial}`` → a mobile HTML page, or JSON with
``Accept: application/json``.
Rate-limited per client; it shows the product and its authenticity verdict, nothing else."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader

from edge_agent.api.deps import Svc
from edge_agent.api.errors import ApiError, body_of
from edge_agent.api.locale import Lang, local_time, money
from edge_agent.api.texts import WEB, lang_of, texts
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
        if verdict is None:  # a live check: every phone together has a ceiling (Chestny Znak is not ours to
            # flood), shared fairly among the addresses asking: a few cannot fill it for everyone
            client = request.client.host if request.client else "?"
            if not svc.limits.public_checks.allow(client):
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


_QUALIFIERS: dict[str, tuple[str, str]] = {
    "gtin": (r"^\d{8,14}$", "the GTIN (AI 01), 8 to 14 digits"),
    "cpv": (r"^.{1,20}$", "the consumer product variant (AI 22)"),
    "lot": (r"^.{1,20}$", "the batch or lot (AI 10)"),
    "serial": (r"^.{1,20}$", "the serial number (AI 21), percent-encoded as GS1 Digital Link says"),
}
_LINK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the product page (HTML), or its data with `Accept: application/json`",
        "content": {"text/html": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}},
    },
    404: {"description": "not an item's Digital Link (a typed error: `code`, `message`)"},
    429: {"description": "too many requests from this client, or too many live checks: `Retry-After`"},
}


def _link(path: str, summary: str) -> dict[str, Any]:
    """A Digital Link route's OpenAPI: its path parameters (the handler reads the raw path
    itself, so FastAPI cannot see them) and every status it answers."""
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": _QUALIFIERS[name][1],
            "schema": {"type": "string", "pattern": _QUALIFIERS[name][0]},
        }
        for name in names
    ]
    return {
        "path": path,
        "summary": summary,
        "response_model": None,
        "responses": _LINK_RESPONSES,
        "openapi_extra": {"parameters": parameters},
    }


@router.get(**_link("/01/{gtin}/21/{serial}", "GS1 Digital Link: the product page (HTML, or JSON on request)"))
@router.get(**_link("/01/{gtin}/10/{lot}/21/{serial}", "… with the batch/lot (10)"))
@router.get(**_link("/01/{gtin}/22/{cpv}/21/{serial}", "… with the consumer product variant (22)"))
@router.get(**_link("/01/{gtin}/22/{cpv}/10/{lot}/21/{serial}", "… with both qualifiers, in GS1's order"))
# a value with an encoded "/" (%2F, allowed in a serial) arrives decoded into more path segments:
# the parser reads the path as it came, so anything else under /01/ is its to accept or refuse
@router.get("/01/{rest:path}", include_in_schema=False, response_model=None)
async def digital_link(request: Request, svc: Svc) -> Response:
    client = request.client.host if request.client else "?"
    if not svc.limits.public.allow(client):
        return JSONResponse(body_of(ApiError(429, "rate_limited", "too many requests")), 429, {"Retry-After": "1"})
    headers = {"Cache-Control": "no-store", "Vary": "Accept"}
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        data = await product(svc, request)
    except ApiError as e:
        if wants_json or e.status != 404:
            raise
        lang = lang_of(request.headers.get("accept-language", ""))
        page = _PAGES.get_template("product.html").render(lang=lang, t=texts(lang), error=e.code, item={})
        return HTMLResponse(page, status_code=404, headers=headers)
    if wants_json:
        return JSONResponse(data, headers=headers)
    tz = ZoneInfo(svc.config.store.timezone)  # times in the store's zone, not UTC
    return HTMLResponse(render(data, request.headers.get("accept-language", ""), tz), headers=headers)


_PAGES = Environment(loader=FileSystemLoader(WEB), autoescape=True, trim_blocks=True, lstrip_blocks=True)


def verdict_key(outcome: str, offline: bool, codes: list[str]) -> str:
    """What the page says of a verdict: never "checked with Chestny ZNAK" for one the store's
    copy of the registry gave, and "code not found" when the registry does not know the code."""
    if outcome == "ALLOWED":
        return "allowed_offline" if offline else "genuine"
    if outcome == "BLOCKED":
        return "not_found" if "NOT_FOUND" in codes else "blocked"
    return "unavailable"


def rub(kop: int | None, lang: Lang) -> str:
    return "" if kop is None else money(kop, lang)


def render(data: dict[str, Any], accept_language: str, tz: ZoneInfo) -> str:
    """The product page (``web/product.html``) in the reader's language; every value escaped."""
    lang = lang_of(accept_language)
    t = texts(lang)
    verdict = None
    if data["known"] and data["authenticity"] is not None:
        v = data["authenticity"]
        codes = [str(r.get("code")) for r in v.get("reasons", [])]
        verdict = {
            "key": verdict_key(str(v["outcome"]), bool(v.get("offline")), codes),
            "outcome": v["outcome"],
            "checked": local_time(str(v.get("checked_at") or ""), tz, lang),
            # where the verdict came from, in plain words: online, the store's copy, not checked
            "source": t["product_sources"].get(str(v.get("source") or "none"), t["product_sources"]["none"]),
            "reasons": [t["product_reasons"].get(code, t["product_reason_other"]) for code in codes],
        }
    loyalty = data.get("loyalty_price")
    return _PAGES.get_template("product.html").render(
        lang=lang,
        t=t,
        item=data,
        price=rub(data.get("price"), lang),
        loyalty_price=rub(loyalty, lang) if loyalty is not None and loyalty != data.get("price") else "",
        verdict=verdict,
    )
