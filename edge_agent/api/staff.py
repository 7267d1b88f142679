"""The staff handheld's API: an enrolled handheld (its device credential) signs a staff member
in by PIN, or by a staff badge tapped on that handheld's own reader (with the PIN unless
UID-only badges are allowed) → a short-lived bearer token bound to that handheld; lanes
overview with reader health, approve problems, void lines, look up any code, returns. Every
action, and every refused or locked sign-in with its source address, is in the audit table."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from edge_agent.api.deps import Handheld, Svc, basket_of, lane_of, view
from edge_agent.api.errors import ApiError, documented, retry_after
from edge_agent.api.views import receipt_view
from edge_agent.basket.commands import Remove, Resolve
from edge_agent.codes import parse
from edge_agent.payment.records import ReturnRecord
from edge_agent.payment.return_plan import returned_lines
from edge_agent.security.staff import Session, SignIn

if TYPE_CHECKING:  # with MQTT off, paho is never loaded
    from edge_agent.payment.returns import Returns

router = APIRouter(prefix="/api/staff", tags=["staff"], responses=documented(401, 403, 404, 409, 429, 503))
log = logging.getLogger("edge_agent.api.staff")
bearer = HTTPBearer(auto_error=False)
CHALLENGE = {"WWW-Authenticate": "Bearer"}


class ReturnRequest(BaseModel):
    """Lines of a past sale to take back: by the sale (its receipt) and line ids, or by the
    items' codes (tapped or scanned); ``lane``: whose register prints (default: the sale's)."""

    basket: str | None = Field(default=None, max_length=128)
    lines: list[int] = Field(default_factory=list, max_length=500)
    codes: list[str] = Field(default_factory=list, max_length=500)
    lane: str | None = Field(default=None, max_length=64)


class PinLogin(BaseModel):
    staff_id: str = Field(min_length=1, max_length=64)
    pin: str = Field(min_length=4, max_length=32)


class BadgeStart(BaseModel):
    #: the PIN typed on the handheld, checked against the badge's owner (unless UID-only badges are allowed)
    pin: str | None = Field(default=None, min_length=4, max_length=32)


def staff_session(
    svc: Svc, device: Handheld, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Session:
    if credentials is None:
        raise ApiError(401, "no_token", "sign in first", CHALLENGE)
    session = svc.tokens.check(credentials.credentials, device.name)
    if session is None:
        raise ApiError(401, "bad_token", "the token is unknown, expired or another handheld's", CHALLENGE)
    return session


Staff = Annotated[Session, Depends(staff_session)]


def _signed_in(svc: Svc, result: SignIn, staff_id: str, *, device: str, address: str, method: str) -> dict[str, Any]:
    """Audit, log and count a sign-in attempt; the token, or the refusal."""
    svc.metrics.sign_ins.labels(method, result.outcome).inc()
    where = {"method": method, "address": address}
    if result.outcome == "ok":
        assert result.staff is not None
        svc.records.audit.record(result.staff.id, device, "sign_in", basket_id=None, detail=where)
        return {"token": result.token, "expires_in": int(svc.tokens.ttl_s), "staff": result.staff.name}
    if result.outcome == "throttled":
        raise ApiError(429, "throttled", "too many sign-in attempts: wait", retry_after(result.retry_after_s))
    svc.records.audit.record(
        staff_id, device, "sign_in_refused", basket_id=None, detail={**where, "reason": result.outcome}
    )
    if result.locked_now:
        svc.metrics.lockouts.inc()
        svc.records.audit.record(staff_id, device, "locked_out", basket_id=None, detail=where)
        rules = svc.config.security
        log.warning(
            "staff id %s locked for %.0f s after %d failed PINs (handheld %s, address %s)",
            staff_id,
            rules.pin_lockout_s,
            rules.pin_max_failures,
            device,
            address,
        )
    if result.outcome == "locked":
        raise ApiError(
            423,
            "locked",
            "this staff id is locked after failed PINs: try again later",
            retry_after(result.retry_after_s),
        )
    raise ApiError(401, "bad_credentials", "unknown staff id or wrong PIN")


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


@router.post("/token", summary="Sign in with a staff id and PIN, on an enrolled handheld")
async def token(body: PinLogin, request: Request, svc: Svc, device: Handheld) -> dict[str, Any]:
    address = _address(request)
    result = await svc.tokens.by_pin(body.staff_id, body.pin, device.name, address)
    return _signed_in(svc, result, body.staff_id, device=device.name, address=address, method="pin")


@router.post("/badge", summary="Start a badge sign-in: then tap a staff badge on this handheld's reader")
async def badge_start(svc: Svc, device: Handheld, body: BadgeStart | None = None) -> dict[str, Any]:
    if device.reader is None:
        raise ApiError(409, "no_reader", f"handheld {device.name} has no staff reader (provision it with --reader)")
    if (body is None or body.pin is None) and not svc.config.security.allow_uid_badges:
        raise ApiError(422, "pin_needed", "a badge signs in together with the PIN")
    pin = body.pin if body is not None else None
    return {
        "challenge": svc.tokens.challenge(device.name, device.reader, pin),
        "expires_in": 60,
        "reader": device.reader,
    }


@router.get("/badge/{challenge}", summary="The token, once a staff badge was tapped on this handheld's reader")
async def badge_poll(challenge: str, request: Request, svc: Svc, device: Handheld) -> dict[str, Any]:
    result = await svc.tokens.redeem(challenge, device.name)
    if result is None:
        raise ApiError(404, "waiting", "no badge tapped yet")
    staff_id = result.staff.id if result.staff else "?"
    return _signed_in(svc, result, staff_id, device=device.name, address=_address(request), method="badge")


@router.get("/lanes", summary="Every lane: basket state, open problems, reader health")
async def lanes(svc: Svc, staff: Staff) -> dict[str, Any]:
    health = svc.health.readers.detail()
    out = []
    for lane_id in svc.lanes:
        controller = svc.lanes[lane_id]
        readers = sorted({z.reader for z in controller.settings.zones})
        desk = svc.fiscal.desks.get(lane_id)
        out.append(
            {
                "lane": lane_id,
                "mode": controller.settings.mode,
                "basket": view(svc, lane_id),
                "readers": {r: health.get(r) for r in readers},
                "register": desk.health() if desk is not None else None,
            }
        )
    return {
        "staff": staff.staff.name,
        "lanes": out,
        "quarantined": svc.health.storage.detail()["quarantined"],
        "timezone": svc.config.store.timezone,
    }


@router.get("/dashboard", summary="The store's figures since a time (default: the last 24 h) and their SVG charts")
async def dashboard(
    svc: Svc,
    staff: Staff,
    hours: float = Query(default=24.0, gt=0, le=24 * 90),
    lang: Literal["ru", "en"] = Query(default="ru", description="the charts' language"),
) -> dict[str, Any]:
    from edge_agent.api.texts import texts
    from edge_agent.dashboard import availability, charts, figures
    from edge_agent.dashboard.records import baskets_since

    until = time.time()
    since, tz = until - hours * 3600, ZoneInfo(svc.config.store.timezone)
    baskets, verdicts = baskets_since(svc.records.db, since)
    alarms = [(a.gate, a.reason) for a in svc.records.gate_alarms.list(open_only=False) if a.at >= since]
    out = figures(baskets, verdicts, tz, gate_alarms=alarms)
    health = availability(svc.records.health.rows(since), since, until)
    said = texts(lang)
    words = {"titles": said["dashboard"]["titles"], "labels": {**said["problems"], **said["dashboard"]["labels"]}}
    registers = {}  # each lane's register now: its shift and what waits for the ОФД
    for lane, desk in svc.fiscal.desks.items():
        s = desk.status()
        registers[lane] = {
            "ok": s.ok,
            "shift": s.register.shift.state if s.register else None,
            "shift_number": s.register.shift.number if s.register else None,
            "ofd_unsent": s.register.unsent_documents if s.register else None,
            "ofd_oldest_age_s": None if s.ofd_oldest_age_s is None else round(s.ofd_oldest_age_s),
        }
    return {
        "hours": hours,
        "timezone": svc.config.store.timezone,
        "figures": out,
        "registers": registers,
        "health": health,
        "charts": charts(out, health=health, since=since, until=until, tz=tz, words=words),
    }


@router.get("/queue", summary="The attendant's queue: every lane's open problems, most urgent first")
async def attendant_queue(svc: Svc, staff: Staff) -> dict[str, Any]:
    return {"interventions": [i.to_dict() for i in svc.attendant.interventions()]}


@router.post("/lanes/{lane}/problems/{problem_id}/approve", summary="Approve a MEDIUM problem (age seen, quantity)")
async def approve(lane: str, problem_id: int, svc: Svc, staff: Staff) -> dict[str, Any]:
    basket = basket_of(svc, lane, missing=404)
    svc.records.journal.apply(
        basket, Resolve(problem_id=problem_id, by=staff.staff.id, device=staff.device, at=datetime.now(UTC))
    )
    svc.records.audit.record(
        staff.staff.id, staff.device, "approve_problem", basket_id=basket.id, detail={"problem_id": problem_id}
    )
    return view(svc, lane)


@router.post("/lanes/{lane}/lines/{line_id}/void", summary="Remove a line (and its problems)")
async def void(lane: str, line_id: int, svc: Svc, staff: Staff) -> dict[str, Any]:
    basket = basket_of(svc, lane, missing=404)
    svc.records.journal.apply(
        basket, Remove(line_id=line_id, by=staff.staff.id, device=staff.device, at=datetime.now(UTC))
    )
    lane_of(svc, lane).forget(line_id)
    svc.records.audit.record(
        staff.staff.id, staff.device, "void_line", basket_id=basket.id, detail={"line_id": line_id}
    )
    return view(svc, lane)


@router.post("/gates/{gate}/alarms/{alarm_id}/resolve", summary="Staff dealt with an exit-gate alarm")
async def resolve_gate_alarm(gate: str, alarm_id: int, svc: Svc, staff: Staff) -> dict[str, Any]:
    alarm = next((a for a in svc.records.gate_alarms.list() if a.id == alarm_id and a.gate == gate), None)
    if alarm is None or not svc.records.gate_alarms.resolve(alarm_id, staff.staff.id):
        raise ApiError(404, "no_such_alarm", f"no open alarm {alarm_id} at gate {gate}")
    svc.records.audit.record(
        staff.staff.id,
        staff.device,
        "resolve_gate_alarm",
        basket_id=None,
        detail={"gate": gate, "alarm": alarm_id, "ki": alarm.ki, "reason": alarm.reason},
    )
    return {"resolved": alarm_id}


@router.get("/codes/{code:path}", summary="Any code's status: identity, sold here, verdict history")
async def code_status(code: str, svc: Svc, staff: Staff, check: bool = False) -> dict[str, Any]:
    identity = parse(code)  # a ParseError answers 422 with its position
    records = svc.records
    history = [
        {"basket": b, "outcome": o, "source": s, "req_id": r, "req_timestamp": t}
        for b, o, s, r, t in records.journal.verdicts_of(identity.ki)
    ]
    out: dict[str, Any] = {
        "ki": identity.ki,
        "gtin": identity.gtin,
        "serial": identity.serial,
        "product": None,
        "sold_here": records.sold.sold_here(identity.ki),
        "received_code": records.catalogue.mark_code_for(identity.ki) is not None,
        "verdicts": history,
    }
    product = records.catalogue.product(identity.gtin)
    if product is not None:
        out["product"] = {"name": product.name, "price": product.price, "marked": product.marked}
    if check:
        out["check"] = await svc.checks.check(identity)
    records.audit.record(
        staff.staff.id, staff.device, "code_status", basket_id=None, detail={"ki": identity.ki, "check": check}
    )
    return out


def _returns(svc: Svc) -> Returns:
    if svc.returns is None:
        raise ApiError(503, "no_sync", "returns need the connection to central (MQTT is off)")
    return svc.returns


def _sale_view(svc: Svc, basket_id: str) -> dict[str, Any]:
    sale = svc.records.journal.sale(basket_id)
    if sale is None:
        raise ApiError(404, "no_sale", f"no paid sale {basket_id} here")
    returns = svc.records.returns.of_basket(basket_id)
    back = returned_lines(returns)
    lines = [
        {
            "id": line.id,
            "name": line.name,
            "key": line.key,
            "amount": line.amount,
            "marked": line.marked,
            "returned": line.id in back,
        }
        for line in sale.lines.values()
    ]
    attempts = svc.records.payments.of_basket(basket_id)
    paid = next((p for p in reversed(attempts) if p.receipt and p.receipt.fiscal), None)
    return {
        "basket": basket_id,
        "lane": sale.lane,
        "total": sale.total,
        #: the sale's receipt (number, date, shift), for the return's header; null without a register
        "receipt": receipt_view(paid.receipt.fiscal, sale.total) if paid and paid.receipt else None,
        "method": paid.method if paid else None,
        "lines": lines,
        "returns": [return_view(r) for r in returns],
    }


def return_view(r: ReturnRecord) -> dict[str, Any]:
    receipt = r.detail.receipt
    fiscal = receipt.fiscal if receipt else None
    return {
        "id": r.id,
        "basket": r.basket_id,
        "lines": list(r.lines),
        "amount": r.amount,
        "step": r.step,
        "message": r.detail.message or r.detail.waiting,
        "receipt": receipt_view(fiscal, r.amount, 2),
        "refund": r.detail.refund.id if r.detail.refund else None,
    }


@router.get("/sales", summary="A past sale by an item's code: its lines and what was returned")
async def sale_by_code(code: str, svc: Svc, staff: Staff) -> dict[str, Any]:
    basket_id, _ = _returns(svc).find(code)
    return _sale_view(svc, basket_id)


@router.get("/sales/{basket_id}", summary="A past sale by its receipt: its lines and what was returned")
async def sale(basket_id: str, svc: Svc, staff: Staff) -> dict[str, Any]:
    return _sale_view(svc, basket_id)


@router.post("/returns", summary="Take items of a past sale back: return receipt, refund, out of the sold set")
async def make_return(body: ReturnRequest, svc: Svc, staff: Staff) -> dict[str, Any]:
    returns = _returns(svc)
    basket, lines = body.basket, list(body.lines)
    for code in body.codes:
        sold_in, line = returns.find(code)
        if basket is not None and sold_in != basket:
            raise ApiError(409, "mixed_sales", "one return takes back items of one sale")
        basket = sold_in
        lines.append(line)
    if basket is None:
        raise ApiError(422, "no_sale", "name the sale (basket) or the items' codes")
    if body.lane is not None:
        lane_of(svc, body.lane)  # 404 for a lane that is not here
    row = await returns.start(basket, lines, staff.staff.id, body.lane)
    svc.records.audit.record(
        staff.staff.id,
        staff.device,
        "return",
        basket_id=basket,
        detail={"return": row.id, "lines": lines, "step": row.step},
    )
    return return_view(row)
